r"""Crowds on the simulation clock: alerts raise cases, crews on site add staff.

:class:`CrowdController` is a model the engine steps beside the case loop
(:attr:`twin.sim.engine.Simulation.models`). At the end of every crowd step
:math:`[t_k, t_k + \Delta t]` it

1. advances every plaza one step (:func:`twin.crowds.model.simulate` from the state at
   :math:`t_k`) with the staff that were on site at :math:`t_k`: each crew *working* on a
   crowd-control case at a plaza adds ``response.staff_per_crew`` staff there
   (crews still travelling add nothing);
2. every ``alerts.every`` seconds, forecasts each plaza over ``alerts.horizon`` from the
   current state with the planned demand, assuming the staff now on site stay
   (:func:`twin.crowds.alerts.forecast_alerts`); a plaza whose forecast crosses
   ``alerts.density_threshold`` and was not already alerted raises an alert (an episode
   ends when a forecast for the plaza no longer crosses); while an episode goes on and
   none of its crowd-control cases is still open (every crew has finished its work
   and left), the alert is renewed (``reinforce``) and raises cases again, so staff
   stay while the forecast still crosses;
3. for each new or renewed alert raises ``response.crews_per_alert`` cases of
   ``response.category`` at the plaza's node, reported at once
   (:meth:`~twin.sim.engine.Simulation.raise_cases`); the dispatch policy sends crews as
   for any case, and their on-site work lasts ``response.work``.

At the end of the run the whole day is re-run in one call with the staff recorded step
by step (the *coupled* run, identical to the stepped one) and once without any staff
(the *baseline*), so the crews' effect is measured on the same demand
(:func:`twin.crowds.interventions.intervention_effect`).

Simplifications, stated: staff on site at the start of a step stay for the whole step
(a crew arriving mid-step counts from the next step); a forecast assumes today's staff
stay and knows nothing of crews on their way; crowd-control cases occur at the alert's
issue time (the forecast is the detection).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin._types import FloatArray, IntArray
from twin.cases.stream import CaseStream
from twin.crowds.alerts import CrowdAlert, alerts_frame, crossings, forecast_alerts
from twin.crowds.config import CrowdConfig
from twin.crowds.demand import Demand
from twin.crowds.interventions import intervention_effect
from twin.crowds.model import simulate
from twin.crowds.plazas import Plazas
from twin.crowds.results import CrowdRun, CrowdState
from twin.crowds.stepper import CrowdStepper
from twin.errors import ScenarioError
from twin.seeds import stream_rng

if TYPE_CHECKING:
    from twin.sim.engine import Simulation

__all__ = ["CrowdController", "CrowdRun"]

logger = logging.getLogger(__name__)


class CrowdController:
    """Steps the crowd model on a simulation's clock and answers alerts with crews.

    Parameters
    ----------
    sim
        The simulation (its clock, crews and case loop).
    plazas, demand
        The plazas and the demand over the run (run-clock 0 = the scenario's start).
    cfg
        The scenario's crowd configuration.

    Raises
    ------
    ScenarioError
        If the response's category or source is unknown, or the crews lack its skill.
    """

    def __init__(self, sim: Simulation, plazas: Plazas, demand: Demand, cfg: CrowdConfig) -> None:
        self.sim = sim
        self.plazas = plazas
        self.demand = demand
        self.cfg = cfg
        resp = cfg.response
        table = sim.categories
        if not table.has_code(resp.category):
            raise ScenarioError(
                f"crowds.response.category: {resp.category!r} is not a case category; use "
                f"one of {', '.join(table.codes())}"
            )
        names = [s.name for s in sim.scenario.cases.sources]
        if resp.source not in names:
            raise ScenarioError(
                f"crowds.response.source: {resp.source!r} is not a case source; use one of "
                f"{', '.join(names)}"
            )
        self.category = table.index_of(resp.category)
        skill = str(table.skill[self.category])
        if resp.dispatch and skill not in sim.fleet.skills:
            raise ScenarioError(
                f"crowds.response: {resp.category} cases need crews with skill {skill!r}, but "
                f"crews.skills has only {list(sim.fleet.skills)}; add it to crews.skills"
            )
        self.source = names.index(resp.source)
        stride = round(cfg.alerts.every / demand.dt)
        if stride < 1 or abs(stride * demand.dt - cfg.alerts.every) > 1e-6:
            raise ScenarioError(
                f"crowds.alerts.every ({cfg.alerts.every:g} s) must be a whole number of "
                f"crowd steps (crowds.model.step = {demand.dt:g} s)"
            )
        self.stride = stride
        n, p = demand.n_steps, plazas.n_plazas
        self.staff = np.zeros((n, p))
        self.stepped_density = np.full((n, p), np.nan)
        self._state = CrowdState(time=demand.t0, plazas=plazas)
        # Without interventions, the stepper does simulate's arithmetic without its
        # per-call validation (same numbers; see twin.crowds.stepper).
        self._stepper = (
            None if cfg.interventions else CrowdStepper(plazas, demand, cfg.model)
        )  # fmt: skip
        self._active = np.zeros(p, dtype=bool)
        self.alerts: list[CrowdAlert] = []
        self.alert_kinds: list[str] = []
        self.alert_cases: list[IntArray] = []
        # Plaza of every case of the run (-1: not a crowd-control case raised here).
        self._case_plaza = np.full(len(sim.cases), -1, dtype=np.int64)
        self._rng = stream_rng(sim.scenario.seed, "crowds")
        self.result: CrowdRun | None = None

    @property
    def state(self) -> CrowdState:
        """The crowds now (at the end of the last step done)."""
        if self._stepper is not None:
            return self._stepper.crowd_state()
        return self._state

    # ------------------------------------------------------------------ clock
    def staff_on_site(self) -> FloatArray:
        """Staff working at each plaza now [persons]: crews working on its crowd cases."""
        from twin.sim.fleet import Status

        f = self.sim.fleet
        out = np.zeros(self.plazas.n_plazas)
        if not self.alert_cases:  # no crowd-control case raised yet: nobody on site
            return out
        working = np.flatnonzero((f.status == Status.WORK) & (f.case >= 0))
        if working.size == 0:
            return out
        case = f.case[working]
        case = case[case < self._case_plaza.size]
        plaza = self._case_plaza[case]
        plaza = plaza[plaza >= 0]
        np.add.at(out, plaza, self.cfg.response.staff_per_crew)
        return out

    def process(self) -> Generator[Any, Any, None]:
        """The simpy process: one crowd step per ``crowds.model.step`` seconds."""
        env = self.sim.env
        dm, prm, al = self.demand, self.cfg.model, self.cfg.alerts
        for k in range(dm.n_steps):
            t0 = dm.t0 + k * dm.dt
            if t0 > env.now:
                yield env.timeout(t0 - env.now)
            staff = self.staff_on_site()
            self.staff[k] = staff
            yield env.timeout(dm.dt)
            if self._stepper is not None:
                self.stepped_density[k] = self._stepper.step(staff)
            else:
                res = simulate(
                    self.plazas, dm.window(k, k + 1), params=prm,
                    interventions=self.cfg.interventions, staff=staff[None, :],
                    initial=self._state,
                )  # fmt: skip
                self._state = res.final
                self.stepped_density[k] = res.density[0]
            if (k + 1) % self.stride == 0:
                self._forecast(staff, al.horizon, al.density_threshold)

    def _forecast(self, staff: FloatArray, horizon: float, threshold: float) -> None:
        dm = self.demand
        if self._stepper is not None and not self._stepper.crosses(horizon, threshold, staff):
            self._active = np.zeros(self.plazas.n_plazas, dtype=bool)  # no plaza crosses
            return
        fc = forecast_alerts(
            self.state, dm, horizon, threshold, params=self.cfg.model,
            interventions=self.cfg.interventions,
            staff=np.broadcast_to(staff, (dm.n_steps, self.plazas.n_plazas)),
        )  # fmt: skip
        hit = np.zeros(self.plazas.n_plazas, dtype=bool)
        for a in fc:
            q = self.plazas.index(a.plaza)
            hit[q] = True
            if not self._active[q]:
                kind = "alert"
            elif self.cfg.response.dispatch and self.open_cases(q) == 0:
                kind = "reinforce"
            else:
                continue
            self.alerts.append(a)
            self.alert_kinds.append(kind)
            self.alert_cases.append(self._raise(q))
        self._active = hit

    def open_cases(self, plaza: int) -> int:
        """Crowd-control cases raised for ``plaza`` whose work is not yet done."""
        mine = np.flatnonzero(self._case_plaza == plaza)
        return int(np.isnan(self.sim.stamp["resolved"][mine]).sum())

    def _raise(self, plaza: int) -> IntArray:
        resp = self.cfg.response
        if not resp.dispatch:
            return np.empty(0, dtype=np.int64)
        from twin.cases.arrivals import draw_service_times

        n = resp.crews_per_alert
        now = float(self.sim.env.now)
        category = np.full(n, self.category, dtype=np.int64)
        file_t, _, verify_t = draw_service_times(
            category, self.sim.categories, self.sim.scenario.operations, self._rng
        )
        stream = CaseStream(
            occur_time=np.full(n, now), report_time=np.full(n, now), category=category,
            source=np.full(n, self.source, dtype=np.int64),
            node=np.full(n, int(self.plazas.node[plaza]), dtype=np.int64),
            file_time=np.asarray(file_t, dtype=float), work_time=np.full(n, float(resp.work)),
            verify_time=np.asarray(verify_t, dtype=float),
        )  # fmt: skip
        index = self.sim.raise_cases(stream)
        grown = np.full(len(self.sim.cases), -1, dtype=np.int64)
        grown[: self._case_plaza.size] = self._case_plaza
        grown[index] = plaza
        self._case_plaza = grown
        return index

    # ------------------------------------------------------------------ results
    def finish(self) -> CrowdRun:
        """Re-run the day with the recorded staff and without; measure the effect."""
        dm, prm, cfg = self.demand, self.cfg.model, self.cfg
        thr = cfg.alerts.density_threshold
        coupled = simulate(self.plazas, dm, params=prm, interventions=cfg.interventions,
                           staff=self.staff)  # fmt: skip
        done = ~np.isnan(self.stepped_density[:, 0]) if self.plazas.n_plazas else np.zeros(0, bool)
        if done.any():
            gap = float(np.abs(coupled.density[done] - self.stepped_density[done]).max())
            if gap > 1e-6:
                logger.warning("crowds: stepped and re-run densities differ by %.3g", gap)
        baseline = simulate(self.plazas, dm, params=prm, interventions=cfg.interventions)
        start: datetime | None = self.sim.start
        alerts = alerts_frame(self.alerts, start)
        alerts.insert(0, "kind", pd.Series(self.alert_kinds, dtype=object))
        alerts["cases"] = [c.tolist() for c in self.alert_cases]
        episodes = crossings(coupled, thr)
        warned, lead = [], []
        for plaza, begin in zip(episodes["plaza"], episodes["start"], strict=True):
            before = alerts[(alerts["plaza"] == plaza) & (alerts["issue_time"] <= begin)]
            if len(before):
                warned.append(True)
                lead.append(float(begin - before["issue_time"].max()))
            else:
                warned.append(False)
                lead.append(np.nan)
        episodes["alerted"] = warned
        episodes["warning_s"] = lead
        self.result = CrowdRun(
            coupled=coupled, baseline=baseline, alerts=alerts, episodes=episodes,
            effect=intervention_effect(baseline, coupled), threshold=thr,
        )  # fmt: skip
        return self.result
