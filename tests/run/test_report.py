"""The HTML run summary: self-contained, offline, complete and escaped."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from plotly.offline import get_plotlyjs

from twin.network.road_network import RoadNetwork
from twin.run.folder import write_run
from twin.run.report import clipped_histogram, write_summary
from twin.run.results import RunResult
from twin.run.runner import load_scenario_network, run_scenario
from twin.scenario import Scenario, load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "gongshu_baseline_day.yaml"
#: Text from the licence header at the top of the plotly.js bundle; once per copy.
PLOTLY_MARKER = "plotly.js v"
#: A <script> element that loads its code from elsewhere.
REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?\s*(https?:)?//", re.IGNORECASE)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(BASELINE).with_updates(horizon=6 * 3600)


@pytest.fixture(scope="module")
def result(scenario: Scenario) -> RunResult:
    return run_scenario(scenario)


@pytest.fixture(scope="module")
def network(result: RunResult) -> RoadNetwork:
    return load_scenario_network(result.scenario.network)


@pytest.fixture(scope="module")
def page(result: RunResult, network: RoadNetwork, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = write_summary(
        result, tmp_path_factory.mktemp("report") / "summary.html", network=network
    )
    return path.read_text(encoding="utf-8")


def test_marker_is_in_plotly_js_once() -> None:
    assert get_plotlyjs().count(PLOTLY_MARKER) == 1


def test_writes_the_file_and_returns_its_path(result: RunResult, tmp_path: Path) -> None:
    out = write_summary(result, tmp_path / "nested" / "summary.html")
    assert out == tmp_path / "nested" / "summary.html"
    assert out.is_file()
    assert out.stat().st_size > 1_000_000  # plotly.js alone is several MB


def test_names_the_scenario_and_its_facts(page: str, result: RunResult) -> None:
    assert f"<h1>{result.scenario.name}</h1>" in page
    assert f"<title>{result.scenario.name}" in page
    assert "2026-06-01 00:00 (Asia/Shanghai, UTC+08:00)" in page  # start in local time
    assert "6 h" in page  # horizon
    assert result.scenario.dispatch.policy in page
    assert "real-time factor" in page


def test_every_kpi_is_in_the_page(page: str, result: RunResult) -> None:
    for name in result.kpis["kpi"]:
        assert f"<code>{name}</code>" in page, name


def test_targets_come_from_the_scenario(page: str) -> None:
    for text in ("dispatch within 1 min", "arrive within 5 min", "resolve within 20 min"):
        assert text in page


def test_plotly_js_is_embedded_exactly_once(page: str) -> None:
    assert page.count(PLOTLY_MARKER) == 1
    assert page.count("Plotly.newPlot(") == 5  # series, histograms, hourly, categories, map


def test_loads_nothing_from_the_internet(page: str) -> None:
    assert not REMOTE_SCRIPT.search(page)
    assert "<link" not in page
    # plotly.js itself names URLs (e.g. a topojson CDN it never uses here); nothing else may.
    assert "http" not in page.replace(get_plotlyjs(), "")


def test_plots_use_local_time(page: str) -> None:
    # The run starts at 00:00 Asia/Shanghai, which is 16:00 UTC the day before. (Plotly
    # writes datetimes with or without microseconds, depending on its JSON engine.)
    assert '"2026-06-01T00:00:00' in page
    assert "2026-05-31T16:00:00" not in page


def test_network_is_drawn_only_when_given(result: RunResult, page: str, tmp_path: Path) -> None:
    assert "arterial roads" in page and "collector roads" in page
    assert "local roads" not in page
    bare = write_summary(result, tmp_path / "bare.html").read_text(encoding="utf-8")
    assert "arterial roads" not in bare
    assert "Road network not drawn" in bare
    assert len(page) - len(bare) < 1_000_000  # main roads only: a few hundred KB


def test_html_special_characters_are_escaped(result: RunResult, tmp_path: Path) -> None:
    nasty = result.scenario.with_updates(
        name='day <b>&"one"',
        description='<script>alert("x")</script> & <i>more</i>',
    )
    text = write_summary(dataclasses.replace(result, scenario=nasty), tmp_path / "s.html")
    page = text.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;i&gt;more&lt;/i&gt;" in page
    assert '<script>alert("x")' not in page
    assert "<i>more</i>" not in page
    assert "day &lt;b&gt;&amp;&quot;one&quot;" in page
    assert 'day <b>&"one"' not in page


def test_without_timing(result: RunResult, tmp_path: Path) -> None:
    page = write_summary(dataclasses.replace(result, timing={}), tmp_path / "t.html").read_text(
        encoding="utf-8"
    )
    assert "wall time" not in page
    assert page.count(PLOTLY_MARKER) == 1


def test_run_without_cases(scenario: Scenario, tmp_path: Path) -> None:
    empty = run_scenario(scenario.with_updates(**{"horizon": 3600, "cases.enabled": False}))
    page = write_summary(empty, tmp_path / "e.html").read_text(encoding="utf-8")
    assert "No cases were reported" in page
    assert page.count(PLOTLY_MARKER) == 1
    assert page.count("Plotly.newPlot(") == 1  # only the time series
    for name in empty.kpis["kpi"]:
        assert f"<code>{name}</code>" in page


def test_result_write_includes_the_summary(result: RunResult, tmp_path: Path) -> None:
    paths = write_run(result, tmp_path / "run")
    assert paths["summary"] == tmp_path / "run" / "summary.html"
    assert paths["summary"].is_file()


def test_clipped_histogram_counts_overflow_in_the_last_bin() -> None:
    edges, counts = clipped_histogram(np.array([0.0, 0.5, 1.5, 2.5, 3.0, 100.0]), upper=3.0, bins=3)
    assert_array_equal(edges, [0.0, 1.0, 2.0, 3.0])
    assert_array_equal(counts, [2, 1, 3])
    assert counts.sum() == 6
