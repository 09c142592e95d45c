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
import re
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from twin._types import FloatArray
from twin.errors import InputFileNotFoundError, ScenarioError
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

#: Attributes of every ``rain_rate`` array (CF: ``rainfall_rate`` in ``mm h-1``).
RAIN_ATTRS: dict[str, str] = {
    "units": "mm h-1",
    "standard_name": "rainfall_rate",
    "long_name": "rain rate, mean over the interval starting at the time label",
}
_GAUGE_COLUMNS = ("station_id", "value", "timestamp_sgt")
#: Conversion of CF rain units to mm/h.
_UNIT_FACTORS: dict[str, float] = {
    "mm h-1": 1.0, "mm/h": 1.0, "mm hr-1": 1.0, "mm/hr": 1.0, "mm h**-1": 1.0,
    "mm s-1": 3600.0, "mm/s": 3600.0, "kg m-2 s-1": 3600.0, "m s-1": 3.6e6,
    "mm min-1": 60.0, "mm/min": 60.0,
}  # fmt: skip


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


def _time_attrs(local_timezone: str) -> dict[str, str]:
    return {
        "standard_name": "time",
        "long_name": "start of the accumulation interval (UTC)",
        "timezone": "UTC",
        "local_timezone": local_timezone,
    }


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


# --- gauge CSV -----------------------------------------------------------------------


def _natural_key(name: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def _read_one_csv(
    path: Path,
    columns: tuple[str, str, str],
    timezone: str,
    interval: str,
    tol: pd.Timedelta,
) -> pd.DataFrame:
    """Clean rows of one gauge CSV: ``station`` (str), ``time`` (UTC naive), ``depth`` [mm]."""
    station_col, value_col, time_col = columns
    step = pd.Timedelta(interval)
    if not path.is_file():
        raise InputFileNotFoundError(f"{path}: no such rain gauge file.")
    unreadable = (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError,
                  EOFError)  # fmt: skip
    try:
        header = pd.read_csv(path, nrows=0)
    except unreadable as exc:
        raise ScenarioError(f"{path}: cannot be read as a CSV ({exc}).") from exc
    missing = [c for c in columns if c not in header.columns]
    if missing:
        raise ScenarioError(
            f"{path}: required column {', '.join(repr(c) for c in missing)} is missing "
            f"(found: {', '.join(map(str, header.columns))}). Name the columns with "
            "station_col=, value_col=, time_col=."
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        # No usecols: with it, pandas would accept lines with too many fields.
        try:
            df = pd.read_csv(path, dtype=str, on_bad_lines="warn")
        except unreadable as exc:
            raise ScenarioError(f"{path}: cannot be read as a CSV ({exc}).") from exc
    malformed = sum(issubclass(w.category, pd.errors.ParserWarning) for w in caught)
    n_rows = len(df) + malformed
    reasons: Counter[str] = Counter()
    if malformed:
        reasons["malformed line"] = malformed

    station = df[station_col].str.strip()
    depth = pd.to_numeric(df[value_col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    stamp = pd.to_datetime(df[time_col], format="ISO8601", errors="coerce")
    if isinstance(stamp.dtype, pd.DatetimeTZDtype):
        local = stamp.dt.tz_convert(timezone).dt.tz_localize(None)
    else:
        local = stamp
    rounded = local.dt.round(step)
    off_grid = (local - rounded).abs() > tol
    utc = rounded.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")

    bad_station = (station.isna() | (station == "")).to_numpy()
    bad_value = ~np.isfinite(depth) | (depth < 0)
    bad_time = stamp.isna().to_numpy()
    bad_grid = off_grid.to_numpy(dtype=bool, na_value=False) & ~bad_time
    bad_zone = utc.isna().to_numpy() & ~bad_time
    checks = (
        ("missing station id", bad_station),
        ("missing, non-numeric or negative value", bad_value),
        ("unparseable timestamp", bad_time),
        (f"timestamp more than {tol.total_seconds():g} s off the {interval} grid", bad_grid),
        (f"timestamp that does not exist in {timezone}", bad_zone),
    )
    bad = np.zeros(len(df), dtype=bool)
    for reason, mask in checks:
        count = int((mask & ~bad).sum())
        if count:
            reasons[reason] = count
        bad |= mask
    if reasons:
        logger.warning(
            "%s: skipped %d of %d rows (%s)",
            path,
            sum(reasons.values()),
            n_rows,
            "; ".join(f"{n} {r}" for r, n in reasons.items()),
        )
    keep = ~bad
    return pd.DataFrame(
        {
            "station": station[keep].to_numpy(dtype=object),
            "time": utc[keep].dt.tz_localize(None).to_numpy(dtype="datetime64[ns]"),
            "depth": depth[keep],
        }
    )


def read_gauge_csv(
    paths: str | Path | Sequence[str | Path],
    *,
    timezone: str = "Asia/Singapore",
    interval: str = "5min",
    station_col: str = "station_id",
    value_col: str = "value",
    time_col: str = "timestamp_sgt",
    tolerance: str = "1min",
) -> xr.DataArray:
    """Read rain-gauge CSV files (plain or gzip) into a ``(time, station)`` rain rate.

    Each row holds one station's depth fallen in the ``interval`` up to its timestamp
    [mm], as the Singapore NEA files do (``station_id,value,timestamp_sgt``, tipping
    bucket of 0.2 mm, local time UTC+8). Timestamps are rounded to the ``interval``
    grid in local time (the Singapore files stamp many readings one second early, e.g.
    ``21:49:59``), converted to UTC, and relabelled to the **start** of the interval
    (see the module's time convention).

    Parameters
    ----------
    paths
        One file or several (e.g. one per month); ``.gz`` is read transparently.
    timezone
        IANA zone of naive timestamps. Timestamps with an offset are taken as they are.
    interval
        Reporting interval (a pandas offset string).
    station_col, value_col, time_col
        Names of the station id, depth [mm] and timestamp columns.
    tolerance
        A timestamp farther than this from the interval grid is a bad row.

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(time, station)``, ``time`` a regular grid from the
        first to the last reading (a missing reading is NaN, not 0), stations in natural
        order (``S06 < S24 < S24B < S100``).

    Raises
    ------
    InputFileNotFoundError
        A file does not exist.
    ScenarioError
        A file is not a CSV, misses a required column (the message names the file and
        the column), or no row is usable.

    Notes
    -----
    Bad rows (malformed lines, a missing or non-numeric or negative value, an
    unparseable or off-grid timestamp) are skipped and counted in one warning per file.
    Duplicate readings (same station and interval, within or across files) keep the
    last one read; their count, and how many disagreed, is logged as a warning.
    """
    files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not files:
        raise ScenarioError("read_gauge_csv: no file given.")
    try:
        step = pd.Timedelta(interval)
        tol = pd.Timedelta(tolerance)
    except ValueError as exc:
        raise ScenarioError(f"interval {interval!r} / tolerance {tolerance!r}: {exc}") from exc
    if step <= pd.Timedelta(0):
        raise ScenarioError(f"interval {interval!r} must be positive.")
    columns = (station_col, value_col, time_col)
    frames = [_read_one_csv(p, columns, timezone, interval, tol) for p in files]
    rows = pd.concat(frames, ignore_index=True)
    if rows.empty:
        raise ScenarioError(f"{', '.join(map(str, files))}: no usable rain reading.")

    key = ["station", "time"]
    dup = rows.duplicated(key, keep="last")
    if dup.any():
        conflicting = int((rows.groupby(key, sort=False)["depth"].nunique() > 1).sum())
        logger.warning(
            "rain gauges: %d duplicate reading(s) of the same station and interval "
            "(%d with differing values); kept the last one read",
            int(dup.sum()),
            conflicting,
        )
        rows = rows[~dup.to_numpy()]

    stations = sorted(rows["station"].unique(), key=_natural_key)
    code = pd.Categorical(rows["station"], categories=stations).codes
    t_ns = rows["time"].to_numpy(dtype="datetime64[ns]")
    t0, t1 = t_ns.min(), t_ns.max()
    step_ns = np.timedelta64(step.value, "ns")
    index = ((t_ns - t0) // step_ns).astype(np.int64)
    n_time = int((t1 - t0) // step_ns) + 1
    values = np.full((n_time, len(stations)), np.nan)
    values[index, code] = rows["depth"].to_numpy() * (3600.0 / step.total_seconds())

    time = t0 + np.arange(n_time) * step_ns - step_ns  # label = interval start
    logger.info(
        "read %d readings of %d stations from %d file(s): %s to %s UTC",
        len(rows),
        len(stations),
        len(files),
        time[0],
        time[-1],
    )
    return xr.DataArray(
        values,
        dims=("time", "station"),
        coords={
            "time": ("time", time, _time_attrs(timezone)),
            "station": ("station", np.array(stations, dtype=str), {"cf_role": "timeseries_id"}),
        },
        name="rain_rate",
        attrs={**RAIN_ATTRS, "interval_s": step.total_seconds(), "source": "rain gauges"},
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
    return read_gauge_csv(default_rain_files(months), timezone="Asia/Singapore", interval="5min")


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


def read_netcdf(path: str | Path, *, variable: str | None = None) -> xr.DataArray:
    """Read rain from a CF NetCDF file into the conventions of this module.

    Parameters
    ----------
    path
        A NetCDF file.
    variable
        The variable to read; by default ``rain_rate``, else the one variable whose
        ``standard_name`` is a rain rate or precipitation flux.

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h]. Dimensions named ``lat``/``latitude`` and
        ``lon``/``longitude`` become ``y``/``x`` (keeping ``lat``/``lon`` coordinates).

    Raises
    ------
    InputFileNotFoundError
        The file does not exist.
    ScenarioError
        Not NetCDF, no rain variable, unknown units, or no ``time`` dimension.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(f"{path}: no such NetCDF file.")
    try:
        with xr.open_dataset(path) as ds:
            name = variable or _pick_rain_variable(ds, path)
            if name not in ds.data_vars:
                raise ScenarioError(f"{path}: no variable {name!r} (has {list(ds.data_vars)}).")
            da = ds[name].load()
    except (OSError, ValueError) as exc:
        if isinstance(exc, ScenarioError):
            raise
        raise ScenarioError(f"{path}: cannot be read as NetCDF ({exc}).") from exc
    units = str(da.attrs.get("units", "mm h-1")).strip()
    if units not in _UNIT_FACTORS:
        raise ScenarioError(
            f"{path}: variable {name!r} has units {units!r}; expected a rain rate "
            f"({', '.join(_UNIT_FACTORS)})."
        )
    attrs = {k: v for k, v in da.attrs.items() if k not in ("units", "standard_name")}
    da = (da.astype(float) * _UNIT_FACTORS[units]).rename("rain_rate")
    da.attrs = {**attrs, **RAIN_ATTRS}
    for names, dim, coord in (
        (("lat", "latitude"), "y", "lat"),
        (("lon", "longitude"), "x", "lon"),
    ):
        for old in (d for d in names if d in da.dims):
            values, coord_attrs = da[old].values, da[old].attrs
            da = da.rename({old: dim}).drop_vars(dim, errors="ignore")
            da = da.assign_coords({coord: (dim, values, coord_attrs)})
    if "time" not in da.dims:
        raise ScenarioError(f"{path}: {name!r} has no `time` dimension (dims {da.dims}).")
    da["time"].attrs.setdefault("timezone", "UTC")
    da["time"].attrs.setdefault("local_timezone", "UTC")
    return da


def _pick_rain_variable(ds: xr.Dataset, path: Path) -> str:
    if "rain_rate" in ds.data_vars:
        return "rain_rate"
    rainy = {"rainfall_rate", "lwe_precipitation_rate", "precipitation_flux", "rainfall_flux"}
    found = [str(k) for k, v in ds.data_vars.items() if v.attrs.get("standard_name") in rainy]
    if len(found) != 1:
        raise ScenarioError(
            f"{path}: cannot tell which variable is rain (candidates "
            f"{found or list(ds.data_vars)}); pass variable=."
        )
    return found[0]


# --- interpolation to points ---------------------------------------------------------
