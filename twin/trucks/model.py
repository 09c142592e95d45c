r"""The muck-truck day: trucks cycle site → dock → site on a simpy clock.

Each truck is a simpy process with event-driven legs; nothing is stepped per second:

1. **wait** until its site is working (``working_hours``) and still has trips left
   today (the site's daily quota resets at each opening of its window);
2. **load** at one of the site's ``site_loaders`` (a ``simpy.Resource``) for
   ``loading_time``; loading starts only inside the working window;
3. **drive loaded** to the dock with the least expected cost: travel time + the wait
   until it opens + the trucks already heading to or waiting at it × its unloading
   time ÷ its berths. The route is the fastest one at the departure hour avoiding every
   edge banned at any time of the trip (:class:`~twin.trucks.routing.Router`); when the
   bans cut every path the truck waits at the site until the next ban change;
4. **queue** for a berth (a ``simpy.Resource`` with ``berths`` places per dock) and wait
   for the dock's opening hours; **unload** for the dock's ``unload_minutes``;
5. **return** empty to the site (compliant route).

Violations are drawn per trip from the company's compliance profile, from their own
random stream (:class:`~twin.trucks.config.ComplianceProfile`): an overloaded truck
carries ``capacity × (1 + overload_fraction)``; a spilling truck loses
``spill_rate × L`` along a trail of length :math:`L \sim \mathrm{Exp}(\bar L)` starting
at a uniform point of the loaded leg (truncated at its end); a dumping truck tips its
load at a node a uniform fraction along its route, waits ``dump_time`` and returns; a
deviating driver takes the fastest route ignoring bans (a violation only when that route
uses an edge while it is banned); a speeding truck drives the loaded leg
``speeding_factor`` times faster. Detection and tracing follow the run
(:mod:`twin.trucks.detection`); detection does not change what trucks do.

Where every truck is, is computed by the compiled kernel
:func:`twin.network.movement.positions_at` over the whole fleet at each record tick.

Spoil is booked where it physically moves — loaded at the site (end of loading), spilled
at the start of the trail, dumped at the start of the tip, delivered at the end of
unloading — so at any time

.. math:: V_\text{loaded} = V_\text{delivered} + V_\text{dumped} + V_\text{spilled}
          + V_\text{in transit}.

Waterlogging: with ``road_states`` (the run's road states on its clock), routes take the
closures in force at departure and a driving truck re-plans when an edge ahead closes
(:mod:`twin.trucks.flood`).

Simplifications, stated: a truck serves one site all day; travel times are fixed at
departure (departure-hour congestion); a dock closing while trucks queue sends them to
wait for the next opening; trucks do not interact on the road (no truck congestion).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Generator
from datetime import datetime
from typing import Any

import numpy as np
import simpy

from twin._types import FloatArray, IntArray
from twin.network.movement import RouteBuffer, positions_at
from twin.network.road_network import RoadNetwork
from twin.seeds import stream_seed
from twin.trucks.actors import Docks, Fleet, Sites, build_fleet, load_docks, load_sites
from twin.trucks.config import VIOLATION_KINDS, TrucksConfig
from twin.trucks.errors import TruckError
from twin.trucks.flood import RoadStates, drive
from twin.trucks.routing import BanSchedule, Clock, Leg, Router

__all__ = ["STATUS", "TruckModel"]

logger = logging.getLogger(__name__)

#: Truck status codes (index = code).
STATUS = (
    "idle", "waiting_to_load", "loading", "loaded", "at_dock", "unloading",
    "dumping", "returning", "waiting_for_route",
)  # fmt: skip
IDLE, WAIT_LOAD, LOADING, LOADED, AT_DOCK, UNLOADING, DUMPING, RETURNING, WAIT_ROUTE = range(9)
SPILL, DUMP, DEVIATE, SPEED, OVERLOAD = range(5)

_TRIP_FLOAT = (
    "load_start", "depart", "arrive", "unload_start", "unload_end", "return_start",
    "return_end", "planned_arrive", "route_length_m", "return_length_m", "spoil_m3",
    "spilled_m3", "delivered_m3", "dumped_m3", "flood_delay_s",
)  # fmt: skip
_TRIP_INT = ("truck", "company", "site", "dock", "dump_node", "banned_edges_used",
             "flood_reroutes")  # fmt: skip


def _next_start(clock: Clock, window: tuple[float, float], t: float) -> float:
    """Seconds from ``t`` to the next opening of ``window`` strictly after ``t``."""
    h = clock.hour_of_day(t)
    d = ((window[0] - h) % 24.0) * 3600.0
    return d if d > 1e-9 else 86400.0


class TruckModel:
    """One seeded muck-truck run: actors, processes, and what they recorded.

    Parameters
    ----------
    net
        The road network (its closures and congestion apply).
    cfg
        The configuration.
    start
        Timezone-aware start of the run (the local clock of hours and bans).
    horizon
        Length of the run [s].
    seed
        Seed of the random streams.
    record_interval
        Positions are recorded every this many seconds [s]; ``cfg.record_interval`` when
        ``None``.
    road_states
        Edge states changing on the run's clock (waterlogging); None: none.
    """

    def __init__(
        self,
        net: RoadNetwork,
        cfg: TrucksConfig,
        *,
        start: datetime,
        horizon: float,
        seed: int,
        record_interval: float | None = None,
        road_states: RoadStates | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise TruckError("start must be timezone-aware (e.g. Asia/Shanghai)")
        if not horizon > 0:
            raise TruckError(f"horizon must be > 0 s, got {horizon}")
        self.net, self.cfg = net, cfg
        self.clock = Clock(start)
        self.horizon = float(horizon)
        self.seed = int(seed)
        self.record_interval = float(record_interval or cfg.record_interval)
        streams = stream_seed(self.seed, "truck_model").spawn(3)
        self.viol_rng, self.detect_seed, self.place_rng = (
            np.random.default_rng(streams[0]), streams[1], np.random.default_rng(streams[2]),
        )  # fmt: skip
        self.sites: Sites = load_sites(net, cfg)
        self.docks: Docks = load_docks(net, cfg)
        exempt = np.concatenate([self.sites.node, self.docks.node])
        self.schedule = BanSchedule.from_bans(net, cfg.bans, self.clock, exempt_nodes=exempt)
        self.road_states = road_states or RoadStates.none(net.n_edges)
        self.router = Router(net, self.schedule, cfg.truck.speed_factor, self.docks.node,
                             self.road_states)  # fmt: skip
        self.fleet: Fleet = build_fleet(self.sites, cfg, self._cycle_estimate())
        self.profiles = np.array([c.profile.as_tuple() for c in cfg.companies], dtype=float)
        n = self.fleet.n_trucks
        self.t0 = 0.0
        # Truck state (arrays over the fleet).
        self.depart = np.zeros(n)
        self.route_offset = np.zeros(n, dtype=np.int64)
        self.route_length = np.zeros(n, dtype=np.int64)
        self.node = self.sites.node[self.fleet.truck_site].copy()
        self.status = np.zeros(n, dtype=np.int64)
        self.load = np.zeros(n)
        self.routes = RouteBuffer()
        # Books [m³].
        self.site_loaded = np.zeros(len(self.sites))
        self.dock_delivered = np.zeros(len(self.docks))
        self.dumped = 0.0
        self.spilled = 0.0
        self.site_occ = np.full(len(self.sites), -(10**9), dtype=np.int64)
        self.site_left = np.zeros(len(self.sites), dtype=np.int64)
        self.committed = np.zeros(len(self.docks), dtype=np.int64)
        self.waiting_open = np.zeros(len(self.docks), dtype=np.int64)
        # Records.
        self.trips: dict[str, list[Any]] = {k: [] for k in (*_TRIP_FLOAT, *_TRIP_INT, "fate")}
        self.flags: list[list[bool]] = []
        self.violations: dict[str, list[Any]] = {
            k: [] for k in ("kind", "time", "edge", "node", "trip", "length_m", "volume_m3")
        }
        self.stretch: dict[str, list[Any]] = {k: [] for k in ("violation", "edge", "enter", "m")}
        self.track: list[tuple[int, int, IntArray, FloatArray, FloatArray]] = []
        self._track_at: dict[tuple[int, int], int] = {}
        #: GPS stops of loaded trucks away from docks: [truck, node, start, end] [s].
        self.stops: list[list[float]] = []
        self.queue_rec: list[IntArray] = []
        # Record times include the horizon, as the case loop's do.
        self.rec_times = np.arange(0.0, self.horizon + 1e-9, self.record_interval)
        k = self.rec_times.size
        self.rec_lon = np.zeros((k, n))
        self.rec_lat = np.zeros((k, n))
        self.rec_status = np.zeros((k, n), dtype=np.int8)
        self.rec_queue = np.zeros((k, len(self.docks)), dtype=np.int64)
        self.events = 0

    # ------------------------------------------------------------------ set-up
    def _cycle_estimate(self) -> FloatArray:
        """Loading + 2 × free-flow truck drive to the nearest dock + mean unloading [s]."""
        # Dock → site times (3 trees, not 30): the estimate needs no direction.
        tt = self.net.travel_time_matrix(self.docks.node, self.sites.node, by_position=True)
        drive = tt.min(axis=0) / self.cfg.truck.speed_factor
        if not np.all(np.isfinite(drive)):
            bad = self.sites.id[~np.isfinite(drive)]
            raise TruckError(
                f"trucks.sites: no dock can be reached from site(s) {', '.join(bad[:5])}; "
                "reopen closed edges or move the sites"
            )
        out: FloatArray = (
            self.cfg.truck.loading_time + 2.0 * drive + float(self.docks.unload_time.mean())
        )
        return out

    def _set_route(self, i: int, leg: Leg, t: float) -> None:
        if leg.nodes.size >= 2:
            self.route_offset[i] = self.routes.append(leg.nodes, leg.cumtime)
            self.route_length[i] = leg.nodes.size
            self.depart[i] = t
        else:
            self.route_length[i] = 0

    def _arrive(self, i: int, node: int) -> None:
        self.route_length[i] = 0
        self.node[i] = node

    def _log_leg(self, trip: int, phase: int, leg: Leg, t: float) -> None:
        if leg.edges.size:
            enter = t + leg.cumtime[:-1]
            leave = t + leg.cumtime[1:]
            self._track_at[(trip, phase)] = len(self.track)
            self.track.append((trip, phase, leg.edges, enter, leave))

    def replace_leg(
        self, i: int, trip: int, phase: int, leg: Leg, t: float, *, append: bool = False
    ) -> None:
        """A re-planned leg (flood): its track and position record replace the old one's."""
        at = self._track_at.pop((trip, phase), None)
        if at is not None and not append:
            self.track[at] = (trip, phase, np.empty(0, np.int64), np.empty(0), np.empty(0))
        self._log_leg(trip, phase, leg, t)
        self._set_route(i, leg, t)
        key = "route_length_m" if phase == 0 else "return_length_m"
        self.trips[key][trip] = leg.length if not append else self.trips[key][trip] + leg.length

    # ------------------------------------------------------------------ processes
    def _truck(self, env: simpy.Environment, i: int) -> Generator[simpy.Event, Any, None]:
        s = int(self.fleet.truck_site[i])
        window = (float(self.sites.window[s, 0]), float(self.sites.window[s, 1]))
        site_node = int(self.sites.node[s])
        while True:
            now = env.now - self.t0
            wait = self.clock.until_open(window, now)
            if wait > 0:
                self.status[i] = IDLE
                yield env.timeout(wait)
                continue
            occ = self.clock.window_occurrence(window, now)
            if occ != self.site_occ[s]:
                self.site_occ[s], self.site_left[s] = occ, int(self.sites.trips[s])
            if self.site_left[s] <= 0:
                self.status[i] = IDLE
                yield env.timeout(_next_start(self.clock, window, now))
                continue
            self.status[i] = WAIT_LOAD
            with self.loaders[s].request() as req:
                yield req
                now = env.now - self.t0
                open_now = self.clock.is_open(window, now)
                if not open_now or self.clock.window_occurrence(window, now) != self.site_occ[s]:
                    continue
                if self.site_left[s] <= 0:
                    continue
                self.site_left[s] -= 1
                trip = self._new_trip(i, s, now)
                self.status[i] = LOADING
                yield env.timeout(self.cfg.truck.loading_time)
            yield from self._haul(env, i, s, site_node, trip)

    def _new_trip(self, i: int, s: int, now: float) -> int:
        trip = len(self.trips["truck"])
        for k in _TRIP_FLOAT:
            self.trips[k].append(math.nan)
        for k in _TRIP_INT:
            self.trips[k].append(-1)
        self.trips["fate"].append("loading")
        self.trips["truck"][trip] = i
        self.trips["company"][trip] = int(self.fleet.truck_company[i])
        self.trips["site"][trip] = s
        self.trips["load_start"][trip] = now
        self.trips["banned_edges_used"][trip] = 0
        self.trips["flood_reroutes"][trip] = 0
        self.trips["flood_delay_s"][trip] = 0.0
        return trip

    def _violation(
        self, kind: int, t: float, trip: int, *, edge: int = -1, node: int = -1,
        length_m: float = 0.0, volume: float = 0.0,
    ) -> int:  # fmt: skip
        v = self.violations
        vid = len(v["kind"])
        row = {"kind": kind, "time": t, "edge": edge, "node": node, "trip": trip,
               "length_m": length_m, "volume_m3": volume}  # fmt: skip
        for key, val in row.items():
            v[key].append(val)
        return vid

    def _stretch(self, vid: int, edges: IntArray, enter: FloatArray, metres: FloatArray) -> None:
        st = self.stretch
        st["violation"].append(np.full(edges.size, vid, dtype=np.int64))
        st["edge"].append(edges)
        st["enter"].append(enter)
        st["m"].append(metres)

    def _choose_dock(self, o: int, now: float, ignore_bans: bool) -> tuple[int, Leg | None]:
        best, best_cost, best_leg = -1, math.inf, None
        d_ = self.docks
        for d in range(len(d_)):
            leg = self.router.route(o, int(d_.node[d]), now, ignore_bans=ignore_bans)
            if leg is None:
                continue
            win = (float(d_.window[d, 0]), float(d_.window[d, 1]))
            arrive = now + leg.duration
            cost = (
                leg.duration + self.clock.until_open(win, arrive)
                + self.committed[d] * d_.unload_time[d] / d_.berths[d]
            )  # fmt: skip
            if cost < best_cost:
                best, best_cost, best_leg = d, cost, leg
        return best, best_leg

    def _wait_for_route(self, now: float) -> float:
        """Seconds to the next ban change (at least a minute)."""
        h = self.clock.hour_of_day(now)
        nxt = self.schedule.breaks[self.schedule.breaks > h + 1e-9]
        gap = (nxt[0] - h) if nxt.size else (24.0 - h)
        return max(60.0, gap * 3600.0)

    def _haul(
        self, env: simpy.Environment, i: int, s: int, site_node: int, trip: int
    ) -> Generator[simpy.Event, Any, None]:
        cfg, vm = self.cfg, self.cfg.violations
        tr = self.trips
        c = int(self.fleet.truck_company[i])
        prof = self.profiles[c]
        u = self.viol_rng.random(8)
        overload = bool(u[OVERLOAD] < prof[OVERLOAD])
        p_spill = min(1.0, prof[SPILL] * (vm.overload_spill_factor if overload else 1.0))
        spill, dump = bool(u[SPILL] < p_spill), bool(u[DUMP] < prof[DUMP])
        deviate, speeding = bool(u[DEVIATE] < prof[DEVIATE]), bool(u[SPEED] < prof[SPEED])
        load = cfg.truck.capacity_m3 * (1.0 + vm.overload_fraction if overload else 1.0)
        now = env.now - self.t0
        self.load[i] = load
        self.site_loaded[s] += load
        tr["spoil_m3"][trip] = load
        tr["spilled_m3"][trip] = 0.0
        self.flags.append([spill, dump, deviate, speeding, overload])
        if overload:
            self._violation(OVERLOAD, now, trip, node=site_node)
        # Route to a dock (wait while bans cut every path).
        while True:
            now = env.now - self.t0
            d, leg = self._choose_dock(site_node, now, deviate)
            if leg is not None:
                break
            self.status[i] = WAIT_ROUTE
            stop = [float(i), float(site_node), now, math.nan]
            self.stops.append(stop)
            yield env.timeout(self._wait_for_route(now))
            stop[3] = env.now - self.t0
        self.committed[d] += 1
        tr["dock"][trip] = d
        tr["depart"][trip] = now
        if speeding:
            leg = leg.faster(vm.speeding_factor)
        tr["planned_arrive"][trip] = now + leg.duration
        if dump:
            cum_m = np.concatenate([[0.0], np.cumsum(self.net.length[leg.edges])])
            lo, hi = vm.dump_position
            frac = lo + (hi - lo) * u[5]
            k = int(np.clip(np.searchsorted(cum_m, frac * cum_m[-1]), 1, max(1, leg.edges.size)))
            leg = self.router.cut(leg, k) if leg.edges.size else leg
            self.committed[d] -= 1
        tr["route_length_m"][trip] = leg.length
        self._log_leg(trip, 0, leg, now)
        # Deviation: counted only where the route uses an edge while it is banned.
        if deviate and leg.edges.size:
            # Compliant routes avoid every active ban by construction (tested apart).
            banned = self.schedule.banned_at(leg.edges, now + leg.cumtime[:-1])
            nb = int(banned.sum())
            tr["banned_edges_used"][trip] = nb
            if nb:
                first = int(np.argmax(banned))
                e = leg.edges[banned]
                vid = self._violation(
                    DEVIATE, now + float(leg.cumtime[first]), trip, edge=int(leg.edges[first]),
                    node=int(leg.nodes[first]), length_m=float(self.net.length[e].sum()),
                )  # fmt: skip
                self._stretch(vid, e, now + leg.cumtime[:-1][banned], self.net.length[e])
        if leg.edges.size and speeding:
            mid = leg.edges.size // 2
            vid = self._violation(
                SPEED, now, trip, edge=int(leg.edges[mid]), node=int(leg.nodes[mid]),
                length_m=leg.length,
            )  # fmt: skip
            self._stretch(vid, leg.edges, now + leg.cumtime[:-1], self.net.length[leg.edges])
        self.status[i] = LOADED
        self._set_route(i, leg, env.now - self.t0)
        dest = int(leg.nodes[-1])
        t_leg = now
        if spill and leg.edges.size:
            leg, t_leg = yield from self._spill(env, i, trip, leg, now, u[6], u[7])
        leg, _ = yield from drive(self, env, i, trip, 0, leg, t_leg)
        end_node = int(leg.nodes[-1])
        if end_node != dest:  # stranded by a flood that outlasts the run
            self._arrive(i, end_node)
            yield env.event()
        self._arrive(i, end_node)
        tr["arrive"][trip] = env.now - self.t0
        if dump:
            yield from self._dump(env, i, trip, leg)
        else:
            yield from self._unload(env, i, trip, d)
        # Return empty to the site (compliant).
        while True:
            now = env.now - self.t0
            back = self.router.route(end_node, site_node, now)
            if back is not None:
                break
            self.status[i] = WAIT_ROUTE
            yield env.timeout(self._wait_for_route(now))
        tr["return_start"][trip] = now
        tr["return_length_m"][trip] = back.length
        self._log_leg(trip, 1, back, now)
        self.status[i] = RETURNING
        self._set_route(i, back, now)
        back, _ = yield from drive(self, env, i, trip, 1, back, now)
        if int(back.nodes[-1]) != site_node:  # stranded by a flood that outlasts the run
            self._arrive(i, int(back.nodes[-1]))
            yield env.event()
        tr["return_end"][trip] = env.now - self.t0
        self.status[i] = IDLE

    def _spill(
        self, env: simpy.Environment, i: int, trip: int, leg: Leg, t: float, u0: float, u1: float
    ) -> Generator[simpy.Event, Any, tuple[Leg, float]]:
        """Drive to the trail's start (drawn on the planned leg) and lay the trail there.

        Returns the leg and its start time, as :func:`twin.trucks.flood.drive` left them
        (a flood reroute before the trail moves it onto the new way, at the same time).
        """
        vm = self.cfg.violations
        cum_m = np.concatenate([[0.0], np.cumsum(self.net.length[leg.edges])])
        s0 = u0 * float(cum_m[-1])
        k0 = int(np.clip(np.searchsorted(cum_m, s0, side="right") - 1, 0, leg.edges.size - 1))
        # Time at the trail's start, interpolated along its first edge.
        e_len = max(float(cum_m[k0 + 1] - cum_m[k0]), 1e-9)
        f = (s0 - cum_m[k0]) / e_len
        t_spill = t + float(leg.cumtime[k0] + f * (leg.cumtime[k0 + 1] - leg.cumtime[k0]))
        planned = leg
        leg, t = yield from drive(self, env, i, trip, 0, leg, t, until=t_spill)
        if leg is not planned:  # rerouted: the trail starts where the truck is now
            cum_m = np.concatenate([[0.0], np.cumsum(self.net.length[leg.edges])])
            s0 = float(np.interp(t_spill - t, leg.cumtime, cum_m))
            k0 = int(np.clip(np.searchsorted(cum_m, s0, side="right") - 1, 0,
                             max(leg.edges.size - 1, 0)))  # fmt: skip
        total = float(cum_m[-1])
        if not leg.edges.size or s0 >= total:
            return leg, t
        length = min(-math.log1p(-u1) * vm.spill_length_km * 1000.0, total - s0)
        s1 = s0 + length
        k1 = int(np.clip(np.searchsorted(cum_m, s1, side="left"), k0 + 1, leg.edges.size))
        overlap = np.minimum(cum_m[k0 + 1 : k1 + 1], s1) - np.maximum(cum_m[k0:k1], s0)
        overlap = np.maximum(overlap, 0.0)
        volume = min(self.load[i], vm.spill_rate_m3_per_km * length / 1000.0)
        self.load[i] -= volume
        self.spilled += volume
        self.trips["spilled_m3"][trip] = volume
        vid = self._violation(
            SPILL, t_spill, trip, edge=int(leg.edges[k0]), node=int(leg.nodes[k0]),
            length_m=length, volume=volume,
        )  # fmt: skip
        edges = leg.edges[k0:k1]
        self._stretch(vid, edges, t + leg.cumtime[k0:k1], overlap)
        return leg, t

    def _dump(
        self, env: simpy.Environment, i: int, trip: int, leg: Leg
    ) -> Generator[simpy.Event, Any, None]:
        now = env.now - self.t0
        node = int(leg.nodes[-1])
        edge = int(leg.edges[-1]) if leg.edges.size else -1
        self.status[i] = DUMPING
        volume = float(self.load[i])
        self.load[i] = 0.0
        self.dumped += volume
        tr = self.trips
        tr["dumped_m3"][trip] = volume
        tr["dump_node"][trip] = node
        tr["fate"][trip] = "dumped"
        vid = self._violation(DUMP, now, trip, edge=edge, node=node, volume=volume)
        if edge >= 0:
            self._stretch(vid, np.array([edge]), np.array([now]), np.zeros(1))
        stop = [float(i), float(node), now, math.nan]
        self.stops.append(stop)
        yield env.timeout(self.cfg.violations.dump_time)
        stop[3] = env.now - self.t0

    def _unload(
        self, env: simpy.Environment, i: int, trip: int, d: int
    ) -> Generator[simpy.Event, Any, None]:
        d_ = self.docks
        win = (float(d_.window[d, 0]), float(d_.window[d, 1]))
        self.status[i] = AT_DOCK
        tr = self.trips
        while True:
            wait = self.clock.until_open(win, env.now - self.t0)
            if wait > 0:
                self.waiting_open[d] += 1
                yield env.timeout(wait)
                self.waiting_open[d] -= 1
            with self.berths[d].request() as req:
                yield req
                now = env.now - self.t0
                if self.clock.until_open(win, now) > 0:
                    continue
                tr["unload_start"][trip] = now
                self.status[i] = UNLOADING
                yield env.timeout(float(d_.unload_time[d]))
                break
        now = env.now - self.t0
        volume = float(self.load[i])
        self.load[i] = 0.0
        self.dock_delivered[d] += volume
        tr["delivered_m3"][trip] = volume
        tr["unload_end"][trip] = now
        tr["fate"][trip] = "delivered"
        self.committed[d] -= 1

    def _recorder(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        for k, t in enumerate(self.rec_times.tolist()):
            if t >= self.horizon - 1e-9 and k > 0:
                return  # recorded by run() once the horizon is reached
            now = env.now - self.t0
            if t > now:
                yield env.timeout(t - now)
            self._record(k, t)

    def _record(self, k: int, t: float) -> None:
        lon, lat = self.net.node_lon, self.net.node_lat
        x, y, _ = positions_at(
            t, self.depart, self.route_offset, self.route_length, self.routes, lon, lat
        )
        still = np.isnan(x)
        x[still] = lon[self.node[still]]
        y[still] = lat[self.node[still]]
        self.rec_lon[k], self.rec_lat[k] = x, y
        self.rec_status[k] = self.status
        self.rec_queue[k] = [len(b.queue) + len(b.users) for b in self.berths]
        self.rec_queue[k] += self.waiting_open

    def record_final(self) -> None:
        """Record the state at the horizon (the last record time), once the run is there."""
        if self.rec_times.size > 1 and self.rec_times[-1] >= self.horizon - 1e-9:
            self._record(self.rec_times.size - 1, float(self.horizon))

    # ------------------------------------------------------------------ run
    def start(self, env: simpy.Environment) -> None:
        """Register the trucks and the recorder on ``env``; times count from ``env.now``."""
        self.env = env
        self.t0 = float(env.now)
        loaders = self.cfg.truck.site_loaders
        self.loaders = [simpy.Resource(env, capacity=loaders) for _ in range(len(self.sites))]
        self.berths = [simpy.Resource(env, capacity=int(b)) for b in self.docks.berths]
        for i in range(self.fleet.n_trucks):
            env.process(self._truck(env, i))
        env.process(self._recorder(env))

    def run(self) -> TruckModel:
        """Run on a fresh simpy environment to the horizon; returns ``self``."""
        env = simpy.Environment()
        self.start(env)
        n = 0
        while env.peek() < self.horizon:
            env.step()
            n += 1
        self.events = n
        self.record_final()
        return self

    @property
    def kinds(self) -> tuple[str, ...]:
        """Violation kinds, in code order."""
        return VIOLATION_KINDS

    def track_arrays(self) -> tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray]:
        """Every edge traversal: trip, leg (0 loaded, 1 return), edge, enter, leave [s]."""
        if not self.track:
            e, f = np.empty(0, np.int64), np.empty(0)
            return e, e, e, f, f
        trip = np.concatenate([np.full(t[2].size, t[0], np.int64) for t in self.track])
        phase = np.concatenate([np.full(t[2].size, t[1], np.int64) for t in self.track])
        edge = np.concatenate([t[2] for t in self.track])
        enter = np.concatenate([t[3] for t in self.track])
        leave = np.concatenate([t[4] for t in self.track])
        return trip, phase, edge, enter, leave
