"""Rain as xarray: read gauge CSVs and CF NetCDF, and interpolate rain to points.

Every rain series in the twin is an :class:`xarray.DataArray` named ``rain_rate``
[mm/h] (attribute ``units = "mm h-1"``), the mean rate over each accumulation interval:

- gauges: dims ``(time, station)``, optional coordinates ``lon(station)``,
  ``lat(station)`` (WGS84 degrees, see :func:`with_station_coords`);
- grids: dims ``(time, y, x)`` with ``lat``/``lon`` coordinates, either 1-D along
  ``y``/``x`` or 2-D ``(y, x)``;
- a single series (a design storm, one gauge): dims ``(time,)``;
- rain at points (:func:`rain_at_points`): dims ``(time, point)``.

Time convention
---------------
``time`` is ``datetime64[ns]``, **timezone-naive UTC**; its attributes say so
(``timezone = "UTC"``) and keep the zone of the source in ``local_timezone`` (e.g.
``"Asia/Singapore"``) for display (:func:`local_times`). Each label is the **start** of
its accumulation interval: the value at ``t`` is the mean rate over
``[t, t + interval)``. The interval [s] is the attribute ``interval_s``
(:func:`rain_interval`). A gauge that reports the depth fallen in the 5 minutes up to
21:50 local time (the Singapore files) gives the value labelled 13:45 UTC. Design storms
(:mod:`twin.hydro.storms`) use the same rule with a ``timedelta64`` time axis (elapsed
time since the start of the storm).

Missing readings stay NaN, never 0.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from twin._types import FloatArray
from twin.errors import InputFileNotFoundError, ScenarioError
from twin.hydro.rain_gauges import read_gauge_csv
from twin.hydro.rain_netcdf import read_netcdf
from twin.hydro.rain_steps import RAIN_ATTRS
from twin.network.build import data_dir

__all__ = [
    "RAIN_ATTRS",
    "default_rain",
    "default_rain_files",
    "local_times",
    "rain_interval",
    "read_gauge_csv",
    "read_netcdf",
    "resample_rain",
    "with_station_coords",
    "write_netcdf",
]

logger = logging.getLogger(__name__)

# --- array kernels -------------------------------------------------------------------


def rain_interval(rain: xr.DataArray) -> float:
    """The accumulation interval of a rain series [s].

    Taken from the attribute ``interval_s``, else from the median step of ``time``.
    """
    if "interval_s" in rain.attrs:
        return float(rain.attrs["interval_s"])
    if "time" not in rain.dims or rain.sizes["time"] < 2:
        raise ScenarioError(
            "cannot tell the interval of a rain series with fewer than two time steps and "
            "no `interval_s` attribute; set rain.attrs['interval_s'] [s]."
        )
    steps = np.diff(rain["time"].values).astype("timedelta64[ns]").astype(np.int64)
    return float(np.median(steps)) / 1e9


def local_times(rain: xr.DataArray) -> pd.DatetimeIndex:
    """The ``time`` labels of a rain series as timezone-aware times in its local zone.

    The zone is the ``local_timezone`` attribute of ``time`` (UTC when absent).
    """
    zone = str(rain["time"].attrs.get("local_timezone", "UTC"))
    index = pd.DatetimeIndex(rain["time"].values)
    return index.tz_localize("UTC").tz_convert(zone)


def resample_rain(rain: xr.DataArray, dt: float) -> xr.DataArray:
    """Rain on a new time step, conserving depth (piecewise-constant rate).

    The depth in each new step is the exact integral of the old step function, so
    coarsening averages and refining repeats. A new step that overlaps a missing (NaN)
    old step is NaN. New steps start at the first old label; a last new step that would
    run past the record is dropped.

    Parameters
    ----------
    rain
        Rain rate [mm/h] on a regular ``time`` axis (any other dims).
    dt
        The new step [s].

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h] with ``interval_s = dt``.
    """
    if not dt > 0:
        raise ScenarioError(f"dt must be positive (got {dt}).")
    old_s = rain_interval(rain)
    rain = rain.transpose("time", ...)
    values = np.asarray(rain.values, dtype=float)
    missing = np.isnan(values)
    depth = np.where(missing, 0.0, values) * old_s / 3600.0
    zero = np.zeros((1, *values.shape[1:]))
    cum = np.concatenate([zero, np.cumsum(depth, axis=0)])
    cum_nan = np.concatenate([zero, np.cumsum(missing, axis=0, dtype=float)])
    n_new = int(np.floor(values.shape[0] * old_s / dt + 1e-9))
    pos = np.arange(n_new + 1) * dt / old_s  # new edges in old steps
    i = np.minimum(np.floor(pos).astype(np.int64), values.shape[0] - 1)
    frac = (pos - i).reshape(-1, *([1] * (values.ndim - 1)))
    cum_new = cum[i] + frac * (cum[i + 1] - cum[i])
    new = np.diff(cum_new, axis=0) * 3600.0 / dt
    # Any old missing step touched by a new step makes it missing.
    first, last = (
        np.floor(pos[:-1] + 1e-9).astype(np.int64),
        np.ceil(pos[1:] - 1e-9).astype(np.int64),
    )
    new[(cum_nan[last] - cum_nan[first]) > 0] = np.nan
    time = rain["time"].values[0] + (np.arange(n_new) * dt * 1e9).astype("timedelta64[ns]")
    out = xr.DataArray(
        new,
        dims=rain.dims,
        coords={"time": ("time", time, rain["time"].attrs)}
        | {k: v for k, v in rain.coords.items() if "time" not in v.dims},
        name="rain_rate",
        attrs={**rain.attrs, **RAIN_ATTRS, "interval_s": float(dt)},
    )
    return out


def with_station_coords(
    rain: xr.DataArray,
    lon: Mapping[str, float] | Sequence[float] | npt.ArrayLike,
    lat: Mapping[str, float] | Sequence[float] | npt.ArrayLike,
) -> xr.DataArray:
    """Attach gauge positions to a ``(time, station)`` rain array.

    Parameters
    ----------
    rain
        Rain with a ``station`` dimension.
    lon, lat
        WGS84 longitude and latitude [deg] of each station: mappings station id → value,
        or sequences in the order of ``rain.station``.

    Returns
    -------
    xarray.DataArray
        A copy with coordinates ``lon(station)`` and ``lat(station)``.

    Raises
    ------
    ScenarioError
        No ``station`` dimension, a station without a position, wrong lengths, or
        coordinates out of range.
    """
    if "station" not in rain.dims:
        raise ScenarioError(f"rain has dims {rain.dims}; station positions need a `station` dim.")
    stations = [str(s) for s in rain["station"].values]

    def _values(arg: Any, name: str) -> FloatArray:
        if isinstance(arg, Mapping):
            missing = [s for s in stations if s not in arg]
            if missing:
                raise ScenarioError(
                    f"{name}: no position for station(s) {', '.join(missing[:10])}; "
                    "give a value for every station of the rain array."
                )
            return np.array([float(arg[s]) for s in stations])
        out = np.asarray(arg, dtype=float).ravel()
        if out.size != len(stations):
            raise ScenarioError(
                f"{name}: {out.size} values for {len(stations)} stations; give one per station "
                "in the order of rain.station, or a mapping station → value."
            )
        return out

    lon_v, lat_v = _values(lon, "lon"), _values(lat, "lat")
    if not (np.all(np.abs(lon_v) <= 180.0) and np.all(np.abs(lat_v) <= 90.0)):
        raise ScenarioError("station lon/lat out of range; give WGS84 degrees (lon, lat order).")
    return rain.assign_coords(
        lon=("station", lon_v, {"units": "degrees_east", "standard_name": "longitude"}),
        lat=("station", lat_v, {"units": "degrees_north", "standard_name": "latitude"}),
    )


def default_rain_files(months: Sequence[str] | None = None) -> list[Path]:
    """The shipped Singapore gauge files (``data/rain/singapore_5min``), by month.

    Parameters
    ----------
    months
        ``"YYYY-MM"`` strings (2016-12 to 2017-06); all seven months when ``None``.

    Raises
    ------
    InputFileNotFoundError
        The data folder is missing.
    ScenarioError
        A month that is not shipped.
    """
    folder = data_dir() / "rain" / "singapore_5min"
    files = sorted(folder.glob("rainfall_*.csv.gz"))
    if not files:
        raise InputFileNotFoundError(f"{folder}: no rainfall_*.csv.gz files; see data/README.md.")
    by_month = {f"{f.name[9:13]}-{f.name[14:16]}": f for f in files}
    if months is None:
        return files
    unknown = [m for m in months if m not in by_month]
    if unknown:
        raise ScenarioError(
            f"month(s) {', '.join(unknown)} not shipped; choose from {', '.join(by_month)}."
        )
    return [by_month[m] for m in months]


def default_rain(*, months: Sequence[str] | None = None) -> xr.DataArray:
    """Read the shipped real Singapore 5-minute gauge records (60 stations).

    Contains data from data.gov.sg (NEA), Singapore Open Data Licence v1.0; see
    ``data/rain/README.md``. Singapore, not Hangzhou: a source of real sub-hourly
    tropical storm hyetographs, without gauge positions.

    Parameters
    ----------
    months
        ``"YYYY-MM"`` strings to read (default: all, 2016-12-02 to 2017-06-30).
    """
    return read_gauge_csv(
        default_rain_files(months), timezone="Asia/Singapore", interval="5min", units="mm"
    )


# --- NetCDF --------------------------------------------------------------------------


def write_netcdf(rain: xr.DataArray, path: str | Path) -> Path:
    """Write a rain array as CF NetCDF (``rain_rate`` in ``mm h-1``, compressed).

    Parameters
    ----------
    rain
        Any rain array of this module (gauges, grid, points or a single series).
    path
        The ``.nc`` file to write; parent folders are created.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    da = rain.rename("rain_rate")
    da.attrs = {**da.attrs, **RAIN_ATTRS}
    ds = da.to_dataset()
    ds.attrs = {"Conventions": "CF-1.8", "title": "rain rate", "source": "city-twin"}
    if "station" in da.dims:
        ds.attrs["featureType"] = "timeSeries"
    encoding: dict[str, dict[str, Any]] = {
        "rain_rate": {"zlib": True, "complevel": 4, "_FillValue": np.nan}
    }
    if "time" in da.coords and np.issubdtype(da["time"].dtype, np.datetime64):
        encoding["time"] = {"units": "seconds since 1970-01-01 00:00:00", "dtype": "int64"}
    elif "time" in da.coords and np.issubdtype(da["time"].dtype, np.timedelta64):
        encoding["time"] = {"units": "seconds", "dtype": "float64"}
    ds.to_netcdf(path, encoding=encoding)
    return path


# --- interpolation to points ---------------------------------------------------------
