"""The engine: one simpy clock driving the six-stage case loop with crews on the network.

Each case passes through the closed loop that operations centres run::

    discover → file → dispatch → handle (travel + on-site work) → verify → close

- **discover**: the case enters at its report time (occurrence + the detection delay of
  its source, drawn up front in the :class:`~twin.cases.stream.CaseStream`);
- **file**: an operator (a ``simpy.Resource``) files it;
- **dispatch**: after the dispatch decision time, the policy assigns a crew, or the case
  waits in a queue until a crew is free;
- **handle**: the crew drives the fastest route at the current hour's travel times,
  then works on site; under the priority policy a low-priority job can be preempted and
  resumes later with its remaining work;
- **verify**: an inspector (a ``simpy.Resource``) checks the result;
- **close**: the case is closed.

Overdue cases escalate level by level at multiples of their category's deadline (as
Wanzhi's SMS escalation does); each escalation is recorded.

Simplifications, stated: crews start each shift at their depot; a crew whose shift ends
finishes its case first; operators and inspectors work around the clock; verification is
remote (no travel).
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Callable, Generator, Hashable
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import simpy

from twin._types import FloatArray, IntArray
from twin.cases.categories import CategoryTable
from twin.cases.distributions import sample
from twin.cases.stream import CaseStream
from twin.errors import NoRouteError, ScenarioError
from twin.hydro.waterlogging import Waterlogging
from twin.network.movement import RouteBuffer, positions_at
from twin.network.road_network import RoadNetwork
from twin.scenario import Scenario
from twin.seeds import stream_seed
from twin.sim.fleet import CrewFleet, ModelSeries, Status, shift_changes

__all__ = ["STAGES", "Simulation"]

logger = logging.getLogger(__name__)

#: Time stamps recorded per case, in loop order.
STAGES = ("filed", "dispatched", "arrived", "resolved", "verified", "closed")


class Simulation:
    """One seeded run of the case loop on a network.

    Parameters
    ----------
    scenario
        The validated scenario.
    net
        The road network (its closures and congestion profile apply).
    cases
        The cases to run, drawn up front.
    categories
        The category table the cases index.
    depot_nodes
        Node positions of the crew depots.
    demand_nodes, demand_weight
        Where demand is expected (node positions) and its relative weight, used by the
        pre-positioning policy. The weight may be given as a function, called when
        :attr:`demand_weight` is first read (only pre-positioning reads it).
    water
        Water depth at low points over the run; its road-state changes are applied on
        the clock (closures, slow-downs, rerouting).
    """

    def __init__(
        self,
        scenario: Scenario,
        net: RoadNetwork,
        cases: CaseStream,
        categories: CategoryTable,
        depot_nodes: IntArray,
        *,
        demand_nodes: IntArray | None = None,
        demand_weight: FloatArray | Callable[[], FloatArray] | None = None,
        water: Waterlogging | None = None,
    ) -> None:
        from twin.sim.dispatch import make_policy

        if not cases.is_sorted:
            raise ValueError("the cases must be sorted by report_time (see merge_streams)")
        self.scenario = scenario
        self.net = net
        self.cases = cases
        self.categories = categories
        self.env = simpy.Environment()
        self.start: datetime = scenario.start
        self.start_hour = self.start.hour + self.start.minute / 60 + self.start.second / 3600
        seeds = stream_seed(scenario.seed, "engine").spawn(4)
        crew_rng, ops_rng, policy_rng, raised_rng = (np.random.default_rng(s) for s in seeds)
        self.policy_rng = policy_rng
        # Durations of cases raised on the clock come from their own stream, so raising
        # them leaves every other draw of the run unchanged.
        self._raised_rng = raised_rng
        if depot_nodes.size == 0:
            raise ScenarioError("no crew depot lies on the network; check crews.depots")
        self.fleet = CrewFleet(scenario.crews, depot_nodes, crew_rng)
        self._model: Any = None
        ops = scenario.operations
        self.operators = simpy.Resource(self.env, capacity=ops.operators)
        self.inspectors = simpy.Resource(self.env, capacity=ops.inspectors)
        self.routes = RouteBuffer()
        n = len(cases)
        self.dispatch_time = sample(ops.dispatch_time, n, ops_rng)
        self.close_time = sample(ops.close_time, n, ops_rng)
        self.stamp = {stage: np.full(n, np.nan) for stage in STAGES}
        self.case_crew = np.full(n, -1, dtype=np.int64)
        self.case_priority = categories.priority[cases.category].astype(np.int64)
        self.case_skill = self._case_skills()
        self.remaining_work = cases.work_time.astype(np.float64).copy()
        self.travel_time = np.zeros(n)
        self.preemptions = np.zeros(n, dtype=np.int64)
        self.escalation_level = np.zeros(n, dtype=np.int64)
        self.escalations: list[tuple[int, int, float]] = []
        self.counts = {"open": 0, "waiting": 0, "verify": 0}
        self._procs: dict[int, Any] = {}
        self._assign_ev: dict[int, simpy.Event] = {}
        self._work_start = np.full(n, np.nan)
        self.in_travel = np.zeros(n, dtype=bool)
        self.water = water
        #: Applies the water's road-state changes on the clock; set by the run
        #: (:class:`twin.coupling.hazards.HazardController`) when the scenario has rain.
        self.hazards: Any = None
        #: Cases raised by the water (ponding), included in ``cases``.
        self.water_cases = 0
        #: The muck trucks' day (:class:`twin.trucks.TruckResult`), when the run has one;
        #: its detected violations are among ``cases``.
        self.trucks: Any = None
        #: Cases raised by detected truck violations, included in ``cases``.
        self.truck_cases = 0
        #: Cases raised on the clock by :meth:`raise_cases` (appended to ``cases``).
        self.raised_cases = 0
        #: Models stepped on the clock beside the case loop (e.g. crowds); each has a
        #: ``process()`` generator started with the run.
        self.models: list[Any] = []
        self.demand_nodes = demand_nodes if demand_nodes is not None else np.empty(0, np.int64)
        self._demand_weight = demand_weight if demand_weight is not None else np.empty(0)
        self.policy = make_policy(scenario.dispatch, self)
        self.queues: dict[Hashable, list[tuple[int, int, int]]] = {}
        self._seq = 0
        # Recorder buffers.
        self.record_times = np.arange(0.0, scenario.horizon + 1e-9, scenario.record_interval)
        n_rec, n_crew = self.record_times.shape[0], len(self.fleet)
        self.rec_status = np.zeros((n_rec, n_crew), dtype=np.int8)
        self.rec_lon = np.zeros((n_rec, n_crew))
        self.rec_lat = np.zeros((n_rec, n_crew))
        self.rec_open = np.zeros(n_rec, dtype=np.int64)
        self.series = ModelSeries(n_rec)
        self._rec_i = 0
        self.events_processed = 0

    @property
    def model(self) -> Any:
        """The crews as a mesa population (:class:`twin.sim.population.CityModel`).

        Built on first use (mesa is imported then); its agents view the fleet arrays.
        """
        if self._model is None:
            from twin.sim.population import CityModel

            self._model = CityModel(self, self.fleet, self.scenario.seed)
        return self._model

    @property
    def recorded(self) -> int:
        """How many record times have been recorded so far."""
        return self._rec_i

    @property
    def demand_weight(self) -> FloatArray:
        """Relative weight of the expected demand at each of ``demand_nodes`` [-].

        Computed on first read when it was given as a function.
        """
        if callable(self._demand_weight):
            self._demand_weight = self._demand_weight()
        return self._demand_weight

    # ------------------------------------------------------------------ helpers
    def _case_skills(self) -> IntArray:
        skills = self.fleet.skills
        needed = self.categories.skill[self.cases.category]
        missing = sorted(set(needed.tolist()) - set(skills))
        if missing:
            raise ScenarioError(
                f"cases need crew skill(s) {missing} but crews.skills has only {list(skills)}; "
                "add those skills to crews.skills or remove the categories that need them"
            )
        lookup = {s: i for i, s in enumerate(skills)}
        return np.array([lookup[s] for s in needed], dtype=np.int64)

    def hour(self) -> float:
        """Local hour of day now (fractional) [h]."""
        return (self.start_hour + self.env.now / 3600.0) % 24.0

    def update_moving_nodes(self) -> None:
        """Set ``fleet.node`` of every moving crew to the last node it has passed."""
        f = self.fleet
        moving = np.flatnonzero(f.route_length > 0)
        if moving.size == 0:
            return
        _, _, last = positions_at(
            self.env.now, f.depart[moving], f.route_offset[moving], f.route_length[moving],
            self.routes, self.net.node_lon, self.net.node_lat,
        )  # fmt: skip
        ok = last >= 0
        f.node[moving[ok]] = last[ok]
        # Crews that have reached a repositioning target become plainly idle there.
        end = (
            f.depart[moving]
            + self.routes.cumtime[f.route_offset[moving] + f.route_length[moving] - 1]
        )
        arrived = moving[(end <= self.env.now) & (f.status[moving] == Status.REPOSITION)]
        f.route_length[arrived] = 0
        f.status[arrived] = Status.IDLE

    def nearest_crews(
        self, node: int, mask: npt.NDArray[np.bool_], k: int = 1
    ) -> tuple[IntArray, FloatArray]:
        """Up to ``k`` crews in ``mask`` nearest to ``node`` by travel time now.

        Returns crew indices and their travel times to ``node`` [s], nearest first.
        """
        f = self.fleet
        cand = np.flatnonzero(mask)
        if cand.size == 0:
            return np.empty(0, np.int64), np.empty(0)
        marked = np.zeros(self.net.n_nodes, dtype=bool)
        marked[f.node[cand]] = True
        nodes, times = self.net.nearest_marked(node, marked, k=min(k, cand.size), when=self.hour())
        crews: list[int] = []
        out_t: list[float] = []
        for nd, tt in zip(nodes.tolist(), times.tolist(), strict=True):
            for c in cand[f.node[cand] == nd].tolist():
                crews.append(c)
                out_t.append(tt / self.scenario.crews.speed_factor)
        return np.array(crews[:k], dtype=np.int64), np.array(out_t[:k])

    def available_mask(self, skill: int) -> npt.NDArray[np.bool_]:
        """Crews that may take a new case of ``skill`` now (idle or repositioning)."""
        f = self.fleet
        mask: npt.NDArray[np.bool_] = (
            (f.status == Status.IDLE) | (f.status == Status.REPOSITION)
        ) & (f.skill == skill)
        return mask

    # ------------------------------------------------------------------ queues
    def enqueue(self, key: Hashable, case: int) -> None:
        """Put a case in the waiting queue ``key`` (ordered by priority, then arrival)."""
        self._seq += 1
        heapq.heappush(
            self.queues.setdefault(key, []), (int(self.case_priority[case]), self._seq, case)
        )
        self.counts["waiting"] += 1

    def dequeue(self, key: Hashable) -> int | None:
        """The next waiting case of queue ``key``, or ``None``."""
        q = self.queues.get(key)
        if not q:
            return None
        self.counts["waiting"] -= 1
        return heapq.heappop(q)[2]

    # ------------------------------------------------------------------ dispatch
    def request_crew(self, case: int) -> simpy.Event:
        """Ask the policy for a crew; the event fires with the crew when one is assigned."""
        ev = self.env.event()
        self._assign_ev[case] = ev
        choice = self.policy.choose(case)
        if choice is None:
            self.enqueue(self.policy.queue_key(case), case)
        else:
            crew, preempt = choice
            if preempt:
                self._preempt(crew)
            self.assign(crew, case)
        return ev

    def _preempt(self, crew: int) -> None:
        f = self.fleet
        victim = int(f.case[crew])
        self.update_moving_nodes()
        if f.status[crew] == Status.WORK:
            done = self.env.now - self._work_start[victim]
            self.remaining_work[victim] = max(0.0, self.remaining_work[victim] - done)
        f.route_length[crew] = 0
        self.preemptions[victim] += 1
        self.interrupt_case(victim, "preempted")

    def assign(self, crew: int, case: int) -> None:
        """Give ``case`` to ``crew`` now."""
        f = self.fleet
        if f.status[crew] == Status.REPOSITION:
            self.update_moving_nodes()
            f.route_length[crew] = 0
        if f.status[crew] not in (Status.TRAVEL, Status.WORK):
            f.busy_since[crew] = self.env.now
        f.status[crew] = Status.TRAVEL
        f.case[crew] = case
        self.case_crew[case] = crew
        if math.isnan(self.stamp["dispatched"][case]):
            self.stamp["dispatched"][case] = self.env.now
        self._assign_ev.pop(case).succeed(crew)

    def release(self, crew: int) -> None:
        """A crew has finished its case: it goes off duty, takes a waiting case, or idles."""
        f = self.fleet
        now = self.env.now
        f.busy_time[crew] += now - f.busy_since[crew]
        f.case[crew] = -1
        f.cases_done[crew] += 1
        f.route_length[crew] = 0
        if f.off_pending[crew]:
            self._go_off(np.array([crew]))
            return
        f.status[crew] = Status.IDLE
        self.crew_available(crew)

    def crew_available(self, crew: int) -> None:
        """Offer a newly available crew the next waiting case, or let the policy place it."""
        nxt = self.dequeue(self.policy.crew_key(crew))
        if nxt is not None:
            self.assign(crew, nxt)
        else:
            self.policy.on_idle(crew)

    def move(self, crew: int, target: int, status: Status) -> float:
        """Start ``crew`` on the fastest route to node ``target``; return its duration [s]."""
        f = self.fleet
        origin = int(f.node[crew])
        if origin == target:
            f.route_length[crew] = 0
            f.status[crew] = status
            return 0.0
        when = self.hour()
        route = self.net.shortest_path(origin, target, when=when, by_position=True)
        times = self.net.travel_times(when)[route.edges] / self.scenario.crews.speed_factor
        cum = np.concatenate([[0.0], np.cumsum(times)])
        nodes = self.net.node_position(route.nodes)
        f.route_offset[crew] = self.routes.append(nodes, cum)
        f.route_length[crew] = nodes.shape[0]
        f.depart[crew] = self.env.now
        f.status[crew] = status
        return float(cum[-1])

    def interrupt_case(self, case: int, cause: str) -> None:
        """Interrupt the process of ``case`` (``"preempted"`` or ``"reroute"``)."""
        self._procs[case].interrupt(cause)

    #: How long a crew with no open route waits before trying again [s].
    NO_ROUTE_WAIT = 300.0

    def _travel(self, i: int, crew: int, target: int) -> Generator[simpy.Event, Any, None]:
        """Drive ``crew`` to ``target`` for case ``i``, rerouting when roads close."""
        env = self.env
        t0 = env.now
        while True:
            try:
                travel: float | None = self.move(crew, target, Status.TRAVEL)
            except NoRouteError:
                travel = None  # cut off by closures: wait, then try again
                self.fleet.status[crew] = Status.TRAVEL
            self.in_travel[i] = True
            try:
                yield env.timeout(self.NO_ROUTE_WAIT if travel is None else travel)
            except simpy.Interrupt as intr:
                self.in_travel[i] = False
                if intr.cause != "reroute":
                    raise
                continue
            self.in_travel[i] = False
            if travel is not None:
                break
        self.travel_time[i] += env.now - t0

    def raise_cases(self, new: CaseStream) -> IntArray:
        """Add cases raised by a model on the clock (e.g. a crowd alert); return their indices.

        The cases are appended to :attr:`cases` (earlier cases keep their index) and each
        enters the loop at its ``report_time`` (now, if that has passed). Dispatch and
        closing times are drawn from a stream of their own, so raising cases leaves every
        other random draw of the run unchanged.
        """
        n_new = len(new)
        first = len(self.cases)
        index = np.arange(first, first + n_new, dtype=np.int64)
        if n_new == 0:
            return index
        ops = self.scenario.operations
        self.cases = self.cases.append(new)
        self.dispatch_time = np.concatenate(
            [self.dispatch_time, sample(ops.dispatch_time, n_new, self._raised_rng)]
        )
        self.close_time = np.concatenate(
            [self.close_time, sample(ops.close_time, n_new, self._raised_rng)]
        )
        for stage in STAGES:
            self.stamp[stage] = np.concatenate([self.stamp[stage], np.full(n_new, np.nan)])

        def grow(a: npt.NDArray[Any], fill: Any) -> npt.NDArray[Any]:
            return np.concatenate([a, np.full(n_new, fill, dtype=a.dtype)])

        self.case_crew = grow(self.case_crew, -1)
        self.case_priority = np.concatenate(
            [self.case_priority, self.categories.priority[new.category].astype(np.int64)]
        )
        lookup = {s: i for i, s in enumerate(self.fleet.skills)}
        needed = self.categories.skill[new.category].tolist()
        missing = sorted(set(needed) - set(lookup))
        if missing:
            raise ScenarioError(
                f"raised cases need crew skill(s) {missing} but crews.skills has only "
                f"{list(self.fleet.skills)}; add them to crews.skills"
            )
        self.case_skill = np.concatenate(
            [self.case_skill, np.array([lookup[s] for s in needed], dtype=np.int64)]
        )
        self.remaining_work = np.concatenate([self.remaining_work, new.work_time.astype(float)])
        self.travel_time = grow(self.travel_time, 0.0)
        self.preemptions = grow(self.preemptions, 0)
        self.escalation_level = grow(self.escalation_level, 0)
        self._work_start = grow(self._work_start, np.nan)
        self.in_travel = grow(self.in_travel, False)
        self.raised_cases += n_new
        for i, t in zip(index.tolist(), new.report_time.tolist(), strict=True):
            self.env.process(self._raised(i, max(0.0, t - self.env.now)))
        return index

    def _raised(self, i: int, delay: float) -> Generator[simpy.Event, Any, None]:
        if delay > 0:
            yield self.env.timeout(delay)
        self._procs[i] = self.env.process(self._case(i))

    # ------------------------------------------------------------------ processes
    def _arrivals(self) -> Generator[simpy.Event, Any, None]:
        for i, t in enumerate(self.cases.report_time.tolist()):
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            self._procs[i] = self.env.process(self._case(i))

    def _case(self, i: int) -> Generator[simpy.Event, Any, None]:
        env = self.env
        self.counts["open"] += 1
        self._schedule_escalation(i, 0)
        with self.operators.request() as req:  # file
            yield req
            yield env.timeout(self.cases.file_time[i])
        self.stamp["filed"][i] = env.now
        yield env.timeout(self.dispatch_time[i])  # dispatch decision
        case_node = int(self.cases.node[i])
        while True:
            crew = yield self.request_crew(i)
            try:
                yield from self._travel(i, crew, case_node)
                self.fleet.node[crew] = case_node
                self.fleet.route_length[crew] = 0
                if math.isnan(self.stamp["arrived"][i]):
                    self.stamp["arrived"][i] = env.now
                self.fleet.status[crew] = Status.WORK
                self._work_start[i] = env.now
                yield env.timeout(self.remaining_work[i])
            except simpy.Interrupt:
                continue  # preempted: the crew has gone; wait for another
            break
        self.stamp["resolved"][i] = env.now
        self.remaining_work[i] = 0.0
        self.release(crew)
        self.counts["verify"] += 1
        with self.inspectors.request() as req:  # verify
            yield req
            yield env.timeout(self.cases.verify_time[i])
        self.stamp["verified"][i] = env.now
        self.counts["verify"] -= 1
        yield env.timeout(self.close_time[i])  # close
        self.stamp["closed"][i] = env.now
        self.counts["open"] -= 1

    def _schedule_escalation(self, i: int, level: int) -> None:
        esc = self.scenario.escalation
        if not esc.enabled or level >= len(esc.levels):
            return
        deadline = float(self.categories.deadline[self.cases.category[i]])
        due = self.cases.report_time[i] + esc.levels[level] * deadline
        ev = self.env.timeout(max(0.0, due - self.env.now))
        ev.callbacks.append(lambda _ev: self._escalate(i, level))

    def _escalate(self, i: int, level: int) -> None:
        if not math.isnan(self.stamp["closed"][i]):
            return
        self.escalation_level[i] = level + 1
        self.escalations.append((i, level + 1, float(self.env.now)))
        self._schedule_escalation(i, level + 1)

    def _shift(self, index: int) -> Generator[simpy.Event, Any, None]:
        crews = np.flatnonzero(self.fleet.shift == index)
        for t, on in shift_changes(
            self.scenario.crews.shifts[index], self.start_hour, self.scenario.horizon
        ):
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            if on:
                self._go_on(crews)
            else:
                f = self.fleet
                free = crews[
                    (f.status[crews] == Status.IDLE) | (f.status[crews] == Status.REPOSITION)
                ]
                self._go_off(free)
                busy = crews[(f.status[crews] == Status.TRAVEL) | (f.status[crews] == Status.WORK)]
                f.off_pending[busy] = True

    def _go_on(self, crews: IntArray) -> None:
        f = self.fleet
        f.off_pending[crews] = False
        fresh = crews[f.status[crews] == Status.OFF]
        f.status[fresh] = Status.IDLE
        f.node[fresh] = f.depot[fresh]
        f.duty_since[fresh] = self.env.now
        for c in fresh.tolist():
            if f.status[c] == Status.IDLE:
                self.crew_available(c)

    def _go_off(self, crews: IntArray) -> None:
        f = self.fleet
        f.duty_time[crews] += self.env.now - f.duty_since[crews]
        f.duty_since[crews] = np.nan
        f.status[crews] = Status.OFF
        f.route_length[crews] = 0
        f.off_pending[crews] = False

    def _recorder(
        self, progress: Callable[[float], None] | None
    ) -> Generator[simpy.Event, Any, None]:
        f = self.fleet
        lon, lat = self.net.node_lon, self.net.node_lat
        for k, t in enumerate(self.record_times.tolist()):
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            x, y, _ = positions_at(
                t, f.depart, f.route_offset, f.route_length, self.routes, lon, lat
            )
            still = np.isnan(x)
            x[still] = lon[f.node[still]]
            y[still] = lat[f.node[still]]
            self.rec_lon[k], self.rec_lat[k] = x, y
            self.rec_status[k] = f.status
            self.rec_open[k] = self.counts["open"]
            self.series.collect(self, f)
            self._rec_i = k + 1
            if progress is not None:
                progress(t / self.scenario.horizon)

    # ------------------------------------------------------------------ run
    def run(self, progress: Callable[[float], None] | None = None) -> Simulation:
        """Run to the horizon. Returns ``self`` for chaining."""
        env = self.env
        for s in range(len(self.scenario.crews.shifts)):
            env.process(self._shift(s))
        env.process(self._arrivals())
        env.process(self._recorder(progress))
        if self.hazards is not None:
            env.process(self.hazards.process())
        for model in self.models:
            env.process(model.process())
        self.policy.start()
        horizon = self.scenario.horizon
        # Step the clock ourselves to count processed events.
        n = 0
        while env.peek() <= horizon:
            env.step()
            n += 1
        self.events_processed = n
        env_now = horizon
        # Close open duty and busy intervals at the horizon, for utilisation.
        f = self.fleet
        on = ~np.isnan(f.duty_since)
        f.duty_time[on] += env_now - f.duty_since[on]
        busy = f.case >= 0
        f.busy_time[busy] += env_now - f.busy_since[busy]
        for model in self.models:
            model.finish()
        return self
