"""Rain-gauge CSV files (plain or gzip) → ``rain_rate`` [mm/h], dims ``(time, station)``.

The step of the record is inferred from the readings (or declared, and then checked), the
units of the value column are declared (no silent default), and the time label is the
end of each interval (``time_label="end"``, as gauges report the depth fallen up to
their timestamp) or its start. Optional ``lon``/``lat`` columns give the gauges'
positions. The layout of the shipped Singapore NEA files (``station_id,value,
timestamp_sgt``: depth in mm per 5 minutes up to the timestamp) is the one layout whose
units are known without being declared. See ``data/rain/examples/README.md`` for the
accepted formats, each with a small example file.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from twin.errors import InputFileNotFoundError, ScenarioError
from twin.hydro.rain_steps import RAIN_ATTRS, format_seconds, infer_interval, unit_factor

__all__ = ["NEA_COLUMNS", "read_gauge_csv", "time_attrs"]

logger = logging.getLogger("twin.hydro.rainfall")

#: The columns of the Singapore NEA files: their ``value`` is mm per 5 minutes.
NEA_COLUMNS = ("station_id", "value", "timestamp_sgt")
_UNREADABLE = (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError,
               EOFError)  # fmt: skip


def time_attrs(local_timezone: str) -> dict[str, str]:
    """Attributes of the ``time`` coordinate of a rain array (UTC labels, local zone)."""
    return {
        "standard_name": "time",
        "long_name": "start of the accumulation interval (UTC)",
        "timezone": "UTC",
        "local_timezone": local_timezone,
    }


def _natural_key(name: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def _opt(prefix: str, name: str) -> str:
    return f"{prefix}{name}" if prefix else f"{name}="


def _read_rows(path: Path, columns: tuple[str, ...], prefix: str) -> tuple[pd.DataFrame, int]:
    """The rows of one CSV as strings, and the number of malformed lines."""
    if not path.is_file():
        raise InputFileNotFoundError(f"{path}: no such rain gauge file.")
    try:
        header = pd.read_csv(path, nrows=0)
    except _UNREADABLE as exc:
        raise ScenarioError(f"{path}: cannot be read as a CSV ({exc}).") from exc
    missing = [c for c in columns if c not in header.columns]
    if missing:
        names = ", ".join(_opt(prefix, n) for n in ("station_col", "value_col", "time_col"))
        raise ScenarioError(
            f"{path}: required column {', '.join(repr(c) for c in missing)} is missing "
            f"(found: {', '.join(map(str, header.columns))}). Name the columns with {names}."
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        # No usecols: with it, pandas would accept lines with too many fields.
        try:
            df = pd.read_csv(path, dtype=str, on_bad_lines="warn")
        except _UNREADABLE as exc:
            raise ScenarioError(f"{path}: cannot be read as a CSV ({exc}).") from exc
    return df, sum(issubclass(w.category, pd.errors.ParserWarning) for w in caught)


def _local_times(stamp: pd.Series, timezone: str) -> pd.Series:
    if isinstance(stamp.dtype, pd.DatetimeTZDtype):
        local: pd.Series = stamp.dt.tz_convert(timezone).dt.tz_localize(None)
        return local
    return stamp


def read_gauge_csv(
    paths: str | Path | Sequence[str | Path],
    *,
    timezone: str = "Asia/Singapore",
    interval: str | float | None = None,
    units: str | None = None,
    time_label: Literal["end", "start"] = "end",
    station_col: str = "station_id",
    value_col: str = "value",
    time_col: str = "timestamp_sgt",
    lon_col: str = "lon",
    lat_col: str = "lat",
    tolerance: str = "1min",
    option_prefix: str = "",
) -> xr.DataArray:
    """Read rain-gauge CSV files (plain or gzip) into a ``(time, station)`` rain rate.

    Each row holds one station's reading. Timestamps are put on the step's grid (anchored
    at the first reading, in local time; the Singapore files stamp many readings one
    second early, e.g. ``21:49:59``), converted to UTC, and labelled by the **start** of
    their interval (see :mod:`twin.hydro.rainfall`).

    Parameters
    ----------
    paths
        One file or several (e.g. one per month); ``.gz`` is read transparently.
    timezone
        IANA zone of naive timestamps. Timestamps with an offset are taken as they are.
    interval
        The step of the record: a pandas offset string (``"1h"``) or seconds; ``None``
        infers it (the most common gap between a station's readings). A declared step
        that the readings contradict is an error.
    units
        Units of the value column: a depth per step (``"mm"``) or a rate (``"mm/h"``,
        ``"kg m-2 s-1"`` …; see :func:`twin.hydro.rain_steps.unit_factor`). ``None`` is
        accepted only for the NEA layout (``station_id,value,timestamp_sgt``: mm per
        step).
    time_label
        ``"end"``: a timestamp ends its interval (the depth fallen up to it);
        ``"start"``: it starts it.
    station_col, value_col, time_col
        Names of the station id, value and timestamp columns.
    lon_col, lat_col
        Optional columns of the gauges' WGS84 position [deg]; used when both exist.
    tolerance
        A timestamp farther than this from the step's grid is a bad row.
    option_prefix
        How the caller names these options in messages (a scenario passes
        ``"rain.file_options."``).

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(time, station)``, ``time`` a regular grid from the
        first to the last reading (a missing reading is NaN, not 0), stations in natural
        order (``S06 < S24 < S24B < S100``); attributes ``interval_s`` and
        ``converted_from`` (what the values were).

    Raises
    ------
    InputFileNotFoundError
        A file does not exist.
    ScenarioError
        A file is not a CSV, misses a required column, has undeclared or unknown units,
        a step that contradicts the declared one, or no usable row.

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
    where = ", ".join(map(str, files))
    try:
        declared = None if interval is None else _seconds(interval)
        tol = pd.Timedelta(tolerance)
    except ValueError as exc:
        raise ScenarioError(f"interval {interval!r} / tolerance {tolerance!r}: {exc}") from exc
    if declared is not None and declared <= 0:
        raise ScenarioError(f"{_opt(option_prefix, 'interval')} {interval!r} must be positive.")
    if time_label not in ("end", "start"):
        raise ScenarioError(f"{_opt(option_prefix, 'time_label')} must be 'end' or 'start'.")
    columns = (station_col, value_col, time_col)
    if units is None:
        if columns != NEA_COLUMNS:
            raise ScenarioError(
                f"{where}: the units of column {value_col!r} are not declared; set "
                f"{_opt(option_prefix, 'units')} to mm (depth per step) or mm/h (a rate)."
            )
        units = "mm"
    raw = [_read_rows(p, columns, option_prefix) for p in files]
    # The step, from the readings with a value, station by station.
    parsed = []
    per_station = []
    for df, _ in raw:
        stamp = pd.to_datetime(df[time_col], format="ISO8601", errors="coerce")
        value = pd.to_numeric(df[value_col], errors="coerce")
        parsed.append((stamp, value))
        local = _local_times(stamp, timezone)
        ok = local.notna() & (value >= 0)
        for _, t in local[ok].groupby(df[station_col][ok].str.strip()):
            per_station.append(t.to_numpy(dtype="datetime64[ns]"))
    if not any(t.size for t in per_station):
        raise ScenarioError(f"{where}: no usable rain reading.")
    step_s = infer_interval(per_station, declared, where=where, strict=False,
                            option=_opt(option_prefix, "interval").rstrip("="))  # fmt: skip
    factor, how = unit_factor(units, step_s)
    anchor = _grid_anchor(per_station, step_s)
    frames = [
        _clean(p, df, bad, sv, columns, timezone, step_s, tol, anchor, (lon_col, lat_col))
        for p, (df, bad), sv in zip(files, raw, parsed, strict=True)
    ]
    rows = pd.concat(frames, ignore_index=True)
    if rows.empty:
        raise ScenarioError(f"{where}: no usable rain reading.")
    return _to_array(rows, files, step_s, factor, how, time_label, timezone)


def _grid_anchor(times: list[np.ndarray], step_s: float) -> np.datetime64:
    """Where the step's grid lies: the most common phase of the readings (to the minute)."""
    ns = np.concatenate([t.astype("datetime64[ns]").view(np.int64) for t in times])
    if ns.size == 0:
        return np.datetime64("1970-01-01T00:00", "ns")
    step_ns, minute = round(step_s * 1e9), 60_000_000_000
    phase = np.round((ns % step_ns) / minute).astype(np.int64) * minute % step_ns
    values, counts = np.unique(phase, return_counts=True)
    return np.datetime64(int(values[np.argmax(counts)]), "ns")


def _seconds(interval: str | float) -> float:
    if isinstance(interval, int | float):
        return float(interval)
    return float(pd.Timedelta(interval).total_seconds())


def _clean(
    path: Path,
    df: pd.DataFrame,
    malformed: int,
    parsed: tuple[pd.Series, pd.Series],
    columns: tuple[str, str, str],
    timezone: str,
    step_s: float,
    tol: pd.Timedelta,
    anchor: np.datetime64,
    position_cols: tuple[str, str],
) -> pd.DataFrame:
    """Clean rows of one CSV: ``station``, ``time`` (UTC naive, as read), ``value``."""
    station_col = columns[0]
    reasons: Counter[str] = Counter()
    if malformed:
        reasons["malformed line"] = malformed
    station = df[station_col].str.strip()
    stamp, numbers = parsed
    value = numbers.to_numpy(dtype=float, na_value=np.nan)
    local = _local_times(stamp, timezone)
    step = pd.Timedelta(seconds=step_s)
    k = ((local - pd.Timestamp(anchor)) / step).round()
    on_grid = pd.Timestamp(anchor) + k * step
    off_grid = (local - on_grid).abs() > tol
    utc = on_grid.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    bad_time = stamp.isna().to_numpy()
    checks = (
        ("missing station id", (station.isna() | (station == "")).to_numpy()),
        ("missing, non-numeric or negative value", ~np.isfinite(value) | (value < 0)),
        ("unparseable timestamp", bad_time),
        (f"timestamp more than {tol.total_seconds():g} s off the {format_seconds(step_s)} "
         "grid", off_grid.to_numpy(dtype=bool, na_value=False) & ~bad_time),
        (f"timestamp that does not exist in {timezone}", utc.isna().to_numpy() & ~bad_time),
    )  # fmt: skip
    bad = np.zeros(len(df), dtype=bool)
    for reason, mask in checks:
        count = int((mask & ~bad).sum())
        if count:
            reasons[reason] = count
        bad |= mask
    if reasons:
        logger.warning(
            "%s: skipped %d of %d rows (%s)", path, sum(reasons.values()), len(df) + malformed,
            "; ".join(f"{n} {r}" for r, n in reasons.items()),
        )  # fmt: skip
    keep = ~bad
    out = pd.DataFrame(
        {
            "station": station[keep].to_numpy(dtype=object),
            "time": utc[keep].dt.tz_localize(None).to_numpy(dtype="datetime64[ns]"),
            "value": value[keep],
        }
    )
    for name, col in zip(("lon", "lat"), position_cols, strict=True):
        if all(c in df.columns for c in position_cols):
            pos = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            out[name] = pos[keep]
        else:
            out[name] = np.nan
    return out


def _to_array(
    rows: pd.DataFrame,
    files: list[Path],
    step_s: float,
    factor: float,
    how: str,
    time_label: str,
    timezone: str,
) -> xr.DataArray:
    key = ["station", "time"]
    dup = rows.duplicated(key, keep="last")
    if dup.any():
        conflicting = int((rows.groupby(key, sort=False)["value"].nunique() > 1).sum())
        logger.warning(
            "rain gauges: %d duplicate reading(s) of the same station and interval "
            "(%d with differing values); kept the last one read", int(dup.sum()), conflicting,
        )  # fmt: skip
        rows = rows[~dup.to_numpy()]
    stations = sorted(rows["station"].unique(), key=_natural_key)
    code = pd.Categorical(rows["station"], categories=stations).codes
    t_ns = rows["time"].to_numpy(dtype="datetime64[ns]")
    t0, t1 = t_ns.min(), t_ns.max()
    step_ns = np.timedelta64(round(step_s * 1e9), "ns")
    index = ((t_ns - t0) // step_ns).astype(np.int64)
    n_time = int((t1 - t0) // step_ns) + 1
    values = np.full((n_time, len(stations)), np.nan)
    values[index, code] = rows["value"].to_numpy() * factor
    time = t0 + np.arange(n_time) * step_ns - (step_ns if time_label == "end" else 0)
    logger.info(
        "read %d readings of %d stations from %d file(s): %s to %s UTC, step %s, %s",
        len(rows), len(stations), len(files), time[0], time[-1], format_seconds(step_s), how,
    )  # fmt: skip
    out = xr.DataArray(
        values,
        dims=("time", "station"),
        coords={
            "time": ("time", time, time_attrs(timezone)),
            "station": ("station", np.array(stations, dtype=str), {"cf_role": "timeseries_id"}),
        },
        name="rain_rate",
        attrs={**RAIN_ATTRS, "interval_s": step_s, "source": "rain gauges", "converted_from": how},
    )
    placed = rows.dropna(subset=["lon", "lat"])
    if not placed.empty:
        pos = placed.groupby("station")[["lon", "lat"]].median().reindex(stations)
        if pos.isna().any().any():
            lost = [s for s in stations if pos.loc[s].isna().any()]
            raise ScenarioError(
                f"{', '.join(map(str, files))}: no position for station(s) "
                f"{', '.join(lost[:10])}; give lon and lat on their rows (or on none)."
            )
        out = out.assign_coords(
            lon=("station", pos["lon"].to_numpy(), {"units": "degrees_east",
                                                     "standard_name": "longitude"}),
            lat=("station", pos["lat"].to_numpy(), {"units": "degrees_north",
                                                    "standard_name": "latitude"}),
        )  # fmt: skip
    return out
