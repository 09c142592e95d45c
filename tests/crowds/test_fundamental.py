"""Weidmann's fundamental diagram and the exit discharge helper."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from twin.crowds.fundamental import (
    EXIT_CAPACITY,
    RHO_MAX,
    V0,
    exit_discharge,
    weidmann_capacity,
    weidmann_flow,
    weidmann_speed,
)
from twin.crowds.kernels import walking_speed


def test_speed_limits_and_monotonicity() -> None:
    rho = np.linspace(0.0, 6.0, 601)
    v = weidmann_speed(rho)
    assert v[0] == V0
    assert np.all(v[rho >= RHO_MAX] == 0.0)
    assert np.all(np.diff(v) <= 0.0)
    assert np.all((v >= 0.0) & (v <= V0))


def test_scalar_kernel_speed_matches_numpy() -> None:
    rho = np.r_[0.0, np.linspace(0.01, 6.0, 97)]
    assert_allclose([walking_speed(r, V0, 1.913, RHO_MAX) for r in rho], weidmann_speed(rho),
                    rtol=1e-14, atol=0)  # fmt: skip


def test_flow_and_capacity() -> None:
    assert weidmann_flow(0.0) == 0.0 and weidmann_flow(RHO_MAX) == 0.0
    rho, q = weidmann_capacity()
    grid = np.linspace(0.01, RHO_MAX, 100_001)
    assert q >= weidmann_flow(grid).max() - 1e-9
    assert 1.7 < rho < 1.8


def test_exit_discharge() -> None:
    assert_allclose(
        exit_discharge([10.0, 1000.0], [2.0, 2.0], 60.0), [10.0, 2.0 * EXIT_CAPACITY * 60]
    )
