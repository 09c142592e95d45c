"""Cameras on a real twin.trucks run: the adapter feeds camera_impact."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.network import RoadNetwork
from twin.placement.cameras import camera_impact, events_from_trucks
from twin.placement.errors import PlacementError
from twin.placement.solvers import solve_greedy, solve_milp

trucks = pytest.importorskip("twin.trucks")


def test_truck_violations_become_camera_events(gongshu: RoadNetwork) -> None:
    cfg = trucks.TrucksConfig(enabled=True, trips_per_day=460)
    start = datetime(2024, 6, 1, 19, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    run = trucks.simulate_trucks(gongshu, cfg, start=start, horizon=4 * 3600.0, seed=1)
    events = events_from_trucks(run)
    assert len(events) > 0
    first = events.iloc[0]
    assert first["edge_times"][0] == pytest.approx(0.0, abs=1e-6) or first["kind"] == "deviation"
    assert np.all(np.diff(first["edge_times"]) >= 0)
    m = camera_impact(gongshu, events)
    assert m.n_events == len(events)
    milp = solve_milp(m, 3, objective="coverage")
    assert milp.value >= solve_greedy(m, 3, objective="coverage").value - 1e-12
    with pytest.raises(PlacementError, match="unknown violation kind"):
        events_from_trucks(run, kinds=["littering"])
