"""Cameras on edges catching truck violations (spilling, leaking, illegal dumping).

The builder reads a plain table of violation events, so any truck model can feed it:

================ ========================================================================
column           meaning
================ ========================================================================
``event_id``     unique id (str)
``time``         when the violation starts [s since the run start]
``edges``        edge positions the violating truck traverses while violating, in order
                 (a list or array per row)
``impact``       harm if never caught (e.g. km of road spilled on) [>= 0]
``edge_times``   *optional*: time from ``time`` to entering each edge [s]; default: the
                 cumulative travel time of the edges at ``when`` (free flow by default)
``duration``     *optional*: how long the violation lasts [s]; default: until the truck
                 leaves the last edge
``weight``       *optional*: the event's weight [-]; default 1 / number of events
================ ========================================================================

Detection: a camera on edge ``k`` sees the violation when the truck enters ``k``
(the first time, if twice), delay ``edge_times[k]``. Impact accrues linearly over the
violation (spill spreads along the route), so a record's impact is
``impact × delay / duration``.

:func:`events_from_trucks` reads such a table from a :mod:`twin.trucks` run (its
violations and their stretches of edges). :func:`truck_trip_events` makes one from the
city layers when no truck run is at hand: trips from the construction sites to the
nearest muck dock by the fastest route, a share of them violating from a random point
of the route to the dock. Its parameters are **illustrative** except the published
~2,300 truck trips a day.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import IntArray
from twin.network.road_network import RoadNetwork
from twin.placement.errors import PlacementError
from twin.placement.impact import ImpactMatrix
from twin.placement.routing import route_many

__all__ = [
    "CAMERA_EVENT_COLUMNS",
    "camera_candidates",
    "camera_impact",
    "events_from_trucks",
    "truck_trip_events",
]

logger = logging.getLogger(__name__)

#: Required columns of a camera event table.
CAMERA_EVENT_COLUMNS = ("event_id", "time", "edges", "impact")


def _check_edges(net: RoadNetwork, edges: IntArray, what: str) -> None:
    bad = (edges < 0) | (edges >= net.n_edges)
    if bad.any():
        raise PlacementError(
            f"{what}: edge position(s) {np.unique(edges[bad])[:5].tolist()} are not on the "
            f"network (positions run 0..{net.n_edges - 1}); take edges from "
            "RoadNetwork.nearest_edges() or edge_position()"
        )


def camera_candidates(net: RoadNetwork, edges: npt.ArrayLike, *, cost: float = 1.0) -> pd.DataFrame:
    """One candidate camera per edge (``"camera:e<position>"``), at the edge's middle.

    Raises
    ------
    PlacementError
        If an edge is not on the network.
    """
    e = np.unique(np.asarray(edges, dtype=np.int64))
    _check_edges(net, e, "candidate cameras")
    u, v = net.edge_u[e], net.edge_v[e]
    return pd.DataFrame(
        {
            "candidate_id": [f"camera:e{i}" for i in e],
            "technology": "camera",
            "cost": float(cost),
            "lon": (net.node_lon[u] + net.node_lon[v]) / 2.0,
            "lat": (net.node_lat[u] + net.node_lat[v]) / 2.0,
            "edge": e,
            "name": net.name[e],
            "road_class": net.road_class[e],
        }
    )


def _flat_lists(column: pd.Series, what: str, ids: Sequence[str]) -> tuple[IntArray, list[Any]]:
    lengths = np.zeros(len(column), dtype=np.int64)
    values: list[Any] = []
    for i, item in enumerate(column):
        arr = np.atleast_1d(np.asarray(item, dtype=float))
        if arr.ndim != 1:
            raise PlacementError(f"camera event {ids[i]!r}: `{what}` must be a flat list")
        lengths[i] = arr.shape[0]
        values.append(arr)
    return lengths, values


def camera_impact(
    net: RoadNetwork,
    events: pd.DataFrame,
    *,
    candidate_edges: npt.ArrayLike | None = None,
    cost: float = 1.0,
    when: float | None = None,
) -> ImpactMatrix:
    """The impact matrix of cameras on edges over a table of violation events.

    Parameters
    ----------
    net
        The network.
    events
        One row per violation, columns as in the module docstring.
    candidate_edges
        Edge positions where a camera may go (default: every edge of any event).
    cost
        Cost of one camera [budget unit].
    when
        Hour whose travel times give the default ``edge_times`` (``None``: free flow).

    Returns
    -------
    ImpactMatrix

    Raises
    ------
    PlacementError
        A missing column, an empty table, an edge or candidate not on the network, or
        ``edge_times`` not matching ``edges``.
    """
    missing = [c for c in CAMERA_EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise PlacementError(
            f"camera events miss column(s) {missing}; they need {list(CAMERA_EVENT_COLUMNS)} "
            "(and optionally edge_times, duration, weight)"
        )
    if len(events) == 0:
        raise PlacementError("empty impact matrix: the camera event table has no rows")
    ids = [str(x) for x in events["event_id"]]
    lengths, edge_lists = _flat_lists(events["edges"], "edges", ids)
    if (lengths == 0).any():
        raise PlacementError(f"camera event {ids[int(np.argmin(lengths))]!r} has no edges")
    flat_edge = np.concatenate(edge_lists).astype(np.int64)
    _check_edges(net, flat_edge, "camera events")
    flat_event = np.repeat(np.arange(len(events)), lengths)
    starts = np.cumsum(lengths) - lengths
    tt = net.edge_travel_time(when)[flat_edge]
    if "edge_times" in events.columns:
        t_len, t_lists = _flat_lists(events["edge_times"], "edge_times", ids)
        if not np.array_equal(t_len, lengths):
            bad = int(np.flatnonzero(t_len != lengths)[0])
            raise PlacementError(
                f"camera event {ids[bad]!r}: {t_len[bad]} edge_times for {lengths[bad]} edges"
            )
        offset = np.concatenate(t_lists)
    else:
        cum = np.cumsum(tt)
        offset = cum - tt - np.repeat(cum[starts] - tt[starts], lengths)
    if "duration" in events.columns:
        duration = events["duration"].to_numpy(dtype=float)
    else:
        last = starts + lengths - 1
        duration = offset[last] + tt[last]
    duration = np.maximum(duration, 1e-6)
    weight = (
        events["weight"].to_numpy(dtype=float)
        if "weight" in events.columns
        else np.full(len(events), 1.0 / len(events))
    )
    impact = events["impact"].to_numpy(dtype=float)
    cand_edges = np.unique(flat_edge if candidate_edges is None else np.asarray(candidate_edges))
    candidates = camera_candidates(net, cand_edges, cost=cost)
    cand_edges = candidates["edge"].to_numpy(dtype=np.int64)
    pos = np.searchsorted(cand_edges, flat_edge)
    pos = np.clip(pos, 0, cand_edges.size - 1)
    seen = (cand_edges[pos] == flat_edge) & (offset <= duration[flat_event])
    e, c, t = flat_event[seen], pos[seen], offset[seen]
    order = np.lexsort((t, c, e))
    e, c, t = e[order], c[order], t[order]
    first = np.r_[True, (e[1:] != e[:-1]) | (c[1:] != c[:-1])]
    e, c, t = e[first], c[first], np.maximum(t[first], 0.0)
    table = pd.DataFrame(
        {
            "event_id": ids,
            "technology": "camera",
            "weight": weight,
            "lifetime": duration,
            "impact": impact,
            "time": events["time"].to_numpy(dtype=float),
            "n_edges": lengths,
        }
    )
    return ImpactMatrix(
        events=table,
        candidates=candidates,
        event=e,
        candidate=c,
        time=t,
        impact=impact[e] * t / duration[e],
        meta={"builder": "camera_impact", "events": len(events), "when": when},
    )


def truck_trip_events(
    net: RoadNetwork,
    *,
    sites: npt.ArrayLike,
    docks: npt.ArrayLike,
    trips: int = 2300,
    violation_share: float = 0.05,
    site_weight: npt.ArrayLike | None = None,
    night: tuple[float, float] = (22.0, 6.0),
    when: float | None = None,
    seed: int,
) -> pd.DataFrame:
    """Violations of muck trucks driving from sites to the nearest dock (a fallback).

    Each of ``trips`` trips leaves a site (drawn ∝ ``site_weight``, e.g. spoil volume)
    at a uniform time in the night window, for the dock nearest by travel time, by the
    fastest route. A share ``violation_share`` of them violates from a uniformly drawn
    edge of the route to the dock; its impact is that stretch's length [km].

    Parameters
    ----------
    net
        The network.
    sites, docks
        Node positions of the construction sites and the docks.
    trips
        Truck trips (published: about 2,300 a day in Gongshu).
    violation_share
        Share of trips violating (illustrative).
    site_weight
        Relative trips per site (default equal).
    night
        Working hours, start and end [h of day] (wrapping past midnight).
    when
        Hour of the travel times (``None``: free flow).
    seed
        Seed of the trips and violations (the caller's: the placement run's seed).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`camera_impact` (with ``edge_times`` and ``duration``).
    """
    site_nodes = np.asarray(sites, dtype=np.int64)
    dock_nodes = np.asarray(docks, dtype=np.int64)
    if site_nodes.size == 0 or dock_nodes.size == 0:
        raise PlacementError("truck_trip_events needs at least one site and one dock")
    rng = np.random.default_rng(seed)
    w = np.ones(site_nodes.size) if site_weight is None else np.asarray(site_weight, float)
    n_viol = int(rng.binomial(trips, violation_share))
    if n_viol == 0:
        raise PlacementError("no truck trip violated; raise trips or violation_share")
    site = rng.choice(site_nodes.size, size=n_viol, p=w / w.sum())
    tt_dock = net.travel_time_matrix(site_nodes, dock_nodes, by_position=True, when=when)
    origin = site_nodes[site]
    dest = dock_nodes[np.argmin(tt_dock[site], axis=1)]
    edge_time = net.edge_travel_time(when)
    travel, trip, edge, off = route_many(net, origin, dest, edge_time)
    order = np.lexsort((off, trip))
    trip, edge, off = trip[order], edge[order], off[order]
    counts = np.bincount(trip, minlength=n_viol)
    starts = np.cumsum(counts) - counts
    span = (night[1] - night[0]) % 24.0 or 24.0
    depart = (night[0] + rng.uniform(0.0, span, n_viol)) * 3600.0
    rows = []
    for i in np.flatnonzero(counts > 0):
        k = int(rng.integers(0, counts[i]))
        sl = slice(starts[i] + k, starts[i] + counts[i])
        e = edge[sl]
        t0 = float(off[sl][0])
        rows.append(
            {
                "event_id": f"truck-{i:05d}",
                "time": float(depart[i] + t0),
                "edges": e.tolist(),
                "edge_times": (off[sl] - t0).tolist(),
                "duration": float(travel[i] - t0),
                "impact": float(net.length[e].sum() / 1000.0),
                "site": int(origin[i]),
                "dock": int(dest[i]),
            }
        )
    return pd.DataFrame(rows)


def events_from_trucks(
    result: Any,
    *,
    impact: Literal["length", "volume"] = "length",
    kinds: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Camera events from a :class:`twin.trucks.TruckResult` (a thin adapter).

    Each violation with a stretch becomes one event: ``edges`` are the stretch's edges in
    the order entered, ``edge_times`` the entry times after the violation's ``time``,
    ``duration`` until the truck leaves the last of them (its free-flow time added).

    Parameters
    ----------
    result
        A truck run (``violations`` and ``stretch`` tables).
    impact
        ``"length"``: the stretch's length [km]; ``"volume"``: spoil spilled or dumped
        [m³] (0 for deviations, speeding, overloading).
    kinds
        Violation kinds to keep (names of :data:`twin.trucks.VIOLATION_KINDS`); all
        by default.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`camera_impact`, plus ``kind``.
    """
    from twin.trucks import VIOLATION_KINDS

    v = result.violations
    st = result.stretch
    net = result.network
    if impact not in ("length", "volume"):
        raise PlacementError(f"impact {impact!r}: use 'length' or 'volume'")
    wanted = set(VIOLATION_KINDS if kinds is None else kinds)
    unknown = sorted(wanted - set(VIOLATION_KINDS))
    if unknown:
        raise PlacementError(f"unknown violation kind(s) {unknown}; use {list(VIOLATION_KINDS)}")
    st = st.sort_values(["violation", "enter"], kind="stable")
    groups = dict(tuple(st.groupby("violation", sort=True)))
    ff = net.free_flow_time
    rows = []
    for i, row in v.reset_index(drop=True).iterrows():
        raw = row["kind"]
        kind = str(raw) if isinstance(raw, str) else VIOLATION_KINDS[int(raw)]
        part = groups.get(i)
        if kind not in wanted or part is None or part.empty:
            continue
        edges = part["edge"].to_numpy(np.int64)
        times = np.maximum(part["enter"].to_numpy(float) - float(row["time"]), 0.0)
        value = row["length_m"] / 1000.0 if impact == "length" else row["volume_m3"]
        rows.append(
            {
                "event_id": f"{kind}-{i:06d}",
                "time": float(row["time"]),
                "edges": edges.tolist(),
                "edge_times": times.tolist(),
                "duration": float(times[-1] + ff[edges[-1]]),
                "impact": float(max(value, 0.0)),
                "kind": kind,
            }
        )
    if not rows:
        raise PlacementError(
            "the truck run has no violation with a stretch of edges (of the kinds asked); "
            "run longer or with more trips"
        )
    return pd.DataFrame(rows)
