"""Pre-positioning crews on predictive alerts: send idle crews before the problem appears.

:class:`AlertStaging` is one of the engine's ``models`` (a simpy process beside the case
loop). At each alert's issue time it sends the ``crews`` nearest idle crews of the
needed skill (by network travel time now, idle or already repositioning) toward the
alerted node; they drive there (status ``REPOSITION``) and wait. A case that comes up
meanwhile may take them as it may take any idle crew, so staging never blocks service.
Used for waterlogging forecasts (an alert at a low point stages crews of the ponding
category's skill there), so that the value of a forecast shows in the case KPIs.

Simplification, stated: a staged crew waits at the node until a case or the next
repositioning takes it; it does not go back to its depot by itself.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from twin._types import FloatArray, IntArray
from twin.errors import NoRouteError
from twin.sim.fleet import Status

if TYPE_CHECKING:
    from twin.sim.engine import Simulation

__all__ = ["AlertStaging"]


class AlertStaging:
    """Stage idle crews at alerted nodes at the alerts' issue times.

    Parameters
    ----------
    sim
        The simulation.
    issue_time
        When each alert is issued, run clock [s] (any order).
    node
        Node position of each alert.
    skill
        Crew skill to send (index into ``sim.fleet.skills``).
    crews
        Crews sent per alert.
    """

    def __init__(
        self,
        sim: Simulation,
        issue_time: FloatArray,
        node: IntArray,
        *,
        skill: int,
        crews: int = 1,
    ) -> None:
        issue_time = np.asarray(issue_time, dtype=np.float64)
        node = np.asarray(node, dtype=np.int64)
        if issue_time.shape != node.shape:
            raise ValueError("issue_time and node must have one entry per alert")
        order = np.argsort(issue_time, kind="stable")
        self.sim = sim
        self.issue_time = issue_time[order]
        self.node = node[order]
        self.skill = int(skill)
        self.crews = int(crews)
        #: (time [s], node, crew) of each crew sent.
        self.log: list[tuple[float, int, int]] = []
        #: The alert messages behind the staging (a table, and the message objects for
        #: CAP rendering), when known.
        self.timeline: Any = None
        self.messages: list[Any] = []
        #: The forecast replay behind the alerts (issue times and the future rain each
        #: forecast was given), when known.
        self.replay: Any = None

    def process(self) -> Generator[Any, Any, None]:
        """The simpy process: wait for each alert, then stage crews."""
        env = self.sim.env
        for t, nd in zip(self.issue_time.tolist(), self.node.tolist(), strict=True):
            if t >= self.sim.scenario.horizon:
                break
            if t > env.now:
                yield env.timeout(t - env.now)
            self.stage(int(nd))

    def stage(self, node: int) -> IntArray:
        """Send up to ``crews`` nearest available crews of the skill to ``node`` now."""
        sim = self.sim
        f = sim.fleet
        sim.update_moving_nodes()
        mask = sim.available_mask(self.skill)
        crews, _ = sim.nearest_crews(node, mask, k=self.crews)
        sent = []
        for crew in crews.tolist():
            try:
                sim.move(crew, node, Status.REPOSITION)
            except NoRouteError:  # cut off by closures for now: stay put
                f.route_length[crew] = 0
            if f.route_length[crew] == 0:
                f.status[crew] = Status.IDLE
            sent.append(crew)
            self.log.append((float(sim.env.now), node, crew))
        return np.array(sent, dtype=np.int64)

    def finish(self) -> None:
        """Nothing to gather at the end of the run."""
