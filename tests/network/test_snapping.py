"""Snapping lon/lat points to nodes and edges, checked against brute force."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from twin.network import RoadNetwork

EARTH_RADIUS_M = 6_371_008.8


def haversine(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance [m] (broadcasts)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi, dlam = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


def points_near_nodes(
    net: RoadNetwork, n: int, seed: int, jitter_deg: float = 0.0015
) -> tuple[np.ndarray, np.ndarray]:
    """Random points within about 150 m of random nodes."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(net.n_nodes, size=n)
    lon = net.node_lon[pick] + rng.uniform(-jitter_deg, jitter_deg, n)
    lat = net.node_lat[pick] + rng.uniform(-jitter_deg, jitter_deg, n)
    return lon, lat


def test_nearest_nodes_matches_brute_force(gongshu: RoadNetwork) -> None:
    lon, lat = points_near_nodes(gongshu, 200, seed=1)
    # plus points anywhere in the network's bounding box
    rng = np.random.default_rng(2)
    lon = np.concatenate([lon, rng.uniform(gongshu.node_lon.min(), gongshu.node_lon.max(), 100)])
    lat = np.concatenate([lat, rng.uniform(gongshu.node_lat.min(), gongshu.node_lat.max(), 100)])
    snap = gongshu.nearest_nodes(lon, lat, max_distance=20_000)
    assert snap.node.shape == snap.distance.shape == lon.shape

    # Projected brute force, with an independent transformer (UTM 51N, EPSG:32651).
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True)
    px, py = to_utm.transform(lon, lat)
    nx_, ny_ = to_utm.transform(gongshu.node_lon, gongshu.node_lat)
    d_all = np.hypot(px[:, None] - nx_[None, :], py[:, None] - ny_[None, :])
    np.testing.assert_allclose(snap.distance, d_all.min(axis=1), rtol=1e-9, atol=1e-6)
    picked = d_all[np.arange(lon.size), snap.node]
    np.testing.assert_allclose(picked, d_all.min(axis=1), rtol=1e-9, atol=1e-6)

    # Great-circle brute force: the same nodes, up to the projection's scale (< 0.3 %).
    h_all = haversine(
        lon[:, None], lat[:, None], gongshu.node_lon[None, :], gongshu.node_lat[None, :]
    )
    h_picked = h_all[np.arange(lon.size), snap.node]
    assert np.all(h_picked <= h_all.min(axis=1) * 1.003 + 0.05)
    np.testing.assert_allclose(snap.distance, h_picked, rtol=3e-3, atol=0.05)


def test_points_on_nodes_snap_to_them(gongshu: RoadNetwork) -> None:
    pick = np.arange(0, gongshu.n_nodes, 97)
    snap = gongshu.nearest_nodes(gongshu.node_lon[pick], gongshu.node_lat[pick], max_distance=1.0)
    np.testing.assert_allclose(snap.distance, 0.0, atol=1e-6)
    same_place = (gongshu.node_lon[snap.node] == gongshu.node_lon[pick]) & (
        gongshu.node_lat[snap.node] == gongshu.node_lat[pick]
    )
    assert same_place.all()


def test_scalar_point(gongshu: RoadNetwork) -> None:
    snap = gongshu.nearest_nodes(float(gongshu.node_lon[10]), float(gongshu.node_lat[10]))
    assert snap.node.shape == (1,)
    edge = gongshu.nearest_edges(float(gongshu.node_lon[10]), float(gongshu.node_lat[10]))
    assert edge.edge.shape == (1,)


def test_nearest_edges_are_nearer_than_nearest_nodes(gongshu: RoadNetwork) -> None:
    lon, lat = points_near_nodes(gongshu, 300, seed=3)
    nodes = gongshu.nearest_nodes(lon, lat, max_distance=1_000)
    edges = gongshu.nearest_edges(lon, lat, max_distance=1_000)
    assert np.all(edges.distance <= nodes.distance + 1e-6)
    assert np.all((edges.offset >= 0.0) & (edges.offset <= 1.0))
    assert np.all((edges.edge >= 0) & (edges.edge < gongshu.n_edges))


def test_nearest_edges_matches_brute_force(gongshu: RoadNetwork) -> None:
    lon, lat = points_near_nodes(gongshu, 30, seed=4)
    snap = gongshu.nearest_edges(lon, lat, max_distance=1_000)
    geoms = gongshu.projector.geometries(gongshu.edge_geometries())
    x, y = gongshu.projector.forward(lon, lat)
    for i in range(lon.size):
        d = shapely.distance(geoms, shapely.Point(x[i], y[i]))
        assert snap.distance[i] == pytest.approx(d.min(), rel=1e-9, abs=1e-6)
        assert d[snap.edge[i]] == pytest.approx(d.min(), rel=1e-9, abs=1e-6)
        # ties (both directions of a street) go to the lower edge position
        assert snap.edge[i] == np.flatnonzero(d <= d.min() + 1e-9)[0]


def test_point_on_an_edge_snaps_onto_it_with_its_offset(gongshu: RoadNetwork) -> None:
    rng = np.random.default_rng(5)
    proj = gongshu.projector.geometries(gongshu.edge_geometries())
    for e in rng.choice(np.flatnonzero(gongshu.length > 50), size=30, replace=False):
        frac = float(rng.uniform(0.1, 0.9))
        p = shapely.line_interpolate_point(proj[e], frac, normalized=True)
        lon, lat = gongshu.projector.inverse([p.x], [p.y])
        snap = gongshu.nearest_edges(lon, lat, max_distance=5.0)
        assert snap.distance[0] < 1e-3
        # The point lies on edge e and, on a two-way street, on its reverse twin too:
        # the lower position of the two wins.
        x, y = gongshu.projector.forward(lon, lat)
        d = shapely.distance(proj, shapely.Point(x[0], y[0]))
        tied = np.flatnonzero(d <= d.min() + 1e-6)
        assert e in tied
        got = int(snap.edge[0])
        assert got == tied.min()
        if got == e:
            assert snap.offset[0] == pytest.approx(frac, abs=1e-6)
        elif shapely.equals_exact(proj[got], proj[e].reverse(), 1e-9):
            assert snap.offset[0] == pytest.approx(1.0 - frac, abs=1e-6)


def test_snapping_on_the_small_fixture(nanjing: RoadNetwork) -> None:
    lon, lat = points_near_nodes(nanjing, 50, seed=6, jitter_deg=0.0008)
    nodes = nanjing.nearest_nodes(lon, lat)
    edges = nanjing.nearest_edges(lon, lat)
    h = haversine(lon[:, None], lat[:, None], nanjing.node_lon[None, :], nanjing.node_lat[None, :])
    np.testing.assert_array_equal(nodes.node, h.argmin(axis=1))
    assert np.all(edges.distance <= nodes.distance + 1e-6)
    assert np.all((edges.offset >= 0) & (edges.offset <= 1))
