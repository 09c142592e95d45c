"""Storms: Chicago design hyetographs, a storm catalogue of gauge records, and plots.

Every series here follows the conventions of :mod:`twin.hydro.rainfall`: ``rain_rate``
[mm/h], each ``time`` label the start of its interval, absolute times naive UTC.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from twin._types import FloatArray
from twin.errors import ScenarioError
from twin.hydro.rainfall import RAIN_ATTRS, default_rain, default_rain_files, rain_interval
from twin.network.io import cache_dir

__all__ = [
    "CATALOGUE_COLUMNS",
    "L_PER_S_HA_IN_MM_H",
    "SPLIT_FRACTIONS",
    "chicago_hyetograph",
    "describe_storm",
    "load_catalogue",
    "plot_storm",
    "storm_catalogue",
    "storm_event",
]

logger = logging.getLogger(__name__)

#: 1 L/(s·ha) of storm intensity is 0.36 mm/h (10 000 m² · 1 mm = 10 m³ = 10 000 L).
L_PER_S_HA_IN_MM_H = 0.36
#: Default train / validation / test shares of the catalogue's storm days.
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
#: Columns of :func:`storm_catalogue`.
CATALOGUE_COLUMNS = (
    "event_id", "station", "start", "end", "duration_h", "depth_mm", "peak_rate_mm_h",
    "peak_60min_mm_h", "peak_time", "missing_steps", "split",
)  # fmt: skip
#: Bump when the catalogue's definition changes, to invalidate cached catalogues.
_CATALOGUE_VERSION = "1"

Duration = float | str | pd.Timedelta


def _seconds(value: Duration, name: str) -> float:
    """A duration given in seconds or as a pandas timedelta string, in seconds."""
    try:
        out = (
            float(value) if isinstance(value, int | float) else pd.Timedelta(value).total_seconds()
        )
    except ValueError as exc:
        raise ScenarioError(f"{name}={value!r} is not a duration ({exc}).") from exc
    if not math.isfinite(out) or out <= 0:
        raise ScenarioError(f"{name}={value!r} must be a positive duration.")
    return out


# --- design storms -------------------------------------------------------------------


def chicago_hyetograph(
    *,
    A: float,
    C: float,
    n: float,
    b: float,
    return_period: float,
    duration: Duration,
    peak_position: float = 0.4,
    dt: Duration = 60.0,
    units: Literal["L/(s*ha)", "L/s/ha", "mm/min"] = "L/(s*ha)",
    start: str | pd.Timestamp | None = None,
) -> xr.DataArray:
    """Chicago design storm (Keifer & Chu, 1957) from a storm-intensity formula.

    The formula gives the mean intensity over the ``t`` most intense minutes,
    ``i_avg(t) = a / (t + b)^n`` with ``a = A (1 + C lg P)`` and ``P`` the return period.
    With the peak at ``r·duration``, the Chicago storm has the instantaneous intensity

    ``i(t_b) = a [(1 - n) t_b / r + b] / (t_b / r + b)^(1 + n)`` before the peak and
    ``i(t_a) = a [(1 - n) t_a / (1 - r) + b] / (t_a / (1 - r) + b)^(1 + n)`` after it,

    (``t_b``, ``t_a`` the minutes before / after the peak). Each interval holds the
    exact integral of ``i`` over it (the mass curve, not a midpoint sample), so the
    total depth is ``i_avg(duration) · duration`` and the most intense window of any
    length ``T`` averages ``i_avg(T)``, up to the grid of ``dt``.

    **No city's formula is built in.** ``A``, ``C``, ``n`` and ``b`` must come from the
    user's local storm-intensity formula (e.g. a GB 50014-style formula published for
    the city), cited where used. For orientation only, an *illustrative* set of the
    usual magnitude is ``A=2000`` L/(s·ha), ``C=0.8``, ``n=0.7``, ``b=10`` min.

    Parameters
    ----------
    A
        Intensity coefficient, in ``units`` [L/(s·ha) or mm/min]. The GB 50014 form
        ``q = 167 A1 (1 + C lg P) / (t + b)^n`` is ``A = 167 A1`` in L/(s·ha), or
        ``A = A1`` in mm/min.
    C
        Return-period coefficient [-].
    n
        Decay exponent, ``0 < n < 1`` [-].
    b
        Time offset [min].
    return_period
        Return period ``P`` [years].
    duration
        Storm duration: seconds, or a pandas timedelta string (``"2h"``) [s].
    peak_position
        Peak position ``r`` as a fraction of the duration, ``0 ≤ r ≤ 1`` [-].
    dt
        Time step: seconds or a timedelta string [s]; must divide ``duration``.
    units
        Units of ``A``: ``"L/(s*ha)"`` (``q``, the usual Chinese unit; 1 L/(s·ha) =
        0.36 mm/h) or ``"mm/min"`` (``i``).
    start
        UTC start time; ``time`` is then absolute (naive UTC) instead of elapsed.

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dim ``time``: a ``timedelta64`` since the storm start
        (each label the start of its step) unless ``start`` is given, with a coordinate
        ``elapsed`` [s] and the formula's parameters in the attributes.

    Raises
    ------
    ScenarioError
        Parameters out of range or ``dt`` not dividing ``duration``.

    References
    ----------
    Keifer, C. J. and Chu, H. H. (1957). Synthetic storm pattern for drainage design.
    *Journal of the Hydraulics Division*, 83(4), 1-25.
    GB 50014-2021, *Standard for design of outdoor wastewater engineering*.
    """
    total_s, step_s = _seconds(duration, "duration"), _seconds(dt, "dt")
    steps = total_s / step_s
    if abs(steps - round(steps)) > 1e-9 * steps:
        raise ScenarioError(f"dt={dt!r} must divide duration={duration!r} into whole steps.")
    lg_p = math.log10(return_period) if return_period > 0 else math.nan
    a = A * (1.0 + C * lg_p)
    checks = {
        "A must be positive": A > 0,
        "n must lie in (0, 1)": 0 < n < 1,
        "b must be >= 0 [min]": b >= 0,
        "return_period must be positive and give 1 + C lg P > 0": a > 0,
        "peak_position must lie in [0, 1]": 0 <= peak_position <= 1,
    }
    wrong = [msg for msg, ok in checks.items() if not ok]
    if wrong:
        raise ScenarioError(f"chicago_hyetograph: {'; '.join(wrong)}.")
    if units in ("L/(s*ha)", "L/s/ha"):
        a_mm_min = a * L_PER_S_HA_IN_MM_H / 60.0
    elif units == "mm/min":
        a_mm_min = a
    else:
        raise ScenarioError(f"units {units!r}: choose 'L/(s*ha)' (or 'L/s/ha') or 'mm/min'.")

    r, d_min = peak_position, total_s / 60.0
    edges = np.arange(round(steps) + 1, dtype=float) * (step_s / 60.0)  # [min]
    edges[-1] = d_min
    mass = _chicago_mass(edges, a_mm_min, n, b, r, d_min)
    rate = np.diff(mass) / (step_s / 3600.0)  # mm/h
    elapsed = edges[:-1] * 60.0
    offsets = pd.to_timedelta(elapsed, unit="s").to_numpy(dtype="timedelta64[ns]")
    if start is None:
        time: Any = offsets
        time_attrs = {"long_name": "time since the storm start, at the start of each step"}
    else:
        t0 = pd.Timestamp(start)
        t0 = t0.tz_convert("UTC").tz_localize(None) if t0.tzinfo else t0
        time = t0.to_datetime64().astype("datetime64[ns]") + offsets
        time_attrs = {"standard_name": "time", "timezone": "UTC", "local_timezone": "UTC"}
    return xr.DataArray(
        rate,
        dims=("time",),
        coords={"time": ("time", time, time_attrs), "elapsed": ("time", elapsed, {"units": "s"})},
        name="rain_rate",
        attrs={
            **RAIN_ATTRS,
            "interval_s": step_s,
            "design_storm": "Chicago (Keifer and Chu 1957)",
            "idf_formula": "i_avg(t) = A (1 + C lg P) / (t + b)^n, t in min",
            "A": A, "A_units": units, "C": C, "n": n, "b_min": b,
            "return_period_years": return_period, "peak_position": r,
        },
    )  # fmt: skip


def _chicago_mass(
    t_min: FloatArray, a: float, n: float, b: float, r: float, d_min: float
) -> FloatArray:
    """Cumulative depth of a Chicago storm at times ``t_min`` since its start [mm].

    ``a`` [mm/min]. The depth of the window of length ``T`` straddling the peak in
    proportions ``r : 1 - r`` is ``F(T) = a T / (T + b)^n``; before the peak the depth
    from ``t`` to the peak is ``r F((t_p - t) / r)``, after it ``(1 - r) F((t - t_p) / (1 - r))``.
    """

    def depth(x: FloatArray, frac: float) -> FloatArray:
        if frac <= 0:
            return np.zeros_like(x)
        span = x / frac
        return np.asarray(frac * a * span / (span + b) ** n, dtype=float)

    t_peak = r * d_min
    before = depth(np.array([t_peak]), r)[0]
    return np.asarray(
        np.where(
            t_min <= t_peak,
            before - depth(np.clip(t_peak - t_min, 0.0, None), r),
            before + depth(np.clip(t_min - t_peak, 0.0, None), 1.0 - r),
        ),
        dtype=float,
    )


# --- storm catalogue -----------------------------------------------------------------


def _split_of(key: str, fractions: Sequence[float]) -> str:
    """Deterministic train/validation/test label of a key (uniform hash in [0, 1))."""
    u = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") / 2.0**64
    cut = np.cumsum(fractions) / sum(fractions)
    return ("train", "validation", "test")[int(np.searchsorted(cut, u, side="right"))]


def storm_catalogue(
    rain: xr.DataArray,
    *,
    min_gap: Duration = "6h",
    min_depth: float = 10.0,
    wet_threshold: float = 0.0,
    split_fractions: Sequence[float] = SPLIT_FRACTIONS,
) -> pd.DataFrame:
    """Rain events of each gauge: wet spells separated by dry gaps of at least ``min_gap``.

    Parameters
    ----------
    rain
        Rain rate [mm/h], dims ``(time, station)`` on a regular time grid.
    min_gap
        Minimum inter-event dry time (seconds or a timedelta string) [s]. Missing
        readings (NaN) count as dry.
    min_depth
        Events with less total depth are dropped [mm].
    wet_threshold
        An interval is wet when its depth exceeds this [mm] (0: any tip of the bucket).
    split_fractions
        Shares of train, validation and test.

    Returns
    -------
    pandas.DataFrame
        One row per event, sorted by start and station, with columns
        ``event_id`` (``"<station>-<UTC start %Y%m%dT%H%M>Z"``, stable), ``station``,
        ``start`` and ``end`` (timezone-aware UTC; start of the first and end of the
        last wet interval), ``duration_h`` [h], ``depth_mm`` [mm], ``peak_rate_mm_h``
        (the highest single-interval rate) [mm/h], ``peak_60min_mm_h`` (the highest
        60-minute mean) [mm/h], ``peak_time`` (start of the peak interval, UTC),
        ``missing_steps`` (NaN intervals within the event) and ``split``.

    Notes
    -----
    ``split`` is ``"train"``, ``"validation"`` or ``"test"``, drawn from a hash of the
    event's **start date in the record's local time zone**: one label per whole storm
    (never per time step) and the same label for every gauge caught by a storm starting
    that day, so one storm system does not leak between sets. It depends on nothing
    else, so it is stable when the record or the thresholds change. Shares hold for
    days, so the shares of events vary around ``split_fractions``.
    """
    if set(rain.dims) != {"time", "station"}:
        raise ScenarioError(f"storm_catalogue needs dims (time, station); got {rain.dims}.")
    if len(split_fractions) != 3 or min(split_fractions) < 0 or sum(split_fractions) <= 0:
        raise ScenarioError(f"split_fractions {split_fractions!r}: three non-negative shares.")
    rain = rain.transpose("time", "station")
    step_s = rain_interval(rain)
    gap_steps = _seconds(min_gap, "min_gap") / step_s
    times = pd.DatetimeIndex(rain["time"].values)
    zone = str(rain["time"].attrs.get("local_timezone", "UTC"))
    step_h = step_s / 3600.0
    window = max(1, round(3600.0 / step_s))
    rows: list[dict[str, Any]] = []
    for j, station in enumerate(rain["station"].values):
        rate = np.asarray(rain.values[:, j], dtype=float)
        depth = np.where(np.isfinite(rate), rate, 0.0) * step_h
        wet_idx = np.flatnonzero(depth > wet_threshold)
        if wet_idx.size == 0:
            continue
        new = np.diff(wet_idx) - 1 >= gap_steps - 1e-9
        first = wet_idx[np.r_[True, new]]
        last = wet_idx[np.r_[new, True]]
        cum = np.r_[0.0, np.cumsum(depth)]
        totals = cum[last + 1] - cum[first]
        keep = totals >= min_depth
        win = cum[window:] - cum[:-window] if depth.size >= window else cum[-1:] - cum[:1]
        missing = np.r_[0, np.cumsum(np.isnan(rate))]
        for s, e, total in zip(first[keep], last[keep], totals[keep], strict=True):
            peak = s + int(np.argmax(depth[s : e + 1]))
            lo, hi = max(0, s - window + 1), min(win.size - 1, e)
            start = times[s].tz_localize("UTC")
            rows.append(
                {
                    "event_id": f"{station}-{start:%Y%m%dT%H%M}Z",
                    "station": str(station),
                    "start": start,
                    "end": times[e].tz_localize("UTC") + pd.Timedelta(seconds=step_s),
                    "duration_h": (e - s + 1) * step_h,
                    "depth_mm": float(total),
                    "peak_rate_mm_h": float(depth[peak] / step_h),
                    "peak_60min_mm_h": float(win[lo : hi + 1].max() / (window * step_h)),
                    "peak_time": times[peak].tz_localize("UTC"),
                    "missing_steps": int(missing[e + 1] - missing[s]),
                    "split": _split_of(f"{start.tz_convert(zone):%Y-%m-%d}", split_fractions),
                }
            )
    table = pd.DataFrame(rows, columns=list(CATALOGUE_COLUMNS))
    if not rows:
        return table
    table = table.sort_values(["start", "station"], kind="stable").reset_index(drop=True)
    logger.info("storm catalogue: %d events >= %.1f mm", len(table), min_depth)
    return table


def storm_event(
    rain: xr.DataArray, event: Mapping[str, Any] | pd.Series, *, pad: Duration = "1h"
) -> xr.DataArray:
    """One catalogued event's hyetograph, with dry padding on both sides.

    Parameters
    ----------
    rain
        The ``(time, station)`` record the catalogue was built from [mm/h].
    event
        A catalogue row (needs ``station``, ``start``, ``end``; ``event_id`` is kept).
    pad
        Record kept before the start and after the end (seconds or a timedelta string).

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dim ``time``, attribute ``event_id``.
    """
    for key in ("station", "start", "end"):
        if key not in event:
            raise ScenarioError(f"event needs a {key!r} field (a row of storm_catalogue).")
    step = pd.Timedelta(seconds=rain_interval(rain))
    margin = pd.Timedelta(seconds=_seconds(pad, "pad"))

    def naive(value: Any) -> pd.Timestamp:
        ts = pd.Timestamp(value)
        return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts

    start, end = naive(event["start"]), naive(event["end"])
    out = rain.sel(station=event["station"], time=slice(start - margin, end - step + margin))
    out.attrs = {**rain.attrs, "event_id": str(event.get("event_id", ""))}
    return out


def load_catalogue(
    *, min_gap: Duration = "6h", min_depth: float = 10.0, refresh: bool = False
) -> pd.DataFrame:
    """The storm catalogue of the shipped Singapore records, cached on disk.

    Built by :func:`storm_catalogue` over :func:`~twin.hydro.rainfall.default_rain`
    and cached as Parquet under ``twin.network.io.cache_dir() / "rain"``, keyed on the
    SHA-256 of the data files and the parameters.

    Parameters
    ----------
    min_gap, min_depth
        As for :func:`storm_catalogue`.
    refresh
        Rebuild even when cached.
    """
    files = default_rain_files()
    digest = hashlib.sha256(f"{_CATALOGUE_VERSION}|{min_gap}|{min_depth}".encode())
    for f in files:
        digest.update(f.name.encode())
        digest.update(hashlib.sha256(f.read_bytes()).digest())
    path = cache_dir() / "rain" / f"catalogue-{digest.hexdigest()[:20]}.parquet"
    if path.is_file() and not refresh:
        logger.debug("storm catalogue from cache %s", path)
        return pd.read_parquet(path)
    table = storm_catalogue(default_rain(), min_gap=min_gap, min_depth=min_depth)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        table.to_parquet(tmp, index=False)
        tmp.replace(path)
    except OSError as exc:
        logger.warning("could not cache the storm catalogue at %s (%s)", path, exc)
    return table


# --- description and plots -----------------------------------------------------------


def describe_storm(rain: xr.DataArray) -> dict[str, Any]:
    """Summary figures of one rain series.

    Parameters
    ----------
    rain
        Rain rate [mm/h], dim ``time`` only.

    Returns
    -------
    dict
        ``depth_mm`` [mm]; ``start``, ``end`` (first and last wet step, end exclusive)
        and ``duration_h`` [h] of the wet part; ``interval_s`` [s]; ``peak_rate_mm_h``
        (highest single step) [mm/h]; ``peak_5min_mm_h``, ``peak_15min_mm_h``,
        ``peak_60min_mm_h`` (highest mean over that window, NaN when the window is not a
        whole number of steps) [mm/h]; ``peak_time`` (start of the peak step; a
        ``Timestamp`` in UTC, or a ``Timedelta`` for elapsed time); ``missing_steps``.
    """
    if rain.dims != ("time",):
        raise ScenarioError(f"describe_storm needs a single series (dim time); got {rain.dims}.")
    step_s = rain_interval(rain)
    rate = np.asarray(rain.values, dtype=float)
    depth = np.where(np.isfinite(rate), rate, 0.0) * step_s / 3600.0
    times = rain["time"].to_index()
    wet = np.flatnonzero(depth > 0)
    info: dict[str, Any] = {
        "depth_mm": float(depth.sum()),
        "interval_s": step_s,
        "missing_steps": int(np.isnan(rate).sum()),
    }
    if wet.size == 0:
        nan_time = pd.NaT
        return info | {"start": nan_time, "end": nan_time, "duration_h": 0.0, "peak_time": nan_time,
                       "peak_rate_mm_h": 0.0, "peak_5min_mm_h": 0.0, "peak_15min_mm_h": 0.0,
                       "peak_60min_mm_h": 0.0}  # fmt: skip
    cum = np.r_[0.0, np.cumsum(depth)]
    for minutes in (5, 15, 60):
        k = minutes * 60.0 / step_s
        key = f"peak_{minutes}min_mm_h"
        if abs(k - round(k)) > 1e-9 or round(k) < 1:
            info[key] = math.nan
        else:
            k_int = min(round(k), depth.size)
            info[key] = float((cum[k_int:] - cum[:-k_int]).max() / (minutes / 60.0))
    peak = int(np.argmax(depth))
    aware = isinstance(times, pd.DatetimeIndex)

    def stamp(i: int, shift: float = 0.0) -> Any:
        t = times[i] + pd.Timedelta(seconds=shift)
        return t.tz_localize("UTC") if aware else t

    return info | {
        "start": stamp(int(wet[0])),
        "end": stamp(int(wet[-1]), step_s),
        "duration_h": (int(wet[-1]) - int(wet[0]) + 1) * step_s / 3600.0,
        "peak_rate_mm_h": float(depth[peak] * 3600.0 / step_s),
        "peak_time": stamp(peak),
    }


def plot_storm(rain: xr.DataArray, path_png: str | Path, *, title: str | None = None) -> Path:
    """Hyetograph bars [mm/h] and cumulative depth [mm] of one rain series, as a PNG.

    Absolute times are drawn in the series' local time zone (``time`` attribute
    ``local_timezone``), elapsed times in minutes.

    Parameters
    ----------
    rain
        Rain rate [mm/h], dim ``time`` only.
    path_png
        The image to write; parent folders are created.
    title
        Figure title (default: the event id or the depth and peak).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    info = describe_storm(rain)
    step_s = info["interval_s"]
    rate = np.asarray(rain.values, dtype=float)
    cum = np.cumsum(np.where(np.isfinite(rate), rate, 0.0) * step_s / 3600.0)
    times = rain["time"].to_index()
    fig = Figure(figsize=(9, 4.5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if isinstance(times, pd.DatetimeIndex):
        zone = str(rain["time"].attrs.get("local_timezone", "UTC"))
        x: Any = times.tz_localize("UTC").tz_convert(zone).tz_localize(None)
        width: Any = pd.Timedelta(seconds=step_s)
        ax.set_xlabel(f"time ({zone})")
        fig.autofmt_xdate()
    else:
        x = pd.TimedeltaIndex(times).total_seconds().to_numpy(dtype=float) / 60.0
        width = step_s / 60.0
        ax.set_xlabel("time since storm start [min]")
    ax.bar(x, rate, width=width, align="edge", color="tab:blue", label="rain rate")
    ax.set_ylabel("rain rate [mm/h]", color="tab:blue")
    ax.set_ylim(bottom=0)
    ax2 = ax.twinx()
    # Depth grows linearly within a step: draw it through the step ends.
    ends = [x[0], *(x + width)]
    ax2.plot(ends, np.r_[0.0, cum], color="tab:red", label="cumulative depth")
    ax2.set_ylabel("cumulative depth [mm]", color="tab:red")
    ax2.set_ylim(bottom=0)
    if title is None:
        station = f"station {rain['station'].values}" if "station" in rain.coords else "rain"
        event = rain.attrs.get("event_id") or station
        title = f"{event}: {info['depth_mm']:.1f} mm, peak {info['peak_rate_mm_h']:.0f} mm/h"
    ax.set_title(title)
    fig.tight_layout()
    path = Path(path_png)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
