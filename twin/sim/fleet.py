"""Crews as a mesa population backed by arrays.

The mesa :class:`CityModel` owns the population (an ``AgentSet`` of :class:`Crew`
agents), the random generator and a ``DataCollector`` for model-level series. The state
that kernels and dispatch policies read on every decision lives in :class:`CrewFleet`
arrays (one entry per crew); a :class:`Crew` agent is a view onto its row, so mesa code
and array code see the same state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any, Protocol

import mesa
import numpy as np
import simpy

from twin._types import IntArray
from twin.scenario import CrewsConfig


class LoopState(Protocol):
    """What the population reads of the engine: its clock, start and case counters."""

    env: simpy.Environment
    start: datetime
    counts: dict[str, int]


__all__ = ["CityModel", "Crew", "CrewFleet", "Status"]


class Status(IntEnum):
    """What a crew is doing."""

    OFF = 0
    IDLE = 1
    TRAVEL = 2
    WORK = 3
    REPOSITION = 4


class CrewFleet:
    """Crew state as arrays (one entry per crew).

    Attributes
    ----------
    skill
        Skill index of each crew (into ``skills``).
    shift
        Shift index of each crew (into the scenario's shifts).
    depot
        Home node position.
    node
        Current (or last passed) node position.
    status
        :class:`Status` code.
    case
        Case being handled, or -1.
    busy_time, duty_time
        Time spent travelling to or working on cases, and time on duty [s].
    off_pending
        The crew's shift has ended; it goes off duty when its case is done.
    depart, route_offset, route_length
        The current route in the simulation's route buffer (length 0: not moving).
    """

    def __init__(
        self,
        cfg: CrewsConfig,
        depot_nodes: IntArray,
        rng: np.random.Generator,
    ) -> None:
        n = cfg.count
        self.skills: tuple[str, ...] = tuple(cfg.skills)
        # Deterministic apportionment: largest remainders of count × share.
        self.skill = _apportion(n, [cfg.skills[s] for s in self.skills])
        self.shift = _apportion(n, [s.share for s in cfg.shifts])
        rng.shuffle(self.shift)
        self.depot = depot_nodes[np.arange(n) % depot_nodes.shape[0]].astype(np.int64)
        self.node = self.depot.copy()
        self.status = np.full(n, Status.OFF, dtype=np.int8)
        self.case = np.full(n, -1, dtype=np.int64)
        self.busy_time = np.zeros(n)
        self.duty_time = np.zeros(n)
        self.duty_since = np.full(n, np.nan)
        self.busy_since = np.full(n, np.nan)
        self.off_pending = np.zeros(n, dtype=bool)
        self.depart = np.zeros(n)
        self.route_offset = np.zeros(n, dtype=np.int64)
        self.route_length = np.zeros(n, dtype=np.int64)
        self.cases_done = np.zeros(n, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.skill.shape[0])


def _apportion(n: int, shares: list[float]) -> IntArray:
    """Split ``n`` items into groups by ``shares`` (largest remainders), as group labels."""
    raw = np.asarray(shares) / np.sum(shares) * n
    counts = np.floor(raw).astype(np.int64)
    rest = n - counts.sum()
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:rest]] += 1
    return np.repeat(np.arange(len(shares)), counts).astype(np.int64)


class Crew(mesa.Agent):  # type: ignore[misc]
    """One crew: a mesa agent whose state is row ``index`` of the fleet arrays."""

    def __init__(self, model: CityModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def fleet(self) -> CrewFleet:
        """The arrays this agent views."""
        fleet: CrewFleet = self.model.fleet
        return fleet

    @property
    def status(self) -> Status:
        """Current status."""
        return Status(int(self.fleet.status[self.index]))

    @property
    def skill(self) -> str:
        """Skill name."""
        return self.fleet.skills[int(self.fleet.skill[self.index])]

    @property
    def node(self) -> int:
        """Current or last passed node position."""
        return int(self.fleet.node[self.index])


class CityModel(mesa.Model):  # type: ignore[misc]
    """The mesa model of a run: crews, the random generator, model-level data collection.

    Parameters
    ----------
    sim
        The simulation whose clock drives the model.
    fleet
        Crew arrays.
    seed
        Seed of mesa's random generators.
    """

    def __init__(self, sim: LoopState, fleet: CrewFleet, seed: int) -> None:
        super().__init__(rng=seed)
        self.sim = sim
        self.fleet = fleet
        for i in range(len(fleet)):
            Crew(self, i)
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "backlog": lambda m: m.sim.counts["open"],
                "waiting_dispatch": lambda m: m.sim.counts["waiting"],
                "travelling": lambda m: int((m.fleet.status == Status.TRAVEL).sum()),
                "working": lambda m: int((m.fleet.status == Status.WORK).sum()),
                "idle": lambda m: int(
                    ((m.fleet.status == Status.IDLE) | (m.fleet.status == Status.REPOSITION)).sum()
                ),
                "on_duty": lambda m: int((m.fleet.status != Status.OFF).sum()),
                "in_verification": lambda m: m.sim.counts["verify"],
            }
        )

    def collect(self) -> None:
        """Record the model-level series now."""
        self.datacollector.collect(self)

    def local_time(self) -> datetime:
        """The simulated wall-clock time (timezone-aware)."""
        start: datetime = self.sim.start
        return start + timedelta(seconds=float(self.sim.env.now))

    def crews(self) -> Any:
        """The crews as a mesa ``AgentSet``."""
        return self.agents_by_type[Crew]
