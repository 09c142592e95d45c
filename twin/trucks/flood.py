"""Road states that change on the run's clock (waterlogging), as the trucks see them.

:class:`RoadStates` is a piecewise-constant schedule of per-edge travel-time factors:
from each change time on, a set of edges takes a factor (1 open, ``1 / slow_factor``
impeded, ``inf`` closed), until a later change sets them again. The run builds it from
the water at the low points (:func:`twin.coupling.hazards.road_states`, the same rule as
the crews' hazards: an edge is closed while any of its low points is closed, slowed while
any is impeded), so trucks and crews take their routes from one road state on one clock.

How trucks use it (:func:`drive`):

- a route is planned on the road state at departure (closed edges weigh ``inf``; the
  :class:`~twin.trucks.routing.Router` caches weights per state epoch);
- while driving, the truck wakes at every change of the road state; if an edge it has
  not yet entered is now closed, it re-plans from the end of the edge it is on (the next
  node on its route) on the new state: a **flood reroute**, and the trip's arrival moves
  by the **flood delay** (negative when a reopening gives a faster way is not sought:
  only closures trigger a re-plan);
- if no way is left, it waits at that node for the next change of the road state.

Simplifications, stated: re-planning happens at state changes only (a truck does not
look ahead at closures that will come); a truck already on an edge that closes drives
to its end; a truck leaving a spill trail re-plans only after the trail's start.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Protocol

import numpy as np
import simpy

from twin._types import FloatArray
from twin.network.road_network import RoadNetwork
from twin.trucks.roadstates import RoadStates
from twin.trucks.routing import Leg, Router

__all__ = ["RoadStates", "TruckDriver", "drive"]


class TruckDriver(Protocol):
    """What :func:`drive` needs of a truck model (:class:`twin.trucks.model.TruckModel`)."""

    road_states: RoadStates
    router: Router
    net: RoadNetwork
    trips: dict[str, list[Any]]
    t0: float

    def replace_leg(
        self, i: int, trip: int, phase: int, leg: Leg, t: float, *, append: bool = False
    ) -> None:
        """Put a re-planned leg in the truck's position record, track and trip books."""
        ...


def _joined(old: Leg, k: int, new: Leg, edge_length: FloatArray) -> Leg:
    """``old`` up to its node ``k``, then ``new`` (which starts at that node)."""
    t_k = float(old.cumtime[k])
    nodes = np.concatenate([old.nodes[: k + 1], new.nodes[1:]])
    edges = np.concatenate([old.edges[:k], new.edges])
    cum = np.concatenate([old.cumtime[: k + 1], t_k + new.cumtime[1:]])
    return Leg(nodes, edges, cum, float(edge_length[edges].sum()))


def drive(
    model: TruckDriver, env: simpy.Environment, i: int, trip: int, phase: int, leg: Leg,
    t_start: float, *, until: float = float("inf"),
) -> Generator[simpy.Event, Any, tuple[Leg, float]]:  # fmt: skip
    """Drive truck ``i`` along ``leg`` (departed at ``t_start``), re-planning on closures.

    Returns the leg actually driven and its start time (the truck is at its last node,
    or on it at ``until`` [s] when that comes first). The model's position record, edge
    track and trip books follow every re-plan.
    """
    states = model.road_states
    if not states.ever_closed:  # no closure in this run: drive the leg as planned
        rest = min(t_start + leg.duration, until) - (env.now - model.t0)
        if rest > 1e-9:
            yield env.timeout(rest)
        return leg, t_start
    dest = int(leg.nodes[-1])
    while True:
        now = env.now - model.t0
        k = int(np.searchsorted(leg.cumtime, now - t_start, side="left"))  # next node reached
        ahead = leg.edges[k:] if k < leg.nodes.size - 1 else leg.edges[:0]
        if ahead.size and states.closed(states.epoch_at(now))[ahead].any():
            leg, t_start = yield from _replan(model, env, i, trip, phase, leg, t_start, k, dest)
            continue
        rest = min(t_start + leg.duration, until) - now
        if rest <= 1e-9:
            return leg, t_start
        nxt = states.next_change(now)
        if nxt - now >= rest:
            yield env.timeout(rest)
            return leg, t_start
        yield env.timeout(nxt - now)


def _replan(
    model: TruckDriver, env: simpy.Environment, i: int, trip: int, phase: int, leg: Leg,
    t_start: float, k: int, dest: int,
) -> Generator[simpy.Event, Any, tuple[Leg, float]]:  # fmt: skip
    """A new way from node ``k`` of ``leg`` (waiting there while none is open)."""
    states = model.road_states
    now = env.now - model.t0
    t_k = t_start + float(leg.cumtime[k])
    old_end = t_start + leg.duration
    new = model.router.route(int(leg.nodes[k]), dest, t_k)
    tr = model.trips
    tr["flood_reroutes"][trip] += 1
    if new is None:  # no way left: stop at node k, wait for the next change, re-plan
        leg = model.router.cut(leg, k)
        model.replace_leg(i, trip, phase, leg, t_start)
        yield env.timeout(max(t_k - now, 0.0))
        while True:
            now = env.now - model.t0
            wait = states.next_change(now) - now
            if not np.isfinite(wait):
                return leg, t_start  # never reopens in this run: stranded at this node
            yield env.timeout(wait)
            now = env.now - model.t0
            new = model.router.route(int(leg.nodes[-1]), dest, now)
            if new is not None:
                break
        tr["flood_delay_s"][trip] += now + new.duration - old_end
        model.replace_leg(i, trip, phase, new, now, append=True)
        return new, now
    joined = _joined(leg, k, new, model.net.length)
    tr["flood_delay_s"][trip] += t_start + joined.duration - old_end
    model.replace_leg(i, trip, phase, joined, t_start)
    return joined, t_start
