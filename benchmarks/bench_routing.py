"""Routing on the Gongshu network: the twin against networkx, measured in the same run.

Two workloads on the embedded Gongshu network (free-flow travel times, seed 0):

1. a 200 × 200 travel-time matrix (twin: scipy Dijkstra from the 200 origins on CSR
   arrays; networkx: ``single_source_dijkstra_path_length`` from each origin);
2. 1,000 point-to-point routes with their node paths (twin: numba bidirectional Dijkstra
   on CSR arrays; networkx: ``shortest_path``, also bidirectional Dijkstra).

Both sides must agree on every travel time. The ratio (networkx time / twin time) is the
result; the target is ≥ 15×. Run ``python benchmarks/bench_routing.py --write`` to
re-measure and record the table in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import sys
import time

import networkx as nx
import numpy as np

from twin.network import default_network

sys.path.insert(0, __import__("os").path.dirname(__file__))
from _report import markdown_table, write_section

TARGET = 15.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000, help="point-to-point routes")
    parser.add_argument("--matrix", type=int, default=200, help="matrix side")
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    args = parser.parse_args()

    net = default_network(layers=False)
    G = net.G
    rng = np.random.default_rng(0)
    o = rng.choice(net.node_ids, args.matrix, replace=False)
    d = rng.choice(net.node_ids, args.matrix, replace=False)
    po = rng.choice(net.node_ids, args.pairs)
    pd_ = rng.choice(net.node_ids, args.pairs)

    # Warm-up: weights for the hour and the compiled kernel (loaded from numba's cache).
    net.shortest_path(int(po[0]), int(pd_[0]))

    t = time.perf_counter()
    M = net.travel_time_matrix(o, d)
    twin_matrix = time.perf_counter() - t

    t = time.perf_counter()
    M_nx = np.empty_like(M)
    for i, src in enumerate(o):
        lengths = nx.single_source_dijkstra_path_length(G, int(src), weight="travel_time")
        M_nx[i] = [lengths[int(x)] for x in d]
    nx_matrix = time.perf_counter() - t
    matrix_err = float(np.max(np.abs(M - M_nx)))

    t = time.perf_counter()
    routes = [net.shortest_path(int(a), int(b)) for a, b in zip(po, pd_, strict=True)]
    twin_routes = time.perf_counter() - t

    t = time.perf_counter()
    nx_paths = [
        nx.shortest_path(G, int(a), int(b), weight="travel_time")
        for a, b in zip(po, pd_, strict=True)
    ]
    nx_routes = time.perf_counter() - t
    nx_times = [nx.path_weight(G, p, "travel_time") for p in nx_paths]
    route_err = max(abs(r.travel_time - x) for r, x in zip(routes, nx_times, strict=True))

    def row(label: str, twin_s: float, nx_s: float, err: float) -> list[str]:
        return [label, f"{twin_s:.3f}", f"{nx_s:.2f}", f"**{nx_s / twin_s:.0f}×**", f"{err:.1e}"]

    rows = [
        row(f"{args.matrix}×{args.matrix} travel-time matrix", twin_matrix, nx_matrix, matrix_err),
        row(
            f"{args.pairs:,} point-to-point routes (with paths)", twin_routes, nx_routes, route_err
        ),
    ]
    header = ["workload (Gongshu, " + f"{net.n_nodes:,} nodes, {net.n_edges:,} edges)",
              "twin [s]", "networkx [s]", "ratio", "max abs Δ travel time [s]"]  # fmt: skip
    table = markdown_table(header, rows)
    print(table)
    ok = min(nx_matrix / twin_matrix, nx_routes / twin_routes) >= TARGET
    verdict = f"target ≥ {TARGET:.0f}× on both: {'met' if ok else 'NOT met'}"
    print(verdict)
    if args.write:
        write_section(
            "bench_routing", "## Routing: twin vs networkx\n\n" + table + "\n\n" + verdict
        )
    agree = matrix_err < 1e-6 and route_err < 1e-6
    if not agree:
        print("travel times disagree with networkx", file=sys.stderr)
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
