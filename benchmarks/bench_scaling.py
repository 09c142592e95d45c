"""How the twin's cost grows with the city: cases per day, crews, network size (to 10×).

The baseline day (``scenarios/gongshu_baseline_day.yaml``: 1,500 cases, 150 crews, the
Gongshu network of 9,194 nodes) is scaled by a factor ``f`` in one dimension at a time,
and in all three together (a city ``f`` times as large):

- **cases**: ``cases.daily_total`` × f;
- **crews**: ``crews.count`` × f;
- **network**: the Gongshu network tiled ``f`` times (copies side by side on a grid,
  neighbouring copies joined by 20 two-way arterial links, the depots copied with each
  tile). The bundled GraphML covers central Hangzhou only: cropped to nothing it has
  14,000 nodes, 1.5× Gongshu, so 10× needs tiling;
- **city**: all three × f.

Each point runs in a fresh process (the network from the warm cache), timing the
preparation (cases, crews, routes tables), the simulation alone and the collection of
results, and reading the process's peak resident memory (``ru_maxrss``) and its
resident memory once the network is loaded: the run's own peak is their difference.
The fitted exponent is the least-squares slope of log(cost) on log(f) over the points
(1 = linear). Every figure is a ratio of two measurements of this run.

Run ``python benchmarks/bench_scaling.py --write`` to re-measure, record the table in
``benchmarks/README.md`` and draw ``benchmarks/figures/scaling.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _report import markdown_table, write_section

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "gongshu_baseline_day.yaml"
FIGURE = ROOT / "benchmarks" / "figures" / "scaling.png"
SWEEPS = ("cases", "crews", "network", "city")
#: Largest fitted exponent still called near-linear.
LINEAR_TARGET = 1.2

#: One point, in a fresh process: argv[1] is JSON {"cases": f, "crews": f, "tiles": n}.
CHILD = r"""
import json, math, resource, sys, time
import numpy as np
import pandas as pd
spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["bench"])
from bench_scaling import tiled_network
from twin.network.build import default_network
from twin.run.results import collect_results
from twin.run.runner import prepare
from twin.scenario import load_scenario

def rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 1e6

net = tiled_network(default_network(), spec["tiles"])
sc = load_scenario(spec["scenario"])
sc = sc.with_updates(**{
    "cases.daily_total": int(round(sc.cases.daily_total * spec["cases"])),
    "crews.count": int(round(sc.crews.count * spec["crews"])),
})
loaded = rss_mb()
t0 = time.perf_counter()
sim = prepare(sc, network=net, base_dir=None)
t1 = time.perf_counter()
sim.run()
t2 = time.perf_counter()
res = collect_results(sim, {})
t3 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
print(json.dumps({
    "nodes": net.n_nodes, "edges": net.n_edges, "cases": len(res.cases),
    "crews": len(sim.fleet), "events": sim.events_processed,
    "prepare_s": t1 - t0, "simulate_s": t2 - t1, "collect_s": t3 - t2,
    "loaded_mb": loaded, "peak_mb": peak,
}))
"""


def tiled_network(net: Any, copies: int) -> Any:
    """``copies`` copies of ``net`` side by side, neighbours joined by two-way links.

    Copies lie on a grid (as square as it gets) 2 % of the network's extent apart; node
    ids get ``copy × 10¹²`` added. Each pair of neighbouring copies is joined by 20
    two-way arterial links (30 km/h) between the 20 nodes nearest their shared side.
    The ``depots`` layer is copied with each tile (as a table of nodes).
    """
    import pandas as pd

    from twin.network.road_network import RoadNetwork

    if copies == 1:
        return net
    cols = math.ceil(math.sqrt(copies))
    width = float(np.ptp(net.node_lon)) * 1.02
    height = float(np.ptp(net.node_lat)) * 1.02
    n, off = net.n_nodes, 10**12
    tiles = [(t, t % cols, t // cols) for t in range(copies)]
    lon = np.concatenate([net.node_lon + c * width for _, c, _ in tiles])
    lat = np.concatenate([net.node_lat + r * height for _, _, r in tiles])
    u = [net.edge_u + t * n for t, _, _ in tiles]
    v = [net.edge_v + t * n for t, _, _ in tiles]
    links = 20

    def side(t: int, key: np.ndarray) -> np.ndarray:
        return t * n + np.argsort(key, kind="stable")[:links]

    extra_u, extra_v = [], []
    for t, c, r in tiles:
        for t2, c2, r2 in tiles:
            if (c2, r2) == (c + 1, r):
                a, b = side(t, -net.node_lon), side(t2, net.node_lon)
            elif (c2, r2) == (c, r + 1):
                a, b = side(t, -net.node_lat), side(t2, net.node_lat)
            else:
                continue
            extra_u += [a, b]
            extra_v += [b, a]
    eu = np.concatenate(extra_u) if extra_u else np.empty(0, np.int64)
    ev = np.concatenate(extra_v) if extra_v else np.empty(0, np.int64)
    dx = (lon[ev] - lon[eu]) * 111_320.0 * np.cos(np.radians(lat[eu]))
    dy = (lat[ev] - lat[eu]) * 110_540.0
    length = np.hypot(dx, dy)
    k = len(tiles)

    def rep(a: np.ndarray, fill: Any) -> np.ndarray:
        return np.concatenate([np.tile(a, k), np.full(eu.size, fill, dtype=a.dtype)])

    tiled = RoadNetwork(
        graph=lambda: (_ for _ in ()).throw(RuntimeError("a tiled network has no graph")),
        node_ids=np.concatenate([net.node_ids + t * off for t, _, _ in tiles]),
        node_lon=lon, node_lat=lat,
        edge_u=np.concatenate([*u, eu]).astype(np.int64),
        edge_v=np.concatenate([*v, ev]).astype(np.int64),
        edge_key=rep(net.edge_key, 0), length=np.concatenate([np.tile(net.length, k), length]),
        speed_kph=rep(net.speed_kph, 30.0),
        free_flow_time=np.concatenate([np.tile(net.free_flow_time, k), length / (30 / 3.6)]),
        road_class=rep(net.road_class, "arterial"), tunnel=rep(net.tunnel, False),
        name=rep(net.name, ""), congestion=net.congestion, meta={"tiles": k},
    )  # fmt: skip
    depots = net.layers["depots"]["node"].to_numpy(dtype=np.int64)
    tiled.layers["depots"] = pd.DataFrame(
        {"node": np.concatenate([depots + t * off for t, _, _ in tiles])}
    )
    return tiled


def _point(sweep: str, f: int) -> dict[str, float]:
    spec = {
        "cases": f if sweep in ("cases", "city") else 1,
        "crews": f if sweep in ("crews", "city") else 1,
        "tiles": f if sweep in ("network", "city") else 1,
        "scenario": str(BASELINE),
        "bench": os.path.dirname(os.path.abspath(__file__)),
    }
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    r = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(spec)],
        capture_output=True, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    if r.returncode != 0:
        raise SystemExit(f"{sweep} ×{f} failed:\n{r.stderr[-3000:]}")
    out: dict[str, float] = json.loads(r.stdout.strip().splitlines()[-1])
    out["run_mb"] = max(out["peak_mb"] - out["loaded_mb"], 1e-3)
    out["total_s"] = out["prepare_s"] + out["simulate_s"] + out["collect_s"]
    return out


def slope(f: list[int], y: list[float]) -> float:
    """Least-squares slope of log(y) on log(f)."""
    return float(np.polyfit(np.log(f), np.log(y), 1)[0])


def _figure(results: dict[str, list[tuple[int, dict[str, float]]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for sweep, pts in results.items():
        f = [p[0] for p in pts]
        axes[0].loglog(f, [p[1]["total_s"] for p in pts], "o-", label=sweep)
        axes[1].loglog(f, [p[1]["run_mb"] for p in pts], "o-", label=sweep)
    for ax, what in zip(axes, ("run time (prepare + simulate + collect) [s]",
                               "run's peak memory above the loaded network [MB]"),
                        strict=True):  # fmt: skip
        f = np.array([1.0, 10.0])
        y0 = ax.get_lines()[0].get_ydata()[0]
        ax.loglog(f, y0 * f, "k:", lw=1, label="linear")
        ax.set_xlabel("scale factor f (× the baseline day)")
        ax.set_ylabel(what)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("twin: cost as cases, crews and network grow (baseline day, Gongshu ×f)")
    fig.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURE, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--factors", default="1,2,5,10", help="scale factors (comma list)")
    parser.add_argument("--sweeps", default=",".join(SWEEPS), help="which dimensions")
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    args = parser.parse_args()
    factors = [int(x) for x in args.factors.split(",")]
    sweeps = [s for s in args.sweeps.split(",") if s]
    results: dict[str, list[tuple[int, dict[str, float]]]] = {}
    for sweep in sweeps:
        results[sweep] = []
        for f in factors:
            p = _point(sweep, f)
            results[sweep].append((f, p))
            print(f"{sweep} ×{f}: {json.dumps({k: round(v, 3) for k, v in p.items()})}",
                  flush=True)  # fmt: skip
    rows: list[list[str]] = []
    verdicts: list[str] = []
    for sweep, pts in results.items():
        f = [p[0] for p in pts]
        base = pts[0][1]
        for fk, p in pts:
            rows.append([
                sweep, f"×{fk}", f"{p['nodes']:,.0f}", f"{p['cases']:,.0f}", f"{p['crews']:,.0f}",
                f"{p['events']:,.0f}", f"{p['simulate_s']:.2f}", f"{p['total_s']:.2f}",
                f"{p['total_s'] / base['total_s']:.1f}×", f"{p['run_mb']:.0f}",
                f"{p['peak_mb']:.0f}",
            ])  # fmt: skip
        fits = {
            "simulate": slope(f, [p[1]["simulate_s"] for p in pts]),
            "total": slope(f, [p[1]["total_s"] for p in pts]),
            "memory": slope(f, [p[1]["run_mb"] for p in pts]),
        }
        rows.append([f"**{sweep}: exponent**", "", "", "", "", "",
                     f"**{fits['simulate']:.2f}**", f"**{fits['total']:.2f}**", "",
                     f"**{fits['memory']:.2f}**", ""])  # fmt: skip
        worst = max(fits["total"], fits["memory"])
        verdicts.append(
            f"target {sweep} ×{f[-1]} near-linear (time and memory exponents ≤ "
            f"{LINEAR_TARGET}): {'met' if worst <= LINEAR_TARGET else 'not met'}"
        )
    table = markdown_table(
        ["sweep", "f", "nodes", "cases", "crews", "events", "simulate [s]",
         "run [s]", "run ÷ ×1", "run's peak [MB]", "process peak [MB]"],
        rows,
    )  # fmt: skip
    note = (
        "One fresh process per point; the network comes from the warm cache (tiled copies "
        "built in the process before timing). *run* = preparation (cases, crews) + "
        "simulation + collecting results (no files written); *run's peak* = peak resident "
        "memory minus the resident memory with the network loaded; *process peak* "
        "includes the interpreter, the libraries and the network. Exponents: least-squares "
        "slope of log(value) on log(f). Figure: `benchmarks/figures/scaling.png`."
    )
    print(table)
    print(note)
    print("\n".join(verdicts))
    if args.write:
        _figure(results)
        write_section(
            "bench_scaling",
            "## Scaling: cases, crews and network to 10×\n\n"
            + f"{table}\n\n{note}\n\n![scaling](figures/scaling.png)\n\n"
            + "\n\n".join(verdicts),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
