"""What a click on the map shows (dash_app.details), on a real short storm run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import plotly.utils
import pytest

from dash_app.details import details, parse_key
from dash_app.replay import DYNAMIC, RunFrames, frame_traces
from twin.run.results import RunResult
from twin.run.runner import run_scenario
from twin.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture(scope="module")
def wet() -> RunResult:
    scenario = load_scenario(SCENARIOS / "gongshu_rainstorm.yaml").with_updates(
        **{"horizon": "2h", "start": "2026-06-01T07:00:00", "rain.start": "15min"}
    )
    return run_scenario(scenario)


def _text(component: Any) -> str:
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


def test_replay_speeds_never_tick_faster_than_a_round_trip() -> None:
    from dash_app.pages.map import SPEEDS, STEP_MS, tick_plan

    assert tick_plan(0.5) == (2 * STEP_MS, 1) and tick_plan(1.0) == (STEP_MS, 1)
    assert tick_plan(4.0) == (STEP_MS, 4) and tick_plan(None) == (STEP_MS, 1)
    assert all(tick_plan(x)[0] >= STEP_MS for x in SPEEDS)


def test_keys() -> None:
    assert parse_key("case:12") == ("case", "12") and parse_key("point:0") == ("point", "0")
    assert parse_key("lowpoint:lp-tunnel-010") == ("lowpoint", "lp-tunnel-010")
    assert parse_key(None) is None and parse_key("case:x") is None and parse_key("12") is None


def test_every_point_on_the_map_carries_its_key(wet: RunResult) -> None:
    frames = RunFrames.of(wet, wet.network)
    k = len(frames.elapsed) - 1
    traces = dict(zip(DYNAMIC, frame_traces(wet, frames, k, layers={"cases", "crews", "water"},
                                            net=wet.network), strict=True))  # fmt: skip
    water = traces["water depth"]
    assert water["customdata"] == [f"point:{i}" for i in range(len(water["x"]))]
    working = traces["crews working"]
    status = wet.dataset["crew_status"].to_numpy()[k]
    assert working["customdata"] == [f"crew:{i}" for i in np.flatnonzero(status == 3)]
    waiting = traces["cases waiting"]
    assert all(key.startswith("case:") for key in waiting["customdata"])
    assert len(waiting["customdata"]) == len(waiting["x"])


def test_a_case_a_crew_and_a_low_point_explained(wet: RunResult) -> None:
    frames = RunFrames.of(wet, wet.network)
    k = len(frames.elapsed) // 2
    t = frames.elapsed[k]
    cases = wet.cases
    c = int(np.flatnonzero(np.nan_to_num(frames.stage_s["resolved"], nan=np.inf) <= t)[0])
    panel = _text(details(wet, frames, f"case:{c}", k))
    assert f"Case {cases['case'].iloc[c]}" in panel and "crew dispatched" in panel
    assert f"crew {int(cases['crew'].iloc[c])}" in panel
    # a crew at work on a case: which one, and when it arrives and resolves it
    busy = (np.nan_to_num(frames.stage_s["dispatched"], nan=np.inf) <= t) & (
        np.nan_to_num(frames.stage_s["resolved"], nan=np.inf) > t
    )
    j = int(np.flatnonzero(busy)[0])
    crew = int(cases["crew"].iloc[j])
    panel = _text(details(wet, frames, f"crew:{crew}", k))
    assert f"Crew {crew}" in panel and "resolves" in panel and "job" in panel
    deepest = int(np.argmax(np.nanmax(wet.dataset["water_depth"].to_numpy(), axis=0)))
    panel_div = details(wet, frames, f"point:{deepest}", k)
    text = _text(panel_div)
    assert frames.point_names[deepest] in text and "deepest" in text and "closed from" in text
    assert "map-details-graph" in text
    point_id = str(wet.dataset["point_id"].to_numpy()[deepest])
    assert _text(details(wet, frames, f"lowpoint:{point_id}", k)) == text  # the base map's
    assert "Nothing to show" in _text(details(wet, frames, "lowpoint:nowhere", k))
    assert "Nothing to show" in _text(details(wet, frames, "truck:0", k))  # no trucks
    assert "Click a crew" in _text(details(wet, frames, "nonsense", k))
