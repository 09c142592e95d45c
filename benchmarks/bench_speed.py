"""Speed as the user feels it: network cache, `twin run` overhead, CLI start-up, in one run.

Every figure is a ratio of two times measured in the same run, each in a fresh process
(the way a user meets them), so a change in the machine's load moves both sides:

- **Network: cached load vs fresh build.** ``default_network()`` (Gongshu with its city
  layers) in a fresh interpreter, built from the GraphML with ``TWIN_NO_CACHE=1``, then
  read back from a warmed cache (a temporary ``TWIN_CACHE_DIR``). The time of the call
  itself is taken inside the process, after importing ``twin.network.build`` and
  geopandas (which both paths need); the process wall is given beside it. Target:
  cached load ≤ 0.5 s and ≥ 10× faster than building.
- **`twin run` wall ÷ its simulation time**, on the baseline day
  (``scenarios/gongshu_baseline_day.yaml``), network cache warm. The simulation time
  is the one the run reports: horizon ÷ the printed real-time factor (the ``simulate_s``
  of :func:`twin.run.runner.run_scenario`). Target ≤ 2.
- **`twin --help` wall ÷ `python -c pass`**, round-robin, with ``_wall`` and the
  ``twin`` command of ``bench_cli.py``. Target ≤ 10.
- **All models together: real-time factor of the simulation alone**, a day's horizon ÷
  the simulation time ``twin run`` reports, on a day composed from the shipped
  scenarios (:func:`all_models_scenario`): the radar storm's rain, drains and
  physics-ensemble forecasts with radar nowcasts staging crews
  (``gongshu_radar_storm.yaml``, its rain from 08:00, 24 h), the muck trucks of
  ``gongshu_muck_night.yaml`` and the concert crowds of ``gongshu_event_night.yaml``,
  with the baseline day's 1,500 cases and 150 crews. Target ≥ 100,000×. Its wall ÷
  simulation ratio is given beside it (the forecasts and the trucks' day are prepared
  before the clock starts, so they count in the wall, not the simulation).

Medians of ``--repeat`` runs (the builds: ``--builds``), after one warm-up each. Run
``python benchmarks/bench_speed.py --write`` to re-measure and record the table in
``benchmarks/README.md``. Not measured here (issue 20): the app's first page and
replay (item 3); the scaling curve is ``bench_scaling.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _report import markdown_table, write_section
from bench_cli import _twin, _wall

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "gongshu_baseline_day.yaml"
LOAD_TARGET_S = 0.5
LOAD_TARGET_RATIO = 10.0
RUN_TARGET = 2.0
HELP_TARGET = 10.0
RTF_TARGET = 100_000.0
SCENARIOS = ROOT / "scenarios"

#: Times ``default_network()`` inside a fresh interpreter; prints JSON.
NETWORK_PROBE = """
import json, time
t0 = time.perf_counter()
import geopandas  # the layers' library: both paths need it
from twin.network.build import default_network
t1 = time.perf_counter()
net = default_network()
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "call_s": t2 - t1, "cached": not net.graph_loaded}))
"""


def _env(cache: Path, **extra: str) -> dict[str, str]:
    """The environment of every child: the repository importable, the temporary cache."""
    env = {k: v for k, v in os.environ.items() if k != "TWIN_NO_CACHE"}
    path = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(PYTHONPATH=path, TWIN_CACHE_DIR=str(cache), COLUMNS="200", **extra)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def _twin_command(env: dict[str, str]) -> list[str]:
    """bench_cli's ``twin`` command, or ``python -m twin.cli`` where that one fails."""
    argv = _twin()
    ok = subprocess.run([*argv, "--version"], capture_output=True, env=env, cwd=ROOT)
    return argv if ok.returncode == 0 else [sys.executable, "-m", "twin.cli"]


def _network_once(env: dict[str, str], *, expect_cached: bool) -> dict[str, Any]:
    t = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-c", NETWORK_PROBE], capture_output=True, text=True, env=env, cwd=ROOT
    )
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"default_network() failed:\n{r.stderr}")
    out: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    if out["cached"] != expect_cached:
        raise SystemExit(f"expected cached={expect_cached}, got {out}")
    out["wall_s"] = wall
    return out


def measure_network(cache: Path, builds: int, loads: int) -> dict[str, float]:
    """Median in-process call time and process wall: fresh builds, then cached loads."""
    off = _env(cache, TWIN_NO_CACHE="1")
    on = _env(cache)
    _network_once(off, expect_cached=False)  # warm-up: bytecode, file cache
    fresh = [_network_once(off, expect_cached=False) for _ in range(builds)]
    first = _network_once(on, expect_cached=False)  # builds and stores
    cached = [_network_once(on, expect_cached=True) for _ in range(loads)]
    med = statistics.median
    return {
        "build_s": med(r["call_s"] for r in fresh),
        "build_wall_s": med(r["wall_s"] for r in fresh),
        "store_s": first["call_s"] - med(r["call_s"] for r in fresh),
        "load_s": med(r["call_s"] for r in cached),
        "load_wall_s": med(r["wall_s"] for r in cached),
        "import_s": med(r["import_s"] for r in cached),
        "entry_mb": sum(p.stat().st_size for p in (cache / "networks").glob("*.npz")) / 1e6,
    }


def all_models_scenario(folder: Path) -> Path:
    """Write the all-models day (see the module docstring) into ``folder``; its path."""
    import yaml

    def read(name: str) -> dict[str, Any]:
        data: dict[str, Any] = yaml.safe_load((SCENARIOS / name).read_text(encoding="utf-8"))
        return data

    day = read("gongshu_radar_storm.yaml")
    crowds = read("gongshu_event_night.yaml")
    trucks = read("gongshu_muck_night.yaml")
    day.update(
        name="gongshu_all_models_day",
        description="bench_speed: rain, drains, forecasts and staging, trucks, crowds, "
        "cases and crews, one day",
        start="2026-06-01T00:00:00", horizon="24h", crowds=crowds["crowds"],
        trucks=trucks["trucks"], operations=crowds["operations"],
    )  # fmt: skip
    day["rain"]["start"] = "8h"
    day["network"] = {"source": "default"}
    path = folder / "gongshu_all_models_day.yaml"
    path.write_text(yaml.safe_dump(day, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _run_once(
    twin: list[str], env: dict[str, str], out: Path, scenario: Path = BASELINE
) -> tuple[float, float]:
    """Wall time of ``twin run`` on a scenario and the simulation time it reports."""
    t = time.perf_counter()
    r = subprocess.run(
        [*twin, "run", str(scenario), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"twin run failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    text = " ".join(r.stdout.split())
    m = re.search(r"Simulated ([\d.]+) h in [\d.]+ s \(real-time factor ([\d,]+)×", text)
    if m is None:
        raise SystemExit(f"no 'Simulated … real-time factor' line in:\n{r.stdout}")
    hours, factor = float(m.group(1)), float(m.group(2).replace(",", ""))
    return wall, hours * 3600.0 / factor


def measure_run(
    twin: list[str], cache: Path, repeat: int, scenario: Path = BASELINE, horizon: float = 86400.0
) -> dict[str, float]:
    """Median wall, simulation time, their ratio and the real-time factor (after a warm-up)."""
    env = _env(cache)
    out = cache / "run-out"
    _run_once(twin, env, out, scenario)
    runs = [_run_once(twin, env, out, scenario) for _ in range(repeat)]
    return {
        "wall_s": statistics.median(w for w, _ in runs),
        "sim_s": statistics.median(s for _, s in runs),
        "ratio": statistics.median(w / s for w, s in runs),
        "rtf": statistics.median(horizon / s for _, s in runs),
    }


def measure_help(twin: list[str], cache: Path, repeat: int) -> dict[str, float]:
    """Median wall of ``python -c pass`` and ``twin --help``, round-robin."""
    env = _env(cache)
    commands = {"pass": [sys.executable, "-c", "pass"], "help": [*twin, "--help"]}
    for argv in commands.values():
        _wall(argv, env)
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(repeat):
        for k, argv in commands.items():
            times[k].append(_wall(argv, env))
    base, helped = statistics.median(times["pass"]), statistics.median(times["help"])
    return {"pass_s": base, "help_s": helped, "ratio": helped / base}


def _verdict(what: str, met: bool) -> str:
    return f"target {what}: {'met' if met else 'not met'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--builds", type=int, default=3, help="timed fresh network builds")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of everything else")
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    args = parser.parse_args()

    cache = Path(tempfile.mkdtemp(prefix="bench-speed-"))
    try:
        twin = _twin_command(_env(cache))
        net = measure_network(cache, args.builds, args.repeat)
        run = measure_run(twin, cache, max(1, args.repeat // 2))
        helped = measure_help(twin, cache, 2 * args.repeat)
        everything = measure_run(
            twin, cache, max(1, args.repeat // 2), scenario=all_models_scenario(cache)
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    speedup = net["build_s"] / net["load_s"]
    rows = [
        ["Gongshu network: fresh build (`TWIN_NO_CACHE=1`), in-process",
         f"{net['build_s']:.2f} s", ""],
        ["Gongshu network: read from the cache, in-process",
         f"{net['load_s']:.3f} s", f"≤ {LOAD_TARGET_S} s"],
        ["build ÷ cached load", f"{speedup:.0f}×", f"≥ {LOAD_TARGET_RATIO:.0f}×"],
        ["process wall `default_network()`: fresh build / cached",
         f"{net['build_wall_s']:.2f} s / {net['load_wall_s']:.2f} s",
         f"({net['build_wall_s'] / net['load_wall_s']:.1f}×)"],
        ["imports before the call (twin.network.build, geopandas)",
         f"{net['import_s']:.2f} s", ""],
        ["first build with the cache on: extra time to store",
         f"{net['store_s']:+.2f} s ({net['entry_mb']:.1f} MB entry)", ""],
        ["`twin run` baseline day: wall / simulation",
         f"{run['wall_s']:.2f} s / {run['sim_s']:.2f} s", ""],
        ["`twin run` wall ÷ simulation time", f"{run['ratio']:.1f}", f"≤ {RUN_TARGET:.0f}"],
        ["`twin run` wall beside the simulation (wall − simulation)",
         f"{run['wall_s'] - run['sim_s']:.2f} s", ""],
        ["`twin --help` / `python -c pass`",
         f"{helped['help_s']:.3f} s / {helped['pass_s']:.3f} s", ""],
        ["`twin --help` ÷ `python -c pass`", f"{helped['ratio']:.1f}×",
         f"≤ {HELP_TARGET:.0f}×"],
        ["baseline day: real-time factor, simulation only", f"{run['rtf']:,.0f}×", ""],
        ["all models, one day: wall / simulation",
         f"{everything['wall_s']:.2f} s / {everything['sim_s']:.2f} s",
         f"({everything['ratio']:.1f}×)"],
        ["all models, one day: real-time factor, simulation only",
         f"{everything['rtf']:,.0f}×", f"≥ {RTF_TARGET:,.0f}×"],
    ]  # fmt: skip
    table = markdown_table(["figure", "measured", "target"], rows)
    how = " ".join(twin[-2:]) if len(twin) > 1 else "the `twin` entry point"
    note = (
        f"Medians: {args.builds} fresh builds, {args.repeat} cached loads, "
        f"{max(1, args.repeat // 2)} `twin run`s, {2 * args.repeat} `--help`s, each in a "
        f"fresh process after a warm-up; `twin` is {how}; network cache in a temporary "
        "`TWIN_CACHE_DIR`. In-process times exclude interpreter start and imports. The "
        "simulation time of `twin run` is the one it reports (horizon ÷ real-time factor); "
        "the rest of its wall is imports, the network, preparing cases and crews, "
        "collecting results, and writing NetCDF, Parquet and the HTML summary; numba's "
        "one-time set-up is done while preparing (the simulation is timed warm), so a "
        "faster simulation raises this ratio even as the wall falls. The "
        "all-models day is composed from the shipped scenarios (see the script's "
        "docstring) and run the same way."
    )
    load_met = net["load_s"] <= LOAD_TARGET_S and speedup >= LOAD_TARGET_RATIO
    verdicts = [
        _verdict(
            f"cached network load at most {LOAD_TARGET_S} s and at least "
            f"{LOAD_TARGET_RATIO:.0f}× faster than building",
            load_met,
        ),
        _verdict(
            f"twin run wall at most {RUN_TARGET:.0f}× its simulation time (baseline day)",
            run["ratio"] <= RUN_TARGET,
        ),
        _verdict(
            f"twin --help at most {HELP_TARGET:.0f}× python -c pass",
            helped["ratio"] <= HELP_TARGET,
        ),
        _verdict(
            f"all models together at least {RTF_TARGET:,.0f}× real time (simulation only)",
            everything["rtf"] >= RTF_TARGET,
        ),
    ]
    print(table)
    print(note)
    print("\n".join(verdicts))
    if args.write:
        write_section(
            "bench_speed",
            "## Speed as the user feels it: network cache, `twin run`, `twin --help`\n\n"
            + f"{table}\n\n{note}\n\n"
            + "\n\n".join(verdicts),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
