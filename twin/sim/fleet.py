"""Crews as arrays, and the model-level series recorded on the clock.

The state that kernels and dispatch policies read on every decision lives in
:class:`CrewFleet` arrays (one entry per crew). :class:`ModelSeries` records the
model-level series (backlog, crews by status) at every record time. The same crews as a
mesa population (:mod:`twin.sim.population`) are views onto these arrays, built only
when asked for, so a run that does not use mesa does not import it.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Protocol

import numpy as np
import simpy

from twin._types import IntArray
from twin.scenario import CrewsConfig, Shift


class LoopState(Protocol):
    """What the population reads of the engine: its clock, start and case counters."""

    env: simpy.Environment
    start: datetime
    counts: dict[str, int]


__all__ = ["SERIES", "CrewFleet", "ModelSeries", "Status", "shift_changes"]


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


def shift_changes(shift: Shift, start_hour: float, horizon: float) -> list[tuple[float, bool]]:
    """(time [s], on?) changes of one shift over the horizon, in order.

    Parameters
    ----------
    shift
        The shift.
    start_hour
        Local hour of day at run-clock 0 [h].
    horizon
        Length of the run [s].
    """
    start_s = shift.start.hour * 3600 + shift.start.minute * 60
    first = (start_s - start_hour * 3600.0) % 86400.0
    length = shift.hours * 3600.0
    changes: list[tuple[float, bool]] = []
    t = first - 86400.0
    while t < horizon:
        on, off = t, t + length
        if off > 0:
            changes.append((max(on, 0.0), True))
            if off < horizon:
                changes.append((off, False))
        t += 86400.0
    # A shift that ends as it starts again (24 h) stays on: drop the off/on pair.
    merged: list[tuple[float, bool]] = []
    for change in changes:
        if merged and change[1] and not merged[-1][1] and merged[-1][0] == change[0]:
            merged.pop()
            continue
        merged.append(change)
    return merged


#: Model-level series recorded at every record time, in column order.
SERIES = (
    "backlog", "waiting_dispatch", "travelling", "working", "idle", "on_duty",
    "in_verification",
)  # fmt: skip


class ModelSeries:
    """Model-level series (:data:`SERIES`) recorded at every record time [count].

    Parameters
    ----------
    n
        Number of record times.
    """

    def __init__(self, n: int) -> None:
        self.values = np.zeros((n, len(SERIES)), dtype=np.int64)
        self.count = 0

    def collect(self, sim: LoopState, fleet: CrewFleet) -> None:
        """Record the series now (the next row)."""
        status = fleet.status
        counts = np.bincount(status, minlength=len(Status))
        row = self.values[self.count]
        row[0] = sim.counts["open"]
        row[1] = sim.counts["waiting"]
        row[2] = counts[Status.TRAVEL]
        row[3] = counts[Status.WORK]
        row[4] = counts[Status.IDLE] + counts[Status.REPOSITION]
        row[5] = status.shape[0] - counts[Status.OFF]
        row[6] = sim.counts["verify"]
        self.count += 1

    def frame(self) -> dict[str, IntArray]:
        """The series recorded so far, by name."""
        return {name: self.values[: self.count, j] for j, name in enumerate(SERIES)}
