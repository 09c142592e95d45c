"""Start-up of the ``twin`` command against a bare ``python -c pass``, measured in the same run.

Each command runs as a fresh process, several times, round-robin (so a change in the
machine's load touches every command alike), after one warm-up run each; the table gives
the median and the fastest wall time, and the ratio of the medians to ``python -c pass``.
``twin --help`` lists every command without importing any model (see ``twin.cli``), so
the target is that it takes at most 10× a bare interpreter. Run ``python
benchmarks/bench_cli.py --write`` to re-measure and record the table in
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _report import markdown_table, write_section

TARGET = 10.0


def _twin() -> list[str]:
    """The installed ``twin`` entry point, or ``python -m twin.cli`` without one."""
    script = shutil.which("twin")
    return [script] if script else [sys.executable, "-m", "twin.cli"]


def _wall(argv: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.decode()}")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="runs of each command")
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    args = parser.parse_args()

    twin = _twin()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "twin --help": [*twin, "--help"],
        "twin network info --help": [*twin, "network", "info", "--help"],
        "twin --version": [*twin, "--version"],
    }
    env = {**os.environ, "COLUMNS": "120"}
    for argv in commands.values():  # warm-up: bytecode caches, file cache
        _wall(argv, env)
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(args.repeat):
        for label, argv in commands.items():
            times[label].append(_wall(argv, env))

    median = {label: statistics.median(t) for label, t in times.items()}
    base = median["python -c pass"]
    rows = [
        [f"`{label}`", f"{median[label]:.3f}", f"{min(t):.3f}", f"{median[label] / base:.1f}×"]
        for label, t in times.items()
    ]
    header = ["command", "median [s]", "fastest [s]", "× python -c pass"]
    table = markdown_table(header, rows)
    ratio = median["twin --help"] / base
    how = "the `twin` entry point" if len(twin) == 1 else "`python -m twin.cli`"
    note = f"{args.repeat} runs each, round-robin, after a warm-up; `twin` is {how}."
    verdict = (
        f"target twin --help at most {TARGET:.0f}× python -c pass: "
        f"{'met' if ratio <= TARGET else 'not met'}"
    )
    print(table)
    print(note)
    print(f"twin --help / python -c pass: {ratio:.1f}×")
    print(verdict)
    if args.write:
        write_section(
            "bench_cli",
            "## CLI start-up: `twin --help` vs a bare interpreter\n\n"
            + f"{table}\n\n{note}\n\n{verdict}",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
