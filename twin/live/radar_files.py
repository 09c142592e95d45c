"""Radar uploads: CF NetCDF frames and external nowcasts, validated for the district.

A radar upload (``POST /radar``, or a file in the watched folder) is a CF NetCDF file of
one or more frames ``(time, y, x)`` of a rain rate [mm/h] or a reflectivity [dBZ] on a
projected grid, read and checked by :func:`twin.hydro.radar.netcdf.read_radar_netcdf`
(units, CRS, regular axes and times). An external nowcast (``POST /nowcasts``) is a
met bureau's product ``(issue_time, lead_time, y, x)``, read by
:func:`twin.hydro.radar.external.read_external_nowcast`. On top of what those readers
check, the service checks what it relies on:

- the grid holds every configured low point (:func:`twin.hydro.radar.transpose.check_covers`)
  and has data at each of them in at least one frame (or lead);
- the frame step is ``radar.interval``, the cells no coarser than ``radar.max_cell_m``,
  and the CRS is ``radar.crs`` when one is configured.

A file that fails is refused as a whole (:class:`~twin.live.ingest.BatchError`, HTTP
422, the reason naming the upload); nothing stored is touched. Frames are cropped to the
low points plus ``radar.margin_km`` (enough for two hours of advection), so the store
and the nowcasts stay small whatever the size of the national composite.

Frames are stored as float32, rounded to 0.01 mm/h, zlib-compressed
(:func:`pack_field`); the same frame packs to the same bytes, which is how a re-sent
frame is told from a different one.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin._types import FloatArray, IntArray
from twin.hydro.radar.errors import RadarError
from twin.live.config import LiveConfig
from twin.live.errors import LiveError
from twin.live.ingest import BatchError
from twin.live.radar_store import RadarGrid

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "NETCDF_TYPES",
    "NowcastUpload",
    "RadarUpload",
    "netcdf_body",
    "pack_field",
    "read_frames",
    "read_nowcasts",
    "unpack_field",
]

#: Content types accepted as a raw NetCDF body.
NETCDF_TYPES: tuple[str, ...] = (
    "application/x-netcdf",
    "application/netcdf",
    "application/x-netcdf4",
    "application/octet-stream",
)
_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")
#: Provenance attributes kept with each frame (strings, shortened).
_PROVENANCE = (
    "title", "source", "institution", "institution_short", "event", "origin", "licence",
    "attribution", "transposed_over", "transposition", "converted_from", "intensity_scale",
    "radar_begin",
)  # fmt: skip
_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")


@dataclass(frozen=True)
class RadarUpload:
    """The validated frames of one upload.

    Attributes
    ----------
    grid
        Their grid (cropped around the district).
    t_ms
        Frame labels: starts of the intervals [ms since the epoch].
    values
        Rain rate [mm/h], shape ``(n, ny, nx)``, NaN where the radar has no data.
    interval_s
        Step of the frames [s].
    source
        Provenance (the file's attributes and how it came).
    """

    grid: RadarGrid
    t_ms: IntArray
    values: FloatArray
    interval_s: float
    source: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NowcastUpload:
    """One validated external nowcast, sampled at the low points.

    Attributes
    ----------
    issue_ms
        Issue time [ms since the epoch].
    step_s
        Lead step [s] (the value at lead ``k·step`` is the mean rate over the step
        before it).
    values
        Rain rate at the low points [mm/h], shape ``(member, lead, point)``.
    grid
        Summary of the product's grid (:meth:`RadarGrid.describe`).
    source
        Provenance.
    """

    issue_ms: int
    step_s: float
    values: FloatArray
    grid: dict[str, Any]
    source: dict[str, str] = field(default_factory=dict)


def pack_field(values: FloatArray) -> bytes:
    """Rain rates [mm/h] as zlib-compressed float32, rounded to 0.01 mm/h."""
    arr = np.round(np.asarray(values, dtype=np.float64), 2).astype("<f4")
    return zlib.compress(np.ascontiguousarray(arr).tobytes(), 6)


def unpack_field(data: bytes, shape: Sequence[int]) -> FloatArray:
    """The rates packed by :func:`pack_field`, as float64 of ``shape``."""
    arr = np.frombuffer(zlib.decompress(bytes(data)), dtype="<f4")
    return np.asarray(arr.reshape(tuple(shape)), dtype=np.float64)


def _name(text: str | None) -> str:
    base = Path(text or "upload.nc").name
    return re.sub(r"[^A-Za-z0-9._-]", "_", base)[:100] or "upload.nc"


def netcdf_body(body: bytes, content_type: str) -> tuple[bytes, str]:
    """The NetCDF bytes of a request and a name for messages.

    A raw body (``application/x-netcdf`` and the like) or the first file part of a
    ``multipart/form-data`` body.

    Raises
    ------
    BatchError
        415 for another content type, 400 for an empty body or one that is not NetCDF.
    """
    ctype = content_type.split(";", 1)[0].strip().lower()
    name = "upload.nc"
    if ctype == "multipart/form-data":
        body, name = _multipart_file(body, content_type)
    elif ctype not in NETCDF_TYPES:
        raise BatchError(
            f"content type {ctype or 'none'!r} is not accepted; send the CF NetCDF file as "
            "application/x-netcdf or as a multipart/form-data file.",
            status=415,
        )
    if not body:
        raise BatchError("the body is empty; send a CF NetCDF file.")
    if not body.startswith(_MAGIC):
        raise BatchError(
            f"{name}: not a NetCDF file (it starts with {body[:8]!r}); send CF NetCDF "
            "(classic or NetCDF-4)."
        )
    return body, name


def _multipart_file(body: bytes, content_type: str) -> tuple[bytes, str]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        raise BatchError("the multipart body cannot be read; check its boundary.")
    for part in msg.iter_parts():
        filename = part.get_filename()
        disposition = part.get("Content-Disposition", "")
        if filename is not None or 'name="file"' in str(disposition):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload, _name(filename)
    raise BatchError('the multipart body has no file part; send the file as field "file".')


def _refuse(exc: Exception, path: Path, name: str) -> BatchError:
    text = str(exc).replace(str(path), name)
    return BatchError(text, status=422)


def _projected_points(
    grid: RadarGrid, lon: FloatArray, lat: FloatArray
) -> tuple[FloatArray, FloatArray]:
    from pyproj import CRS, Transformer

    tr = Transformer.from_crs("EPSG:4326", CRS.from_wkt(grid.crs_wkt), always_xy=True)
    px, py = tr.transform(lon, lat)
    return np.asarray(px, dtype=float), np.asarray(py, dtype=float)


def _check_grid(
    da: xr.DataArray, name: str, config: LiveConfig, lon: FloatArray, lat: FloatArray
) -> RadarGrid:
    """Expectations of the config and cover of the low points (RadarError otherwise)."""
    from twin.hydro.radar.array import radar_crs
    from twin.hydro.radar.transpose import check_covers

    rc = config.radar
    crs = radar_crs(da)
    if rc.crs is not None:
        from pyproj import CRS

        if not crs.equals(CRS.from_user_input(rc.crs), ignore_axis_order=True):
            raise RadarError(
                f"{name}: wrong CRS: the grid is in {crs.name!r}; this service expects "
                f"{rc.crs} (radar.crs); reproject the product or change radar.crs."
            )
    x = np.asarray(da["x"].values, dtype=float)
    y = np.asarray(da["y"].values, dtype=float)
    cell = max(abs(float(x[1] - x[0])), abs(float(y[1] - y[0])))
    if cell > rc.max_cell_m:
        raise RadarError(
            f"{name}: cells of {cell:g} m are coarser than radar.max_cell_m "
            f"({rc.max_cell_m:g} m); low points would share cells. Send a finer grid."
        )
    check_covers(da, lon, lat, name)
    return RadarGrid(str(da.attrs["crs"]), x, y)


def _missed_points(at_points: FloatArray, name: str, what: str) -> None:
    """``at_points`` (..., point): raise if a point has no finite value at all."""
    flat = np.asarray(at_points, dtype=float).reshape(-1, at_points.shape[-1])
    missed = ~np.isfinite(flat).any(axis=0)
    if missed.any():
        raise RadarError(
            f"{name}: the field misses the district: {int(missed.sum())} of {missed.size} low "
            f"points have no data in any {what} (outside the radars' reach); send a product "
            "that covers the district."
        )


def _crop(
    values: FloatArray, grid: RadarGrid, lon: FloatArray, lat: FloatArray, margin_km: float | None
) -> tuple[FloatArray, RadarGrid]:
    """Cut the grid to the points' bounding box plus a margin (whole cells)."""
    if margin_km is None:
        return values, grid
    px, py = _projected_points(grid, lon, lat)
    m = margin_km * 1000.0
    xs = (grid.x >= px.min() - m) & (grid.x <= px.max() + m)
    ys = (grid.y >= py.min() - m) & (grid.y <= py.max() + m)
    if xs.all() and ys.all():
        return values, grid
    ix, iy = np.flatnonzero(xs), np.flatnonzero(ys)
    sx = slice(int(ix[0]), int(ix[-1]) + 1)
    sy = slice(int(iy[0]), int(iy[-1]) + 1)
    return values[:, sy, sx], RadarGrid(grid.crs_wkt, grid.x[sx], grid.y[sy])


def _provenance(attrs: dict[str, Any], name: str, via: str) -> dict[str, str]:
    out = {k: str(attrs[k])[:300] for k in _PROVENANCE if attrs.get(k) not in (None, "")}
    return {**out, "file": name, "via": via}


def _times_ms(values: Any) -> IntArray:
    t = np.asarray(values, dtype="datetime64[ns]")
    return np.asarray((t - _EPOCH) // np.timedelta64(1, "ms"), dtype=np.int64)


def read_frames(
    data: bytes,
    name: str,
    config: LiveConfig,
    lon: FloatArray,
    lat: FloatArray,
    *,
    via: str = "upload",
) -> RadarUpload:
    """Validate radar frames (CF NetCDF bytes) for the district (see the module docstring).

    Parameters
    ----------
    data
        The file's bytes.
    name
        The file's name (for messages and provenance).
    config
        The service config (``radar`` expectations).
    lon, lat
        The low points [deg].
    via
        How the file came (``upload``, ``watch``), kept as provenance.

    Returns
    -------
    RadarUpload
        The frames, cropped around the district.

    Raises
    ------
    BatchError
        422 with the reason: unreadable or truncated file, unknown units, a missing or
        wrong CRS, missing or irregular times, a wrong step, or a grid that misses the
        district.
    """
    from twin.hydro.radar.netcdf import read_radar_netcdf

    with tempfile.TemporaryDirectory(prefix="twin-radar-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            radar = read_radar_netcdf(path)
            grid = _check_grid(radar, name, config, lon, lat)
            step = float(radar.attrs["interval_s"])
            if abs(step - config.radar.interval) > 1.0:
                raise RadarError(
                    f"{name}: frames every {step:g} s; this service expects "
                    f"{config.radar.interval:g} s (radar.interval)."
                )
            values = np.asarray(radar.transpose("time", "y", "x").values, dtype=float)
            at = _at_points(values, grid, lon, lat)
            _missed_points(at, name, "frame")
        except RadarError as exc:
            raise _refuse(exc, path, name) from None
        except (OSError, RuntimeError, ValueError, KeyError, IndexError) as exc:
            raise BatchError(
                f"{name}: cannot be read as CF NetCDF radar frames ({type(exc).__name__}: "
                f"{str(exc).replace(str(path), name)}).",
                status=422,
            ) from None
    values, grid = _crop(values, grid, lon, lat, config.radar.margin_km)
    return RadarUpload(
        grid=grid,
        t_ms=_times_ms(radar["time"].values),
        values=values,
        interval_s=step,
        source=_provenance(dict(radar.attrs), name, via),
    )


def _at_points(values: FloatArray, grid: RadarGrid, lon: FloatArray, lat: FloatArray) -> FloatArray:
    """Values ``(n, ny, nx)`` at the cells holding the points, shape ``(n, point)``."""
    from twin.hydro.radar.grid import nearest_cells

    px, py = _projected_points(grid, lon, lat)
    idx = nearest_cells(px, py, grid.x, grid.y)
    flat = values.reshape(values.shape[0], -1)
    return np.where(idx[None, :] >= 0, flat[:, np.maximum(idx, 0)], np.nan)


def _issue_times(path: Path) -> list[Any]:
    """The issue times of a file with an ``issue_time`` dimension ([None] otherwise)."""
    import xarray as xr

    try:
        ds = xr.open_dataset(path, decode_timedelta=True)
    except (OSError, ValueError):
        return [None]  # the reader says why
    with ds:
        if "issue_time" in ds.dims and ds.sizes["issue_time"] > 1:
            return list(np.asarray(ds["issue_time"].values))
    return [None]


def read_nowcasts(
    data: bytes,
    name: str,
    config: LiveConfig,
    lon: FloatArray,
    lat: FloatArray,
    *,
    via: str = "upload",
) -> list[NowcastUpload]:
    """Validate an external nowcast file and sample it at the low points.

    A file may hold several issue times (an ``issue_time`` dimension); each is one
    nowcast.

    Raises
    ------
    BatchError
        422 with the reason (see :func:`twin.hydro.radar.external.read_external_nowcast`),
        or a grid that misses the district.
    """
    from twin.hydro.radar.external import read_external_nowcast
    from twin.hydro.radar.nowcast import nowcast_at_points

    out: list[NowcastUpload] = []
    with tempfile.TemporaryDirectory(prefix="twin-nowcast-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            for issue in _issue_times(path):
                ext = read_external_nowcast(path, issue_time=issue)
                desc = _check_grid(ext, name, config, lon, lat).describe()
                at = nowcast_at_points(ext, lon, lat).transpose("member", "lead_time", "point")
                values = np.asarray(at.values, dtype=float)
                _missed_points(values, name, "lead time")
                out.append(
                    NowcastUpload(
                        issue_ms=int(_times_ms(ext["issue_time"].values)),
                        step_s=float(ext.attrs["interval_s"]),
                        values=values,
                        grid=desc,
                        source=_provenance(dict(ext.attrs), name, via),
                    )
                )
        except RadarError as exc:
            raise _refuse(exc, path, name) from None
        except (OSError, RuntimeError, ValueError, KeyError, IndexError) as exc:
            if isinstance(exc, LiveError):
                raise
            raise BatchError(
                f"{name}: cannot be read as a CF NetCDF nowcast ({type(exc).__name__}: "
                f"{str(exc).replace(str(path), name)}).",
                status=422,
            ) from None
    return out
