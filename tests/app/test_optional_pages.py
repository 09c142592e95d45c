"""Forecasts and alerts, sensor placement and muck trucks in the app (no browser)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import plotly.utils
import pytest

from dash_app.context import AppContext
from dash_app.jobs import JobRunner
from dash_app.kpis import headline_cards
from dash_app.pages import optional_pages
from dash_app.replay import DYNAMIC, TRUCK_STATES, RunFrames, frame_traces
from twin.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

forecasts = pytest.importorskip("dash_app.pages.forecasts")
placement = pytest.importorskip("dash_app.pages.placement")


def _texts(component: Any) -> str:
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder)


def _no_progress(fraction: float, stage: str) -> None:
    assert 0.0 <= fraction <= 1.0 and stage


@pytest.fixture(scope="module")
def storm() -> Scenario:
    return load_scenario(SCENARIOS / "gongshu_rainstorm.yaml").with_updates(
        **{"horizon": "3h", "start": "2026-06-01T07:00:00", "rain.start": "30min"}
    )


def test_both_pages_are_offered() -> None:
    assert [m.PATH for m in optional_pages()] == ["/forecasts", "/placement"]


def test_forecasts_replay_alerts_and_bands(storm: Scenario) -> None:
    data = forecasts.build(storm, SCENARIOS, "linear", "persistence", _no_progress)
    n_t, n_p = data.depth.shape
    assert n_t == 3 * 12 + 1 and n_p == len(data.ids) == 53
    assert len(set(data.names)) == n_p and not any(n.startswith("unnamed") for n in data.names)
    assert data.readings.shape == data.depth.shape and data.rain.shape == data.depth.shape
    assert len(data.timeline) > 0  # a 10-year storm raises alerts
    assert set(data.timeline["msgType"]) <= {"Alert", "Update", "Cancel"}
    p = int(np.argmax(data.depth.max(axis=0)))
    k = int(np.argmax(data.depth[:, p] > 0.01))  # as the water starts to rise
    band = data.band(k, p)["water_depth"].to_numpy()[0]
    assert band.shape == (data.model.horizon, len(data.model.quantiles))
    assert np.all(band >= 0) and np.all(np.diff(band, axis=1) >= -1e-12)
    fig = forecasts.point_figure(data, p, k)
    names = [t.name for t in fig.data]
    assert names[:2] == ["simulated depth", "gauge readings"]
    assert "forecast 5%–95%" in names and "forecast median" in names
    assert len(forecasts.timeline_figure(data).data) > 0
    table = _texts(forecasts.messages_table(data))
    assert "Immediate" in table or "Expected" in table


def test_forecasts_show_every_message_and_zoom_to_the_storm(storm: Scenario) -> None:
    import dataclasses

    import pandas as pd

    data = forecasts.build(storm, SCENARIOS, "linear", "persistence", _no_progress)
    n = len(data.timeline)
    box = forecasts.messages_table(data)
    text = _texts(box)
    assert f"All {n:,} alert messages" in text
    assert text.count('"Tr"') == n + 1  # every message, and the heading row
    # a 24-hour run with a 2-hour storm: the axes show the storm, not the day
    times = np.arange(24 * 12 + 1) * 300.0
    rain = np.zeros((times.size, 2))
    rain[120:144, 0] = 30.0  # 10:00 to 12:00 after the start
    depth = np.zeros_like(rain)
    depth[125:160, 0] = 0.2
    issued = pd.DataFrame({"issue_time": [126 * 300.0, 150 * 300.0]})
    day = dataclasses.replace(data, times=times, rain=rain, depth=depth, timeline=issued)
    t0, t1 = forecasts.storm_window(day)
    assert (t0, t1) == (120 * 300.0 - 1800.0, 159 * 300.0 + 3600.0)
    dry = dataclasses.replace(day, rain=rain * 0, depth=depth * 0, timeline=issued.head(0))
    assert forecasts.storm_window(dry) == (0.0, times[-1])
    fig = forecasts.point_figure(data, 0, 3)
    lo, hi = (pd.Timestamp(x) for x in fig.layout.xaxis.range)
    w0, w1 = data.local(forecasts.storm_window(data))
    assert lo == min(w0, data.local(data.times[3])[0]) and hi >= w1
    lo, hi = (pd.Timestamp(x) for x in forecasts.timeline_figure(data).layout.xaxis.range)
    assert (lo, hi) == (w0, w1)


def test_forecasts_say_why_without_rain() -> None:
    dry = load_scenario(SCENARIOS / "gongshu_baseline_day.yaml")
    with pytest.raises(ValueError, match="no rain in this run"):
        forecasts.build(dry, SCENARIOS, "linear", "persistence", _no_progress)


def test_placement_budget_slider_and_curve(storm: Scenario) -> None:
    data = placement.build(storm, SCENARIOS, _no_progress, max_storms=20)
    assert data.max_budget == len(data.train.candidates) == 53
    chosen, train, test = data.place(5, "coverage")
    assert 0 < len(chosen.selected) <= 5 and chosen.cost <= 5
    assert 0.0 < train["coverage"] <= 1.0 and 0.0 <= test["coverage"] <= 1.0
    curve = data.curve("coverage")
    assert list(curve["budget"]) == list(range(54))
    assert curve["coverage_train"].iloc[0] == 0.0
    assert np.all(np.diff(curve["coverage_train"]) >= -1e-12)  # more gauges never see less
    assert curve["coverage_train"].iloc[5] == pytest.approx(train["coverage"])
    runner = JobRunner()
    try:
        ctx = AppContext(SCENARIOS, SCENARIOS, runner)
        fig = placement._map(data, ctx, chosen)
        gauges = next(t for t in fig.data if str(t.name).startswith("gauges"))
        assert len(gauges.x) == len(chosen.selected)
        assert list(gauges.text) == [str(i + 1) for i in range(len(chosen.selected))]
    finally:
        runner.shutdown()
    cards = _texts(placement._cards(chosen, train, test))
    assert "onsets detected" in cards and "held-out storms" in cards
    assert isinstance(placement._curve(curve, 5.0).data[0].y[0], float | np.floating)


def test_muck_trucks_on_the_map() -> None:
    path = SCENARIOS / "gongshu_muck_night.yaml"
    assert path.exists() and "trucks" in Scenario.model_fields
    from twin.run.runner import run_scenario

    result = run_scenario(
        load_scenario(path).with_updates(**{"horizon": "1h", "start": "2026-06-01T22:00:00"})
    )
    if "truck_status" not in result.dataset:
        pytest.skip("this version of the run does not record truck positions")
    frames = RunFrames.of(result, result.network)
    k = result.dataset.sizes["time"] - 1
    traces = dict(
        zip(DYNAMIC, frame_traces(result, frames, k, layers={"trucks"}, net=result.network),
            strict=True)
    )  # fmt: skip
    status = result.dataset["truck_status"].to_numpy()[k]
    meanings = str(result.dataset["truck_status"].attrs["flag_meanings"]).split()
    drawn = sum(len(traces[f"trucks {label}"]["x"]) for label, _, _ in TRUCK_STATES)
    assert drawn == int(np.sum(status != meanings.index("idle")))
    cards = {c.key for c in headline_cards(result)}
    assert {"truck_trips", "truck_violations"} <= cards
