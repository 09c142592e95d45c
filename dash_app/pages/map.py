"""Page 2, the map: the road network as the base map and a run replayed over time.

The base map is the twin's own network (no tiles). Choosing a run adds its crews by
status, its cases by stage, water depth at the low points, roads closed or impeded by
water and crowd density at the plazas, at the record time picked with the slider;
*Play* steps through the run at the speed chosen (½× to 8×); clicking a crew, a case,
a low point or a truck shows what it is doing. Moving the slider sends only the changed traces
(:class:`dash.Patch`), never the network again.

A case's stage at a time is read from its stage times (reported, dispatched, arrived,
resolved, closed); a case whose job was preempted shows its final dispatch.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Dash, Input, Output, Patch, State, dcc, html

from dash_app.basemap import LAYERS, map_figure
from dash_app.components import added_values, labelled, page_header, same_values
from dash_app.context import AppContext
from dash_app.details import details, parse_key
from dash_app.figures import empty_figure
from dash_app.replay import frame_traces

__all__ = ["PATH", "SPEEDS", "STEP_MS", "TITLE", "layout", "register", "tick_plan"]

PATH = "/map"
TITLE = "Map"
NETWORK_ONLY = "__network__"
#: Replay speeds offered: record times shown per :data:`STEP_MS` (see :func:`tick_plan`).
SPEEDS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
#: Time between two record times at 1× speed [ms].
STEP_MS = 700
DEFAULT_LAYERS = ["city", "crews", "cases", "water", "crowds", "trucks"]


def layout(ctx: AppContext) -> html.Div:
    """The map page."""
    return html.Div(
        [
            *page_header(
                TITLE,
                "The Gongshu road network drawn from its own OpenStreetMap geometry (no map "
                "tiles, works offline), its city layers, and a run replayed over time: crews "
                "by status, cases by stage, water at the low points, closed roads.",
            ),
            html.Div(
                [
                    labelled(
                        "Run",
                        dcc.Dropdown(id="map-run", options=[], value=NETWORK_ONLY, clearable=False),
                        kind="grow",
                    ),
                    html.Div(
                        [
                            html.Label("Layers"),
                            dcc.Checklist(
                                id="map-layers",
                                options=[
                                    {"label": label, "value": value} for value, label in LAYERS
                                ],
                                value=DEFAULT_LAYERS,
                                inline=True,
                                className="checks",
                            ),
                        ],
                        className="field",
                    ),
                ],
                className="panel row",
            ),
            html.Div(
                [
                    html.Button("▶ Play", id="map-play", className="btn small", n_clicks=0),
                    dcc.Dropdown(
                        id="map-speed",
                        options=[{"label": f"{x:g}× speed", "value": x} for x in SPEEDS],
                        value=1.0,
                        clearable=False,
                        searchable=False,
                        style={"width": "8.5rem"},
                    ),
                    html.Span(id="map-time-label", className="time-label"),
                    html.Div(
                        dcc.Slider(
                            id="map-time",
                            min=0,
                            max=0,
                            step=1,
                            value=0,
                            marks=None,
                            updatemode="drag",
                            allow_direct_input=False,
                            tooltip=None,
                        ),
                        className="grow",
                    ),
                    dcc.Interval(id="map-tick", interval=STEP_MS, disabled=True),
                ],
                className="panel row",
                style={"alignItems": "center"},
            ),
            html.Div(id="map-note"),
            dcc.Store(id="map-net-ready", data=False),
            html.Div(
                dcc.Graph(
                    id="map-graph",
                    figure=empty_figure("loading the road network…", 600),
                    config={"scrollZoom": True, "displaylogo": False},
                    style={"height": "720px"},
                ),
                className="panel",
            ),
            dcc.Store(id="map-picked"),
            html.Div(
                html.Div("Click a crew, a case, a low point or a truck.", className="muted"),
                id="map-details",
                className="panel",
            ),
        ]
    )


def tick_plan(speed: float | None) -> tuple[int, int]:
    """The replay's tick at a speed: ``(interval [ms], record times per tick)``.

    Up to 1× the ticks slow down (0.5×: one record time every 1.4 s); above it they
    stay at :data:`STEP_MS` and step over more record times (4×: four per tick).
    """
    x = float(speed or 1.0)
    if x <= 1.0:
        return round(STEP_MS / x), 1
    return STEP_MS, round(x)


def _marks(labels: list[str]) -> dict[int, str]:
    """About eight evenly spaced slider marks."""
    n = len(labels)
    if n == 0:
        return {}
    step = max(1, n // 8)
    return {i: labels[i] for i in range(0, n, step)}


def register(app: Dash, ctx: AppContext) -> None:
    """Register the map's callbacks on ``app``."""

    @app.callback(
        Output("map-run", "options"),
        Output("map-run", "value"),
        Output("map-net-ready", "data"),
        Input("runs-version", "data"),
        State("map-run", "value"),
        State("map-run", "options"),
        State("map-net-ready", "data"),
    )
    def runs(
        _: Any, value: str | None, old: list[dict[str, Any]] | None, ready: bool | None
    ) -> tuple[Any, Any, Any]:
        options = [{"label": "— the network only —", "value": NETWORK_ONLY}, *ctx.run_options()]
        newest_run = next((v for v in added_values(old, options) if v != NETWORK_ONLY), None)
        if newest_run is not None:
            value = newest_run  # a new run finished: show it
        elif value not in {o["value"] for o in options}:
            value = NETWORK_ONLY
        now_ready = ctx.network is not None or ctx.network_error is not None
        ready_out = now_ready if bool(ready) != now_ready else dash.no_update
        if same_values(old, options):
            return dash.no_update, dash.no_update, ready_out
        return options, value, ready_out

    @app.callback(
        Output("map-time", "max"),
        Output("map-time", "marks"),
        Output("map-time", "value"),
        Input("map-run", "value"),
    )
    def times(run_id: str | None) -> tuple[Any, Any, Any]:
        job = ctx.runner.get(run_id)
        if job is None or job.result is None:
            return 0, {}, 0
        frames = ctx.frames(job)
        assert frames is not None
        backlog = job.result.dataset["backlog"].to_numpy()
        busiest = int(backlog.argmax()) if backlog.size else 0
        return len(frames.labels) - 1, _marks(frames.labels), busiest

    @app.callback(
        Output("map-graph", "figure"),
        Output("map-time-label", "children"),
        Output("map-note", "children"),
        Input("map-run", "value"),
        Input("map-layers", "value"),
        Input("map-time", "value"),
        Input("map-net-ready", "data"),
    )
    def draw(
        run_id: str | None, layers: list[str] | None, k: int | None, _: Any
    ) -> tuple[Any, Any, Any]:
        job = ctx.runner.get(run_id) if run_id != NETWORK_ONLY else None
        result = job.result if job is not None else None
        net = result.network if result is not None and result.network is not None else ctx.network
        if net is None:
            if ctx.network_error:
                failed = html.Div(
                    f"The road network could not be loaded: {ctx.network_error}",
                    className="alert alert-error",
                )
                return empty_figure("no road network"), "", failed
            return empty_figure("loading the road network…", 600), "", None
        chosen = set(layers or [])
        frames = ctx.frames(job) if job is not None else None
        k = int(k or 0)
        dynamic = frame_traces(result, frames, k, layers=chosen, net=net)
        label = ""
        if frames is not None and frames.labels:
            k = min(max(k, 0), len(frames.labels) - 1)
            label = f"{frames.labels[k]} ({frames.elapsed[k] / 3600:.1f} h)"
        only_time = set(dash.ctx.triggered_prop_ids.values()) == {"map-time"}
        if only_time and result is not None:
            patch = Patch()
            n_base = len(ctx.base_traces(net, local="local" in chosen, city="city" in chosen))
            for i, trace in enumerate(dynamic):
                patch["data"][n_base + i] = trace
            return patch, label, dash.no_update
        base = ctx.base_traces(net, local="local" in chosen, city="city" in chosen)
        title = job.label if job is not None else ""
        fig = map_figure(base, dynamic, net, title=title)
        note: Any = None
        if result is not None:
            parts = []
            if "water_depth" not in result.dataset:
                parts.append("no rain in this run")
            if "crowd_density" not in result.dataset:
                parts.append("no crowds in this run")
            if "truck_status" not in result.dataset:
                parts.append("no muck trucks in this run")
            if parts:
                note = html.Div("Not shown: " + "; ".join(parts) + ".", className="muted")
        return fig, label, note

    @app.callback(
        Output("map-picked", "data"),
        Input("map-graph", "clickData"),
        State("map-run", "value"),
        prevent_initial_call=True,
    )
    def pick(click: dict[str, Any] | None, run_id: str | None) -> Any:
        points = (click or {}).get("points") or []
        key = points[0].get("customdata") if points else None
        if parse_key(key) is None:
            raise dash.exceptions.PreventUpdate
        return {"run": run_id, "key": key}

    @app.callback(
        Output("map-details", "children"),
        Input("map-picked", "data"),
        Input("map-time", "value"),
        Input("map-run", "value"),
    )
    def inspect(picked: dict[str, Any] | None, k: int | None, run_id: str | None) -> Any:
        # The item clicked, at the time shown (it follows the slider and *Play*); a
        # click on another run's map says nothing of this one.
        job = ctx.runner.get(run_id)
        frames = ctx.frames(job) if job is not None else None
        if (
            not picked
            or picked.get("run") != run_id
            or job is None
            or job.result is None
            or frames is None
        ):
            return html.Div("Click a crew, a case, a low point or a truck.", className="muted")
        return details(job.result, frames, picked.get("key"), int(k or 0)).children

    @app.callback(Output("map-tick", "interval"), Input("map-speed", "value"))
    def speed(x: float | None) -> int:
        # Faster than 1x takes bigger steps, never shorter ticks: a tick shorter than a
        # round trip to the server would be overtaken by the next and the replay stall.
        return tick_plan(x)[0]

    @app.callback(
        Output("map-tick", "disabled"),
        Output("map-play", "children"),
        Output("map-time", "value", allow_duplicate=True),
        Input("map-play", "n_clicks"),
        State("map-tick", "disabled"),
        State("map-time", "value"),
        State("map-time", "max"),
        prevent_initial_call=True,
    )
    def play(_: int, stopped: bool, k: int | None, last: int | None) -> tuple[Any, Any, Any]:
        if stopped:  # start; from the beginning when at the end
            restart = 0 if int(k or 0) >= int(last or 0) else dash.no_update
            return False, "⏸ Pause", restart
        return True, "▶ Play", dash.no_update

    @app.callback(
        Output("map-time", "value", allow_duplicate=True),
        Output("map-tick", "disabled", allow_duplicate=True),
        Output("map-play", "children", allow_duplicate=True),
        Input("map-tick", "n_intervals"),
        State("map-time", "value"),
        State("map-time", "max"),
        State("map-speed", "value"),
        prevent_initial_call=True,
    )
    def tick(_: int, k: int | None, last: int | None, x: float | None) -> tuple[Any, Any, Any]:
        k, last = int(k or 0), int(last or 0)
        if k >= last:  # the end: stop
            return dash.no_update, True, "▶ Play"
        return min(k + tick_plan(x)[1], last), dash.no_update, dash.no_update
