"""Solvers for sensor placement: lazy greedy with its bounds, an exact MILP, brute force.

All three minimise the loss ``L(S)`` of :mod:`twin.placement.objectives` over placements
``S`` whose total cost is within the budget (and, optionally, with at most a given number
of sensors of each technology), i.e. they maximise the reduction ``F(S) = L(∅) − L(S)``,
a monotone submodular facility-location function.

Lazy greedy (:func:`solve_greedy`)
    Adds the candidate of largest marginal reduction (per unit cost, for unequal costs)
    until nothing more fits, keeping stale marginal gains in a heap and re-evaluating
    only the top one (Minoux's accelerated greedy [2]_): submodularity makes a stale gain
    an upper bound. Guarantees, a priori:

    - equal costs, no per-technology cap: ``F(S) >= (1 − 1/e) F(OPT)`` (Nemhauser,
      Wolsey and Fisher [1]_);
    - unequal costs: CELF [3]_ runs the greedy twice (by gain and by gain per cost) and
      keeps the better, ``F(S) >= ½ (1 − 1/e) F(OPT)``;
    - equal costs with per-technology caps (a laminar matroid): ``F(S) >= ½ F(OPT)`` [1]_;
    - unequal costs with caps: no a-priori factor is claimed.

    And a posteriori, always: ``F(OPT) <= F(S) + max_T Σ_{c ∈ T} δ_c(S)`` over sets
    ``T`` within the budget, by submodularity ([3]_, Theorem 4); the max is bounded by its
    fractional-knapsack relaxation (caps relaxed), which gives a certified ratio
    ``F(S) / bound`` for the instance at hand.
MILP (:func:`solve_milp`)
    Chama's impact formulation (a p-median with a dummy "undetected" sensor) written
    with pulp and solved by its bundled CBC: binaries ``x_c`` (sensor placed),
    continuous ``y_ec ∈ [0, 1]`` (sensor ``c`` is the best to detect event ``e``) and
    ``y_e0`` (undetected); ``Σ_c y_ec + y_e0 = 1``, ``y_ec <= x_c``,
    ``Σ cost_c x_c <= budget``; minimise ``Σ_e w_e (Σ_c v_ec y_ec + u_e y_e0)``.
    Records that cannot improve on ``u_e`` and candidates costing more than the budget
    are left out, and events with identical records are merged (weights added); the
    optimum is unchanged. An equivalent compact form with one row per distinct value
    level of an event [4]_ is used where it is smaller (see :func:`solve_milp`).
Brute force (:func:`solve_brute_force`)
    Every feasible subset, for checking the others on small instances.

References
----------
.. [1] G. L. Nemhauser, L. A. Wolsey, M. L. Fisher, "An analysis of approximations for
   maximizing submodular set functions", *Math. Programming* 14, 265–294, 1978; and
   M. L. Fisher, G. L. Nemhauser, L. A. Wolsey, part II, *Math. Prog. Study* 8, 73–87, 1978.
.. [2] M. Minoux, "Accelerated greedy algorithms for maximizing submodular set
   functions", *Optimization Techniques*, LNCIS 7, 234–243, Springer, 1978.
.. [3] J. Leskovec, A. Krause, C. Guestrin, C. Faloutsos, J. VanBriesen, N. Glance,
   "Cost-effective outbreak detection in networks", *KDD* 2007, 420–429.
.. [4] S. Elloumi, "A tighter formulation of the p-median problem", *J. Comb. Optim.*
   19, 69–83, 2010.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin._types import FloatArray, IntArray
from twin.placement.errors import PlacementError
from twin.placement.impact import ImpactMatrix
from twin.placement.objectives import ObjectiveData, loss, objective_data, reported
from twin.scenario.placement import TECHNOLOGIES

__all__ = [
    "GREEDY_FACTOR",
    "Placement",
    "solve",
    "solve_brute_force",
    "solve_greedy",
    "solve_milp",
]

logger = logging.getLogger(__name__)

#: The greedy guarantee for equal costs, ``1 − 1/e`` (about 0.632).
GREEDY_FACTOR = 1.0 - 1.0 / math.e
_TOL = 1e-12
#: Most subsets :func:`solve_brute_force` will enumerate.
BRUTE_FORCE_LIMIT = 2_000_000


@dataclass(frozen=True)
class Placement:
    """A chosen set of sensors and how good it is on the matrix it was chosen on.

    Attributes
    ----------
    selected
        Candidate positions, in the order chosen (greedy) or ascending (others).
    candidate_ids
        Their ids.
    objective
        The objective minimised.
    loss
        ``L(S)``, the weighted loss (lower is better).
    value
        The loss as users read it (:func:`twin.placement.objectives.reported`).
    reduction
        ``F(S) = L(∅) − L(S)``.
    empty_loss
        ``L(∅)``.
    cost, budget
        Cost of the placement and the budget [budget unit].
    solver
        ``"greedy"``, ``"milp"`` or ``"brute_force"``.
    status
        ``"optimal"``, ``"feasible"`` (MILP stopped at its time limit), or
        ``"heuristic"`` (greedy).
    factor
        A-priori guarantee ``F(S) / F(OPT) >=`` this (greedy; ``None`` when none holds;
        1 for proven optima).
    upper_bound
        An upper bound on ``F(OPT)`` (greedy: the online bound; MILP: from CBC's best
        bound; brute force: ``F(S)``).
    seconds
        Wall time of the solve [s].
    info
        Solver details (evaluations, gains in order, model size).
    """

    selected: IntArray
    candidate_ids: tuple[str, ...]
    objective: str
    loss: float
    value: float
    reduction: float
    empty_loss: float
    cost: float
    budget: float
    solver: str
    status: str
    factor: float | None
    upper_bound: float
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def certified_ratio(self) -> float:
        """``F(S) / upper_bound``: the placement is at least this share of the optimum."""
        if self.upper_bound <= _TOL:
            return 1.0
        return min(1.0, self.reduction / self.upper_bound)

    def as_dict(self) -> dict[str, Any]:
        """Plain values for tables and JSON."""
        return {
            "solver": self.solver,
            "status": self.status,
            "objective": self.objective,
            "budget": self.budget,
            "cost": self.cost,
            "n_selected": len(self.selected),
            "selected": list(self.candidate_ids),
            "loss": self.loss,
            "value": self.value,
            "reduction": self.reduction,
            "empty_loss": self.empty_loss,
            "factor": self.factor,
            "upper_bound": self.upper_bound,
            "certified_ratio": self.certified_ratio,
            "seconds": self.seconds,
        }


# ---------------------------------------------------------------------------- checks
def _check(matrix: ImpactMatrix, budget: float, caps: Mapping[str, int] | None) -> dict[str, int]:
    if not (isinstance(budget, int | float) and math.isfinite(budget)) or budget < 0:
        raise PlacementError(
            f"budget must be a finite number >= 0 (in the unit of the sensor costs), got {budget!r}"
        )
    if matrix.n_records == 0:
        raise PlacementError(
            f"empty impact matrix: none of the {matrix.n_candidates} candidates detects any "
            f"of the {matrix.n_events} events, so every placement is as good as none. "
            "Widen the candidates (more vehicles, edges or gauges) or the detection model."
        )
    out: dict[str, int] = {}
    for tech, cap in (caps or {}).items():
        if tech not in TECHNOLOGIES:
            raise PlacementError(
                f"max_per_technology: unknown technology {tech!r}; use one of "
                f"{', '.join(TECHNOLOGIES)}"
            )
        if int(cap) < 0:
            raise PlacementError(f"max_per_technology.{tech} must be >= 0, got {cap}")
        out[tech] = int(cap)
    return out


def _make(
    matrix: ImpactMatrix,
    data: ObjectiveData,
    selected: list[int] | IntArray,
    *,
    budget: float,
    solver: str,
    status: str,
    factor: float | None,
    upper_bound: float,
    seconds: float,
    info: dict[str, Any],
) -> Placement:
    sel = np.asarray(selected, dtype=np.int64)
    value_loss = loss(data, sel)
    empty = data.empty_loss
    ids = matrix.candidate_ids
    return Placement(
        selected=sel,
        candidate_ids=tuple(ids[i] for i in sel),
        objective=data.objective,
        loss=value_loss,
        value=reported(data.objective, value_loss, float(data.weight.sum())),
        reduction=empty - value_loss,
        empty_loss=empty,
        cost=float(data.cost[sel].sum()) if sel.size else 0.0,
        budget=float(budget),
        solver=solver,
        status=status,
        factor=factor,
        upper_bound=max(upper_bound, empty - value_loss),
        seconds=seconds,
        info=info,
    )


# ---------------------------------------------------------------------------- greedy
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
    limit = budget * (1.0 + 1e-12) + 1e-12
    gains0 = _all_gains(data, best)
    keys = gains0 / cost if by_ratio else gains0
    heap = [(-float(keys[c]), int(c)) for c in np.flatnonzero((gains0 > _TOL) & (cost <= limit))]
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
        if g <= _TOL:
            continue  # gains only shrink (submodularity)
        key = g / cost[c] if by_ratio else g
        if heap and key < -heap[0][0] * (1.0 - 1e-12) - _TOL:
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
    ok = delta > _TOL
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
    caps = _check(matrix, budget, max_per_technology)
    t0 = time.perf_counter()
    data = objective_data(matrix, objective)
    equal = bool(np.allclose(data.cost, data.cost[0]))
    chosen, gains, evals = _lazy_pass(data, budget, caps, by_ratio=False)
    passes = 1
    if not equal:
        alt, alt_gains, alt_evals = _lazy_pass(data, budget, caps, by_ratio=True)
        evals += alt_evals
        passes = 2
        if sum(alt_gains) > sum(gains) + _TOL:
            chosen, gains = alt, alt_gains
    if equal:
        factor: float | None = 0.5 if caps else GREEDY_FACTOR
    else:
        factor = None if caps else 0.5 * GREEDY_FACTOR
    bound = _online_bound(data, chosen, budget)
    seconds = time.perf_counter() - t0
    logger.debug("greedy: %d picks, %d gain evaluations in %.3f s", len(chosen), evals, seconds)
    return _make(
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


# ---------------------------------------------------------------------------- MILP
def _event_groups(data: ObjectiveData, keep: np.ndarray) -> tuple[Any, ...]:
    """Useful records grouped by event (values ascending), identical events merged.

    Returns the merged events' weights, undetected values and (candidates, values),
    and the constant loss of the events no candidate can improve.
    """
    ev, ca, va = data.event[keep], data.candidate[keep], data.value[keep]
    order = np.lexsort((ca, va, ev))
    ev, ca, va = ev[order], ca[order], va[order]
    bounds = np.flatnonzero(np.r_[True, ev[1:] != ev[:-1], True])
    groups: dict[tuple[float, bytes, bytes], int] = {}
    weights: list[float] = []
    undetected: list[float] = []
    members: list[tuple[IntArray, FloatArray]] = []
    covered = np.zeros(data.weight.shape[0], dtype=bool)
    for lo, hi in itertools.pairwise(bounds):
        e = int(ev[lo])
        covered[e] = True
        key = (float(data.undetected[e]), ca[lo:hi].tobytes(), va[lo:hi].tobytes())
        g = groups.get(key)
        if g is None:
            groups[key] = len(weights)
            weights.append(float(data.weight[e]))
            undetected.append(float(data.undetected[e]))
            members.append((ca[lo:hi], va[lo:hi]))
        else:
            weights[g] += float(data.weight[e])
    constant = float(np.dot(data.weight[~covered], data.undetected[~covered]))
    return np.array(weights), np.array(undetected), members, constant


def _levels(values: FloatArray, undetected: float) -> tuple[IntArray, FloatArray]:
    """Distinct value levels of one event: index of the last record of each, and steps."""
    lv = np.r_[values, undetected]
    step = np.diff(lv)
    ends = np.flatnonzero(step > 0)
    return ends, step[ends]


def _add_assignment(
    prob: Any, x: dict[int, Any], k: int, w: float, u: float, cs: IntArray, vs: FloatArray
) -> tuple[list[tuple[Any, float]], int, float]:
    """Classic p-median rows of one event: ``Σ y + y0 = 1``, ``y <= x``."""
    import pulp

    z = prob.add_variable(f"u_{k}", lowBound=0.0, upBound=1.0)
    terms: list[tuple[Any, float]] = [(z, w * u)]
    ys = []
    for j, (c, v) in enumerate(zip(cs.tolist(), vs.tolist(), strict=True)):
        y = prob.add_variable(f"y_{k}_{j}", lowBound=0.0, upBound=1.0)
        ys.append((y, 1.0))
        if v != 0.0:
            terms.append((y, w * v))
        prob += y - x[c] <= 0
    prob += pulp.LpAffineExpression([*ys, (z, 1.0)]) == 1
    return terms, len(ys) + 1, 0.0


def _add_sorted(
    prob: Any, x: dict[int, Any], k: int, w: float, u: float, cs: IntArray, vs: FloatArray
) -> tuple[list[tuple[Any, float]], int, float]:
    """Sorted-levels rows of one event (Elloumi 2010): ``z_l >= 1 − Σ_{v_c <= D_l} x_c``."""
    import pulp

    ends, steps = _levels(vs, u)
    terms: list[tuple[Any, float]] = []
    for j, (end, step) in enumerate(zip(ends.tolist(), steps.tolist(), strict=True)):
        z = prob.add_variable(f"z_{k}_{j}", lowBound=0.0)
        terms.append((z, w * step))
        row = [(z, 1.0)] + [(x[c], 1.0) for c in cs[: end + 1].tolist()]
        prob += pulp.LpAffineExpression(row) >= 1
    return terms, len(terms), w * float(vs[0])


def solve_milp(
    matrix: ImpactMatrix,
    budget: float,
    *,
    objective: str = "impact",
    max_per_technology: Mapping[str, int] | None = None,
    time_limit: float = 120.0,
    formulation: str = "auto",
    msg: bool = False,
) -> Placement:
    """Optimal placement within ``budget`` by a MILP solved with pulp's bundled CBC.

    Two equivalent formulations (same optimum, same LP bound):

    - ``"assignment"``: Chama's (see the module docstring), one ``y`` per record;
    - ``"sorted"``: per event, its distinct values ``D_1 < … < D_K < u_e``, and
      ``z_l >= 1 − Σ_{c: v_ec <= D_l} x_c``; the event's loss is
      ``D_1 + Σ_l (D_{l+1} − D_l) z_l`` (Elloumi's compact p-median [4]_). With few
      distinct values per event (coverage: one) it is far smaller.

    ``"auto"`` takes the sorted one unless its rows would hold more than twice the
    non-zeros of the assignment one.

    Parameters
    ----------
    matrix, budget, objective, max_per_technology
        As for :func:`solve_greedy`.
    time_limit
        CBC's time limit [s]; a solve cut short returns its best placement with status
        ``"feasible"``.
    formulation
        ``"auto"``, ``"assignment"`` or ``"sorted"``.
    msg
        Show CBC's log.

    Returns
    -------
    Placement
        Selected candidates (ascending); ``info`` has the model size and CBC's status.

    Raises
    ------
    PlacementError
        Bad input (see :func:`solve_greedy`), or CBC finds no solution.
    """
    import pulp

    caps = _check(matrix, budget, max_per_technology)
    if formulation not in ("auto", "assignment", "sorted"):
        raise PlacementError(f"unknown formulation {formulation!r}; use auto, assignment or sorted")
    t0 = time.perf_counter()
    data = objective_data(matrix, objective)
    limit = budget * (1.0 + 1e-12) + 1e-12
    useful = (data.value < data.undetected[data.event] - _TOL) & (
        data.cost[data.candidate] <= limit
    )
    weights, undetected, members, constant = _event_groups(data, useful)
    if formulation == "auto":
        nnz_sorted = sum(
            int((_levels(vs, u)[0] + 2).sum())
            for (_, vs), u in zip(members, undetected, strict=True)
        )
        nnz_assign = sum(3 * len(cs) + 1 for cs, _ in members)
        formulation = "sorted" if nnz_sorted <= 2 * nnz_assign else "assignment"
    add = _add_sorted if formulation == "sorted" else _add_assignment
    cands = np.unique(data.candidate[useful])
    prob = pulp.LpProblem("sensor_placement", pulp.LpMinimize)
    x = {int(c): prob.add_variable(f"x_{int(c)}", cat=pulp.LpBinary) for c in cands}
    terms: list[tuple[Any, float]] = []
    n_cont = 0
    for k, (cs, vs) in enumerate(members):
        more, n_new, base = add(prob, x, k, float(weights[k]), float(undetected[k]), cs, vs)
        terms += more
        n_cont += n_new
        constant += base
    prob += pulp.LpAffineExpression(terms) + constant
    prob += pulp.LpAffineExpression([(x[c], float(data.cost[c])) for c in x]) <= budget
    for tech, cap in caps.items():
        members_t = [x[c] for c in x if data.technology[c] == tech]
        if members_t:
            prob += pulp.lpSum(members_t) <= cap
    build_s = time.perf_counter() - t0
    with warnings.catch_warnings():
        # pulp 3.3 deprecates its bundled CBC in favour of a separately installed one;
        # the bundled binary is the one this project relies on (no extra install).
        warnings.simplefilter("ignore", DeprecationWarning)
        solver = pulp.PULP_CBC_CMD(msg=msg, timeLimit=float(time_limit), gapRel=0.0, threads=1)
    prob.solve(solver)
    sol_status = int(prob.sol_status)
    if sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        raise PlacementError(
            f"CBC found no placement within budget {budget} ({pulp.LpStatus[prob.status]}, "
            f"time limit {time_limit} s); raise time_limit or reduce the problem"
        )
    chosen = sorted(c for c, var in x.items() if (var.varValue or 0.0) > 0.5)
    optimal = sol_status == pulp.LpSolutionOptimal
    seconds = time.perf_counter() - t0
    bound = data.empty_loss - loss(data, chosen) if optimal else data.empty_loss
    info = {
        "formulation": formulation,
        "variables": len(x) + n_cont,
        "binaries": len(x),
        "merged_events": len(members),
        "events": matrix.n_events,
        "records": int(useful.sum()),
        "build_s": build_s,
        "cbc_status": pulp.LpStatus[prob.status],
    }
    logger.debug("milp: %s in %.3f s (%s)", chosen, seconds, info)
    return _make(
        matrix,
        data,
        chosen,
        budget=budget,
        solver="milp",
        status="optimal" if optimal else "feasible",
        factor=1.0 if optimal else None,
        upper_bound=bound,
        seconds=seconds,
        info=info,
    )


# ---------------------------------------------------------------------------- brute force
def solve_brute_force(
    matrix: ImpactMatrix,
    budget: float,
    *,
    objective: str = "impact",
    max_per_technology: Mapping[str, int] | None = None,
) -> Placement:
    """The optimum by trying every subset of candidates within the budget (small cases).

    Ties are broken towards the fewest sensors, then the lexicographically first.

    Raises
    ------
    PlacementError
        Bad input, or more than :data:`BRUTE_FORCE_LIMIT` subsets to try.
    """
    caps = _check(matrix, budget, max_per_technology)
    t0 = time.perf_counter()
    data = objective_data(matrix, objective)
    n = data.n_candidates
    limit = budget * (1.0 + 1e-12) + 1e-12
    order = np.argsort(data.cost, kind="stable")
    max_k = int(np.searchsorted(np.cumsum(data.cost[order]), limit, side="right"))
    total = sum(math.comb(n, k) for k in range(max_k + 1))
    if total > BRUTE_FORCE_LIMIT:
        raise PlacementError(
            f"brute force would try {total:,} subsets of {n} candidates (limit "
            f"{BRUTE_FORCE_LIMIT:,}); use solve_milp for problems this size"
        )
    best_sel: tuple[int, ...] = ()
    best_loss = loss(data, [])
    for k in range(1, max_k + 1):
        for combo in itertools.combinations(range(n), k):
            if float(data.cost[list(combo)].sum()) > limit:
                continue
            if caps:
                techs = [str(data.technology[c]) for c in combo]
                if any(techs.count(t) > cap for t, cap in caps.items()):
                    continue
            value = loss(data, combo)
            if value < best_loss - 1e-12 * max(1.0, abs(best_loss)):
                best_loss, best_sel = value, combo
    seconds = time.perf_counter() - t0
    return _make(
        matrix,
        data,
        list(best_sel),
        budget=budget,
        solver="brute_force",
        status="optimal",
        factor=1.0,
        upper_bound=data.empty_loss - best_loss,
        seconds=seconds,
        info={"subsets": total},
    )


def solve(
    matrix: ImpactMatrix,
    budget: float,
    *,
    solver: str = "milp",
    objective: str = "impact",
    max_per_technology: Mapping[str, int] | None = None,
    time_limit: float = 120.0,
) -> Placement:
    """Dispatch to :func:`solve_milp`, :func:`solve_greedy` or :func:`solve_brute_force`."""
    if solver == "milp":
        return solve_milp(
            matrix,
            budget,
            objective=objective,
            max_per_technology=max_per_technology,
            time_limit=time_limit,
        )
    if solver == "greedy":
        return solve_greedy(
            matrix, budget, objective=objective, max_per_technology=max_per_technology
        )
    if solver == "brute_force":
        return solve_brute_force(
            matrix, budget, objective=objective, max_per_technology=max_per_technology
        )
    raise PlacementError(f"unknown solver {solver!r}; use milp, greedy or brute_force")
