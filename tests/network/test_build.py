"""Building networks: the bundled Gongshu default, the Nanjing OSM fixture, synthetic graphs."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely
from scipy.sparse import csgraph

from twin.network import RoadNetwork, build_network, load_network, save_network
from twin.network.build import DEFAULT_BOUNDARY, data_dir, load_boundary
from twin.network.snapping import Projector, utm_crs
from twin.network.speeds import HIGHWAY_SPEED_KPH, parse_maxspeed

ARRAYS = (
    "node_ids", "node_lon", "node_lat", "edge_u", "edge_v", "edge_key", "length",
    "speed_kph", "free_flow_time", "road_class", "tunnel", "name",
)  # fmt: skip


def ring_graph(n: int, lon0: float, lat0: float, *, step_deg: float = 0.001) -> nx.MultiDiGraph:
    """A two-way ring road of ``n`` nodes, each edge ``length`` = 100 m (no OSM tags)."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    for i in range(n):
        G.add_node(
            i + 1,
            x=lon0 + step_deg * np.cos(2 * np.pi * i / n),
            y=lat0 + step_deg * np.sin(2 * np.pi * i / n),
        )
    for i in range(n):
        a, b = i + 1, (i + 1) % n + 1
        G.add_edge(a, b, length=100.0)
        G.add_edge(b, a, length=100.0)
    return G


# ---------------------------------------------------------------------- the default network


def test_gongshu_counts_are_plausible(gongshu: RoadNetwork) -> None:
    # data/README: 8,922 nodes of the bundled network lie inside the boundary; with the
    # 250 m buffer and after keeping the largest strongly connected part, ~9,200.
    assert 8_500 <= gongshu.n_nodes <= 10_000
    assert 2.0 <= gongshu.n_edges / gongshu.n_nodes <= 3.0
    assert 1_500 <= gongshu.length.sum() / 1000 <= 2_300  # [km]
    assert gongshu.meta["nodes_read"] == 14_469
    assert 0.9 <= gongshu.meta["kept_fraction_of_nodes"] <= 1.0
    assert gongshu.meta["crop_buffer_m"] == 250.0
    assert gongshu.G.number_of_nodes() == gongshu.n_nodes
    assert gongshu.G.number_of_edges() == gongshu.n_edges
    assert np.all(np.diff(gongshu.node_ids) > 0)  # sorted, unique OSM ids
    summary = gongshu.summary()
    assert summary["nodes"] == gongshu.n_nodes
    assert sum(summary["edges_by_class"].values()) == gongshu.n_edges
    assert 15 <= summary["mean_free_flow_speed_kph"] <= 45


def test_gongshu_is_strongly_connected(gongshu: RoadNetwork) -> None:
    assert nx.is_strongly_connected(gongshu.G)
    # The CSR arrays describe the same single component.
    matrix = gongshu._weights(None).matrix
    n_parts, _ = csgraph.connected_components(matrix, directed=True, connection="strong")
    assert n_parts == 1


def test_gongshu_arrays_match_the_graph(gongshu: RoadNetwork) -> None:
    rng = np.random.default_rng(7)
    for e in rng.choice(gongshu.n_edges, size=200, replace=False):
        u, v = int(gongshu.node_ids[gongshu.edge_u[e]]), int(gongshu.node_ids[gongshu.edge_v[e]])
        k = int(gongshu.edge_key[e])
        data = gongshu.G.edges[u, v, k]
        assert gongshu.edge_position(u, v, k) == e
        assert gongshu.length[e] == data["length"]
        assert gongshu.free_flow_time[e] == data["travel_time"]
        assert gongshu.speed_kph[e] == data["speed_kph"]
    for p in rng.choice(gongshu.n_nodes, size=50, replace=False):
        node = gongshu.G.nodes[int(gongshu.node_ids[p])]
        assert (gongshu.node_lon[p], gongshu.node_lat[p]) == (node["x"], node["y"])


def test_gongshu_crop_keeps_nodes_inside_boundary_plus_buffer(gongshu: RoadNetwork) -> None:
    boundary = load_boundary(data_dir() / DEFAULT_BOUNDARY)
    proj = Projector(utm_crs(boundary.centroid.x, boundary.centroid.y))
    poly = proj.geometries(np.array([boundary], dtype=object))[0]
    x, y = proj.forward(gongshu.node_lon, gongshu.node_lat)
    distance = shapely.distance(poly, shapely.points(x, y))  # 0 inside [m]
    buffer_m = gongshu.meta["crop_buffer_m"]
    assert distance.max() <= buffer_m + 1e-6
    inside = distance == 0
    assert inside.mean() > 0.9  # most of the network is in the district itself
    assert (~inside).any()  # and the buffer keeps the boundary roads whole
    assert shapely.from_wkt(gongshu.meta["boundary_wkt"]).equals(boundary)


def test_gongshu_tunnel_flags(gongshu: RoadNetwork) -> None:
    # data/README: 316 edges marked tunnel in the whole bundled network.
    assert 20 <= gongshu.tunnel.sum() <= 316
    for e in np.flatnonzero(gongshu.tunnel)[:50]:
        u, v = int(gongshu.node_ids[gongshu.edge_u[e]]), int(gongshu.node_ids[gongshu.edge_v[e]])
        classes = str(gongshu.G.edges[u, v, int(gongshu.edge_key[e])].get("osrm_classes"))
        assert "tunnel" in classes.split(",")
    others = [d.get("osrm_classes") for *_, d in gongshu.G.edges(data=True) if not d["tunnel"]]
    assert not any("tunnel" in str(c).split(",") for c in others)


def test_gongshu_speeds_and_travel_times_consistent(gongshu: RoadNetwork) -> None:
    np.testing.assert_allclose(
        gongshu.free_flow_time, gongshu.length / (gongshu.speed_kph / 3.6), rtol=1e-12
    )
    assert np.all(gongshu.speed_kph >= 3) and np.all(gongshu.speed_kph <= 130)
    assert np.all(gongshu.length >= 0) and np.all(np.isfinite(gongshu.free_flow_time))
    # No OSM tags in the bundled network: the OSRM profile speed is used everywhere.
    sources = {d["speed_source"] for *_, d in gongshu.G.edges(data=True)}
    assert sources == {"speed_kph"}
    # Road classes follow the speed bins.
    assert np.all(gongshu.speed_kph[gongshu.road_class == "arterial"] >= 50)
    collector = gongshu.speed_kph[gongshu.road_class == "collector"]
    assert np.all((collector >= 30) & (collector < 50))
    assert np.all(gongshu.speed_kph[gongshu.road_class == "local"] < 30)


# ---------------------------------------------------------------------- the Nanjing fixture


def test_fixture_speeds_come_from_maxspeed_then_highway(nanjing: RoadNetwork) -> None:
    rows = list(nanjing.G.edges(data=True))
    sources = {d["speed_source"] for *_, d in rows}
    assert sources == {"maxspeed", "highway"}
    for *_, d in rows:
        highway = d["highway"][0] if isinstance(d["highway"], list) else d["highway"]
        if d["speed_source"] == "maxspeed":
            assert d["speed_kph"] == parse_maxspeed(d["maxspeed"]) == 40.0  # 太平北路
            assert highway == "secondary"
        else:
            assert d.get("maxspeed") is None
            assert d["speed_kph"] == HIGHWAY_SPEED_KPH[highway]
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6), rel=1e-12)
        expected_class = {"secondary": "arterial", "residential": "local", "living_street": "local"}
        assert d["road_class"] == expected_class[highway]
        assert d["tunnel"] is False
    np.testing.assert_allclose(
        nanjing.free_flow_time, nanjing.length / (nanjing.speed_kph / 3.6), rtol=1e-12
    )


@pytest.mark.parametrize(
    ("value", "kph"),
    [
        ("50", 50.0),
        ("50 km/h", 50.0),
        ("30 mph", 30 * 1.609344),
        ("40;60", 50.0),
        (["40", "60"], 50.0),
        (70, 70.0),
        ("CN:urban", None),
        ("none", None),
        (None, None),
        (float("nan"), None),
        ("0", None),
    ],
)
def test_parse_maxspeed(value: object, kph: float | None) -> None:
    got = parse_maxspeed(value)
    if kph is None:
        assert got is None
    else:
        assert got == pytest.approx(kph, rel=1e-12)


# ---------------------------------------------------------------------- synthetic graphs


def test_ring_road_gives_the_textbook_travel_time() -> None:
    """Twelve 100 m edges with no tags: fallback 25 km/h, so 6 edges take 6*100/(25/3.6) s."""
    net = build_network(ring_graph(12, 120.15, 30.30), name="ring")
    assert net.n_nodes == 12 and net.n_edges == 24
    assert {d["speed_source"] for *_, d in net.G.edges(data=True)} == {"fallback"}
    np.testing.assert_array_equal(net.speed_kph, 25.0)
    np.testing.assert_allclose(net.free_flow_time, 100.0 / (25.0 / 3.6), rtol=1e-15)
    route = net.shortest_path(1, 7)
    assert len(route.edges) == 6
    assert route.travel_time == pytest.approx(6 * 100.0 / (25.0 / 3.6), rel=1e-12)
    assert route.length == pytest.approx(600.0, rel=1e-12)
    assert net.meta["name"] == "ring"


def test_existing_speed_is_used_without_tags() -> None:
    G = ring_graph(12, 120.15, 30.30)
    nx.set_edge_attributes(G, 36.0, "speed_kph")
    net = build_network(G)
    assert {d["speed_source"] for *_, d in net.G.edges(data=True)} == {"speed_kph"}
    np.testing.assert_allclose(net.free_flow_time, 10.0, rtol=1e-12)  # 100 m at 10 m/s
    assert set(net.road_class) == {"collector"}


def test_build_does_not_modify_the_source_graph() -> None:
    G = ring_graph(12, 120.15, 30.30)
    build_network(G)
    assert all(set(d) == {"length"} for *_, d in G.edges(data=True))


def test_largest_component_is_kept() -> None:
    """A 20-node ring and a 10-node ring 5 km away: the larger one is kept (2/3 of nodes)."""
    big = ring_graph(20, 120.15, 30.30)
    small = nx.relabel_nodes(ring_graph(10, 120.20, 30.30), lambda n: n + 100)
    net = build_network(nx.compose(big, small))
    assert set(net.node_ids.tolist()) == set(range(1, 21))
    assert net.meta["nodes_read"] == 30
    assert net.meta["kept_fraction_of_nodes"] == pytest.approx(20 / 30, abs=1e-4)


def test_crop_to_polygon(nanjing_osm: Path) -> None:
    full = build_network(nanjing_osm)
    # The box the fixture was cut around: everything kept lies within it plus the buffer.
    box = shapely.box(118.788, 32.046, 118.794, 32.052)
    cropped = build_network(nanjing_osm, boundary=box, buffer_m=50.0)
    assert 10 <= cropped.n_nodes < full.n_nodes
    assert set(cropped.node_ids.tolist()) <= set(full.node_ids.tolist())
    proj = Projector(utm_crs(118.791, 32.049))
    poly = proj.geometries(np.array([box], dtype=object))[0]
    x, y = proj.forward(cropped.node_lon, cropped.node_lat)
    assert shapely.distance(poly, shapely.points(x, y)).max() <= 50.0 + 1e-6
    assert cropped.meta["crop_buffer_m"] == 50.0
    assert cropped.meta["nodes_after_crop"] <= cropped.meta["nodes_read"]


# ---------------------------------------------------------------------- save / load


def assert_round_trip(net: RoadNetwork, folder: Path, pairs: np.ndarray) -> None:
    save_network(net, folder)
    assert (folder / "network.graphml").exists() and (folder / "network.json").exists()
    back = load_network(folder)
    for attr in ARRAYS:
        a, b = getattr(net, attr), getattr(back, attr)
        assert a.dtype.kind == b.dtype.kind, attr
        assert np.array_equal(a, b), attr
    assert back.congestion == net.congestion
    assert back.meta == net.meta
    for o, d in pairs:
        r1, r2 = net.shortest_path(int(o), int(d)), back.shortest_path(int(o), int(d))
        assert np.array_equal(r1.nodes, r2.nodes)
        assert np.array_equal(r1.edges, r2.edges)
        assert r1.travel_time == r2.travel_time
        r1, r2 = (
            net.shortest_path(int(o), int(d), when=8),
            back.shortest_path(int(o), int(d), when=8),
        )
        assert np.array_equal(r1.edges, r2.edges) and r1.travel_time == r2.travel_time


def test_save_load_round_trip_fixture(nanjing: RoadNetwork, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    pairs = rng.choice(nanjing.node_ids, size=(20, 2))
    assert_round_trip(nanjing, tmp_path / "saved", pairs)


@pytest.mark.slow
def test_save_load_round_trip_gongshu(gongshu: RoadNetwork, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    pairs = rng.choice(gongshu.node_ids, size=(10, 2))
    assert_round_trip(gongshu, tmp_path / "saved", pairs)
