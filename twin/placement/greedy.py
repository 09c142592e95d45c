"""Lazy greedy placement with its a-priori guarantees and an online bound.

Adds the candidate of largest marginal reduction (per unit cost, for unequal costs)
until nothing more fits, keeping stale marginal gains in a heap and re-evaluating only
the top one (Minoux's accelerated greedy [2]_): submodularity makes a stale gain an
upper bound. Guarantees, a priori:

- equal costs, no per-technology cap: ``F(S) >= (1 − 1/e) F(OPT)`` (Nemhauser, Wolsey
  and Fisher [1]_);
- unequal costs: CELF [3]_ runs the greedy twice (by gain and by gain per cost) and
  keeps the better, ``F(S) >= ½ (1 − 1/e) F(OPT)``;
- equal costs with per-technology caps (a laminar matroid): ``F(S) >= ½ F(OPT)`` [1]_;
- unequal costs with caps: no a-priori factor is claimed.

And a posteriori, always: ``F(OPT) <= F(S) + max_T Σ_{c ∈ T} δ_c(S)`` over sets ``T``
within the budget, by submodularity ([3]_, Theorem 4); the max is bounded by its
fractional-knapsack relaxation (caps relaxed), which gives a certified ratio
``F(S) / bound`` for the instance at hand.

References
----------
.. [1] G. L. Nemhauser, L. A. Wolsey, M. L. Fisher, "An analysis of approximations for
   maximizing submodular set functions", *Math. Programming* 14, 265–294, 1978; and
   M. L. Fisher, G. L. Nemhauser, L. A. Wolsey, part II, *Math. Prog. Study* 8, 73–87, 1978.
.. [2] M. Minoux, "Accelerated greedy algorithms for maximizing submodular set
   functions", *Optimization Techniques*, LNCIS 7, 234–243, Springer, 1978.
.. [3] J. Leskovec, A. Krause, C. Guestrin, C. Faloutsos, J. VanBriesen, N. Glance,
   "Cost-effective outbreak detection in networks", *KDD* 2007, 420–429.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Mapping

import numpy as np

from twin._types import FloatArray
from twin.placement.impact import ImpactMatrix
from twin.placement.objectives import ObjectiveData, objective_data
from twin.placement.solution import TOL, Placement, budget_limit, check_inputs, make_placement
from twin.scenario.placement import TECHNOLOGIES

__all__ = ["GREEDY_FACTOR", "solve_greedy"]

logger = logging.getLogger(__name__)

#: The greedy guarantee for equal costs, ``1 − 1/e`` (about 0.632).
GREEDY_FACTOR = 1.0 - 1.0 / math.e


def _all_gains(data: ObjectiveData, best: FloatArray) -> FloatArray:
    """Marginal reduction of every candidate given the current event values."""
    gain = data.weight[data.event] * np.maximum(best[data.event] - data.value, 0.0)
    return np.asarray(
        np.bincount(data.candidate, weights=gain, minlength=data.n_candidates), dtype=np.float64
    )


def _gain(data: ObjectiveData, best: FloatArray, c: int) -> float:
    lo, hi = int(data.start[c]), int(data.start[c + 1])
    e = data.event[lo:hi]
    return float(np.dot(data.weight[e], np.maximum(best[e] - data.value[lo:hi], 0.0)))


def _lazy_pass(
    data: ObjectiveData, budget: float, caps: dict[str, int], by_ratio: bool
) -> tuple[list[int], list[float], int]:
    """One lazy greedy pass: chosen candidates, their gains, and gain evaluations."""
    best = data.undetected.copy()
    cost = data.cost
    limit = budget_limit(budget)
    gains0 = _all_gains(data, best)
    keys = gains0 / cost if by_ratio else gains0
    heap = [(-float(keys[c]), int(c)) for c in np.flatnonzero((gains0 > TOL) & (cost <= limit))]
    heapq.heapify(heap)
    count: dict[str, int] = dict.fromkeys(TECHNOLOGIES, 0)
    chosen: list[int] = []
    gains: list[float] = []
    spent = 0.0
    evaluations = data.n_candidates
    while heap:
        _, c = heapq.heappop(heap)
        tech = str(data.technology[c])
        if spent + cost[c] > limit or (tech in caps and count[tech] >= caps[tech]):
            continue  # spending and counts only grow: it never fits again
        g = _gain(data, best, c)
        evaluations += 1
        if g <= TOL:
            continue  # gains only shrink (submodularity)
        key = g / cost[c] if by_ratio else g
        if heap and key < -heap[0][0] * (1.0 - 1e-12) - TOL:
            heapq.heappush(heap, (-key, c))
            continue
        lo, hi = int(data.start[c]), int(data.start[c + 1])
        e = data.event[lo:hi]
        best[e] = np.minimum(best[e], data.value[lo:hi])
        chosen.append(int(c))
        gains.append(g)
        spent += float(cost[c])
        count[tech] += 1
    return chosen, gains, evaluations


def _online_bound(data: ObjectiveData, selected: list[int], budget: float) -> float:
    """Upper bound on ``F(OPT)``: ``F(S)`` + fractional knapsack of marginal gains."""
    best = data.undetected.copy()
    use = np.isin(data.candidate, np.asarray(selected, dtype=np.int64))
    np.minimum.at(best, data.event[use], data.value[use])
    f_s = data.empty_loss - float(np.dot(data.weight, best))
    delta = _all_gains(data, best)
    ok = delta > TOL
    d, c = delta[ok], data.cost[ok]
    order = np.argsort(-d / c, kind="stable")
    d, c = d[order], c[order]
    spent = np.cumsum(c)
    full = spent <= budget
    extra = float(d[full].sum())
    k = int(full.sum())
    if k < d.size:
        room = budget - (float(spent[k - 1]) if k else 0.0)
        extra += d[k] * max(room, 0.0) / c[k]
    return f_s + extra


def solve_greedy(
    matrix: ImpactMatrix,
    budget: float,
    *,
    objective: str = "impact",
    max_per_technology: Mapping[str, int] | None = None,
) -> Placement:
    """Lazy greedy placement within ``budget``, with its a-priori and online bounds.

    Parameters
    ----------
    matrix
        The impact matrix.
    budget
        Most the sensors may cost in all [budget unit].
    objective
        ``"coverage"``, ``"time"``, ``"impact"`` or ``"skill"``.
    max_per_technology
        Optional cap on the number of sensors of a technology.

    Returns
    -------
    Placement
        Selected candidates in the order chosen; ``factor`` is the a-priori guarantee
        and ``upper_bound`` the online bound on ``F(OPT)``; ``info["gains"]`` holds each
        pick's marginal reduction.

    Raises
    ------
    PlacementError
        Negative budget, unknown objective or technology, or an empty matrix.
    """
    caps = check_inputs(matrix, budget, max_per_technology)
    t0 = time.perf_counter()
    data = objective_data(matrix, objective)
    equal = bool(np.allclose(data.cost, data.cost[0]))
    chosen, gains, evals = _lazy_pass(data, budget, caps, by_ratio=False)
    passes = 1
    if not equal:
        alt, alt_gains, alt_evals = _lazy_pass(data, budget, caps, by_ratio=True)
        evals += alt_evals
        passes = 2
        if sum(alt_gains) > sum(gains) + TOL:
            chosen, gains = alt, alt_gains
    if equal:
        factor: float | None = 0.5 if caps else GREEDY_FACTOR
    else:
        factor = None if caps else 0.5 * GREEDY_FACTOR
    bound = _online_bound(data, chosen, budget)
    seconds = time.perf_counter() - t0
    logger.debug("greedy: %d picks, %d gain evaluations in %.3f s", len(chosen), evals, seconds)
    return make_placement(
        matrix,
        data,
        chosen,
        budget=budget,
        solver="greedy",
        status="heuristic",
        factor=factor,
        upper_bound=bound,
        seconds=seconds,
        info={"gains": gains, "evaluations": evals, "passes": passes},
    )
