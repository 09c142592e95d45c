"""Read radar composites with pysteps' importers: KNMI HDF5, FMI PGM, NOAA MRMS GRIB2.

Each reader returns the twin's one representation of radar rain (a ``rain_rate``
DataArray, see :mod:`twin.hydro.radar.array`): the file stamps become interval starts
(a product stamped ``s`` closes the interval ``[s - Δt, s)``), reflectivity becomes rain
rate by Marshall–Palmer, and MRMS's lon/lat grid is resampled onto a local projected
grid. :func:`read_radar` picks the reader from the file names (``.nc`` files go to
:func:`twin.hydro.radar.netcdf.read_radar_netcdf`).

The readers check the sequence (no empty file, a time stamp in every name, no duplicate,
missing or irregular time) and raise :class:`~twin.hydro.radar.errors.RadarError`
naming the file.

References
----------
Pulkkinen, S. et al. (2019). Pysteps: an open-source Python library for probabilistic
precipitation nowcasting (v1.0). *Geosci. Model Dev.* 12, 4185–4219.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import xarray as xr
from pyproj import CRS, Transformer

from twin._types import FloatArray
from twin.hydro.radar._pysteps import pysteps_module
from twin.hydro.radar.array import (
    MARSHALL_PALMER,
    check_times,
    radar_array,
    reflectivity_to_rain_rate,
)
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.grid import parse_crs, resample
from twin.hydro.radar.netcdf import check_file, read_radar_netcdf

__all__ = [
    "PRODUCTS",
    "Frame",
    "Product",
    "iter_frames",
    "laea_crs",
    "read_fmi_pgm",
    "read_frame",
    "read_knmi_hdf5",
    "read_mrms_grib",
    "read_radar",
    "scan_files",
]

logger = logging.getLogger(__name__)

Product = Literal["knmi_hdf5", "fmi_pgm", "mrms_grib", "netcdf"]
#: File products the readers know, by the pattern of their names.
PRODUCTS: dict[str, str] = {
    "knmi_hdf5": "*.h5",
    "fmi_pgm": "*.pgm.gz",
    "mrms_grib": "*.grib2",
    "netcdf": "*.nc",
}
#: Time-stamp patterns of the file names, and the strptime format of the match.
_STAMPS: dict[str, tuple[re.Pattern[str], str]] = {
    "knmi_hdf5": (re.compile(r"(\d{12})\.h5$"), "%Y%m%d%H%M"),
    "fmi_pgm": (re.compile(r"^(\d{12})_"), "%Y%m%d%H%M"),
    "mrms_grib": (re.compile(r"(\d{8}-\d{6})\.grib2$"), "%Y%m%d-%H%M%S"),
}


# --- frames ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """One composite on its native grid.

    Attributes
    ----------
    values
        Rain rate [mm/h], shape ``(y, x)``; NaN outside the radars' reach.
    x, y
        Cell centres in the units of ``crs`` (m, or deg for MRMS's lon/lat grid).
    crs
        The grid's coordinate reference system.
    accutime_s
        The interval one value covers [s].
    institution
        Who made the composite.
    """

    values: npt.NDArray[np.float32]
    x: FloatArray
    y: FloatArray
    crs: CRS
    accutime_s: float
    institution: str

    def crop(self, box: tuple[float, float, float, float] | None) -> Frame:
        """The cells with centres in ``box = (x0, x1, y0, y1)`` (all when ``None``)."""
        if box is None:
            return self
        x0, x1, y0, y1 = box
        ix = np.flatnonzero((self.x >= x0) & (self.x <= x1))
        iy = np.flatnonzero((self.y >= y0) & (self.y <= y1))
        if ix.size < 2 or iy.size < 2:
            raise RadarError(
                f"crop {box} leaves fewer than 2 × 2 cells of the grid (x {self.x.min():.0f}.."
                f"{self.x.max():.0f}, y {self.y.min():.0f}..{self.y.max():.0f}); choose a box "
                "inside it."
            )
        rows = slice(int(iy[0]), int(iy[-1]) + 1)
        cols = slice(int(ix[0]), int(ix[-1]) + 1)
        return Frame(self.values[rows, cols], self.x[cols], self.y[rows], self.crs,
                     self.accutime_s, self.institution)  # fmt: skip


def _file_time(path: Path, product: str) -> np.datetime64:
    pattern, fmt = _STAMPS[product]
    m = pattern.search(path.name)
    if not m:
        raise RadarError(
            f"{path}: cannot tell the time from the file name (expected a stamp matching "
            f"{pattern.pattern!r}); keep the original product file names."
        )
    return np.datetime64(datetime.strptime(m.group(1), fmt), "ns")


def _axes(
    meta: Mapping[str, Any], shape: tuple[int, ...], unit: float
) -> tuple[FloatArray, FloatArray]:
    """Cell-centre axes [m] from pysteps metadata (corners x1, y1, x2, y2)."""
    ny, nx = shape[-2:]
    dx = (float(meta["x2"]) - float(meta["x1"])) / nx
    dy = (float(meta["y2"]) - float(meta["y1"])) / ny
    x = (float(meta["x1"]) + (np.arange(nx, dtype=float) + 0.5) * dx) * unit
    y = (float(meta["y1"]) + (np.arange(ny, dtype=float) + 0.5) * dy) * unit
    if meta.get("yorigin", "upper") == "upper":
        y = y[::-1].copy()
    return x, y


def _frame_knmi(path: Path) -> Frame:
    importers = pysteps_module("pysteps.io.importers")
    try:
        depth, _, meta = importers.import_knmi_hdf5(str(path), qty="ACRR", accutime=5.0)
    except Exception as exc:  # pysteps and h5py raise many kinds
        raise RadarError(f"{path}: cannot be read as a KNMI HDF5 composite ({exc}).") from exc
    unit = 1000.0 if meta.get("cartesian_unit") == "km" else 1.0
    accu_s = float(meta["accutime"]) * 60.0
    values = np.asarray(depth, dtype=np.float32) * np.float32(3600.0 / accu_s)
    x, y = _axes(meta, values.shape, unit)
    crs = parse_crs(_proj_in_metres(str(meta["projection"]), unit), str(path))
    return Frame(values, x, y, crs, accu_s, str(meta.get("institution", "KNMI")))


def _proj_in_metres(proj4: str, unit: float) -> str:
    """A proj4 string whose lengths are in km (KNMI: ``+a=6378.137``) rewritten in metres."""
    if unit == 1.0:
        return proj4

    def scale(m: re.Match[str]) -> str:
        return f"+{m.group(1)}={float(m.group(2)) * unit:.6f}"

    return re.sub(r"\+(a|b|R|x_0|y_0)=([-+0-9.eE]+)", scale, proj4)


def _frame_fmi(path: Path, zr_a: float, zr_b: float) -> Frame:
    importers = pysteps_module("pysteps.io.importers")
    try:
        dbz, _, meta = importers.import_fmi_pgm(str(path), gzipped=path.suffix == ".gz")
    except Exception as exc:
        raise RadarError(f"{path}: cannot be read as an FMI PGM composite ({exc}).") from exc
    if meta.get("unit") != "dBZ":
        raise RadarError(f"{path}: unit {meta.get('unit')!r}; expected reflectivity in dBZ.")
    no_echo = float(meta.get("threshold", -31.5))
    rate = reflectivity_to_rain_rate(dbz, zr_a=zr_a, zr_b=zr_b, threshold_dbz=no_echo)
    unit = 1000.0 if meta.get("cartesian_unit") == "km" else 1.0
    x, y = _axes(meta, rate.shape, unit)
    crs = parse_crs(meta["projection"], str(path))
    return Frame(rate.astype(np.float32), x, y, crs, float(meta["accutime"]) * 60.0,
                 str(meta.get("institution", "FMI")))  # fmt: skip


def _mrms_grid(path: Path) -> tuple[FloatArray, FloatArray]:
    """Cell-centre longitudes (-180..180) and latitudes (north first) of an MRMS file."""
    pygrib = importlib.import_module("pygrib")  # only the converter reads GRIB (untyped)

    try:
        grib = pygrib.open(str(path))
        msg = grib.read(1)[0]
        lat0 = float(msg["latitudeOfFirstGridPointInDegrees"])
        lon0 = float(msg["longitudeOfFirstGridPointInDegrees"])
        dlat = float(msg["jDirectionIncrementInDegrees"])
        dlon = float(msg["iDirectionIncrementInDegrees"])
        ni, nj = int(msg["Ni"]), int(msg["Nj"])
        grib.close()
    except Exception as exc:
        raise RadarError(f"{path}: cannot be read as an MRMS GRIB2 file ({exc}).") from exc
    lon = lon0 + dlon * np.arange(ni, dtype=float)
    lon = np.where(lon > 180.0, lon - 360.0, lon).astype(float)
    lat = lat0 - dlat * np.arange(nj, dtype=float)
    return lon, lat


def _frame_mrms(path: Path, extent: tuple[float, float, float, float] | None, window: int) -> Frame:
    """An MRMS frame on its lon/lat grid, cut to ``extent = (lon0, lon1, lat0, lat1)``."""
    importers = pysteps_module("pysteps.io.importers")
    lon, lat = _mrms_grid(path)
    step = float(lat[0] - lat[1])
    kwargs: dict[str, Any] = {"window_size": window}
    if extent is not None:
        # Bounds half-way between cell centres; pysteps wants longitudes in 0..360.
        w, e, s, n = extent
        w = (np.floor((w - lon[0]) / step) + 0.5) * step + lon[0]
        e = (np.floor((e - lon[0]) / step) + 0.5) * step + lon[0]
        s = lat[0] - (np.floor((lat[0] - s) / step) + 0.5) * step
        n = lat[0] - (np.floor((lat[0] - n) / step) + 0.5) * step
        kwargs["extent"] = (float(w) % 360.0, float(e) % 360.0, float(s), float(n))
        lon = lon[(lon > w) & (lon < e)]
        lat = lat[(lat > s) & (lat < n)]
    try:
        rate, _, meta = importers.import_mrms_grib(str(path), **kwargs)
    except Exception as exc:
        raise RadarError(f"{path}: cannot be read as an MRMS GRIB2 file ({exc}).") from exc
    values = np.asarray(rate, dtype=np.float32)
    if window > 1:
        nlat, nlon = values.shape
        lon = lon[: nlon * window].reshape(nlon, window).mean(axis=1)
        lat = lat[: nlat * window].reshape(nlat, window).mean(axis=1)
    if values.shape != (lat.size, lon.size):
        raise RadarError(
            f"{path}: a grid of {values.shape} values does not match its {lat.size} × "
            f"{lon.size} cell centres."
        )
    return Frame(values, lon, lat, CRS.from_epsg(4326), float(meta["accutime"]) * 60.0,
                 str(meta.get("institution", "NOAA/NSSL")))  # fmt: skip


def read_frame(
    path: str | Path,
    product: str,
    *,
    zr_a: float = MARSHALL_PALMER[0],
    zr_b: float = MARSHALL_PALMER[1],
    extent: tuple[float, float, float, float] | None = None,
    window: int = 1,
) -> Frame:
    """Read one composite on its native grid with the pysteps importer of its product.

    Parameters
    ----------
    path
        The file.
    product
        ``knmi_hdf5``, ``fmi_pgm`` or ``mrms_grib``.
    zr_a, zr_b
        Z-R coefficients for FMI reflectivity [-].
    extent
        MRMS only: ``(lon0, lon1, lat0, lat1)`` [deg] to cut.
    window
        MRMS only: block-averaging factor (1 keeps the 0.01° grid).

    Raises
    ------
    InputFileNotFoundError, RadarError
        A missing, empty or unreadable file.
    """
    path = Path(path)
    check_file(path)
    if product == "knmi_hdf5":
        return _frame_knmi(path)
    if product == "fmi_pgm":
        return _frame_fmi(path, zr_a, zr_b)
    if product == "mrms_grib":
        return _frame_mrms(path, extent, window)
    raise RadarError(f"{path}: unknown product {product!r}; choose knmi_hdf5, fmi_pgm, mrms_grib.")


def iter_frames(files: Sequence[Path], product: str, **kwargs: Any) -> Iterator[Frame]:
    """Read composites one at a time (:func:`read_frame`), checking they share a grid."""
    first: Frame | None = None
    for path in files:
        fr = read_frame(path, product, **kwargs)
        if first is None:
            first = fr
        elif fr.values.shape != first.values.shape or not np.allclose(fr.x, first.x):
            raise RadarError(
                f"{path}: its grid differs from that of {files[0]}; read one product on one "
                "grid at a time."
            )
        yield fr


def scan_files(
    paths: str | Path | Iterable[str | Path], product: str
) -> tuple[list[Path], npt.NDArray[np.datetime64], float]:
    """Find radar files, sort them by the time in their names and check the sequence.

    Parameters
    ----------
    paths
        Product files, or a folder searched recursively for them.
    product
        ``knmi_hdf5``, ``fmi_pgm`` or ``mrms_grib``.

    Returns
    -------
    files, stamps, step_s
        Files in time order, their stamps (``datetime64[ns]``, the end of each interval)
        and the step between them [s] (0 for a single file).

    Raises
    ------
    InputFileNotFoundError
        A file does not exist.
    RadarError
        No file, an empty file, a name without a time stamp, duplicate times, or
        missing or irregular steps.
    """
    files = _files_of(paths, product)
    if not files:
        raise RadarError(
            f"no {product} radar file given; pass files or a folder of "
            f"{PRODUCTS.get(product, '?')} files."
        )
    for f in files:
        check_file(f)
    stamps = np.array([_file_time(f, product) for f in files], dtype="datetime64[ns]")
    order = np.argsort(stamps, kind="stable")
    files = [files[i] for i in order]
    stamps = stamps[order]
    where = str(files[0].parent) if len(files) > 1 else str(files[0])
    check_times(stamps, where)
    step = float((stamps[1] - stamps[0]) / np.timedelta64(1, "s")) if stamps.size > 1 else 0.0
    return files, stamps, step


def _interval(step_s: float, accutime_s: float, where: str) -> float:
    """The interval of a sequence: its step, which must be the product's own interval."""
    if step_s and abs(step_s - accutime_s) > 1.0:
        raise RadarError(
            f"{where}: irregular or missing times: frames every {step_s / 60:g} min but the "
            f"product comes every {accutime_s / 60:g} min; supply the missing frames."
        )
    return step_s or accutime_s


def _files_of(paths: str | Path | Iterable[str | Path], product: str) -> list[Path]:
    if isinstance(paths, str | Path):
        p = Path(paths)
        if p.is_dir():
            found = sorted(p.rglob(PRODUCTS[product]))
            if not found:
                raise RadarError(f"{p}: no {PRODUCTS[product]} files in this folder.")
            return found
        return [p]
    return [Path(p) for p in paths]


def _stacked(frames: Iterator[Frame]) -> tuple[FloatArray, Frame]:
    values = []
    first: Frame | None = None
    for fr in frames:
        first = first or fr
        values.append(fr.values)
    assert first is not None
    return np.stack(values).astype(float), first


def read_knmi_hdf5(
    paths: str | Path | Iterable[str | Path],
    *,
    crop: tuple[float, float, float, float] | None = None,
) -> xr.DataArray:
    """Read KNMI 5-minute rain accumulations (``RAD_NL25_RAP_5min_*.h5``).

    Uses ``pysteps.io.importers.import_knmi_hdf5`` (quantity ``ACRR``). The depth in
    the 5 minutes up to the file's time becomes the mean rate of that interval,
    labelled by its start.

    Parameters
    ----------
    paths
        Files, or a folder searched recursively for ``*.h5``.
    crop
        Keep only cells with centres in ``(x0, x1, y0, y1)`` [m, KNMI polar
        stereographic].

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(time, y, x)`` (see the module docstring).

    Raises
    ------
    InputFileNotFoundError, RadarError
        See :func:`scan_files`; a file pysteps cannot read.
    """
    files, stamps, step = scan_files(paths, "knmi_hdf5")
    values, fr = _stacked(f.crop(crop) for f in iter_frames(files, "knmi_hdf5"))
    interval = _interval(step, fr.accutime_s, str(files[0].parent))
    attrs = {
        "source": "KNMI national radar composite, 5-min rain accumulation (RAP)",
        "institution": fr.institution,
        "product": "knmi_hdf5",
        "original_files": _names(files),
    }
    label = stamps - np.timedelta64(round(fr.accutime_s * 1e9), "ns")
    return radar_array(values, label, fr.x, fr.y, fr.crs, interval_s=interval, attrs=attrs)


def read_fmi_pgm(
    paths: str | Path | Iterable[str | Path],
    *,
    crop: tuple[float, float, float, float] | None = None,
    zr_a: float = MARSHALL_PALMER[0],
    zr_b: float = MARSHALL_PALMER[1],
) -> xr.DataArray:
    """Read FMI radar composites of reflectivity (``*.pgm.gz``) as rain rate.

    Uses ``pysteps.io.importers.import_fmi_pgm(..., gzipped=True)``; reflectivity [dBZ]
    becomes rain rate [mm/h] by ``Z = a R^b`` (Marshall–Palmer by default; FMI's own
    relation is ``a = 223, b = 1.53``). Echoes below the product's threshold
    (-31.5 dBZ) are no rain.

    Parameters
    ----------
    paths
        Files, or a folder searched recursively for ``*.pgm.gz``.
    crop
        Keep only cells with centres in ``(x0, x1, y0, y1)`` [m, FMI stereographic].
    zr_a, zr_b
        Z-R coefficients [-].

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(time, y, x)``; each scan closes its interval.
    """
    files, stamps, step = scan_files(paths, "fmi_pgm")
    frames = iter_frames(files, "fmi_pgm", zr_a=zr_a, zr_b=zr_b)
    values, fr = _stacked(f.crop(crop) for f in frames)
    interval = _interval(step, fr.accutime_s, str(files[0].parent))
    attrs = {
        "source": "FMI radar composite, lowest-elevation reflectivity [dBZ], converted by "
        f"Z = {zr_a:g} R^{zr_b:g}",
        "institution": fr.institution,
        "product": "fmi_pgm",
        "zr_a": zr_a,
        "zr_b": zr_b,
        "original_files": _names(files),
    }
    label = stamps - np.timedelta64(round(interval * 1e9), "ns")
    return radar_array(values, label, fr.x, fr.y, fr.crs, interval_s=interval, attrs=attrs)


def laea_crs(lon: float, lat: float) -> CRS:
    """A Lambert azimuthal equal-area CRS [m] centred on ``lon``, ``lat`` [deg]."""
    return CRS.from_proj4(f"+proj=laea +lat_0={lat:.6f} +lon_0={lon:.6f} +datum=WGS84 +units=m")


def read_mrms_grib(
    paths: str | Path | Iterable[str | Path],
    *,
    centre: tuple[float, float],
    size_km: float = 256.0,
    cell_m: float = 1000.0,
) -> xr.DataArray:
    """Read NOAA/NSSL MRMS ``PrecipRate`` (GRIB2) onto a local projected grid.

    Uses ``pysteps.io.importers.import_mrms_grib`` (needs ``pygrib``) at the full
    0.01° resolution, cut to the square around ``centre``, then resampled (3 × 3
    sub-samples per cell, :func:`twin.hydro.radar.grid.resample`) onto a Lambert
    azimuthal equal-area grid centred there. MRMS covers the contiguous US, so a
    window must be chosen.

    Parameters
    ----------
    paths
        Files, or a folder searched recursively for ``*.grib2``.
    centre
        Longitude and latitude of the window's centre [deg].
    size_km
        Side of the square window [km].
    cell_m
        Cell size of the output grid [m].

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(time, y, x)``; each scan closes its interval.
    """
    files, stamps, step = scan_files(paths, "mrms_grib")
    lon_c, lat_c = centre
    crs = laea_crs(lon_c, lat_c)
    n = round(size_km * 1000.0 / cell_m)
    axis: FloatArray = (np.arange(n, dtype=float) - (n - 1) / 2) * cell_m
    x, y = axis, axis[::-1].copy()
    # The lon/lat box around the square's edge, with a margin of two 0.01° cells.
    edge = np.concatenate([axis - cell_m / 2, [axis[-1] + cell_m / 2]])
    ex, ey = np.meshgrid(edge, edge)
    bx = np.concatenate([ex[0], ex[-1], ex[:, 0], ex[:, -1]])
    by = np.concatenate([ey[0], ey[-1], ey[:, 0], ey[:, -1]])
    blon, blat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(bx, by)
    extent = (
        float(np.min(blon)) - 0.02,
        float(np.max(blon)) + 0.02,
        float(np.min(blat)) - 0.02,
        float(np.max(blat)) + 0.02,
    )
    out = np.empty((len(files), n, n))
    fr: Frame | None = None
    for i, fr in enumerate(iter_frames(files, "mrms_grib", extent=extent)):
        src = np.asarray(fr.values, dtype=float)[None]
        out[i] = resample(src, fr.x, fr.y, fr.crs, x, y, crs)[0]
    assert fr is not None
    interval = _interval(step, fr.accutime_s, str(files[0].parent))
    attrs = {
        "source": "NOAA/NSSL Multi-Radar Multi-Sensor PrecipRate (0.01 deg), resampled to "
        f"{cell_m:g} m",
        "institution": fr.institution,
        "product": "mrms_grib",
        "original_files": _names(files),
    }
    label = stamps - np.timedelta64(round(interval * 1e9), "ns")
    return radar_array(out, label, x, y, crs, interval_s=interval, attrs=attrs)


def _names(files: Sequence[Path]) -> str:
    if len(files) <= 2:
        return ", ".join(f.name for f in files)
    return f"{files[0].name} … {files[-1].name} ({len(files)} files)"


def read_radar(
    source: str | Path | Iterable[str | Path],
    *,
    product: Product | None = None,
    **kwargs: Any,
) -> xr.DataArray:
    """Read radar rain of any supported product, told by the file names.

    Parameters
    ----------
    source
        A ``.nc`` file, a folder of product files, or product files.
    product
        Force the product (``knmi_hdf5``, ``fmi_pgm``, ``mrms_grib``, ``netcdf``).
    **kwargs
        Passed to the reader (``crop``, ``zr_a``, ``centre``, ...).
    """
    if product is None:
        product = _guess_product(source)
    if product == "netcdf":
        files = _files_of(source, "netcdf")
        if len(files) != 1:
            raise RadarError(f"give one NetCDF file (got {len(files)}).")
        return read_radar_netcdf(files[0], **kwargs)
    if product == "knmi_hdf5":
        return read_knmi_hdf5(source, **kwargs)
    if product == "fmi_pgm":
        return read_fmi_pgm(source, **kwargs)
    if product == "mrms_grib":
        return read_mrms_grib(source, **kwargs)
    raise RadarError(f"unknown radar product {product!r}; choose from {', '.join(PRODUCTS)}.")


def _guess_product(source: str | Path | Iterable[str | Path]) -> Product:
    probe = [Path(source)] if isinstance(source, str | Path) else [Path(p) for p in source]
    names: list[str] = []
    for p in probe:
        names += [q.name for q in p.rglob("*") if q.is_file()] if p.is_dir() else [p.name]
    names = [n for n in names if not n.endswith(".md")]
    for prod, pattern in PRODUCTS.items():
        if names and all(n.endswith(pattern.lstrip("*")) for n in names):
            return prod  # type: ignore[return-value]
    raise RadarError(
        f"{probe[0] if probe else source}: cannot tell the radar product from the file names; "
        f"pass product= ({', '.join(PRODUCTS)})."
    )
