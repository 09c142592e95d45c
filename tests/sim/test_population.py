"""The mesa population is built on request and reports what the arrays record."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tests.run.reference import SCENARIOS
from twin.run.runner import prepare
from twin.scenario import load_scenario
from twin.sim.fleet import SERIES, ModelSeries, Status


@pytest.mark.slow
def test_mesa_population_views_the_fleet() -> None:
    scenario = load_scenario(SCENARIOS / "gongshu_baseline_day.yaml")
    sim = prepare(scenario.with_updates(horizon=3 * 3600)).run()
    assert sim.series.count == sim.recorded
    model = sim.model  # built now, on request
    assert "mesa" in sys.modules
    crews = model.crews()
    assert len(crews) == len(sim.fleet)
    first = next(iter(crews))
    assert first.status == Status(int(sim.fleet.status[first.index]))
    model.collect()
    reported = model.datacollector.get_model_vars_dataframe()
    assert list(reported.columns) == list(SERIES)
    now = ModelSeries(1)
    now.collect(sim, sim.fleet)
    np.testing.assert_array_equal(reported.iloc[-1].to_numpy(dtype=np.int64), now.values[0])
