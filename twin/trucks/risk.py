r"""Risk profiles of sites and companies from history, and early flags.

The platform sees only what was detected and traced, so profiles are built from traced
detections, not from the (unknown) true violations; the true rates are shown beside them
for evaluation. For an entity (a site or a company) with :math:`n` trips and :math:`d`
traced detections, against the overall rate :math:`r = D/N` of all entities, the
smoothed rate is the posterior mean of a gamma–Poisson model with a prior worth
:math:`m` trips (``risk.prior_trips``):

.. math:: \hat r = \frac{d + m\,r}{n + m}

(empirical-Bayes shrinkage: an entity with few trips stays near the overall rate). The
entity is **flagged** when :math:`\hat r \ge k\,r` (``risk.flag_ratio``) with at least
``risk.min_detections`` detections. Replaying the detections in time order with the
trips started so far gives the **first flag time**: how early the entity could have been
warned.

References
----------
.. [1] Efron, B. and Morris, C. (1975). Data analysis using Stein's estimator and its
   generalizations. Journal of the American Statistical Association 70(350), 311–319.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from twin.trucks.config import VIOLATION_KINDS, RiskConfig

__all__ = ["profile"]


def profile(
    trips: pd.DataFrame,
    violations: pd.DataFrame,
    entities: list[str],
    cfg: RiskConfig,
    *,
    by: Literal["site", "company"] = "site",
) -> pd.DataFrame:
    """Per-site or per-company risk profile.

    Parameters
    ----------
    trips, violations
        The day's trip and violation tables (:class:`~twin.trucks.results.TruckResult`).
    entities
        Every site id (``by="site"``) or company (``by="company"``), in order.
    cfg
        Shrinkage and flagging settings.
    by
        Profile sites or companies.

    Returns
    -------
    pandas.DataFrame
        One row per entity, riskiest first: ``trips``, ``detected`` (traced detections),
        ``detected_<kind>`` per kind, ``occurred`` (true violations, for evaluation),
        ``detected_per_100_trips``, ``smoothed_per_100_trips``, ``ratio`` (smoothed over
        overall), ``flagged``, ``first_flag_time`` [s since start; NaN if never],
        ``true_per_100_trips``.
    """
    v = violations
    det = v[v["detected"] & (v["traced_trip"] >= 0)]
    col = f"traced_{by}"
    n_trips = trips.groupby(by).size().reindex(entities, fill_value=0)
    n_det = det.groupby(col).size().reindex(entities, fill_value=0)
    n_occ = v.groupby(by).size().reindex(entities, fill_value=0)
    total_trips, total_det = max(int(n_trips.sum()), 1), int(n_det.sum())
    overall = total_det / total_trips
    m = cfg.prior_trips
    smoothed = (n_det + m * overall) / (n_trips + m)
    ratio = smoothed / overall if overall > 0 else smoothed * 0.0
    out = pd.DataFrame({
        by: entities,
        "trips": n_trips.to_numpy(),
        "detected": n_det.to_numpy(),
        "occurred": n_occ.to_numpy(),
        "detected_per_100_trips": 100.0 * n_det.to_numpy() / np.maximum(n_trips.to_numpy(), 1),
        "smoothed_per_100_trips": 100.0 * smoothed.to_numpy(),
        "ratio": ratio.to_numpy(),
        "true_per_100_trips": 100.0 * n_occ.to_numpy() / np.maximum(n_trips.to_numpy(), 1),
    })  # fmt: skip
    for kind in VIOLATION_KINDS:
        cnt = det[det["kind"] == kind].groupby(col).size().reindex(entities, fill_value=0)
        out[f"detected_{kind}"] = cnt.to_numpy()
    out["flagged"] = (out["ratio"] >= cfg.flag_ratio) & (out["detected"] >= cfg.min_detections)
    out["first_flag_time"] = _first_flags(trips, det, by, col, entities, cfg.prior_trips,
                                          cfg.flag_ratio, cfg.min_detections)  # fmt: skip
    return out.sort_values(["ratio", by], ascending=[False, True]).reset_index(drop=True)


def _first_flags(
    trips: pd.DataFrame, det: pd.DataFrame, by: str, col: str, entities: list[str],
    m: float, k: float, min_det: int,
) -> np.ndarray[tuple[int], np.dtype[np.float64]]:  # fmt: skip
    """When each entity would first have been flagged, replaying detections in order."""
    t_det = det["detection_time"].to_numpy(np.float64)
    order = np.argsort(t_det, kind="stable")
    t_det = t_det[order]
    who = det[col].to_numpy()[order]
    all_start = np.sort(trips["load_start"].to_numpy(np.float64))
    out = np.full(len(entities), np.nan)
    if t_det.size == 0:
        return out
    # Overall rate as known at each detection: detections so far / trips begun so far.
    n_all = np.maximum(np.searchsorted(all_start, t_det, side="right"), 1)
    overall = np.arange(1, t_det.size + 1) / n_all
    for j, e in enumerate(entities):
        mine = np.flatnonzero(who == e)
        if mine.size < min_det:
            continue
        starts = np.sort(trips.loc[trips[by] == e, "load_start"].to_numpy(np.float64))
        n_e = np.searchsorted(starts, t_det[mine], side="right")
        d_e = np.arange(1, mine.size + 1)
        r = overall[mine]
        smoothed = (d_e + m * r) / (n_e + m)
        hit = np.flatnonzero((smoothed >= k * r) & (d_e >= min_det))
        if hit.size:
            out[j] = t_det[mine[hit[0]]]
    return out
