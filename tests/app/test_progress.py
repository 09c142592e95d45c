"""The one progress callback of the pages' background jobs (dash_app.progress)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dash
import plotly.utils
import pytest
from dash import Dash, Output

from dash_app.context import AppContext
from dash_app.jobs import JobRunner
from dash_app.progress import JobIds, job_stores, progress_bar, queued, register_progress
from twin.errors import ScenarioError
from twin.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(SCENARIOS / "gongshu_baseline_day.yaml")


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    runner = JobRunner(run=lambda *a, **k: None)
    try:
        yield AppContext(scenarios_dir=tmp_path, save_dir=tmp_path, runner=runner)
    finally:
        runner.shutdown()


@pytest.fixture
def progress(ctx: AppContext) -> Callable[..., tuple[Any, ...]]:
    """The registered callback of a demo page, as the plain function."""
    app = Dash(__name__)
    register_progress(
        app,
        ctx,
        "demo",
        failed="It failed: ",
        done=lambda job: (f"done: {job.payload}", job.payload),
        outputs=[Output("demo-result", "children")],
        on_failure=[None],
    )
    outputs = next(k for k in app.callback_map if "demo-progress-bar.style" in k)
    for part in ("demo-progress-bar.className", "demo-job-text.children", "demo-result.children",
                 "demo-job-seen.data"):  # fmt: skip
        assert part in outputs
    fn: Callable[..., tuple[Any, ...]] = app.callback_map[outputs]["callback"].__wrapped__
    return fn


def _text(component: Any) -> str:
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder)


def test_the_layout_uses_the_ids_of_the_prefix() -> None:
    ids = JobIds("demo")
    stores = [s.id for s in job_stores("demo")]
    assert stores == [ids.job, ids.seen] == ["demo-job", "demo-job-seen"]
    bar, text = progress_bar("demo")
    assert bar.children.id == ids.bar == "demo-progress-bar"
    assert text.id == ids.text == "demo-job-text"


def test_a_finished_job_fills_the_page(
    ctx: AppContext, scenario: Scenario, progress: Callable[..., tuple[Any, ...]]
) -> None:
    job = ctx.runner.submit_task("answer", lambda report: 42, scenario)
    assert queued(job) == (job.id, f"Queued {job.label}")
    ctx.runner.wait(job.id, timeout=120)
    style, cls, text, result, seen = progress(None, job.id, None)
    assert (style, cls, text, result) == ({"width": "100%"}, "bar done", "done: 42", 42)
    assert seen == {"id": job.id, "status": "done", "progress": 1.0, "stage": "done"}
    with pytest.raises(dash.exceptions.PreventUpdate):  # nothing new to draw
        progress(None, job.id, seen)
    with pytest.raises(dash.exceptions.PreventUpdate):  # no job (yet)
        progress(None, None, None)


def test_a_failed_job_says_why(
    ctx: AppContext, scenario: Scenario, progress: Callable[..., tuple[Any, ...]]
) -> None:
    def fail(report: Callable[[float, str], None]) -> None:
        report(0.3, "trying")
        raise ScenarioError("demo.yaml: no such city")

    job = ctx.runner.submit_task("doomed", fail, scenario)
    ctx.runner.wait(job.id, timeout=120)
    style, cls, text, result, _ = progress(None, job.id, None)
    assert (style, cls, result) == ({"width": "100%"}, "bar failed", None)
    assert "It failed: " in _text(text) and "demo.yaml: no such city" in _text(text)


def test_a_running_job_shows_its_stage(
    ctx: AppContext, scenario: Scenario, progress: Callable[..., tuple[Any, ...]]
) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(report: Callable[[float, str], None]) -> int:
        report(0.25, "a quarter")
        started.set()
        release.wait(10)
        return 1

    job = ctx.runner.submit_task("slow", slow, scenario)
    try:
        assert started.wait(10)
        style, cls, text, result, seen = progress(None, job.id, None)
        assert (style, cls, result) == ({"width": "25%"}, "bar", dash.no_update)
        assert text == f"{job.label}: a quarter"
        assert seen["status"] == "running"
    finally:
        release.set()
    ctx.runner.wait(job.id, timeout=120)
