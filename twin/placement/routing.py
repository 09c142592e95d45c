"""Routes of many trips at once, on the network's CSR arrays.

One shortest-path tree per distinct origin (:func:`twin.network.csr.multi_source_dijkstra`,
i.e. ``scipy.sparse.csgraph.dijkstra``), then every trip of a chunk of origins walks its
predecessor chain back from its destination, all trips together: one vectorised step per
node of the longest path, never a Python loop per trip.
"""

from __future__ import annotations

import numpy as np

from twin._types import FloatArray, IntArray
from twin.network import csr
from twin.network.road_network import RoadNetwork

__all__ = ["route_many"]

#: Shortest-path trees solved per scipy call (bounds memory to chunk × nodes).
CHUNK = 256


def route_many(
    net: RoadNetwork, origin: IntArray, destination: IntArray, edge_time: FloatArray
) -> tuple[FloatArray, IntArray, IntArray, FloatArray]:
    """Fastest routes of many trips (node positions in), as flat traversal arrays.

    Parameters
    ----------
    net
        The network (its CSR structure).
    origin, destination
        Node positions of each trip's ends.
    edge_time
        Travel time of every edge [s] (e.g. ``net.edge_travel_time(hour)``).

    Returns
    -------
    travel_time : ndarray
        Per trip [s]; ``inf`` where the destination is unreachable.
    trip, edge, offset : ndarray
        One entry per edge traversed: the trip, the edge position, and the time from the
        trip's start to entering the edge [s]. Unordered; sort as needed.
    """
    origin = np.asarray(origin, dtype=np.int64)
    destination = np.asarray(destination, dtype=np.int64)
    matrix = csr.as_csr_matrix(net.structure, csr.slot_weights(net.structure, edge_time))
    best = csr.slot_best_edge(net.structure, edge_time)
    n_trips = origin.shape[0]
    uniq, inv = np.unique(origin, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(0, uniq.size + CHUNK, CHUNK))
    travel = np.full(n_trips, np.inf)
    trips: list[IntArray] = []
    edges: list[IntArray] = []
    offsets: list[FloatArray] = []
    for k, start in enumerate(range(0, uniq.size, CHUNK)):
        srcs = uniq[start : start + CHUNK]
        dist, pred = csr.multi_source_dijkstra(matrix, srcs, predecessors=True)
        assert pred is not None
        sel = order[bounds[k] : bounds[k + 1]]
        rows = inv[sel] - start
        cur = destination[sel].copy()
        travel[sel] = dist[rows, cur]
        src = srcs[rows]
        active = (cur != src) & np.isfinite(travel[sel])
        while active.any():
            idx = np.flatnonzero(active)
            p = pred[rows[idx], cur[idx]]
            slots = csr.slot_of(net.structure, p, cur[idx])
            trips.append(sel[idx])
            edges.append(best[slots])
            offsets.append(dist[rows[idx], p])
            cur[idx] = p
            active[idx] = p != src[idx]
    if not trips:
        empty = np.zeros(0, dtype=np.int64)
        return travel, empty, empty, np.zeros(0)
    return travel, np.concatenate(trips), np.concatenate(edges), np.concatenate(offsets)
