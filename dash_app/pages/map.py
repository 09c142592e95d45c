"""Page 2, the map: the road network as the base map and a run replayed over time.

The base map is the twin's own network (no tiles). Choosing a run adds its crews by
status, its cases by stage, water depth at the low points, roads closed or impeded by
water and crowd density at the plazas, at the record time picked with the slider;
*Play* steps through the run at the speed chosen (½× to 8×); clicking a crew, a case,
a low point or a truck shows what it is doing.

The replay plays in the browser: when a run is chosen, its frames are sent once
(:func:`dash_app.replay.replay_payload`: what changes per record time, compact) and the
page's clientside code (``window.twinReplay``) draws each record time itself, with no
request to the server per frame: *Play* runs its own loop (``Plotly.animate`` of the
traces that changed; the slider follows once a second, the legend's counts on pause),
the slider redraws the record time picked (``Plotly.react``), and the details panel of
a clicked item follows at most once a second while playing. A run whose frames are
larger than :data:`~dash_app.replay.MAX_REPLAY_BYTES` (8 MB of JSON; a day of the
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


#: The replay in the browser (``window.twinReplay``): the frames sent by the server
#: (:func:`dash_app.replay.replay_payload`), the record time wanted and the one drawn.
#: ``apply`` rebuilds the dynamic traces that differ from those drawn and hands the
#: figure to ``Plotly.react`` (base traces unchanged, so not resent); one draw at a
#: time, and the newest record time wanted wins. ``drawn`` counts the frames drawn.
_REPLAY_JS = """
window.twinReplay = window.twinReplay || (function () {
  const R = {payload: null, want: 0, shown: null, sig: null, objs: null, dataRef: null,
             busy: false, drawn: 0, lastSent: 0, timer: null, playing: false, dirty: false,
             again: false, tickMs: 700, pushed: null, lastPush: 0, loop: null,
             clock: 0, clockMs: null, from: 0};
  const SYNC_MS = 1000;  // how often the slider follows a replay played in the browser
  const ANIMATE = {mode: 'immediate', transition: {duration: 0},
                   frame: {duration: 0, redraw: false}};
  const fast = true;
  function setProps(id, props) {
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(id, props);
    }
  }
  function graph() { return document.querySelector('#map-graph .js-plotly-plot'); }
  function setPath(obj, path, value) {
    const parts = path.split('.');
    let o = obj;
    for (let i = 0; i < parts.length - 1; i++) {
      if (o[parts[i]] === undefined || o[parts[i]] === null) { o[parts[i]] = {}; }
      o = o[parts[i]];
    }
    o[parts[parts.length - 1]] = value;
  }
  function signature(tr, k) {
    const s = [tr.idx ? tr.idx.f[k] : -1];
    for (const path in tr.keys) { const spec = tr.keys[path]; s.push(spec.f ? spec.f[k] : -2); }
    return s.join(',');
  }
  function build(tr, k) {
    const t = {};
    for (const path in tr.static) { setPath(t, path, tr.static[path]); }
    const ents = tr.idx ? tr.idx.v[tr.idx.f[k]] : null;
    if (ents) { t.customdata = ents.map(i => tr.ids + i); }
    for (const path in tr.keys) {
      const spec = tr.keys[path];
      setPath(t, path, spec.ent ? ents.map(i => spec.ent[i]) : spec.v[spec.f[k]]);
    }
    return t;
  }
  function retry() {
    if (!R.timer) { R.timer = setTimeout(function () { R.timer = null; R.apply(); }, 50); }
  }
  R.apply = function () {
    const p = R.payload, gd = graph();
    if (!p) { return; }
    if (!gd || !gd._fullLayout || !gd.layout || gd.layout.meta !== p.token || !window.Plotly) {
      retry();
      return;
    }
    if (!gd._twinHook) {  // a figure drawn anew by dcc.Graph: draw the frame wanted again
      gd._twinHook = true;
      gd.on('plotly_afterplot', function () { if (gd.data !== R.dataRef) { R.apply(); } });
    }
    if (gd.data !== R.dataRef) { R.shown = null; R.sig = null; R.objs = null; }
    const k = Math.min(Math.max(R.want | 0, 0), p.n - 1);
    if (R.shown === k || R.busy) { return; }
    const data = gd.data.slice(), sig = [], objs = [];
    let changed = false;
    p.traces.forEach(function (tr, j) {
      const s = signature(tr, k);
      sig.push(s);
      if (R.sig && R.sig[j] === s) { objs.push(R.objs[j]); return; }
      const o = build(tr, k);
      objs.push(o);
      data[p.n_base + j] = o;
      changed = true;
    });
    const done = function () {
      R.busy = false; R.shown = k; R.sig = sig; R.objs = objs; R.dataRef = gd.data;
      R.drawn += 1;
      if (R.again) { R.again = false; R.refresh(); } else if (R.want !== k) { R.apply(); }
    };
    R.busy = true;
    if (!changed) { done(); return; }
    const fail = function () { R.busy = false; R.shown = null; };
    if (R.playing && R.sig !== null && fast) {
      // playing: only the traces that changed are drawn again (legend and colour bars
      // wait for the pause, see refresh)
      const changedIdx = [], changedObjs = [];
      p.traces.forEach(function (tr, j) {
        if (data[p.n_base + j] !== gd.data[p.n_base + j]) {
          changedIdx.push(p.n_base + j);
          changedObjs.push(data[p.n_base + j]);
        }
      });
      R.dirty = true;
      window.Plotly.animate(gd, {data: changedObjs, traces: changedIdx}, ANIMATE).then(done, fail);
    } else {
      R.dirty = false;
      window.Plotly.react(gd, data, gd.layout).then(done, fail);
    }
  };
  function showLabel(k) {  // the label under the slider, without a round of Dash's renderer
    const span = document.getElementById('map-time-label');
    const text = R.payload ? R.payload.labels[k] : '';
    if (span && span.firstChild && span.firstChild.nodeType === 3) {
      span.firstChild.nodeValue = text;
    }
  }
  function push(k, force) {  // the slider (and what listens to it) follows, now and then
    const now = Date.now();
    if (force || now - R.lastPush >= SYNC_MS) {
      R.lastPush = now; R.pushed = k;
      setProps('map-time', {value: k});
    }
  }
  function step() {  // one tick of Play: the record time due now (speed kept, draws may skip)
    R.loop = null;
    if (!R.playing || !R.payload) { return; }
    const last = R.payload.n - 1;
    if (R.want >= last) { R.stop(); return; }
    const now = performance.now();
    if (R.clockMs !== R.tickMs) {  // (re)start the clock: Play, a new speed, a slider move
      R.clock = now - R.tickMs; R.from = R.want; R.clockMs = R.tickMs;
    }
    const due = Math.min(last, R.from + Math.floor((now - R.clock) / R.tickMs));
    if (due > R.want) {
      R.want = due;
      R.apply();
      showLabel(R.want);
      push(R.want, false);
    }
    const next = R.clock + (R.want - R.from + 1) * R.tickMs;
    R.loop = setTimeout(step, Math.max(0, next - performance.now()));
  }
  R.play = function () {  // Play in the browser, from the start when at the end
    if (!R.payload) { return; }
    if (R.want >= R.payload.n - 1) { R.want = 0; R.apply(); showLabel(0); push(0, true); }
    R.playing = true;
    // The shell's job poll (a request and a round of Dash's renderer every second) waits
    // while the replay plays: it costs the browser more than a frame.
    setProps('poll', {disabled: true});
    R.clockMs = null;  // the clock starts at the next tick
    if (R.loop === null) { R.loop = setTimeout(step, R.tickMs); }
  };
  R.stop = function () {  // Pause (or the end): the slider, the label and the legend follow
    if (R.loop !== null) { clearTimeout(R.loop); R.loop = null; }
    const was = R.playing;
    R.refresh();
    setProps('poll', {disabled: false});
    if (was) {
      setProps('map-play', {children: '\\u25b6 Play'});
      push(R.want, true);
    }
  };
  R.refresh = function () {  // the whole figure again (after play: the legend's counts)
    R.playing = false;
    if (!R.dirty) { return; }
    if (R.busy) { R.again = true; return; }
    R.shown = null; R.sig = null; R.apply();
  };
  return R;
})();
"""


def _js(body: str) -> str:
    """A clientside callback: ``body`` is a function's source, the replay set up first."""
    head, _, rest = body.partition("{")
    return f"{head}{{\n{_REPLAY_JS}\n{rest}"


_SHOW_JS = _js(
    """function (k, p, stopped, picked, mode) {
  // The replay is taken out of the store as it arrives (the store emptied): Dash's
  // renderer compares what it holds on every update, and a run's frames are megabytes.
  const T = window.twinReplay, nu = window.dash_clientside.no_update;
  k = k || 0;
  let emptied = nu;
  if (p) { T.payload = p; emptied = null; } else if (mode !== 'client') { T.payload = null; }
  if (!(T.playing && k === T.pushed)) {  // not an echo of Play's own push: go there
    T.want = k;
    T.clockMs = null;
  }
  const q = T.payload;
  if (!q) { return [nu, k, k, emptied]; }
  T.apply();
  const kk = Math.min(Math.max(k, 0), q.n - 1), now = Date.now();
  let shown = nu;
  if (!T.playing || (picked && now - T.lastSent >= 1000)) { shown = kk; T.lastSent = now; }
  // while playing, the label is written by the replay itself (no round of the renderer)
  return [T.playing ? nu : q.labels[kk], nu, shown, emptied];
}"""
)
_PLAY_JS = _js(
    """function (n, stopped, k, last, mode) {
  // The frames in the browser: Play and Pause drive its own loop (no dcc.Interval, no
  // round of Dash's renderer per frame). Otherwise the server draws each record time,
  // paced by map-tick.
  const T = window.twinReplay, nu = window.dash_clientside.no_update;
  if (mode === 'client' && T.payload) {
    if (!T.playing) { T.play(); return [true, '\\u23f8 Pause', nu, nu]; }
    T.stop();
    return [true, '\\u25b6 Play', nu, nu];
  }
  if (stopped) {
    return [false, '\\u23f8 Pause', (k || 0) >= (last || 0) ? 0 : nu, nu];
  }
  return [true, '\\u25b6 Play', nu, k || 0];
}"""
)
_TICK_JS = _js(
    """function (n, k, last, x, mode) {
  const T = window.twinReplay, nu = window.dash_clientside.no_update;
  k = k || 0; last = last || 0;
  if (k >= last) { return [nu, true, '\\u25b6 Play', k]; }
  const step = mode === 'client' ? 1 : (x > 1 ? Math.round(x) : 1);
  return [Math.min(k + step, last), nu, nu, nu];
}"""
)
_SPEED_JS = _js(
    f"""function (x, mode) {{
  x = x || 1;
  const ms = (mode === 'client' || x <= 1) ? Math.round({STEP_MS} / x) : {STEP_MS};
  window.twinReplay.tickMs = Math.round({STEP_MS} / x);  // Play in the browser
  return ms;
}}"""
)


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
        _SHOW_JS,
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
        _SPEED_JS,
        Output("map-tick", "interval"),
        Input("map-speed", "value"),
        Input("map-replay-mode", "data"),
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        _PLAY_JS,
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
        _TICK_JS,
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
