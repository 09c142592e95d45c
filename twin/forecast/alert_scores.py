"""Alerts scored against the water: probability of detection, false alarms, warning lead.

Event-based, per low point and alert level (the way an operations centre judges a
warning service):

- a **crossing** is the water reaching the level's depth from below (again after it
  fell ``hysteresis`` under it);
- a crossing is **detected** when an ``Alert`` of that level for that point was issued
  before it (strictly: an alert at the crossing itself warns of nothing) and at most
  ``window`` before it; its **warning lead** is the crossing time minus the issue time
  of the latest such ``Alert``;
- an ``Alert`` is a **false alarm** when no crossing of its level at its point follows
  within ``window`` of its issue;
- POD = detected / crossings, FAR = false alarms / alerts, CSI = hits / (hits + misses +
  false alarms).

References
----------
.. [1] I. T. Jolliffe, D. B. Stephenson (eds.), *Forecast Verification*, 2nd ed.,
   Wiley, 2012, ch. 3 (contingency tables of dichotomous forecasts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin._types import FloatArray

__all__ = ["AlertScore", "crossings", "pool_scores", "score_alerts"]


@dataclass(frozen=True)
class AlertScore:
    """Scores of one alert level (see the module docstring).

    Attributes
    ----------
    level
        The level's name.
    crossings, detected, alerts, false_alarms
        Counts.
    pod, far, csi
        Probability of detection, false-alarm ratio, critical success index [-] (NaN
        when undefined).
    lead_mean, lead_median
        Warning lead of the detected crossings [s] (NaN when none).
    leads
        Every detected crossing's lead [s].
    """

    level: str
    crossings: int
    detected: int
    alerts: int
    false_alarms: int
    pod: float
    far: float
    csi: float
    lead_mean: float
    lead_median: float
    leads: FloatArray


def crossings(
    depth: FloatArray, times: FloatArray, threshold: float, hysteresis: float = 0.02
) -> list[tuple[int, float]]:
    """Every (point, time [s]) at which the depth reaches ``threshold`` from below.

    Parameters
    ----------
    depth
        Water depth [m], ``(n_times, n_points)``.
    times
        Times of the rows [s].
    threshold
        The level's depth [m].
    hysteresis
        The water must fall this far below the threshold before another crossing [m].
    """
    out: list[tuple[int, float]] = []
    above = depth >= threshold
    for p in np.flatnonzero(above.any(axis=0)).tolist():
        armed = True
        for k in range(depth.shape[0]):
            if armed and above[k, p]:
                out.append((p, float(times[k])))
                armed = False
            elif not armed and depth[k, p] < threshold - hysteresis:
                armed = True
    return sorted(out, key=lambda pt: (pt[1], pt[0]))


def score_alerts(
    timeline: pd.DataFrame,
    depth: FloatArray,
    times: FloatArray,
    levels: dict[str, float],
    *,
    window: float = 7200.0,
    hysteresis: float = 0.02,
) -> dict[str, AlertScore]:
    """Score an alert timeline against the true water, per level.

    Parameters
    ----------
    timeline
        Alert messages (``issue_time`` [s], ``point_index``, ``level``, ``msgType``),
        e.g. :func:`twin.forecast.online.alert_timeline`.
    depth, times
        The true depth [m] ``(n_times, n_points)`` at ``times`` [s].
    levels
        Level name → depth [m].
    window
        How far ahead an alert speaks for [s] (the forecast horizon).
    hysteresis
        See :func:`crossings`.
    """
    out: dict[str, AlertScore] = {}
    alerts_all = timeline[timeline["msgType"] == "Alert"]
    for name, thr in levels.items():
        cross = crossings(depth, times, thr, hysteresis)
        al = alerts_all[alerts_all["level"] == name]
        a_point = al["point_index"].to_numpy(dtype=np.int64)
        a_time = al["issue_time"].to_numpy(dtype=float)
        leads = []
        for p, tc in cross:
            before = a_time[(a_point == p) & (a_time < tc) & (a_time >= tc - window)]
            if before.size:
                leads.append(tc - before.max())
        c_point = np.array([p for p, _ in cross], dtype=np.int64)
        c_time = np.array([t for _, t in cross], dtype=float)
        false = 0
        for p, ta in zip(a_point.tolist(), a_time.tolist(), strict=True):
            follows = (c_point == p) & (c_time >= ta) & (c_time <= ta + window)
            if not follows.any():
                false += 1
        n_cross, hits, n_al = len(cross), len(leads), int(a_point.size)
        misses = n_cross - hits
        lead_arr = np.asarray(leads, dtype=float)
        out[name] = AlertScore(
            level=name, crossings=n_cross, detected=hits, alerts=n_al, false_alarms=false,
            pod=hits / n_cross if n_cross else float("nan"),
            far=false / n_al if n_al else float("nan"),
            csi=hits / (hits + misses + false) if hits + misses + false else float("nan"),
            lead_mean=float(lead_arr.mean()) if hits else float("nan"),
            lead_median=float(np.median(lead_arr)) if hits else float("nan"),
            leads=lead_arr,
        )  # fmt: skip
    return out


def pool_scores(scores: list[AlertScore]) -> AlertScore:
    """One level's scores over many runs (storms, placements) pooled: counts add up.

    POD, FAR and CSI are recomputed from the summed counts and the leads are those of
    every detected crossing, so a run with many crossings weighs more than one with few.

    Raises
    ------
    ValueError
        No scores, or scores of different levels.
    """
    if not scores or len({s.level for s in scores}) != 1:
        raise ValueError("pool_scores: give at least one score, all of one level")
    n_cross = sum(s.crossings for s in scores)
    hits = sum(s.detected for s in scores)
    n_al = sum(s.alerts for s in scores)
    false = sum(s.false_alarms for s in scores)
    leads = np.concatenate([s.leads for s in scores])
    denom = n_cross + false
    return AlertScore(
        level=scores[0].level, crossings=n_cross, detected=hits, alerts=n_al, false_alarms=false,
        pod=hits / n_cross if n_cross else float("nan"),
        far=false / n_al if n_al else float("nan"),
        csi=hits / denom if denom else float("nan"),
        lead_mean=float(leads.mean()) if leads.size else float("nan"),
        lead_median=float(np.median(leads)) if leads.size else float("nan"),
        leads=leads,
    )  # fmt: skip
