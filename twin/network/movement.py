"""Array kernels for moving agents along routes.

An agent that moves is given a route (node positions and the cumulative travel time at
each node [s]) and a departure time. Routes are appended to one flat, growing
:class:`RouteBuffer`; an agent only keeps the offset and length of its current route.
Where every moving agent is at time ``t`` is then one compiled pass over the agents
(:func:`positions_at`), not a Python loop per agent per tick. Between record ticks
nothing is advanced at all: arrivals are simpy events at known times.
"""

from __future__ import annotations

import numba
import numpy as np

from twin._types import FloatArray, IntArray

__all__ = ["RouteBuffer", "positions_at"]


class RouteBuffer:
    """Flat storage of routes: node positions and cumulative times [s], appended."""

    def __init__(self, capacity: int = 1 << 14) -> None:
        self.nodes = np.empty(capacity, dtype=np.int64)
        self.cumtime = np.empty(capacity, dtype=np.float64)
        self.size = 0

    def append(self, nodes: IntArray, cumtime: FloatArray) -> int:
        """Store a route; return its offset."""
        n = nodes.shape[0]
        if self.size + n > self.nodes.shape[0]:
            cap = max(2 * self.nodes.shape[0], self.size + n)
            self.nodes = np.resize(self.nodes, cap)
            self.cumtime = np.resize(self.cumtime, cap)
        off = self.size
        self.nodes[off : off + n] = nodes
        self.cumtime[off : off + n] = cumtime
        self.size += n
        return off


@numba.njit(cache=True)
def _positions_at(
    t: float,
    depart: FloatArray,
    offset: IntArray,
    length: IntArray,
    buf_nodes: IntArray,
    buf_cumtime: FloatArray,
    node_x: FloatArray,
    node_y: FloatArray,
    out_x: FloatArray,
    out_y: FloatArray,
    out_last: IntArray,
) -> None:
    for i in range(depart.shape[0]):
        n = length[i]
        off = offset[i]
        if n == 0:
            continue
        elapsed = t - depart[i]
        if elapsed <= 0.0 or n == 1:
            a = buf_nodes[off]
            out_x[i] = node_x[a]
            out_y[i] = node_y[a]
            out_last[i] = a
            continue
        if elapsed >= buf_cumtime[off + n - 1]:
            b = buf_nodes[off + n - 1]
            out_x[i] = node_x[b]
            out_y[i] = node_y[b]
            out_last[i] = b
            continue
        # Binary search for the edge being travelled.
        lo = 0
        hi = n - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if buf_cumtime[off + mid] <= elapsed:
                lo = mid
            else:
                hi = mid
        a = buf_nodes[off + lo]
        b = buf_nodes[off + hi]
        t0 = buf_cumtime[off + lo]
        t1 = buf_cumtime[off + hi]
        f = (elapsed - t0) / (t1 - t0) if t1 > t0 else 1.0
        out_x[i] = node_x[a] + f * (node_x[b] - node_x[a])
        out_y[i] = node_y[a] + f * (node_y[b] - node_y[a])
        out_last[i] = a


def positions_at(
    t: float,
    depart: FloatArray,
    offset: IntArray,
    length: IntArray,
    buffer: RouteBuffer,
    node_x: FloatArray,
    node_y: FloatArray,
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Where each agent is at time ``t`` along its route.

    Parameters
    ----------
    t
        Time [s].
    depart
        Departure time of each agent's current route [s].
    offset, length
        Each agent's route in ``buffer`` (``length`` 0: not on a route; outputs are NaN
        and -1 there, for the caller to fill from the agent's node).
    buffer
        The route storage.
    node_x, node_y
        Node coordinates (any units; lon/lat for maps).

    Returns
    -------
    x, y, last_node
        Interpolated coordinates along the current edge, and the last node passed.
    """
    n = depart.shape[0]
    out_x = np.full(n, np.nan)
    out_y = np.full(n, np.nan)
    out_last = np.full(n, -1, dtype=np.int64)
    _positions_at(
        float(t), depart, offset, length, buffer.nodes, buffer.cumtime,
        node_x, node_y, out_x, out_y, out_last,
    )  # fmt: skip
    return out_x, out_y, out_last
