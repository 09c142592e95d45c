"""Helpers of the peer benchmarks in benchmarks/: no peer library is needed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import box

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_crowds_jupedsim as crowds
import bench_hydro as hydro
import bench_routing as routing


def test_egress_time_interpolates_between_records() -> None:
    run = {"n": 100, "time": np.array([0.0, 60.0, 120.0]), "left": np.array([0.0, 50.0, 100.0])}
    assert crowds.egress_time(run, 0.95) == pytest.approx(114.0)
    assert crowds.egress_time(run, 0.5) == pytest.approx(60.0)


def test_egress_time_is_nan_when_the_crowd_never_leaves() -> None:
    run = {"n": 100, "time": np.array([0.0, 60.0]), "left": np.array([0.0, 10.0])}
    assert np.isnan(crowds.egress_time(run, 0.95))


def test_door_is_outside_the_outline_with_the_exit_at_its_far_end() -> None:
    outline = box(0.0, 0.0, 100.0, 80.0)
    passage, end = crowds.door(outline, np.array([50.0, 0.0]), 4.0)
    assert passage.area == pytest.approx(4.0 * crowds.DOOR_DEPTH)
    assert passage.intersection(outline).area == pytest.approx(0.0, abs=1e-9)
    assert end.area == pytest.approx(4.0)
    assert end.centroid.y == pytest.approx(-(crowds.DOOR_DEPTH - 0.5))


def test_chicago_storm_holds_the_formula_depth() -> None:
    dt = 60.0
    storm = hydro.chicago(dt, 120.0, 850.0)
    depth = storm.sum() * dt / 3600.0  # [mm]
    assert depth == pytest.approx(850.0 / (120.0 + 15.0) ** 0.7 * 2.0)
    assert int(np.argmax(storm)) == round(0.4 * (storm.size - 1))


def test_ratio_cell_says_when_the_twin_is_slower() -> None:
    assert "twin slower" in routing.ratio_cell(0.9, 1.0)
    assert routing.ratio_cell(20.0, 1.0) == "**20×**"
