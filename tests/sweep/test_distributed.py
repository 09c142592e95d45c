"""Sweeps through a real `dask scheduler` and `dask worker` processes on 127.0.0.1."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from distributed import Client

from twin.scenario import Scenario
from twin.sweep import SweepError, SweepProgress, parse_grid, read_sweep, run_sweep
from twin.sweep import write_report as write_any_report
from twin.sweep.runner import connect

pytestmark = pytest.mark.slow

REMOTE_SCRIPT = r"<script[^>]*\bsrc\s*=\s*[\"']?\s*(https?:)?//"


class Interrupt(Exception):
    """Stands for a Ctrl-C in the middle of a sweep."""


def test_a_sweep_runs_through_a_scheduler_and_two_workers(
    cluster: Any, short: Scenario, tmp_path: Path
) -> None:
    grid = parse_grid(["dispatch.policy=nearest_idle,fixed_zones"], scenario=short)
    seen: list[SweepProgress] = []
    result = run_sweep(short, grid, tmp_path, replications=3, scheduler=cluster.address,
                       timeout=120, progress=seen.append)  # fmt: skip
    assert [p.done for p in seen] == list(range(7))
    assert len(result.finished) == 6 and not result.failures and not result.reused
    workers = {o.worker for o in result.outcomes}
    assert len(workers) == 2, workers  # both worker processes took runs
    ds = xr.load_dataset(tmp_path / "sweep.nc")
    assert ds["backlog"].dims == ("dispatch.policy", "replication", "time")
    assert ds.sizes["replication"] == 3 and ds.sizes["time"] == 25
    kpis = pd.read_csv(tmp_path / "kpis.csv")
    assert len(kpis) == 6 * kpis["kpi"].nunique()
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert set(summary["dispatch.policy"]) == {"nearest_idle", "fixed_zones"}
    assert (summary["n"] == 3).all()
    assert pd.read_csv(tmp_path / "failures.csv").empty
    # The report re-renders from the files alone.
    page = write_any_report(tmp_path, roads=False).read_text(encoding="utf-8")
    assert page.count("plotly.js v") == 1 and not re.search(REMOTE_SCRIPT, page, re.I)
    for div in ("response", "distributions", "series", "map"):
        assert f'id="twin-{div}"' in page


def test_a_failing_run_is_reported_and_the_others_kept(
    cluster: Any, short: Scenario, tmp_path: Path
) -> None:
    grid = parse_grid(["crews.depots=layer,missing_depots.geojson"], scenario=short)
    result = run_sweep(short, grid, tmp_path, replications=2,
                       scheduler=str(cluster.scheduler_file), timeout=120)  # fmt: skip
    assert len(result.finished) == 2 and len(result.failures) == 2
    for o in result.failures:
        assert o.params == {"crews.depots": "missing_depots.geojson"}
        assert "missing_depots.geojson" in o.error
        assert o.seed in (short.seed, short.seed + 1)
        assert "Traceback" in o.traceback
        assert (tmp_path / "runs" / o.key / "error.json").is_file()
    failures = pd.read_csv(tmp_path / "failures.csv")
    assert sorted(failures["seed"]) == [short.seed, short.seed + 1]
    assert set(failures["crews.depots"]) == {"missing_depots.geojson"}
    ds = result.dataset
    assert ds is not None
    assert ds["run_status"].sel({"crews.depots": "layer"}).all()
    assert not ds["run_status"].sel({"crews.depots": "missing_depots.geojson"}).any()
    assert np.isnan(ds["backlog"].sel({"crews.depots": "missing_depots.geojson"})).all()
    back = read_sweep(tmp_path)
    assert [o.key for o in back.failures] == [o.key for o in result.failures]
    assert "Traceback" in back.failures[0].traceback
    page = write_any_report(tmp_path, roads=False).read_text(encoding="utf-8")
    assert "Failed runs" in page and "missing_depots.geojson" in page


def test_an_interrupted_sweep_resumes_with_its_finished_runs(
    cluster: Any, short: Scenario, tmp_path: Path
) -> None:
    grid = parse_grid(["crews.count=60,80"], scenario=short)

    def stop_after_two(p: SweepProgress) -> None:
        if p.done >= 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_sweep(short, grid, tmp_path, replications=3, scheduler=cluster.address,
                  timeout=120, progress=stop_after_two)  # fmt: skip
    finished = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "runs").iterdir()
                if (p / "status.json").is_file()}  # fmt: skip
    assert len(finished) >= 2
    time.sleep(0.05)
    result = run_sweep(short, grid, tmp_path, replications=3, scheduler=cluster.address,
                       timeout=120)  # fmt: skip
    assert len(result.finished) == 6 and not result.failures
    assert {o.key for o in result.reused} >= set(finished)
    for name, stamp in finished.items():  # reused, not rewritten
        assert (tmp_path / "runs" / name).stat().st_mtime_ns == stamp
    # Without resume, everything runs again.
    again = run_sweep(short, grid, tmp_path, replications=3, scheduler=cluster.address,
                      timeout=120, resume=False)  # fmt: skip
    assert len(again.finished) == 6 and not again.reused


def test_runs_past_the_timeout_are_reported_as_failed(
    cluster: Any, short: Scenario, tmp_path: Path
) -> None:
    day = short.with_updates(horizon=24 * 3600)  # about a second per run
    grid = parse_grid(["dispatch.policy=nearest_idle,fixed_zones"], scenario=day)
    result = run_sweep(day, grid, tmp_path, replications=2, scheduler=cluster.address,
                       timeout=0.3)  # fmt: skip
    assert len(result.outcomes) == 4 and result.failures
    for o in result.failures:
        assert "did not finish within the sweep's timeout of 0.3 s" in o.error


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    with pytest.raises(SweepError, match="cannot reach the Dask scheduler"):  # noqa: SIM117
        with connect("tcp://127.0.0.1:9", timeout=2):
            pass


def test_a_killed_worker_does_not_stop_the_sweep(
    cluster: Any, short: Scenario, tmp_path: Path
) -> None:
    """A third worker joins the scheduler, takes runs, and is SIGKILLed mid-sweep."""
    grid = parse_grid(["dispatch.policy=nearest_idle,fixed_zones"], scenario=short)
    victim_name = f"victim-{tmp_path.name}"
    cluster.start_worker(victim_name)
    try:
        with Client(cluster.address, timeout="30s", set_as_default=False) as probe:
            probe.wait_for_workers(len(cluster.workers), timeout=60)
            names = {w["name"]: a for a, w in probe.scheduler_info()["workers"].items()}
            victim = names[victim_name]
            killed: dict[str, int] = {}

            def kill_mid_sweep(p: SweepProgress) -> None:
                if p.done >= 2 and not killed:
                    killed["in_flight"] = len(probe.processing().get(victim, ()))
                    cluster.kill_worker(victim_name)

            result = run_sweep(short, grid, tmp_path, replications=8, scheduler=cluster.address,
                               retries=2, timeout=180, progress=kill_mid_sweep)  # fmt: skip
        assert killed, "the worker was never killed"
        assert killed["in_flight"] >= 1  # it died holding work
        assert cluster.workers[victim_name].wait(timeout=10) is not None
        assert len(result.finished) == 16 and not result.failures
        assert result.dataset is not None and bool(result.dataset["run_status"].all())
        assert victim not in {o.worker for o in result.outcomes}  # its run was redone
    finally:
        cluster.kill_worker(victim_name)
        cluster.workers[victim_name].wait(timeout=10)
