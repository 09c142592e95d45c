"""Every error path of the network layer: the right class, and a message that helps."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely

from twin.errors import (
    DisconnectedNetworkError,
    EmptyNetworkError,
    InputFileNotFoundError,
    NoRouteError,
    NotOSMError,
    OutsideNetworkError,
    TwinError,
    UnknownEdgeError,
    UnknownNodeError,
)
from twin.network import RoadNetwork, build_network, load_network
from twin.network import io as twin_io
from twin.network.build import load_boundary

BEIJING = (116.397, 39.909)  # Tiananmen, about 1,100 km from either fixture


def ring_graph(n: int, lon0: float, lat0: float, first_id: int = 1) -> nx.MultiDiGraph:
    """A two-way ring road of ``n`` nodes with ``x``/``y``/``length`` only."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    ids = [first_id + i for i in range(n)]
    for i, node in enumerate(ids):
        angle = 2 * np.pi * i / n
        G.add_node(node, x=lon0 + 0.001 * np.cos(angle), y=lat0 + 0.001 * np.sin(angle))
    for i in range(n):
        a, b = ids[i], ids[(i + 1) % n]
        G.add_edge(a, b, length=100.0)
        G.add_edge(b, a, length=100.0)
    return G


# ---------------------------------------------------------------------------- input files


@pytest.mark.parametrize(
    "name", ["missing.osm", "missing.osm.pbf", "missing.graphml.gz", "missing.osm.bz2"]
)
def test_missing_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with pytest.raises(InputFileNotFoundError) as info:
        build_network(path)
    assert isinstance(info.value, FileNotFoundError)
    msg = str(info.value)
    assert str(path) in msg
    assert "no such file" in msg
    assert ".osm.pbf" in msg  # says which files would do


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileNotFoundError, match="is a folder"):
        build_network(tmp_path)


def test_missing_saved_network(tmp_path: Path) -> None:
    with pytest.raises(InputFileNotFoundError) as info:
        load_network(tmp_path / "nowhere")
    msg = str(info.value)
    assert "network.graphml" in msg and "--out" in msg


NOT_OSM = {
    "notes.osm": b"These are my notes about the roads of Gongshu.\n",
    "data.osm": json.dumps({"type": "FeatureCollection", "features": []}).encode(),
    "picture.osm": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
    "roads.osm.xml": b"<?xml version='1.0'?><html><body>not osm</body></html>",
}


@pytest.mark.parametrize("name", sorted(NOT_OSM))
def test_not_osm_xml(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(NOT_OSM[name])
    with pytest.raises(NotOSMError) as info:
        build_network(path)
    assert isinstance(info.value, ValueError)
    msg = str(info.value)
    assert str(path) in msg
    assert "not an OpenStreetMap XML file" in msg
    assert ".osm.pbf" in msg and "Overpass" in msg  # how to get a proper file


def test_truncated_osm_xml(nanjing_osm: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.osm"
    path.write_text(nanjing_osm.read_text(encoding="utf-8")[:6000], encoding="utf-8")
    with pytest.raises(NotOSMError, match="could not parse it as OSM XML"):
        build_network(path)


def test_bz2_that_is_not_bz2(tmp_path: Path) -> None:
    path = tmp_path / "roads.osm.bz2"
    path.write_bytes(b"<osm version='0.6'></osm>")
    with pytest.raises(NotOSMError, match="could not read it"):
        build_network(path)


@pytest.mark.parametrize(
    "content", [b"garbage" * 100, bytes(range(256)) * 8, b""], ids=["text", "binary", "empty"]
)
def test_garbage_pbf(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "roads.osm.pbf"
    path.write_bytes(content)
    with pytest.raises((NotOSMError, EmptyNetworkError)) as info:
        build_network(path)
    msg = str(info.value)
    assert str(path) in msg
    if content:
        assert isinstance(info.value, NotOSMError)
        assert "could not read it as OSM PBF" in msg and "valid .osm.pbf" in msg


@pytest.mark.parametrize(
    "content",
    [b"<html><body>404</body></html>", b"node,x,y\n1,120.1,30.2\n", b"<graphml><graph"],
    ids=["html", "csv", "broken"],
)
def test_graphml_that_is_not_graphml(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "roads.graphml"
    path.write_bytes(content)
    with pytest.raises(NotOSMError) as info:
        build_network(path)
    msg = str(info.value)
    assert str(path) in msg and "GraphML" in msg
    assert "osmnx" in msg  # what to give instead


def test_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "roads.shp"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(NotOSMError) as info:
        build_network(path)
    assert "unknown file type '.shp'" in str(info.value)
    assert ".osm.pbf" in str(info.value)


# ---------------------------------------------------------------------------- empty networks


def only_buildings(nanjing_osm: Path, dst: Path) -> Path:
    """The fixture with every highway way removed: nodes, buildings and nothing to drive."""
    tree = ET.parse(nanjing_osm)
    root = tree.getroot()
    for way in root.findall("way"):
        if any(tag.get("k") == "highway" for tag in way.iter("tag")):
            root.remove(way)
    kinds = [{t.get("k") for t in way.iter("tag")} for way in root.findall("way")]
    assert kinds and all("building" in k and "highway" not in k for k in kinds)
    tree.write(dst, encoding="UTF-8", xml_declaration=True)
    return dst


def test_osm_with_only_buildings(nanjing_osm: Path, tmp_path: Path) -> None:
    path = only_buildings(nanjing_osm, tmp_path / "buildings.osm")
    with pytest.raises(EmptyNetworkError) as info:
        build_network(path)
    msg = str(info.value)
    assert str(path) in msg and "no drivable road" in msg
    assert "buildings" in msg  # ... check the file covers streets, not just buildings


def test_pbf_with_only_buildings(nanjing_osm: Path, tmp_path: Path) -> None:
    import osmium

    xml = only_buildings(nanjing_osm, tmp_path / "buildings.osm")
    pbf = tmp_path / "buildings.osm.pbf"
    writer = osmium.SimpleWriter(str(pbf))
    for obj in osmium.FileProcessor(str(xml)):
        if obj.is_node():
            writer.add_node(obj)
        elif obj.is_way():
            writer.add_way(obj)
    writer.close()
    with pytest.raises(EmptyNetworkError, match="no drivable road"):
        build_network(pbf)


def test_osm_without_elements(tmp_path: Path) -> None:
    path = tmp_path / "empty.osm"
    path.write_text("<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'>\n</osm>\n")
    with pytest.raises(EmptyNetworkError) as info:
        build_network(path)
    assert "no road" in str(info.value) and "streets" in str(info.value)


def test_tiny_crop_area(nanjing: RoadNetwork, nanjing_osm: Path) -> None:
    """A polygon around three nodes leaves too little to route on."""
    x, y = nanjing.node_lon[:3], nanjing.node_lat[:3]
    box = shapely.box(x.min() - 1e-5, y.min() - 1e-5, x.max() + 1e-5, y.max() + 1e-5)
    with pytest.raises(EmptyNetworkError) as info:
        build_network(nanjing_osm, boundary=box, buffer_m=0.0)
    msg = str(info.value)
    assert "area" in msg
    assert "larger area" in msg or "Check the area" in msg


def test_crop_area_without_roads(nanjing_osm: Path) -> None:
    far = shapely.box(BEIJING[0] - 0.01, BEIJING[1] - 0.01, BEIJING[0] + 0.01, BEIJING[1] + 0.01)
    with pytest.raises(EmptyNetworkError) as info:
        build_network(nanjing_osm, boundary=far)
    msg = str(info.value)
    assert "no road lies in the area" in msg and "WGS84" in msg


def test_boundary_files(nanjing_osm: Path, tmp_path: Path) -> None:
    with pytest.raises(InputFileNotFoundError, match="no such boundary file"):
        build_network(nanjing_osm, boundary=tmp_path / "missing.geojson")
    points = tmp_path / "points.geojson"
    points.write_text(
        json.dumps(
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.79, 32.05]}}
        )
    )
    with pytest.raises(EmptyNetworkError, match="no Polygon"):
        load_boundary(points)
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    with pytest.raises(EmptyNetworkError, match="not valid GeoJSON"):
        load_boundary(broken)


def test_empty_place_name() -> None:
    with pytest.raises(EmptyNetworkError, match="place name is empty"):
        twin_io.graph_from_place("   ")


def test_empty_bbox() -> None:
    with pytest.raises(EmptyNetworkError) as info:
        twin_io.graph_from_bbox(120.20, 30.26, 120.13, 30.33)  # west and east swapped
    msg = str(info.value)
    assert "empty or invalid" in msg and "W < E" in msg


# ---------------------------------------------------------------------------- disconnected


def test_two_equal_far_apart_parts_are_disconnected() -> None:
    G = nx.compose(ring_graph(12, 120.15, 30.30), ring_graph(12, 120.25, 30.40, first_id=101))
    with pytest.raises(DisconnectedNetworkError) as info:
        build_network(G, name="two towns", min_component_fraction=0.6)
    msg = str(info.value)
    assert "two towns" in msg
    assert "2 strongly connected parts" in msg and "50%" in msg
    assert "min_component_fraction" in msg and "one-way" in msg


def test_three_equal_parts_are_disconnected_by_default() -> None:
    parts = [ring_graph(12, 120.15 + 0.05 * i, 30.30, first_id=100 * i + 1) for i in range(3)]
    with pytest.raises(DisconnectedNetworkError, match="33%"):
        build_network(nx.compose_all(parts))


def test_strict_component_fraction_on_the_fixture(nanjing_osm: Path) -> None:
    with pytest.raises(DisconnectedNetworkError) as info:
        build_network(nanjing_osm, min_component_fraction=0.99)
    msg = str(info.value)
    assert "nanjing_small.osm" in msg and "99%" in msg and "min_component_fraction" in msg


def test_one_way_pieces_are_too_small() -> None:
    """A one-way chain has no strongly connected part bigger than a node."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    for i in range(20):
        G.add_node(i, x=120.15 + 0.001 * i, y=30.3)
    for i in range(19):
        G.add_edge(i, i + 1, length=100.0)
    with pytest.raises(EmptyNetworkError, match="only 1 node"):
        build_network(G)


# ---------------------------------------------------------------------------- points


def test_points_outside_the_network(gongshu: RoadNetwork) -> None:
    lon0, lat0 = float(gongshu.node_lon[100]), float(gongshu.node_lat[100])
    lon = [lon0, BEIJING[0], lon0, lat0]  # #1 Beijing, #3 lat/lon swapped
    lat = [lat0, BEIJING[1], lat0, lon0]
    for snap, what in ((gongshu.nearest_nodes, "node"), (gongshu.nearest_edges, "edge")):
        with pytest.raises(OutsideNetworkError) as info:
            snap(lon, lat)
        assert isinstance(info.value, ValueError)
        msg = str(info.value)
        assert f"2 of 4 point(s) lie farther than 250 m from the nearest {what}" in msg
        assert "#1 (" in msg and "#3 (" in msg
        assert "#0 (" not in msg and "#2 (" not in msg
        assert "WGS84" in msg and "lat/lon swapped" in msg and "max_distance" in msg
    with pytest.raises(OutsideNetworkError, match=r"#0 \(11\d{5} m\)"):  # ~1,100 km
        gongshu.nearest_nodes([BEIJING[0]], [BEIJING[1]])


def test_many_points_outside_are_summarised(nanjing: RoadNetwork) -> None:
    lon = np.full(8, BEIJING[0])
    lat = np.full(8, BEIJING[1])
    with pytest.raises(OutsideNetworkError) as info:
        nanjing.nearest_nodes(lon, lat)
    assert "8 of 8" in str(info.value) and "and 3 more" in str(info.value)


def test_max_distance_is_respected(gongshu: RoadNetwork) -> None:
    lon, lat = float(gongshu.node_lon[0]) + 0.001, float(gongshu.node_lat[0])  # ~96 m east
    snap = gongshu.nearest_nodes(lon, lat)
    d = float(snap.distance[0])
    with pytest.raises(OutsideNetworkError):
        gongshu.nearest_nodes(lon, lat, max_distance=d * 0.99)
    assert gongshu.nearest_nodes(lon, lat, max_distance=d * 1.01).node[0] == snap.node[0]


# ---------------------------------------------------------------------------- ids


def test_unknown_node(gongshu: RoadNetwork) -> None:
    good = int(gongshu.node_ids[0])
    for call in (
        lambda: gongshu.node_position(123),
        lambda: gongshu.node_position([good, 123, -5]),
        lambda: gongshu.shortest_path(good, 123),
        lambda: gongshu.travel_time_matrix([123], [good]),
        lambda: gongshu.travel_time_tree(10**15),
    ):
        with pytest.raises(UnknownNodeError) as info:
            call()
        assert isinstance(info.value, KeyError)
        msg = str(info.value)
        assert not msg.startswith("'")  # readable, not KeyError's quoted repr
        assert "not in the network" in msg and "nearest_nodes()" in msg
    with pytest.raises(UnknownNodeError, match=r"\[123, -5\]"):
        gongshu.node_position([good, 123, -5])
    # larger than every id: must not index past the end
    with pytest.raises(UnknownNodeError):
        gongshu.node_position(int(gongshu.node_ids[-1]) + 1)


def test_unknown_edge(nanjing: RoadNetwork) -> None:
    a = int(nanjing.node_ids[nanjing.edge_u[0]])
    b = int(nanjing.node_ids[nanjing.edge_v[0]])
    assert nanjing.edge_position(a, b, int(nanjing.edge_key[0])) == 0
    with pytest.raises(UnknownEdgeError) as info:
        nanjing.edge_position(a, b, 99)
    assert isinstance(info.value, KeyError)
    msg = str(info.value)
    assert f"({a}, {b}, key=99)" in msg and "not in the network" in msg
    assert "nearest_edges()" in msg and not msg.startswith("'")
    with pytest.raises(UnknownEdgeError):
        nanjing.edge_position(b, 1, 0)
    for bad in ([nanjing.n_edges], [-1], [0, 10**6]):
        with pytest.raises(UnknownEdgeError) as info:
            nanjing.close_edges(bad)
        assert f"outside 0..{nanjing.n_edges - 1}" in str(info.value)
        assert "edge_position()" in str(info.value)
    assert not nanjing.closed.any()  # a rejected call changes nothing
    with pytest.raises(UnknownEdgeError):
        nanjing.slow_edges(nanjing.n_edges, 2.0)
    with pytest.raises(UnknownEdgeError):
        nanjing.reopen_edges([nanjing.n_edges + 3])


# ---------------------------------------------------------------------------- no route


def test_closing_every_way_out_of_a_node(nanjing: RoadNetwork) -> None:
    src = 0
    out_edges = np.flatnonzero(nanjing.edge_u == src)
    assert out_edges.size >= 1
    origin, target = int(nanjing.node_ids[src]), int(nanjing.node_ids[-1])
    before = nanjing.shortest_path(origin, target)
    nanjing.close_edges(out_edges)
    with pytest.raises(NoRouteError) as info:
        nanjing.shortest_path(origin, target)
    assert isinstance(info.value, ValueError)
    msg = str(info.value)
    assert f"no route from node {origin} to node {target}" in msg
    assert f"closed edges ({out_edges.size} now)" in msg and "Reopen" in msg
    assert np.all(np.isinf(nanjing.travel_time_matrix([origin], nanjing.node_ids)[0][1:]))
    # every other node still reaches the others (in-edges of src are open)
    assert nanjing.shortest_path(target, origin).travel_time > 0
    nanjing.reopen_edges(out_edges)
    assert nanjing.shortest_path(origin, target).travel_time == before.travel_time


def test_closing_every_way_into_a_node(nanjing: RoadNetwork) -> None:
    dst = nanjing.n_nodes - 1
    nanjing.close_edges(np.flatnonzero(nanjing.edge_v == dst))
    with pytest.raises(NoRouteError):
        nanjing.shortest_path(int(nanjing.node_ids[0]), int(nanjing.node_ids[dst]))
    with pytest.raises(NoRouteError):
        nanjing.shortest_paths(nanjing.node_ids[:2], nanjing.node_ids[[dst, dst]])


def test_every_error_is_a_twin_error() -> None:
    for cls in (
        InputFileNotFoundError, NotOSMError, EmptyNetworkError, DisconnectedNetworkError,
        OutsideNetworkError, UnknownNodeError, UnknownEdgeError, NoRouteError,
    ):  # fmt: skip
        assert issubclass(cls, TwinError)
