"""The second version's fixes in real headless Chromium: maps and numbers one can trust.

One served app and one browser for the module (see ``conftest.py``); runs are queued on
the app's runner directly (the builder's part is tested in ``test_browser.py``), then
looked at as a planner would. Screenshots go to ``tests/app/artifacts/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from dash_app.replay import WATER_SCALE
from tests.app.test_browser import (
    Shoot,
    by_id,
    choose,
    click,
    control,
    field,
    field_error,
    set_field,
    severe_logs,
    text_of,
    wait,
    wait_text,
)
from twin.scenario import load_scenario

pytestmark = pytest.mark.browser

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
#: The water-depth trace of the map as plotly.js holds it: what it was given
#: (``data``) and what it draws (``_fullData``, names of scales resolved).
WATER_TRACE_JS = """
const gd = document.querySelector('#map-graph .js-plotly-plot');
if (!gd || !gd._fullData) { return null; }
const i = gd.data.findIndex(t => (t.name || '').startsWith('water depth') && t.visible);
if (i < 0) { return null; }
const full = gd._fullData.find(t => t.index === i);
return {index: i, probe: gd.data[i]._probe === true, given: gd.data[i].marker.colorscale,
        drawn: full.marker.colorscale, cmin: full.marker.cmin, cmax: full.marker.cmax,
        bar: full.marker.colorbar ? full.marker.colorbar.title.text : null};
"""


def _water(driver: Any) -> dict[str, Any] | None:
    found = driver.execute_script(WATER_TRACE_JS)
    return None if found is None else dict(found)


def test_the_water_scale_stays_the_same_when_the_slider_moves(
    served: dict[str, Any], browser: Any, storm_run: Any, shoot: Shoot
) -> None:
    browser.get(served["url"] + "/map")
    wait(browser, lambda d: "gongshu_rainstorm" in text_of(d, "map-run"), timeout=60)
    before = wait(browser, _water, timeout=60)
    deepest = float(np.nanmax(storm_run.result.dataset["water_depth"].to_numpy()))
    # the bar spans the run's deepest water, from light (dry) to dark (deep)
    assert before["cmin"] == 0.0 and before["cmax"] >= deepest
    assert before["drawn"][0] == [0, "rgb(247,251,255)"]
    assert before["drawn"][-1][1] == WATER_SCALE[-1][1]
    assert before["bar"] == "water [m]"
    shoot(browser, "map-water-scale-full-draw")
    # mark the trace drawn now; a slider move replaces it (a dash.Patch of the trace)
    browser.execute_script(
        "const gd = document.querySelector('#map-graph .js-plotly-plot');"
        "gd.data[arguments[0]]._probe = true;",
        before["index"],
    )
    label = text_of(browser, "map-time-label")
    handle = browser.find_element(By.CSS_SELECTOR, "#map-time [role='slider']")
    click(browser, handle)
    handle.send_keys(Keys.HOME)  # the start of the run: before the rain, all dry
    wait(browser, lambda d: text_of(d, "map-time-label") not in ("", label))
    after = wait(browser, lambda d: (w := _water(d)) is not None and not w["probe"] and w)
    assert after["drawn"] == before["drawn"]
    assert after["given"] == before["given"]
    assert (after["cmin"], after["cmax"]) == (before["cmin"], before["cmax"])
    shoot(browser, "map-water-scale-after-slider")
    assert severe_logs(browser) == []


#: A short, busy slice of the baseline day (dry).
SHORT = {"horizon": "2h", "start": "2026-06-01T08:00:00", "cases.daily_total": 2400}

#: The axes of the comparison's difference plot: their titles, one per unit.
AXES_JS = """
const gd = document.querySelector('#compare-ci .js-plotly-plot');
if (!gd || !gd._fullLayout) { return null; }
return Object.keys(gd._fullLayout).filter(k => /^xaxis\\d*$/.test(k))
    .map(k => gd._fullLayout[k].title.text);
"""


def _cells(driver: Any, table_id: str) -> dict[str, list[Any]]:
    """The rows of a table by their first cell: the cell elements after it."""
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")
    out = {}
    for row in rows:
        cells = row.find_elements(By.TAG_NAME, "td")
        out[cells[0].text] = cells[1:]
    return out


def test_comparison_numbers_are_bounded_whole_and_one_unit_per_axis(
    served: dict[str, Any], browser: Any, shoot: Shoot
) -> None:
    runner = served["ctx"].runner
    base = load_scenario(SCENARIOS / "gongshu_baseline_day.yaml").with_updates(**SHORT)
    a = runner.wait(runner.submit_run(base).id, timeout=600)
    b = runner.wait(
        runner.submit_run(base.with_updates(**{"dispatch.policy": "fixed_zones"})).id,
        timeout=600,
    )
    assert a.status == b.status == "done"
    browser.get(served["url"] + "/compare")
    wait(browser, lambda d: b.id.split("-")[1] in text_of(d, "compare-b"), timeout=60)
    # the runs' names say the rain; the page says which inputs differ
    assert "dry" in text_of(browser, "compare-a") and "dry" in text_of(browser, "compare-b")
    inputs = wait(browser, lambda d: "dispatch.policy" in text_of(d, "compare-inputs") and
                  text_of(d, "compare-inputs"))  # fmt: skip
    assert "Inputs that differ (1)" in inputs and "fixed_zones" in inputs
    side = _cells(browser, "compare-side-table")
    assert "share_closed" in side and "e+" not in text_of(browser, "compare-side-table")
    n = browser.find_element(By.ID, "compare-n")
    click(browser, n)
    n.send_keys(Keys.CONTROL, "a")
    n.send_keys("2")
    click(browser, browser.find_element(By.ID, "compare-run"))
    table = wait(
        browser, lambda d: "B − A paired" in text_of(d, "compare-ci-table") and d, timeout=300
    )
    assert table is not None
    ci = _cells(browser, "compare-ci-table")
    units = {k: str(v) for k, v in a.result.kpis.set_index("kpi")["unit"].items()}
    for kpi, cells in ci.items():
        a_text, b_text, diff_text = (c.text for c in cells)
        assert "e+" not in a_text + b_text + diff_text, kpi
        # means of what cannot be negative have no interval reaching below zero
        assert "[-" not in a_text and "[-" not in b_text, (kpi, a_text, b_text)
        if units.get(kpi) == "cases" and kpi in ("cases_reported", "cases_closed"):
            mean = float(a_text.split(" ")[0].replace(",", ""))
            assert mean == int(mean), a_text  # counts whole (equal seeds: equal cases)
    # cases_closed is neither better nor worse; the share closed says which
    assert ci["cases_closed"][2].get_attribute("class") == "num"
    titles = wait(browser, lambda d: d.execute_script(AXES_JS))
    assert len(titles) >= 2 and len(set(titles)) == len(titles)
    assert any("percentage points" in t for t in titles)
    assert any("minutes" in t for t in titles)
    assert "clipped" in text_of(browser, "compare-ci-note")
    browser.execute_script("document.getElementById('compare-ci').scrollIntoView()")
    shoot(browser, "compare-bounded-intervals")
    assert severe_logs(browser) == []
    browser.refresh()  # the intervals are still there after a reload
    wait(browser, lambda d: "B − A paired" in text_of(d, "compare-ci-table"), timeout=60)


def test_the_builder_marks_empty_fields_and_made_up_storms_and_clears_stale_lines(
    served: dict[str, Any], browser: Any, shoot: Shoot
) -> None:
    browser.get(served["url"] + "/builder")
    wait_text(browser, "builder-status", "Valid scenario", timeout=60)
    set_field(browser, "crews.count", "")
    message = wait(browser, lambda d: field_error(d, "crews.count"))
    assert message == "Input should be a valid integer (the field is empty)"
    click(browser, by_id(browser, "builder-run"))
    wait_text(browser, "builder-job-text", "Not run: fix the marked fields first")
    set_field(browser, "crews.count", "150")
    wait_text(browser, "builder-status", "Valid scenario")
    # the line about the form as it was goes once the form is valid
    wait(browser, lambda d: "Not run" not in text_of(d, "builder-job-text"))
    # a storm event that is not in the catalogue is marked before anything runs
    choose(browser, control(browser, "rain.kind"), "event")
    set_field(browser, "rain.event", "made-up-storm")
    marked = wait(browser, lambda d: field_error(d, "rain.event"), timeout=120)
    assert marked.startswith("no event 'made-up-storm' in the storm catalogue")
    wait_text(browser, "builder-status", "1 problem to fix")
    shoot(browser, "builder-made-up-storm")
    events = served["ctx"].storm_events()
    # the catalogue's storms are offered as the field is typed in, deepest first
    listed = browser.execute_script(
        "const input = arguments[0], options = input.list.options;"
        "return [input.getAttribute('list'), options.length, options[0].value];",
        field(browser, "rain.event"),
    )
    assert listed == ["builder-storm-events", len(events), events[0]]
    set_field(browser, "rain.event", events[0])
    wait_text(browser, "builder-status", "Valid scenario")
    assert field_error(browser, "rain.event") == ""
    assert severe_logs(browser) == []


def test_the_forecast_page_shows_every_message_and_the_storm(
    served: dict[str, Any], browser: Any, storm_run: Any, shoot: Shoot
) -> None:
    from dash_app.pages.forecasts import ForecastData, storm_window

    browser.get(served["url"] + "/forecasts")
    wait(browser, lambda d: "gongshu_rainstorm" in text_of(d, "forecast-run"), timeout=60)
    choose(browser, "forecast-model", "rain-aware linear")
    click(browser, by_id(browser, "forecast-build"))
    wait_text(browser, "forecast-job-text", "Replayed", timeout=300)
    job = next(j for j in reversed(served["ctx"].runner.jobs("task")) if j.status == "done")
    data = job.payload
    assert isinstance(data, ForecastData)
    n = len(data.timeline)
    heading = wait_text(browser, "forecast-count", "alert message")
    assert heading.startswith(f"All {n:,} alert message")
    rows = browser.find_elements(By.CSS_SELECTOR, "#forecast-table tbody tr")
    assert len(rows) == n  # all of them, none left out
    box = by_id(browser, "forecast-table-box")
    if n > 12:  # more than fit: the box scrolls
        assert browser.execute_script(
            "return arguments[0].scrollHeight > arguments[0].clientHeight", box
        )
    shown = browser.execute_script(
        "return document.querySelector('#forecast-timeline .js-plotly-plot')"
        "._fullLayout.xaxis.range"
    )
    t0, t1 = (f"{t:%Y-%m-%d %H:%M}" for t in data.local(storm_window(data)))
    assert [str(x).replace("T", " ")[:16] for x in shown] == [t0, t1]
    # every low point has its own readable name, on the axis and in the table
    on_axis = browser.execute_script(
        "const gd = document.querySelector('#forecast-timeline .js-plotly-plot');"
        "return [].concat(...gd.data.map(t => t.y));"
    )
    assert set(on_axis) <= set(data.names) and len(set(data.names)) == len(data.names)
    assert not any(str(n).startswith("unnamed") for n in on_axis)
    assert "unnamed" not in text_of(browser, "forecast-table")
    browser.execute_script("document.getElementById('forecast-timeline').scrollIntoView()")
    shoot(browser, "forecasts-all-messages")
    assert severe_logs(browser) == []
    # a reload of the page keeps its replay (the tab's session remembers its job)
    browser.refresh()
    wait(browser, lambda d: by_id(d, "page-forecasts").is_displayed(), timeout=60)
    again = wait_text(browser, "forecast-count", "alert message", timeout=60)
    assert again == heading
    assert len(browser.find_elements(By.CSS_SELECTOR, "#forecast-table tbody tr")) == n


#: Where a water point is drawn on the screen: its marker's centre [css px].
POINT_JS = """
const gd = document.querySelector('#map-graph .js-plotly-plot');
const i = gd.data.findIndex(t => (t.name || '').startsWith('water depth') && t.visible);
if (i < 0) { return null; }
const trace = gd.querySelectorAll('.scatterlayer .trace')[i];
const point = trace && trace.querySelectorAll('path.point')[arguments[0]];
if (!point) { return null; }
const box = point.getBoundingClientRect();
return [box.left + box.width / 2, box.top + box.height / 2];
"""


def test_a_click_on_a_low_point_shows_its_water_at_any_speed(
    served: dict[str, Any], browser: Any, storm_run: Any, shoot: Shoot
) -> None:
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    browser.get(served["url"] + "/map")
    wait(browser, lambda d: "#" in text_of(d, "map-run"), timeout=60)
    if "gongshu_rainstorm" not in text_of(browser, "map-run"):  # newer runs are shown first
        choose(browser, "map-run", "gongshu_rainstorm")
    wait(browser, _water, timeout=60)
    choose(browser, "map-speed", "8× speed")
    frames = served["ctx"].frames(storm_run)
    depth = storm_run.result.dataset["water_depth"].to_numpy()
    deepest = int(np.argmax(np.nanmax(depth, axis=0)))
    name = frames.point_names[deepest]
    for layer in ("cases", "crews"):  # nothing drawn over the low points
        click(browser, browser.find_element(By.CSS_SELECTOR, f"#map-layers input[value='{layer}']"))
    wait(browser, lambda d: "crews working" not in text_of(d, "map-graph"))
    browser.execute_script("document.getElementById('map-graph').scrollIntoView()")
    xy = wait(browser, lambda d: d.execute_script(POINT_JS, deepest))
    # a real mouse click where the point is drawn (viewport coordinates)
    action = ActionBuilder(browser)
    action.pointer_action.move_to_location(int(xy[0]), int(xy[1]))
    action.pointer_action.click()
    action.perform()
    panel = wait_text(browser, "map-details", "deepest")
    assert name in panel and "closed from" in panel
    label = text_of(browser, "map-time-label").split(" ")[0]
    assert f"depth at {label}" in panel
    # the panel follows the time shown: Play at 8× and it moves on with the map
    click(browser, by_id(browser, "map-play"))
    wait(browser, lambda d: f"depth at {label}" not in text_of(d, "map-details"))
    click(browser, by_id(browser, "map-play"))
    wait(browser, lambda d: "Play" in text_of(d, "map-play"))
    browser.execute_script("document.getElementById('map-details').scrollIntoView()")
    shoot(browser, "map-click-low-point")
    assert severe_logs(browser) == []


UPLOAD_INPUT = "#builder-upload input[type='file']"


def test_a_scenario_uploaded_in_the_builder(
    served: dict[str, Any], browser: Any, shoot: Shoot, tmp_path: Path
) -> None:
    import yaml

    from tests.app.test_browser import field_value

    browser.get(served["url"] + "/builder")
    wait_text(browser, "builder-status", "Valid scenario", timeout=60)
    data = yaml.safe_load((SCENARIOS / "gongshu_baseline_day.yaml").read_text(encoding="utf-8"))
    data["horizon"] = "3h"
    good = tmp_path / "uploaded_day.yaml"
    good.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    upload = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, UPLOAD_INPUT))
    upload.send_keys(str(good))
    wait_text(browser, "builder-upload-message", "Uploaded as")
    wait(browser, lambda d: "uploaded_day.yaml" in text_of(d, "builder-file"))
    wait(browser, lambda d: field_value(d, "horizon") == "3h")
    wait_text(browser, "builder-status", "Valid scenario")
    assert (served["save_dir"] / "uploaded_day.yaml").read_bytes() == good.read_bytes()
    data["cases"]["daily_total"] = -3
    bad = tmp_path / "broken_day.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    upload = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, UPLOAD_INPUT))
    upload.send_keys(str(bad))
    message = wait_text(browser, "builder-upload-message", "Not uploaded")
    assert "broken_day.yaml" in message and "cases.daily_total" in message and "(got -3)" in message
    assert not (served["save_dir"] / "broken_day.yaml").exists()
    shoot(browser, "builder-upload")
    assert severe_logs(browser) == []
