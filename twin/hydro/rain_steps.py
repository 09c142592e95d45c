"""Rain-file conventions, checked: the time step, the units and the missing steps.

Bare-array helpers shared by the gauge-CSV reader (:mod:`twin.hydro.rain_gauges`), the
NetCDF reader (:mod:`twin.hydro.rain_netcdf`) and the scenario's file rain
(:mod:`twin.hydro.rain_files`):

- :func:`infer_interval` finds the time step of a record from its time labels, or checks
  a declared one against them (a file of hourly readings declared as 5-minute data is an
  error, not rain 12 times too intense);
- :func:`unit_factor` converts the accepted units to ``rain_rate`` [mm/h]: rates
  (``mm/h``, ``mm s-1``, ``kg m-2 s-1``, ``m s-1`` …) and depths per step (``mm``,
  ``kg m-2``, ``m``), and says which conversion it made; there is no default unit;
- :func:`fill_missing` applies the declared policy for missing steps (``error``,
  ``zero`` with a warning, ``interpolate``) and counts them.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import FloatArray
from twin.errors import ScenarioError

__all__ = [
    "DEPTH_UNITS",
    "MISSING_POLICIES",
    "RAIN_ATTRS",
    "RATE_UNITS",
    "MissingPolicy",
    "as_ns",
    "fill_missing",
    "format_seconds",
    "infer_interval",
    "regular_index",
    "unit_factor",
]

logger = logging.getLogger(__name__)

#: Attributes of every ``rain_rate`` array (CF: ``rainfall_rate`` in ``mm h-1``).
RAIN_ATTRS: dict[str, str] = {
    "units": "mm h-1",
    "standard_name": "rainfall_rate",
    "long_name": "rain rate, mean over the interval starting at the time label",
}
#: Rate units and their factor to mm/h (1 kg m-2 of water is 1 mm).
RATE_UNITS: dict[str, float] = {
    "mm h-1": 1.0, "mm/h": 1.0, "mm hr-1": 1.0, "mm/hr": 1.0, "mm h**-1": 1.0,
    "mm s-1": 3600.0, "mm/s": 3600.0, "kg m-2 s-1": 3600.0, "kg m**-2 s**-1": 3600.0,
    "m s-1": 3.6e6, "m/s": 3.6e6, "mm min-1": 60.0, "mm/min": 60.0,
}  # fmt: skip
#: Depth-per-step units and their factor to mm (the depth fallen in one time step).
DEPTH_UNITS: dict[str, float] = {"mm": 1.0, "kg m-2": 1.0, "kg m**-2": 1.0, "m": 1000.0}
#: What to do with a missing step (no reading, or a time absent from the file).
MissingPolicy = Literal["error", "zero", "interpolate"]
MISSING_POLICIES: tuple[str, ...] = ("error", "zero", "interpolate")


def format_seconds(seconds: float) -> str:
    """A duration for messages: ``"5 min"``, ``"1 h"``, ``"90 s"``."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def unit_factor(units: str, interval_s: float) -> tuple[float, str]:
    """Factor from a file's units to ``rain_rate`` [mm/h], and what the conversion was.

    Parameters
    ----------
    units
        A rate (:data:`RATE_UNITS`) or a depth per step (:data:`DEPTH_UNITS`).
    interval_s
        The time step of the data [s] (depths per step are divided by it).

    Raises
    ------
    ScenarioError
        Units that are neither (the message lists the accepted ones).
    """
    key = " ".join(str(units).split())
    if key in RATE_UNITS:
        factor = RATE_UNITS[key]
        how = "rate [mm/h]" if factor == 1.0 else f"rate in {key} × {factor:g} → mm/h"
        return factor, how
    if key in DEPTH_UNITS:
        factor = DEPTH_UNITS[key] * 3600.0 / interval_s
        return factor, f"depth per {format_seconds(interval_s)} step in {key} → mm/h"
    raise ScenarioError(
        f"rain units {units!r} are not known; accepted: rates "
        f"({', '.join(RATE_UNITS)}) or depths per step ({', '.join(DEPTH_UNITS)})."
    )


def infer_interval(
    times: npt.NDArray[Any] | list[npt.NDArray[Any]],
    declared_s: float | None,
    *,
    where: str,
    option: str,
    resolution_s: float = 60.0,
    strict: bool = True,
) -> float:
    """The time step of a record [s]: inferred from its labels, or declared and checked.

    Parameters
    ----------
    times
        The time labels (``datetime64``), or one array per station (gaps between
        stations' readings are not steps).
    declared_s
        The declared step [s], or ``None`` to infer it (the most common gap between
        consecutive labels).
    where
        The file, for messages.
    option
        How the user sets the step (e.g. ``rain.file_options.interval``), for messages.
    resolution_s
        Gaps are rounded to this [s] before inference (readings stamped a second early).
    strict
        Also refuse labels off the step (a gauge reader skips such rows instead).

    Raises
    ------
    ScenarioError
        A single time label and no declared step; a declared step that is not the labels'
        most common gap (hourly readings declared as 5-minute data); with ``strict``,
        labels that are not on one regular step.
    """
    series = times if isinstance(times, list) else [times]
    gaps: list[FloatArray] = []
    for t in series:
        u = np.unique(as_ns(t))
        if u.size > 1:
            gaps.append(np.diff(u) / 1e9)
    diff = np.concatenate(gaps) if gaps else np.zeros(0)
    if resolution_s > 0 and diff.size:
        diff = np.maximum(np.round(diff / resolution_s), 1.0) * resolution_s
    if diff.size == 0:
        if declared_s is None:
            raise ScenarioError(
                f"{where}: one time step only, so its length cannot be inferred; declare "
                f"it with {option} (e.g. 1h)."
            )
        return float(declared_s)
    values, counts = np.unique(diff, return_counts=True)
    step = float(values[np.argmax(counts)])
    smallest = float(diff.min())
    if declared_s is not None and step != declared_s:
        raise ScenarioError(
            f"{where}: readings are {format_seconds(step)} apart but {option} says "
            f"{format_seconds(declared_s)}; set {option} to "
            f"{format_seconds(step).replace(' ', '')} (or leave it out to infer the step)."
        )
    if strict:
        off = np.abs(diff / step - np.round(diff / step)) > 1e-6
        if off.any() or smallest < step:
            raise ScenarioError(
                f"{where}: the time labels are not on one regular step (most common gap "
                f"{format_seconds(step)}, but also {format_seconds(smallest)}); declare the "
                f"step with {option} or regularise the file."
            )
    return step


def as_ns(times: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Datetimes or timedeltas as integer nanoseconds."""
    arr = np.asarray(times)
    kind = "timedelta64[ns]" if arr.dtype.kind == "m" else "datetime64[ns]"
    return np.asarray(arr.astype(kind).view(np.int64), dtype=np.int64)


def regular_index(first: np.datetime64, last: np.datetime64, step_s: float) -> pd.DatetimeIndex:
    """Every step from ``first`` to ``last`` inclusive."""
    return pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq=pd.Timedelta(seconds=step_s))


def fill_missing(
    values: FloatArray,
    policy: str,
    *,
    where: str,
    option: str,
    times: pd.Index | None = None,
) -> tuple[FloatArray, int]:
    """Apply a missing-step policy to rain rates ``(time, ...)`` [mm/h].

    A step is missing when any of its values is NaN.

    Parameters
    ----------
    values
        Rain rates, time first; NaN where missing.
    policy
        ``"error"``: refuse missing steps; ``"zero"``: they are dry (with a warning);
        ``"interpolate"``: linear in time between the neighbouring steps (a gap at either
        end of the record is dry), with a warning.
    where, option
        The file and the option that sets the policy, for messages.
    times
        Time labels, to name the first missing step.

    Returns
    -------
    tuple
        The filled rates (no NaN) and the number of missing steps.
    """
    if policy not in MISSING_POLICIES:
        raise ScenarioError(
            f"{option}: {policy!r} is not a missing-step policy; choose "
            f"{', '.join(MISSING_POLICIES)}."
        )
    arr = np.asarray(values, dtype=float)
    flat = arr.reshape(arr.shape[0], -1)
    gaps = np.isnan(flat).any(axis=1)
    n = int(gaps.sum())
    if n == 0:
        return arr, 0
    first = f" (first at {times[int(np.argmax(gaps))]})" if times is not None else ""
    what = f"{where}: {n} of {gaps.size} time steps missing{first}"
    if policy == "error":
        raise ScenarioError(
            f"{what}; set {option} to zero (treat them as dry) or interpolate, or fill the file."
        )
    if policy == "zero":
        logger.warning("%s: treated as dry (%s: zero)", what, option)
        return np.nan_to_num(arr, nan=0.0), n
    frame = pd.DataFrame(flat)
    filled = frame.interpolate(axis=0, limit_area="inside").fillna(0.0).to_numpy()
    logger.warning("%s: interpolated in time (%s: interpolate)", what, option)
    return filled.reshape(arr.shape), n
