"""Page 4, forecasts and alerts: depth at each low point, the quantile band, the alerts.

Built on :mod:`twin.forecast` and :mod:`twin.alerts`. For a finished run with rain,
*Replay forecasts* (in the background) recomputes the run's water at every low point
(:func:`twin.hydro.waterlogging.simulate_waterlogging`, the same physics as the run), reads
it through the gauge model (:func:`twin.forecast.sensors.sensor_readings`: noise, drift,
gaps), loads a shipped forecaster from ``models/`` (:func:`twin.forecast.load_shipped`)
and replays it online with the alert lifecycle (:func:`twin.forecast.alert_timeline`:
at each 5-minute issue time the forecaster sees only the readings and rain so far).

Then, for the low point and the issue time picked: the simulated depth, the gauge
readings, the forecast quantile band for the next two hours issued then
(:func:`twin.forecast.predict_points` on the readings up to that time), the alert
thresholds, and the alerts issued for that point; below, the alert timeline of every
point and the messages (CAP fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import dash
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html

from dash_app.basemap import point_names
from dash_app.components import choice, graph, labelled, page_header
from dash_app.context import AppContext
from dash_app.figures import empty_figure
from dash_app.jobs import Job
from dash_app.progress import job_stores, progress_bar, queue_outputs, queued, register_progress
from twin._types import FloatArray
from twin.alerts import AlertPolicy
from twin.errors import ScenarioError
from twin.forecast import Forecaster, alert_timeline, load_shipped, predict_points
from twin.forecast.data import STEP_S
from twin.forecast.sensors import SensorModel, sensor_readings
from twin.scenario import Scenario

__all__ = [
    "MODELS",
    "PATH",
    "TITLE",
    "ForecastData",
    "build",
    "layout",
    "messages_table",
    "register",
    "storm_window",
]

PATH = "/forecasts"
TITLE = "Forecasts & alerts"
#: Shipped forecasters offered (value, label).
MODELS: tuple[tuple[str, str], ...] = (
    ("nhits", "N-HiTS (shipped default)"),
    ("linear", "rain-aware linear"),
    ("sarimax", "SARIMAX"),
    ("persistence", "persistence"),
)
SOURCES: tuple[tuple[str, str], ...] = (
    ("persistence", "rain ahead: persistence of the last hour (no oracle)"),
    ("observed", "rain ahead: the run's own rain (oracle)"),
)
LEVEL_COLOURS = {"impeded": "#f08c00", "closed": "#e03131"}
MSG_SYMBOLS = {"Alert": "triangle-up", "Update": "circle", "Cancel": "x"}


@dataclass
class ForecastData:
    """A run's water on the 5-minute grid, its gauge readings, a forecaster, its alerts.

    Attributes
    ----------
    scenario
        The run's scenario.
    model
        The forecaster.
    rain_source
        Where the forecaster's future rain comes from.
    ids, names
        Low-point ids and names, in the run's order.
    times
        Issue times [s since the start], every 5 min.
    depth, readings, rain
        Simulated depth [m], gauge readings [m] (NaN where missing) and rain over the 5
        minutes ending at each time [mm/h], shape ``(time, point)``.
    timeline
        The alert messages (:data:`twin.forecast.online.TIMELINE_COLUMNS`).
    policy
        The alert levels and rules used.
    """

    scenario: Scenario
    model: Forecaster
    rain_source: str
    ids: list[str]
    names: list[str]
    times: FloatArray
    depth: FloatArray
    readings: FloatArray
    rain: FloatArray
    timeline: pd.DataFrame
    policy: AlertPolicy

    def local(self, seconds: Any) -> pd.DatetimeIndex:
        """Seconds since the start as naive local times (for the x axes)."""
        start = pd.Timestamp(self.scenario.start).tz_convert(self.scenario.timezone)
        return (start + pd.to_timedelta(np.atleast_1d(seconds), unit="s")).tz_localize(None)

    def band(self, k: int, p: int) -> Any:
        """The forecast issued at grid row ``k`` for point ``p`` (an xarray Dataset)."""
        enc, hor = self.model.encoder, self.model.horizon
        pad = max(0, enc - (k + 1))  # the run starts dry: pad with dry readings
        hist = np.r_[np.zeros(pad), self.readings[: k + 1, p]][-enc:]
        rain = np.r_[np.zeros(pad), self.rain[: k + 1, p]][-enc:]
        future = None
        if self.rain_source == "observed":
            ahead = self.rain[k + 1 : k + 1 + hor, p]
            future = np.r_[ahead, np.zeros(hor - ahead.size)]
        return predict_points(
            self.model,
            hist[:, None],
            rain[:, None],
            [self.ids[p]],
            rain_future=None if future is None else future[:, None],
            rain_source=self.rain_source,
            seed=self.scenario.seed,
        )


def build(
    scenario: Scenario, base_dir: Path | None, kind: str, source: str, report: Any
) -> ForecastData:
    """Replay a forecaster and the alert lifecycle over a run (on the runner's thread)."""
    from twin.hydro.waterlogging import simulate_waterlogging
    from twin.run.runner import load_scenario_network

    report(0.05, "recomputing the run's water")
    net = load_scenario_network(scenario.network, base_dir=base_dir)
    water = simulate_waterlogging(net, scenario, base_dir=base_dir)
    if water is None:
        raise ScenarioError(f"{scenario.name}: no rain in this run, so nothing to forecast")
    report(0.25, f"loading the {kind} forecaster")
    model = load_shipped(kind)
    report(0.5, "replaying forecasts and alerts")
    sensor, policy = SensorModel(), AlertPolicy()
    start = scenario.start
    assert isinstance(start, datetime)
    timeline = alert_timeline(
        water.depth,
        water.rain_rate,
        water.times,
        water.points,
        model,
        rain_source=source,
        start=start,
        sensor=sensor,
        seed=scenario.seed,
        policy=policy,
    )
    # The same 5-minute grid and readings the replay used (same seed, same order).
    ratio = round(STEP_S / float(water.times[1] - water.times[0]))
    n5 = (water.depth.shape[0] - 1) // ratio
    depth5 = water.depth[: n5 * ratio + 1 : ratio]
    n_pts = depth5.shape[1]
    steps = water.rain_rate[: n5 * ratio].reshape(n5, ratio, n_pts).mean(axis=1)
    rain5 = np.r_[np.zeros((1, n_pts)), steps]
    readings = sensor_readings(depth5, STEP_S, sensor, np.random.default_rng(scenario.seed))
    unique = point_names(net)  # unique, readable names of the low points
    ids = [str(i) for i in water.points.ids]
    report(0.95, "done")
    return ForecastData(
        scenario,
        model,
        source,
        ids,
        [unique.get(str(i), str(n)) for i, n in zip(ids, water.points.names, strict=True)],
        np.arange(n5 + 1) * STEP_S,
        depth5,
        np.asarray(readings, dtype=float),
        rain5,
        timeline,
        policy,
    )


def layout(ctx: AppContext) -> html.Div:
    """The forecasts and alerts page."""
    return html.Div(
        [
            *page_header(
                TITLE,
                "The waterlogging forecasters from models/ replayed over a run with rain: at "
                "each 5-minute issue time they see only the gauge readings and rain so far. "
                "Alerts follow the CAP 1.2 lifecycle (Alert, Update, Cancel).",
            ),
            *job_stores("forecast"),
            html.Div(
                [
                    labelled(
                        "Run with rain",
                        dcc.Dropdown(
                            id="forecast-run",
                            options=[],
                            clearable=False,
                            placeholder="run a scenario with rain first",
                        ),
                        kind="grow",
                    ),
                    labelled(
                        "Forecaster",
                        choice("forecast-model", MODELS, "nhits"),
                        min_width="14rem",
                    ),
                    labelled(
                        "Rain ahead",
                        choice("forecast-source", SOURCES, "persistence"),
                        min_width="20rem",
                    ),
                    html.Button(
                        "Replay forecasts", id="forecast-build", n_clicks=0, className="btn"
                    ),
                ],
                className="panel row",
            ),
            html.Div(progress_bar("forecast"), className="panel"),
            html.Div(
                [
                    labelled(
                        "Low point",
                        dcc.Dropdown(id="forecast-point", options=[], clearable=False),
                        kind="grow",
                    ),
                    labelled(
                        "Issue time",
                        dcc.Slider(
                            id="forecast-issue",
                            min=0,
                            max=0,
                            step=1,
                            value=0,
                            marks=None,
                            allow_direct_input=False,
                        ),
                        kind="grow",
                    ),
                    html.Span(id="forecast-issue-label", className="time-label"),
                ],
                className="panel row",
                style={"alignItems": "center"},
            ),
            html.Div(
                graph("forecast-point-graph", "replay forecasts first", 420), className="panel"
            ),
            html.Div(
                [
                    html.H2("Alert timeline"),
                    graph("forecast-timeline", "no alerts yet", 300),
                    html.Div(id="forecast-messages"),
                ],
                className="panel",
            ),
        ]
    )


def point_figure(data: ForecastData, p: int, k: int) -> go.Figure:
    """Depth, readings, the band issued at row ``k``, thresholds and alerts of point ``p``."""
    x = data.local(data.times)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=data.depth[:, p],
            name="simulated depth",
            mode="lines",
            line={"color": "#1864ab", "width": 2},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=data.readings[:, p],
            name="gauge readings",
            mode="markers",
            marker={"color": "#212529", "size": 4},
        )
    )
    ds = data.band(k, p)
    q = ds["water_depth"].to_numpy()[0]  # (lead, quantile)
    qs = [float(v) for v in ds["quantile"].to_numpy()]
    xf = data.local(data.times[k] + ds["lead_time"].to_numpy() * 60.0)
    for lo_q, hi_q, alpha in ((qs[0], qs[-1], 0.18), (0.25, 0.75, 0.35)):
        if lo_q in qs and hi_q in qs:
            lo, hi = q[:, qs.index(lo_q)], q[:, qs.index(hi_q)]
            fig.add_trace(
                go.Scatter(
                    x=list(xf) + list(xf[::-1]),
                    y=list(hi) + list(lo[::-1]),
                    fill="toself",
                    mode="lines",
                    line={"width": 0},
                    fillcolor=f"rgba(232,89,12,{alpha})",
                    hoverinfo="skip",
                    name=f"forecast {lo_q:.0%}–{hi_q:.0%}",
                )
            )
    if 0.5 in qs:
        fig.add_trace(
            go.Scatter(
                x=xf,
                y=q[:, qs.index(0.5)],
                name="forecast median",
                mode="lines",
                line={"color": "#e8590c", "dash": "dash"},
            )
        )
    fig.add_vline(x=x[k], line={"color": "#495057", "width": 1, "dash": "dot"})
    for level, depth in data.policy.levels.items():
        fig.add_hline(
            y=depth,
            line={"color": LEVEL_COLOURS.get(level, "#495057"), "dash": "dash", "width": 1},
            annotation_text=f"{level} {depth:g} m",
        )
    msgs = data.timeline[data.timeline["point_index"] == p]
    if len(msgs):
        fig.add_trace(
            go.Scatter(
                x=data.local(msgs["issue_time"].to_numpy(dtype=float)),
                y=[data.policy.levels.get(str(lv), 0.0) for lv in msgs["level"]],
                mode="markers",
                name="alert messages",
                marker={
                    "size": 12,
                    "color": [LEVEL_COLOURS.get(str(lv), "#495057") for lv in msgs["level"]],
                    "symbol": [MSG_SYMBOLS.get(str(m), "circle") for m in msgs["msgType"]],
                    "line": {"color": "#212529", "width": 1},
                },
                text=[
                    f"{m} {lv} (p = {pr:.2f})"
                    for m, lv, pr in zip(
                        msgs["msgType"], msgs["level"], msgs["probability"], strict=True
                    )
                ],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    t0, t1 = storm_window(data)
    t0 = min(t0, float(data.times[k]))
    t1 = max(t1, float(data.times[k] + ds["lead_time"].to_numpy().max() * 60.0))
    fig.update_layout(
        height=420,
        template="plotly_white",
        margin={"t": 40, "b": 50, "l": 60, "r": 20},
        title={
            "text": f"{data.names[p]} · forecast by {data.model.kind} issued {x[k]:%H:%M}",
            "font": {"size": 14},
        },
        yaxis={"title": "water depth [m]", "rangemode": "tozero"},
        xaxis={
            "title": f"local time ({data.scenario.timezone}); the storm, zoom out for the run",
            "range": list(data.local([t0, t1])),
        },
        legend={"orientation": "h", "y": -0.2},
        hovermode="x",
    )
    return fig


def timeline_figure(data: ForecastData) -> go.Figure:
    """Every alert message: issue time against low point, by level and message type."""
    t = data.timeline
    if t.empty:
        return empty_figure("no alerts were issued in this run", 260)
    fig = go.Figure()
    for (level, kind), part in t.groupby(["level", "msgType"], sort=False):
        fig.add_trace(
            go.Scatter(
                x=data.local(part["issue_time"].to_numpy(dtype=float)),
                y=[data.names[i] for i in part["point_index"]],
                mode="markers",
                name=f"{kind} · {level}",
                marker={
                    "color": LEVEL_COLOURS.get(str(level), "#495057"),
                    "size": 11,
                    "symbol": MSG_SYMBOLS.get(str(kind), "circle"),
                    "line": {"color": "#212529", "width": 1},
                },
                text=[
                    f"p = {p:.2f}, lead {lt / 60:.0f} min" if np.isfinite(lt) else f"p = {p:.2f}"
                    for p, lt in zip(part["probability"], part["lead_time"], strict=True)
                ],
                hovertemplate="%{y}: %{text}<extra>" + f"{kind} {level}" + "</extra>",
            )
        )
    n = t["point_index"].nunique()
    fig.update_layout(
        height=max(260, 24 * n + 120),
        template="plotly_white",
        margin={"t": 20, "b": 50, "l": 160, "r": 20},
        xaxis={"title": "issue time (local)", "range": list(data.local(storm_window(data)))},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def messages_table(data: ForecastData) -> html.Div:
    """Every alert message, in a scrolling box under a heading that counts them."""
    t = data.timeline
    cols = (
        "issue",
        "low point",
        "message",
        "level",
        "probability",
        "lead",
        "urgency",
        "severity",
        "certainty",
    )
    rows = []
    for r in t.to_dict("records"):
        lead = float(r["lead_time"])
        rows.append(
            html.Tr(
                [
                    html.Td(f"{data.local(float(r['issue_time']))[0]:%H:%M}"),
                    html.Td(data.names[int(r["point_index"])]),
                    html.Td(str(r["msgType"])),
                    html.Td(str(r["level"])),
                    html.Td(f"{float(r['probability']):.2f}", className="num"),
                    html.Td(
                        "–" if not np.isfinite(lead) else f"{lead / 60:.0f} min", className="num"
                    ),
                    html.Td(str(r["urgency"])),
                    html.Td(str(r["severity"])),
                    html.Td(str(r["certainty"])),
                ]
            )
        )
    n = len(t)
    head = html.Thead(html.Tr([html.Th(c) for c in cols]))
    return html.Div(
        [
            html.H3(
                f"All {n:,} alert message{'s' if n != 1 else ''}"
                + (" (scroll the table)" if n > 12 else ""),
                id="forecast-count",
            ),
            html.Div(
                html.Table([head, html.Tbody(rows)], className="table", id="forecast-table"),
                className="scroll-box",
                id="forecast-table-box",
                style={"maxHeight": "28rem", "overflowY": "auto"},
            ),
        ]
    )


def storm_window(
    data: ForecastData, *, before: float = 1800.0, after: float = 3600.0
) -> tuple[float, float]:
    """The part of the run with the storm [s since the start]: rain or water, padded.

    From ``before`` seconds before the first rain, water or alert message to ``after``
    seconds after the last; the whole run when it has neither rain nor water.
    """
    wet = (data.rain > 0).any(axis=1) | (data.depth > 0.005).any(axis=1)
    if not wet.any():
        return float(data.times[0]), float(data.times[-1])
    idx = np.flatnonzero(wet)
    first, last = float(data.times[idx[0]]), float(data.times[idx[-1]])
    if len(data.timeline):  # every alert message on the axis too
        issued = data.timeline["issue_time"].to_numpy(dtype=float)
        first, last = min(first, float(issued.min())), max(last, float(issued.max()))
    t0 = max(float(data.times[0]), first - before)
    t1 = min(float(data.times[-1]), last + after)
    return t0, t1


def register(app: Dash, ctx: AppContext) -> None:
    """Register the forecasts page's callbacks on ``app``."""

    @app.callback(
        Output("forecast-run", "options"),
        Output("forecast-run", "value"),
        Input("runs-version", "data"),
        State("forecast-run", "value"),
    )
    def runs(_: Any, value: str | None) -> tuple[Any, Any]:
        wet = [
            j
            for j in reversed(ctx.runner.finished_runs())
            if j.result is not None and "water_depth" in j.result.dataset
        ]
        options = [{"label": j.label, "value": j.id} for j in wet]
        values = [o["value"] for o in options]
        return options, value if value in values else (values[0] if values else None)

    @app.callback(
        *queue_outputs("forecast"),
        Input("forecast-build", "n_clicks"),
        State("forecast-run", "value"),
        State("forecast-model", "value"),
        State("forecast-source", "value"),
        prevent_initial_call=True,
    )
    def start(
        n_clicks: int, run_id: str | None, kind: str | None, source: str | None
    ) -> tuple[Any, Any]:
        run = ctx.runner.get(run_id)
        if not n_clicks or run is None:
            return dash.no_update, html.Span(
                "Run a scenario with rain first (e.g. gongshu_rainstorm.yaml).",
                className="field-error",
            )
        scenario, base_dir = run.scenario, run.base_dir
        k, s = kind or "nhits", source or "persistence"
        job = ctx.runner.submit_task(
            f"{k} forecasts over {run.label.split(' ')[0]}",
            lambda report: build(scenario, base_dir, k, s, report),
            scenario,
            base_dir=base_dir,
        )
        return queued(job)

    register_progress(
        app,
        ctx,
        "forecast",
        failed="The replay failed: ",
        done=_replayed,
        outputs=[
            Output("forecast-point", "options"),
            Output("forecast-point", "value"),
            Output("forecast-issue", "max"),
            Output("forecast-issue", "value"),
            Output("forecast-timeline", "figure"),
            Output("forecast-messages", "children"),
        ],
    )

    @app.callback(
        Output("forecast-point-graph", "figure"),
        Output("forecast-issue-label", "children"),
        Input("forecast-point", "value"),
        Input("forecast-issue", "value"),
        State("forecast-job", "data"),
    )
    def show(p: int | None, k: int | None, job_id: str | None) -> tuple[Any, Any]:
        job = ctx.runner.get(job_id)
        if job is None or p is None or not isinstance(job.payload, ForecastData):
            raise dash.exceptions.PreventUpdate
        data = job.payload
        k = int(min(max(int(k or 0), 0), len(data.times) - 1))
        return point_figure(data, int(p), k), f"{data.local(data.times[k])[0]:%H:%M}"


def _replayed(job: Job) -> tuple[Any, ...]:
    """What a finished replay shows: the status line, then the page's outputs.

    The menu of low points (deepest first) with the deepest chosen, the issue times
    (starting shortly before its peak), the alert timeline and the messages.
    """
    assert isinstance(job.payload, ForecastData)
    data = job.payload
    order = np.argsort(-data.depth.max(axis=0))
    options = [
        {"label": f"{data.names[i]} (peak {data.depth[:, i].max():.2f} m)", "value": int(i)}
        for i in order
    ]
    busiest = int(np.argmax(data.depth[:, order[0]]))
    return (
        f"Replayed {job.label} in {job.wall_s or 0.0:.0f} s: {len(data.timeline)} alert messages.",
        options,
        int(order[0]),
        len(data.times) - 1,
        max(0, busiest - 6),
        timeline_figure(data),
        messages_table(data),
    )
