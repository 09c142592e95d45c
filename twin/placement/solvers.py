"""Solvers for sensor placement: one entry point to three solvers.

All three minimise the loss ``L(S)`` of :mod:`twin.placement.objectives` over placements
``S`` whose total cost is within the budget (and, optionally, with at most a given number
of sensors of each technology), i.e. they maximise the reduction ``F(S) = L(∅) − L(S)``,
a monotone submodular facility-location function:

- lazy greedy with its a-priori and online bounds (:mod:`twin.placement.greedy`);
- an exact MILP solved by CBC (:mod:`twin.placement.milp`);
- brute force over every subset, for checking the others on small instances
  (:mod:`twin.placement.brute_force`).

Each returns a :class:`~twin.placement.solution.Placement`; :func:`solve` picks one by
name. The solvers and :class:`Placement` are re-exported here, their public home.
"""

from __future__ import annotations

from collections.abc import Mapping

from twin.placement.brute_force import BRUTE_FORCE_LIMIT, solve_brute_force
from twin.placement.errors import PlacementError
from twin.placement.greedy import GREEDY_FACTOR, solve_greedy
from twin.placement.impact import ImpactMatrix
from twin.placement.milp import solve_milp
from twin.placement.solution import Placement

__all__ = [
    "BRUTE_FORCE_LIMIT",
    "GREEDY_FACTOR",
    "Placement",
    "solve",
    "solve_brute_force",
    "solve_greedy",
    "solve_milp",
]


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
