"""A sweep on Dask: the same sweep on 2 local workers against 1, in one run.

Workload: the baseline day (``scenarios/gongshu_baseline_day.yaml``: 24 h, about 1,500
cases) over the grid ``dispatch.policy = nearest_idle, fixed_zones`` × ``crews.count =
120, 150``, ``--replications`` each (default 10: 40 runs of about 1 s including writing
the run folder, so about 20 s of runs per worker with 2 workers).

Each side gets a fresh ``LocalCluster`` as :func:`twin.sweep.runner.connect` makes it
(processes, one thread each, 127.0.0.1) and a fresh sweep folder (nothing reused):

- **cluster start** [s]: starting the scheduler and worker processes;
- **warm-up** [s]: each worker imports the twin, builds the Gongshu network and compiles
  its kernels once (a 10-min run), as the first run of a sweep would;
- **sweep** [s]: :func:`twin.sweep.run_sweep` on the warm cluster, from submitting the
  first run to the merged ``sweep.nc`` and tables;
- **total** [s]: all three.

Each side runs ``--repeat`` times (default 2), the sides alternating, and keeps its
fastest sweep. The speed-up is 1-worker time / 2-worker time; the target is ≥ 1.7× on
the sweep (the machine has 2 cores; the client, the scheduler and the merge share them
with the workers). Every sweep must give the same KPI tables (same seeds). Run
``python benchmarks/bench_sweep.py --write`` to re-measure and record the table in
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from twin.scenario import Scenario, load_scenario
from twin.sweep import parse_grid, run_sweep
from twin.sweep.runner import connect

sys.path.insert(0, os.path.dirname(__file__))
from _report import markdown_table, write_section

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "gongshu_baseline_day.yaml"
GRID = ["dispatch.policy=nearest_idle,fixed_zones", "crews.count=120,150"]
TARGET = 1.7


def warm(scenario: Scenario) -> float:
    """Build the network and compile the kernels in this worker; return the time [s]."""
    from twin.run.runner import run_scenario

    t = time.perf_counter()
    run_scenario(scenario.with_updates(horizon=600.0))
    return time.perf_counter() - t


def measure(scenario: Scenario, workers: int, replications: int) -> dict[str, Any]:
    """One side: a fresh local cluster, warmed, then the sweep into a fresh folder."""
    grid = parse_grid(GRID, scenario=scenario)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, connect(None, workers=workers) as client:
        t1 = time.perf_counter()
        client.run(warm, scenario)
        t2 = time.perf_counter()
        result = run_sweep(scenario, grid, Path(tmp) / "sweep", replications=replications,
                           scheduler=client.scheduler.address)  # fmt: skip
        t3 = time.perf_counter()
        runs = result.runs.sort_values(["key", "kpi"]).reset_index(drop=True)
    busy = Counter[str]()
    count = Counter[str]()
    for o in result.outcomes:
        busy[o.worker] += o.timing.get("total_s", 0.0)
        count[o.worker] += 1
    return {
        "workers": workers, "start": t1 - t0, "warm": t2 - t1, "sweep": t3 - t2,
        "total": t3 - t0, "runs": len(result.outcomes), "failed": len(result.failures),
        "busy": sorted(busy.values(), reverse=True), "count": sorted(count.values()),
        "table": runs, "mean_run": sum(busy.values()) / max(len(result.outcomes), 1),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--replications", type=int, default=10, help="per grid point")
    parser.add_argument("--repeat", type=int, default=2, help="sweeps per side (best kept)")
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    args = parser.parse_args()

    scenario = load_scenario(BASELINE)
    # Alternate the sides (1, 2, 2, 1, ...) and keep each side's fastest sweep.
    order = [1, 2, 2, 1] * args.repeat
    trials: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for workers in order[: 2 * args.repeat]:
        trials[workers].append(measure(scenario, workers, args.replications))
    one, two = (min(trials[k], key=lambda m: m["sweep"]) for k in (1, 2))
    identical = all(m["table"].equals(one["table"]) for k in (1, 2) for m in trials[k])
    speedup = one["sweep"] / two["sweep"]
    speedup_total = one["total"] / two["total"]

    n = one["runs"]
    header = [f"sweep of the baseline day: {n} runs (2 policies × 2 crew counts × "
              f"{args.replications} replications, 24 h each)", "1 worker", "2 workers",
              "speed-up"]  # fmt: skip
    rows = [
        ["cluster start [s]", f"{one['start']:.1f}", f"{two['start']:.1f}", ""],
        ["warm-up: import, network, kernels [s]", f"{one['warm']:.1f}", f"{two['warm']:.1f}", ""],
        ["**sweep: runs, merge, tables [s]**", f"**{one['sweep']:.1f}**",
         f"**{two['sweep']:.1f}**", f"**{speedup:.2f}×**"],
        ["total [s]", f"{one['total']:.1f}", f"{two['total']:.1f}", f"{speedup_total:.2f}×"],
        ["runs per worker", " / ".join(map(str, one["count"])),
         " / ".join(map(str, two["count"])), ""],
        ["busy time per worker [s]", " / ".join(f"{b:.1f}" for b in one["busy"]),
         " / ".join(f"{b:.1f}" for b in two["busy"]), ""],
        ["mean run, incl. writing its folder [s]", f"{one['mean_run']:.2f}",
         f"{two['mean_run']:.2f}", ""],
        ["runs failed", str(one["failed"]), str(two["failed"]), ""],
    ]  # fmt: skip
    table = markdown_table(header, rows)
    times = {k: ", ".join(f"{m['sweep']:.1f}" for m in trials[k]) for k in (1, 2)}
    notes = [
        f"Best of {args.repeat} sweeps per side, run alternately (sweep times: 1 worker "
        f"{times[1]} s; 2 workers {times[2]} s). Local clusters as `twin sweep` makes them: "
        "worker processes with one thread each on 127.0.0.1. All sweeps ran the same seeds; "
        f"their per-run KPI tables are {'identical' if identical else 'DIFFERENT'}.",
    ]
    ok = speedup >= TARGET and identical and not one["failed"] and not two["failed"]
    verdict = f"target ≥ {TARGET}× on 2 workers (sweep): {'met' if ok else 'NOT met'}"
    print(table)
    print("\n".join(notes))
    print(verdict)
    if args.write:
        body = "\n\n".join(["## Sweeps on Dask: 2 workers vs 1", table, *notes, verdict])
        write_section("bench_sweep", body)
    if not identical:
        diff = pd.concat([one["table"], two["table"]]).drop_duplicates(keep=False)
        print(diff.head())
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
