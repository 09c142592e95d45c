"""Layouts, cards, figures and the map without a browser, on a real short Gongshu run."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.utils
import pytest
import typer
from dash import html

from dash_app import create_app
from dash_app.basemap import map_figure
from dash_app.cli import app_command
from dash_app.figures import (
    DIFF_COLOURS,
    difference_figure,
    histogram_figure,
    series_figure,
)
from dash_app.jobs import Job
from dash_app.kpis import fmt_kpi, headline_cards, kpi_value
from dash_app.pages import builder, compare, results
from dash_app.replay import (
    CASE_STAGES,
    CREW_STATES,
    DYNAMIC,
    WATER_SCALE,
    RunFrames,
    colour_bar_max,
    frame_traces,
)
from twin.run.compare import summarise
from twin.run.results import RunResult
from twin.run.runner import run_scenario
from twin.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture(scope="module")
def dry() -> RunResult:
    scenario = load_scenario(SCENARIOS / "gongshu_baseline_day.yaml").with_updates(
        **{"horizon": "2h", "start": "2026-06-01T08:00:00", "cases.daily_total": 1200}
    )
    return run_scenario(scenario)


@pytest.fixture(scope="module")
def wet() -> RunResult:
    scenario = load_scenario(SCENARIOS / "gongshu_rainstorm.yaml").with_updates(
        **{"horizon": "2h", "start": "2026-06-01T07:00:00", "rain.start": "15min"}
    )
    return run_scenario(scenario)


def _job(result: RunResult, n: int) -> Job:
    return Job(f"run-{n}", "run", f"#{n} test", (result.scenario,), result=result, status="done")


def _texts(component: Any) -> str:
    """All text in a Dash component tree."""
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder)


def test_kpi_cards_show_the_kpi_table(dry: RunResult) -> None:
    cards = {c.key: c for c in headline_cards(dry)}
    reported = kpi_value(dry.kpis, "cases_reported")
    assert cards["cases_reported"].value == f"{int(reported):,}"
    share = kpi_value(dry.kpis, "share_arrive_within_target")
    assert cards["arrive_within_target"].value == f"{100 * share:.1f} %"
    assert cards["arrive_within_target"].label == "arrive within 5 min"
    assert "rain_depth" not in cards  # a dry run has no rain cards
    assert fmt_kpi(float("nan"), "min") == "–"


def test_rain_cards_and_figures(wet: RunResult) -> None:
    cards = {c.key: c for c in headline_cards(wet)}
    assert cards["rain_depth"].value.endswith(" mm")
    view = results.run_view(_job(wet, 2))
    text = _texts(html.Div(view))
    assert "Rain and water at the low points" in text and "kpi-card-points_closed" in text


def test_results_view_and_figures(dry: RunResult) -> None:
    view = results.run_view(_job(dry, 1))
    text = _texts(html.Div(view))
    assert "results-kpis" in text and "All KPIs" in text and "time_to_arrive_mean" in text
    fig = series_figure(dry)
    assert {t.name for t in fig.data} >= {"open cases (backlog)", "working", "on duty"}
    hist = histogram_figure(dry)
    assert len(hist.data) == 3
    assert sum(hist.data[1].y) == dry.cases["time_to_arrive_s"].notna().sum()


def test_map_frames_count_every_case_and_crew(dry: RunResult) -> None:
    net = dry.network
    assert net is not None
    frames = RunFrames.of(dry, net)
    ds = dry.dataset
    k = ds.sizes["time"] - 1
    traces = frame_traces(dry, frames, k, layers={"cases", "crews", "water"}, net=net)
    assert [t["name"].split(" (")[0] for t in traces] == list(DYNAMIC)
    by = {name: t for name, t in zip(DYNAMIC, traces, strict=True)}
    t_end = frames.elapsed[k]
    reported = int((dry.cases["reported"] - dry.cases["reported"].min()).notna().sum())
    reported_by_end = int(np.sum(frames.stage_s["reported"] <= t_end))
    assert reported_by_end <= reported
    shown = sum(len(by[f"cases {s}"]["x"]) for s, _, _ in CASE_STAGES)
    assert shown == reported_by_end
    closed = int(np.sum(np.nan_to_num(frames.stage_s["closed"], nan=np.inf) <= t_end))
    assert len(by["cases closed"]["x"]) == closed
    status = ds["crew_status"].to_numpy()[k]
    for value, label, _ in CREW_STATES:
        assert len(by[f"crews {label}"]["x"]) == int((status == value).sum())
    assert by["water depth"]["visible"] is False  # a dry run: nothing to draw
    assert frames.labels[0] == "08:00" and frames.labels[-1] == "10:00"
    hidden = frame_traces(dry, frames, k, layers=set(), net=net)
    assert all(t["visible"] is False for t in hidden)


def test_map_shows_water_and_closed_roads(wet: RunResult) -> None:
    net = wet.network
    assert net is not None
    frames = RunFrames.of(wet, net)
    k = int(np.argmax(wet.dataset["water_depth"].to_numpy().max(axis=1)))
    traces = dict(zip(DYNAMIC, frame_traces(wet, frames, k, layers={"water"}, net=net),
                      strict=True))  # fmt: skip
    assert traces["water depth"]["visible"] is True
    assert len(traces["water depth"]["x"]) == wet.dataset.sizes["point"]
    closed = traces["roads closed"]
    assert closed["visible"] is True and len(closed["x"]) > 0  # the storm closes roads
    # every low point by its own readable name (none "unnamed underpass")
    assert len(set(frames.point_names)) == len(frames.point_names) == wet.dataset.sizes["point"]
    assert not any(n.startswith("unnamed") for n in frames.point_names)
    hover = traces["water depth"]["text"]
    assert [h.rsplit(":", 1)[0] for h in hover] == frames.point_names


def test_water_scale_is_explicit_and_spans_the_run(wet: RunResult) -> None:
    net = wet.network
    assert net is not None
    frames = RunFrames.of(wet, net)
    deepest = float(np.nanmax(wet.dataset["water_depth"].to_numpy()))
    assert frames.water_max == pytest.approx(deepest)
    for k in (0, wet.dataset.sizes["time"] - 1):
        water = dict(zip(DYNAMIC, frame_traces(wet, frames, k, layers={"water"}, net=net),
                         strict=True))["water depth"]  # fmt: skip
        marker = water["marker"]
        # a list, light to dark, never a name that plotly.js may read the other way
        assert marker["colorscale"] == WATER_SCALE
        assert WATER_SCALE[0] == [0.0, "rgb(247,251,255)"] and WATER_SCALE[-1][0] == 1.0
        assert marker["cmax"] >= deepest and marker["cmax"] >= 1.5 * wet.scenario.hydro.closed_depth
        # the full draw sends the same scale as the patch of one slider move
        fig = map_figure([], [water], net).to_plotly_json()
        assert [list(s) for s in fig["data"][0]["marker"]["colorscale"]] == WATER_SCALE
    assert colour_bar_max(0.405, 2.18) == 2.2 and colour_bar_max(0.405, 0.1) == 0.41
    assert colour_bar_max(0.0, 0.0) == 1.0


def test_compare_tables(dry: RunResult) -> None:
    a, b = _job(dry, 1), _job(dry, 2)
    table = compare.side_table(a, b)
    text = _texts(table)
    assert "cases_reported" in text and "+0 cases" in text
    assert compare.better("share_arrive_within_target") == 1
    assert compare.better("time_to_arrive_mean") == -1
    assert compare.better("crew_utilisation") == 0
    assert "share_closed" in text  # cases closed / reported, after cases_closed
    assert "A and B ran the same inputs" in _texts(compare.inputs_table(a, b))
    runs = []
    for rep, shift in enumerate((0.0, 1.0, 2.0)):
        for label, extra in (("A", 0.0), ("B", 1.5)):
            runs.append((label, rep, rep, "time_to_arrive_mean", 5.0 + shift + extra))
    import pandas as pd

    frame = pd.DataFrame(runs, columns=["policy", "replication", "seed", "kpi", "value"])
    summary = summarise(frame, "A", 0.95)
    ci = _texts(compare.ci_table(summary, {"time_to_arrive_mean": "min"}, ("A", "B"), 0.95))
    assert "+1.5 [+1.5, +1.5] min" in ci
    fig = difference_figure(summary, ["time_to_arrive_mean"], {"time_to_arrive_mean": "min"},
                            0.95, better=compare.better)  # fmt: skip
    assert isinstance(fig, go.Figure) and list(fig.data[0].x) == [1.5]
    assert fig.data[0].marker.color == (DIFF_COLOURS[-1],)  # longer: worse, red


def test_the_difference_plot_has_one_axis_per_unit() -> None:
    import pandas as pd

    units = {"share_closed": "-", "time_to_arrive_mean": "min", "escalations": "escalations",
             "travel_time_mean": "min"}  # fmt: skip
    runs = []
    for rep in range(3):
        for label, extra in (("A", 0.0), ("B", 1.0)):
            for kpi, base in (("share_closed", 0.5), ("time_to_arrive_mean", 8.0),
                              ("escalations", 40.0), ("travel_time_mean", 5.0)):  # fmt: skip
                step = 0.01 * extra if kpi == "share_closed" else extra
                runs.append((label, rep, rep, kpi, base + step + 0.001 * rep * (1 + extra)))
    frame = pd.DataFrame(runs, columns=["policy", "replication", "seed", "kpi", "value"])
    summary = summarise(frame, "A", 0.95)
    fig = difference_figure(summary, list(units), units, 0.95, better=compare.better)
    assert len(fig.data) == 3  # shares, minutes, escalations: three panels
    titles = [fig.layout[f"xaxis{i if i > 1 else ''}"].title.text for i in (1, 2, 3)]
    assert titles == ["B − A in percentage points [pp]", "B − A in minutes [min]",
                      "B − A in escalations [escalations]"]  # fmt: skip
    by_unit = {t.name: t for t in fig.data}
    assert list(by_unit["minutes [min]"].y) == ["time_to_arrive_mean", "travel_time_mean"]
    # more share closed is better (green); more minutes and escalations are worse (red)
    assert by_unit["percentage points [pp]"].marker.color == (DIFF_COLOURS[1],)
    assert by_unit["escalations [escalations]"].marker.color == (DIFF_COLOURS[-1],)


def test_builder_form_and_collect() -> None:
    path = SCENARIOS / "gongshu_baseline_day.yaml"
    from dash_app.schema import read_raw

    scenario, raw = load_scenario(path), read_raw(path)
    fieldsets, initial = builder.form(scenario, raw)
    assert initial["horizon"] == "24h" and initial["dispatch.policy"] == "nearest_idle"
    text = _texts(html.Div(fieldsets))
    assert "Fleet and operations centre" in text and "expected cases per day" in text
    suggested, _ = builder.form(scenario, raw, storms=[("S1-x", "99 mm in 2.0 h")])
    text = _texts(html.Div(suggested))
    assert '"list": "builder-storm-events"' in text and '"label": "99 mm in 2.0 h"' in text
    paths = list(initial)
    values = [initial[p] for p in paths]
    values[paths.index("crews.count")] = "90"
    values[paths.index("horizon")] = "2h"
    valid, edits, _, message = builder.collect(paths, values, initial, raw)
    assert message is None and valid is not None
    assert edits == {"crews.count": 90, "horizon": "2h"}
    assert valid.crews.count == 90 and valid.horizon == 7200.0
    values[paths.index("crews.count")] = "many"
    invalid, _, _, message = builder.collect(paths, values, initial, raw)
    assert invalid is None and message is not None
    assert "crews.count: Input should be a valid integer" in message


def test_the_app_serves_everything_itself() -> None:
    app = create_app(preload_network=False)
    try:
        assert app.config.serve_locally
        client = app.server.test_client()
        page = client.get("/")
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        sources = re.findall(r'<script src="([^"]+)"', body) + re.findall(
            r'<link rel="stylesheet" href="([^"]+)"', body
        )
        assert sources, "the page loads its scripts"
        for src in sources:
            assert src.startswith("/"), f"{src} is not served by the app itself"
            assert client.get(src).status_code == 200
        assert "http://" not in body and "https://" not in body
        layout = client.get("/_dash-layout").get_data(as_text=True)
        for page_id in ("page-builder", "page-map", "page-results", "page-compare"):
            assert page_id in layout
        # every id a callback names is in the layout (all pages are always there)
        ids = set(re.findall(r'"id": ?"([^"]+)"', layout))
        named: set[str] = set()
        for dep in client.get("/_dash-dependencies").get_json():
            for item in dep["inputs"] + dep["state"]:
                named.add(item["id"])
            for out in dep["output"].strip(".").split("..."):
                named.add(out.rsplit(".", 1)[0].split("@")[0])
        plain = {i for i in named if not i.startswith("{")}
        assert plain - ids == set(), f"callbacks name ids missing from the layout: {plain - ids}"
    finally:
        app.twin_context.runner.shutdown()  # type: ignore[attr-defined]


def test_cli_refuses_a_busy_port_and_a_missing_folder(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        with pytest.raises(typer.BadParameter, match=f"port {port} .* already in use"):
            app_command(host="127.0.0.1", port=port)
    with pytest.raises(typer.BadParameter, match="no such folder"):
        app_command(scenarios=tmp_path / "missing")
