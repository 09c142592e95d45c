"""A placement (the answer every solver gives) and what the solvers share.

:class:`Placement` holds the chosen sensors and their scores on the matrix they were
chosen on; :func:`check_inputs` validates a solver's input the same way for all solvers;
:func:`make_placement` scores a selection into a :class:`Placement`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin._types import IntArray
from twin.placement.errors import PlacementError
from twin.placement.impact import ImpactMatrix
from twin.placement.objectives import ObjectiveData, loss, reported
from twin.scenario.placement import TECHNOLOGIES

__all__ = ["TOL", "Placement", "budget_limit", "check_inputs", "make_placement"]

#: Gains and bounds at or below this count as zero.
TOL = 1e-12


def budget_limit(budget: float) -> float:
    """The most a placement may cost: the budget, with room for rounding [budget unit]."""
    return budget * (1.0 + 1e-12) + 1e-12


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
        if self.upper_bound <= TOL:
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


def check_inputs(
    matrix: ImpactMatrix, budget: float, caps: Mapping[str, int] | None
) -> dict[str, int]:
    """The per-technology caps as ints, after checking the budget, the caps and the matrix.

    Raises
    ------
    PlacementError
        Negative or non-finite budget, unknown technology or negative cap, or a matrix
        without a single detection.
    """
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


def make_placement(
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
    """Score the selected candidates into a :class:`Placement`."""
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
