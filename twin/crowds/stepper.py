"""The crowd model one step at a time, for a clock that advances it step by step.

A model coupled to the case loop (:mod:`twin.coupling.crowds`) advances the plazas one
step at a time, with the staff on site at the start of each step, and forecasts from the
current state every few steps. :func:`~twin.crowds.model.simulate` does each of these
exactly, but it validates its inputs and builds a :class:`~twin.crowds.results.CrowdResult`
on every call (about a millisecond each, 1,440 steps a day). :class:`CrowdStepper` does
the same arithmetic with the same compiled kernel (:func:`~twin.crowds.kernels.crowd_kernel`)
on arrays prepared once: a step gives the very numbers ``simulate`` gives for the
one-step window from the same state, and a forecast tells whether any plaza would cross
a density threshold (the caller then asks :func:`~twin.crowds.alerts.forecast_alerts`
for the alerts themselves).

It covers runs without interventions (``crowds.interventions`` empty), where the plazas,
staff and demand reach the kernel unchanged; with interventions use ``simulate``.
"""

from __future__ import annotations

import numpy as np

from twin._types import FloatArray
from twin.crowds.config import FlowModelConfig
from twin.crowds.demand import Demand
from twin.crowds.fundamental import GAMMA, RHO_MAX, V0
from twin.crowds.kernels import OUT_ROWS, STATE_ROWS, crowd_kernel
from twin.crowds.plazas import Plazas
from twin.crowds.results import CrowdState

__all__ = ["CrowdStepper"]

_OCC = OUT_ROWS.index("occupants")


class CrowdStepper:
    """Advance every plaza one step at a time from the empty state (no interventions).

    Parameters
    ----------
    plazas, demand
        The plazas and the demand over the run (same plaza ids, same order).
    params
        The flow model's parameters.

    Attributes
    ----------
    k
        Steps done so far.
    time
        Run-clock time of the current state [s].
    """

    def __init__(self, plazas: Plazas, demand: Demand, params: FlowModelConfig) -> None:
        if not np.array_equal(demand.plaza_ids, plazas.id):
            raise ValueError("the demand's plaza ids differ from the plazas'")
        self.plazas, self.demand, self.params = plazas, demand, params
        p, x, e = plazas.n_plazas, plazas.n_exits, demand.n_events
        dm, prm = demand, params
        self.dt_sub = dm.dt / prm.substeps
        dwell = dm.visit_dwell
        y = self.dt_sub / np.where(dwell > 0.0, dwell, 1.0)
        keep = np.where(dwell > 0.0, np.exp(-y), 0.0)
        gain_v = np.where(dwell > 0.0, -np.expm1(-y) / y, 0.0)
        self._ev_idx = np.argsort(dm.event_plaza, kind="stable").astype(np.int64)
        self._ev_ptr = np.zeros(p + 1, dtype=np.int64)
        np.cumsum(np.bincount(dm.event_plaza, minlength=p), out=self._ev_ptr[1:])
        self._plaza = np.array([plazas.usable_area, plazas.walk_distance, keep, gain_v]).reshape(
            4, p
        )
        self._exits = np.array(
            [plazas.exit_width, plazas.exit_open_from, plazas.exit_open_until]
        ).reshape(3, x)
        # Step inputs of the whole run, summed as simulate sums them (element by element).
        self._walkers = dm.through + dm.metro
        self._attendees = dm.event + dm.event_metro
        # The state, as the kernel holds it (updated in place).
        self.state = np.zeros((len(STATE_ROWS), p))
        self.event_state = np.zeros((2, e))
        self.queue = np.zeros(x)
        self.k = 0
        self.time = float(dm.t0)

    def _scalars(self, t0: float) -> FloatArray:
        prm = self.params
        return np.array([t0, self.dt_sub, prm.exit_capacity, prm.base_exit_efficiency,
                         prm.staff_gain, prm.admission_density, V0, GAMMA, RHO_MAX])  # fmt: skip

    def _run(
        self, first: int, stop: int, staff: FloatArray, state: FloatArray,
        event_state: FloatArray, queue: FloatArray,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:  # fmt: skip
        """Steps ``first`` … ``stop - 1`` from the given state arrays (updated in place)."""
        dm, pl = self.demand, self.plazas
        n, p, x, e = stop - first, pl.n_plazas, pl.n_exits, dm.n_events
        cut = slice(first, stop)
        out, event_out, exit_out = (
            np.zeros((len(OUT_ROWS), n, p)), np.zeros((2, n, e)), np.zeros((2, n, x))
        )  # fmt: skip
        crowd_kernel(
            self._plaza, pl.exit_ptr, self._exits, self._ev_ptr, self._ev_idx,
            np.array([self._walkers[cut], dm.visit[cut], staff]),
            np.array([self._attendees[cut], dm.event_release[cut]]).reshape(2, n, e),
            self._scalars(dm.t0 + first * dm.dt), int(self.params.substeps), state,
            event_state, queue, out, event_out, exit_out,
        )  # fmt: skip
        return out, event_out, exit_out

    def step(self, staff: FloatArray) -> FloatArray:
        """Advance one step with ``staff`` on site [persons] per plaza; its density.

        Returns
        -------
        numpy.ndarray
            Density on each plaza at the end of the step [persons/m²].
        """
        k = self.k
        out, event_out, exit_out = self._run(
            k, k + 1, np.array(staff, dtype=np.float64).reshape(1, -1), self.state,
            self.event_state, self.queue,
        )  # fmt: skip
        # The next state, as CrowdResult.state_at(-1) takes it from the outputs.
        rows = dict(zip(OUT_ROWS, out[:, -1], strict=True))
        self.state = np.array([rows[r] for r in STATE_ROWS])
        self.event_state = np.array(event_out[:, -1])
        self.queue = np.array(exit_out[0, -1])
        self.time = (self.demand.t0 + k * self.demand.dt) + self.demand.dt * 1.0
        self.k = k + 1
        return np.asarray(out[_OCC, 0] / self.plazas.usable_area)

    def crosses(self, horizon: float, threshold: float, staff: FloatArray) -> bool:
        """Whether a forecast from now over ``horizon`` [s] with ``staff`` staying crosses.

        The forecast is :func:`~twin.crowds.alerts.forecast_alerts`' run: the planned
        demand from the current step, the staff now on site at every step; ``True`` when
        some plaza's density exceeds ``threshold`` [persons/m²] at a step end.
        """
        dm = self.demand
        first = self.k
        stop = min(dm.n_steps, first + int(np.ceil(horizon / dm.dt - 1e-9)))
        if stop <= first:
            return False
        st = np.broadcast_to(np.asarray(staff, dtype=np.float64), (stop - first, staff.size))
        out, _, _ = self._run(
            first, stop, np.array(st), self.state.copy(), self.event_state.copy(),
            self.queue.copy(),
        )  # fmt: skip
        return bool((out[_OCC] / self.plazas.usable_area > threshold).any())

    def crowd_state(self) -> CrowdState:
        """The current state as a :class:`~twin.crowds.results.CrowdState`."""
        dm = self.demand
        s = dict(zip(STATE_ROWS, self.state, strict=True))
        return CrowdState(
            time=self.time, plazas=self.plazas, queue=self.queue, event_name=dm.event_name,
            event_plaza=dm.event_plaza, event_present=self.event_state[0],
            event_waiting=self.event_state[1], **s,
        )  # fmt: skip
