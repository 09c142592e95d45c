"""`twin sweep` and `twin report`: a local cluster by default, or a given scheduler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[2]


def twin(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twin.cli", *args], capture_output=True, text=True, cwd=ROOT,
        timeout=timeout, env={**os.environ, "COLUMNS": "160"},
    )  # fmt: skip


def one_line_error(r: subprocess.CompletedProcess[str], *words: str) -> None:
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error:")
    for w in words:
        assert w in lines[0], lines[0]


@pytest.mark.parametrize("command", ["sweep", "report"])
def test_help(command: str) -> None:
    r = twin(command, "--help")
    assert r.returncode == 0, r.stderr
    assert "Usage" in r.stdout
    if command == "sweep":
        for option in ("--grid", "--replications", "--scheduler", "--workers", "--format"):
            assert option in r.stdout


def test_a_bad_grid_fails_before_any_run(short_yaml: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = twin("sweep", str(short_yaml), "--grid", "dispatch.policy=nearest_idle,teleport",
             "--out", str(out), timeout=60)  # fmt: skip
    one_line_error(r, "dispatch.policy=teleport", "unknown policy", "nearest_idle")
    assert not out.exists()


def test_report_of_something_else_is_a_one_line_error(tmp_path: Path) -> None:
    one_line_error(twin("report", str(tmp_path), timeout=60), "neither a run folder")


@pytest.mark.slow
def test_sweep_on_the_default_local_cluster_and_its_report(
    short_yaml: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    r = twin("sweep", str(short_yaml), "--grid", "dispatch.policy=nearest_idle,fixed_zones",
             "--replications", "2", "--out", str(out), "--no-report")  # fmt: skip
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "4 of 4 runs finished" in r.stdout
    assert "Traceback" not in r.stderr
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["info"]["scheduler"] == "local" and manifest["info"]["workers"] == 2
    assert manifest["counts"] == {"ok": 4, "failed": 0, "pending": 0, "reused": 0, "total": 4}
    assert xr.load_dataset(out / "sweep.nc")["backlog"].dims == (
        "dispatch.policy", "replication", "time")  # fmt: skip
    # The report from the files alone (a run folder works too: see test_task).
    r = twin("report", str(out), "--no-roads")
    assert r.returncode == 0, r.stderr
    assert (out / "report.html").stat().st_size > 1_000_000


@pytest.mark.slow
def test_sweep_with_failures_exits_3_and_lists_them(
    cluster: Any, short_yaml: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    r = twin("sweep", str(short_yaml), "--grid", "crews.depots=layer,nowhere.geojson",
             "--replications", "2", "--scheduler", cluster.address, "--out", str(out))  # fmt: skip
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "2 of 4 runs finished" in r.stdout and "2 failed run(s)" in r.stdout
    assert "nowhere.geojson" in r.stdout
    assert (out / "report.html").is_file()
    failures = pd.read_csv(out / "failures.csv")
    assert sorted(failures["seed"]) == [5, 6]


@pytest.mark.slow
def test_sweep_where_every_run_fails_is_an_error(
    cluster: Any, short_yaml: Path, tmp_path: Path
) -> None:
    r = twin("sweep", str(short_yaml), "--grid", "crews.depots=nowhere.geojson",
             "--scheduler", cluster.address, "--out", str(tmp_path / "sweep"))  # fmt: skip
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "error: all 2 runs failed" in r.stderr and "seed 5" in r.stderr
    assert "nowhere.geojson" in r.stdout
