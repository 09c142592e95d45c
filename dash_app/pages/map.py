"""Page 2, the map: the road network as the base map and a run replayed over time.

The base map is the twin's own network (no tiles). Choosing a run adds its crews by
status, its cases by stage, water depth at the low points, roads closed or impeded by
water and crowd density at the plazas, at the record time picked with the slider;
*Play* steps through the run at the speed chosen (½× to 8×); clicking a crew, a case,
a low point or a truck shows what it is doing.

The replay plays in the browser: when a run is chosen, its frames are sent once
(:func:`dash_app.replay_compact.replay_payload`: what changes per record time, compact) and the
page's clientside code (``window.twinReplay``) draws each record time itself, with no
request to the server per frame: *Play* runs its own loop (``Plotly.animate`` of the
traces that changed; the slider follows once a second, the legend's counts on pause),
the slider redraws the record time picked (``Plotly.react``), and the details panel of
a clicked item follows at most once a second while playing. A run whose frames are
larger than :data:`~dash_app.replay_compact.MAX_REPLAY_BYTES` (8 MB of JSON; a day of the
rainstorm at 5-min records is about 2 MB) is replayed the old way: the server sends
the changed traces of each record time (a :class:`dash.Patch`), paced by a
``dcc.Interval`` (:func:`tick_plan`). The network is never sent again, and the map is
drawn only once its page is shown, so the app's first page does not wait for it.

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
from dash_app.replay import frame_label, frame_traces
from dash_app.replay_js import PLAY_JS, SHOW_JS, SPEED_JS, STEP_MS, TICK_JS

__all__ = [
    "PATH",
    "SPEEDS",
    "STEP_MS",
    "TITLE",
    "client_tick_ms",
    "layout",
    "register",
    "tick_plan",
]

PATH = "/map"
TITLE = "Map"
NETWORK_ONLY = "__network__"
#: Replay speeds offered: record times shown per :data:`STEP_MS` (see :func:`tick_plan`).
SPEEDS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
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
            dcc.Store(id="map-replay", data=None),
            dcc.Store(id="map-replay-mode", data=""),
            dcc.Store(id="map-server-k", data=0),
            dcc.Store(id="map-shown", data=0),
            dcc.Store(id="map-drawn", data=None),
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


def client_tick_ms(speed: float | None) -> int:
    """The replay's tick in the browser at a speed [ms]: one record time per tick.

    With the run's frames in the browser a tick costs no round trip, so every record
    time is drawn: 8× is one record time every 88 ms (11 frames/s).
    """
    return round(STEP_MS / float(speed or 1.0))


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
        Output("map-replay", "data"),
        Output("map-replay-mode", "data"),
        Output("map-drawn", "data"),
        Input("map-run", "value"),
        Input("map-layers", "value"),
        Input("map-net-ready", "data"),
        Input("url", "pathname"),
        State("map-time", "value"),
        State("map-drawn", "data"),
    )
    def draw(
        run_id: str | None,
        layers: list[str] | None,
        ready: Any,
        pathname: str | None,
        k: int | None,
        drawn: str | None,
    ) -> tuple[Any, ...]:
        # The whole figure, and the run's frames for the browser to replay by itself
        # (mode "client"); a run too large to send is replayed by `draw_time` (mode
        # "server"), one round trip per record time. Drawn only once the map is shown
        # (the app's first page does not wait for it), and not again for the same view.
        key = f"{run_id}|{sorted(layers or [])}|{bool(ready)}"
        if (pathname or "").rstrip("/") != PATH or drawn == key:
            raise dash.exceptions.PreventUpdate
        job = ctx.runner.get(run_id) if run_id != NETWORK_ONLY else None
        result = job.result if job is not None else None
        net = result.network if result is not None and result.network is not None else ctx.network
        if net is None:
            if ctx.network_error:
                failed = html.Div(
                    f"The road network could not be loaded: {ctx.network_error}",
                    className="alert alert-error",
                )
                return empty_figure("no road network"), "", failed, None, "", key
            return empty_figure("loading the road network…", 600), "", None, None, "", None
        chosen = set(layers or [])
        frames = ctx.frames(job) if job is not None else None
        k = int(k or 0)
        dynamic = frame_traces(result, frames, k, layers=chosen, net=net)
        label = frame_label(frames, k) if frames is not None and frames.labels else ""
        base = ctx.base_traces(net, local="local" in chosen, city="city" in chosen)
        title = job.label if job is not None else ""
        fig = map_figure(base, dynamic, net, title=title)
        payload = mode = None
        if job is not None and result is not None and frames is not None:
            payload = ctx.replay(job, chosen, net=net, n_base=len(base))
            mode = "client" if payload is not None else "server"
            if payload is not None:
                fig.update_layout(meta=payload["token"])
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
        return fig, label, note, payload, mode or "", key

    @app.callback(
        Output("map-graph", "figure", allow_duplicate=True),
        Output("map-time-label", "children", allow_duplicate=True),
        Input("map-server-k", "data"),
        State("map-run", "value"),
        State("map-layers", "value"),
        State("map-replay-mode", "data"),
        prevent_initial_call=True,
    )
    def draw_time(
        k: int | None, run_id: str | None, layers: list[str] | None, mode: str | None
    ) -> tuple[Any, Any]:
        # A run replayed by the server: only the dynamic traces at `k` (a dash.Patch).
        job = ctx.runner.get(run_id) if run_id != NETWORK_ONLY else None
        result = job.result if job is not None else None
        if mode != "server" or job is None or result is None:
            raise dash.exceptions.PreventUpdate
        net = result.network if result.network is not None else ctx.network
        frames = ctx.frames(job)
        if net is None or frames is None:
            raise dash.exceptions.PreventUpdate
        chosen = set(layers or [])
        dynamic = frame_traces(result, frames, int(k or 0), layers=chosen, net=net)
        patch = Patch()
        n_base = len(ctx.base_traces(net, local="local" in chosen, city="city" in chosen))
        for i, trace in enumerate(dynamic):
            patch["data"][n_base + i] = trace
        return patch, frame_label(frames, int(k or 0))

    app.clientside_callback(  # type: ignore[no-untyped-call]
        SHOW_JS,
        Output("map-time-label", "children", allow_duplicate=True),
        Output("map-server-k", "data"),
        Output("map-shown", "data"),
        Output("map-replay", "data", allow_duplicate=True),
        Input("map-time", "value"),
        Input("map-replay", "data"),
        State("map-tick", "disabled"),
        State("map-picked", "data"),
        State("map-replay-mode", "data"),
        prevent_initial_call=True,
    )

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
        Input("map-shown", "data"),
        Input("map-run", "value"),
    )
    def inspect(picked: dict[str, Any] | None, k: int | None, run_id: str | None) -> Any:
        # The item clicked, at the time shown (it follows the slider and *Play*, at most
        # once a second while playing); a click on another run's map says nothing of
        # this one.
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

    app.clientside_callback(  # type: ignore[no-untyped-call]
        SPEED_JS,
        Output("map-tick", "interval"),
        Input("map-speed", "value"),
        Input("map-replay-mode", "data"),
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        PLAY_JS,
        Output("map-tick", "disabled"),
        Output("map-play", "children"),
        Output("map-time", "value", allow_duplicate=True),
        Output("map-shown", "data", allow_duplicate=True),
        Input("map-play", "n_clicks"),
        State("map-tick", "disabled"),
        State("map-time", "value"),
        State("map-time", "max"),
        State("map-replay-mode", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        TICK_JS,
        Output("map-time", "value", allow_duplicate=True),
        Output("map-tick", "disabled", allow_duplicate=True),
        Output("map-play", "children", allow_duplicate=True),
        Output("map-shown", "data", allow_duplicate=True),
        Input("map-tick", "n_intervals"),
        State("map-time", "value"),
        State("map-time", "max"),
        State("map-speed", "value"),
        State("map-replay-mode", "data"),
        prevent_initial_call=True,
    )
