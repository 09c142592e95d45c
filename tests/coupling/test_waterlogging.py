"""Water → road states → routes and cases: the coupling on the real Gongshu network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin.hydro.lowpoints import low_points
from twin.hydro.waterlogging import CLOSED, IMPEDED, OPEN, state_changes
from twin.network import default_network
from twin.network.road_network import RoadNetwork
from twin.run.results import RunResult
from twin.run.runner import prepare, run_scenario
from twin.scenario import Scenario, load_scenario
from twin.sim.fleet import Status

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def net() -> RoadNetwork:
    return default_network()


@pytest.fixture(scope="module")
def storm() -> Scenario:
    return load_scenario(ROOT / "scenarios" / "gongshu_rainstorm.yaml")


@pytest.fixture(scope="module")
def wet(storm: Scenario) -> RunResult:
    return run_scenario(storm)


def test_state_changes_follow_thresholds_with_hysteresis() -> None:
    depth = np.array([0.0, 0.10, 0.16, 0.30, 0.26, 0.24, 0.14, 0.12, 0.0])[:, None]
    times = np.arange(depth.shape[0], dtype=float) * 60
    t, p, s = state_changes(depth, times, impeded=0.15, closed=0.27, hysteresis=0.02)
    # 0.16 impeded; 0.30 closed; 0.26 stays closed (hysteresis); 0.24 back to impeded;
    # 0.14 stays impeded (hysteresis); 0.12 open.
    assert s.tolist() == [IMPEDED, CLOSED, IMPEDED, OPEN]
    assert t.tolist() == [120.0, 180.0, 300.0, 420.0]
    assert (p == 0).all()


def test_no_flapping_on_noise_around_a_threshold() -> None:
    rng = np.random.default_rng(0)
    depth = (0.15 + rng.uniform(-0.015, 0.015, 500))[:, None]
    depth[0] = 0.2
    _, _, s = state_changes(depth, np.arange(500.0), impeded=0.15, closed=0.27, hysteresis=0.02)
    assert s.tolist() == [IMPEDED]


def test_low_point_parameters(net: RoadNetwork) -> None:
    lp = low_points(net)
    assert len(lp) == len(net.layers["low_points"])
    p = lp.params
    for name in ("area", "width", "slope", "drain_capacity", "pond_a", "pond_c", "max_depth"):
        assert (getattr(p, name) > 0).all(), name
    # Drainage sized by the rational method for the design rain (underpasses ×1.5).
    factor = np.where(lp.kinds == "underpass", 1.5, 1.0)
    np.testing.assert_allclose(p.drain_capacity, p.imperv * 40.0 * factor / 3.6e6 * p.area)
    for kind, edges in zip(lp.kinds, lp.edges, strict=True):
        assert edges.size > 0
        if kind == "underpass":
            assert net.tunnel[edges].all()


def test_rain_closes_roads_and_raises_cases(wet: RunResult, storm: Scenario) -> None:
    assert wet.kpi("rain_depth") > 50
    assert wet.kpi("points_closed") > 0
    states = wet.road_states
    assert states is not None and len(states) > 0
    assert set(states["state"]) >= {"impeded", "closed", "open"}
    # Nothing floods before the rain starts.
    assert states["elapsed_s"].min() >= storm.rain.start
    ponding = wet.cases[wet.cases["category"] == storm.hydro.ponding_category]
    onsets = states.sort_values("elapsed_s").groupby("point_id").head(1)
    assert len(ponding) >= len(onsets) * 0.9  # a few onsets report after the horizon
    lp_nodes = set(wet.dataset["point_id"].to_numpy())
    assert set(onsets["point_id"]) <= lp_nodes
    # The water-depth series in the dataset crosses the closed threshold.
    assert float(wet.dataset["water_depth"].max()) >= storm.hydro.closed_depth


def test_routes_avoid_closed_edges(storm: Scenario) -> None:
    sim = prepare(storm)
    seen = {"closed_routes": 0}
    original = sim.move

    def spy(crew: int, target: int, status: Status) -> float:
        took = original(crew, target, status)
        n = int(sim.fleet.route_length[crew])
        if n > 1:
            off = int(sim.fleet.route_offset[crew])
            edges = sim.net.path_edges(sim.routes.nodes[off : off + n])
            assert not sim.net.closed[edges].any(), "a route uses a closed edge"
            if sim.net.closed.any():
                seen["closed_routes"] += 1
        return took

    sim.move = spy  # type: ignore[method-assign]
    sim.run()
    assert seen["closed_routes"] > 10
    assert sim.hazards is not None and sim.hazards.reroutes >= 0


def test_same_cases_as_the_dry_day(wet: RunResult, storm: Scenario) -> None:
    dry = run_scenario(storm.with_updates(**{"rain.kind": "none"}))
    assert dry.road_states is not None and len(dry.road_states) == 0
    assert "water_depth" not in dry.dataset
    cols = ["category", "node", "reported"]
    # Common random numbers: the dry day's cases are all in the wet day, unchanged; the
    # wet day adds the ponding cases raised by the water.
    merged = dry.cases[cols].merge(wet.cases[cols], how="left", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert len(wet.cases) - len(dry.cases) == wet.kpi("ponding_cases")
    assert wet.kpi("cases_reported") > dry.kpi("cases_reported")


def test_network_reopens_for_the_next_run(wet: RunResult, storm: Scenario) -> None:
    again = run_scenario(storm.with_updates(**{"rain.kind": "none", "horizon": 3600}))
    assert again.network is not None
    assert not again.network.closed.any()
    assert "points_closed" not in set(again.kpis["kpi"])


def test_gauges_with_positions_give_rain_that_varies_in_space(
    net: RoadNetwork, storm: Scenario, tmp_path: Path
) -> None:
    import pandas as pd
    import xarray as xr

    from twin.hydro.rainfall import with_station_coords, write_netcdf
    from twin.hydro.waterlogging import simulate_waterlogging

    times = pd.date_range("2026-06-01", periods=24, freq="5min").to_numpy()
    values = np.zeros((24, 2))
    values[2:14, 0] = 80.0  # a storm on the western gauge only
    rain = xr.DataArray(values, dims=("time", "station"),
                        coords={"time": times, "station": ["west", "east"]},
                        name="rain_rate", attrs={"units": "mm h-1"})  # fmt: skip
    rain = with_station_coords(rain, [120.05, 120.25], [30.31, 30.31])
    path = write_netcdf(rain, tmp_path / "gauges.nc")
    s = storm.with_updates(
        **{"rain.kind": "file", "rain.file": str(path), "rain.start": 3600, "horizon": 6 * 3600}
    )
    water = simulate_waterlogging(net, s)
    assert water is not None
    total = water.rain_rate.sum(axis=0)
    west = water.points.lon < 120.12
    east = water.points.lon > 120.17
    assert total[west].mean() > 1.5 * total[east].mean()
    assert water.depth[:, west].max() > water.depth[:, east].max()
