"""Dispatch policies: who handles a case, and what a free crew does next.

Every policy answers three questions through one small interface:

- :meth:`DispatchPolicy.choose`: a new case needs a crew; which one (and does it
  preempt its current job)? ``None`` puts the case in a waiting queue.
- :meth:`DispatchPolicy.queue_key` / :meth:`DispatchPolicy.crew_key`: which queue a
  waiting case joins, and which queue a crew that becomes free serves. Queues are served
  by priority, then first come, first served.
- :meth:`DispatchPolicy.on_idle`: a crew is free and nothing waits for it.

Travel times are network travel times at the current hour, found by a Dijkstra on the
reversed graph that stops at the first idle crews it reaches.

Policies
--------
``nearest_idle``
    The idle crew with the right skill that reaches the case first.
``fixed_zones``
    The district is a grid of square cells (``zone_size_m``); each cell belongs to the
    depot nearest its centre, and only that depot's crews serve it. A zone without any
    crew of the needed skill falls back to ``nearest_idle``.
``priority_preemption``
    As ``nearest_idle``; but when no crew is idle, a priority-1 case takes the nearest
    crew busy with a priority-3 case, which goes back to the queue with its remaining
    work.
``workload_balancing``
    Among the ``candidates`` nearest idle crews within ``slack_s`` of the nearest, the one
    with the least busy time so far.
``prepositioning``
    As ``nearest_idle``; and every ``reposition_every`` seconds, idle crews move toward
    the nodes of expected demand, in proportion to it.
"""

from __future__ import annotations

from collections.abc import Generator, Hashable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import simpy
from typing_extensions import override

from twin.errors import NoRouteError
from twin.scenario import DispatchConfig
from twin.sim.fleet import Status

if TYPE_CHECKING:
    from twin.sim.loop import CaseLoop

__all__ = [
    "DispatchPolicy",
    "FixedZones",
    "NearestIdle",
    "Prepositioning",
    "PriorityPreemption",
    "WorkloadBalancing",
    "make_policy",
]


class DispatchPolicy:
    """Base policy: nearest idle crew by travel time; queues per skill."""

    name = "base"

    def __init__(self, cfg: DispatchConfig, sim: CaseLoop) -> None:
        self.cfg = cfg
        self.sim = sim

    def start(self) -> None:
        """Start any periodic process the policy needs (called once before the run)."""

    def queue_key(self, case: int) -> Hashable:
        """The queue a waiting case joins."""
        return int(self.sim.case_skill[case])

    def crew_key(self, crew: int) -> Hashable:
        """The queue a free crew serves."""
        return int(self.sim.fleet.skill[crew])

    def _nearest(self, case: int, mask: npt.NDArray[np.bool_]) -> tuple[int, bool] | None:
        crews, _ = self.sim.nearest_crews(int(self.sim.cases.node[case]), mask, k=1)
        return (int(crews[0]), False) if crews.size else None

    def choose(self, case: int) -> tuple[int, bool] | None:
        """``(crew, preempt)`` for a new case, or ``None`` to queue it."""
        self.sim.update_moving_nodes()
        return self._nearest(case, self.sim.available_mask(int(self.sim.case_skill[case])))

    def on_idle(self, crew: int) -> None:
        """A crew is free with nothing waiting; by default it stays where it is."""


class NearestIdle(DispatchPolicy):
    """The idle crew with the right skill that reaches the case first."""

    name = "nearest_idle"


class FixedZones(DispatchPolicy):
    """Grid ownership: each grid cell is served only by the crews of its depot."""

    name = "fixed_zones"

    def __init__(self, cfg: DispatchConfig, sim: CaseLoop) -> None:
        super().__init__(cfg, sim)
        net = sim.net
        x, y = net.projector.forward(net.node_lon, net.node_lat)
        size = cfg.zone_size_m
        cx = (np.floor(x / size) + 0.5) * size
        cy = (np.floor(y / size) + 0.5) * size
        depots = np.unique(sim.fleet.depot)
        dx, dy = x[depots], y[depots]
        # Owner of each node's cell: the depot nearest the cell centre (Euclidean).
        d2 = (cx[:, None] - dx[None, :]) ** 2 + (cy[:, None] - dy[None, :]) ** 2
        self.node_zone = np.argmin(d2, axis=1).astype(np.int64)
        self.crew_zone = np.searchsorted(depots, sim.fleet.depot).astype(np.int64)
        n_skill = len(sim.fleet.skills)
        self.has_skill = np.zeros((depots.shape[0], n_skill), dtype=bool)
        self.has_skill[self.crew_zone, sim.fleet.skill] = True

    def _zone_of_case(self, case: int) -> tuple[int, bool]:
        zone = int(self.node_zone[self.sim.cases.node[case]])
        return zone, bool(self.has_skill[zone, self.sim.case_skill[case]])

    @override
    def queue_key(self, case: int) -> Hashable:
        zone, served = self._zone_of_case(case)
        skill = int(self.sim.case_skill[case])
        return (zone, skill) if served else ("any", skill)

    @override
    def crew_key(self, crew: int) -> Hashable:
        return (int(self.crew_zone[crew]), int(self.sim.fleet.skill[crew]))

    @override
    def choose(self, case: int) -> tuple[int, bool] | None:
        self.sim.update_moving_nodes()
        zone, served = self._zone_of_case(case)
        mask = self.sim.available_mask(int(self.sim.case_skill[case]))
        if served:
            mask &= self.crew_zone == zone
        return self._nearest(case, mask)

    @override
    def on_idle(self, crew: int) -> None:
        # A crew also serves cases of zones that have no crew of its skill.
        nxt = self.sim.dequeue(("any", int(self.sim.fleet.skill[crew])))
        if nxt is not None:
            self.sim.assign(crew, nxt)


class PriorityPreemption(DispatchPolicy):
    """Nearest idle; if none, a priority-1 case preempts the nearest priority-3 job."""

    name = "priority_preemption"

    @override
    def choose(self, case: int) -> tuple[int, bool] | None:
        got = super().choose(case)
        sim = self.sim
        if got is not None or sim.case_priority[case] != 1:
            return got
        f = sim.fleet
        busy = (f.status == Status.TRAVEL) | (f.status == Status.WORK)
        low = np.zeros(len(f), dtype=bool)
        low[busy] = sim.case_priority[f.case[busy]] == 3
        mask = low & (f.skill == sim.case_skill[case])
        crews, _ = sim.nearest_crews(int(sim.cases.node[case]), mask, k=1)
        return (int(crews[0]), True) if crews.size else None


class WorkloadBalancing(DispatchPolicy):
    """Among near-equally close idle crews, the one that has worked least so far."""

    name = "workload_balancing"

    @override
    def choose(self, case: int) -> tuple[int, bool] | None:
        sim = self.sim
        sim.update_moving_nodes()
        mask = sim.available_mask(int(sim.case_skill[case]))
        crews, times = sim.nearest_crews(int(sim.cases.node[case]), mask, k=self.cfg.candidates)
        if crews.size == 0:
            return None
        near = times <= times[0] + self.cfg.slack_s
        crews, times = crews[near], times[near]
        busy = sim.fleet.busy_time[crews]
        best = np.lexsort((times, busy))[0]
        return int(crews[best]), False


class Prepositioning(DispatchPolicy):
    """Nearest idle, plus idle crews moved toward expected demand at regular intervals."""

    name = "prepositioning"

    def __init__(self, cfg: DispatchConfig, sim: CaseLoop) -> None:
        super().__init__(cfg, sim)
        # The run may pass the weight as a function: computed now, while the run
        # prepares, and not on its clock.
        _ = sim.demand_weight

    @override
    def start(self) -> None:
        if self.sim.demand_nodes.size:
            self.sim.env.process(self._reposition_loop())

    def _reposition_loop(self) -> Generator[simpy.Event, Any, None]:
        sim = self.sim
        while True:
            self.reposition()
            yield sim.env.timeout(self.cfg.reposition_every)

    def reposition(self) -> None:
        """Send idle crews of each skill toward demand nodes, in proportion to demand."""
        sim = self.sim
        f = sim.fleet
        sim.update_moving_nodes()
        targets = sim.demand_nodes
        weight = sim.demand_weight / sim.demand_weight.sum()
        for skill in range(len(f.skills)):
            idle = np.flatnonzero((f.status == Status.IDLE) & (f.skill == skill))
            if idle.size == 0:
                continue
            quota = np.floor(weight * idle.size).astype(np.int64)
            rest = idle.size - quota.sum()
            quota[np.argsort(-(weight * idle.size - quota), kind="stable")[:rest]] += 1
            times = sim.net.travel_time_matrix(
                f.node[idle], targets, when=sim.hour(), by_position=True
            )
            free = np.ones(idle.size, dtype=bool)
            for j in np.argsort(-weight, kind="stable"):
                for _ in range(int(quota[j])):
                    cand = np.flatnonzero(free)
                    if cand.size == 0:
                        break
                    pick = cand[np.argmin(times[cand, j])]
                    free[pick] = False
                    crew = int(idle[pick])
                    try:
                        sim.move(crew, int(targets[j]), Status.REPOSITION)
                    except NoRouteError:  # the target is cut off by closures for now
                        f.route_length[crew] = 0
                    if f.route_length[crew] == 0:
                        f.status[crew] = Status.IDLE


_POLICIES: dict[str, type[DispatchPolicy]] = {
    p.name: p
    for p in (NearestIdle, FixedZones, PriorityPreemption, WorkloadBalancing, Prepositioning)
}


def make_policy(cfg: DispatchConfig, sim: CaseLoop) -> DispatchPolicy:
    """The policy named in ``cfg``."""
    return _POLICIES[cfg.policy](cfg, sim)
