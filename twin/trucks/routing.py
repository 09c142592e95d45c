"""Hour-of-day bans as edge masks, and truck routing that honours them.

Bans
    Each :class:`~twin.trucks.config.Ban` resolves once to a boolean mask over the
    network's edges. The local day is cut at every ban window's start and end into
    intervals; in each interval a fixed set of bans is active. A *ban set* (a frozenset
    of ban indices) maps to one mask, built once and cached.
Routing
    Truck travel time on edge ``e`` at local hour ``h`` is ``t_e(h) / f`` where
    ``t_e(h)`` is the network's travel time (free flow × congestion × edge state) and
    ``f`` the truck speed factor; edges in the active ban set weigh ``inf``. Weights, the
    CSR matrix and shortest-path trees are built per ``(hour, ban set)`` as arrays and
    cached; a route is read off a tree rooted at a dock (forward for dock → site, on the
    transpose for site → dock) or, for other pairs, found by the bidirectional Dijkstra
    of :mod:`twin.network.csr`. A compliant route departing at ``t`` avoids every ban
    active at any moment of the trip: the ban set is widened to the union of the
    intervals the trip spans until the route no longer changes its span (at most a few
    rounds). Congestion is that of the departure hour (as in the crews' engine).

Simplification, stated: a trip's travel times are fixed at departure (no en-route
reaction to congestion changes).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse import csgraph

from twin._types import BoolArray, FloatArray, IntArray
from twin.errors import UnknownNodeError
from twin.network import csr
from twin.network.layer_schema import parse_hours
from twin.network.road_network import RoadNetwork
from twin.trucks.config import Ban
from twin.trucks.errors import TruckError
from twin.trucks.roadstates import RoadStates

__all__ = ["BanSchedule", "Clock", "Leg", "Router", "in_window", "resolve_bans"]


# ---------------------------------------------------------------------------- clock
class Clock:
    """Local clock of a run: seconds since ``start`` ⇄ local hours.

    Parameters
    ----------
    start
        Timezone-aware start of the run; local hours are those of its time zone
        (no daylight-saving shifts within a run).
    """

    def __init__(self, start: datetime) -> None:
        self.start = start
        #: Local hour of day at the start [h], fractional.
        self.start_hour = start.hour + start.minute / 60.0 + start.second / 3600.0

    def hours(self, t: float | FloatArray) -> FloatArray:
        """Local hours since the midnight before the start [h] (not wrapped)."""
        return np.asarray(self.start_hour + np.asarray(t, dtype=np.float64) / 3600.0)

    def hour_of_day(self, t: float) -> float:
        """Local hour of day at ``t`` [h], in [0, 24)."""
        return (self.start_hour + t / 3600.0) % 24.0

    def is_open(self, window: tuple[float, float], t: float) -> bool:
        """Whether the daily ``window`` (start, end [h]) is open at ``t`` [s]."""
        return _open(self.hour_of_day(t), window[0], window[1])

    def until_open(self, window: tuple[float, float], t: float) -> float:
        """Seconds from ``t`` until the daily ``window`` (start, end [h]) is open (0: open)."""
        h = self.hour_of_day(t)
        if _open(h, window[0], window[1]):
            return 0.0
        return ((window[0] - h) % 24.0) * 3600.0

    def window_occurrence(self, window: tuple[float, float], t: float) -> int:
        """Index of the window's opening that ``t`` belongs to (the day of its start)."""
        return math.floor((self.start_hour + t / 3600.0 - window[0]) / 24.0)


def _open(h: float, a: float, b: float) -> bool:
    return (a <= h < b) if a < b else (h >= a or h < b)


def in_window(h: float | FloatArray, window: tuple[float, float]) -> BoolArray:
    """Whether local hours ``h`` [h] fall in the daily window (start, end) [h]."""
    a, b = window
    hh = np.asarray(h, dtype=np.float64) % 24.0
    if a < b:
        return np.asarray((hh >= a) & (hh < b))
    return np.asarray((hh >= a) | (hh < b))


# ---------------------------------------------------------------------------- bans
def resolve_bans(
    net: RoadNetwork, bans: tuple[Ban, ...], *, exempt_nodes: IntArray | None = None
) -> list[BoolArray]:
    """The edge mask of every ban.

    Parameters
    ----------
    net
        The road network.
    bans
        The bans (``trucks.bans``).
    exempt_nodes
        Node positions (sites, docks) whose incident edges are never banned.

    Raises
    ------
    TruckError
        A ban names an edge not in the network, or its area or name selects no edge.
    """
    exempt = np.zeros(net.n_edges, dtype=bool)
    if exempt_nodes is not None and exempt_nodes.size:
        node_mask = np.zeros(net.n_nodes, dtype=bool)
        node_mask[exempt_nodes] = True
        exempt = node_mask[net.edge_u] | node_mask[net.edge_v]
    masks = []
    for i, ban in enumerate(bans):
        where = f"trucks.bans[{i}] ({ban.name!r})"
        mask = np.zeros(net.n_edges, dtype=bool)
        if ban.road_classes:
            mask |= np.isin(net.road_class, list(ban.road_classes))
        for j, (u, v) in enumerate(ban.edges):
            mask[edges_between(net, u, v, where=f"{where}.edges[{j}]")] = True
        if ban.area is not None:
            mask |= _area_mask(net, ban.area, where=f"{where}.area")
        for s in ban.name_contains:
            hit = np.char.find(net.name, s) >= 0
            if not hit.any():
                raise TruckError(
                    f"{where}.name_contains: no street name holds {s!r}; check the spelling "
                    "(names are as in OpenStreetMap, e.g. '高架' for elevated roads)"
                )
            mask |= hit
        masks.append(mask & ~exempt)
    return masks


def edges_between(net: RoadNetwork, u: int, v: int, *, where: str) -> IntArray:
    """Positions of every edge from OSM node ``u`` to OSM node ``v``.

    Raises
    ------
    TruckError
        If a node is not in the network or no edge joins them; ``where`` names the setting.
    """
    try:
        pu, pv = (int(p) for p in net.node_position([u, v]))
    except UnknownNodeError:
        raise TruckError(
            f"{where}: edge ({u}, {v}) names a node that is not in the network; give OSM "
            "node ids of the network (find edges with RoadNetwork.nearest_edges())"
        ) from None
    hit = np.flatnonzero((net.edge_u == pu) & (net.edge_v == pv)).astype(np.int64)
    if hit.size == 0:
        raise TruckError(
            f"{where}: no edge runs from node {u} to node {v} in the network (is it the "
            "other direction?); list edges with RoadNetwork.G.edges"
        )
    return hit


def _area_mask(net: RoadNetwork, ring: tuple[tuple[float, float], ...], *, where: str) -> BoolArray:
    poly = shapely.Polygon(ring)
    if not poly.is_valid or poly.area == 0:
        raise TruckError(f"{where}: the ring {list(ring)[:4]}… is not a valid polygon")
    inside = shapely.contains_xy(poly, net.node_lon, net.node_lat)
    mask = inside[net.edge_u] | inside[net.edge_v]
    if not mask.any():
        w, s, e, n = (
            float(net.node_lon.min()), float(net.node_lat.min()),
            float(net.node_lon.max()), float(net.node_lat.max()),
        )  # fmt: skip
        raise TruckError(
            f"{where}: the polygon holds no edge of the network (network bbox lon "
            f"{w:.4f}..{e:.4f}, lat {s:.4f}..{n:.4f}); give (lon, lat) points inside it"
        )
    return np.asarray(mask)


class BanSchedule:
    """Which bans apply when, and their edge masks.

    Parameters
    ----------
    masks
        Edge mask of every ban.
    windows
        Daily window (start, end) [h] of every ban.
    clock
        The run's clock.
    """

    def __init__(
        self, masks: list[BoolArray], windows: list[tuple[float, float]], clock: Clock
    ) -> None:
        self.masks = masks
        self.windows = windows
        self.clock = clock
        cuts = {0.0}
        for a, b in windows:
            cuts.update({a % 24.0, b % 24.0})
        #: Interval starts [h] in [0, 24), ascending, the first 0.
        self.breaks = np.array(sorted(cuts), dtype=np.float64)
        mids = (self.breaks + np.append(self.breaks[1:], 24.0)) / 2.0
        self.active: list[frozenset[int]] = [
            frozenset(b for b, w in enumerate(windows) if bool(in_window(m, w))) for m in mids
        ]
        self._breaks = [float(b) for b in self.breaks]
        self.n_edges = masks[0].shape[0] if masks else 0
        self._mask_cache: dict[frozenset[int], BoolArray] = {}

    @classmethod
    def from_bans(
        cls, net: RoadNetwork, bans: tuple[Ban, ...], clock: Clock, *, exempt_nodes: IntArray
    ) -> BanSchedule:
        """Resolve ``bans`` on ``net`` (see :func:`resolve_bans`)."""
        masks = resolve_bans(net, bans, exempt_nodes=exempt_nodes)
        sched = cls(masks, [parse_hours(b.hours) for b in bans], clock)
        sched.n_edges = net.n_edges
        return sched

    def active_during(self, t0: float, t1: float) -> frozenset[int]:
        """Bans active at any moment of ``[t0, t1]`` [s since start]."""
        h0 = self.clock.start_hour + t0 / 3600.0
        h1 = self.clock.start_hour + max(t0, t1) / 3600.0
        breaks = self._breaks
        day = math.floor(h0 / 24.0)
        k = bisect.bisect_right(breaks, h0 - 24.0 * day) - 1
        out = self.active[k]
        while True:
            k += 1
            if k == len(breaks):
                k, day = 0, day + 1
            if day * 24.0 + breaks[k] > h1:
                return out
            out = out | self.active[k]

    def mask(self, key: frozenset[int]) -> BoolArray:
        """Edge mask of a ban set (cached)."""
        got = self._mask_cache.get(key)
        if got is None:
            got = np.zeros(self.n_edges, dtype=bool)
            for b in key:
                got |= self.masks[b]
            got.setflags(write=False)
            self._mask_cache[key] = got
        return got

    def banned_at(self, edges: IntArray, t: FloatArray) -> BoolArray:
        """Whether each edge ``edges[i]`` is banned at time ``t[i]`` [s since start]."""
        out = np.zeros(np.shape(edges), dtype=bool)
        h = self.clock.hours(t)
        for mask, w in zip(self.masks, self.windows, strict=True):
            out |= mask[edges] & in_window(h, w)
        return out


# ---------------------------------------------------------------------------- routing
@dataclass(frozen=True)
class Leg:
    """One drive: node and edge positions, cumulative travel time at each node [s]."""

    nodes: IntArray
    edges: IntArray
    cumtime: FloatArray
    length: float

    @property
    def duration(self) -> float:
        """Travel time of the leg [s]."""
        return float(self.cumtime[-1]) if self.cumtime.size else 0.0

    def faster(self, factor: float) -> Leg:
        """The same leg driven ``factor`` times faster."""
        return Leg(self.nodes, self.edges, self.cumtime / factor, self.length)


@dataclass
class _Weights:
    edge_time: FloatArray
    matrix: sp.csr_matrix
    transpose: sp.csr_matrix
    best_edge: IntArray
    search: csr.BidirectionalSearch | None = None
    trees: dict[tuple[int, bool], IntArray] = field(default_factory=dict)


class Router:
    """Fastest truck routes by hour of day, honouring the bans.

    Parameters
    ----------
    net
        The road network (its closures and congestion apply).
    schedule
        The ban schedule.
    speed_factor
        Truck speed relative to the network's speeds [-].
    anchors
        Node positions (the docks) from and to which shortest-path trees are cached.
    road_states
        Edge states that change on the run's clock (waterlogging closures,
        :class:`twin.trucks.flood.RoadStates`): a route takes those in force at its
        departure. None: none.
    """

    def __init__(
        self,
        net: RoadNetwork,
        schedule: BanSchedule,
        speed_factor: float,
        anchors: IntArray,
        road_states: RoadStates | None = None,
    ) -> None:
        self.net = net
        self.road_states = road_states
        self.schedule = schedule
        self.speed_factor = float(speed_factor)
        self.anchors = {int(a) for a in anchors}
        st = net.structure
        # Fixed structure, computed once: the transpose as a permutation of slot data, and
        # the slots holding parallel edges (the only ones whose best edge can change).
        t0 = sp.csr_matrix(
            (np.arange(1, st.n_slots + 1, dtype=np.float64), st.indices, st.indptr),
            shape=(st.n_nodes, st.n_nodes),
        ).T.tocsr()
        t0.sort_indices()
        self._t_perm = (t0.data - 1).astype(np.int64)
        self._t_indices, self._t_indptr = t0.indices, t0.indptr
        size = np.diff(np.append(st.slot_start, st.order.shape[0]))
        self._first_edge = st.order[st.slot_start]
        multi = np.flatnonzero(size > 1)
        self._multi_slots = multi
        self._multi_edges = [st.order[st.slot_start[k] : st.slot_start[k] + size[k]] for k in multi]
        self._weights: dict[tuple[float, frozenset[int], int], _Weights] = {}
        self._legs: dict[tuple[float, frozenset[int], int, int, int], Leg | None] = {}
        # Hours with the same congestion index share their weights and routes.
        self._hour_key = [float(net.congestion.index_at(h)) for h in range(24)]
        self.queries = 0

    def weights(self, hour: int, key: frozenset[int], epoch: int = 0) -> _Weights:
        """Cached routing arrays for a local hour, a ban set and a road-state epoch."""
        got = self._weights.get((self._hour_key[hour], key, epoch))
        if got is not None:
            return got
        net = self.net
        t = np.array(net.travel_times(float(hour)), dtype=np.float64) / self.speed_factor
        if key:
            t[self.schedule.mask(key)] = np.inf
        if epoch and self.road_states is not None:
            t *= self.road_states.factor(epoch)
        data = csr.slot_weights(net.structure, t)
        matrix = csr.as_csr_matrix(net.structure, data)
        n = net.n_nodes
        transpose = sp.csr_matrix(
            (data[self._t_perm], self._t_indices, self._t_indptr), shape=(n, n), copy=False
        )
        w = _Weights(t, matrix, transpose, self._best_edge(t))
        if len(self._weights) > 256:  # road-state epochs add keys: keep the newest
            self._weights.pop(next(iter(self._weights)))
        self._weights[(self._hour_key[hour], key, epoch)] = w
        return w

    def _best_edge(self, t: FloatArray) -> IntArray:
        """Edge giving each slot its weight (as :func:`twin.network.csr.slot_best_edge`)."""
        best = self._first_edge.copy()
        for k, edges in zip(self._multi_slots.tolist(), self._multi_edges, strict=True):
            best[k] = edges[int(np.argmin(t[edges]))]  # first of equals, as edges are sorted
        return best

    def _path(self, w: _Weights, o: int, d: int) -> IntArray:
        if d in self.anchors or o in self.anchors:
            reverse = d in self.anchors
            root = d if reverse else o
            pred = w.trees.get((root, reverse))
            if pred is None:
                # One call grows the trees of every anchor in this direction.
                roots = sorted(self.anchors)
                mat = w.transpose if reverse else w.matrix
                _, p = csgraph.dijkstra(mat, directed=True, indices=roots, return_predecessors=True)
                for r, row in zip(roots, np.asarray(p, dtype=np.int64), strict=True):
                    w.trees[(r, reverse)] = row
                pred = w.trees[(root, reverse)]
            if reverse:
                return csr.path_from_predecessors(pred, d, o)[::-1].copy()
            return csr.path_from_predecessors(pred, o, d)
        if w.search is None:
            w.search = csr.BidirectionalSearch(w.matrix)
        _, path = w.search.query(o, d)
        return path

    def leg(self, o: int, d: int, hour: int, key: frozenset[int], epoch: int = 0) -> Leg | None:
        """Fastest leg ``o → d`` (node positions) at ``hour``, bans ``key``, road ``epoch``.

        Avoids the ban set ``key`` on the road state of ``epoch``; returns ``None`` when the
        bans (or closures) cut every path.
        """
        ck = (self._hour_key[hour], key, epoch, o, d)
        if ck in self._legs:
            return self._legs[ck]
        self.queries += 1
        w = self.weights(hour, key, epoch)
        path = self._path(w, o, d)
        leg: Leg | None
        if o == d:
            leg = Leg(np.array([o], np.int64), np.empty(0, np.int64), np.zeros(1), 0.0)
        elif path.size < 2:
            leg = None
        else:
            slots = csr.slot_of(self.net.structure, path[:-1], path[1:])
            edges = w.best_edge[slots]
            cum = np.concatenate([[0.0], np.cumsum(w.edge_time[edges])])
            if not np.isfinite(cum[-1]):
                leg = None
            else:
                leg = Leg(path, edges, cum, float(self.net.length[edges].sum()))
        self._legs[ck] = leg
        return leg

    def route(self, o: int, d: int, t: float, *, ignore_bans: bool = False) -> Leg | None:
        """Fastest leg departing at ``t`` [s]; compliant unless ``ignore_bans``.

        A compliant leg avoids every edge banned at any moment between ``t`` and its
        arrival. ``None`` when the bans cut every path (the caller waits).
        """
        hour = int(self.schedule.clock.hour_of_day(t)) % 24
        epoch = self.road_states.epoch_at(t) if self.road_states is not None else 0
        if ignore_bans:
            return self.leg(o, d, hour, frozenset(), epoch)
        key = self.schedule.active_during(t, t)
        for _ in range(6):
            leg = self.leg(o, d, hour, key, epoch)
            if leg is None:
                return None
            wider = self.schedule.active_during(t, t + leg.duration)
            if wider <= key:
                return leg
            key = key | wider
        return self.leg(o, d, hour, key, epoch)

    def cut(self, leg: Leg, k: int) -> Leg:
        """``leg`` up to its node ``k``."""
        e = leg.edges[:k]
        return Leg(leg.nodes[: k + 1], e, leg.cumtime[: k + 1], float(self.net.length[e].sum()))
