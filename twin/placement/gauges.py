"""Water-level gauges at low points: the detection model and its impact matrix.

Events
    The ponding events of a storm ensemble (:mod:`twin.placement.ponding_events`): the
    onset of waterlogging at one point in one storm. Its impact is the road impeded
    while it lasts, ``affected road length [km] × time above event_depth [h]`` [km·h],
    with the point's affected edges from :class:`~twin.hydro.lowpoints.LowPoints`.
    Weight: 1 / number of storms, so the objectives are per storm.
Detection (the decision: a gauge sees its own point, and sends a crew to neighbours)
    - A gauge at point ``p`` detects ``p``'s onset at once (delay 0): it measures the
      depth there, read at every hydrology step.
    - A gauge at ``q`` raises an alarm when *its own* depth first reaches
      ``alarm_depth`` (by default the onset depth: ``q`` itself floods). The
      operations centre then sends a crew to check the low points within
      ``proxy_max_travel`` of ``q`` by road (free-flow travel time on the network;
      default 5 min, illustrative). The
      crew finds ``p``'s ponding at ``max(onset_p, alarm_q + travel(q → p))``; it counts
      when that falls within ``p``'s lifetime. So a gauge covers its neighbours through
      the rain they share (the correlated factor of the ensemble) and the road between
      them. Alternatives rejected: "any point exceeding" as one event per storm hides
      which point floods and how long it stays hidden; a purely statistical proxy would
      detect without anyone looking.
    Impact before detection accrues linearly over the lifetime (see
    :mod:`twin.placement.impact`).

The forecast-skill objective of gauges is in :mod:`twin.placement.skill`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin._types import FloatArray
from twin.hydro.lowpoints import LowPoints
from twin.network.road_network import RoadNetwork
from twin.placement.errors import PlacementError
from twin.placement.impact import ImpactMatrix
from twin.placement.ponding_events import PondingEnsemble

__all__ = ["gauge_candidates", "gauge_impact"]


def gauge_candidates(points: LowPoints, *, cost: float = 1.0) -> pd.DataFrame:
    """One candidate gauge per low point (``candidate_id`` ``"gauge:<point id>"``)."""
    return pd.DataFrame(
        {
            "candidate_id": [f"gauge:{p}" for p in points.ids],
            "technology": "gauge",
            "cost": float(cost),
            "lon": points.lon,
            "lat": points.lat,
            "point": np.arange(len(points)),
            "node": points.node,
            "name": points.names,
            "kind": points.kinds,
        }
    )


def _affected_km(points: LowPoints, net: RoadNetwork) -> FloatArray:
    return np.array([float(net.length[e].sum()) / 1000.0 for e in points.edges])


def gauge_impact(
    ensemble: PondingEnsemble,
    points: LowPoints,
    net: RoadNetwork,
    *,
    proxy_max_travel: float = 300.0,
    cost: float = 1.0,
) -> ImpactMatrix:
    """The impact matrix of gauges at low points over a ponding ensemble.

    Parameters
    ----------
    ensemble
        From :func:`simulate_storms` on the same ``points``.
    points
        The low points (candidates: one gauge each).
    net
        The network: crews' free-flow travel times between points, affected lengths.
    proxy_max_travel
        Farthest a crew is sent from an alarming gauge [s] (0: gauges see only their
        own point).
    cost
        Cost of one gauge [budget unit].

    Returns
    -------
    ImpactMatrix
        Events ``"<storm id>|<point id>"`` with columns ``storm``, ``point``, ``onset``
        [s], ``peak_depth`` [m]; impact in km·h of impeded road.
    """
    if ensemble.point_ids.shape[0] != len(points) or not np.array_equal(
        ensemble.point_ids, points.ids
    ):
        raise PlacementError("the ensemble was simulated on other low points than `points`")
    s_idx, p_idx = np.nonzero(np.isfinite(ensemble.onset))
    onset = ensemble.onset[s_idx, p_idx]
    end = ensemble.end[s_idx, p_idx]
    life = np.maximum(end - onset, ensemble.storms.step * 1e-3)
    km = _affected_km(points, net)
    impact = km[p_idx] * ensemble.exceed[s_idx, p_idx] / 3600.0
    n_storms = len(ensemble.storms)
    storm_ids = np.asarray(ensemble.storms.ids, dtype=object)
    events = pd.DataFrame(
        {
            "event_id": [
                f"{s}|{p}" for s, p in zip(storm_ids[s_idx], points.ids[p_idx], strict=True)
            ],
            "technology": "gauge",
            "weight": 1.0 / n_storms,
            "lifetime": life,
            "impact": impact,
            "storm": storm_ids[s_idx],
            "point": p_idx,
            "onset": onset,
            "peak_depth": ensemble.peak_depth[s_idx, p_idx],
        }
    )
    n_e = s_idx.size
    rec_e = [np.arange(n_e)]
    rec_c = [p_idx]
    rec_t = [np.zeros(n_e)]
    if proxy_max_travel > 0 and n_e:
        tt = net.travel_time_matrix(points.node, points.node, by_position=True)
        q_of, p_of = np.nonzero((tt <= proxy_max_travel) & ~np.eye(len(points), dtype=bool))
        # pairs (event, proxy q) for every event at p with a neighbour q
        order = np.argsort(p_of, kind="stable")
        q_of, p_of = q_of[order], p_of[order]
        first = np.searchsorted(p_of, np.arange(len(points) + 1))
        counts = first[p_idx + 1] - first[p_idx]
        ev_rep = np.repeat(np.arange(n_e), counts)
        offs = np.arange(ev_rep.size) - np.repeat(np.cumsum(counts) - counts, counts)
        pair = np.repeat(first[p_idx], counts) + offs
        q = q_of[pair]
        alarm = ensemble.alarm[s_idx[ev_rep], q]
        found = np.maximum(onset[ev_rep], alarm + tt[q, p_idx[ev_rep]])
        delay = found - onset[ev_rep]
        ok = np.isfinite(delay) & (delay <= life[ev_rep])
        rec_e.append(ev_rep[ok])
        rec_c.append(q[ok])
        rec_t.append(delay[ok])
    e = np.concatenate(rec_e)
    t = np.concatenate(rec_t)
    return ImpactMatrix(
        events=events,
        candidates=gauge_candidates(points, cost=cost),
        event=e,
        candidate=np.concatenate(rec_c),
        time=t,
        impact=impact[e] * t / life[e],
        meta={
            "builder": "gauge_impact",
            "storms": n_storms,
            "event_depth_m": ensemble.event_depth,
            "alarm_depth_m": ensemble.alarm_depth,
            "proxy_max_travel_s": proxy_max_travel,
            "impact_unit": "km·h of impeded road",
            "weight": "1 / storms",
        },
    )
