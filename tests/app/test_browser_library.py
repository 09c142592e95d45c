"""The run library in real headless Chromium: a run survives a server restart, downloads.

This module serves its own app twice on one run library (see ``conftest.py`` for the
browser): the first server runs a scenario, is stopped, and a second one started on the
same folder shows the run again; its files download as the CLI writes them.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from dash_app import create_app
from dash_app.cli import BackgroundServer
from dash_app.library import RunLibrary
from tests.app.test_browser import Shoot, click, severe_logs, text_of, wait, wait_text
from twin.run.folder import write_run
from twin.scenario import load_scenario

pytestmark = pytest.mark.browser

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHORT = {"horizon": "1h", "start": "2026-06-01T08:00:00", "cases.daily_total": 2400}


class Served:
    """One app served by waitress in a thread, on a given run library."""

    def __init__(self, runs_dir: Path) -> None:
        self.app = create_app(runs_dir=runs_dir)
        self.ctx = self.app.twin_context  # type: ignore[attr-defined]
        self.server = BackgroundServer(self.app.server)
        self.url = f"http://127.0.0.1:{self.server.port}"

    def stop(self) -> None:
        self.server.stop()
        self.ctx.runner.shutdown()


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("run-library")


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as reply:
        return bytes(reply.read())


def test_a_run_survives_a_server_restart_and_downloads_as_the_cli_writes(
    browser: Any, runs_dir: Path, shoot: Shoot, tmp_path: Path
) -> None:
    first = Served(runs_dir)
    try:
        runner = first.ctx.runner
        scenario = load_scenario(SCENARIOS / "gongshu_baseline_day.yaml").with_updates(**SHORT)
        job = runner.wait(runner.submit_run(scenario).id, timeout=600)
        assert job.status == "done" and job.folder is not None
        reported = int(job.result.kpi("cases_reported"))
        label = job.label
    finally:
        first.stop()  # the server goes: every run in memory with it
    second = Served(runs_dir)
    try:
        browser.get(second.url + "/results")
        wait(browser, lambda d: label in text_of(d, "results-run"), timeout=120)
        card = wait(browser, lambda d: d.find_element(By.ID, "kpi-card-cases_reported"))
        assert card.text.splitlines()[0] == f"{reported:,}"
        files = wait_text(browser, "results-files", "kpis.csv")
        assert "run.nc" in files and "summary.html" in files and f"{job.id}.zip" in files
        link = browser.find_element(By.LINK_TEXT, "kpis.csv").get_attribute("href")
        downloaded = _get(str(link))
        # the file the CLI writes for the same result
        assert job.result is not None
        cli = write_run(job.result, tmp_path / "cli", report=False)
        assert downloaded == cli["kpis_csv"].read_bytes()
        zipped = browser.find_element(By.PARTIAL_LINK_TEXT, ".zip").get_attribute("href")
        assert _get(str(zipped))[:2] == b"PK"
        browser.execute_script("document.getElementById('results-files').scrollIntoView()")
        shoot(browser, "results-after-restart")
        # rename: in the menus at once, and in the library for the next start
        name = browser.find_element(By.ID, "results-name")
        click(browser, name)
        name.send_keys("Monday baseline")
        click(browser, browser.find_element(By.ID, "results-rename"))
        wait(browser, lambda d: "Monday baseline" in text_of(d, "results-run"))
        stored = {s.id: s for s in RunLibrary(runs_dir).stored()}
        assert stored[job.id].label == "Monday baseline"
        # delete (the page asks first: say yes)
        browser.execute_script("window.confirm = () => true;")
        click(browser, browser.find_element(By.CSS_SELECTOR, "#results-delete button"))
        wait_text(browser, "results-library-message", "Deleted")
        wait(browser, lambda d: "Monday baseline" not in text_of(d, "results-run"))
        assert not job.folder.exists() and RunLibrary(runs_dir).stored() == []
        assert severe_logs(browser) == []
    finally:
        second.stop()
