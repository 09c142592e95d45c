"""Ponding at all Gongshu low points through a 24-hour storm: the twin vs pyswmm, in one run.

Workload: the 53 low points of ``data/layers/low_points.geojson`` (47 underpasses,
4 intersections, 2 road sections) through 24 h of rain at 60-s steps: light rain in the
morning, a 2-h Chicago design storm (peak 122 mm/h, 55 mm) from 14:00, drizzle after
(68 mm in the day).

- **twin**: :func:`twin.hydro.reservoir.simulate_ponding`, all points at once (numba
  kernel; the compiled kernel is loaded from numba's cache by a warm-up run). Best of
  ``--repeat`` runs.
- **pyswmm**: the same models in one SWMM input file (:func:`twin.hydro.swmm_inp.write_inp`:
  53 subcatchments, storage nodes, outlets and outfalls), run by
  :func:`twin.hydro.swmm_inp.run_swmm` (pyswmm steps the engine one 60-s report at a
  time and reads depth, runoff, outflow and flooding of every point). Best of
  ``--repeat`` runs. The SWMM engine alone (``swmm_run``, no Python stepping) is timed
  too, to show where the time goes.

Both use the same runoff step (SWMM's WET_STEP, the twin's substep): 60 s. SWMM routes
every 5 s: its kinematic-wave storage update lags the inflow by one routing step and
under-relaxes the depth, so it needs short steps to converge (on the verification cases
its depths at a 30-s routing step stray up to 17 mm from its own 1-s solution, at 5 s up
to 2 mm); the twin's pond update is implicit (trapezoidal, solved by Newton) with the
runoff volume taken exactly, and at 60 s it stays within 1.4 mm of SWMM's 1-s solution.
Agreement: NSE of the twin's depth hydrograph against SWMM's per point (median and
worst), largest peak depth error and largest peak-time offset. The ratio (pyswmm / twin
wall time) is the result; the target is ≥ 20×.

The parameters are those the twin derives for every Gongshu low point from the network
(:func:`twin.hydro.lowpoints.low_points`, whose docstring states the assumptions). Run
``python benchmarks/bench_hydro.py --write`` to re-measure and record the table in
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from twin.hydro.lowpoints import low_points
from twin.hydro.reservoir import CatchmentParams, simulate_ponding
from twin.hydro.swmm_inp import run_swmm, write_inp
from twin.network import default_network

sys.path.insert(0, os.path.dirname(__file__))
from _report import markdown_table, write_section

TARGET = 20.0
DT = 60.0  # rain and report step [s]
WET_STEP = 60.0  # runoff step of both [s]
ROUTING_STEP = 5.0  # SWMM routing step [s]


#: Plausible ranges per kind of low point, as (low, high) of a uniform draw. Overland
#: flow: Manning's n of asphalt/concrete 0.011–0.015 and of grass 0.10–0.30, depression
#: storage 1–2.5 mm on pavement and 2.5–7.5 mm on lawns, Horton f0 50–125 mm/h,
#: fc 3–12 mm/h, decay 2–5 1/h (SWMM user's manual 5.2, appendix A). Catchments,
#: ponds and drains: underpasses are fed by their ramps and the streets above (1–5 ha,
#: nearly all paved), pond in a sag whose area grows with depth and are drained by a pump
#: or a pipe of 0.1–0.5 m³/s; road sections and intersections collect 0.5–3 ha through
#: street inlets of 0.03–0.15 m³/s and spill over kerbs at 0.25–0.5 m.
def low_point_params() -> tuple[list[str], list[str], CatchmentParams]:
    """Ids, kinds and derived parameters of every Gongshu low point."""
    lp = low_points(default_network())
    return [str(x) for x in lp.ids], [str(x) for x in lp.kinds], lp.params


def storm_24h(dt: float = DT) -> np.ndarray:
    """24 h of rain [mm/h] at ``dt``: morning showers, a 2-h design storm, drizzle."""
    t = np.arange(round(86400 / dt)) * dt / 3600.0  # hours
    rain = np.zeros(t.shape)
    rain[(t >= 6.0) & (t < 8.0)] = 2.0
    rain[(t >= 8.0) & (t < 9.0)] = 6.0
    rain[(t >= 17.0) & (t < 20.0)] = 1.0
    # Chicago storm (alternating blocks of i = A / (t + b)^n, t in minutes), peak 40 % in.
    m = round(7200 / dt)
    tm = np.arange(1, m + 1) * dt / 60.0
    blocks = np.diff(850.0 / (tm + 15.0) ** 0.7 * tm / 60.0, prepend=0.0) / (dt / 3600)
    order = np.argsort(np.abs(np.arange(m) - 0.4 * (m - 1)) + 1e-3 * np.arange(m))
    storm = np.empty(m)
    storm[order] = blocks
    start = round(14.0 * 3600 / dt)
    rain[start : start + m] = storm
    return rain


def nse(sim: np.ndarray, obs: np.ndarray) -> float:
    den = float(np.sum((obs - obs.mean()) ** 2))
    return 1.0 - float(np.sum((sim - obs) ** 2)) / den if den > 0 else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (best)")
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    ids, kinds, params = low_point_params()
    rain = storm_24h()
    substeps = round(DT / WET_STEP)
    n = params.n_points

    simulate_ponding(params, rain[:10], DT, substeps=substeps)  # warm-up (numba cache)
    twin_times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        result = simulate_ponding(params, rain, DT, substeps=substeps)
        twin_times.append(time.perf_counter() - t)

    from swmm.toolkit import solver

    def engine_run(inp: Path) -> None:
        """SWMM's own run loop, its console progress sent to /dev/null."""
        sys.stdout.flush()
        saved = os.dup(1)
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            try:
                solver.swmm_run(str(inp), str(inp.with_suffix(".rpt")), str(inp.with_suffix(".o2")))
            finally:
                os.dup2(saved, 1)
                os.close(saved)

    swmm_times, engine_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "gongshu_low_points.inp"
        t = time.perf_counter()
        write_inp(params, rain, DT, inp, wet_step=WET_STEP, routing_step=ROUTING_STEP,
                  names=ids)  # fmt: skip
        write_s = time.perf_counter() - t
        for _ in range(args.repeat):
            t = time.perf_counter()
            frame = run_swmm(inp)
            swmm_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            engine_run(inp)
            engine_times.append(time.perf_counter() - t)

    names = [c for c in frame["water_depth"].columns]
    obs = frame["water_depth"][names].to_numpy()
    sim = result.water_depth
    scores = np.array([nse(sim[:, j], obs[:, j]) for j in range(n)])
    peak_err = np.abs(sim.max(axis=0) - obs.max(axis=0)) / obs.max(axis=0)
    peak_dt = np.abs(np.argmax(sim, axis=0) - np.argmax(obs, axis=0)) * DT
    mass = result.max_relative_error

    twin_s, swmm_s, engine_s = min(twin_times), min(swmm_times), min(engine_times)
    ratio = swmm_s / twin_s
    n_kind = {k: kinds.count(k) for k in dict.fromkeys(kinds)}
    header = [
        f"24-h storm, {n} Gongshu low points ("
        + ", ".join(
            f"{v} {k.replace('_', ' ')}{'es' if k.endswith('s') else 's'}"
            for k, v in n_kind.items()
        )
        + f"), {rain.size} rain steps of {DT:.0f} s",
        "twin",
        "pyswmm",
        "ratio",
    ]
    rows = [
        ["wall time [s]", f"{twin_s:.3f}", f"{swmm_s:.2f}", f"**{ratio:.0f}×**"],
        ["SWMM engine alone, no stepping [s]", "", f"{engine_s:.2f}", f"{engine_s / twin_s:.0f}×"],
        ["steps [s]: runoff / pond (routing)", f"{WET_STEP:.0f} / {WET_STEP:.0f}",
         f"{WET_STEP:.0f} / {ROUTING_STEP:.0f}", ""],
        ["depth NSE vs SWMM: median / worst", f"{np.median(scores):.5f} / {scores.min():.5f}",
         "reference", ""],
        ["peak depth error: max [%]", f"{100 * peak_err.max():.2f}", "", ""],
        ["peak time offset: max [s]", f"{peak_dt.max():.0f}", "", ""],
        ["mean / max peak depth [m]", f"{sim.max(axis=0).mean():.3f} / {sim.max():.3f}",
         f"{obs.max(axis=0).mean():.3f} / {obs.max():.3f}", ""],
        ["points spilling over", f"{int((result.mass_balance['overflow'] > 0).sum())}", "", ""],
        ["mass balance error: max relative", f"{mass:.1e}", "", ""],
    ]  # fmt: skip
    table = markdown_table(header, rows)
    note = (
        f"Best of {args.repeat} runs each (twin: "
        + ", ".join(f"{x:.3f}" for x in twin_times)
        + " s; pyswmm: "
        + ", ".join(f"{x:.2f}" for x in swmm_times)
        + f" s). Writing the .inp: {write_s:.2f} s (left out). Parameters: derived from "
        "the Gongshu network by twin.hydro.lowpoints.low_points."
    )
    ok = ratio >= TARGET
    verdict = f"target ≥ {TARGET:.0f}×: {'met' if ok else 'NOT met'}"
    print(table)
    print()
    print(note)
    print(verdict)
    if args.write:
        write_section(
            "bench_hydro",
            "## Ponding at low points: twin vs pyswmm\n\n"
            + table
            + "\n\n"
            + note
            + "\n\n"
            + verdict,
        )
    agree = bool(np.median(scores) >= 0.98 and peak_err.max() <= 0.05 and mass < 1e-3)
    if not agree:
        print("depths disagree with SWMM", file=sys.stderr)
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
