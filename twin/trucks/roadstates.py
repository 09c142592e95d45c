"""Road states on the run's clock: per-edge travel-time factors that change at given times.

See :mod:`twin.trucks.flood` for how trucks use them.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from twin._types import BoolArray, FloatArray, IntArray
from twin.trucks.errors import TruckError

__all__ = ["RoadStates"]


@dataclass
class RoadStates:
    """Per-edge travel-time factors that change at given times.

    Parameters
    ----------
    n_edges
        Edges of the network.
    times
        Change times [s from the run's start], non-decreasing.
    edges
        The edges each change sets.
    factors
        Their travel-time factor from then on (``inf``: closed).
    """

    n_edges: int
    times: Sequence[float]
    edges: Sequence[IntArray]
    factors: Sequence[FloatArray]
    _cache: dict[int, FloatArray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        t = np.asarray(self.times, dtype=np.float64)
        if not (len(self.edges) == len(self.factors) == t.size):
            raise TruckError("road states: one edge set and one factor set per change time")
        if t.size and (np.any(np.diff(t) < 0) or not np.all(np.isfinite(t))):
            raise TruckError("road states: change times must be finite and non-decreasing")
        self._times = t.tolist()
        self._closed: dict[int, BoolArray] = {}
        #: Whether any change closes an edge (when not, a truck never needs to look).
        self.ever_closed = any(bool(np.any(~np.isfinite(f))) for f in self.factors)

    @classmethod
    def none(cls, n_edges: int) -> RoadStates:
        """No change: every edge open all run."""
        return cls(n_edges, [], [], [])

    def epoch_at(self, t: float) -> int:
        """Number of changes in force at ``t`` [s] (0: the initial, all-open state)."""
        return bisect.bisect_right(self._times, t)

    def next_change(self, t: float) -> float:
        """First change strictly after ``t`` [s] (``inf`` if none)."""
        k = bisect.bisect_right(self._times, t)
        return self._times[k] if k < len(self._times) else float("inf")

    def factor(self, epoch: int) -> FloatArray:
        """Travel-time factor of every edge in an epoch (cached)."""
        got = self._cache.get(epoch)
        if got is not None:
            return got
        base = self.factor(epoch - 1).copy() if epoch > 0 else np.ones(self.n_edges)
        if epoch > 0:
            base[np.asarray(self.edges[epoch - 1], dtype=np.int64)] = self.factors[epoch - 1]
        self._cache[epoch] = base
        if len(self._cache) > 64:  # the oldest first (insertion order)
            self._cache.pop(next(iter(self._cache)))
        return base

    def closed(self, epoch: int) -> BoolArray:
        """Mask of the edges closed in an epoch (cached)."""
        got = self._closed.get(epoch)
        if got is None:
            got = np.asarray(~np.isfinite(self.factor(epoch)))
            self._closed[epoch] = got
            if len(self._closed) > 64:  # the oldest first (insertion order)
                self._closed.pop(next(iter(self._closed)))
        return got
