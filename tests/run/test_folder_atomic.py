"""The run folder is written whole or not at all, and a rerun replaces its own outputs."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from twin.errors import OutputError
from twin.run import folder as run_folder
from twin.run.folder import RUN_OUTPUTS, write_run
from twin.run.results import RunResult
from twin.run.runner import run_scenario
from twin.scenario import validate_scenario


@pytest.fixture(scope="module")
def result() -> RunResult:
    s = validate_scenario(
        {"name": "tiny", "start": "2026-06-01T08:00:00", "horizon": "1h", "seed": 2,
         "cases": {"daily_total": 200}, "crews": {"count": 10}}
    )  # fmt: skip
    return run_scenario(s)


def test_full_disk_while_writing_leaves_the_previous_run(
    result: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    write_run(result, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full_disk(res: Any, path: Path, **kwargs: Any) -> Path:
        Path(path).write_text("<html><body>truncat")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(run_folder, "write_summary", full_disk)
    with pytest.raises(OutputError, match=r"summary\.html failed, nothing was replaced.*full"):
        write_run(result, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_rerun_replaces_its_own_outputs_only(result: RunResult, tmp_path: Path) -> None:
    out = tmp_path / "run"
    (out / "cap").mkdir(parents=True)
    (out / "cap" / "0000-alert.xml").write_text("an earlier run's alert")
    (out / "forecast_alerts.csv").write_text("an earlier run's alerts")
    (out / "my_notes.md").write_text("kept")
    paths = write_run(result, out, report=False)
    names = {p.name for p in out.iterdir()}
    assert names == {p.name for p in paths.values()} | {"my_notes.md"}
    assert names - {"my_notes.md"} <= set(RUN_OUTPUTS)
    assert all(p.parent == out and p.exists() for p in paths.values())
