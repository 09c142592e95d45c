"""The case loop: the twin against a plain simpy + networkx implementation, in one run.

Workload: the baseline day (``scenarios/gongshu_baseline_day.yaml``: about 1,500 cases,
150 crews on two shifts, nearest-idle dispatch, hour-of-day congestion, escalation).

- **twin**: :func:`twin.run.runner.run_scenario` (array fleet, compiled nearest-crew search
  that stops at the first idle crew, routes as array kernels, positions computed only at
  record times). Median of ``--repeat`` runs; the network is built once beforehand and its
  build time is reported apart.
- **plain**: the same six stages written the straightforward way, on the *same* inputs
  (the case stream, dispatch and closing times, crews, depots and shifts that
  :func:`twin.run.runner.prepare` gives): operators and inspectors are simpy Resources, each
  crew is a simpy process fed through a Store, the nearest idle crew is found with
  networkx ``single_source_dijkstra_path_length`` from the case node over the reversed
  graph (hour-of-day travel times stored as edge attributes ``tt_0`` … ``tt_23``), the
  crew's route is ``nx.dijkstra_path``, escalation is one process per case, and every
  record interval a loop over every crew walks its route to record its position.

Real-time factor = simulated time / wall time of the simulation (with and without the
preparation: cases, crews, edge weights; the network build is left out of both). The
target for the twin is ≥ 10,000×. Both sides record at the scenario's record interval
(5 min). Run ``python benchmarks/bench_sim.py --write`` to re-measure and record the
table in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import os
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import simpy

from twin.network.road_network import RoadNetwork
from twin.run.runner import load_scenario_network, prepare, run_scenario
from twin.scenario import Scenario, load_scenario
from twin.sim.engine import Simulation

sys.path.insert(0, os.path.dirname(__file__))
from _report import markdown_table, write_section

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "gongshu_baseline_day.yaml"
TARGET = 10_000.0

OFF, IDLE, TRAVEL, WORK = 0, 1, 2, 3


class PlainCrew:
    """One crew of the plain implementation: plain attributes, an inbox of jobs."""

    def __init__(self, env: simpy.Environment, depot: int, skill: int, shift: int) -> None:
        self.depot = depot  # OSM node id
        self.node = depot
        self.skill = skill
        self.shift = shift
        self.status = OFF
        self.off_pending = False
        self.route: tuple[float, list[int], list[float]] | None = None  # depart, nodes, cum
        self.inbox: simpy.Store = simpy.Store(env)


class PlainSimpy:
    """The baseline loop, written the straightforward way on simpy and networkx.

    Parameters
    ----------
    sim
        A prepared (not run) twin simulation, read only for its inputs.
    H, HR
        The road graph and its reverse, with hour-of-day travel times ``tt_0`` … ``tt_23``
        [s] on every edge.
    horizon
        How long to simulate [s].
    """

    def __init__(
        self, sim: Simulation, H: nx.MultiDiGraph, HR: nx.MultiDiGraph, horizon: float
    ) -> None:
        sc = sim.scenario
        self.scenario, self.H, self.HR, self.horizon = sc, H, HR, horizon
        self.env = env = simpy.Environment()
        ids = sim.net.node_ids
        c = sim.cases
        keep = c.report_time < horizon
        self.report = c.report_time[keep].tolist()
        self.node = ids[c.node[keep]].tolist()
        self.file_time = c.file_time[keep].tolist()
        self.work_time = c.work_time[keep].tolist()
        self.verify_time = c.verify_time[keep].tolist()
        self.dispatch_time = sim.dispatch_time[keep].tolist()
        self.close_time = sim.close_time[keep].tolist()
        self.priority = sim.case_priority[keep].tolist()
        self.skill = sim.case_skill[keep].tolist()
        self.deadline = sim.categories.deadline[c.category[keep]].tolist()
        n = len(self.report)
        self.arrived = [math.nan] * n
        self.closed = [math.nan] * n
        f = sim.fleet
        self.crews = [
            PlainCrew(env, int(ids[d]), int(s), int(h))
            for d, s, h in zip(f.depot, f.skill, f.shift, strict=True)
        ]
        self.waiting: dict[int, list[tuple[int, int, int, simpy.Event]]] = {}
        self.seq = 0
        self.open = 0
        self.escalations = 0
        self.operators = simpy.Resource(env, capacity=sc.operations.operators)
        self.inspectors = simpy.Resource(env, capacity=sc.operations.inspectors)
        self.start_hour = sc.start.hour + sc.start.minute / 60 + sc.start.second / 3600
        self.lon = {v: d["x"] for v, d in H.nodes(data=True)}
        self.lat = {v: d["y"] for v, d in H.nodes(data=True)}
        self.records: list[tuple[int, list[float], list[float], list[int]]] = []
        self.events = 0

    def weight(self) -> str:
        """The edge attribute holding travel times in the current hour of day."""
        return f"tt_{int((self.start_hour + self.env.now / 3600) % 24)}"

    # ------------------------------------------------------------------ dispatch
    def nearest_idle(self, case: int) -> PlainCrew | None:
        idle = [w for w in self.crews if w.status == IDLE and w.skill == self.skill[case]]
        if not idle:
            return None
        dist = nx.single_source_dijkstra_path_length(self.HR, self.node[case], weight=self.weight())
        return min(idle, key=lambda w: dist.get(w.node, math.inf))

    def assign(self, crew: PlainCrew, case: int, done: simpy.Event) -> None:
        crew.status = TRAVEL
        crew.inbox.put((case, done))

    def release(self, crew: PlainCrew) -> None:
        if crew.off_pending:
            crew.status, crew.off_pending = OFF, False
            return
        crew.status = IDLE
        self.offer(crew)

    def offer(self, crew: PlainCrew) -> None:
        queue = self.waiting.get(crew.skill)
        if queue:
            _, _, case, done = heapq.heappop(queue)
            self.assign(crew, case, done)

    # ------------------------------------------------------------------ processes
    def crew_loop(self, crew: PlainCrew) -> Generator[simpy.Event, Any, None]:
        env = self.env
        while True:
            case, done = yield crew.inbox.get()
            w, speed = self.weight(), self.scenario.crews.speed_factor
            path = nx.dijkstra_path(self.H, crew.node, self.node[case], weight=w)
            cum = [0.0]
            for a, b in itertools.pairwise(path):
                cum.append(cum[-1] + min(d[w] for d in self.H[a][b].values()) / speed)
            crew.route = (env.now, path, cum)
            yield env.timeout(cum[-1])
            crew.node, crew.route, crew.status = self.node[case], None, WORK
            if math.isnan(self.arrived[case]):
                self.arrived[case] = env.now
            yield env.timeout(self.work_time[case])
            done.succeed()
            self.release(crew)

    def case_loop(self, i: int) -> Generator[simpy.Event, Any, None]:
        env = self.env
        self.open += 1
        env.process(self.escalate(i))
        with self.operators.request() as req:
            yield req
            yield env.timeout(self.file_time[i])
        yield env.timeout(self.dispatch_time[i])
        done = env.event()
        crew = self.nearest_idle(i)
        if crew is None:
            self.seq += 1
            heapq.heappush(self.waiting.setdefault(self.skill[i], []),
                           (self.priority[i], self.seq, i, done))  # fmt: skip
        else:
            self.assign(crew, i, done)
        yield done
        with self.inspectors.request() as req:
            yield req
            yield env.timeout(self.verify_time[i])
        yield env.timeout(self.close_time[i])
        self.closed[i] = env.now
        self.open -= 1

    def escalate(self, i: int) -> Generator[simpy.Event, Any, None]:
        esc = self.scenario.escalation
        if not esc.enabled:
            return
        for level in esc.levels:
            due = self.report[i] + level * self.deadline[i]
            yield self.env.timeout(max(0.0, due - self.env.now))
            if not math.isnan(self.closed[i]):
                return
            self.escalations += 1

    def arrivals(self) -> Generator[simpy.Event, Any, None]:
        for i, t in enumerate(self.report):
            yield self.env.timeout(max(0.0, t - self.env.now))
            self.env.process(self.case_loop(i))

    def shift_loop(self, index: int) -> Generator[simpy.Event, Any, None]:
        shift = self.scenario.crews.shifts[index]
        crews = [w for w in self.crews if w.shift == index]
        first = (shift.start.hour + shift.start.minute / 60 - self.start_hour) % 24 * 3600
        changes = []
        t = first - 86400.0
        while t < self.horizon:
            on, off = t, t + shift.hours * 3600
            if off > 0:
                changes.append((max(on, 0.0), True))
                if off < self.horizon:
                    changes.append((off, False))
            t += 86400.0
        for t, on in changes:
            yield self.env.timeout(max(0.0, t - self.env.now))
            for w in crews:
                if on:
                    w.off_pending = False
                    if w.status == OFF:
                        w.status, w.node = IDLE, w.depot
                        self.offer(w)
                elif w.status == IDLE:
                    w.status = OFF
                elif w.status in (TRAVEL, WORK):
                    w.off_pending = True

    def recorder(self) -> Generator[simpy.Event, Any, None]:
        interval = self.scenario.record_interval
        for k in range(int(self.horizon // interval) + 1):
            yield self.env.timeout(max(0.0, k * interval - self.env.now))
            now = self.env.now
            lon, lat, status = [], [], []
            for w in self.crews:  # advance every crew along its route
                node = w.node
                if w.route is not None:
                    depart, path, cum = w.route
                    for j, c in enumerate(cum):
                        if depart + c <= now:
                            node = path[j]
                lon.append(self.lon[node])
                lat.append(self.lat[node])
                status.append(w.status)
            self.records.append((self.open, lon, lat, status))

    def run(self) -> PlainSimpy:
        env = self.env
        for w in self.crews:
            env.process(self.crew_loop(w))
        for s in range(len(self.scenario.crews.shifts)):
            env.process(self.shift_loop(s))
        env.process(self.arrivals())
        env.process(self.recorder())
        while env.peek() <= self.horizon:
            env.step()
            self.events += 1
        return self

    def mean_time_to_arrive(self) -> float:
        """Mean time from report to arrival of the cases that got a crew [s]."""
        got = [a - r for a, r in zip(self.arrived, self.report, strict=True) if not math.isnan(a)]
        return float(np.mean(got))


def hourly_graphs(net: RoadNetwork) -> tuple[nx.MultiDiGraph, nx.MultiDiGraph]:
    """A copy of ``net.G`` with ``tt_0`` … ``tt_23`` [s] on every edge, and its reverse."""
    H = net.G.copy()
    times = np.stack([net.travel_times(h) for h in range(24)], axis=1).tolist()
    for (u, v, k), row in zip(
        zip(net.node_ids[net.edge_u].tolist(), net.node_ids[net.edge_v].tolist(),
            net.edge_key.tolist(), strict=True),
        times, strict=True,
    ):  # fmt: skip
        H[u][v][k].update({f"tt_{h}": t for h, t in enumerate(row)})
    return H, H.reverse(copy=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="twin runs (median is kept)")
    parser.add_argument(
        "--plain-hours", type=float, default=24.0,
        help="simulated hours for the plain version (shorter when it takes too long)",
    )  # fmt: skip
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    args = parser.parse_args()

    scenario: Scenario = load_scenario(BASELINE)
    horizon = scenario.horizon
    t = time.perf_counter()
    net = load_scenario_network(scenario.network)
    build_s = time.perf_counter() - t

    # Twin: the median of --repeat runs on the already built network.
    runs = sorted((run_scenario(scenario) for _ in range(args.repeat)),
                  key=lambda r: r.timing["simulate_s"])  # fmt: skip
    twin = runs[len(runs) // 2]
    tw = twin.timing

    # Plain: the same inputs, prepared by the twin, run the straightforward way.
    plain_horizon = min(horizon, args.plain_hours * 3600.0)
    t = time.perf_counter()
    sim = prepare(scenario, network=net)
    H, HR = hourly_graphs(net)
    plain_prep_s = time.perf_counter() - t
    plain = PlainSimpy(sim, H, HR, plain_horizon)
    t = time.perf_counter()
    plain.run()
    plain_sim_s = time.perf_counter() - t

    twin_rtf = horizon / tw["simulate_s"]
    twin_rtf_all = horizon / (tw["prepare_s"] + tw["simulate_s"])
    plain_rtf = plain_horizon / plain_sim_s
    plain_rtf_all = plain_horizon / (plain_prep_s + plain_sim_s)
    twin_eps = tw["events"] / tw["simulate_s"]
    plain_eps = plain.events / plain_sim_s
    twin_arrive = twin.kpi("time_to_arrive_mean")
    plain_arrive = plain.mean_time_to_arrive() / 60
    n_plain = len(plain.report)
    closed_plain = sum(not math.isnan(c) for c in plain.closed)

    header = ["baseline day (Gongshu, ~1,500 cases, 150 crews)", "twin", "plain simpy + networkx",
              "ratio"]  # fmt: skip
    rows = [
        ["simulated [h]", f"{horizon / 3600:g}", f"{plain_horizon / 3600:g}", ""],
        ["preparation [s] (cases, crews, weights)", f"{tw['prepare_s']:.2f}",
         f"{plain_prep_s:.2f}", ""],
        ["simulation [s]", f"{tw['simulate_s']:.2f}", f"{plain_sim_s:.1f}", ""],
        ["real-time factor, simulation only", f"**{twin_rtf:,.0f}×**", f"{plain_rtf:,.0f}×",
         f"**{twin_rtf / plain_rtf:,.0f}×**"],
        ["real-time factor, with preparation", f"{twin_rtf_all:,.0f}×",
         f"{plain_rtf_all:,.0f}×", f"{twin_rtf_all / plain_rtf_all:,.0f}×"],
        ["simpy events", f"{tw['events']:,.0f}", f"{plain.events:,}", ""],
        ["events per second", f"{twin_eps:,.0f}", f"{plain_eps:,.0f}",
         f"{twin_eps / plain_eps:,.0f}×"],
        ["cases reported / closed", f"{twin.kpi('cases_reported'):,.0f} / "
         f"{twin.kpi('cases_closed'):,.0f}", f"{n_plain:,} / {closed_plain:,}", ""],
        ["mean time to arrive [min] (sanity check)", f"{twin_arrive:.2f}",
         f"{plain_arrive:.2f}", ""],
    ]  # fmt: skip
    table = markdown_table(header, rows)
    sim_times = [f"{r.timing['simulate_s']:.2f}" for r in runs]
    notes = [
        f"Network build (once, left out of both): {build_s:.1f} s. Twin: median of "
        f"{args.repeat} runs (simulation {', '.join(sim_times)} s). Both record crew "
        "positions and the backlog every "
        f"{scenario.record_interval / 60:g} min.",
    ]
    if plain_horizon < horizon:
        notes.append(
            f"The plain version ran the first {plain_horizon / 3600:g} h only; real-time "
            "factors and events/s are per simulated hour, so the ratios compare like with "
            "like, but its case counts and KPI cover those hours only."
        )
    ok = twin_rtf >= TARGET
    verdict = f"target ≥ {TARGET:,.0f}× real time (simulation only): {'met' if ok else 'NOT met'}"
    print(table)
    print("\n".join(notes))
    print(verdict)
    if args.write:
        body = "\n\n".join(["## Case loop: twin vs plain simpy + networkx", table, *notes, verdict])
        write_section("bench_sim", body)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
