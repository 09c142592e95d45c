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

from dash_app.basemap import WATER_SCALE
from tests.app.test_browser import (
    Shoot,
    click,
    severe_logs,
    text_of,
    wait,
)
from twin.scenario import load_scenario

pytestmark = pytest.mark.browser

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
#: A two-hour slice of the rainstorm with the rain early: water deep enough to close roads.
STORM = {"horizon": "2h", "start": "2026-06-01T07:00:00", "rain.start": "15min"}

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


@pytest.fixture(scope="module")
def storm_run(served: dict[str, Any]) -> Any:
    """A short storm run, finished, held by the app's runner."""
    runner = served["ctx"].runner
    scenario = load_scenario(SCENARIOS / "gongshu_rainstorm.yaml").with_updates(**STORM)
    job = runner.wait(runner.submit_run(scenario).id, timeout=600)
    assert job.status == "done", job.error
    return job


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
