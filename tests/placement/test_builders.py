"""Impact builders on the real Gongshu network, low points and storm catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin.hydro.ensemble import catalogue_storms, design_storms, rain_factors
from twin.hydro.interpolation import haversine_m
from twin.hydro.lowpoints import LowPoints
from twin.network import RoadNetwork
from twin.network.build import data_dir
from twin.network.layers import read_layer
from twin.placement.cameras import camera_impact, truck_trip_events
from twin.placement.gauges import gauge_impact
from twin.placement.outputs import write_outputs
from twin.placement.pipeline import run_placement
from twin.placement.ponding_events import PondingEnsemble, simulate_storms
from twin.placement.probes import draw_defects, draw_fleet, probe_impact, simulate_trips
from twin.placement.routing import route_many
from twin.placement.skill import forecast_skill, forecast_skill_impact
from twin.placement.solvers import solve_greedy, solve_milp
from twin.scenario import DesignStormConfig, load_scenario
from twin.scenario.placement import PlacementConfig, ProbeConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ensemble(gongshu_low_points: LowPoints) -> PondingEnsemble:
    storms = catalogue_storms(splits=("test",), max_storms=12, seed=3) + design_storms(
        DesignStormConfig(), return_periods=(2.0, 20.0), durations=(3600.0, 7200.0)
    )
    return simulate_storms(gongshu_low_points, storms, event_depth=0.15, seed=4)


def test_gauge_ensemble_on_real_storms(ensemble: PondingEnsemble) -> None:
    assert len(ensemble.storms) == 16
    assert ensemble.peak_depth.shape == (16, 53)
    assert sum(k == "catalogue" for k in ensemble.storms.kind) == 12
    assert set(ensemble.storms.split) == {"test", "design"}
    on = np.isfinite(ensemble.onset)
    assert on.any()
    # an onset exists exactly where the peak reaches the event depth
    assert np.array_equal(on, ensemble.peak_depth >= 0.15)
    assert np.all(ensemble.end[on] >= ensemble.onset[on])
    assert np.all(ensemble.exceed[on] <= ensemble.end[on] - ensemble.onset[on] + 300.0 + 1e-6)
    # the 20-year design storms flood more points than the 2-year ones
    ids = list(ensemble.storms.ids)
    p2, p20 = ids.index("design-P2y-60min"), ids.index("design-P20y-60min")
    assert on[p20].sum() >= on[p2].sum()


def test_gauge_detection_model(
    ensemble: PondingEnsemble, gongshu_low_points: LowPoints, gongshu: RoadNetwork
) -> None:
    lp = gongshu_low_points
    alone = gauge_impact(ensemble, lp, gongshu, proxy_max_travel=0.0)
    assert alone.n_records == alone.n_events == int(np.isfinite(ensemble.onset).sum())
    assert np.all(alone.time == 0.0)
    m = gauge_impact(ensemble, lp, gongshu, proxy_max_travel=300.0)
    ev = m.events
    point = ev["point"].to_numpy()
    own = m.candidate == point[m.event]
    assert own.sum() == m.n_events and np.all(m.time[own] == 0.0)
    tt = gongshu.travel_time_matrix(lp.node, lp.node, by_position=True)
    q, p = m.candidate[~own], point[m.event[~own]]
    assert np.all(tt[q, p] <= 300.0)
    storm = pd.Index(list(ensemble.storms.ids)).get_indexer(ev["storm"].to_numpy()[m.event[~own]])
    onset = ensemble.onset[storm, p]
    expected = np.maximum(onset, ensemble.alarm[storm, q] + tt[q, p]) - onset
    np.testing.assert_allclose(m.time[~own], expected, atol=1e-6)
    # impact: affected road [km] x hours above the onset depth
    km = np.array([gongshu.length[e].sum() / 1000 for e in lp.edges])
    s_all = pd.Index(list(ensemble.storms.ids)).get_indexer(ev["storm"].to_numpy())
    np.testing.assert_allclose(ev["impact"], km[point] * ensemble.exceed[s_all, point] / 3600)
    g = solve_greedy(m, 4, objective="time")
    assert g.value <= solve_greedy(alone, 4, objective="time").value + 1e-9  # crews help


def test_forecast_skill_proxy_and_held_out_score(
    ensemble: PondingEnsemble, gongshu_low_points: LowPoints
) -> None:
    sk = forecast_skill_impact(ensemble, gongshu_low_points)
    own = sk.candidate == sk.events["point"].to_numpy()[sk.event]
    assert np.all(sk.impact[own] == 0.0)
    assert np.all((sk.impact >= 0) & (sk.impact <= 1))
    best = solve_milp(sk, 3, objective="skill")
    assert 0.0 < best.value <= 1.0
    none = forecast_skill(ensemble, ensemble, [])
    assert none["regression_r2"] == 0.0
    every = forecast_skill(ensemble, ensemble, np.arange(53))
    assert every["points_scored"] == 0
    chosen = gongshu_low_points.node.size and best.selected
    in_sample = forecast_skill(ensemble, ensemble, sk.candidates.loc[chosen, "point"])
    assert in_sample["regression_r2"] >= in_sample["proxy_r2"] - 1e-9  # OLS beats one gauge


def test_rain_factors_mean_one_and_correlation_falls_with_distance(
    gongshu_low_points: LowPoints,
) -> None:
    lp = gongshu_low_points
    f = rain_factors(
        lp.lon, lp.lat, 4000, cv=0.3, correlation_m=2000.0, rng=np.random.default_rng(0)
    )
    assert f.mean() == pytest.approx(1.0, abs=0.02)
    assert np.std(f) / f.mean() == pytest.approx(0.3, abs=0.03)
    d = haversine_m(lp.lon[:, None], lp.lat[:, None], lp.lon[None, :], lp.lat[None, :])
    c = np.corrcoef(np.log(f), rowvar=False)
    near, far = (d > 0) & (d < 1000), d > 5000
    assert c[near].mean() > c[far].mean() + 0.3
    same = rain_factors(
        lp.lon, lp.lat, 3, cv=0.3, correlation_m=2000.0, rng=np.random.default_rng(7)
    )
    again = rain_factors(
        lp.lon, lp.lat, 3, cv=0.3, correlation_m=2000.0, rng=np.random.default_rng(7)
    )
    np.testing.assert_array_equal(same, again)


def test_route_many_matches_shortest_path(gongshu: RoadNetwork) -> None:
    rng = np.random.default_rng(1)
    o = rng.integers(0, gongshu.n_nodes, 12)
    d = rng.integers(0, gongshu.n_nodes, 12)
    travel, trip, edge, offset = route_many(gongshu, o, d, gongshu.edge_travel_time(None))
    for i in range(12):
        r = gongshu.shortest_path(int(o[i]), int(d[i]), by_position=True)
        assert travel[i] == pytest.approx(r.travel_time, rel=1e-9)
        mine = edge[trip == i][np.argsort(offset[trip == i])]
        assert mine.tolist() == r.edges.tolist()


def test_probe_detection_is_the_first_pass_after_the_defect_appears(
    gongshu: RoadNetwork,
) -> None:
    cfg = ProbeConfig(
        vehicles=15, days=2, defect_lifetime="12h", defects_per_day=40, detect_probability=1.0
    )
    demand = np.ones(gongshu.n_nodes)
    fleet = draw_fleet(gongshu, demand, cfg, np.random.default_rng(1))
    rng = np.random.default_rng(2)
    log = simulate_trips(gongshu, fleet, demand, cfg, rng)
    defects = draw_defects(gongshu, cfg, rng)
    m = probe_impact(gongshu, fleet, log, defects, detect_probability=1.0, rng=rng)
    assert m.n_events == len(defects) and m.n_records > 0
    assert np.all(np.diff(log.edge) >= 0)
    for r in range(m.n_records):
        e, v = int(m.event[r]), int(m.candidate[r])
        passes = log.time[(log.edge == defects.edge[e]) & (log.vehicle == v)]
        after = passes[(passes >= defects.appear[e]) & (passes <= defects.appear[e] + 43200)]
        assert m.time[r] == pytest.approx(after.min() - defects.appear[e])
    # a vehicle's traversals follow its trips: none outside its shifts' days
    assert log.time.max() < 2 * 86400
    # with a per-pass detection chance below 1, fewer (never more) detections
    m_half = probe_impact(
        gongshu, fleet, log, defects, detect_probability=0.5, rng=np.random.default_rng(3)
    )
    assert m_half.n_records < m.n_records
    # same seeds, same matrix
    rng = np.random.default_rng(2)
    log2 = simulate_trips(gongshu, fleet, demand, cfg, rng)
    m2 = probe_impact(
        gongshu, fleet, log2, draw_defects(gongshu, cfg, rng), detect_probability=1.0, rng=rng
    )
    assert m2.records().equals(m.records())


def test_camera_builder_from_a_plain_table_and_from_site_dock_trips(
    gongshu: RoadNetwork,
) -> None:
    edges = gongshu.shortest_path(int(gongshu.node_ids[10]), int(gongshu.node_ids[4000])).edges
    table = pd.DataFrame(
        {"event_id": ["v1"], "time": [100.0], "edges": [edges.tolist()], "impact": [2.0]}
    )
    m = camera_impact(gongshu, table)
    tt = gongshu.edge_travel_time(None)[edges]
    assert m.n_candidates == np.unique(edges).size
    order = np.argsort(m.candidates["edge"].to_numpy()[m.candidate])
    expected = (np.cumsum(tt) - tt)[np.argsort(edges)]
    np.testing.assert_allclose(np.sort(m.time), np.sort(expected), atol=1e-9)
    assert m.events["lifetime"].iloc[0] == pytest.approx(tt.sum())
    assert order.size == edges.size
    layers = data_dir() / "layers"
    sites = read_layer(layers / "sites.geojson", layer="sites", net=gongshu)
    docks = read_layer(layers / "docks.geojson", layer="docks", net=gongshu)
    ev = truck_trip_events(
        gongshu,
        sites=gongshu.node_position(sites["node"].to_numpy()),
        docks=gongshu.node_position(docks["node"].to_numpy()),
        trips=800,
        violation_share=0.05,
        seed=5,
    )
    assert 20 < len(ev) < 70
    trucks = camera_impact(gongshu, ev)
    first = trucks.time[trucks.event == 0]
    assert first.min() == pytest.approx(0.0)  # a camera at the first violating edge: at once
    milp = solve_milp(trucks, 3, objective="time")
    assert milp.value < trucks.events["lifetime"].mean()


def test_pipeline_end_to_end_with_outputs(gongshu: RoadNetwork, tmp_path: Path) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "gongshu_rainstorm.yaml")
    cfg = PlacementConfig.model_validate(
        {
            "technologies": ["gauge", "probe"],
            "objective": "coverage",
            "budget": 4,
            "curve_points": 2,
            "time_limit": 30,
            "gauge": {
                "storms": "design",
                "design_return_periods": [2, 20],
                "design_durations": ["1h"],
            },
            "probe": {"vehicles": 12, "days": 2, "defect_lifetime": "12h"},
        }
    )
    run = run_placement(gongshu, scenario, cfg)
    assert set(run.placements) == {"milp", "greedy"}
    assert run.best.cost <= 4 and run.best.status == "optimal"
    assert run.placements["greedy"].value <= run.best.value + 1e-12
    assert set(run.evaluation["sample"]) == {"in", "out"}
    paths = write_outputs(run, gongshu, tmp_path)
    gj = json.loads(paths["geojson"].read_text())
    assert gj["type"] == "FeatureCollection"
    assert len(gj["features"]) == len(run.best.selected)
    kinds = {f["properties"]["technology"]: f["geometry"]["type"] for f in gj["features"]}
    assert kinds.get("gauge", "Point") == "Point"
    assert kinds.get("probe", "MultiLineString") == "MultiLineString"
    html = paths["report"].read_text()
    assert "Pareto" in html and "twin-map" in html and 'src="http' not in html  # offline
