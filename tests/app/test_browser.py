"""The app in real headless Chromium: every page, a run from the builder, two runs compared.

The tests share one served app and one browser and run in file order, as a planner
would: bad input first, then runs, then the map, the results and the comparison.
Screenshots are kept in ``tests/app/artifacts/`` (see ``conftest.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dash_app.app import pages
from dash_app.comparison import fmt_number
from twin.errors import ScenarioError
from twin.scenario import load_scenario

pytestmark = pytest.mark.browser

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "gongshu_baseline_day.yaml"
PAGES = ("builder", "map", "results", "compare", "forecasts", "placement")
#: A short, busy slice of the baseline day keeps every run to about a second.
SHORT = {"horizon": "2h", "start": "2026-06-01T08:00:00", "cases.daily_total": "2400"}

Shoot = Callable[[Any, str], Path]


# ---------------------------------------------------------------------------- helpers
IGNORED = (NoSuchElementException, StaleElementReferenceException)


# Waits are for events, not timings: each returns as soon as its condition holds, and its
# limit is generous (SLACK times the time it takes on an idle machine) so that the tests
# hold on a busy one.
SLACK = 4.0


def wait(driver: Any, condition: Callable[[Any], Any], timeout: float = 30.0) -> Any:
    """Wait until ``condition(driver)`` is truthy (up to ``SLACK × timeout``); return it."""
    return WebDriverWait(
        driver, SLACK * timeout, poll_frequency=0.1, ignored_exceptions=IGNORED
    ).until(condition)


def by_id(driver: Any, element_id: str) -> Any:
    return driver.find_element(By.ID, element_id)


def text_of(driver: Any, element_id: str) -> str:
    try:
        return str(driver.find_element(By.ID, element_id).text)
    except IGNORED:
        return ""


def wait_text(driver: Any, element_id: str, needle: str, timeout: float = 30.0) -> str:
    """Wait until the element's text contains ``needle``; return the text."""
    wait(driver, lambda d: needle in text_of(d, element_id), timeout)
    return text_of(driver, element_id)


def wait_id(driver: Any, element_id: str, timeout: float = 30.0) -> Any:
    return wait(driver, lambda d: d.find_element(By.ID, element_id), timeout)


def click(driver: Any, element: Any) -> None:
    """Scroll an element to the middle of the window (clear of the sticky bar) and click."""
    for _ in range(20):
        try:
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
            element.click()
            return
        except ElementClickInterceptedException:
            time.sleep(0.1)
    element.click()


def field(driver: Any, path: str) -> Any:
    """The builder's input for a dotted scenario path."""
    return driver.find_element(By.CSS_SELECTOR, f'input[id*=\'"path":"{path}"\']')


def field_value(driver: Any, path: str) -> str:
    try:
        return str(field(driver, path).get_attribute("value"))
    except IGNORED:
        return ""


def set_field(driver: Any, path: str, text: str) -> None:
    """Type ``text`` into a builder field, replacing what was there, and leave the field.

    Waits for the field to be shown (storm and truck fields are shown for their kind of
    rain, or with the trucks on).
    """
    element = wait(driver, lambda d: field(d, path) if field(d, path).is_displayed() else None)
    click(driver, element)
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.DELETE)
    element.send_keys(text)
    element.send_keys(Keys.TAB)


def field_error(driver: Any, path: str) -> str:
    """The message shown next to a builder field ('' when none)."""
    try:
        box = driver.find_element(
            By.CSS_SELECTOR, f"div[id*='\"path\":\"{path}\"'][id*='field-error']"
        )
        return str(box.text)
    except IGNORED:
        return ""


def control(driver: Any, path: str) -> Any:
    """The builder's control (input, dropdown) for a dotted scenario path."""
    return driver.find_element(
        By.CSS_SELECTOR, f'[id*=\'"path":"{path}"\'][id*=\'"type":"field"\']'
    )


def choose(driver: Any, dropdown: str | Any, label: str) -> None:
    """Pick the option whose text contains ``label`` in a ``dcc.Dropdown`` (id or element)."""
    if isinstance(dropdown, str):
        dropdown = wait_id(driver, dropdown)
    click(driver, dropdown)
    xpath = f"//*[@role='option'][contains(normalize-space(.), '{label}')]"
    option = wait(driver, lambda d: d.find_element(By.XPATH, xpath))
    option.click()


def go(driver: Any, page: str) -> None:
    """Open a page with the menu (the app keeps its state between pages)."""
    click(driver, wait_id(driver, f"nav-{page}"))
    wait(driver, lambda d: by_id(d, f"page-{page}").is_displayed())


def severe_logs(driver: Any) -> list[str]:
    """Severe messages of the browser console since the last call (errors, failed loads)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def resources(driver: Any) -> list[str]:
    """URLs of everything the page has loaded."""
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return [str(u) for u in urls]


# ---------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def page(served: dict[str, Any], browser: Any) -> Any:
    """The browser on the app's builder, once the page has validated its scenario."""
    browser.get(served["url"] + "/")
    wait_text(browser, "builder-status", "Valid scenario")
    severe_logs(browser)  # start the console log afresh
    return browser


def _no_traceback(driver: Any) -> None:
    source = driver.page_source
    assert "Traceback" not in source and 'File "' not in source


def test_every_page_loads_offline(page: Any, served: dict[str, Any], shoot: Shoot) -> None:
    offered = [m.PATH.strip("/") for m in pages()]
    assert offered[:4] == list(PAGES[:4])
    for name in offered:
        page.get(f"{served['url']}/{name}")
        wait(page, lambda d, n=name: by_id(d, f"page-{n}").is_displayed())
        assert "active" in (by_id(page, f"nav-{name}").get_attribute("class") or "")
        assert not by_id(page, "app-error").is_displayed()
        shoot(page, f"page-{name}")
    # the map's base map is the twin's own network, drawn without tiles
    page.get(f"{served['url']}/map")
    wait(page, lambda d: "arterial roads" in text_of(d, "map-graph"), timeout=60)
    external = [u for u in resources(page) if not u.startswith(served["url"])]
    assert external == [], f"the app fetched from outside: {external}"
    logs = severe_logs(page)
    assert logs == [], "\n".join(logs)
    page.get(f"{served['url']}/no-such-page")
    wait(page, lambda d: by_id(d, "page-not-found").is_displayed())
    page.get(f"{served['url']}/builder")
    wait_text(page, "builder-status", "Valid scenario")


def test_bad_input_is_marked_next_to_its_field(page: Any, shoot: Shoot, tmp_path: Path) -> None:
    set_field(page, "horizon", "2h")
    set_field(page, "cases.daily_total", "-3")
    message = wait(page, lambda d: field_error(d, "cases.daily_total"))
    assert message == "Input should be greater than 0 (got -3)"
    # the CLI says the same about the same value in a file
    raw = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    raw["cases"]["daily_total"] = -3
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert f"cases.daily_total: {message}" in str(err.value)

    set_field(page, "crews.count", "lots")
    wait(page, lambda d: "valid integer" in field_error(d, "crews.count"))
    wait_text(page, "builder-status", "2 problems to fix")
    assert field_value(page, "horizon") == "2h"  # nothing typed elsewhere is lost
    assert field_value(page, "cases.daily_total") == "-3"
    assert "invalid" in (page.find_element("css selector", ".field.invalid").get_attribute("class"))
    click(page, by_id(page, "builder-run"))
    wait_text(page, "builder-job-text", "Not run: fix the marked fields first")
    shoot(page, "builder-invalid")
    _no_traceback(page)
    set_field(page, "crews.count", "150")
    wait(page, lambda d: field_error(d, "crews.count") == "")
    wait_text(page, "builder-status", "1 problem to fix")


def test_a_short_run_from_the_builder_fills_the_kpi_cards(
    page: Any, served: dict[str, Any], shoot: Shoot
) -> None:
    for path, value in SHORT.items():
        set_field(page, path, value)
    wait_text(page, "builder-status", "Valid scenario · 3 field(s) changed")
    click(page, by_id(page, "builder-run"))
    wait_text(page, "builder-job-text", "Finished", timeout=90)
    card = wait_id(page, "kpi-card-cases_reported")
    job = served["ctx"].runner.finished_runs()[-1]
    assert job.scenario.horizon == 7200.0 and job.scenario.cases.daily_total == 2400
    reported = int(job.result.kpi("cases_reported"))
    assert card.text.splitlines()[0] == f"{reported:,}"
    assert "100%" in (by_id(page, "builder-progress-bar").get_attribute("style") or "")
    shoot(page, "builder-run-finished")
    go(page, "results")
    cards = wait(page, lambda d: d.find_element("css selector", "#results-kpis #kpi-card-"
                                                "cases_reported"))  # fmt: skip
    assert cards.text.splitlines()[0] == f"{reported:,}"
    assert job.label in text_of(page, "results-run")
    wait(page, lambda d: "open cases [cases]" in text_of(d, "results-body"))
    shoot(page, "results")


def test_the_map_replays_the_run(page: Any, shoot: Shoot) -> None:
    go(page, "map")
    wait(page, lambda d: "#1" in text_of(d, "map-run"))
    wait(page, lambda d: "crews working" in text_of(d, "map-graph"), timeout=60)
    first = wait(page, lambda d: text_of(d, "map-time-label"))
    assert "cases waiting" in text_of(page, "map-graph")
    shoot(page, "map-run")
    click(page, by_id(page, "map-play"))
    wait(page, lambda d: text_of(d, "map-time-label") not in ("", first), timeout=15)
    click(page, by_id(page, "map-play"))  # pause
    wait(page, lambda d: "Play" in text_of(d, "map-play"))
    assert severe_logs(page) == []


def test_two_runs_side_by_side_with_intervals(
    page: Any, served: dict[str, Any], shoot: Shoot
) -> None:
    go(page, "builder")
    choose(page, control(page, "dispatch.policy"), "fixed_zones")
    wait_text(page, "builder-status", "4 field(s) changed")
    click(page, by_id(page, "builder-run"))
    wait_text(page, "builder-job-text", "#2")
    wait_text(page, "builder-job-text", "Finished", timeout=90)
    go(page, "compare")
    wait(page, lambda d: "#2" in text_of(d, "compare-b") and "#1" in text_of(d, "compare-a"))
    table = wait_text(page, "compare-side-table", "time_to_arrive_mean")
    runs = {j.id: j.result for j in served["ctx"].runner.finished_runs()}
    a, b = runs["run-1"], runs["run-2"]
    diff = b.kpi("time_to_arrive_mean") - a.kpi("time_to_arrive_mean")
    assert f"{fmt_number(diff, 'min', signed=True)} min" in table
    shoot(page, "compare-side-by-side")
    n = by_id(page, "compare-n")
    click(page, n)
    n.send_keys(Keys.CONTROL, "a")
    n.send_keys("2")
    click(page, by_id(page, "compare-run"))
    ci = wait_text(page, "compare-ci-table", "B − A paired [95% CI]", timeout=90)
    assert "share_arrive_within_target" in ci
    summary = served["ctx"].runner.jobs("compare")[-1].summary
    assert summary is not None and set(summary["policy"]) == {"A #1", "B #2"}
    click(page, by_id(page, "compare-ci"))
    shoot(page, "compare-intervals")
    _no_traceback(page)


def test_a_failed_run_says_why(page: Any, shoot: Shoot) -> None:
    go(page, "builder")
    set_field(page, "network.source", "no_such_city.osm")
    wait_text(page, "builder-status", "Valid scenario")  # a path is only checked on running
    click(page, by_id(page, "builder-run"))
    error = wait_text(page, "builder-run-error", "The run failed", timeout=60)
    assert "no_such_city.osm: no such file" in error
    assert "Traceback" not in error
    shoot(page, "builder-run-failed")
    _no_traceback(page)
    set_field(page, "network.source", "default")
    wait_text(page, "builder-status", "Valid scenario")


def test_save_as_a_new_yaml(page: Any, served: dict[str, Any]) -> None:
    name = by_id(page, "builder-save-name")
    click(page, name)
    name.send_keys("../outside")
    click(page, by_id(page, "builder-save"))
    wait_text(page, "builder-save-message", "file name '../outside'")
    name.send_keys(Keys.CONTROL, "a")
    name.send_keys("short_fixed_zones")
    click(page, by_id(page, "builder-save"))
    wait_text(page, "builder-save-message", "Saved")
    saved = served["save_dir"] / "short_fixed_zones.yaml"
    scenario = load_scenario(saved)  # what `twin run` reads back
    assert scenario.dispatch.policy == "fixed_zones" and scenario.horizon == 7200.0
    assert scenario.cases.daily_total == 2400
    click(page, by_id(page, "builder-save"))  # never overwrite
    wait_text(page, "builder-save-message", "already exists")
    choose(page, "builder-file", "short_fixed_zones.yaml")  # offered in the menu at once
    wait(page, lambda d: "fixed_zones" in control(d, "dispatch.policy").text)


def test_a_storm_shows_water_and_closed_roads(page: Any, shoot: Shoot) -> None:
    choose(page, "builder-file", "gongshu_rainstorm.yaml")
    # The form of the file before has the same rain start: wait for this file's form.
    wait(page, lambda d: field_value(d, "name") == "gongshu_rainstorm")
    wait(page, lambda d: field_value(d, "rain.start") == "8h")
    set_field(page, "horizon", "2h")
    set_field(page, "start", "2026-06-01T07:00:00")
    set_field(page, "rain.start", "15min")
    wait_text(page, "builder-status", "3 field(s) changed")
    click(page, by_id(page, "builder-run"))
    wait(page, lambda d: by_id(d, "kpi-card-points_closed"), timeout=90)
    go(page, "map")
    wait(page, lambda d: "gongshu_rainstorm" in text_of(d, "map-run"))
    wait(page, lambda d: "water depth [m]" in text_of(d, "map-graph"), timeout=60)
    wait(page, lambda d: "roads closed" in text_of(d, "map-graph"))
    shoot(page, "map-storm")
    assert severe_logs(page) == []


def test_forecasts_and_alerts_of_the_storm(page: Any, shoot: Shoot) -> None:
    assert "forecasts" in [m.PATH.strip("/") for m in pages()]
    go(page, "forecasts")
    wait(page, lambda d: "gongshu_rainstorm" in text_of(d, "forecast-run"))
    choose(page, "forecast-model", "rain-aware linear")
    click(page, by_id(page, "forecast-build"))
    wait_text(page, "forecast-job-text", "Replayed", timeout=90)
    wait(page, lambda d: "forecast median" in text_of(d, "forecast-point-graph"))
    wait(
        page, lambda d: "underpass" in text_of(d, "forecast-point") or text_of(d, "forecast-point")
    )
    table = wait_text(page, "forecast-table", "Alert")
    assert "impeded" in table or "closed" in table
    shoot(page, "forecasts")
    assert severe_logs(page) == []


def test_sensor_placement_budget(page: Any, shoot: Shoot) -> None:
    assert "placement" in [m.PATH.strip("/") for m in pages()]
    go(page, "placement")
    choose(page, "placement-storms", "50 per ensemble")
    click(page, by_id(page, "placement-build"))
    wait_text(page, "placement-job-text", "Built", timeout=120)
    card = wait(page, lambda d: d.find_element(By.ID, "kpi-card-placement_gauges"))
    assert card.text.splitlines()[0] == "5"  # the default budget
    wait(page, lambda d: "gauges (5)" in text_of(d, "placement-map"))
    assert "onsets of ponding detected" in text_of(page, "placement-curve")
    handle = page.find_element(By.CSS_SELECTOR, "#placement-budget [role='slider']")
    click(page, handle)
    for _ in range(3):
        handle.send_keys(Keys.ARROW_RIGHT)
    wait(page, lambda d: "gauges (8)" in text_of(d, "placement-map"))
    wait(page, lambda d: d.find_element(By.ID, "kpi-card-placement_gauges").text.startswith("8"))
    shoot(page, "placement")
    assert severe_logs(page) == []
