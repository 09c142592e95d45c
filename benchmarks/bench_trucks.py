"""Muck trucks: the same day by the twin and by a straightforward Mesa model, in one run.

Workload: the default :class:`twin.trucks.config.TrucksConfig` on the bundled Gongshu
network — 30 illustrative sites (≈ 27,600 m³ of spoil, ≈ 2,300 planned trips), 3 docks,
4 companies with 320 trucks, the default bans — for 24 h from noon.

- **twin**: :func:`twin.trucks.simulate_trucks` — event-driven truck legs on a simpy
  clock, routes on CSR arrays cached per (hour, ban set), positions of the whole fleet by
  the compiled kernel every 60 s; then detection, trace-back and KPIs. Timed end to end
  (routing included), median of ``--repeat`` runs after a warm-up run.
- **Mesa**: a straightforward Mesa 3 model of the same day — one ``mesa.Agent`` per
  truck, ``model.agents.do("step")`` every simulated second; each truck's step runs its
  state machine (wait for its site's hours, take a loader, load, choose a dock by the
  same cost rule, drive, queue FIFO for a berth within opening hours, unload, return)
  and, while driving, advances its position along the route and interpolates lon/lat.
  Positions are recorded every 60 s. It uses the *same routes* (the twin's router,
  already warm: its routing time is left out), and does not draw violations or detect
  them (per-trip work, not per-second work) — both in the baseline's favour.

Printed: CPU and wall times (the speed-up, target ≥ 50×, is taken on CPU time: both run
on one thread, and CPU time is far less disturbed by other load on a shared machine),
agent updates per CPU second (Mesa: truck steps; twin: truck-seconds simulated), and
each model's trips delivered as a check that both ran the same day. ``--write`` records the table in
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import deque
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import mesa
import numpy as np

from twin.network import default_network
from twin.trucks import TrucksConfig, simulate_trucks
from twin.trucks.model import TruckModel
from twin.trucks.routing import Leg, Router

sys.path.insert(0, os.path.dirname(__file__))
from _report import markdown_table, write_section

TARGET = 50.0
START = datetime(2024, 6, 1, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
IDLE, LOADING, DRIVING, QUEUE, UNLOADING, RETURNING, ROUTE, ROUTE_BACK = range(8)


class MesaTruck(mesa.Agent):  # type: ignore[misc]
    """One muck truck, stepped every second."""

    def __init__(self, model: MesaDay, site: int) -> None:
        super().__init__(model)
        self.site = site
        self.state = IDLE
        self.timer = 0.0
        self.leg: Leg | None = None
        self.elapsed = 0.0
        self.k = 0
        self.dock = -1
        node = int(model.tm.sites.node[site])
        self.lon = float(model.lon[node])
        self.lat = float(model.lat[node])

    def _drive(self) -> bool:
        """Advance one second along the leg; True on arrival."""
        leg = self.leg
        assert leg is not None
        self.elapsed += 1.0
        cum = leg.cumtime
        n = cum.shape[0]
        while self.k < n - 2 and cum[self.k + 1] <= self.elapsed:
            self.k += 1
        if self.elapsed >= cum[-1] or n < 2:
            node = int(leg.nodes[-1])
            self.lon, self.lat = float(self.model.lon[node]), float(self.model.lat[node])
            return True
        a, b = int(leg.nodes[self.k]), int(leg.nodes[self.k + 1])
        t0, t1 = cum[self.k], cum[self.k + 1]
        f = (self.elapsed - t0) / (t1 - t0) if t1 > t0 else 1.0
        lon, lat = self.model.lon, self.model.lat
        self.lon = float(lon[a] + f * (lon[b] - lon[a]))
        self.lat = float(lat[a] + f * (lat[b] - lat[a]))
        return False

    def step(self) -> None:
        m = self.model
        t = m.now
        if self.state == IDLE:
            s = self.site
            if m.site_open(s, t) and m.site_left[s] > 0 and m.loaders_free[s] > 0:
                m.loaders_free[s] -= 1
                m.site_left[s] -= 1
                self.state, self.timer = LOADING, m.cfg.truck.loading_time
        elif self.state == LOADING:
            self.timer -= 1.0
            if self.timer <= 0:
                m.loaders_free[self.site] += 1
                self.state = ROUTE
        elif self.state == ROUTE:
            choice = m.choose_dock(int(m.tm.sites.node[self.site]), t)
            if choice is not None:  # else bans cut every path: wait (as the twin does)
                self.dock, self.leg = choice
                m.committed[self.dock] += 1
                self.state, self.elapsed, self.k = DRIVING, 0.0, 0
        elif self.state in (DRIVING, RETURNING):
            if self._drive():
                if self.state == DRIVING:
                    self.state = QUEUE
                    m.queues[self.dock].append(self)
                else:
                    self.state = IDLE
        elif self.state == QUEUE:
            q = m.queues[self.dock]
            if q[0] is self and m.berths_free[self.dock] > 0 and m.dock_open(self.dock, t):
                q.popleft()
                m.berths_free[self.dock] -= 1
                self.state, self.timer = UNLOADING, float(m.tm.docks.unload_time[self.dock])
        elif self.state == UNLOADING:
            self.timer -= 1.0
            if self.timer <= 0:
                m.berths_free[self.dock] += 1
                m.committed[self.dock] -= 1
                m.delivered += 1
                self.state = ROUTE_BACK
                self._route_back(t)
        elif self.state == ROUTE_BACK:
            self._route_back(t)

    def _route_back(self, t: float) -> None:
        m = self.model
        dock_node = int(m.tm.docks.node[self.dock])
        leg = m.router.route(dock_node, int(m.tm.sites.node[self.site]), t)
        if leg is not None:  # else bans cut every path: wait (as the twin does)
            self.leg = leg
            self.state, self.elapsed, self.k = RETURNING, 0.0, 0


class MesaDay(mesa.Model):  # type: ignore[misc]
    """The truck day as a time-stepped Mesa model (1-s steps)."""

    def __init__(self, tm: TruckModel, router: Router, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.tm, self.router, self.cfg = tm, router, tm.cfg
        self.lon, self.lat = tm.net.node_lon, tm.net.node_lat
        self.now = 0.0
        n_sites, n_docks = len(tm.sites), len(tm.docks)
        self.site_left = tm.sites.trips.copy()
        self.loaders_free = np.full(n_sites, tm.cfg.truck.site_loaders)
        self.berths_free = tm.docks.berths.copy()
        self.committed = np.zeros(n_docks, dtype=np.int64)
        self.queues: list[deque[MesaTruck]] = [deque() for _ in range(n_docks)]
        self.delivered = 0
        self.record: list[np.ndarray[Any, Any]] = []
        for s in tm.fleet.truck_site.tolist():
            MesaTruck(self, s)

    def site_open(self, s: int, t: float) -> bool:
        w = self.tm.sites.window[s]
        return self.tm.clock.is_open((float(w[0]), float(w[1])), t)

    def dock_open(self, d: int, t: float) -> bool:
        w = self.tm.docks.window[d]
        return self.tm.clock.is_open((float(w[0]), float(w[1])), t)

    def choose_dock(self, o: int, t: float) -> tuple[int, Leg] | None:
        best, best_cost, best_leg = 0, float("inf"), None
        docks = self.tm.docks
        for d in range(len(docks)):
            leg = self.router.route(o, int(docks.node[d]), t)
            if leg is None:
                continue
            w = (float(docks.window[d, 0]), float(docks.window[d, 1]))
            cost = leg.duration + self.tm.clock.until_open(w, t + leg.duration)
            cost += self.committed[d] * docks.unload_time[d] / docks.berths[d]
            if cost < best_cost:
                best, best_cost, best_leg = d, cost, leg
        return None if best_leg is None else (best, best_leg)

    def step(self) -> None:
        self.agents.do("step")
        self.now += 1.0
        if int(self.now) % 60 == 0:
            self.record.append(np.array([(a.lon, a.lat) for a in self.agents]))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed twin runs (median kept)")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours")
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    args = parser.parse_args()
    horizon = args.hours * 3600.0

    net = default_network(layers=False)
    cfg = TrucksConfig(enabled=True)
    t = time.perf_counter()
    result = simulate_trucks(net, cfg, start=START, horizon=horizon, seed=1)
    first = time.perf_counter() - t
    walls, cpus = [], []
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        result = simulate_trucks(net, cfg, start=START, horizon=horizon, seed=1)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    twin_wall, twin_cpu = statistics.median(walls), statistics.median(cpus)

    # The Mesa baseline, with a warm router holding the same routes.
    tm = TruckModel(net, cfg, start=START, horizon=horizon, seed=1)
    tm.run()
    day = MesaDay(tm, tm.router)
    steps = int(horizon)
    t, c = time.perf_counter(), time.process_time()
    for _ in range(steps):
        day.step()
    mesa_wall, mesa_cpu = time.perf_counter() - t, time.process_time() - c

    n = tm.fleet.n_trucks
    ratio = mesa_cpu / twin_cpu
    ok = ratio >= TARGET
    delivered = int(result.kpis["trips_delivered"])
    rows = [
        ["twin (simpy events + array kernels)", f"{twin_cpu:.2f}", f"{twin_wall:.2f}",
         f"{n * horizon / twin_cpu:,.0f}", f"{delivered:,}", f"**{ratio:.0f}×**"],
        ["Mesa 3 (every truck every second)", f"{mesa_cpu:.1f}", f"{mesa_wall:.1f}",
         f"{n * steps / mesa_cpu:,.0f}", f"{day.delivered:,}", "1×"],
    ]  # fmt: skip
    header = ["model", "CPU [s]", "wall [s]", "agent updates per CPU second",
              "trips delivered", "speed-up (CPU)"]  # fmt: skip
    table = markdown_table(header, rows)
    v = result.violation_summary()
    notes = [
        f"{n} trucks, {args.hours:g} h from {START:%Y-%m-%d %H:%M} local, default config "
        f"(illustrative). Twin: median of {args.repeat} runs after a warm-up "
        f"({first:.2f} s, imports and numba cache loads included); routing, detection, "
        f"trace-back and KPIs included. Mesa: one run of {steps:,} steps "
        f"({n * steps / 1e6:.1f} M agent steps), routes from the warm router (not timed). "
        "Agent updates per second: Mesa, truck steps per second; twin, truck-seconds "
        "simulated per second. The speed-up is taken on the process's CPU time, which a "
        "shared machine disturbs far less than wall time (both single-threaded).",
        f"Sanity check (twin): {int(result.kpis['trips_started']):,} trips started of "
        f"{int(result.kpis['trips_planned_per_day']):,} planned; mean dock queue "
        f"{result.kpis['dock_queue_mean_s'] / 60:.1f} min; {int(v['occurred'].sum())} "
        f"violations, {int(v['detected'].sum())} detected, {int(v['traced'].sum())} traced "
        f"to the right site and company; spoil balance error "
        f"{result.kpis['spoil_balance_error_m3']:.1e} m³.",
    ]
    verdict = f"target ≥ {TARGET:.0f}× Mesa: {'met' if ok else 'NOT met'} ({ratio:.0f}×)"
    print(table)
    print("\n".join(notes))
    print(verdict)
    if args.write:
        body = "\n\n".join(["## Muck trucks: the twin against Mesa, one day", table, *notes,
                            verdict])  # fmt: skip
        write_section("bench_trucks", body)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
