"""Page 5, sensor placement: a budget of water-level gauges, placed on the map.

Built on :mod:`twin.placement`. *Build the storm ensemble* runs, in the background, the
ponding model at every Gongshu low point over a training ensemble and a held-out
ensemble of storms (real catalogue events and design storms, with the chosen scenario's
thresholds and storm formula) and turns them into impact matrices
(:func:`twin.placement.pipeline.build_matrices`, gauges only). Then every move of the
budget slider solves the placement at once with the lazy greedy solver
(:func:`twin.placement.solve`): the chosen gauges appear on the map in the order
chosen, with their coverage, time to detection and undetected impact on the training
storms and on the held-out storms, and the coverage curve over all budgets (the
same greedy solve at every budget, scored on both ensembles) marks the budget chosen.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import dash
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html

from dash_app.basemap import map_figure
from dash_app.components import choice, graph, labelled, page_header, scenario_menu
from dash_app.context import AppContext
from dash_app.jobs import Job
from dash_app.kpis import Card
from dash_app.progress import job_stores, progress_bar, queue_outputs, queued, register_progress
from twin.network.road_network import RoadNetwork
from twin.placement import ImpactMatrix, PlacementConfig, solve, summary
from twin.placement.pipeline import build_matrices
from twin.report.page import fmt_share
from twin.scenario import Scenario, load_scenario
from twin.scenario.placement import GaugeConfig

__all__ = ["OBJECTIVES", "PATH", "TITLE", "PlacementData", "build", "layout", "register"]

PATH = "/placement"
TITLE = "Sensor placement"
DEFAULT_FILE = "gongshu_rainstorm.yaml"
#: Objectives offered (value, label); ``skill`` needs another matrix and is left out.
OBJECTIVES: tuple[tuple[str, str], ...] = (
    ("coverage", "most onsets detected (coverage)"),
    ("time", "earliest detection (mean time)"),
    ("impact", "least undetected impact (km·h of impeded road)"),
)


@dataclass
class PlacementData:
    """A built placement problem: impact matrices of the training and held-out storms.

    Attributes
    ----------
    scenario
        The scenario whose thresholds and storm formula were used.
    net
        The road network (for the map).
    train, test
        Impact matrices of gauges at low points (:class:`twin.placement.ImpactMatrix`).
    """

    scenario: Scenario
    net: RoadNetwork
    train: ImpactMatrix
    test: ImpactMatrix
    _curves: dict[str, pd.DataFrame] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def max_budget(self) -> int:
        """The cost of every candidate, rounded up [budget unit]."""
        return int(np.ceil(float(np.sum(self.train.cost))))

    def place(self, budget: float, objective: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        """The greedy placement at ``budget`` and its scores on both ensembles."""
        chosen = solve(self.train, float(budget), solver="greedy", objective=objective)
        return chosen, summary(self.train, chosen.selected), summary(self.test, chosen.selected)

    def curve(self, objective: str) -> pd.DataFrame:
        """Coverage and time to detection against the budget, on both ensembles."""
        with self._lock:
            cached = self._curves.get(objective)
        if cached is not None:
            return cached
        rows = []
        for budget in range(self.max_budget + 1):
            chosen, tr, te = self.place(float(budget), objective)
            rows.append(
                {
                    "budget": float(budget),
                    "gauges": len(chosen.selected),
                    "coverage_train": tr["coverage"],
                    "coverage_test": te["coverage"],
                    "time_train": tr["mean_time"],
                    "time_test": te["mean_time"],
                }
            )
        frame = pd.DataFrame(rows)
        with self._lock:
            self._curves[objective] = frame
        return frame


def build(
    scenario: Scenario, base_dir: Any, report: Any, *, max_storms: int = 200
) -> PlacementData:
    """Build the placement problem of a scenario (on the runner's thread).

    Parameters
    ----------
    scenario
        Its hydro thresholds, design-storm formula and seed are used.
    base_dir
        Folder for relative paths in the scenario.
    report
        ``report(fraction, stage)``: progress.
    max_storms
        Catalogue storms per ensemble (a seeded sample; design storms come on top).
    """
    from twin.run.runner import load_scenario_network

    report(0.02, "loading the network")
    net = load_scenario_network(scenario.network, base_dir=base_dir)
    cfg = PlacementConfig(
        technologies=("gauge",), solver="greedy", curve_points=0,
        gauge=GaugeConfig(max_storms=max_storms),
    )  # fmt: skip
    stages = {"storms: training ensemble": 0.1, "storms: held-out ensemble": 0.55}
    train, test, _ = build_matrices(
        net,
        scenario,
        cfg,
        seed=scenario.seed,
        base_dir=base_dir,
        progress=lambda m: report(stages.get(m, 0.9), m),
    )
    report(0.95, "solving the curve")
    data = PlacementData(scenario, net, train, test)
    data.curve("coverage")
    return data


def layout(ctx: AppContext) -> html.Div:
    """The sensor placement page."""
    return html.Div(
        [
            *page_header(
                TITLE,
                "Where to put a budget of water-level gauges at the low points. The twin "
                "simulates storms at every low point (real catalogue events and design "
                "storms); a gauge detects ponding at its own point at once, and a crew it "
                "alarms checks the points nearby. Choices are made on training storms and "
                "scored again on held-out storms.",
            ),
            *job_stores("placement"),
            html.Div(
                [
                    labelled(
                        "Thresholds and storms of",
                        scenario_menu("placement-file", ctx, DEFAULT_FILE),
                        kind="grow",
                    ),
                    labelled(
                        "Catalogue storms",
                        choice(
                            "placement-storms",
                            [(n, f"{n} per ensemble") for n in (50, 100, 200)],
                            200,
                        ),
                        min_width="11rem",
                        title="real storms sampled from the catalogue for training and for "
                        "the held-out check (design storms come on top); more is slower",
                    ),
                    html.Button(
                        "Build the storm ensemble",
                        id="placement-build",
                        n_clicks=0,
                        className="btn",
                    ),
                ],
                className="panel row",
            ),
            html.Div(progress_bar("placement"), className="panel"),
            html.Div(
                [
                    labelled(
                        "Objective",
                        choice("placement-objective", OBJECTIVES, "coverage"),
                        min_width="22rem",
                    ),
                    labelled(
                        "Budget [gauges]",
                        dcc.Slider(
                            id="placement-budget",
                            min=0,
                            max=18,
                            step=1,
                            value=5,
                            marks=None,
                            allow_direct_input=False,
                            tooltip={"always_visible": True, "placement": "bottom"},
                        ),
                        kind="grow",
                    ),
                ],
                className="panel row",
            ),
            html.Div(id="placement-cards"),
            html.Div(
                [
                    html.Div(
                        graph("placement-map", "build the storm ensemble first", 500),
                        className="panel",
                        style={"flex": "1.4 1 32rem"},
                    ),
                    html.Div(
                        graph("placement-curve", "the coverage curve appears here", 500),
                        className="panel",
                        style={"flex": "1 1 24rem"},
                    ),
                ],
                className="row",
                style={"alignItems": "stretch"},
            ),
        ]
    )


def _map(data: PlacementData, ctx: AppContext, chosen: Any) -> go.Figure:
    cand = data.train.candidates
    lon = cand["lon"].to_numpy(dtype=float)
    lat = cand["lat"].to_numpy(dtype=float)
    names = cand["name"].astype(str).to_numpy() if "name" in cand else cand["candidate_id"]
    unique = ctx.point_names(data.net)  # gauge candidates are the low points
    names = np.array(
        [unique.get(str(c).removeprefix("gauge:"), str(n))
         for c, n in zip(cand["candidate_id"], names, strict=True)]
    )  # fmt: skip
    kinds = cand["kind"].astype(str).to_numpy() if "kind" in cand else np.full(len(cand), "")
    sel = np.asarray(chosen.selected, dtype=np.int64)
    others = np.setdiff1d(np.arange(len(cand)), sel)
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": f"low points ({len(others)})",
            "x": lon[others].tolist(),
            "y": lat[others].tolist(),
            "text": [f"{n} ({k})" for n, k in zip(names[others], kinds[others], strict=True)],
            "hovertemplate": "%{text}<extra>no gauge</extra>",
            "marker": {"color": "#adb5bd", "size": 8, "symbol": "triangle-down"},
        },
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": f"gauges ({len(sel)})",
            "x": lon[sel].tolist(),
            "y": lat[sel].tolist(),
            "text": [str(i + 1) for i in range(len(sel))],
            "textposition": "top center",
            "customdata": [f"{n} ({k})" for n, k in zip(names[sel], kinds[sel], strict=True)],
            "hovertemplate": "gauge %{text}: %{customdata}<extra></extra>",
            "marker": {
                "color": "#2b8a3e",
                "size": 14,
                "symbol": "circle",
                "line": {"color": "white", "width": 2},
            },
            "textfont": {"color": "#2b8a3e", "size": 12},
        },
    ]
    base = ctx.base_traces(data.net, local=False, city=False)
    fig = map_figure(base, traces, data.net, title="gauges in the order chosen")
    fig.update_layout(height=560)
    return fig


def _curve(frame: pd.DataFrame, budget: float) -> go.Figure:
    fig = go.Figure()
    for col, label, dash_style in (
        ("coverage_train", "training storms", "solid"),
        ("coverage_test", "held-out storms", "dot"),
    ):
        fig.add_trace(
            go.Scatter(
                x=frame["budget"],
                y=100 * frame[col],
                mode="lines+markers",
                name=label,
                line={"color": "#2b8a3e", "dash": dash_style, "width": 2},
                hovertemplate="%{x:g} gauges: %{y:.1f} %<extra>" + label + "</extra>",
            )
        )
    fig.add_vline(
        x=budget,
        line={"color": "#e8590c", "width": 2, "dash": "dash"},
        annotation_text=f"budget {budget:g}",
        annotation_font_color="#e8590c",
    )
    fig.update_layout(
        height=560,
        template="plotly_white",
        margin={"t": 40, "b": 50, "l": 60, "r": 20},
        title={"text": "onsets of ponding detected [%]", "font": {"size": 14}},
        xaxis={"title": "budget [gauges]"},
        yaxis={"title": "coverage [%]", "range": [0, 101]},
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def _cards(chosen: Any, train: dict[str, Any], test: dict[str, Any]) -> html.Div:
    cards = [
        Card(
            "placement_gauges",
            f"{len(chosen.selected)}",
            "gauges placed",
            f"cost {chosen.cost:g} of budget {chosen.budget:g}",
        ),
        Card(
            "placement_coverage",
            fmt_share(train["coverage"]),
            "onsets detected",
            f"{fmt_share(test['coverage'])} on held-out storms",
        ),
        Card(
            "placement_time",
            f"{train['mean_time'] / 60:.1f} min",
            "mean time to detection",
            f"{test['mean_time'] / 60:.1f} min held out (undetected: their lifetime)",
        ),
        Card(
            "placement_impact",
            fmt_share(train["impact_share"]),
            "impact left undetected",
            f"{fmt_share(test['impact_share'])} held out",
        ),
        Card(
            "placement_events",
            f"{train['events']:,}",
            "ponding onsets (training)",
            f"{test['events']:,} held out",
        ),
    ]
    return html.Div([c.component() for c in cards], className="kpi-grid")


def register(app: Dash, ctx: AppContext) -> None:
    """Register the placement page's callbacks on ``app``."""

    @app.callback(
        *queue_outputs("placement"),
        Input("placement-build", "n_clicks"),
        State("placement-file", "value"),
        State("placement-storms", "value"),
        prevent_initial_call=True,
    )
    def start(n_clicks: int, name: str | None, storms: int | None) -> tuple[Any, Any]:
        if not n_clicks:
            raise dash.exceptions.PreventUpdate
        path = ctx.scenario_path(name)
        if path is None:
            return dash.no_update, html.Span("Pick a scenario first.", className="field-error")
        scenario = load_scenario(path)
        job = ctx.runner.submit_task(
            f"storm ensemble for {scenario.name}",
            lambda report: build(scenario, path.parent, report, max_storms=int(storms or 200)),
            scenario,
            base_dir=path.parent,
        )
        return queued(job)

    register_progress(
        app,
        ctx,
        "placement",
        failed="Could not build the ensemble: ",
        done=_built,
        outputs=[Output("placement-budget", "max")],
    )

    @app.callback(
        Output("placement-map", "figure"),
        Output("placement-curve", "figure"),
        Output("placement-cards", "children"),
        Input("placement-budget", "value"),
        Input("placement-objective", "value"),
        Input("placement-job-seen", "data"),
        State("placement-job", "data"),
    )
    def show(
        budget: float | None, objective: str | None, seen: dict[str, Any] | None, job_id: str | None
    ) -> tuple[Any, Any, Any]:
        job = ctx.runner.get(job_id)
        if job is None or job.status != "done" or not isinstance(job.payload, PlacementData):
            raise dash.exceptions.PreventUpdate
        data = job.payload
        objective = objective or "coverage"
        budget = float(budget or 0.0)
        chosen, train, test = data.place(budget, objective)
        return (
            _map(data, ctx, chosen),
            _curve(data.curve(objective), budget),
            _cards(chosen, train, test),
        )


def _built(job: Job) -> tuple[Any, Any]:
    """The status line of a built ensemble, and the budget slider's end (every gauge)."""
    assert isinstance(job.payload, PlacementData)
    data = job.payload
    text = (
        f"Built {job.label} in {job.wall_s or 0.0:.0f} s: "
        f"{data.train.n_events:,} training and {data.test.n_events:,} "
        f"held-out onsets at {len(data.train.candidates)} low points."
    )
    return text, data.max_budget
