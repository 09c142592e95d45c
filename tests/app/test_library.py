"""The run library: runs written as run folders, read back after a restart, downloaded."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from dash_app import create_app
from dash_app.jobs import JobRunner
from dash_app.library import APP_META, RunLibrary, default_runs_dir, files_of
from twin.run.folder import write_run
from twin.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture(scope="module")
def short() -> Scenario:
    return load_scenario(SCENARIOS / "gongshu_baseline_day.yaml").with_updates(
        **{"horizon": "1h", "start": "2026-06-01T08:00:00", "cases.daily_total": 1200}
    )


def test_a_run_survives_a_restart_with_the_files_the_cli_writes(
    short: Scenario, tmp_path: Path
) -> None:
    library = RunLibrary(tmp_path / "runs")
    runner = JobRunner(library=library)
    try:
        job = runner.wait(runner.submit_run(short).id, timeout=600)
    finally:
        runner.shutdown()
    assert job.status == "done" and job.folder == tmp_path / "runs" / "run-1"
    # the folder holds what `twin run` writes, byte for byte where the data is the same
    assert job.result is not None
    cli = write_run(job.result, tmp_path / "cli")
    assert set(files_of(job.folder)) == set(files_of(tmp_path / "cli"))
    for name in ("kpis.csv", "kpis.parquet", "cases.parquet"):
        assert (job.folder / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
    assert cli["dataset"].name == "run.nc" and (job.folder / APP_META).is_file()

    # a CLI run folder put in the library by hand is offered too
    shutil.copytree(tmp_path / "cli", tmp_path / "runs" / "night-shift")
    again = JobRunner(library=RunLibrary(tmp_path / "runs"))
    try:
        restored = {j.id: j for j in _finished(again, 2)}
        assert set(restored) == {"run-1", "night-shift"}
        back = restored["run-1"]
        assert back.label == job.label and back.folder == job.folder
        assert back.result is not None
        assert back.result.kpi("cases_reported") == job.result.kpi("cases_reported")
        assert restored["night-shift"].label.startswith("night-shift (folder) · ")
        nxt = again.submit_run(short.with_updates(seed=7))
        assert nxt.id == "run-2"  # numbers go on after the stored runs
        again.wait(nxt.id, timeout=600)
        again.rename("run-1", "Monday baseline")
        again.delete("night-shift")
    finally:
        again.shutdown()
    stored = {s.id: s for s in RunLibrary(tmp_path / "runs").stored()}
    assert list(stored) == ["run-1", "run-2"]
    assert stored["run-1"].label == "Monday baseline"


def _finished(runner: JobRunner, n: int) -> list[object]:
    import time

    for _ in range(6000):  # read back on the worker thread: wait for it, not a time
        runs = runner.finished_runs()
        if len(runs) >= n:
            return list(runs)
        time.sleep(0.05)
    raise AssertionError(f"{n} stored runs were not read back")


def test_downloads_one_file_or_all_and_nothing_else(short: Scenario, tmp_path: Path) -> None:
    app = create_app(preload_network=False, runs_dir=tmp_path)
    ctx = app.twin_context  # type: ignore[attr-defined]
    try:
        job = ctx.runner.wait(ctx.runner.submit_run(short).id, timeout=600)
        client = app.server.test_client()
        reply = client.get(f"/runs/{job.id}/files/kpis.csv")
        assert reply.status_code == 200
        assert reply.data == (job.folder / "kpis.csv").read_bytes()
        assert "attachment" in reply.headers["Content-Disposition"]
        zipped = client.get(f"/runs/{job.id}/files.zip")
        assert zipped.status_code == 200
        names = zipfile.ZipFile(io.BytesIO(zipped.data)).namelist()
        assert sorted(names) == sorted(f"{job.id}/{n}" for n in files_of(job.folder))
        assert f"{job.id}/summary.html" in names and f"{job.id}/{APP_META}" not in names
        assert client.get("/runs/run-99/files/kpis.csv").status_code == 404
        assert client.get(f"/runs/{job.id}/files/../{APP_META}").status_code == 404
        assert client.get(f"/runs/{job.id}/files/no-such.csv").status_code == 404
    finally:
        ctx.runner.shutdown()


def test_the_library_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_runs_dir() == tmp_path / "city-twin" / "app-runs"
    library = RunLibrary(tmp_path / "lib")
    for bad in ("", "..", "a/b"):
        with pytest.raises(ValueError):
            library.folder(bad)
    assert library.stored() == []
