"""Ponding events of a storm ensemble at the low points: onset, end, time above, alarm.

Each storm of a :class:`~twin.hydro.ensemble.StormSet` (real events of the shipped
catalogue and Chicago design storms) drives the ponding physics at every low point
(:func:`twin.hydro.ensemble.simulate_ensemble`), scaled per point by a spatially
correlated factor (:func:`twin.hydro.ensemble.rain_factors`): lognormal with mean 1 and
coefficient of variation ``rain_cv``, and exponential correlation
``exp(−d / rain_correlation_m)`` between points ``d`` metres apart, drawn once per storm
and held through it. The defaults (0.25, 3 km) are **illustrative**, not fitted to
Hangzhou.

An event is the *onset* of waterlogging at one point in one storm: the first time its
depth reaches ``event_depth`` (by default the scenario's impeded depth, 0.15 m, at which
traffic slows). Its lifetime runs from there to the last time the depth is at or above
it. The detection model that reads these events is in :mod:`twin.placement.gauges`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from twin._types import FloatArray, StrArray
from twin.hydro.ensemble import StormSet, rain_factors, simulate_ensemble
from twin.hydro.lowpoints import LowPoints
from twin.placement.errors import PlacementError

__all__ = ["PondingEnsemble", "simulate_storms"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PondingEnsemble:
    """Waterlogging at every low point in every storm of a :class:`StormSet`.

    Times are seconds since the start of the storm's (padded) series; NaN where the
    point never reaches the depth in that storm. Arrays have shape
    ``(n_storms, n_points)``.

    Attributes
    ----------
    storms
        The storms.
    point_ids
        Low point ids.
    peak_depth
        Largest depth [m].
    onset, end
        First and last time at or above ``event_depth`` [s].
    exceed
        Total time at or above ``event_depth`` [s].
    alarm
        First time at or above ``alarm_depth`` [s].
    rain_factor
        The point's rain multiplier in the storm [-].
    event_depth, alarm_depth
        The two depths [m].
    """

    storms: StormSet
    point_ids: StrArray
    peak_depth: FloatArray
    onset: FloatArray
    end: FloatArray
    exceed: FloatArray
    alarm: FloatArray
    rain_factor: FloatArray
    event_depth: float
    alarm_depth: float


def _first_crossing(depth: FloatArray, level: float, step: float) -> FloatArray:
    """First time each column reaches ``level``, linear between step boundaries [s]."""
    above = depth >= level
    has = above.any(axis=0)
    k = np.argmax(above, axis=0)
    prev = np.maximum(k - 1, 0)
    cols = np.arange(depth.shape[1])
    d0, d1 = depth[prev, cols], depth[k, cols]
    frac = np.where(d1 > d0, (level - d0) / np.where(d1 > d0, d1 - d0, 1.0), 0.0)
    t = np.where(k > 0, (prev + np.clip(frac, 0.0, 1.0)) * step, 0.0)
    return np.where(has, t, np.nan)


def _last_crossing(depth: FloatArray, level: float, step: float) -> FloatArray:
    """Last time each column is at or above ``level``, linear to the next boundary [s]."""
    rev = depth[::-1]
    above = rev >= level
    has = above.any(axis=0)
    k = depth.shape[0] - 1 - np.argmax(above, axis=0)
    nxt = np.minimum(k + 1, depth.shape[0] - 1)
    cols = np.arange(depth.shape[1])
    d0, d1 = depth[k, cols], depth[nxt, cols]
    frac = np.where(d0 > d1, (d0 - level) / np.where(d0 > d1, d0 - d1, 1.0), 0.0)
    t = (k + np.where(nxt > k, np.clip(frac, 0.0, 1.0), 0.0)) * step
    return np.where(has, t, np.nan)


def simulate_storms(
    points: LowPoints,
    storms: StormSet,
    *,
    event_depth: float = 0.15,
    alarm_depth: float | None = None,
    rain_cv: float = 0.25,
    rain_correlation_m: float = 3000.0,
    seed: int,
) -> PondingEnsemble:
    """Ponding events at every low point through every storm (one ponding run per storm).

    Parameters
    ----------
    points
        The low points (:func:`twin.hydro.lowpoints.low_points`).
    storms
        The storms.
    event_depth
        Onset depth of an event [m].
    alarm_depth
        A gauge's alarm depth [m] (default: ``event_depth``).
    rain_cv, rain_correlation_m
        Spatial rain variability (see the module docstring) [-], [m].
    seed
        Seed of the rain factors.

    Returns
    -------
    PondingEnsemble
    """
    if len(storms) == 0:
        raise PlacementError("no storms to simulate; choose catalogue splits or design storms")
    alarm_depth = event_depth if alarm_depth is None else alarm_depth
    if not event_depth > 0 or not alarm_depth > 0:
        raise PlacementError(
            f"event_depth ({event_depth}) and alarm_depth ({alarm_depth}) must be > 0 [m]"
        )
    rng = np.random.default_rng(seed)
    factors = rain_factors(
        points.lon, points.lat, len(storms), cv=rain_cv, correlation_m=rain_correlation_m, rng=rng
    )
    n_s, n_p = len(storms), len(points)
    out = {k: np.full((n_s, n_p), np.nan) for k in ("peak", "onset", "end", "alarm")}
    exceed = np.zeros((n_s, n_p))
    for i, depth in enumerate(simulate_ensemble(points, storms, factors)):
        out["peak"][i] = depth.max(axis=0)
        out["onset"][i] = _first_crossing(depth, event_depth, storms.step)
        out["end"][i] = _last_crossing(depth, event_depth, storms.step)
        out["alarm"][i] = _first_crossing(depth, alarm_depth, storms.step)
        exceed[i] = (depth[1:] >= event_depth).sum(axis=0) * storms.step
    logger.info(
        "ponding ensemble: %d storms x %d points, %d onsets",
        n_s,
        n_p,
        int(np.isfinite(out["onset"]).sum()),
    )
    return PondingEnsemble(
        storms=storms,
        point_ids=points.ids,
        peak_depth=out["peak"],
        onset=out["onset"],
        end=out["end"],
        exceed=exceed,
        alarm=out["alarm"],
        rain_factor=factors,
        event_depth=float(event_depth),
        alarm_depth=float(alarm_depth),
    )
