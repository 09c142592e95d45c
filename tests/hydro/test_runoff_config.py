"""``hydro.runoff``: the optional SWMM runoff features, set from a scenario."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from twin.hydro.waterlogging import runoff_options
from twin.scenario import HydroConfig


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
    with pytest.raises(ValidationError, match=r"cannot yet be combined with hydro\.truth"):
        HydroConfig.model_validate({"runoff": {"dry_time": "1d"}, "truth": {"capacity_sd": 0.3}})
