"""The optimal placement by trying every feasible subset (small instances, for checks)."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping

import numpy as np

from twin.placement.errors import PlacementError
from twin.placement.impact import ImpactMatrix
from twin.placement.objectives import loss, objective_data
from twin.placement.solution import Placement, budget_limit, check_inputs, make_placement

__all__ = ["BRUTE_FORCE_LIMIT", "solve_brute_force"]

#: Most subsets :func:`solve_brute_force` will enumerate.
BRUTE_FORCE_LIMIT = 2_000_000


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
    caps = check_inputs(matrix, budget, max_per_technology)
    t0 = time.perf_counter()
    data = objective_data(matrix, objective)
    n = data.n_candidates
    limit = budget_limit(budget)
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
    return make_placement(
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
