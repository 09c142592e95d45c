"""Speed of the app as a planner feels it: first page after ``twin app``, replay frames/s.

In one run:

(a) ``twin app`` is launched as a fresh process (an empty run library), several times;
    the wall time from launch until its first page answers HTTP 200, and until that
    page is painted in headless Chromium (the first animation frame with the builder
    shown, timed in the page from the navigation) and its scenario validated (the
    first answer of a callback to the server, timed through WebDriver), the browser
    started beforehand;
(b) ``twin --help`` as a fresh process, the same number of times, round-robin with (a),
    so the ratio (a) ÷ (b) is measured under the same load;
(c) the map's replay of a full day of a shipped scenario (``gongshu_rainstorm.yaml``,
    24 h at 5-min records) played at the fastest speed in Chromium: frames drawn per
    second (``plotly_afterplot`` events of the map) and record times advanced per
    second, over a few seconds of *Play*; once with the frames in the browser (the
    clientside replay) and once with the server's round trip per frame (the path kept
    for runs too large to send, forced with ``max_replay_bytes = 0``).

The browser is Debian's ``chromium`` with ``chromedriver`` (flags as in
``tests/app/conftest.py``). Run ``python benchmarks/bench_app.py --write`` to
re-measure and record the section in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _report import markdown_table, write_section

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "gongshu_rainstorm.yaml"
FIRST_PAGE_TARGET_S = 5.0
FPS_TARGET = 10.0
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
#: In every page, from its start: the time [ms since navigation] of the first frame
#: painted with the builder shown (the animation frame after ``#page-builder`` is shown;
#: a poll through WebDriver waits for the page's busy main thread and would come later).
SHOWN_JS = """
(function () {
  var done = false;
  function check() {
    var e = document.getElementById('page-builder');
    if (done || !e || e.hidden) { return; }
    done = true;
    requestAnimationFrame(function () { window.__twinShownMs = performance.now(); });
  }
  new MutationObserver(check).observe(document, {subtree: true, childList: true,
                                                  attributes: true});
})();
"""
#: Counts the map's draws (``plotly_afterplot``) from now on; the replay in the browser
#: counts its own (``twinReplay.drawn``: ``Plotly.animate`` does not fire afterplot).
COUNT_JS = """
const gd = document.querySelector('#map-graph .js-plotly-plot');
window.__twinDraws = 0;
if (!gd.__twinCounted) {
  gd.__twinCounted = true;
  gd.on('plotly_afterplot', function () { window.__twinDraws += 1; });
}
"""
SAMPLE_JS = """
const k = document.querySelector('#map-time [role="slider"]');
const T = window.twinReplay;
if (arguments[0]) { return [performance.now(), T.drawn, T.want]; }
return [performance.now(), window.__twinDraws || 0,
        k ? Number(k.getAttribute('aria-valuenow')) : null];
"""

#: Draws 40 record times one after the other as Play draws them; [ms] per frame.
BACK_TO_BACK_JS = """
const done = arguments[arguments.length - 1];
const T = window.twinReplay;
const n = 40, from = Math.max(0, Math.min(100, T.payload.n - n - 1));
T.playing = true;
let k = 0;
const t0 = performance.now();
function step() {
  if (k >= n) { const ms = (performance.now() - t0) / n; T.stop(); done(ms); return; }
  T.want = from + k; T.apply();
  const wait = function () {
    if (T.shown === from + k && !T.busy) { k++; step(); } else { setTimeout(wait, 1); }
  };
  wait();
}
step();
"""


def _twin() -> list[str]:
    """The installed ``twin`` entry point, or ``python -m twin.cli`` without one."""
    script = shutil.which("twin")
    return [script] if script else [sys.executable, "-m", "twin.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if chromium is None or not Path(driver).exists():
        raise SystemExit("bench_app needs Debian's chromium and chromium-driver on PATH")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    browser.set_page_load_timeout(120)
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SHOWN_JS})
    return browser


def _until(condition: Any, timeout: float = 120.0, poll: float = 0.01) -> Any:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        try:
            found = condition()
        except Exception:  # not there yet (no element, no page)
            found = None
        if found:
            return found
        time.sleep(poll)
    raise TimeoutError("condition not met in time")


def _launch(browser: Any, env: dict[str, str]) -> tuple[float, float, float]:
    """One ``twin app`` launch: seconds to HTTP 200, to the page shown, to it validated."""
    from selenium.webdriver.common.by import By

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory(prefix="bench-app-runs-") as runs:
        argv = [*_twin(), "app", "--port", str(port), "--runs", runs]
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:

            def ok() -> bool:
                with urllib.request.urlopen(url, timeout=2) as r:
                    return bool(r.status == 200)

            _until(ok)
            http = time.perf_counter() - t0
            navigate = time.perf_counter() - t0
            browser.get(url)
            shown_ms = _until(lambda: browser.execute_script("return window.__twinShownMs;"))
            shown = navigate + float(shown_ms) / 1000.0
            _until(lambda: "Valid scenario" in browser.find_element(By.ID, "builder-status").text)
            ready = time.perf_counter() - t0
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        browser.get("about:blank")
    return http, shown, ready


def _help(env: dict[str, str]) -> float:
    t = time.perf_counter()
    r = subprocess.run([*_twin(), "--help"], stdout=subprocess.DEVNULL, env=env, check=False)
    if r.returncode != 0:
        raise SystemExit("twin --help failed")
    return time.perf_counter() - t


def _choose(browser: Any, dropdown: str, label: str) -> None:
    from selenium.webdriver.common.by import By

    element = _until(lambda: browser.find_element(By.ID, dropdown))
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()
    xpath = f"//*[@role='option'][contains(normalize-space(.), '{label}')]"
    _until(lambda: browser.find_element(By.XPATH, xpath)).click()


def _play(browser: Any, url: str, job: Any, seconds: float, *, client: bool) -> dict[str, float]:
    """Frames drawn and record times advanced per second over ``seconds`` of Play at 8×."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(url + "/map")
    _until(lambda: "#" in browser.find_element(By.ID, "map-run").text)
    if job.label not in browser.find_element(By.ID, "map-run").text:
        _choose(browser, "map-run", job.label)
    _until(lambda: "water depth [m]" in browser.find_element(By.ID, "map-graph").text)
    if client:
        _until(
            lambda: browser.execute_script(
                "const T = window.twinReplay;"
                "return T && T.payload && T.payload.token.startsWith(arguments[0])"
                " && T.shown !== null;",
                f"{job.id}|",
            )
        )
    else:
        time.sleep(1.0)  # the figure drawn; no replay in the page
        assert not browser.execute_script("return !!(window.twinReplay && twinReplay.payload)")
    _choose(browser, "map-speed", "8× speed")
    handle = browser.find_element(By.CSS_SELECTOR, "#map-time [role='slider']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", handle)
    handle.click()
    handle.send_keys(Keys.HOME)
    _until(lambda: browser.execute_script(SAMPLE_JS, False)[2] == 0)
    time.sleep(1.0)
    browser.execute_script(COUNT_JS)
    play = browser.find_element(By.ID, "map-play")
    play.click()
    time.sleep(0.5)  # the first ticks
    t0, d0, k0 = browser.execute_script(SAMPLE_JS, client)
    time.sleep(seconds)
    t1, d1, k1 = browser.execute_script(SAMPLE_JS, client)
    play.click()
    span = (t1 - t0) / 1000.0
    out = {"fps": (d1 - d0) / span, "records": (k1 - k0) / span, "span": span}
    if client:  # the draws alone, back to back (no pacing): what the page can draw
        time.sleep(1.0)
        ms = browser.execute_async_script(BACK_TO_BACK_JS)
        out["back_to_back"] = 1000.0 / float(ms)
    return out


def _replay(seconds: float) -> tuple[dict[str, float], dict[str, float], int]:
    from dash_app import create_app
    from dash_app.cli import BackgroundServer
    from dash_app.replay_compact import MAX_REPLAY_BYTES
    from twin.scenario import load_scenario

    app = create_app()
    ctx = app.twin_context  # type: ignore[attr-defined]
    server = BackgroundServer(app.server)
    browser = _browser()
    try:
        job = ctx.runner.wait(ctx.runner.submit_run(load_scenario(SCENARIO)).id, timeout=1800)
        assert job.status == "done", job.error
        n = int(job.result.dataset.sizes["time"])
        url = f"http://127.0.0.1:{server.port}"
        client = _play(browser, url, job, seconds, client=True)
        ctx.max_replay_bytes = 0
        served = _play(browser, url, job, seconds, client=False)
        ctx.max_replay_bytes = MAX_REPLAY_BYTES
    finally:
        browser.quit()
        server.stop()
        ctx.runner.shutdown()
    return client, served, n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="launches of twin app")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds of Play")
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    parser.add_argument("--replay-only", action="store_true", help="only (c), not recorded")
    args = parser.parse_args()
    if args.replay_only:
        client, served, n = _replay(args.seconds)
        print(f"{n} record times; clientside {client}; server {served}")
        return 0

    env = {**os.environ, "COLUMNS": "120"}
    browser = _browser()
    try:
        _launch(browser, env)  # warm-up: bytecode caches, file cache, the network cache
        _help(env)
        launches: list[tuple[float, float, float]] = []
        helps: list[float] = []
        for _ in range(args.repeat):
            launches.append(_launch(browser, env))
            helps.append(_help(env))
    finally:
        browser.quit()
    client, served, n = _replay(args.seconds)
    from dash_app.pages.map import client_tick_ms

    help_s = statistics.median(helps)
    http, shown, ready = (statistics.median(x) for x in zip(*launches, strict=True))
    rows = [
        ["`twin --help`", f"{help_s:.2f}", f"{min(helps):.2f}", "1.0×"],
        ["`twin app` → first page HTTP 200", f"{http:.2f}",
         f"{min(x[0] for x in launches):.2f}", f"{http / help_s:.1f}×"],
        ["`twin app` → first page shown in Chromium", f"{shown:.2f}",
         f"{min(x[1] for x in launches):.2f}", f"{shown / help_s:.1f}×"],
        ["`twin app` → scenario validated in Chromium", f"{ready:.2f}",
         f"{min(x[2] for x in launches):.2f}", f"{ready / help_s:.1f}×"],
    ]  # fmt: skip
    table1 = markdown_table(["from launch to", "median [s]", "fastest [s]", "÷ twin --help"], rows)
    table2 = markdown_table(
        ["replay at 8×", "frames drawn per s", "record times per s"],
        [
            ["frames in the browser (clientside)", f"{client['fps']:.1f}",
             f"{client['records']:.1f}"],
            ["frames in the browser, drawn back to back (no pacing)",
             f"{client['back_to_back']:.1f}", "–"],
            ["server round trip per frame (runs too large to send)", f"{served['fps']:.1f}",
             f"{served['records']:.1f}"],
        ],
    )  # fmt: skip
    note = (
        f"(a), (b): {args.repeat} launches each, round-robin, after a warm-up; empty run "
        f"library; the browser started beforehand. (c): `{SCENARIO.name}`, {n} record "
        f"times, {args.seconds:g} s of Play at 8× each way (8× asks for "
        f"{1000 / client_tick_ms(8.0):.1f} record times per s). Ratio of the first page to "
        f"`twin --help`: {http / help_s:.1f}× (HTTP 200), {shown / help_s:.1f}× (shown)."
    )
    verdicts = [
        f"target app first page at most {FIRST_PAGE_TARGET_S:g} s after launch: "
        + ("met" if shown <= FIRST_PAGE_TARGET_S else "not met"),
        f"target replay at least {FPS_TARGET:g} frames/s in the browser: "
        + ("met" if client["fps"] >= FPS_TARGET else "not met"),
    ]
    print(table1)
    print()
    print(table2)
    print(note)
    print("\n".join(verdicts))
    if args.write:
        write_section(
            "bench_app",
            "## The app as a planner feels it: first page, replay frames/s\n\n"
            + f"{table1}\n\n{table2}\n\n{note}\n\n"
            + "\n\n".join(verdicts),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
