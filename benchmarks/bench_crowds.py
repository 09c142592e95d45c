"""Crowds at plazas: a full day of every plaza, and scaling to many plazas, in one run.

Workload: the 5 plazas of ``data/layers/plazas.geojson`` (36 derived exits) through a
full day (1,440 steps of 60 s, 4 substeps each) with the default illustrative demand
(timetabled arrivals at the two station plazas and at Wulin Square's station, buses,
walk-in visitors by hour) and a **30,000-person concert on Wulin Square** (19:30–22:00,
half the audience by metro, arriving in train surges; egress over 10 min), which drives
the square to Fruin level E and builds queues of thousands at its exits.

- **5 plazas**: :func:`twin.crowds.model.simulate` on the bundled plazas.
- **100 / 1,000 plazas**: the same plazas and demand replicated
  (:meth:`~twin.crowds.plazas.Plazas.tile`, :meth:`~twin.crowds.demand.Demand.tile`), to
  show how the kernel scales; from 64 plazas up the kernel spreads plazas over numba's
  threads.

Times are the median of ``--repeat`` runs after a warm-up run (the compiled kernel is
loaded from numba's cache; the first call's time, compilation or cache load included, is
reported apart). Building the demand is timed apart (once, for 5 plazas). Real-time
factor = 86,400 s simulated / wall time of the simulation; the target is ≥ 10,000× for
the full day of all plazas. Every run's people balance is checked (largest relative
error). Run ``python benchmarks/bench_crowds.py --write`` to re-measure and record the
table in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import numba

from twin.crowds.alerts import crossings
from twin.crowds.config import CrowdConfig, CrowdEvent, MetroFeed
from twin.crowds.demand import Demand, build_demand
from twin.crowds.los import level_of_service
from twin.crowds.model import simulate
from twin.crowds.plazas import Plazas, load_plazas
from twin.crowds.results import CrowdResult
from twin.network.build import data_dir

sys.path.insert(0, os.path.dirname(__file__))
from _report import markdown_table, write_section

TARGET = 10_000.0
DAY = 86_400.0
START = datetime(2024, 6, 1, tzinfo=ZoneInfo("Asia/Shanghai"))


def config() -> CrowdConfig:
    """Default (illustrative) demand plus the concert and Wulin Square's station."""
    concert = CrowdEvent(
        name="concert", plaza="plaza-wulin-square", attendance=30_000,
        start=datetime(2024, 6, 1, 19, 30), end=datetime(2024, 6, 1, 22, 0),
        egress_window_s=600, metro_share=0.5,
    )  # fmt: skip
    metro = (
        MetroFeed(name="station plazas (illustrative)", plaza="kind:station_plaza"),
        MetroFeed(name="Wulin Square station (illustrative)", plaza="plaza-wulin-square"),
    )
    return CrowdConfig(metro=metro, events=(concert,))


def timed(plazas: Plazas, demand: Demand, repeat: int) -> tuple[float, list[float], CrowdResult]:
    """First-call time, the times of ``repeat`` runs, and the last result."""
    t = time.perf_counter()
    result = simulate(plazas, demand)
    first = time.perf_counter() - t
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = simulate(plazas, demand)
        times.append(time.perf_counter() - t)
    return first, times, result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (median is kept)")
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    args = parser.parse_args()

    cfg = config()
    plazas = load_plazas(data_dir() / "layers" / "plazas.geojson", geometry=cfg.geometry)
    t = time.perf_counter()
    demand = build_demand(plazas, cfg, START, DAY)
    demand_s = time.perf_counter() - t

    rows = []
    base: CrowdResult | None = None
    ok = True
    for copies in (1, 20, 200):
        pl, dm = plazas.tile(copies), demand.tile(copies)
        first, times, result = timed(pl, dm, args.repeat)
        wall = statistics.median(times)
        rtf = DAY / wall
        balance = float(result.balance()["relative_error"].max())
        if copies == 1:
            base = result
            ok = rtf >= TARGET
        rows.append([
            f"{pl.n_plazas:,}", f"{pl.n_exits:,}",
            f"{pl.n_plazas * dm.n_steps * cfg.model.substeps / 1e6:.2f}",
            f"{first:.3f}", f"{wall * 1e3:.1f}",
            f"**{rtf:,.0f}×**" if copies == 1 else f"{rtf:,.0f}×",
            f"{pl.n_plazas * DAY / wall / 86_400:,.0f}", f"{balance:.0e}",
        ])  # fmt: skip
    assert base is not None
    header = ["plazas (full day, 60-s steps)", "exits", "plaza-substeps [M]",
              "first call [s]", "simulate [ms]", "real-time factor", "plaza-days per second",
              "people balance error (max, relative)"]  # fmt: skip
    table = markdown_table(header, rows)

    wulin = plazas.index("plaza-wulin-square")
    rho = base.density[:, wulin]
    k = int(rho.argmax())
    episodes = crossings(base, cfg.alerts.density_threshold)
    above = episodes[episodes["plaza"] == "plaza-wulin-square"]
    notes = [
        f"Demand built once for the 5 plazas: {demand_s * 1e3:.0f} ms "
        f"({demand.arrivals.sum():,.0f} arrivals in the day; left out of the real-time "
        f"factor). Median of {args.repeat} runs after a warm-up; numba threads: "
        f"{numba.get_num_threads()}.",
        f"Sanity check (5 plazas): Wulin Square peaks at {rho[k]:.2f} persons/m² (Fruin "
        f"walkway level {level_of_service(rho[k])}) with {base.attending[k, wulin]:,.0f} "
        f"attendees; at most {base.plaza_queue[:, wulin].max():,.0f} people queue at its "
        f"exits during the egress; it is above {cfg.alerts.density_threshold:.3g} persons/m² "
        f"(level E) for {(rho > cfg.alerts.density_threshold).sum()} min in "
        f"{len(above)} episode(s). The other plazas stay at level A.",
    ]
    verdict = (
        f"target ≥ {TARGET:,.0f}× real time (full day of all plazas, simulation only): "
        f"{'met' if ok else 'NOT met'}"
    )
    print(table)
    print("\n".join(notes))
    print(verdict)
    if args.write:
        body = "\n\n".join(["## Crowds at plazas: a full day, and scaling", table, *notes, verdict])
        write_section("bench_crowds", body)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
