"""One network for every model: each shipped scenario run on a saved copy of Gongshu
(what ``--network DIR`` gives) reads everything from that folder, its layers included,
and gives the same KPIs as on the bundled network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin.network import default_network, save_network
from twin.run.runner import run_scenario
from twin.scenario import load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_network(default_network(), tmp_path_factory.mktemp("gongshu") / "net")


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_on_a_saved_network(path: Path, saved: Path) -> None:
    s = load_scenario(path)
    s = s.with_updates(horizon=min(s.horizon, 2 * 3600))
    on_copy = run_scenario(s.with_updates(**{"network.source": str(saved)}), base_dir=path.parent)
    bundled = run_scenario(s, base_dir=path.parent)
    a = bundled.kpis.set_index("kpi")["value"]
    b = on_copy.kpis.set_index("kpi")["value"]
    assert list(a.index) == list(b.index)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
