"""A ponding run continues from its state bit for bit (the basis of forecasting from now)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from tests.hydro.test_reservoir import block_storm, random_params
from twin.hydro.reservoir import PondState, simulate_ponding


def test_a_run_split_in_two_equals_the_whole_run() -> None:
    params = random_params(7, seed=3)
    rain = np.column_stack([block_storm(peak=60.0 + 10 * j) for j in range(7)])
    whole = simulate_ponding(params, rain, 60.0)
    cut = 123
    first = simulate_ponding(params, rain[:cut], 60.0)
    second = simulate_ponding(params, rain[cut:], 60.0, state=first.final_state)
    assert_array_equal(np.r_[first.water_depth, second.water_depth[1:]], whole.water_depth)
    assert_array_equal(second.final_state.values, whole.final_state.values)  # type: ignore[union-attr]
    # The mass balance of the continued part closes too (storage changes from its start).
    assert np.max(np.abs(second.mass_balance["relative_error"])) < 1e-9


def test_a_dry_state_is_the_default_and_a_wrong_shape_is_refused() -> None:
    params = random_params(3)
    rain = np.full(30, 20.0)
    a = simulate_ponding(params, rain, 60.0)
    b = simulate_ponding(params, rain, 60.0, state=PondState.dry(3))
    assert_array_equal(a.water_depth, b.water_depth)
    with pytest.raises(ValueError, match="one column per point"):
        simulate_ponding(params, rain, 60.0, state=PondState.dry(4))
