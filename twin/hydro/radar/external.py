"""External nowcast products (a met bureau's grid) as CF NetCDF: read with validation, write.

An external nowcast file holds a rain rate (or reflectivity) with dims ``lead_time``,
``y``, ``x``, optionally ``member`` (or ``realization``) and ``issue_time`` (a dimension
to choose from, or a scalar coordinate), on a projected grid with a CF grid mapping,
the same as radar files (:mod:`twin.hydro.radar.netcdf`). ``lead_time`` has CF time
units (``minutes``, ``seconds``, ...) and runs at a regular positive step; the value at
lead ``ℓ`` is the mean rate over ``[issue_time + ℓ - step, issue_time + ℓ)``.
:func:`write_nowcast` writes the twin's own nowcasts in this layout, so they read back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from twin.hydro.radar.array import radar_array, to_utc
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.netcdf import (
    check_file,
    check_lonlat,
    grid_mapping_crs,
    projected_axes,
    rain_variable,
    write_radar_netcdf,
)

__all__ = ["read_external_nowcast", "write_nowcast"]

_MEMBER_DIMS = ("member", "realization", "ensemble_member", "number")


def write_nowcast(nowcast: xr.DataArray, path: str | Path) -> Path:
    """Write a nowcast ``(member, lead_time, y, x)`` as compressed CF NetCDF.

    Parameters
    ----------
    nowcast
        A nowcast (:func:`twin.hydro.radar.nowcast.nowcast`).
    path
        The ``.nc`` file.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    attrs = {"title": f"rain nowcast ({nowcast.attrs.get('method', '?')})",
             "caption": str(nowcast.attrs.get("caption", ""))}  # fmt: skip
    return write_radar_netcdf(nowcast, path, attrs=attrs)


def read_external_nowcast(
    path: str | Path,
    *,
    issue_time: Any = None,
    variable: str | None = None,
) -> xr.DataArray:
    """Read a nowcast product from CF NetCDF, checking everything the twin relies on.

    Parameters
    ----------
    path
        The file.
    issue_time
        The issue time to take when the file holds several (an ``issue_time``
        dimension); optional when it holds one.
    variable
        The variable (default: ``rain_rate``, ``reflectivity`` or by standard name).

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(member, lead_time, y, x)`` (one member when the
        file has none), scalar ``issue_time``, ``lon``/``lat``, attributes
        ``interval_s`` (the lead step), ``crs`` and the file's provenance.

    Raises
    ------
    InputFileNotFoundError
        No such file.
    RadarError
        Empty or unreadable file; no rain variable or unknown units; missing CRS, a
        geographic one or lon/lat that disagree with it; missing or bad ``lead_time``
        (no time units, not positive, not increasing, irregular); no ``issue_time`` or
        not the one asked for; other dims than ``member``, ``lead_time``, ``y``, ``x``.
        The message names the file.
    """
    path = Path(path)
    check_file(path)
    try:
        ds = xr.open_dataset(path, decode_timedelta=True)
    except (OSError, ValueError) as exc:
        raise RadarError(f"{path}: cannot be read as NetCDF ({exc}).") from exc
    with ds:
        rate, var = rain_variable(ds, path, variable=variable)
        crs = grid_mapping_crs(ds, var, path)
        file_attrs = {k: v for k, v in ds.attrs.items() if k not in ("Conventions", "title")}
        rate = rate.load()
    for dim in _MEMBER_DIMS[1:]:
        if dim in rate.dims:
            rate = rate.rename({dim: "member"})
    rate = _pick_issue(rate, issue_time, path, to_utc)
    extra = set(rate.dims) - {"member", "lead_time", "y", "x"}
    if "lead_time" not in rate.dims or extra:
        raise RadarError(
            f"{path}: variable {var.name!r} has dims {rate.dims}; expected lead_time, y, x "
            "(and optionally member and issue_time)."
        )
    if "member" not in rate.dims:
        rate = rate.expand_dims(member=[0])
    rate = rate.transpose("member", "lead_time", "y", "x")
    if 0 in rate.shape:
        raise RadarError(f"{path}: no data (shape {rate.shape}); the file is empty.")
    step_s = _check_leads(rate, path)
    x, y = projected_axes(rate, path)
    grid = radar_array(np.zeros((1, y.size, x.size)), [rate["issue_time"].values], x, y, crs,
                       interval_s=step_s)  # fmt: skip
    if "lon" in rate.coords and "lat" in rate.coords and rate["lon"].ndim == 2:
        cell = min(abs(float(x[1] - x[0])), abs(float(y[1] - y[0])))
        check_lonlat(grid, rate["lon"].values, rate["lat"].values, str(path), cell)
    attrs = {**file_attrs, **rate.attrs}
    for key in ("grid_mapping", "coordinates"):
        attrs.pop(key, None)
    attrs |= {"interval_s": step_s, "crs": grid.attrs["crs"], "file": str(path)}
    return xr.DataArray(
        np.asarray(rate.values, dtype=float),
        dims=("member", "lead_time", "y", "x"),
        coords={
            "member": np.arange(rate.sizes["member"]),
            "lead_time": rate["lead_time"].values.astype("timedelta64[ns]"),
            "y": ("y", y, grid["y"].attrs),
            "x": ("x", x, grid["x"].attrs),
            "lon": grid["lon"],
            "lat": grid["lat"],
            "issue_time": ((), to_utc(rate["issue_time"].values), {"timezone": "UTC"}),
        },
        name="rain_rate",
        attrs=attrs,
    )


def _pick_issue(rate: xr.DataArray, issue_time: Any, path: Path, to_utc: Any) -> xr.DataArray:
    if "issue_time" not in rate.coords:
        raise RadarError(
            f"{path}: no issue_time (a dimension or a scalar coordinate); a nowcast must say "
            "when it was issued."
        )
    if not np.issubdtype(rate["issue_time"].dtype, np.datetime64):
        raise RadarError(f"{path}: issue_time is not a date-time (CF units 'seconds since …').")
    times = np.atleast_1d(np.asarray(rate["issue_time"].values, dtype="datetime64[ns]"))
    if "issue_time" in rate.dims:
        if issue_time is None:
            if times.size != 1:
                raise RadarError(
                    f"{path}: {times.size} issue times ({times[0]} … {times[-1]}); pass "
                    "issue_time= to choose one."
                )
            return rate.isel(issue_time=0)
        wanted = to_utc(issue_time)
        hit = np.flatnonzero(times == wanted)
        if hit.size == 0:
            raise RadarError(
                f"{path}: no nowcast issued at {wanted} (issue times {times[0]} … {times[-1]})."
            )
        return rate.isel(issue_time=int(hit[0]))
    if issue_time is not None and to_utc(issue_time) != times[0]:
        raise RadarError(f"{path}: issued at {times[0]}, not at {to_utc(issue_time)}.")
    return rate


def _check_leads(rate: xr.DataArray, path: Path) -> float:
    lead = rate["lead_time"]
    if not np.issubdtype(lead.dtype, np.timedelta64):
        raise RadarError(
            f"{path}: lead_time has no CF time units (got {lead.attrs.get('units', 'none')!r}); "
            "give units such as 'minutes'."
        )
    s = np.asarray(lead.values, dtype="timedelta64[ns]") / np.timedelta64(1, "s")
    if s[0] <= 0 or np.any(np.diff(s) <= 0):
        raise RadarError(f"{path}: lead times must be positive and increasing (got {s[:4]} s …).")
    step = float(s[0]) if s.size == 1 else float(s[1] - s[0])
    if not np.allclose(np.diff(s), step) or not np.isclose(s[0], step):
        raise RadarError(
            f"{path}: lead times are not a regular series step, 2·step, … (got {s[:4]} s …); "
            "give every lead from the first step on."
        )
    return step
