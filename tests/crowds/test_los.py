"""Fruin's levels of service."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from twin.crowds.los import (
    FT2,
    density_threshold,
    level_of_service,
    los_index,
    los_thresholds,
)


def test_thresholds_in_persons_per_m2() -> None:
    assert_allclose(los_thresholds("walkway"), [0.3075, 0.4306, 0.7176, 1.0764, 2.1528], atol=5e-4)
    assert_allclose(los_thresholds("queuing"), [0.8280, 1.0764, 1.5377, 3.5880, 5.3820], atol=5e-4)


def test_letters_and_boundaries() -> None:
    walk = los_thresholds("walkway")
    rho = np.array([0.0, 0.2, walk[0], np.nextafter(walk[0], 1.0), 0.5, 1.0, 2.0, 3.0])
    assert_array_equal(level_of_service(rho), ["A", "A", "A", "B", "C", "D", "E", "F"])
    assert_array_equal(level_of_service([1.0, 3.0, 6.0], "queuing"), ["B", "D", "F"])
    assert los_index(np.zeros((2, 3))).shape == (2, 3)


def test_density_threshold() -> None:
    assert density_threshold("E") == pytest.approx(1.0 / (10 * FT2))
    assert density_threshold("F", "queuing") == pytest.approx(1.0 / (2 * FT2))
    with pytest.raises(ValueError, match="B, C, D, E, F"):
        density_threshold("A")
    with pytest.raises(ValueError, match="walkway"):
        los_thresholds("corridor")  # type: ignore[arg-type]
