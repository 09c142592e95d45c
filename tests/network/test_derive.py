"""City layers derived from OSM at build time (twin.network.derive)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import pytest
import shapely

from twin.network import RoadNetwork, build_network, load_network, save_network
from twin.network.derive import DEPOT_GRID_M, wanted
from twin.network.layers import read_layer, write_layer

CLIPPED = Path(__file__).resolve().parents[1] / "data" / "nanjing_xinjiekou_clipped.osm.pbf"


@pytest.fixture(scope="module")
def xinjiekou() -> RoadNetwork:
    """The clipped Xinjiekou fixture, with derived layers (do not mutate)."""
    return build_network(CLIPPED, min_component_fraction=0.5, cache=False)


def retagged(dst: Path, osm_id: int, tags: dict[str, str]) -> Path:
    """The clipped fixture as XML with one real object's tags replaced (test-time variant)."""
    writer = osmium.SimpleWriter(str(dst.with_suffix(".tmp.osm")))
    for obj in osmium.FileProcessor(str(CLIPPED)):
        if obj.is_node():
            writer.add_node(obj)
        elif obj.is_way():
            writer.add_way(obj)
    writer.close()
    tree = ET.parse(dst.with_suffix(".tmp.osm"))
    for el in tree.getroot():
        if el.get("id") == str(osm_id):
            for t in el.findall("tag"):
                el.remove(t)
            for k, v in tags.items():
                ET.SubElement(el, "tag", k=k, v=v)
    tree.write(dst, encoding="UTF-8", xml_declaration=True)
    return dst


def test_wanted_tags() -> None:
    assert wanted({"place": "square"}) and wanted({"railway": "subway_entrance"})
    assert wanted({"highway": "pedestrian", "area": "yes"})
    assert not wanted({"highway": "pedestrian"})  # a pedestrian street, not a square
    assert wanted({"amenity": "police"}) and wanted({"office": "government"})
    assert not wanted({"office": "yes"}) and not wanted({"building": "yes"})


def test_every_derived_feature_names_its_osm_object(xinjiekou: RoadNetwork) -> None:
    assert {"stations", "plazas", "depots"} <= set(xinjiekou.layers)
    for name, gdf in xinjiekou.layers.items():
        assert len(gdf) > 0, name
        assert gdf["derived"].map(lambda v: v is True).all(), name
        assert (gdf["snap_distance_m"] <= 250.0).all(), name
        if name == "depots":  # a grid: no OSM object behind it
            continue
        for ref, tags in zip(gdf["osm_id"], gdf["osm_tags"], strict=True):
            assert ref.split("/")[0] in ("node", "way") and int(ref.split("/")[1]) > 0
            assert wanted(json.loads(tags)), ref


def test_stations_and_entrances(xinjiekou: RoadNetwork) -> None:
    st = xinjiekou.layers["stations"]
    stations = st[st["kind"] != "entrance"]
    # Two station areas (one per metro line) of one name merge into one station.
    assert list(stations["name"]) == ["新街口"] and list(stations["kind"]) == ["metro_station"]
    entrances = st[st["kind"] == "entrance"]
    assert len(entrances) == 22 and entrances["name"].str.startswith("新街口#").all()
    assert (entrances["station"] == "新街口").sum() >= 20
    assert not st["illustrative"].any()


def test_plazas_from_squares_and_pedestrian_areas(xinjiekou: RoadNetwork) -> None:
    plazas = xinjiekou.layers["plazas"].set_index("name")
    assert set(plazas.index) == {"新街口广场", "正洪街"}
    sq = plazas.loc["新街口广场"]
    assert json.loads(sq["osm_tags"])["place"] == "square"
    assert sq["kind"] == "station_plaza"  # metro entrances within 150 m
    assert 200 < sq["area_m2"] < 400
    assert json.loads(plazas.loc["正洪街", "osm_tags"])["highway"] == "pedestrian"


def test_depots_fall_back_to_a_grid(xinjiekou: RoadNetwork) -> None:
    depots = xinjiekou.layers["depots"]
    assert depots["id"].str.startswith("depot-grid").all() and depots["illustrative"].all()
    assert (depots["snap_distance_m"] == 0.0).all()  # placed on a node
    assert f"{DEPOT_GRID_M:g} m grid" in xinjiekou.meta["derived_layers"]["depots"]


def test_depots_from_a_police_station(tmp_path: Path) -> None:
    src = retagged(tmp_path / "police.osm", 1234712883, {"amenity": "police", "name": "派出所"})
    net = build_network(src, min_component_fraction=0.5, cache=False)
    depots = net.layers["depots"]
    assert list(depots["id"]) == ["depot-node-1234712883"] and not depots["illustrative"].any()


def test_sites_from_landuse_construction(tmp_path: Path) -> None:
    # A real closed way of the fixture (landuse=village_green) retagged as a site.
    src = retagged(tmp_path / "site.osm", 155883015, {"landuse": "construction"})
    net = build_network(src, min_component_fraction=0.5, cache=False)
    sites = net.layers["sites"]
    assert list(sites["id"]) == ["site-way-155883015"]
    assert sites["illustrative"].all()  # spoil and hours are assumed
    assert 20.0 <= float(sites["spoil_m3_per_day"].iloc[0]) <= 2000.0
    assert sites["working_hours"].iloc[0] == "20:00-06:00"


def test_sites_from_a_multipolygon_relation(tmp_path: Path) -> None:
    # A multipolygon relation (added at test time) whose outer ring is a real closed way.
    src = retagged(tmp_path / "rel.osm", 0, {})
    tree = ET.parse(src)
    rel = ET.SubElement(tree.getroot(), "relation", id="900000001", version="1")
    ET.SubElement(rel, "member", type="way", ref="155883019", role="outer")
    ET.SubElement(rel, "tag", k="type", v="multipolygon")
    ET.SubElement(rel, "tag", k="landuse", v="construction")
    tree.write(src, encoding="UTF-8", xml_declaration=True)
    net = build_network(src, min_component_fraction=0.5, cache=False)
    sites = net.layers["sites"]
    assert list(sites["id"]) == ["site-relation-900000001"]
    assert float(sites["area_m2"].iloc[0]) > 0  # assembled as a polygon, not a point


def test_no_docks_means_the_truck_model_is_off(xinjiekou: RoadNetwork) -> None:
    assert "docks" not in xinjiekou.layers
    assert "docks" in xinjiekou.meta["models_off"]["trucks"]
    assert "user-supplied" in xinjiekou.meta["derived_layers"]["docks"]


def test_a_user_file_replaces_a_derived_layer(xinjiekou: RoadNetwork, tmp_path: Path) -> None:
    folder = tmp_path / "layers"
    folder.mkdir()
    mine = xinjiekou.layers["plazas"].iloc[:1].drop(columns=["derived", "osm_id", "osm_tags"])
    mine = mine.assign(id="my-plaza", name="my plaza", source="surveyed by me")
    write_layer(mine, folder / "plazas.geojson", layer="plazas")
    docks = (
        xinjiekou.layers["depots"]
        .iloc[:1][["geometry"]]
        .assign(
            id="dock-1",
            name="dock",
            berths=2,
            unload_minutes=6.0,
            opening_hours="20:00-06:00",
            illustrative=True,
            source="test",
        )
    )
    write_layer(docks, folder / "docks.geojson", layer="docks")
    net = build_network(CLIPPED, min_component_fraction=0.5, layers=folder, cache=False)
    assert list(net.layers["plazas"]["id"]) == ["my-plaza"]
    assert "replaced by the user file" in net.meta["derived_layers"]["plazas"]
    assert net.meta["models_off"] == {}  # docks given: trucks on
    assert len(net.layers["stations"]) == len(xinjiekou.layers["stations"])  # kept


def test_derived_layers_survive_save_and_load(xinjiekou: RoadNetwork, tmp_path: Path) -> None:
    save_network(xinjiekou, tmp_path / "net")
    back = load_network(tmp_path / "net", cache=False)
    assert set(back.layers) == set(xinjiekou.layers)
    for name, gdf in xinjiekou.layers.items():
        assert list(back.layers[name]["id"]) == list(gdf["id"]), name
        assert list(back.layers[name]["node"]) == list(gdf["node"]), name
    again = read_layer(tmp_path / "net" / "layers" / "stations.geojson", net=back)
    assert again["derived"].all()


def test_derive_off(tmp_path: Path) -> None:
    net = build_network(CLIPPED, min_component_fraction=0.5, derive_layers=False, cache=False)
    assert net.layers == {} and "derived_layers" not in net.meta


# ---------------------------------------------------------------------------- tunnels


def tunnel_town() -> nx.MultiDiGraph:
    """A two-way street grid crossed by a 1.2 km two-way tunnel with no node in between.

    A surface street runs right above the tunnel's middle, so the nearest node of the
    middle is a street node, 600 m from either tunnel portal.
    """
    G = nx.MultiDiGraph(crs="epsg:4326")
    dlat = 1.2 / 111.2 / 2  # half the tunnel [deg]
    lon0, lat0 = 120.0, 30.0
    pts = {
        1: (lon0, lat0 - dlat),  # south portal
        2: (lon0, lat0 + dlat),  # north portal
        3: (lon0 - 0.002, lat0),  # the street above the middle
        4: (lon0 + 0.002, lat0),
        5: (lon0 - 0.002, lat0 - dlat),
        6: (lon0 - 0.002, lat0 + dlat),
    }
    for n, (x, y) in pts.items():
        G.add_node(n, x=x, y=y)
    for a, b in [(1, 5), (5, 3), (3, 6), (6, 2), (3, 4), (4, 1), (4, 2)]:
        for u, v in ((a, b), (b, a)):
            G.add_edge(u, v, length=300.0, highway="residential")
    for u, v in ((1, 2), (2, 1)):
        G.add_edge(u, v, length=1200.0, highway="primary", tunnel="yes", name="长江隧道")
    for i in range(7, 12):  # enough nodes to route on
        G.add_node(i, x=lon0 + 0.003, y=lat0 + 0.001 * (i - 9))
        for u, v in ((4, i), (i, 4)):
            G.add_edge(u, v, length=200.0, highway="service")
    return G


def test_tunnel_low_point_snaps_to_the_tunnel_not_the_street_above(tmp_path: Path) -> None:
    net = build_network(tunnel_town(), derive_layers=True)
    low = net.layers["low_points"]
    assert len(low) == 1 and low["derived"].iloc[0] is True
    node = int(low["node"].iloc[0])
    assert node in (1, 2)  # a portal, never the street node 3 above the middle
    assert float(low["snap_distance_m"].iloc[0]) <= 250.0
    # The point stays on the tunnel (same longitude), within reach of its portal.
    assert np.isclose(low.geometry.x.iloc[0], 120.0, atol=1e-6)
    assert low["name"].iloc[0] == "长江隧道"
    # Saved and read back, it snaps to the same portal (``derived: true`` is kept).
    save_network(net, tmp_path / "town")
    back = load_network(tmp_path / "town", cache=False).layers["low_points"]
    assert int(back["node"].iloc[0]) == node


def test_objects_outside_the_crop_polygon_are_left_out() -> None:
    south = shapely.box(118.775, 32.039, 118.783, 32.0425)  # 新街口广场 lies north of it
    net = build_network(CLIPPED, boundary=south, min_component_fraction=0.5, cache=False)
    plazas = set(net.layers["plazas"]["name"])
    assert "正洪街" in plazas and "新街口广场" not in plazas
    for gdf in net.layers.values():
        if "osm_id" in gdf.columns:
            assert shapely.intersects(south.buffer(0.002), gdf.geometry).all()


def test_gongshu_underpasses_all_snap_to_their_own_tunnels(gongshu: RoadNetwork) -> None:
    """Long single-edge tunnels (the middle > 250 m from any portal) keep every underpass."""
    from twin.network.layers import derive_low_points, snap_layer

    low = snap_layer(derive_low_points(gongshu, own_nodes=True), gongshu, "low_points")
    old = derive_low_points(gongshu)
    assert len(low) == len(old) > 20
    assert (low["snap_distance_m"] <= 250.0).all()
    tunnel_nodes = set(
        gongshu.node_ids[gongshu.edge_u[gongshu.tunnel]].tolist()
        + gongshu.node_ids[gongshu.edge_v[gongshu.tunnel]].tolist()
    )
    assert set(low["node"].tolist()) <= tunnel_nodes
