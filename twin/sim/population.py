"""The crews as a mesa population: agents that are views onto the fleet's arrays.

The mesa :class:`CityModel` owns the population (an ``AgentSet`` of :class:`Crew`
agents) and a random generator; a :class:`Crew` agent is a view onto its row of the
:class:`~twin.sim.fleet.CrewFleet` arrays, so mesa code and array code see the same
state. The engine builds it only when asked (:attr:`twin.sim.engine.Simulation.model`):
the case loop itself runs on the arrays, and importing mesa costs a quarter of a second.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import mesa

from twin.sim.fleet import SERIES, CrewFleet, LoopState, ModelSeries, Status

__all__ = ["CityModel", "Crew"]


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
            model_reporters={name: _reporter(j) for j, name in enumerate(SERIES)}
        )

    def collect(self) -> None:
        """Record the model-level series now (as :class:`~twin.sim.fleet.ModelSeries`)."""
        self.datacollector.collect(self)

    def local_time(self) -> datetime:
        """The simulated wall-clock time (timezone-aware)."""
        start: datetime = self.sim.start
        return start + timedelta(seconds=float(self.sim.env.now))

    def crews(self) -> Any:
        """The crews as a mesa ``AgentSet``."""
        return self.agents_by_type[Crew]


def _reporter(column: int) -> Any:
    """A mesa model reporter of one :data:`~twin.sim.fleet.SERIES` column, now."""

    def report(m: CityModel) -> int:
        series = ModelSeries(1)
        series.collect(m.sim, m.fleet)
        return int(series.values[0, column])

    return report
