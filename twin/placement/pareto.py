"""The Pareto curve of budget against objective: the best placement at each budget.

Each budget is solved afresh (placements need not nest), by the MILP and by the lazy
greedy, so the curve shows both the optimum and how far the greedy falls from it,
next to the greedy's guarantee.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import FloatArray
from twin.placement.errors import PlacementError
from twin.placement.impact import ImpactMatrix
from twin.placement.objectives import objective_data, reported
from twin.placement.solvers import solve

__all__ = ["CURVE_COLUMNS", "curve_budgets", "pareto_curve"]

logger = logging.getLogger(__name__)

#: Columns of :func:`pareto_curve`.
CURVE_COLUMNS = (
    "budget",
    "solver",
    "status",
    "value",
    "loss",
    "reduction",
    "empty_loss",
    "cost",
    "n_selected",
    "selected",
    "factor",
    "upper_bound",
    "certified_ratio",
    "seconds",
)


def curve_budgets(budget: float, costs: npt.ArrayLike, points: int) -> FloatArray:
    """Budgets for a curve up to ``budget``: 0, then ``points`` steps.

    When every sensor costs the same the steps are whole numbers of sensors.
    """
    if budget < 0:
        raise PlacementError(f"budget must be >= 0, got {budget}")
    c = np.asarray(costs, dtype=float)
    if points <= 0 or budget == 0:
        return np.array([0.0, float(budget)]) if budget > 0 else np.array([0.0])
    if c.size and np.allclose(c, c[0]):
        steps = np.unique(np.round(np.linspace(0.0, budget / c[0], points + 1)))
        out = steps * c[0]
    else:
        out = np.linspace(0.0, budget, points + 1)
    return np.unique(np.r_[out, 0.0, budget])


def pareto_curve(
    matrix: ImpactMatrix,
    budgets: Sequence[float] | FloatArray,
    *,
    objective: str = "impact",
    solvers: Sequence[str] = ("milp", "greedy"),
    max_per_technology: Mapping[str, int] | None = None,
    time_limit: float = 120.0,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Solve at every budget with every solver.

    Parameters
    ----------
    matrix
        The impact matrix (with costs).
    budgets
        Budgets [budget unit]; 0 is scored without solving.
    objective
        The objective.
    solvers
        ``"milp"``, ``"greedy"`` and/or ``"brute_force"``.
    max_per_technology
        Optional caps per technology.
    time_limit
        Per MILP solve [s].
    progress
        Called with a short message before each solve.

    Returns
    -------
    pandas.DataFrame
        One row per (budget, solver), columns :data:`CURVE_COLUMNS`; ``value`` is the
        objective as users read it, ``selected`` the ids joined by ``;``.
    """
    data = objective_data(matrix, objective)
    empty = data.empty_loss
    rows = []
    for b in np.asarray(budgets, dtype=float):
        for s in solvers:
            if b == 0.0:
                rows.append(
                    {
                        "budget": 0.0,
                        "solver": s,
                        "status": "optimal",
                        "value": reported(objective, empty, float(data.weight.sum())),
                        "loss": empty,
                        "reduction": 0.0,
                        "empty_loss": empty,
                        "cost": 0.0,
                        "n_selected": 0,
                        "selected": "",
                        "factor": 1.0,
                        "upper_bound": 0.0,
                        "certified_ratio": 1.0,
                        "seconds": 0.0,
                    }
                )
                continue
            if progress is not None:
                progress(f"{s} at budget {b:g}")
            p = solve(
                matrix,
                float(b),
                solver=s,
                objective=objective,
                max_per_technology=max_per_technology,
                time_limit=time_limit,
            )
            row = p.as_dict()
            row["selected"] = ";".join(p.candidate_ids)
            rows.append({k: row[k] for k in CURVE_COLUMNS})
    logger.info("pareto curve: %d budgets x %d solvers", len(budgets), len(solvers))
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))
