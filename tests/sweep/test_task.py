"""One run as a task (in this process, no Dask), merging runs, and reading folders back."""

from __future__ import annotations

import importlib.util
import json
import pickle
import re
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from twin.errors import ScenarioError
from twin.run.folder import write_run
from twin.run.runner import run_scenario
from twin.scenario import Scenario
from twin.sweep import SweepError, read_run, run_sweep, write_report
from twin.sweep.grid import Grid, parse_grid
from twin.sweep.merge import kpi_runs_table, merge_runs, summarise_grid
from twin.sweep.runner import plan_runs
from twin.sweep.task import ERROR_FILE, STATUS_FILE, RunOutcome, RunTask, execute_run

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "gongshu_baseline_day.yaml"
REMOTE_SCRIPT = r"<script[^>]*\bsrc\s*=\s*[\"']?\s*(https?:)?//"


@pytest.fixture(scope="module")
def grid(short: Scenario) -> Grid:
    return parse_grid(["dispatch.policy=nearest_idle,fixed_zones"], scenario=short)


@pytest.fixture(scope="module")
def done(
    short: Scenario, grid: Grid, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[RunTask], dict[str, RunOutcome]]:
    """Two policies × three replications, run in this process."""
    folder = tmp_path_factory.mktemp("sweep")
    tasks = plan_runs(short, grid, folder, replications=3)
    return tasks, {t.key: execute_run(t) for t in tasks}


def test_a_task_does_not_carry_the_network(short: Scenario, grid: Grid, tmp_path: Path) -> None:
    task = plan_runs(short, grid, tmp_path, replications=1)[0]
    assert len(pickle.dumps(task)) < 20_000
    assert len(cloudpickle.dumps(execute_run)) < 1_000  # pickled by reference


def test_plan_gives_common_seeds_and_folders(short: Scenario, grid: Grid, tmp_path: Path) -> None:
    tasks = plan_runs(short, grid, tmp_path, replications=3)
    assert [(t.point, t.replication, t.seed) for t in tasks] == [
        (p, r, short.seed + r) for p in range(2) for r in range(3)
    ]
    assert all(t.scenario.seed == t.seed for t in tasks)
    assert tasks[4].scenario.dispatch.policy == "fixed_zones"
    assert all(Path(t.folder).parent == tmp_path.resolve() / "runs" for t in tasks)
    assert len({t.key for t in tasks}) == 6


def test_a_run_writes_a_complete_folder_atomically(
    done: tuple[list[RunTask], dict[str, RunOutcome]],
) -> None:
    tasks, outcomes = done
    task = tasks[0]
    folder = Path(task.folder)
    assert outcomes[task.key].ok and not outcomes[task.key].reused
    names = {p.name for p in folder.iterdir()}
    assert {"run.nc", "cases.parquet", "kpis.parquet", "kpis.csv", STATUS_FILE} <= names
    assert not any(p.name.startswith(".tmp-") for p in folder.parent.iterdir())
    status = json.loads((folder / STATUS_FILE).read_text())
    assert status["status"] == "ok" and status["seed"] == task.seed
    assert status["params"] == {"dispatch.policy": "nearest_idle"}
    assert status["timing"]["simulate_s"] > 0
    # Run again: the finished folder is reused, not rewritten.
    stamp = (folder / "run.nc").stat().st_mtime_ns
    again = execute_run(task)
    assert again.ok and again.reused
    assert (folder / "run.nc").stat().st_mtime_ns == stamp


def test_a_failing_run_records_error_traceback_seed_and_parameters(
    short: Scenario, tmp_path: Path
) -> None:
    grid = parse_grid(["crews.depots=no_such_depots.geojson"], scenario=short)
    task = plan_runs(short, grid, tmp_path, replications=2)[1]
    outcome = execute_run(task)
    assert not outcome.ok
    assert "no_such_depots.geojson" in outcome.error
    error = json.loads((Path(task.folder) / ERROR_FILE).read_text())
    assert error["seed"] == short.seed + 1 == task.seed
    assert error["params"] == {"crews.depots": "no_such_depots.geojson"}
    assert "Traceback (most recent call last)" in error["traceback"]
    assert json.loads((Path(task.folder) / STATUS_FILE).read_text())["status"] == "failed"


def test_merge_stacks_runs_along_parameters_and_replications(
    short: Scenario, grid: Grid, done: tuple[list[RunTask], dict[str, RunOutcome]]
) -> None:
    tasks, outcomes = done
    ds = merge_runs(tasks, outcomes, grid, scenario=short, replications=3)
    assert ds is not None
    assert ds["backlog"].dims == ("dispatch.policy", "replication", "time")
    assert list(ds["dispatch.policy"].values) == ["nearest_idle", "fixed_zones"]
    assert list(ds["seed"].values) == [short.seed, short.seed + 1, short.seed + 2]
    assert "crew_status" not in ds and "agent" not in ds.dims  # per-agent arrays left out
    one = tasks[4]  # fixed_zones, replication 1
    with xr.open_dataset(Path(one.folder) / "run.nc") as run:
        expected = run["backlog"].to_numpy()
        np.testing.assert_array_equal(
            ds["backlog"].sel({"dispatch.policy": "fixed_zones", "replication": 1}), expected
        )
        np.testing.assert_array_equal(ds["time"], run["time"])
    assert (ds["run_status"] == 1).all()
    # Common random numbers: the same cases at every grid point, replication by replication.
    reported = ds["kpi_value"].sel(kpi="cases_reported")
    np.testing.assert_array_equal(reported.isel({"dispatch.policy": 0}),
                                  reported.isel({"dispatch.policy": 1}))  # fmt: skip
    assert reported.isel({"dispatch.policy": 0}).std() > 0  # ... and different seeds differ


def test_merge_leaves_failed_runs_as_nan_and_can_keep_agents(
    short: Scenario, grid: Grid, done: tuple[list[RunTask], dict[str, RunOutcome]]
) -> None:
    tasks, outcomes = done
    lost = tasks[2]
    partial = {k: v for k, v in outcomes.items() if k != lost.key}
    ds = merge_runs(tasks, partial, grid, scenario=short, replications=3, agents=True)
    assert ds is not None
    assert int(ds["run_status"].sum()) == 5
    assert np.isnan(ds["backlog"].isel({"dispatch.policy": 0, "replication": 2})).all()
    assert ds["crew_status"].dims == ("dispatch.policy", "replication", "time", "agent")
    assert ds.sizes["agent"] == short.crews.count


def test_summary_is_the_student_t_interval_over_replications(
    grid: Grid, done: tuple[list[RunTask], dict[str, RunOutcome]]
) -> None:
    tasks, outcomes = done
    runs = kpi_runs_table(tasks, outcomes, grid)
    assert set(runs.columns) >= {"point", "dispatch.policy", "replication", "seed", "kpi"}
    summary = summarise_grid(runs, grid, confidence=0.9)
    row = summary[(summary["kpi"] == "time_to_resolve_mean") & (summary["point"] == 1)].iloc[0]
    x = runs[(runs["kpi"] == "time_to_resolve_mean") & (runs["point"] == 1)]["value"].to_numpy()
    half = stats.t.ppf(0.95, 2) * x.std(ddof=1) / np.sqrt(3)
    assert row["dispatch.policy"] == "fixed_zones" and row["n"] == 3
    assert row["mean"] == pytest.approx(x.mean())
    assert row["ci_low"] == pytest.approx(x.mean() - half)
    assert row["ci_high"] == pytest.approx(x.mean() + half)


def test_read_run_gives_back_the_run_and_its_report(short: Scenario, tmp_path: Path) -> None:
    result = run_scenario(short)
    write_run(result, tmp_path, report=False)
    back = read_run(tmp_path)
    assert back.scenario == short
    pd.testing.assert_frame_equal(back.kpis, result.kpis)
    pd.testing.assert_frame_equal(back.cases, result.cases)
    xr.testing.assert_identical(back.dataset, result.dataset)
    path = write_report(tmp_path, roads=False)
    assert path == tmp_path / "summary.html"
    page = path.read_text(encoding="utf-8")
    assert page.count("plotly.js v") == 1
    assert not re.search(REMOTE_SCRIPT, page, re.IGNORECASE)
    for div in ("twin-series", "twin-histograms", "twin-map"):
        assert f'id="{div}"' in page


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [({"replications": 0}, ScenarioError, "replications must be ≥ 1"),
     ({"workers": 0}, ScenarioError, "workers must be ≥ 1"),
     ({"confidence": 1.5}, ScenarioError, "confidence"),
     ({"fmt": "hdf5"}, ScenarioError, "netcdf or zarr")],
)  # fmt: skip
def test_bad_arguments_fail_before_anything_runs(
    short: Scenario, grid: Grid, tmp_path: Path, kwargs: dict[str, object], error: type,
    words: str,
) -> None:  # fmt: skip
    with pytest.raises(error, match=words):
        run_sweep(short, grid, tmp_path / "sweep", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "sweep").exists()


def test_zarr_without_the_zarr_package_is_a_clear_error(
    short: Scenario, grid: Grid, tmp_path: Path
) -> None:
    if importlib.util.find_spec("zarr") is not None:
        pytest.skip("zarr is installed")
    with pytest.raises(SweepError, match="pip install zarr"):
        run_sweep(short, grid, tmp_path / "sweep", fmt="zarr")
    assert not (tmp_path / "sweep").exists()


def test_rain_sweeps_merge_the_water_series(tmp_path: Path) -> None:
    from twin.scenario import load_scenario

    storm = load_scenario(BASELINE.parent / "gongshu_rainstorm.yaml").with_updates(
        start="2026-06-01T07:30:00", horizon=2 * 3600, **{"rain.start": 1800,
        "rain.design_storm.duration": 3600, "crews.count": 80},
    )  # fmt: skip
    grid = parse_grid(["rain.scale=0.5,1.5"], scenario=storm)
    tasks = plan_runs(storm, grid, tmp_path, replications=1)
    outcomes = {t.key: execute_run(t) for t in tasks}
    assert all(o.ok for o in outcomes.values())
    ds = merge_runs(tasks, outcomes, grid, scenario=storm, replications=1)
    assert ds is not None
    assert ds["water_depth"].dims == ("rain.scale", "replication", "time", "point")
    assert ds["point_max_depth"].dims == ("rain.scale", "replication", "point")
    assert ds.sizes["point"] == 53 and ds["point_id"].dims == ("point",)
    deepest = ds["point_max_depth"].max("point").squeeze("replication")
    assert float(deepest.sel({"rain.scale": 1.5})) > float(deepest.sel({"rain.scale": 0.5}))
    rain = ds["kpi_value"].sel(kpi="rain_depth").squeeze("replication").to_numpy()
    np.testing.assert_allclose(rain[1] / rain[0], 3.0, rtol=1e-9)
