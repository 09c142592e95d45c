"""Fixtures of the app tests: one app served on a free local port, one headless Chromium.

Browser tests drive the Debian ``chromium`` through ``chromedriver`` (both from apt; the
driver's path is always given, so Selenium never downloads anything). Without them the
browser tests are skipped, saying so, except with ``TWIN_REQUIRE_BROWSER=1`` (set by
``.ci/run``), where they fail. Screenshots go to ``tests/app/artifacts/``
(git-ignored), or to ``$TWIN_APP_ARTIFACTS`` when set.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(os.environ.get("TWIN_APP_ARTIFACTS", Path(__file__).parent / "artifacts"))
CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def _browser_paths() -> tuple[str | None, str | None]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    for path in ("/usr/bin/chromium", "/usr/lib/chromium/chromium"):
        if chromium is None and Path(path).exists():
            chromium = path
    if driver is None and Path("/usr/bin/chromedriver").exists():
        driver = "/usr/bin/chromedriver"
    return chromium, driver


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app, served in a thread on 127.0.0.1 at a free port; stopped after the module.

    Served as ``twin app`` serves it: by waitress (:class:`dash_app.cli.BackgroundServer`),
    not Dash's development server. Saved scenarios go to a temporary folder, never
    into the repository.
    """
    from dash_app import create_app
    from dash_app.cli import BackgroundServer

    save_dir = tmp_path_factory.mktemp("saved-scenarios")
    app = create_app(save_dir=save_dir)
    server = BackgroundServer(app.server)
    ctx = app.twin_context  # type: ignore[attr-defined]
    try:
        yield {
            "url": f"http://127.0.0.1:{server.port}",
            "app": app,
            "ctx": ctx,
            "save_dir": save_dir,
        }
    finally:
        server.stop()
        ctx.runner.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium driven by Selenium (skipped when Chromium is not installed)."""
    chromium, driver_path = _browser_paths()
    if chromium is None or driver_path is None:
        why = (
            "browser tests need Debian's chromium and chromium-driver "
            "(apt-get install chromium chromium-driver); not found on PATH"
        )
        if os.environ.get("TWIN_REQUIRE_BROWSER") == "1":
            pytest.fail(why + " (TWIN_REQUIRE_BROWSER=1: CI must run them)")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def shoot() -> Callable[[Any, str], Path]:
    """Save a screenshot of the browser as ``<artifacts>/<name>.png``; return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(driver: Any, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        driver.save_screenshot(str(path))
        return path

    return save


#: The shipped scenarios; a two-hour slice of the rainstorm with the rain early (water deep
#: enough to close roads) for the map's browser tests.
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
STORM = {"horizon": "2h", "start": "2026-06-01T07:00:00", "rain.start": "15min"}


@pytest.fixture(scope="module")
def storm_run(served: dict[str, Any]) -> Any:
    """A short storm run, finished, held by the app's runner (one per test module)."""
    from twin.scenario import load_scenario

    runner = served["ctx"].runner
    scenario = load_scenario(SCENARIOS / "gongshu_rainstorm.yaml").with_updates(**STORM)
    job = runner.wait(runner.submit_run(scenario).id, timeout=600)
    assert job.status == "done", job.error
    return job
