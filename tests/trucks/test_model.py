"""The truck day: conservation, hours, reproducibility, positions, external clocks."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import pandas as pd
import simpy

from tests.trucks.conftest import EVENING, short_run
from twin.network import RoadNetwork
from twin.trucks import TruckResult, TrucksConfig, simulate_trucks
from twin.trucks.model import STATUS
from twin.trucks.routing import in_window


def test_spoil_is_conserved(day: TruckResult) -> None:
    b = day.balance
    assert b["loaded"] > 20_000
    total = b["delivered"] + b["dumped"] + b["spilled"] + b["in_transit"]
    assert abs(b["loaded"] - total) < 1e-6
    tr = day.trips
    # The trip books agree with the truck and dock books.
    assert tr["delivered_m3"].sum() == np.float64(b["delivered"]) or np.isclose(
        tr["delivered_m3"].sum(), b["delivered"]
    )
    assert np.isclose(tr["dumped_m3"].sum(), b["dumped"])
    assert np.isclose(tr["spilled_m3"].sum(), b["spilled"])
    done = tr[tr["fate"].isin(["delivered", "dumped"])]
    kept = done[["delivered_m3", "dumped_m3", "spilled_m3"]].fillna(0).sum(axis=1)
    np.testing.assert_allclose(kept, done["spoil_m3"])


def test_scale_and_actors(day: TruckResult) -> None:
    assert 2_200 <= day.kpis["trips_planned_per_day"] <= 2_400  # published: about 2,300
    assert day.kpis["trips_delivered"] > 1_800
    assert len(day.docks) == 3 and len(day.sites) == 30
    assert set(day.trips["fate"]) <= {"delivered", "dumped", "in_transit", "loading"}
    assert day.kpis["truck_km_total_km"] > day.kpis["truck_km_loaded_km"] > 0


def test_loading_and_unloading_respect_hours(day: TruckResult) -> None:
    tr = day.trips
    site_w = dict(zip(day.sites.id, map(tuple, day.sites.window), strict=True))
    dock_w = dict(zip(day.docks.id, map(tuple, day.docks.window), strict=True))
    h_load = day.local_hour(tr["load_start"].to_numpy())
    assert all(in_window(h, site_w[s]) for h, s in zip(h_load, tr["site"], strict=True))
    un = tr.dropna(subset=["unload_start"])
    h_un = day.local_hour(un["unload_start"].to_numpy())
    assert all(in_window(h, dock_w[d]) for h, d in zip(h_un, un["dock"], strict=True))
    assert (un["queue_time"] >= 0).all()


def test_same_seed_same_run(gongshu: RoadNetwork) -> None:
    a, b = short_run(gongshu, seed=5), short_run(gongshu, seed=5)
    pd.testing.assert_frame_equal(a.trips, b.trips)
    pd.testing.assert_frame_equal(a.violations, b.violations)
    np.testing.assert_array_equal(a.positions["lon"].to_numpy(), b.positions["lon"].to_numpy())
    c = short_run(gongshu, seed=6)
    assert not a.violations["time"].equals(c.violations["time"])


def test_positions_dataset(day: TruckResult, gongshu: RoadNetwork) -> None:
    ds = day.to_dataset()
    assert ds["lon"].dims == ("time", "truck")
    # Records every minute from the start to the horizon, both included.
    assert not np.isnan(ds["lon"].to_numpy()[-1]).any()
    assert ds.sizes["time"] == 1441 and ds.sizes["truck"] == day.fleet.n_trucks
    lon = ds["lon"].to_numpy()
    assert np.nanmin(lon) >= gongshu.node_lon.min() and np.nanmax(lon) <= gongshu.node_lon.max()
    assert set(np.unique(ds["status"].to_numpy())) <= set(range(len(STATUS)))
    assert ds["dock_trips_by_hour"].sum() == (day.trips["unload_start"].notna()).sum()
    # Trucks drive at night, not at noon.
    on_road = day.on_road_hourly()
    assert on_road[23] > 20 and on_road[12] == 0


def test_runs_on_a_given_environment(gongshu: RoadNetwork) -> None:
    cfg = TrucksConfig(enabled=True, trips_per_day=460)
    env = simpy.Environment()
    ticks: list[float] = []

    def other() -> Generator[simpy.Event, None, None]:  # something else on the same clock
        while True:
            ticks.append(env.now)
            yield env.timeout(600.0)

    env.process(other())
    r = simulate_trucks(gongshu, cfg, start=EVENING, horizon=2 * 3600.0, seed=1, env=env)
    assert env.now == 7200.0 and len(ticks) == 12
    ref = short_run(gongshu, seed=1, hours=2.0)
    pd.testing.assert_frame_equal(r.trips, ref.trips)
    # Started later on a running clock, times count from that start.
    late = simpy.Environment(initial_time=1000.0)
    r2 = simulate_trucks(gongshu, cfg, start=EVENING, horizon=2 * 3600.0, seed=1, env=late)
    assert late.now == 8200.0
    assert abs(len(r2.trips) - len(ref.trips)) <= 0.02 * len(ref.trips)
    assert r2.trips["load_start"].min() == ref.trips["load_start"].min()


def test_write(tmp_path: object, gongshu: RoadNetwork) -> None:
    from pathlib import Path

    r = short_run(gongshu, hours=2.0)
    paths = r.write(Path(str(tmp_path)))
    assert all(p.exists() for p in paths.values())
    back = pd.read_parquet(paths["trips"])
    assert len(back) == len(r.trips)
