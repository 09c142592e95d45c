"""Every scenario shipped in scenarios/ loads and runs a short horizon."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.run.runner import run_scenario
from twin.scenario import load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_runs_a_short_horizon(path: Path) -> None:
    s = load_scenario(path)
    r = run_scenario(s.with_updates(horizon=min(s.horizon, 2 * 3600)), base_dir=path.parent)
    assert r.kpi("cases_reported") > 0
    assert r.dataset.sizes["time"] >= 2
    assert r.dataset.sizes["agent"] == s.crews.count
