"""Optimal placement by a MILP (pulp + its bundled CBC), in two equivalent formulations.

Chama's impact formulation (a p-median with a dummy "undetected" sensor): binaries
``x_c`` (sensor placed), continuous ``y_ec ∈ [0, 1]`` (sensor ``c`` is the best to
detect event ``e``) and ``y_e0`` (undetected); ``Σ_c y_ec + y_e0 = 1``, ``y_ec <= x_c``,
``Σ cost_c x_c <= budget``; minimise ``Σ_e w_e (Σ_c v_ec y_ec + u_e y_e0)``. Records that
cannot improve on ``u_e`` and candidates costing more than the budget are left out, and
events with identical records are merged (weights added); the optimum is unchanged. An
equivalent compact form with one row per distinct value level of an event [1]_ is used
where it is smaller (see :func:`solve_milp`).

References
----------
.. [1] S. Elloumi, "A tighter formulation of the p-median problem", *J. Comb. Optim.*
   19, 69–83, 2010.
"""

from __future__ import annotations

import itertools
import logging
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from twin._types import FloatArray, IntArray
from twin.placement.errors import PlacementError
from twin.placement.impact import ImpactMatrix
from twin.placement.objectives import ObjectiveData, loss, objective_data
from twin.placement.solution import TOL, Placement, budget_limit, check_inputs, make_placement

__all__ = ["solve_milp"]

logger = logging.getLogger(__name__)


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
      ``D_1 + Σ_l (D_{l+1} − D_l) z_l`` (Elloumi's compact p-median [1]_). With few
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

    caps = check_inputs(matrix, budget, max_per_technology)
    if formulation not in ("auto", "assignment", "sorted"):
        raise PlacementError(f"unknown formulation {formulation!r}; use auto, assignment or sorted")
    t0 = time.perf_counter()
    data = objective_data(matrix, objective)
    limit = budget_limit(budget)
    useful = (data.value < data.undetected[data.event] - TOL) & (data.cost[data.candidate] <= limit)
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
    return make_placement(
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
