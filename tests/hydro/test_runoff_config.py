"""``hydro.runoff``: the optional SWMM runoff features, set from a scenario."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from tests.hydro.test_reservoir import block_storm, random_params
from twin.errors import ScenarioError
from twin.hydro.reservoir import simulate_ponding
from twin.hydro.truth import true_ponding
from twin.hydro.waterlogging import runoff_options
from twin.scenario import HydroConfig
from twin.scenario.hydro import TruthConfig


def test_default_is_no_option_at_all() -> None:
    assert runoff_options(HydroConfig()) is None  # the run is the default model, bit for bit


def test_options_from_the_scenario() -> None:
    hy = HydroConfig.model_validate({"runoff": {
        "route_to_pervious": 0.5, "dry_time": "12h",
        "green_ampt": {"suction": 0.11, "conductivity": 10.9, "deficit": 0.3},
    }})  # fmt: skip
    opts = runoff_options(hy)
    assert opts is not None
    route, regen = opts.arrays(2)
    assert route.tolist() == [0.5, 0.5]
    assert regen[0] == pytest.approx(-math.log(0.02) / 43200.0)
    assert opts.green_ampt is not None
    ga = opts.green_ampt.arrays(1)
    assert ga[1, 0] == pytest.approx(10.9 / 3.6e6)  # mm/h → m/s
    assert np.isfinite(ga).all()


def test_bad_runoff_options_are_refused() -> None:
    with pytest.raises(ValidationError, match="green_ampt needs exactly suction"):
        HydroConfig.model_validate({"runoff": {"green_ampt": {"suction": 0.1}}})
    with pytest.raises(ValidationError, match="route_to_pervious"):
        HydroConfig.model_validate({"runoff": {"route_to_pervious": 2}})


def test_spill_routing_from_the_scenario() -> None:
    ids = ["lp-a", "lp-b", "lp-c"]
    hy = HydroConfig.model_validate({"runoff": {"spill_to": {"lp-a": "lp-c", "lp-b": "away"}}})
    opts = runoff_options(hy, ids)
    assert opts is not None and np.asarray(opts.spill_to).tolist() == [2, -1, -1]
    with pytest.raises(ScenarioError, match=r"'lp-x' is not a low point.*lp-a"):
        runoff_options(HydroConfig.model_validate({"runoff": {"spill_to": {"lp-a": "lp-x"}}}), ids)
    loop = HydroConfig.model_validate({"runoff": {"spill_to": {"lp-a": "lp-b", "lp-b": "lp-a"}}})
    with pytest.raises(ScenarioError, match="in a loop"):
        runoff_options(loop, ids)


def test_runoff_options_apply_to_the_real_drains() -> None:
    """With ``hydro.truth`` the options act on the real drains; a run split at a blockage
    continues from the full state (Green–Ampt's rows too): with a blockage that takes
    nothing away, the split run is the unsplit one."""
    hy = HydroConfig.model_validate({"runoff": {
        "route_to_pervious": 0.6, "dry_time": "6h",
        "green_ampt": {"suction": 0.11, "conductivity": 10.9, "deficit": 0.3},
    }, "truth": {"blockage_share": 1.0, "blockage_factor": 1.0}})  # fmt: skip
    opts = runoff_options(hy)
    assert opts is not None
    params = random_params(4, seed=3)
    rain = np.repeat(block_storm(peak=60.0)[:, None], 4, axis=1)
    truth = TruthConfig(blockage_share=1.0, blockage_factor=1.0, blockage_within=3600.0)
    split = true_ponding(params, rain, 60.0, truth, np.random.default_rng(0), options=opts)
    whole = simulate_ponding(params, rain, 60.0, options=opts)
    np.testing.assert_allclose(split.water_depth, whole.water_depth, rtol=0, atol=1e-12)
    plain = true_ponding(params, rain, 60.0, truth, np.random.default_rng(0))
    assert not np.allclose(plain.water_depth, split.water_depth)  # the options do act
