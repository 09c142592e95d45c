"""Routing: travel times against networkx, route validity, congestion, closures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from twin.errors import NoRouteError
from twin.network import CongestionProfile, RoadNetwork, Route, build_network

N_PAIRS = 50


def weighted_copy(net: RoadNetwork, when: float | None) -> nx.MultiDiGraph:
    """``net.G``'s edges (keys kept) weighted ``w`` = the twin's edge travel time at ``when``.

    Built edge by edge through ``net.edge_position``, so the mapping from graph edges to
    array positions is exercised as well.
    """
    times = net.edge_travel_time(when)
    H = nx.MultiDiGraph()
    H.add_nodes_from(net.G.nodes)
    for u, v, k in net.G.edges(keys=True):
        H.add_edge(u, v, k, w=float(times[net.edge_position(u, v, k)]))
    return H


def random_pairs(net: RoadNetwork, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(net.node_ids, size=(n, 2), replace=True)


def assert_valid_route(
    net: RoadNetwork, route: Route, origin: int, destination: int, when: float | None
) -> None:
    """Consecutive edges connect, the chain runs origin → destination, times add up."""
    o, d = net.node_position([origin, destination])
    e = route.edges
    assert e.dtype.kind == "i"
    assert len(route.nodes) == len(e) + 1
    assert route.nodes[0] == origin and route.nodes[-1] == destination
    if origin == destination:
        assert len(e) == 0 and route.travel_time == 0.0
        return
    assert net.edge_u[e[0]] == o
    assert net.edge_v[e[-1]] == d
    np.testing.assert_array_equal(net.edge_v[e[:-1]], net.edge_u[e[1:]])
    np.testing.assert_array_equal(net.node_ids[net.edge_u[e]], route.nodes[:-1])
    np.testing.assert_array_equal(net.node_ids[net.edge_v[e]], route.nodes[1:])
    times = net.edge_travel_time(when)
    assert route.travel_time == pytest.approx(times[e].sum(), rel=1e-9)
    assert route.length == pytest.approx(net.length[e].sum(), rel=1e-12)
    assert len(set(route.nodes.tolist())) == len(route.nodes)  # no loops


# ---------------------------------------------------------------------- against networkx


@pytest.mark.parametrize("when", [None, 8], ids=["free_flow", "hour_8"])
def test_travel_times_equal_networkx(gongshu: RoadNetwork, when: float | None) -> None:
    H = weighted_copy(gongshu, when)
    for o, d in random_pairs(gongshu, N_PAIRS, seed=2024):
        expected = nx.shortest_path_length(H, int(o), int(d), weight="w")
        route = gongshu.shortest_path(int(o), int(d), when=when)
        assert route.travel_time == pytest.approx(expected, rel=1e-9, abs=1e-9)
        assert_valid_route(gongshu, route, int(o), int(d), when)


def test_fixture_travel_times_equal_networkx(nanjing: RoadNetwork) -> None:
    for when in (None, 8, 18):
        H = weighted_copy(nanjing, when)
        expected = dict(nx.all_pairs_dijkstra_path_length(H, weight="w"))
        got = nanjing.travel_time_matrix(nanjing.node_ids, nanjing.node_ids, when=when)
        for i, a in enumerate(nanjing.node_ids):
            for j, b in enumerate(nanjing.node_ids):
                assert got[i, j] == pytest.approx(expected[int(a)][int(b)], rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("when", [None, 18], ids=["free_flow", "hour_18"])
def test_travel_time_matrix_equals_networkx(gongshu: RoadNetwork, when: float | None) -> None:
    H = weighted_copy(gongshu, when)
    rng = np.random.default_rng(11)
    sources = rng.choice(gongshu.node_ids, size=3, replace=False)
    matrix = gongshu.travel_time_matrix(sources, gongshu.node_ids, when=when)
    assert matrix.shape == (3, gongshu.n_nodes)
    for row, s in zip(matrix, sources, strict=True):
        lengths = nx.single_source_dijkstra_path_length(H, int(s), weight="w")
        expected = np.array([lengths[int(n)] for n in gongshu.node_ids])
        np.testing.assert_allclose(row, expected, rtol=1e-9, atol=1e-9)
    # Repeated and reordered origins/destinations map back correctly.
    dests = gongshu.node_ids[[5, 0, 5]]
    sub = gongshu.travel_time_matrix(sources[[2, 0, 2]], dests, when=when)
    np.testing.assert_array_equal(sub, matrix[[2, 0, 2]][:, [5, 0, 5]])
    by_pos = gongshu.travel_time_matrix(
        gongshu.node_position(sources), [5, 0, 5], when=when, by_position=True
    )
    np.testing.assert_array_equal(by_pos, matrix[:, [5, 0, 5]])


def test_travel_time_tree_is_a_shortest_path_tree(gongshu: RoadNetwork) -> None:
    source = int(gongshu.node_ids[1234])
    time, pred = gongshu.travel_time_tree(source, when=8)
    s = int(gongshu.node_position(source)[0])
    np.testing.assert_array_equal(
        time, gongshu.travel_time_matrix([source], gongshu.node_ids, when=8)[0]
    )
    assert time[s] == 0.0 and pred[s] < 0
    assert np.all(np.isfinite(time))  # strongly connected
    others = np.flatnonzero(np.arange(gongshu.n_nodes) != s)
    assert np.all(pred[others] >= 0)
    # Each node's time = its predecessor's time + the fastest edge between them.
    edge_time = gongshu.edge_travel_time(8)
    best = {}
    for e in range(gongshu.n_edges):
        key = (int(gongshu.edge_u[e]), int(gongshu.edge_v[e]))
        best[key] = min(best.get(key, np.inf), edge_time[e])
    step = np.array([best[(int(pred[v]), int(v))] for v in others])
    np.testing.assert_allclose(time[others], time[pred[others]] + step, rtol=1e-9)


# ---------------------------------------------------------------------- routes


def test_shortest_path_is_a_valid_edge_chain(gongshu: RoadNetwork) -> None:
    for o, d in random_pairs(gongshu, 20, seed=5):
        for when in (None, 17.5):
            route = gongshu.shortest_path(int(o), int(d), when=when)
            assert_valid_route(gongshu, route, int(o), int(d), when)


def test_route_to_itself_is_empty(gongshu: RoadNetwork) -> None:
    node = int(gongshu.node_ids[42])
    route = gongshu.shortest_path(node, node)
    assert route.travel_time == 0.0 and route.length == 0.0
    assert route.edges.size == 0
    np.testing.assert_array_equal(route.nodes, [node])


def test_shortest_paths_match_single_queries(gongshu: RoadNetwork) -> None:
    pairs = random_pairs(gongshu, 8, seed=9)
    routes = gongshu.shortest_paths(pairs[:, 0], pairs[:, 1], when=8)
    assert len(routes) == len(pairs)
    for (o, d), route in zip(pairs, routes, strict=True):
        single = gongshu.shortest_path(int(o), int(d), when=8)
        np.testing.assert_array_equal(route.edges, single.edges)
        assert route.travel_time == single.travel_time
    positions = gongshu.node_position(pairs.ravel()).reshape(pairs.shape)
    by_pos = gongshu.shortest_paths(positions[:, 0], positions[:, 1], when=8, by_position=True)
    assert [r.travel_time for r in by_pos] == [r.travel_time for r in routes]
    with pytest.raises(ValueError, match="one per pair"):
        gongshu.shortest_paths(pairs[:3, 0], pairs[:2, 1])


def test_travel_times_obey_the_triangle_inequality(nanjing: RoadNetwork) -> None:
    # Triangle inequality over the fixture, free flow: t(a,c) <= t(a,b) + t(b,c).
    t = nanjing.travel_time_matrix(nanjing.node_ids, nanjing.node_ids)
    assert np.all(np.diag(t) == 0)
    via = t[:, :, None] + t[None, :, :]  # via[a, b, c] = t(a,b) + t(b,c)
    assert np.all(t[:, None, :] <= via + 1e-9)


# ---------------------------------------------------------------------- congestion


def test_congested_edge_times_follow_the_profile(gongshu: RoadNetwork) -> None:
    profile = gongshu.congestion
    m = profile.index_at(8)
    assert m == pytest.approx(1.55)
    t8 = gongshu.edge_travel_time(8)
    for cls_name, s in profile.sensitivity.items():
        sel = gongshu.road_class == cls_name
        assert sel.any()
        np.testing.assert_allclose(
            t8[sel], gongshu.free_flow_time[sel] * (1 + s * (m - 1)), rtol=1e-12
        )
    np.testing.assert_array_equal(gongshu.edge_travel_time(None), gongshu.free_flow_time)
    np.testing.assert_array_equal(gongshu.edge_travel_time(3), gongshu.free_flow_time)  # index 1.0


def test_datetime_and_hour_agree(gongshu: RoadNetwork) -> None:
    cst = timezone(timedelta(hours=8))
    when = datetime(2024, 6, 3, 8, 40, tzinfo=cst)
    np.testing.assert_array_equal(gongshu.edge_travel_time(when), gongshu.edge_travel_time(8))
    np.testing.assert_array_equal(gongshu.edge_travel_time(32), gongshu.edge_travel_time(8))
    o, d = (int(x) for x in gongshu.node_ids[[10, 9000]])
    assert (
        gongshu.shortest_path(o, d, when=when).travel_time
        == gongshu.shortest_path(o, d, when=8.9).travel_time
    )


def test_peak_hour_is_never_faster(gongshu: RoadNetwork) -> None:
    pairs = random_pairs(gongshu, 20, seed=13)
    free = gongshu.travel_time_matrix(pairs[:, 0], pairs[:, 1])
    peak = gongshu.travel_time_matrix(pairs[:, 0], pairs[:, 1], when=18)
    assert np.all(np.diag(peak) >= np.diag(free))
    assert np.all(np.diag(peak) <= 1.65 * np.diag(free) * (1 + 1e-12))  # the 18:00 index
    assert np.any(np.diag(peak) > np.diag(free))


def test_free_flow_profile_has_no_peak(nanjing_osm: Path) -> None:
    net = build_network(nanjing_osm, congestion=CongestionProfile.free_flow())
    np.testing.assert_array_equal(net.edge_travel_time(8), net.free_flow_time)


# ---------------------------------------------------------------------- closures and slow-downs


def pick_route(net: RoadNetwork, seed: int, min_edges: int = 8) -> tuple[int, int, Route]:
    for o, d in random_pairs(net, 200, seed=seed):
        route = net.shortest_path(int(o), int(d))
        if len(route.edges) >= min_edges:
            return int(o), int(d), route
    raise AssertionError("no long enough route found")


def test_closing_an_edge_reroutes_and_reopening_restores(gongshu_fresh: RoadNetwork) -> None:
    net = gongshu_fresh
    o, d, before = pick_route(net, seed=21)
    before_8 = net.shortest_path(o, d, when=8)
    closed = int(before.edges[len(before.edges) // 2])
    net.close_edges([closed])
    assert net.closed[closed] and net.closed.sum() == 1
    assert np.isinf(net.edge_travel_time()[closed])
    after = net.shortest_path(o, d)
    assert closed not in after.edges.tolist()
    assert after.travel_time >= before.travel_time
    assert_valid_route(net, after, o, d, None)
    assert closed not in net.shortest_path(o, d, when=8).edges.tolist()
    assert net.summary()["closed_edges"] == 1

    net.reopen_edges([closed])
    assert not net.closed.any()
    again = net.shortest_path(o, d)
    np.testing.assert_array_equal(again.edges, before.edges)
    np.testing.assert_array_equal(again.nodes, before.nodes)
    assert again.travel_time == before.travel_time
    again_8 = net.shortest_path(o, d, when=8)
    np.testing.assert_array_equal(again_8.edges, before_8.edges)
    assert again_8.travel_time == before_8.travel_time


def test_closing_a_whole_route_and_reopening_all(gongshu_fresh: RoadNetwork) -> None:
    """Close every inner edge of a route: a detour is found when networkx finds one."""
    net = gongshu_fresh
    checked = 0
    for o, d in random_pairs(net, 100, seed=22):
        before = net.shortest_path(int(o), int(d))
        if len(before.edges) < 8:
            continue
        inner = before.edges[2:-2]
        net.close_edges(inner)
        H = net.G.copy()
        H.remove_edges_from(
            (
                int(net.node_ids[net.edge_u[e]]),
                int(net.node_ids[net.edge_v[e]]),
                int(net.edge_key[e]),
            )
            for e in inner
        )
        if nx.has_path(H, int(o), int(d)):
            after = net.shortest_path(int(o), int(d))
            assert not set(after.edges.tolist()) & set(inner.tolist())
            assert after.travel_time > before.travel_time
            assert_valid_route(net, after, int(o), int(d), None)
        else:
            with pytest.raises(NoRouteError):
                net.shortest_path(int(o), int(d))
        net.reopen_edges()
        assert not net.closed.any()
        assert net.shortest_path(int(o), int(d)).travel_time == before.travel_time
        checked += 1
        if checked == 3:
            break
    assert checked == 3


def test_slowing_an_edge_raises_travel_time(gongshu_fresh: RoadNetwork) -> None:
    net = gongshu_fresh
    o, d, before = pick_route(net, seed=23)
    edge = int(before.edges[1])
    t_edge = net.edge_travel_time()[edge]
    net.slow_edges([edge], 3.0)
    assert net.edge_travel_time()[edge] == pytest.approx(3.0 * t_edge, rel=1e-12)
    after = net.shortest_path(o, d)
    # Either the route keeps the edge and pays 2 t_edge more, or it detours for less.
    assert before.travel_time < after.travel_time <= before.travel_time + 2 * t_edge * (1 + 1e-9)
    if edge in after.edges.tolist():
        assert after.travel_time == pytest.approx(before.travel_time + 2 * t_edge, rel=1e-9)
    assert net.summary()["slowed_edges"] == 1
    assert not net.closed.any()
    net.reopen_edges(edge)
    assert net.shortest_path(o, d).travel_time == before.travel_time
    with pytest.raises(ValueError, match="≥ 1"):
        net.slow_edges([edge], 0.5)


def _parallel_network() -> RoadNetwork:
    G = nx.MultiDiGraph(crs="epsg:4326")
    n = 12
    for i in range(n):
        G.add_node(
            i + 1,
            x=120.15 + 0.001 * np.cos(2 * np.pi * i / n),
            y=30.3 + 0.001 * np.sin(2 * np.pi * i / n),
        )
    for i in range(n):
        a, b = i + 1, (i + 1) % n + 1
        G.add_edge(a, b, length=100.0)
        G.add_edge(b, a, length=100.0)
    G.add_edge(1, 2, length=300.0)  # key 1: a longer road alongside edge (1, 2, 0)
    return build_network(G)


def test_parallel_edges_use_the_faster_until_it_closes() -> None:
    """Two roads from 1 to 2, 100 m and 300 m: closing the short one routes over the long."""
    net = _parallel_network()
    short, long_ = net.edge_position(1, 2, 0), net.edge_position(1, 2, 1)
    route = net.shortest_path(1, 2)
    np.testing.assert_array_equal(route.edges, [short])
    net.close_edges(short)
    route = net.shortest_path(1, 2)
    np.testing.assert_array_equal(route.edges, [long_])
    assert route.travel_time == pytest.approx(300.0 / (25.0 / 3.6), rel=1e-12)
    assert route.length == pytest.approx(300.0)
    net.close_edges(long_)  # now the only way round is the other side of the ring
    route = net.shortest_path(1, 2)
    assert len(route.edges) == 11
    assert route.travel_time == pytest.approx(1100.0 / (25.0 / 3.6), rel=1e-12)
    net.reopen_edges()
    np.testing.assert_array_equal(net.shortest_path(1, 2).edges, [short])
