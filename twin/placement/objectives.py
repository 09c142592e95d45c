r"""Objectives of a placement on an impact matrix: coverage, time to detection, impact, skill.

Every objective has the form of Chama's impact formulation and of the facility-location
problem: an event is charged the best value among the selected sensors that detect it,
or its *undetected* value when none does, and the loss of a placement ``S`` is

.. math:: L(S) = \\sum_e w_e \\min\\big(u_e, \\min_{c \\in S,\\,(e,c)} v_{ec}\\big)

with ``w`` the event weights, ``v`` the per-record values and ``u`` the undetected
values. The objectives differ only in ``v`` and ``u``:

========== ============================== ================= ===============================
objective  record value ``v``             undetected ``u``  reported as
========== ============================== ================= ===============================
coverage   0                              1                 share of weight detected [-]
time       detection delay [s]            lifetime [s]      mean time to detection [s]
impact     impact before detection        the event impact  expected undetected impact
skill      unexplained variance [-]       1                 mean explained variance [-]
========== ============================== ================= ===============================

``L`` is non-increasing in ``S``, and its reduction ``F(S) = L(∅) − L(S)`` is monotone
submodular with ``F(∅) = 0`` (a facility-location function), which is what the greedy
bounds of :mod:`twin.placement.solvers` rest on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from twin._types import FloatArray, IntArray, StrArray
from twin.placement.errors import PlacementError
from twin.placement.impact import ImpactMatrix
from twin.scenario.placement import OBJECTIVES

__all__ = ["ObjectiveData", "event_values", "loss", "objective_data", "reported", "summary"]


@dataclass(frozen=True, eq=False)
class ObjectiveData:
    """One objective's arrays over an impact matrix (what the solvers read).

    Attributes
    ----------
    objective
        Its name (one of :data:`twin.scenario.placement.OBJECTIVES`).
    weight, undetected
        Per event: weight [-] and undetected value.
    event, candidate, value
        Per record: event and candidate positions and value, with ``value <= undetected``
        of its event. Records sorted by candidate.
    start
        Records of candidate ``c`` are ``start[c]:start[c + 1]``.
    cost
        Per candidate cost [budget unit].
    technology
        Per candidate technology.
    """

    objective: str
    weight: FloatArray
    undetected: FloatArray
    event: IntArray
    candidate: IntArray
    value: FloatArray
    start: IntArray
    cost: FloatArray
    technology: StrArray

    @property
    def n_candidates(self) -> int:
        """Number of candidates."""
        return int(self.cost.shape[0])

    @property
    def empty_loss(self) -> float:
        """Loss with no sensor, ``L(∅)``."""
        return float(np.dot(self.weight, self.undetected))


def objective_data(matrix: ImpactMatrix, objective: str) -> ObjectiveData:
    """The arrays of ``objective`` on ``matrix``.

    Raises
    ------
    PlacementError
        For an unknown objective.
    """
    if objective not in OBJECTIVES:
        raise PlacementError(f"unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}")
    ev = matrix.events
    n_rec = matrix.n_records
    if objective == "coverage":
        value = np.zeros(n_rec)
        undetected = np.ones(matrix.n_events)
    elif objective == "time":
        value = np.asarray(matrix.time, dtype=float)
        undetected = ev["lifetime"].to_numpy(dtype=float)
    else:  # impact, skill
        value = np.asarray(matrix.impact, dtype=float)
        undetected = ev["impact"].to_numpy(dtype=float)
    value = np.minimum(value, undetected[matrix.event])
    order = np.argsort(matrix.candidate, kind="stable")
    cand = matrix.candidate[order]
    start = np.searchsorted(cand, np.arange(matrix.n_candidates + 1)).astype(np.int64)
    return ObjectiveData(
        objective=objective,
        weight=matrix.weight,
        undetected=np.asarray(undetected, dtype=float),
        event=np.asarray(matrix.event[order], dtype=np.int64),
        candidate=np.asarray(cand, dtype=np.int64),
        value=np.asarray(value[order], dtype=float),
        start=start,
        cost=matrix.cost,
        technology=matrix.technology,
    )


def _selected_mask(n: int, selected: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    sel = np.asarray(selected, dtype=np.int64).reshape(-1)
    if sel.size and (sel.min() < 0 or sel.max() >= n):
        raise PlacementError(f"selected candidate positions must lie in 0..{n - 1}")
    mask = np.zeros(n, dtype=bool)
    mask[sel] = True
    return mask


def event_values(data: ObjectiveData, selected: npt.ArrayLike) -> FloatArray:
    """Value charged to every event by the placement ``selected`` (candidate positions)."""
    mask = _selected_mask(data.n_candidates, selected)
    best = data.undetected.copy()
    use = mask[data.candidate]
    np.minimum.at(best, data.event[use], data.value[use])
    return best


def loss(data: ObjectiveData, selected: npt.ArrayLike) -> float:
    """The loss ``L(S)`` of a placement (lower is better)."""
    return float(np.dot(data.weight, event_values(data, selected)))


def reported(objective: str, loss_value: float, total_weight: float) -> float:
    """A loss as users read it: a share, a mean delay [s] or an expected impact."""
    if objective in ("coverage", "skill"):
        return 1.0 - loss_value / total_weight
    if objective == "time":
        return loss_value / total_weight
    return loss_value


def summary(matrix: ImpactMatrix, selected: npt.ArrayLike) -> dict[str, Any]:
    """Every objective of a placement on a matrix, as plain values.

    Returns
    -------
    dict
        ``coverage`` (weighted share of events detected) [-], ``mean_time`` (mean time
        to detection, undetected events charged their lifetime) [s],
        ``mean_time_detected`` (over detected events only) [s], ``expected_impact``
        (weighted undetected impact), ``impact_share`` (its share of the no-sensor
        impact) [-], ``events``, ``n_selected``, ``cost``.
    """
    sel = np.unique(np.asarray(selected, dtype=np.int64))
    w = matrix.weight
    cov = event_values(objective_data(matrix, "coverage"), sel)
    detected = cov < 0.5
    tim = event_values(objective_data(matrix, "time"), sel)
    imp_data = objective_data(matrix, "impact")
    imp = event_values(imp_data, sel)
    total = imp_data.empty_loss
    wd = float(w[detected].sum())
    return {
        "events": matrix.n_events,
        "n_selected": int(sel.size),
        "cost": float(matrix.cost[sel].sum()) if sel.size else 0.0,
        "coverage": float(w[detected].sum() / w.sum()),
        "mean_time": float(np.dot(w, tim) / w.sum()),
        "mean_time_detected": float(np.dot(w[detected], tim[detected]) / wd) if wd else np.nan,
        "expected_impact": float(np.dot(w, imp)),
        "impact_share": float(np.dot(w, imp) / total) if total > 0 else 0.0,
    }
