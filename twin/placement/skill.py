"""Forecast skill of gauges (objective ``skill``): a proxy the placement solvers can use.

The neural forecaster is not used here. The proxy: how much of the variance of an
ungauged point's peak depth over the training storms the best single gauge explains,
``ρ²(p, q)`` (squared Pearson correlation of peak depths across storms); a gauged point
explains itself fully. As a facility-location objective it fits the same solvers. The
variance explained by a linear regression on *all* gauges is at least this (so the proxy
is a lower bound on that regression's in-sample R²); :func:`forecast_skill` scores both
out of sample on held-out storms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import FloatArray, IntArray
from twin.hydro.lowpoints import LowPoints
from twin.placement.errors import PlacementError
from twin.placement.gauges import gauge_candidates
from twin.placement.impact import ImpactMatrix
from twin.placement.ponding_events import PondingEnsemble

__all__ = ["forecast_skill", "forecast_skill_impact"]


def _r2_matrix(peak: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Squared correlation of peak depths between points, and which points vary."""
    sd = peak.std(axis=0)
    varies = sd > 1e-9
    r2 = np.zeros((peak.shape[1], peak.shape[1]))
    if varies.sum() >= 1:
        sub = peak[:, varies]
        c = np.corrcoef(sub, rowvar=False) if sub.shape[1] > 1 else np.ones((1, 1))
        r2[np.ix_(varies, varies)] = np.nan_to_num(np.atleast_2d(c)) ** 2
    np.fill_diagonal(r2, 1.0)
    return r2, varies


def forecast_skill_impact(
    ensemble: PondingEnsemble, points: LowPoints, *, cost: float = 1.0
) -> ImpactMatrix:
    """Impact matrix of the forecast-skill proxy (objective ``"skill"``).

    Events are the low points whose peak depth varies across the ensemble's storms
    (weight 1 / their number); a gauge at ``q`` "detects" point ``p`` with impact
    ``1 − ρ²(p, q)``, the share of ``p``'s peak-depth variance it leaves unexplained;
    undetected impact 1. Time and lifetime are nominal (0 and 1 s).
    """
    if ensemble.point_ids.shape[0] != len(points):
        raise PlacementError("the ensemble was simulated on other low points than `points`")
    r2, varies = _r2_matrix(ensemble.peak_depth)
    targets = np.flatnonzero(varies)
    if targets.size == 0:
        raise PlacementError(
            "empty impact matrix: no low point's peak depth varies across the storms, so "
            "there is nothing to forecast; use more storms"
        )
    sub = r2[targets]  # (event, candidate)
    e, c = np.nonzero(sub > 1e-12)
    events = pd.DataFrame(
        {
            "event_id": [f"skill|{p}" for p in points.ids[targets]],
            "technology": "gauge",
            "weight": 1.0 / targets.size,
            "lifetime": 1.0,
            "impact": 1.0,
            "point": targets,
        }
    )
    return ImpactMatrix(
        events=events,
        candidates=gauge_candidates(points, cost=cost),
        event=e,
        candidate=c,
        time=np.zeros(e.size),
        impact=np.clip(1.0 - sub[e, c], 0.0, 1.0),
        meta={
            "builder": "forecast_skill_impact",
            "storms": len(ensemble.storms),
            "impact_unit": "unexplained share of peak-depth variance",
        },
    )


def forecast_skill(
    train: PondingEnsemble, test: PondingEnsemble, gauged: Sequence[int] | IntArray
) -> dict[str, float]:
    """Out-of-sample skill of gauged points at predicting the ungauged ones' peak depth.

    For each ungauged point whose peak depth varies in the test storms: a linear
    regression (with intercept) of its peak depth on the gauged points' peak depths,
    fitted on ``train`` and scored on ``test`` (R² against the test mean), and the
    best single gauge's squared correlation on ``test`` (the proxy the optimiser used).

    Returns
    -------
    dict
        ``regression_r2`` and ``proxy_r2`` (means over the scored points) [-],
        ``points_scored``.
    """
    g = np.asarray(gauged, dtype=np.int64)
    n = train.peak_depth.shape[1]
    others = np.setdiff1d(np.arange(n), g)
    y_test_all = test.peak_depth
    varies = y_test_all.std(axis=0) > 1e-9
    targets = others[varies[others]]
    if targets.size == 0:
        return {"regression_r2": float("nan"), "proxy_r2": float("nan"), "points_scored": 0}
    if g.size == 0:
        return {"regression_r2": 0.0, "proxy_r2": 0.0, "points_scored": int(targets.size)}
    x_tr = np.column_stack([np.ones(train.peak_depth.shape[0]), train.peak_depth[:, g]])
    x_te = np.column_stack([np.ones(test.peak_depth.shape[0]), test.peak_depth[:, g]])
    coef, *_ = np.linalg.lstsq(x_tr, train.peak_depth[:, targets], rcond=None)
    pred = x_te @ coef
    y = y_test_all[:, targets]
    sse = ((y - pred) ** 2).sum(axis=0)
    sst = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    r2_reg = 1.0 - sse / sst
    r2, _ = _r2_matrix(test.peak_depth)
    proxy = r2[np.ix_(targets, g)].max(axis=1)
    return {
        "regression_r2": float(np.mean(r2_reg)),
        "proxy_r2": float(np.mean(proxy)),
        "points_scored": int(targets.size),
    }
