"""Trucks see the flood: closures at the low points reroute trucks, before and en route."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.trucks.conftest import EVENING
from twin.network import RoadNetwork
from twin.trucks import TruckResult, TrucksConfig, simulate_trucks
from twin.trucks.errors import TruckError
from twin.trucks.flood import RoadStates

HOURS = 4.0
CFG = TrucksConfig(enabled=True, trips_per_day=460)


def _run(net: RoadNetwork, states: RoadStates | None) -> TruckResult:
    return simulate_trucks(net, CFG, start=EVENING, horizon=HOURS * 3600.0, seed=1,
                           road_states=states)  # fmt: skip


@pytest.fixture(scope="module")
def dry(gongshu: RoadNetwork) -> TruckResult:
    return _run(gongshu, None)


def _busiest_mid_route_edges(dry: TruckResult, t_close: float) -> np.ndarray:
    """Edges that loaded trucks enter after ``t_close`` though they set off before it."""
    tr = dry.track
    trips = dry.trips.set_index("trip")
    dep = trips.loc[tr["trip"].to_numpy(), "depart"].to_numpy(np.float64)
    ahead = tr[(tr["leg"].to_numpy() == 0) & (dep < t_close)
               & (tr["enter"].to_numpy(np.float64) > t_close + 60)]  # fmt: skip
    counts = ahead["edge"].value_counts()
    return counts.index.to_numpy(np.int64)[:5]


def test_road_states_schedule() -> None:
    s = RoadStates(4, [10.0, 20.0], [np.array([1, 2]), np.array([2])],
                   [np.array([np.inf, 2.0]), np.array([1.0])])  # fmt: skip
    assert s.epoch_at(0) == 0 and s.epoch_at(10) == 1 and s.epoch_at(25) == 2
    assert s.next_change(10) == 20 and s.next_change(20) == np.inf
    np.testing.assert_array_equal(s.factor(1), [1, np.inf, 2, 1])
    np.testing.assert_array_equal(s.factor(2), [1, np.inf, 1, 1])
    assert s.closed(1).tolist() == [False, True, False, False]
    with pytest.raises(TruckError, match="non-decreasing"):
        RoadStates(4, [20.0, 10.0], [np.array([1]), np.array([1])], [np.ones(1), np.ones(1)])


def test_no_change_is_the_dry_run(gongshu: RoadNetwork, dry: TruckResult) -> None:
    same = _run(gongshu, RoadStates.none(gongshu.n_edges))
    pd.testing.assert_frame_equal(same.trips, dry.trips)
    assert (dry.trips["flood_reroutes"] == 0).all()


def test_a_closure_ahead_reroutes_trucks_on_the_way(gongshu: RoadNetwork, dry: TruckResult) -> None:
    t_close, t_open = 3600.0, 3.0 * 3600.0
    edges = _busiest_mid_route_edges(dry, t_close)
    assert edges.size
    states = RoadStates(gongshu.n_edges, [t_close, t_open], [edges, edges],
                        [np.full(edges.size, np.inf), np.ones(edges.size)])  # fmt: skip
    wet = _run(gongshu, states)
    trips = wet.trips
    assert trips["flood_reroutes"].sum() > 0
    assert (trips["flood_delay_s"].fillna(0.0) > 0).any()
    # While closed, no truck enters a closed edge (one already on it drives to its end).
    tr = wet.track
    enter = tr["enter"].to_numpy(np.float64)
    on_closed = np.isin(tr["edge"].to_numpy(np.int64), edges)
    assert not (on_closed & (enter > t_close + 1e-6) & (enter < t_open - 1e-6)).any()
    # Rerouted trips still reach a dock, and spoil is conserved.
    rerouted = trips[trips["flood_reroutes"] > 0]
    assert rerouted["fate"].isin(["delivered", "dumped", "in_transit"]).all()
    assert (rerouted["fate"] == "delivered").any()
    b = wet.balance
    assert b["loaded"] == pytest.approx(
        b["delivered"] + b["dumped"] + b["spilled"] + b["in_transit"], abs=1e-6
    )
    # The dry run used those edges while they would have been closed.
    d_tr = dry.track
    d_enter = d_tr["enter"].to_numpy(np.float64)
    d_on = np.isin(d_tr["edge"].to_numpy(np.int64), edges)
    assert (d_on & (d_enter > t_close) & (d_enter < t_open)).any()


def test_trips_departing_during_a_closure_avoid_it(gongshu: RoadNetwork, dry: TruckResult) -> None:
    edges = _busiest_mid_route_edges(dry, 3600.0)
    states = RoadStates(gongshu.n_edges, [0.0], [edges], [np.full(edges.size, np.inf)])
    wet = _run(gongshu, states)
    assert not np.isin(wet.track["edge"].to_numpy(np.int64), edges).any()
    assert wet.trips["flood_reroutes"].sum() == 0  # planned around from the start


def test_road_states_say_whether_any_edge_ever_closes() -> None:
    slow = RoadStates(4, [10.0], [np.array([1])], [np.array([4.0])])
    shut = RoadStates(4, [10.0, 20.0], [np.array([1]), np.array([2])],
                      [np.array([4.0]), np.array([np.inf])])  # fmt: skip
    assert not RoadStates.none(4).ever_closed and not slow.ever_closed and shut.ever_closed
    assert shut.closed(2).tolist() == [False, False, True, False]
    assert shut.closed(2) is shut.closed(2)  # cached
    assert not shut.closed(1).any()
