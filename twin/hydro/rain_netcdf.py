"""Rain from CF NetCDF files, opened lazily and cropped to an area before loading.

A national 0.1° grid of several days does not fit in memory, and the twin needs only the
few cells over its network. :func:`read_netcdf` opens the file with xarray and dask
chunks (nothing is read), selects the cells over the area (``bbox`` plus a margin),
and only then loads them, one chunk at a time. It also checks what a grid claims:

- the time step is inferred from the time labels (or declared and checked); times
  absent from the file become NaN steps and are counted (``missing_times``);
- the units must be in the file or declared (rates such as ``mm h-1`` or
  ``kg m-2 s-1``, or depths per step such as ``mm``); there is no default;
- a grid that does not cover the area is an error that says where each lies.

The result follows :mod:`twin.hydro.rainfall`: ``rain_rate`` [mm/h], ``(time, y, x)``
with ``lat``/``lon`` coordinates, gauges ``(time, station)`` or a series ``(time,)``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr

from twin._types import FloatArray
from twin.errors import InputFileNotFoundError, ScenarioError
from twin.hydro.rain_steps import RAIN_ATTRS, as_ns, format_seconds, infer_interval, unit_factor

__all__ = ["RAIN_STANDARD_NAMES", "read_netcdf"]

logger = logging.getLogger("twin.hydro.rainfall")

#: ``standard_name`` values that identify a rain variable.
RAIN_STANDARD_NAMES = (
    "rainfall_rate", "lwe_precipitation_rate", "precipitation_flux", "rainfall_flux",
    "precipitation_amount", "rainfall_amount", "lwe_thickness_of_precipitation_amount",
    "thickness_of_rainfall_amount",
)  # fmt: skip
_LAT, _LON = ("lat", "latitude"), ("lon", "longitude")


def _opt(prefix: str, name: str) -> str:
    return f"{prefix}{name}" if prefix else f"{name}="


def read_netcdf(
    path: str | Path,
    *,
    variable: str | None = None,
    units: str | None = None,
    interval: float | None = None,
    time_label: Literal["start", "end"] = "start",
    bbox: tuple[float, float, float, float] | None = None,
    margin_cells: float = 1.0,
    option_prefix: str = "",
) -> xr.DataArray:
    """Read rain from a CF NetCDF file, cropped to ``bbox`` before anything is loaded.

    Parameters
    ----------
    path
        A NetCDF file.
    variable
        The variable to read; by default ``rain_rate``, else the one variable whose
        ``standard_name`` is a rain rate, flux or amount (:data:`RAIN_STANDARD_NAMES`),
        else the file's only variable.
    units
        The variable's units when the file has none (a rate such as ``"mm/h"`` or
        ``"kg m-2 s-1"``, or a depth per step such as ``"mm"``). Units in the file that
        differ from declared ones are an error.
    interval
        The time step [s]; ``None`` infers it from the time labels (then the file's
        ``interval_s`` attribute, for a single step). A declared step that the labels
        contradict is an error.
    time_label
        ``"start"``: a time labels the start of its interval (this module's convention);
        ``"end"``: its end (accumulations up to the time).
    bbox
        ``(lon_min, lat_min, lon_max, lat_max)`` [deg] of the area to keep (a grid
        only): cells beyond it and the margin are never read.
    margin_cells
        Cells kept around ``bbox`` [cells].
    option_prefix
        How the caller names these options in messages (a scenario passes
        ``"rain.file_options."``).

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], loaded, on a regular time axis (times absent from the
        file are NaN steps; their count is the attribute ``missing_times``). Dimensions
        named ``lat``/``latitude`` and ``lon``/``longitude`` become ``y``/``x`` (keeping
        ``lat``/``lon`` coordinates). Attributes ``interval_s``, ``converted_from``
        and, when cropped, ``cropped_to``.

    Raises
    ------
    InputFileNotFoundError
        The file does not exist.
    ScenarioError
        Not NetCDF; no rain variable or several candidates; no or unknown units; no
        ``time`` dimension; an irregular or contradicted time step; a grid that does not
        cover ``bbox``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(f"{path}: no such NetCDF file.")
    try:
        ds = xr.open_dataset(path, chunks="auto")
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"{path}: cannot be read as NetCDF ({exc}).") from exc
    with ds:
        name = variable or _pick_rain_variable(ds, path, option_prefix)
        if name not in ds.data_vars:
            raise ScenarioError(
                f"{path}: no variable {name!r} (it has {', '.join(map(str, ds.data_vars))}); "
                f"set {_opt(option_prefix, 'variable')} to one of them."
            )
        da = _yx(ds[name])
        if "time" not in da.dims:
            raise ScenarioError(
                f"{path}: {name!r} has no `time` dimension (dims {da.dims}); rain needs one."
            )
        if bbox is not None and {"y", "x"} <= set(da.dims):
            da = _crop(da, bbox, margin_cells, path)
        da = da.compute(scheduler="synchronous")
    return _conventions(da, path, name, units, interval, time_label, option_prefix)


def _pick_rain_variable(ds: xr.Dataset, path: Path, prefix: str) -> str:
    if "rain_rate" in ds.data_vars:
        return "rain_rate"
    rainy = {str(k): v.attrs.get("standard_name") for k, v in ds.data_vars.items()}
    found = [k for k, sn in rainy.items() if sn in RAIN_STANDARD_NAMES]
    if not found and len(rainy) == 1:
        return next(iter(rainy))  # the file's only variable
    if len(found) != 1:
        listed = ", ".join(found or map(str, ds.data_vars)) or "none"
        raise ScenarioError(
            f"{path}: cannot tell which variable is rain (candidates: {listed}); set "
            f"{_opt(prefix, 'variable')} to its name."
        )
    return found[0]


def _yx(da: xr.DataArray) -> xr.DataArray:
    """Dimensions lat/latitude and lon/longitude renamed y/x, keeping lat/lon coords."""
    for names, dim, coord in ((_LAT, "y", "lat"), (_LON, "x", "lon")):
        for old in (d for d in names if d in da.dims):
            values, coord_attrs = da[old].values, da[old].attrs
            da = da.rename({old: dim}).drop_vars(dim, errors="ignore")
            da = da.assign_coords({coord: (dim, values, coord_attrs)})
    return da


def _coord_values(da: xr.DataArray, names: tuple[str, ...]) -> FloatArray | None:
    for n in names:
        if n in da.coords:
            return np.asarray(da[n].values, dtype=float)
    return None


def _crop(
    da: xr.DataArray, bbox: tuple[float, float, float, float], margin: float, path: Path
) -> xr.DataArray:
    """The cells of a lazy grid over ``bbox`` (plus ``margin`` cells); nothing is loaded."""
    lat, lon = _coord_values(da, _LAT), _coord_values(da, _LON)
    if lat is None or lon is None:
        raise ScenarioError(
            f"{path}: the grid has no lat/lon coordinates, so it cannot be placed over the "
            "network; add CF latitude/longitude coordinates to the file."
        )
    lon0, lat0, lon1, lat1 = bbox
    if np.nanmax(lon) > 180.0 and lon0 < 0.0:  # a 0–360° grid
        lon0, lon1 = lon0 % 360.0, lon1 % 360.0
    if lat.ndim == 1 and lon.ndim == 1:
        dlat = float(np.abs(np.diff(lat)).max()) if lat.size > 1 else 0.0
        dlon = float(np.abs(np.diff(lon)).max()) if lon.size > 1 else 0.0
        rows = np.flatnonzero((lat >= lat0 - margin * dlat) & (lat <= lat1 + margin * dlat))
        cols = np.flatnonzero((lon >= lon0 - margin * dlon) & (lon <= lon1 + margin * dlon))
        covers = (
            lat.min() - dlat / 2 <= lat0 and lat1 <= lat.max() + dlat / 2
            and lon.min() - dlon / 2 <= lon0 and lon1 <= lon.max() + dlon / 2
        )  # fmt: skip
    else:
        lat2, lon2 = np.broadcast_arrays(lat, lon)
        d = max(
            float(np.nanmedian(np.abs(np.diff(lat2, axis=0)))) if lat2.shape[0] > 1 else 0.0,
            float(np.nanmedian(np.abs(np.diff(lon2, axis=1)))) if lon2.shape[1] > 1 else 0.0,
        )
        inside = ((lat2 >= lat0 - margin * d) & (lat2 <= lat1 + margin * d)
                  & (lon2 >= lon0 - margin * d) & (lon2 <= lon1 + margin * d))  # fmt: skip
        rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
        covers = bool(rows.size and cols.size)
    if not (rows.size and cols.size and covers):
        raise ScenarioError(
            f"{path}: the grid covers lon {np.nanmin(lon):.2f}–{np.nanmax(lon):.2f}°, lat "
            f"{np.nanmin(lat):.2f}–{np.nanmax(lat):.2f}°, which does not "
            f"{'fully ' if rows.size and cols.size else ''}cover the network (lon "
            f"{bbox[0]:.2f}–{bbox[2]:.2f}°, lat {bbox[1]:.2f}–{bbox[3]:.2f}°); give a rain "
            "file that covers the network's area."
        )
    out = da.isel(
        y=slice(int(rows[0]), int(rows[-1]) + 1), x=slice(int(cols[0]), int(cols[-1]) + 1)
    )
    out.attrs["cropped_to"] = (
        f"{out.sizes['y']} × {out.sizes['x']} of {da.sizes['y']} × {da.sizes['x']} cells "
        f"around lon {bbox[0]:.3f}–{bbox[2]:.3f}°, lat {bbox[1]:.3f}–{bbox[3]:.3f}°"
    )
    return out


def _conventions(
    da: xr.DataArray,
    path: Path,
    name: str,
    units: str | None,
    interval: float | None,
    time_label: str,
    prefix: str,
) -> xr.DataArray:
    """Time step, missing times, label and units of a loaded rain variable."""
    if time_label not in ("start", "end"):
        raise ScenarioError(f"{_opt(prefix, 'time_label')} must be 'start' or 'end'.")
    where = f"{path} ({name!r})"
    file_units = da.attrs.get("units")
    if units is None and file_units is None:
        raise ScenarioError(
            f"{where}: no units in the file; declare them with {_opt(prefix, 'units')} "
            "(e.g. mm/h for a rate, mm for a depth per step, kg m-2 s-1 for a flux)."
        )
    same = units is None or file_units is None or str(file_units).split() == units.split()
    if not same:
        raise ScenarioError(
            f"{where}: the file says units {file_units!r} but {_opt(prefix, 'units')} says "
            f"{units!r}; remove the declared units or fix the file."
        )
    times = da["time"].values
    declared = interval
    if declared is None and times.size < 2 and "interval_s" in da.attrs:
        declared = float(da.attrs["interval_s"])
    step_s = infer_interval(times, declared, where=where,
                            option=_opt(prefix, "interval").rstrip("="))  # fmt: skip
    factor, how = unit_factor(str(units or file_units), step_s)
    # Times absent from the file become NaN steps.
    ns = as_ns(times)
    step_ns = round(step_s * 1e9)
    k = np.round((ns - ns[0]) / step_ns).astype(np.int64) if ns.size else ns
    n_time = int(k[-1]) + 1 if ns.size else 0
    absent = n_time - int(np.unique(k).size)
    full = times[0] + (np.arange(n_time) * step_ns).astype("timedelta64[ns]") if ns.size else times
    time_attrs = dict(da["time"].attrs)
    da = da.assign_coords(time=("time", times[0] + (k * step_ns).astype("timedelta64[ns]")))
    if absent:
        da = da.reindex(time=full)
        logger.warning(
            "%s: %d of %d time steps are absent from the file (step %s): missing, not dry",
            where, absent, n_time, format_seconds(step_s),
        )  # fmt: skip
    if time_label == "end":
        da = da.assign_coords(time=da["time"].values - np.timedelta64(step_ns, "ns"))
    attrs = {k2: v for k2, v in da.attrs.items() if k2 not in ("units", "standard_name")}
    out = (da.astype(float) * factor).rename("rain_rate")
    out.attrs = {**attrs, **RAIN_ATTRS, "interval_s": step_s, "converted_from": how,
                 "missing_times": absent, "source_file": str(path)}  # fmt: skip
    out["time"].attrs = time_attrs
    out["time"].attrs.setdefault("timezone", "UTC")
    out["time"].attrs.setdefault("local_timezone", "UTC")
    return out
