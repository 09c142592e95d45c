"""Array kernels for routing on a directed graph held as CSR arrays.

This is the bottom tier: numpy arrays in, numpy arrays out, no graph objects. A road
network has parallel edges (two edges from ``u`` to ``v``), which a CSR matrix cannot
hold, so edges are grouped into *slots*, one per distinct ``(u, v)`` pair; a slot's
weight is the least weight of its edges, and :func:`slot_best_edge` says which edge that
is, so a path of nodes maps back to edges. Changing an edge's weight (a closure, a
slow-down, another hour) is one vectorised reduction over the edge array; the sparsity
structure never changes.

Shortest paths are computed by :func:`scipy.sparse.csgraph.dijkstra` (many sources)
or by a bidirectional Dijkstra compiled with numba (one origin, one destination),
which settles only the nodes between the two ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse import csgraph

from twin._types import FloatArray, IntArray

__all__ = [
    "CSRStructure",
    "bidirectional_dijkstra",
    "build_structure",
    "multi_source_dijkstra",
    "nearest_marked",
    "path_from_predecessors",
    "slot_best_edge",
    "slot_of",
    "slot_weights",
]

#: Smallest weight given to a slot: scipy's csgraph drops explicit zeros in some paths,
#: so a zero-length edge is kept routable with this [s].
MIN_WEIGHT = 1e-9


@dataclass(frozen=True)
class CSRStructure:
    """The fixed sparsity structure of a directed multigraph.

    Attributes
    ----------
    n_nodes
        Number of nodes.
    indptr, indices
        CSR row pointers and column indices, one entry per slot (distinct ``(u, v)``).
    order
        Edge positions sorted by slot: ``order[slot_start[s]:slot_start[s+1]]`` are the
        edges of slot ``s``.
    slot_start
        First position in ``order`` of each slot.
    edge_slot
        Slot of every edge.
    slot_key
        ``u * n_nodes + v`` of every slot, ascending (slots are sorted by ``(u, v)``).
    """

    n_nodes: int
    indptr: IntArray
    indices: IntArray
    order: IntArray
    slot_start: IntArray
    edge_slot: IntArray
    slot_key: IntArray

    @property
    def n_slots(self) -> int:
        """Number of slots (distinct directed node pairs)."""
        return int(self.indices.shape[0])


def build_structure(u: IntArray, v: IntArray, n_nodes: int) -> CSRStructure:
    """Group edges ``u[i] → v[i]`` into CSR slots.

    Parameters
    ----------
    u, v
        Tail and head node positions of every edge, in ``[0, n_nodes)``.
    n_nodes
        Number of nodes.

    Returns
    -------
    CSRStructure
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    order = np.lexsort((v, u)).astype(np.int64)
    us, vs = u[order], v[order]
    new_slot = np.ones(us.shape[0], dtype=bool)
    new_slot[1:] = (us[1:] != us[:-1]) | (vs[1:] != vs[:-1])
    slot_start = np.flatnonzero(new_slot).astype(np.int64)
    slot_of_sorted = np.cumsum(new_slot) - 1
    edge_slot = np.empty_like(slot_of_sorted)
    edge_slot[order] = slot_of_sorted
    slot_u = us[slot_start]
    indices = vs[slot_start]
    counts = np.bincount(slot_u, minlength=n_nodes)
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    slot_key = slot_u * n_nodes + indices
    return CSRStructure(
        n_nodes, indptr, indices, order, slot_start, edge_slot.astype(np.int64), slot_key
    )


def slot_of(structure: CSRStructure, u: IntArray, v: IntArray) -> IntArray:
    """Slot of each node pair ``(u[i], v[i])``; raise ``KeyError`` if a pair has no edge."""
    n = structure.n_nodes
    key = np.asarray(u, np.int64) * n + np.asarray(v, np.int64)
    slot = np.searchsorted(structure.slot_key, key)
    slot = np.clip(slot, 0, structure.n_slots - 1)
    if not np.array_equal(structure.slot_key[slot], key):
        raise KeyError("a node pair on the path has no edge")
    return slot.astype(np.int64)


def slot_weights(structure: CSRStructure, edge_weight: FloatArray) -> FloatArray:
    """Weight of every slot: the least weight of its edges (``inf`` if all are closed)."""
    w = np.minimum.reduceat(edge_weight[structure.order], structure.slot_start)
    return np.maximum(w, MIN_WEIGHT)


def slot_best_edge(structure: CSRStructure, edge_weight: FloatArray) -> IntArray:
    """The edge that gives each slot its weight (the first of equals, by edge position)."""
    return _slot_best_edge(
        structure.order, structure.slot_start, np.asarray(edge_weight, dtype=np.float64)
    )


@numba.njit(cache=True)
def _slot_best_edge(
    order: IntArray, slot_start: IntArray, edge_weight: FloatArray
) -> IntArray:  # pragma: no cover - compiled
    # ``order`` lists the edges slot by slot, each slot's edges by ascending position
    # (a stable sort), so the first strictly least weight is the first of equals.
    n_slots = slot_start.shape[0]
    n_edges = order.shape[0]
    best = np.empty(n_slots, dtype=np.int64)
    for s in range(n_slots):
        lo = slot_start[s]
        hi = slot_start[s + 1] if s + 1 < n_slots else n_edges
        e_best = order[lo]
        w_best = edge_weight[e_best]
        for k in range(lo + 1, hi):
            e = order[k]
            w = edge_weight[e]
            # A NaN never wins; inf (closed) loses to any finite weight.
            if w < w_best or (w_best != w_best and w == w):
                e_best = e
                w_best = w
        best[s] = e_best
    return best


def as_csr_matrix(structure: CSRStructure, data: FloatArray) -> sp.csr_matrix:
    """A scipy CSR matrix over ``structure`` with slot weights ``data`` (no copy)."""
    n = structure.n_nodes
    m = sp.csr_matrix((data, structure.indices, structure.indptr), shape=(n, n), copy=False)
    return m


def multi_source_dijkstra(
    matrix: sp.csr_matrix,
    sources: IntArray,
    *,
    predecessors: bool = False,
    chunk: int = 256,
) -> tuple[FloatArray, IntArray | None]:
    """Shortest-path trees from several sources at once.

    Parameters
    ----------
    matrix
        Slot weights as a CSR matrix [s].
    sources
        Source node positions.
    predecessors
        Also return the predecessor of every node on every tree (``-9999`` where none).
    chunk
        Number of sources solved per scipy call (bounds memory).

    Returns
    -------
    dist : ndarray, shape (len(sources), n_nodes)
        Travel time from each source to every node [s]; ``inf`` where unreachable.
    pred : ndarray or None
        Predecessors, same shape as ``dist``.
    """
    sources = np.asarray(sources, dtype=np.int64)
    n = matrix.shape[0]
    dist = np.empty((sources.shape[0], n), dtype=np.float64)
    pred = np.empty((sources.shape[0], n), dtype=np.int32) if predecessors else None
    for start in range(0, sources.shape[0], chunk):
        block = sources[start : start + chunk]
        if predecessors:
            d, p = csgraph.dijkstra(matrix, directed=True, indices=block, return_predecessors=True)
            assert pred is not None
            pred[start : start + block.shape[0]] = p
        else:
            d = csgraph.dijkstra(matrix, directed=True, indices=block)
        dist[start : start + block.shape[0]] = d
    return dist, (pred.astype(np.int64) if pred is not None else None)


def path_from_predecessors(pred_row: IntArray, source: int, target: int) -> IntArray:
    """Node positions of the path ``source → target`` read off one predecessor row.

    Returns an empty array when ``target`` is unreachable.
    """
    if source == target:
        return np.array([source], dtype=np.int64)
    if pred_row[target] < 0:
        return np.empty(0, dtype=np.int64)
    nodes = [target]
    node = target
    while node != source:
        node = int(pred_row[node])
        nodes.append(node)
    return np.array(nodes[::-1], dtype=np.int64)


@numba.njit(cache=True)
def _heap_push(keys: FloatArray, vals: IntArray, size: int, key: float, val: int) -> int:
    i = size
    keys[i] = key
    vals[i] = val
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        vals[parent], vals[i] = vals[i], vals[parent]
        i = parent
    return size + 1


@numba.njit(cache=True)
def _heap_pop(keys: FloatArray, vals: IntArray, size: int) -> tuple[float, int, int]:
    key = keys[0]
    val = vals[0]
    size -= 1
    keys[0] = keys[size]
    vals[0] = vals[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and keys[left + 1] < keys[left]:
            child = left + 1
        if keys[i] <= keys[child]:
            break
        keys[child], keys[i] = keys[i], keys[child]
        vals[child], vals[i] = vals[i], vals[child]
        i = child
    return key, val, size


@numba.njit(cache=True)
def _bidirectional(
    indptr: IntArray,
    indices: IntArray,
    data: FloatArray,
    r_indptr: IntArray,
    r_indices: IntArray,
    r_data: FloatArray,
    source: int,
    target: int,
    dist_f: FloatArray,
    dist_b: FloatArray,
    pred_f: IntArray,
    pred_b: IntArray,
    touched: IntArray,
) -> tuple[float, int, int]:
    """Bidirectional Dijkstra; returns (length, meeting node, number of touched nodes).

    ``dist_*`` must be ``inf`` and ``pred_*`` ``-1`` on entry; the caller resets the
    touched positions afterwards, so the scratch arrays are reused between queries.
    """
    n_slots = indices.shape[0] + 1
    hk_f = np.empty(n_slots, dtype=np.float64)
    hv_f = np.empty(n_slots, dtype=np.int64)
    hk_b = np.empty(n_slots, dtype=np.float64)
    hv_b = np.empty(n_slots, dtype=np.int64)
    size_f = 0
    size_b = 0
    n_touched = 0
    dist_f[source] = 0.0
    dist_b[target] = 0.0
    touched[n_touched] = source
    n_touched += 1
    touched[n_touched] = target
    n_touched += 1
    size_f = _heap_push(hk_f, hv_f, size_f, 0.0, source)
    size_b = _heap_push(hk_b, hv_b, size_b, 0.0, target)
    best = np.inf
    meet = -1
    if source == target:
        return 0.0, source, n_touched
    while size_f > 0 and size_b > 0:
        if hk_f[0] + hk_b[0] >= best:
            break
        if size_f <= size_b:
            d, x, size_f = _heap_pop(hk_f, hv_f, size_f)
            if d > dist_f[x]:
                continue
            for k in range(indptr[x], indptr[x + 1]):
                y = indices[k]
                nd = d + data[k]
                if nd < dist_f[y]:
                    if dist_f[y] == np.inf and dist_b[y] == np.inf:
                        touched[n_touched] = y
                        n_touched += 1
                    dist_f[y] = nd
                    pred_f[y] = x
                    size_f = _heap_push(hk_f, hv_f, size_f, nd, y)
                    if nd + dist_b[y] < best:
                        best = nd + dist_b[y]
                        meet = y
        else:
            d, x, size_b = _heap_pop(hk_b, hv_b, size_b)
            if d > dist_b[x]:
                continue
            for k in range(r_indptr[x], r_indptr[x + 1]):
                y = r_indices[k]
                nd = d + r_data[k]
                if nd < dist_b[y]:
                    if dist_f[y] == np.inf and dist_b[y] == np.inf:
                        touched[n_touched] = y
                        n_touched += 1
                    dist_b[y] = nd
                    pred_b[y] = x
                    size_b = _heap_push(hk_b, hv_b, size_b, nd, y)
                    if dist_f[y] + nd < best:
                        best = dist_f[y] + nd
                        meet = y
    return best, meet, n_touched


@numba.njit(cache=True)
def _assemble(pred_f: IntArray, pred_b: IntArray, meet: int, source: int, target: int) -> IntArray:
    n_head = 1
    node = meet
    while node != source:
        node = pred_f[node]
        n_head += 1
    n_tail = 0
    node = meet
    while node != target:
        node = pred_b[node]
        n_tail += 1
    path = np.empty(n_head + n_tail, dtype=np.int64)
    node = meet
    for i in range(n_head - 1, -1, -1):
        path[i] = node
        if i > 0:
            node = pred_f[node]
    node = meet
    for i in range(n_head, n_head + n_tail):
        node = pred_b[node]
        path[i] = node
    return path


class BidirectionalSearch:
    """Reusable scratch space for point-to-point queries on one graph.

    Parameters
    ----------
    matrix
        Slot weights as a CSR matrix [s]; its transpose is taken once here.
    """

    forward: tuple[IntArray, IntArray, FloatArray]
    reverse: tuple[IntArray, IntArray, FloatArray]

    def __init__(self, matrix: sp.csr_matrix) -> None:
        n = matrix.shape[0]
        self.forward = (
            matrix.indptr.astype(np.int64),
            matrix.indices.astype(np.int64),
            matrix.data.astype(np.float64),
        )
        rev = matrix.T.tocsr()
        self.reverse = (
            rev.indptr.astype(np.int64),
            rev.indices.astype(np.int64),
            rev.data.astype(np.float64),
        )
        self._dist_f = np.full(n, np.inf)
        self._dist_b = np.full(n, np.inf)
        self._pred_f = np.full(n, -1, dtype=np.int64)
        self._pred_b = np.full(n, -1, dtype=np.int64)
        self._touched = np.empty(n + 2, dtype=np.int64)

    def query(self, source: int, target: int) -> tuple[float, IntArray]:
        """Least travel time and node path from ``source`` to ``target``.

        Returns ``(inf, empty)`` when ``target`` is unreachable.
        """
        best, meet, n_touched = _bidirectional(
            *self.forward, *self.reverse, source, target,
            self._dist_f, self._dist_b, self._pred_f, self._pred_b, self._touched,
        )  # fmt: skip
        path = np.empty(0, dtype=np.int64)
        if meet >= 0 and np.isfinite(best):
            path = _assemble(self._pred_f, self._pred_b, meet, source, target)
        touched = self._touched[:n_touched]
        self._dist_f[touched] = np.inf
        self._dist_b[touched] = np.inf
        self._pred_f[touched] = -1
        self._pred_b[touched] = -1
        return float(best), path


def bidirectional_dijkstra(
    matrix: sp.csr_matrix, source: int, target: int
) -> tuple[float, IntArray]:
    """One point-to-point query (see :class:`BidirectionalSearch` to reuse scratch space)."""
    return BidirectionalSearch(matrix).query(source, target)


@numba.njit(cache=True)
def _nearest_marked(
    indptr: IntArray,
    indices: IntArray,
    data: FloatArray,
    source: int,
    marked: npt.NDArray[np.bool_],
    k: int,
    max_time: float,
    out_nodes: IntArray,
    out_time: FloatArray,
) -> int:
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    done = np.zeros(n, dtype=np.bool_)
    hk = np.empty(indices.shape[0] + 1, dtype=np.float64)
    hv = np.empty(indices.shape[0] + 1, dtype=np.int64)
    size = _heap_push(hk, hv, 0, 0.0, source)
    dist[source] = 0.0
    found = 0
    while size > 0 and found < k:
        d, x, size = _heap_pop(hk, hv, size)
        if done[x]:
            continue
        if d > max_time:
            break
        done[x] = True
        if marked[x]:
            out_nodes[found] = x
            out_time[found] = d
            found += 1
        for j in range(indptr[x], indptr[x + 1]):
            y = indices[j]
            nd = d + data[j]
            if nd < dist[y]:
                dist[y] = nd
                size = _heap_push(hk, hv, size, nd, y)
    return found


def nearest_marked(
    indptr: IntArray,
    indices: IntArray,
    data: FloatArray,
    source: int,
    marked: npt.NDArray[np.bool_],
    *,
    k: int = 1,
    max_time: float = np.inf,
) -> tuple[IntArray, FloatArray]:
    """The ``k`` marked nodes nearest to ``source``, by a Dijkstra that stops early.

    Run it on the transposed graph to find the marked nodes from which ``source`` is
    quickest to reach (for example the idle crews nearest to a case).

    Returns
    -------
    nodes, time
        Node positions and their travel times [s], nearest first; fewer than ``k`` when
        fewer marked nodes lie within ``max_time``.
    """
    out_nodes = np.empty(k, dtype=np.int64)
    out_time = np.empty(k, dtype=np.float64)
    found = _nearest_marked(indptr, indices, data, source, marked, k, max_time, out_nodes, out_time)
    return out_nodes[:found], out_time[:found]
