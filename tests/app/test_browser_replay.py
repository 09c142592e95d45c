"""The map's replay in real headless Chromium: played in the browser, no request per frame.

One served app and one browser for the module (see ``conftest.py``); a short storm run
is queued on the app's runner directly. The replay's frames are sent once
(:func:`dash_app.replay.replay_payload`) and drawn by the page's clientside code
(``window.twinReplay``); requests to the server are counted by wrapping ``fetch``.
Waits are for events, with generous limits; nothing asserts on wall-clock time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from dash_app.pages.map import client_tick_ms
from dash_app.replay import WATER_SCALE
from dash_app.replay_compact import MAX_REPLAY_BYTES
from tests.app.test_browser import Shoot, by_id, choose, click, severe_logs, text_of, wait

pytestmark = pytest.mark.browser

#: Count the app's callback requests from now on, with the outputs each asked for.
HOOK_JS = """
if (!window.__twinRequests) {
  window.__twinRequests = [];
  const original = window.fetch;
  window.fetch = function (url, opts) {
    if (String(url).includes('_dash-update-component')) {
      let output = '';
      try { output = JSON.parse(opts.body).output; } catch (e) { output = '?'; }
      window.__twinRequests.push(output);
    }
    return original.apply(this, arguments);
  };
}
window.__twinRequests.length = 0;
"""
REQUESTS_JS = "return window.__twinRequests.slice();"
#: The replay's state in the page.
STATE_JS = """
const T = window.twinReplay;
if (!T || !T.payload) { return null; }
return {shown: T.shown, want: T.want, drawn: T.drawn, n: T.payload.n, tickMs: T.tickMs,
        token: T.payload.token};
"""
#: The water-depth trace as plotly.js draws it (names of scales resolved).
WATER_JS = """
const gd = document.querySelector('#map-graph .js-plotly-plot');
if (!gd || !gd._fullData) { return null; }
const i = gd.data.findIndex(t => (t.name || '').startsWith('water depth') && t.visible);
if (i < 0) { return null; }
const full = gd._fullData.find(t => t.index === i);
return {scale: full.marker.colorscale, cmin: full.marker.cmin, cmax: full.marker.cmax,
        bar: full.marker.colorbar ? full.marker.colorbar.title.text : null,
        color: gd.data[i].marker.color};
"""
SHOW_JS = "window.twinReplay.want = arguments[0]; window.twinReplay.apply();"


def _state(driver: Any) -> dict[str, Any] | None:
    found = driver.execute_script(STATE_JS)
    return None if found is None else dict(found)


def _open_run(driver: Any, served: dict[str, Any], job: Any) -> dict[str, Any]:
    """The map of ``job`` with its replay in the page; the replay's state."""
    driver.get(served["url"] + "/map")
    wait(driver, lambda d: "#" in text_of(d, "map-run"), timeout=60)
    if job.label not in text_of(driver, "map-run"):
        choose(driver, "map-run", job.label)
    token = f"{job.id}|"
    wait(
        driver,
        lambda d: (s := _state(d)) and s["token"].startswith(token) and s["shown"] is not None,
        timeout=60,
    )
    return dict(_state(driver) or {})


def _slider_key(driver: Any, key: str) -> None:
    handle = driver.find_element(By.CSS_SELECTOR, "#map-time [role='slider']")
    click(driver, handle)
    handle.send_keys(key)


def _play_to_the_end(driver: Any) -> None:
    click(driver, by_id(driver, "map-play"))
    wait(driver, lambda d: "Pause" in text_of(d, "map-play"))
    wait(driver, lambda d: "Play" in text_of(d, "map-play"), timeout=120)


def test_play_draws_every_frame_without_a_request_per_frame(
    served: dict[str, Any], browser: Any, storm_run: Any, shoot: Shoot
) -> None:
    state = _open_run(browser, served, storm_run)
    n = state["n"]
    assert n == storm_run.result.dataset.sizes["time"]
    choose(browser, "map-speed", "8× speed")
    wait(browser, lambda d: _state(d)["tickMs"] == client_tick_ms(8.0))
    _slider_key(browser, Keys.HOME)
    wait(browser, lambda d: _state(d)["shown"] == 0)
    before = _state(browser)["drawn"]
    browser.execute_script(HOOK_JS)
    _play_to_the_end(browser)
    after = _state(browser)
    assert after["shown"] == n - 1
    assert text_of(browser, "map-time-label").startswith("09:00")
    # frames were drawn by the page itself (a busy browser skips some to keep the pace)
    assert after["drawn"] - before >= 3
    outputs = browser.execute_script(REQUESTS_JS)
    # no figure from the server; at most the details panel once at the end (and the
    # app's own once-a-second poll)
    assert not [o for o in outputs if "map-graph" in o or "map-time-label" in o]
    assert len([o for o in outputs if "map-" in o]) <= 2
    shoot(browser, "map-replay-played")
    assert severe_logs(browser) == []


def test_the_slider_and_speed_drive_the_replay(
    served: dict[str, Any], browser: Any, storm_run: Any
) -> None:
    state = _open_run(browser, served, storm_run)
    labels = served["ctx"].frames(storm_run).labels
    _slider_key(browser, Keys.END)
    wait(browser, lambda d: _state(d)["shown"] == state["n"] - 1)
    assert text_of(browser, "map-time-label").startswith(labels[-1])
    _slider_key(browser, Keys.HOME)
    wait(browser, lambda d: _state(d)["shown"] == 0)
    _slider_key(browser, Keys.ARROW_RIGHT)
    wait(browser, lambda d: _state(d)["shown"] == 1)
    assert text_of(browser, "map-time-label").startswith(labels[1])
    for label, speed in (("0.5× speed", 0.5), ("2× speed", 2.0), ("8× speed", 8.0)):
        choose(browser, "map-speed", label)
        wait(browser, lambda d, s=speed: _state(d)["tickMs"] == client_tick_ms(s))
    # Play, then Pause part way: the replay stops where it was
    click(browser, by_id(browser, "map-play"))
    wait(browser, lambda d: _state(d)["shown"] >= 3)
    click(browser, by_id(browser, "map-play"))
    wait(browser, lambda d: "Play" in text_of(d, "map-play"))
    stopped = _state(browser)["want"]
    wait(browser, lambda d: _state(d)["shown"] == stopped)
    assert text_of(browser, "map-time-label").startswith(labels[stopped])


def test_the_water_scale_is_the_same_in_every_frame(
    served: dict[str, Any], browser: Any, storm_run: Any
) -> None:
    state = _open_run(browser, served, storm_run)
    deepest = float(np.nanmax(storm_run.result.dataset["water_depth"].to_numpy()))
    seen = []
    for k in range(0, state["n"], 3):
        browser.execute_script(SHOW_JS, k)
        wait(browser, lambda d, k=k: _state(d)["shown"] == k)
        seen.append(wait(browser, lambda d: d.execute_script(WATER_JS)))
    first = seen[0]
    assert first["cmin"] == 0.0 and first["cmax"] >= deepest
    assert first["scale"][-1][1] == WATER_SCALE[-1][1] and first["bar"] == "water [m]"
    for frame in seen[1:]:
        assert (frame["scale"], frame["cmin"], frame["cmax"], frame["bar"]) == (
            first["scale"], first["cmin"], first["cmax"], first["bar"],
        )  # fmt: skip
    # the frames differ: dry at the start, wet later
    assert max(seen[0]["color"]) < max(max(f["color"]) for f in seen)


#: Where a crew is drawn on the screen: the centre of the first marker of the first
#: visible crew trace [css px], with its customdata.
CREW_JS = """
const gd = document.querySelector('#map-graph .js-plotly-plot');
const i = gd.data.findIndex(t => (t.name || '').startsWith('crews ') && t.visible
                              && t.x && t.x.length);
if (i < 0) { return null; }
const trace = Array.from(gd.querySelectorAll('.scatterlayer .trace'))
    .find(g => g.__data__ && g.__data__[0] && g.__data__[0].trace.index === i);
const point = trace && trace.querySelector('path.point');
if (!point) { return null; }
const box = point.getBoundingClientRect();
return [box.left + box.width / 2, box.top + box.height / 2, gd.data[i].customdata[0]];
"""


def test_a_click_on_a_crew_drawn_in_the_browser_inspects_it(
    served: dict[str, Any], browser: Any, storm_run: Any
) -> None:
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    _open_run(browser, served, storm_run)
    for layer in ("cases", "water", "city"):  # nothing drawn over the crews
        click(browser, browser.find_element(By.CSS_SELECTOR, f"#map-layers input[value='{layer}']"))
    wait(browser, lambda d: "cases waiting" not in text_of(d, "map-graph"))
    # a frame drawn in the browser, not by the server
    _slider_key(browser, Keys.END)
    wait(
        browser, lambda d: (s := _state(d)) and "|crews" in s["token"] and s["shown"] == s["n"] - 1
    )
    browser.execute_script("document.getElementById('map-graph').scrollIntoView()")
    x, y, key = wait(browser, lambda d: d.execute_script(CREW_JS))
    assert key.startswith("crew:")
    action = ActionBuilder(browser)
    action.pointer_action.move_to_location(int(x), int(y))
    action.pointer_action.click()
    action.perform()
    panel = wait(browser, lambda d: "crew" in (t := text_of(d, "map-details")).lower() and t)
    assert "Click a crew" not in panel
    assert severe_logs(browser) == []


def test_a_run_too_large_to_send_is_replayed_by_the_server(
    served: dict[str, Any], browser: Any, storm_run: Any
) -> None:
    ctx = served["ctx"]
    ctx.max_replay_bytes = 0
    try:
        browser.get(served["url"] + "/map")
        wait(browser, lambda d: "#" in text_of(d, "map-run"), timeout=60)
        if storm_run.label not in text_of(browser, "map-run"):
            choose(browser, "map-run", storm_run.label)
        wait(browser, lambda d: "water depth [m]" in text_of(d, "map-graph"), timeout=60)
        assert _state(browser) is None  # no replay in the page
        browser.execute_script(HOOK_JS)
        first = text_of(browser, "map-time-label")
        _slider_key(browser, Keys.HOME)
        wait(browser, lambda d: text_of(d, "map-time-label") not in ("", first))
        outputs = browser.execute_script(REQUESTS_JS)
        assert [o for o in outputs if "map-graph.figure" in o]  # the server drew it
    finally:
        ctx.max_replay_bytes = MAX_REPLAY_BYTES
