"""The background runner: runs, replicated comparisons, and failures that say why."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dash_app.jobs import JobRunner, failure_message
from twin.errors import ScenarioError
from twin.scenario import Scenario, load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "gongshu_baseline_day.yaml"


@pytest.fixture(scope="module")
def short() -> Scenario:
    """The baseline day cut to two busy morning hours."""
    return load_scenario(BASELINE).with_updates(
        **{"horizon": "2h", "start": "2026-06-01T08:00:00", "cases.daily_total": 1200}
    )


@pytest.fixture
def runner() -> Iterator[JobRunner]:
    r = JobRunner(keep=3)
    yield r
    r.shutdown()


def test_a_run_reports_progress_and_its_result(runner: JobRunner, short: Scenario) -> None:
    job = runner.submit_run(short, base_dir=BASELINE.parent)
    assert job.status in ("queued", "running") and job.id == "run-1"
    assert "gongshu_baseline_day" in job.label and "nearest_idle" in job.label
    version = runner.version
    done = runner.wait(job.id, timeout=120)
    assert done.status == "done" and done.error is None
    assert done.progress == 1.0 and done.wall_s is not None and done.wall_s > 0
    assert done.result is not None and done.result.kpi("cases_reported") > 0
    assert runner.version > version
    assert runner.finished_runs() == [done]
    snap = runner.snapshot(job.id)
    assert snap is not None and snap["status"] == "done" and snap["progress"] == 1.0


def test_a_failed_run_says_why(runner: JobRunner, short: Scenario) -> None:
    broken = short.with_updates(**{"network.source": "no_such_city.osm"})
    job = runner.wait(runner.submit_run(broken).id, timeout=60)
    assert job.status == "failed" and job.result is None
    assert job.error is not None and "no_such_city.osm" in job.error
    assert "Traceback" not in job.error
    assert runner.finished_runs() == []


def test_unexpected_errors_become_one_line() -> None:
    msg = failure_message(KeyError("boom\n  File 'x.py', line 1"))
    assert msg.startswith("unexpected KeyError: ") and "\n" not in msg
    assert "server log" in msg
    assert failure_message(ScenarioError("crews.count: too small")) == "crews.count: too small"


def test_a_comparison_pairs_replications(runner: JobRunner, short: Scenario) -> None:
    a = runner.wait(runner.submit_run(short).id, timeout=120)
    b_scenario = short.with_updates(**{"dispatch.policy": "fixed_zones"})
    b = runner.wait(runner.submit_run(b_scenario).id, timeout=120)
    job = runner.wait(runner.submit_comparison(a, b, replications=2).id, timeout=120)
    assert job.status == "done", job.error
    assert job.runs is not None and job.summary is not None
    assert sorted(job.runs["seed"].unique()) == [short.seed, short.seed + 1]
    assert set(job.runs["policy"]) == set(job.variant_labels)
    s = job.summary.set_index(["kpi", "policy"])
    label_b = job.variant_labels[1]
    # same seeds, same case stream: the cases reported are identical, their difference 0
    assert s.loc[("cases_reported", label_b), "diff"] == 0.0
    arrive = s.loc[("time_to_arrive_mean", label_b)]
    assert arrive["diff_low"] <= arrive["diff"] <= arrive["diff_high"]
    assert job.units["share_arrive_within_target"] == "-"


def test_old_runs_are_forgotten(short: Scenario) -> None:
    calls: list[Scenario] = []

    def fake_run(scenario: Scenario, **_: object) -> object:
        calls.append(scenario)
        raise ScenarioError("refused on purpose")

    r = JobRunner(keep=2, run=fake_run)  # type: ignore[arg-type]
    try:
        ids = [r.submit_run(short).id for _ in range(4)]
        r.wait(ids[-1], timeout=120)
        deadline = time.monotonic() + 60
        while len(r.jobs()) > 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(calls) == 4
        assert [j.id for j in r.jobs()] == ids[-2:]
        assert all(j.error == "refused on purpose" for j in r.jobs())
    finally:
        r.shutdown()
