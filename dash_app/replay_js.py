"""The map's replay in the browser: the JavaScript of ``window.twinReplay`` and its callbacks.

:mod:`dash_app.pages.map` registers these as clientside callbacks: the frames sent once
by the server (:func:`dash_app.replay_compact.replay_payload`) are drawn in the browser, and
*Play* runs its own loop there, with no request to the server per frame.
"""

from __future__ import annotations

__all__ = ["PLAY_JS", "SHOW_JS", "SPEED_JS", "STEP_MS", "TICK_JS"]

#: Time between two record times at 1× speed [ms].
STEP_MS = 700


#: The replay in the browser (``window.twinReplay``): the frames sent by the server
#: (:func:`dash_app.replay_compact.replay_payload`), the record time wanted and the one drawn.
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


SHOW_JS = _js(
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
PLAY_JS = _js(
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
TICK_JS = _js(
    """function (n, k, last, x, mode) {
  const T = window.twinReplay, nu = window.dash_clientside.no_update;
  k = k || 0; last = last || 0;
  if (k >= last) { return [nu, true, '\\u25b6 Play', k]; }
  const step = mode === 'client' ? 1 : (x > 1 ? Math.round(x) : 1);
  return [Math.min(k + step, last), nu, nu, nu];
}"""
)
SPEED_JS = _js(
    f"""function (x, mode) {{
  x = x || 1;
  const ms = (mode === 'client' || x <= 1) ? Math.round({STEP_MS} / x) : {STEP_MS};
  window.twinReplay.tickMs = Math.round({STEP_MS} / x);  // Play in the browser
  return ms;
}}"""
)
