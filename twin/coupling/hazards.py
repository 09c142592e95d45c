"""Hazards on the simulation clock: road states from water depth, and rerouting.

:class:`HazardController` replays the road-state changes of a
:class:`~twin.hydro.waterlogging.Waterlogging` as simpy events. Several low points may touch
the same edge; an edge is closed while any of its points is closed, slowed while any is
impeded, and open otherwise. When an edge gets worse, crews whose remaining route uses
it reroute from the last node they passed (a simplification: a crew part-way along an
edge is taken back to that edge's start).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from twin._types import IntArray
from twin.errors import NoRouteError
from twin.hydro.waterlogging import CLOSED, IMPEDED, Waterlogging
from twin.sim.fleet import Status
from twin.trucks.flood import RoadStates

if TYPE_CHECKING:
    from twin.sim.engine import Simulation

__all__ = ["HazardController", "road_states"]


def road_states(water: Waterlogging, n_edges: int, slow_factor: float) -> RoadStates:
    """The water's road states as a schedule the trucks route on (same rule as the crews').

    An edge is closed (travel-time factor ``inf``) while any of its low points is closed,
    slowed (``slow_factor``) while any is impeded, and open (1) otherwise; one change per
    change of a low point's state, setting that point's edges.
    """
    closed = np.zeros(n_edges, dtype=np.int64)
    impeded = np.zeros(n_edges, dtype=np.int64)
    state = np.zeros(len(water.points), dtype=np.int64)
    times: list[float] = []
    edges_of: list[IntArray] = []
    factors: list[np.ndarray] = []
    for t, p, s in zip(
        water.change_time.tolist(), water.change_point.tolist(), water.change_state.tolist(),
        strict=True,
    ):  # fmt: skip
        edges = water.points.edges[p]
        for st, sign in ((int(state[p]), -1), (s, 1)):
            if st == CLOSED:
                closed[edges] += sign
            elif st == IMPEDED:
                impeded[edges] += sign
        state[p] = s
        f = np.where(closed[edges] > 0, np.inf, np.where(impeded[edges] > 0, slow_factor, 1.0))
        times.append(float(t))
        edges_of.append(np.asarray(edges, dtype=np.int64))
        factors.append(f)
    return RoadStates(n_edges, times, edges_of, factors)


class HazardController:
    """Applies water-driven road states to the network as the clock passes them.

    Attributes
    ----------
    log
        Applied changes: ``(time [s], point, state, edges changed)``.
    reroutes
        Number of crews rerouted because an edge on their way got worse.
    """

    def __init__(self, sim: Simulation, water: Waterlogging) -> None:
        self.sim = sim
        self.water = water
        n_edges = sim.net.n_edges
        self.closed_count = np.zeros(n_edges, dtype=np.int64)
        self.impeded_count = np.zeros(n_edges, dtype=np.int64)
        self.point_state = np.zeros(len(water.points), dtype=np.int64)
        self.log: list[tuple[float, int, int, int]] = []
        self.reroutes = 0

    def process(self) -> Generator[simpy.Event, Any, None]:
        """The simpy process that applies every change at its time."""
        env = self.sim.env
        w = self.water
        for t, p, s in zip(
            w.change_time.tolist(), w.change_point.tolist(), w.change_state.tolist(), strict=True
        ):
            if t > env.now:
                yield env.timeout(t - env.now)
            self.apply(p, s)

    def apply(self, point: int, state: int) -> None:
        """Set ``point`` to ``state`` and update its edges on the network."""
        edges = self.water.points.edges[point]
        old = int(self.point_state[point])
        for st, sign in ((old, -1), (state, 1)):
            if st == CLOSED:
                self.closed_count[edges] += sign
            elif st == IMPEDED:
                self.impeded_count[edges] += sign
        self.point_state[point] = state
        net = self.sim.net
        closed = edges[self.closed_count[edges] > 0]
        slowed = edges[(self.closed_count[edges] == 0) & (self.impeded_count[edges] > 0)]
        clear = edges[(self.closed_count[edges] == 0) & (self.impeded_count[edges] == 0)]
        if closed.size:
            net.close_edges(closed)
        if slowed.size:
            net.slow_edges(slowed, self.sim.scenario.hydro.slow_factor)
        if clear.size:
            net.reopen_edges(clear)
        self.log.append((float(self.sim.env.now), point, state, int(edges.size)))
        if state > old:
            self.reroute(edges)

    def reroute(self, edges: IntArray) -> None:
        """Send moving crews whose remaining route uses ``edges`` on a new route."""
        sim = self.sim
        f = sim.fleet
        now = sim.env.now
        for crew in np.flatnonzero(f.route_length > 0).tolist():
            off, n = int(f.route_offset[crew]), int(f.route_length[crew])
            nodes = sim.routes.nodes[off : off + n]
            cum = sim.routes.cumtime[off : off + n]
            idx = max(0, int(np.searchsorted(cum, now - f.depart[crew], side="right")) - 1)
            if idx >= n - 1:
                continue
            ahead = sim.net.path_edges(nodes[idx:])
            if not np.isin(ahead, edges).any():
                continue
            f.node[crew] = nodes[idx]
            f.route_length[crew] = 0
            self.reroutes += 1
            if f.status[crew] == Status.TRAVEL:
                case = int(f.case[crew])
                if case >= 0 and sim.in_travel[case]:
                    sim.interrupt_case(case, "reroute")
            elif f.status[crew] == Status.REPOSITION:
                try:
                    sim.move(crew, int(nodes[-1]), Status.REPOSITION)
                except NoRouteError:
                    f.status[crew] = Status.IDLE
