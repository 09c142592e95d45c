"""The :class:`RoadNetwork`: a graph, its CSR arrays, and its city layers.

A ``RoadNetwork`` keeps the osmnx ``MultiDiGraph`` for interoperability and, beside it,
flat arrays (one entry per node or per edge) that every routing and simulation kernel
uses. Node and edge *positions* index those arrays; public methods take OSM node ids
where a user would, and positions where a kernel would. A network read from the on-disk
cache (:mod:`twin.network.cache`) builds its graph, and imports networkx, only when ``G``
is first read.

Routing
-------
Edge weights are travel times [s]: free-flow time × the hour-of-day congestion
multiplier of the edge's road class × the edge's state factor (1 open, > 1 slowed,
``inf`` closed). Weights for an hour are computed once and cached; closing, slowing or
reopening an edge changes the state array in place and clears that cache, so the CSR
structure is never rebuilt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import InitVar, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import shapely

from twin._types import FloatArray, IntArray
from twin.errors import NoRouteError, UnknownEdgeError, UnknownNodeError
from twin.network import csr
from twin.network.congestion import CongestionProfile, hour_of
from twin.network.snapping import EdgeSnap, NodeSnap, Projector, Snapper, utm_crs

if TYPE_CHECKING:  # networkx is imported only where a graph is built or read
    import networkx as nx

__all__ = ["RoadNetwork", "Route"]

logger = logging.getLogger(__name__)

When = float | datetime | None


@dataclass(frozen=True)
class Route:
    """A route on the network.

    Attributes
    ----------
    nodes
        OSM ids of the nodes passed, origin first.
    edges
        Edge positions travelled, in order (``len(nodes) - 1`` of them).
    travel_time
        Total travel time [s] at the hour it was computed for.
    length
        Total length [m].
    """

    nodes: IntArray
    edges: IntArray
    travel_time: float
    length: float


@dataclass
class _Weights:
    """Cached routing state for one hour."""

    edge_time: FloatArray
    matrix: sp.csr_matrix
    best_edge: IntArray
    search: csr.BidirectionalSearch | None = None


@dataclass
class RoadNetwork:
    """A routable road network with city layers.

    Build one with :func:`twin.network.build.build_network` (or
    :func:`~twin.network.build.default_network`) rather than directly.

    Attributes
    ----------
    G
        The osmnx-convention graph (WGS84), restricted to the kept component (a
        property: built on first use when the network came from the cache).
    node_ids
        OSM node ids, sorted ascending; a node's position is its index here.
    node_lon, node_lat
        Node coordinates [deg].
    edge_u, edge_v
        Tail and head node positions of every edge.
    edge_key
        The edge's multigraph key in ``G``.
    length
        Edge lengths [m].
    speed_kph
        Free-flow speeds [km/h].
    free_flow_time
        Free-flow travel times [s].
    road_class
        ``"arterial"``, ``"collector"`` or ``"local"`` per edge.
    tunnel
        Whether each edge is a tunnel or underpass.
    name
        Street name per edge (empty when unnamed).
    congestion
        Hour-of-day congestion profile.
    meta
        Provenance: source, crop, component sizes, build parameters.
    layers
        City layers by name (GeoDataFrames), see :mod:`twin.network.layers`.

    Parameters
    ----------
    graph
        The graph ``G``, or a function that builds it on first use (the cache passes
        one, so a cached network needs no graph until ``G`` is read).
    edge_geometry
        Lon/lat geometry of every edge, when already known (else read from ``G`` by
        :meth:`edge_geometries` on first use).
    """

    graph: InitVar[nx.MultiDiGraph | Callable[[], nx.MultiDiGraph]]
    node_ids: IntArray
    node_lon: FloatArray
    node_lat: FloatArray
    edge_u: IntArray
    edge_v: IntArray
    edge_key: IntArray
    length: FloatArray
    speed_kph: FloatArray
    free_flow_time: FloatArray
    road_class: npt.NDArray[np.str_]
    tunnel: npt.NDArray[np.bool_]
    name: npt.NDArray[np.str_]
    congestion: CongestionProfile = field(default_factory=CongestionProfile)
    meta: dict[str, Any] = field(default_factory=dict)
    layers: dict[str, Any] = field(default_factory=dict)
    edge_geometry: InitVar[npt.NDArray[np.object_] | None] = None

    def __post_init__(
        self,
        graph: nx.MultiDiGraph | Callable[[], nx.MultiDiGraph],
        edge_geometry: npt.NDArray[np.object_] | None,
    ) -> None:
        self._graph: nx.MultiDiGraph | None = None
        self._graph_factory: Callable[[], nx.MultiDiGraph] | None = None
        if callable(graph):  # a factory (a networkx graph is not callable)
            self._graph_factory = graph
        else:
            self._graph = graph
        self._edge_geometry = edge_geometry
        self.structure = csr.build_structure(self.edge_u, self.edge_v, self.n_nodes)
        self.edge_factor = np.ones(self.n_edges, dtype=np.float64)
        self._cache: dict[int | None, _Weights] = {}
        self._snapper: Snapper | None = None
        lon0, lat0 = float(np.mean(self.node_lon)), float(np.mean(self.node_lat))
        self.projector = Projector(utm_crs(lon0, lat0))
        self._edge_lookup: dict[tuple[int, int, int], int] | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_graph(
        cls,
        G: nx.MultiDiGraph,
        *,
        congestion: CongestionProfile | None = None,
        meta: dict[str, Any] | None = None,
    ) -> RoadNetwork:
        """Flatten a graph whose edges carry ``length``, ``speed_kph``, ``travel_time``.

        ``road_class``, ``tunnel`` and ``name`` are read when present (see
        :func:`twin.network.speeds.add_speeds_and_travel_times`).
        """
        ids = np.array(sorted(G.nodes), dtype=np.int64)
        lon = np.array([G.nodes[n]["x"] for n in ids], dtype=np.float64)
        lat = np.array([G.nodes[n]["y"] for n in ids], dtype=np.float64)
        rows = list(G.edges(keys=True, data=True))
        u = np.searchsorted(ids, np.array([r[0] for r in rows], dtype=np.int64))
        v = np.searchsorted(ids, np.array([r[1] for r in rows], dtype=np.int64))
        key = np.array([r[2] for r in rows], dtype=np.int64)

        def col(name: str, default: Any, dtype: Any) -> npt.NDArray[Any]:
            values = [d.get(name, default) for *_, d in rows]
            values = [default if x is None else x for x in values]
            return np.array(values, dtype=dtype)

        names = [d.get("name") or "" for *_, d in rows]
        names = [n[0] if isinstance(n, list) else str(n) for n in names]
        return cls(
            graph=G,
            node_ids=ids,
            node_lon=lon,
            node_lat=lat,
            edge_u=u.astype(np.int64),
            edge_v=v.astype(np.int64),
            edge_key=key,
            length=col("length", 0.0, np.float64),
            speed_kph=col("speed_kph", 25.0, np.float64),
            free_flow_time=col("travel_time", 0.0, np.float64),
            road_class=col("road_class", "local", np.str_),
            tunnel=col("tunnel", False, bool),
            name=np.array(names, dtype=np.str_),
            congestion=congestion or CongestionProfile(),
            meta=dict(meta or {}),
        )

    # ------------------------------------------------------------------ basic facts
    @property
    def G(self) -> nx.MultiDiGraph:
        """The osmnx-convention graph (WGS84), built on first use when cached."""
        if self._graph is None:
            assert self._graph_factory is not None
            self._graph = self._graph_factory()
            self._graph_factory = None
        return self._graph

    @property
    def graph_loaded(self) -> bool:
        """Whether ``G`` exists in memory (false for a cached network until it is read)."""
        return self._graph is not None

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_ids.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of (directed) edges."""
        return int(self.edge_u.shape[0])

    def __repr__(self) -> str:
        return (
            f"<RoadNetwork {self.meta.get('name', '')!r}: {self.n_nodes} nodes, "
            f"{self.n_edges} edges, {self.length.sum() / 1000:.0f} km, "
            f"{int(self.tunnel.sum())} tunnel edges, {int(self.closed.sum())} closed>"
        )

    def summary(self) -> dict[str, Any]:
        """Headline figures of the network, as plain Python values."""
        lon0, lon1 = float(self.node_lon.min()), float(self.node_lon.max())
        lat0, lat1 = float(self.node_lat.min()), float(self.node_lat.max())
        classes = {c: int((self.road_class == c).sum()) for c in ("arterial", "collector", "local")}
        return {
            "name": self.meta.get("name", ""),
            "source": self.meta.get("source", ""),
            "nodes": self.n_nodes,
            "edges": self.n_edges,
            "length_km": round(float(self.length.sum()) / 1000.0, 1),
            "bbox_wsen": [round(lon0, 5), round(lat0, 5), round(lon1, 5), round(lat1, 5)],
            "tunnel_edges": int(self.tunnel.sum()),
            "edges_by_class": classes,
            "mean_free_flow_speed_kph": round(
                float(self.length.sum() / self.free_flow_time.sum() * 3.6), 1
            ),
            "closed_edges": int(self.closed.sum()),
            "slowed_edges": int(((self.edge_factor > 1) & np.isfinite(self.edge_factor)).sum()),
            "kept_fraction_of_nodes": self.meta.get("kept_fraction_of_nodes"),
            "layers": {k: len(v) for k, v in self.layers.items()},
        }

    # ------------------------------------------------------------------ ids ⇄ positions
    def node_position(self, node_ids: int | npt.ArrayLike) -> IntArray:
        """Positions of OSM node ids; raise :class:`UnknownNodeError` for any not present."""
        ids = np.atleast_1d(np.asarray(node_ids, dtype=np.int64))
        pos = np.searchsorted(self.node_ids, ids)
        pos = np.clip(pos, 0, self.n_nodes - 1)
        bad = self.node_ids[pos] != ids
        if bad.any():
            missing = ids[bad][:5].tolist()
            raise UnknownNodeError(
                f"node id(s) {missing} are not in the network (it keeps {self.n_nodes} nodes "
                "of the largest strongly connected component). Snap points with "
                "nearest_nodes() to get valid ids."
            )
        return pos.astype(np.int64)

    def edge_position(self, u: int, v: int, key: int = 0) -> int:
        """Position of the edge ``(u, v, key)`` given by OSM node ids."""
        if self._edge_lookup is None:
            self._edge_lookup = {
                (int(self.node_ids[a]), int(self.node_ids[b]), int(k)): i
                for i, (a, b, k) in enumerate(
                    zip(self.edge_u, self.edge_v, self.edge_key, strict=True)
                )
            }
        try:
            return self._edge_lookup[(int(u), int(v), int(key))]
        except KeyError:
            raise UnknownEdgeError(
                f"edge ({u}, {v}, key={key}) is not in the network; find edges with "
                "nearest_edges() or list them from G.edges(keys=True)."
            ) from None

    def _edge_positions(self, edges: int | Iterable[int] | npt.ArrayLike) -> IntArray:
        pos = np.atleast_1d(np.asarray(edges, dtype=np.int64))
        bad = (pos < 0) | (pos >= self.n_edges)
        if bad.any():
            raise UnknownEdgeError(
                f"edge position(s) {pos[bad][:5].tolist()} are outside 0..{self.n_edges - 1}; "
                "get positions from edge_position() or nearest_edges()."
            )
        return pos

    # ------------------------------------------------------------------ edge state
    @property
    def closed(self) -> npt.NDArray[np.bool_]:
        """Whether each edge is closed."""
        return np.isinf(self.edge_factor)

    def close_edges(self, edges: int | Iterable[int] | npt.ArrayLike) -> None:
        """Close edges (by position): no route uses them until reopened."""
        self._set_factor(edges, np.inf)

    def slow_edges(self, edges: int | Iterable[int] | npt.ArrayLike, factor: float) -> None:
        """Multiply the travel time of edges (by position) by ``factor`` (≥ 1) [-]."""
        if not factor >= 1.0:
            raise ValueError(f"slow-down factor must be ≥ 1 (1 = normal), got {factor}")
        self._set_factor(edges, float(factor))

    def reopen_edges(self, edges: int | Iterable[int] | npt.ArrayLike | None = None) -> None:
        """Restore edges (by position; all when ``None``) to normal travel times."""
        if edges is None:
            self.edge_factor[:] = 1.0
            self._cache.clear()
        else:
            self._set_factor(edges, 1.0)

    def _set_factor(self, edges: int | Iterable[int] | npt.ArrayLike, factor: float) -> None:
        pos = self._edge_positions(edges)
        self.edge_factor[pos] = factor
        self._cache.clear()

    def set_congestion(self, profile: CongestionProfile) -> None:
        """Use another hour-of-day congestion profile from now on."""
        if profile != self.congestion:
            self.congestion = profile
            self._cache.clear()

    # ------------------------------------------------------------------ weights
    def _hour_key(self, when: When) -> int | None:
        h = hour_of(when)
        return None if h is None else int(h) % 24

    def _weights(self, when: When) -> _Weights:
        key = self._hour_key(when)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if key is None:
            mult = np.ones(self.n_edges)
        else:
            mult = self.congestion.multipliers(self.road_class, key)
        edge_time = self.free_flow_time * mult * self.edge_factor
        data = csr.slot_weights(self.structure, edge_time)
        matrix = csr.as_csr_matrix(self.structure, data)
        best = csr.slot_best_edge(self.structure, edge_time)
        w = _Weights(edge_time, matrix, best)
        self._cache[key] = w
        return w

    def edge_travel_time(self, when: When = None) -> FloatArray:
        """Travel time of every edge at ``when`` [s] (``inf`` for closed edges).

        Parameters
        ----------
        when
            An hour of day (0–24), a datetime, or ``None`` for free flow.
        """
        return self._weights(when).edge_time.copy()

    def travel_times(self, when: When = None) -> FloatArray:
        """Read-only view of every edge's travel time at ``when`` [s] (no copy)."""
        view = self._weights(when).edge_time.view()
        view.flags.writeable = False
        return view

    def hour_key(self, when: When) -> int | None:
        """The hour of day (0–23) whose weights serve ``when``; ``None`` for free flow."""
        return self._hour_key(when)

    # ------------------------------------------------------------------ routing
    def travel_time_tree(
        self, source: int, *, when: When = None, by_position: bool = False
    ) -> tuple[FloatArray, IntArray]:
        """Shortest travel times from one node to every node.

        Returns
        -------
        time : ndarray, shape (n_nodes,)
            Travel time to each node position [s]; ``inf`` where unreachable.
        predecessor : ndarray, shape (n_nodes,)
            Predecessor position on the tree (negative for the source and unreachable).
        """
        s = int(source) if by_position else int(self.node_position(source)[0])
        dist, pred = csr.multi_source_dijkstra(
            self._weights(when).matrix, np.array([s]), predecessors=True
        )
        assert pred is not None
        return dist[0], pred[0]

    def travel_time_matrix(
        self,
        origins: npt.ArrayLike,
        destinations: npt.ArrayLike,
        *,
        when: When = None,
        by_position: bool = False,
    ) -> FloatArray:
        """Many-to-many shortest travel times [s], shape ``(len(origins), len(destinations))``.

        Unreachable pairs are ``inf``. Origins and destinations are OSM node ids, or node
        positions with ``by_position=True``.
        """
        o = np.atleast_1d(np.asarray(origins, dtype=np.int64))
        d = np.atleast_1d(np.asarray(destinations, dtype=np.int64))
        if not by_position:
            o, d = self.node_position(o), self.node_position(d)
        uniq, inverse = np.unique(o, return_inverse=True)
        dist, _ = csr.multi_source_dijkstra(self._weights(when).matrix, uniq)
        return dist[inverse][:, d]

    def shortest_path(
        self, origin: int, destination: int, *, when: When = None, by_position: bool = False
    ) -> Route:
        """Fastest route from ``origin`` to ``destination`` at ``when``.

        Raises
        ------
        NoRouteError
            When closures cut every path.
        """
        if by_position:
            o, d = int(origin), int(destination)
        else:
            o, d = (int(p) for p in self.node_position([origin, destination]))
        w = self._weights(when)
        total, path = self._search(when).query(o, d)
        if path.size == 0:
            raise NoRouteError(
                f"no route from node {self.node_ids[o]} to node {self.node_ids[d]}: closed "
                f"edges ({int(self.closed.sum())} now) cut every path. Reopen some edges."
            )
        return self._route(path, w, total)

    def _search(self, when: When) -> csr.BidirectionalSearch:
        w = self._weights(when)
        if w.search is None:
            w.search = csr.BidirectionalSearch(w.matrix)
        return w.search

    def nearest_marked(
        self,
        node: int,
        marked: npt.NDArray[np.bool_],
        *,
        k: int = 1,
        when: When = None,
        max_time: float = np.inf,
        towards: bool = True,
    ) -> tuple[IntArray, FloatArray]:
        """The ``k`` marked nodes nearest to ``node`` by travel time (positions in, out).

        Parameters
        ----------
        node
            Node position.
        marked
            Boolean mask over node positions (e.g. nodes holding an idle crew).
        k
            How many to find.
        when
            Hour of day, datetime, or ``None`` for free flow.
        max_time
            Search radius [s].
        towards
            If true, times are *from* each marked node *to* ``node`` (a crew driving to a
            case); else from ``node`` to the marked nodes.

        Returns
        -------
        nodes, time
            Positions and travel times [s], nearest first.
        """
        search = self._search(when)
        arrays = search.reverse if towards else search.forward
        return csr.nearest_marked(*arrays, int(node), marked, k=k, max_time=max_time)

    def shortest_paths(
        self,
        origins: Sequence[int] | npt.ArrayLike,
        destinations: Sequence[int] | npt.ArrayLike,
        *,
        when: When = None,
        by_position: bool = False,
    ) -> list[Route]:
        """Fastest routes for pairs ``origins[i] → destinations[i]``."""
        o = np.atleast_1d(np.asarray(origins, dtype=np.int64))
        d = np.atleast_1d(np.asarray(destinations, dtype=np.int64))
        if o.shape != d.shape:
            raise ValueError(f"{o.size} origins but {d.size} destinations; give one per pair")
        return [
            self.shortest_path(int(a), int(b), when=when, by_position=by_position)
            for a, b in zip(o, d, strict=True)
        ]

    def _route(self, path: IntArray, w: _Weights, total: float) -> Route:
        if path.size < 2:
            edges = np.empty(0, dtype=np.int64)
        else:
            edges = self.path_edges(path, when_weights=w)
        return Route(
            nodes=self.node_ids[path],
            edges=edges,
            travel_time=float(total) if path.size >= 2 else 0.0,
            length=float(self.length[edges].sum()),
        )

    def path_edges(self, path: IntArray, *, when_weights: _Weights | None = None) -> IntArray:
        """Edge positions along a path of node positions (the fastest of parallel edges)."""
        w = when_weights or self._weights(None)
        slots = csr.slot_of(self.structure, path[:-1], path[1:])
        return w.best_edge[slots]

    # ------------------------------------------------------------------ snapping
    def _snap(self) -> Snapper:
        if self._snapper is None:
            self._snapper = Snapper(
                self.projector, self.node_lon, self.node_lat, self.edge_geometries()
            )
        return self._snapper

    def edge_geometries(self) -> npt.NDArray[np.object_]:
        """Lon/lat LineString of every edge (straight where the graph stores none).

        Read from ``G`` once and kept; the array returned is a copy, its geometries
        are shared (shapely geometries are immutable).
        """
        if self._edge_geometry is None:
            geoms = np.empty(self.n_edges, dtype=object)
            for i, (u, v, _k, data) in enumerate(self._edge_rows()):
                g = data.get("geometry")
                if g is None:
                    g = shapely.LineString(
                        [(self.G.nodes[u]["x"], self.G.nodes[u]["y"]),
                         (self.G.nodes[v]["x"], self.G.nodes[v]["y"])]
                    )  # fmt: skip
                geoms[i] = g
            self._edge_geometry = geoms
        return self._edge_geometry.copy()

    def _edge_rows(self) -> Iterable[tuple[int, int, int, dict[str, Any]]]:
        for a, b, k in zip(self.edge_u, self.edge_v, self.edge_key, strict=True):
            u, v = int(self.node_ids[a]), int(self.node_ids[b])
            yield u, v, int(k), self.G.edges[u, v, int(k)]

    def nearest_nodes(
        self, lon: npt.ArrayLike, lat: npt.ArrayLike, *, max_distance: float = 250.0
    ) -> NodeSnap:
        """Nearest node (position) of each lon/lat point, within ``max_distance`` [m].

        Raises
        ------
        OutsideNetworkError
            If any point is farther than ``max_distance`` from every node.
        """
        return self._snap().nodes(lon, lat, max_distance=max_distance)

    def edges_within(self, lon: npt.ArrayLike, lat: npt.ArrayLike, radius: float) -> list[IntArray]:
        """Edge positions within ``radius`` [m] of each lon/lat point."""
        return self._snap().edges_within(lon, lat, radius)

    def nearest_edges(
        self, lon: npt.ArrayLike, lat: npt.ArrayLike, *, max_distance: float = 250.0
    ) -> EdgeSnap:
        """Nearest edge (position) of each lon/lat point, with the offset along it."""
        return self._snap().edges(lon, lat, max_distance=max_distance)
