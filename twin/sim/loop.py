"""What the case loop offers to the parts it drives: the :class:`CaseLoop` protocol.

Dispatch policies, the mesa population and the coupled models read and act on the
engine through these members only. They are typed against this protocol, not against
:class:`~twin.sim.engine.Simulation`, so the engine imports them and never the reverse.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt
import simpy

from twin._types import FloatArray, IntArray
from twin.cases.stream import CaseStream
from twin.network.road_network import RoadNetwork

if TYPE_CHECKING:
    from twin.sim.fleet import CrewFleet, Status

__all__ = ["CaseLoop"]


class CaseLoop(Protocol):
    """The engine as seen by dispatch policies and the crew population."""

    env: simpy.Environment
    net: RoadNetwork
    cases: CaseStream
    fleet: CrewFleet
    start: datetime
    counts: dict[str, int]
    case_priority: IntArray
    case_skill: IntArray
    demand_nodes: IntArray

    @property
    def demand_weight(self) -> FloatArray:
        """Relative weight of the expected demand at each of ``demand_nodes`` [-]."""

    def hour(self) -> float:
        """Local hour of day now (fractional) [h]."""

    def update_moving_nodes(self) -> None:
        """Set the node of every moving crew to the last node it has passed."""

    def nearest_crews(
        self, node: int, mask: npt.NDArray[np.bool_], k: int = 1
    ) -> tuple[IntArray, FloatArray]:
        """Up to ``k`` crews in ``mask`` nearest to ``node`` by travel time now [s]."""

    def available_mask(self, skill: int) -> npt.NDArray[np.bool_]:
        """Crews that may take a new case of ``skill`` now."""

    def dequeue(self, key: Hashable) -> int | None:
        """The next waiting case of queue ``key``, or ``None``."""

    def assign(self, crew: int, case: int) -> None:
        """Give ``case`` to ``crew`` now."""

    def move(self, crew: int, target: int, status: Status) -> float:
        """Send ``crew`` to node position ``target``; returns the travel time [s]."""
