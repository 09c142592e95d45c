"""City layers: the shipped GeoJSON files, derived low points, and every validation error."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from twin.errors import LayerError, TwinError
from twin.network import RoadNetwork, default_network
from twin.network.build import DEFAULT_BOUNDARY, data_dir, load_boundary
from twin.network.layers import (
    LAYER_SCHEMAS,
    TUNNEL_JOIN_M,
    attach_layers,
    derive_low_points,
    merge_low_points,
    parse_hours,
    read_layer,
    sample_sites,
    schema_markdown,
    tunnel_groups,
    write_default_low_points,
    write_layer,
)

LAYERS = data_dir() / "layers"
STREETS = {
    "米市巷", "湖墅", "小河", "和睦", "拱宸桥", "大关", "上塘", "祥符", "康桥",
    "半山", "石桥", "天水", "武林", "长庆", "朝晖", "潮鸣", "文晖", "东新",
}  # fmt: skip


@pytest.fixture(scope="module")
def layered(gongshu: RoadNetwork) -> RoadNetwork:
    """The Gongshu network (its own object, same graph) with the shipped layers attached."""
    net = RoadNetwork.from_graph(gongshu.G, congestion=gongshu.congestion, meta=gongshu.meta)
    attach_layers(net, LAYERS)
    return net


@pytest.fixture(scope="module")
def boundary() -> shapely.Geometry:
    return load_boundary(data_dir() / DEFAULT_BOUNDARY)


def features(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8"))["features"])


def write_fc(path: Path, feats: list[Any]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    return path


def point_distance_m(net: RoadNetwork, lon: float, lat: float, geoms: Any) -> float:
    """Distance [m] from a lon/lat point to the nearest of some lon/lat geometries."""
    x, y = net.projector.forward(lon, lat)
    projected = net.projector.geometries(np.asarray(geoms, dtype=object))
    return float(shapely.distance(shapely.Point(float(x), float(y)), projected).min())


# ---------------------------------------------------------------------- the shipped layers


def test_shipped_layers_all_load(layered: RoadNetwork) -> None:
    # Stations come only from OSM tags, which the bundled Gongshu network lacks.
    assert set(layered.layers) == set(LAYER_SCHEMAS) - {"stations"}
    for name, gdf in layered.layers.items():
        assert len(gdf) > 0, name
        assert gdf.crs.to_epsg() == 4326
        schema = LAYER_SCHEMAS[name]
        assert list(gdf.columns[: len(schema.fields)]) == [f.name for f in schema.fields]
        assert {"node", "snap_distance_m", "geometry"} <= set(gdf.columns)
        assert gdf["id"].is_unique
        assert set(gdf.geom_type) == {schema.geometry}


def test_exactly_three_docks_inside_gongshu(layered: RoadNetwork, boundary: Any) -> None:
    docks = layered.layers["docks"]
    assert len(docks) == 3
    assert shapely.contains_xy(boundary, docks.geometry.x, docks.geometry.y).all()
    # Placed on the canal's east bank north of Gongchen Bridge (see data/layers/README.md).
    assert docks.geometry.x.between(120.130, 120.137).all()
    assert docks.geometry.y.between(30.322, 30.352).all()
    assert (docks["berths"] >= 1).all()
    for hours in docks["opening_hours"]:
        parse_hours(hours)


def test_one_depot_per_street(layered: RoadNetwork) -> None:
    depots = layered.layers["depots"]
    assert sorted(s.removesuffix("街道") for s in depots["street"]) == sorted(STREETS)
    north = depots[depots["street"].isin(["康桥街道", "半山街道"])]
    assert len(north) == 2
    assert all("nearest road area" in s for s in north["source"])


def test_sites_and_plazas(layered: RoadNetwork) -> None:
    sites = layered.layers["sites"]
    assert len(sites) == 30
    # Scaled to ≈ 2,300 truck trips a day at 12 m³ a trip (published ~70,000 a month).
    assert sites["spoil_m3_per_day"].sum() / 12.0 == pytest.approx(2_300, rel=0.01)
    plazas = layered.layers["plazas"]
    assert set(plazas["kind"]) == {"station_plaza", "square"}
    assert any("武林广场" in n for n in plazas["name"])
    areas = plazas.geometry.to_crs(layered.projector.crs).area
    np.testing.assert_allclose(plazas["area_m2"], areas, rtol=0.01)


def test_every_feature_snaps_within_tolerance(layered: RoadNetwork, boundary: Any) -> None:
    for name, gdf in layered.layers.items():
        tol = LAYER_SCHEMAS[name].max_snap_m
        assert (gdf["snap_distance_m"] <= tol).all(), name
        pos = layered.node_position(gdf["node"].to_numpy())  # raises for unknown ids
        xy = shapely.get_coordinates(shapely.centroid(gdf.geometry.to_numpy()))
        x, y = layered.projector.forward(xy[:, 0], xy[:, 1])
        nx_, ny_ = layered.projector.forward(layered.node_lon[pos], layered.node_lat[pos])
        np.testing.assert_allclose(np.hypot(x - nx_, y - ny_), gdf["snap_distance_m"], atol=0.01)
        assert shapely.contains_xy(boundary, xy[:, 0], xy[:, 1]).all(), name


def test_only_derived_points_are_not_illustrative(layered: RoadNetwork) -> None:
    for name, gdf in layered.layers.items():
        derived = np.zeros(len(gdf), dtype=bool)
        if name == "low_points":
            derived = (gdf["origin"] == "tunnel_edge").to_numpy(bool)
            assert derived.sum() == len(tunnel_groups(layered))
        np.testing.assert_array_equal(gdf["illustrative"].to_numpy(bool), ~derived, err_msg=name)
        for illustrative, source in zip(gdf["illustrative"], gdf["source"], strict=True):
            assert source.startswith(("illustrative", "generated")) == illustrative, source
            if not illustrative:
                assert "© OpenStreetMap contributors" in source


# ---------------------------------------------------------------------- derived low points


def test_every_tunnel_edge_belongs_to_exactly_one_underpass(gongshu: RoadNetwork) -> None:
    groups = tunnel_groups(gongshu)
    members = np.sort(np.concatenate(groups))
    np.testing.assert_array_equal(members, np.flatnonzero(gongshu.tunnel))
    assert gongshu.tunnel.sum() == 126  # data/README: the bundled network's tunnel edges
    derived = derive_low_points(gongshu)
    assert len(derived) == len(groups)
    assert int(derived["tunnel_edges"].sum()) == int(gongshu.tunnel.sum())
    assert derived["tunnel_length_m"].sum() == pytest.approx(
        0.5 * gongshu.length[gongshu.tunnel].sum(), abs=0.1 * len(groups)
    )


def test_derived_points_lie_on_their_tunnel_edges(gongshu: RoadNetwork) -> None:
    geoms = gongshu.edge_geometries()
    derived = derive_low_points(gongshu)
    for group, point in zip(tunnel_groups(gongshu), derived.geometry, strict=True):
        assert point_distance_m(gongshu, point.x, point.y, geoms[group]) < 0.05
        others = np.setdiff1d(np.flatnonzero(gongshu.tunnel), group)
        if others.size:  # and no closer to another underpass than the join distance
            assert point_distance_m(gongshu, point.x, point.y, geoms[others]) > TUNNEL_JOIN_M


def test_twin_bores_and_split_tunnels_are_one_underpass(gongshu: RoadNetwork) -> None:
    names = list(derive_low_points(gongshu)["name"])
    # 香积寺路隧道: two one-way bores of ~2.1 km, 5 m apart, each cut into 3 edges.
    assert names.count("香积寺路隧道") == 1
    assert names.count("丽水北路隧道") == 1
    # Without the distance join the twin bores stay apart.
    assert len(tunnel_groups(gongshu, join_m=0.0)) > len(tunnel_groups(gongshu))


def test_shipped_low_points_equal_regenerated(gongshu: RoadNetwork, tmp_path: Path) -> None:
    shutil.copy(LAYERS / "low_points_user.geojson", tmp_path)
    written = write_default_low_points(gongshu, tmp_path)
    assert features(written) == features(LAYERS / "low_points.geojson")
    user = features(LAYERS / "low_points_user.geojson")
    assert features(written)[-len(user) :] == user


def test_shipped_sites_equal_regenerated(
    gongshu: RoadNetwork, boundary: Any, tmp_path: Path
) -> None:
    sites = sample_sites(gongshu, boundary)
    written = write_layer(sites, tmp_path / "sites.geojson", layer="sites")
    assert features(written) == features(LAYERS / "sites.geojson")
    assert not sample_sites(gongshu, boundary, seed=1).equals(sites)


def test_missing_low_points_file_is_derived(gongshu: RoadNetwork, tmp_path: Path) -> None:
    shutil.copy(LAYERS / "low_points_user.geojson", tmp_path)
    net = RoadNetwork.from_graph(gongshu.G, meta=gongshu.meta)
    attach_layers(net, tmp_path)
    assert set(net.layers) == {"low_points"}
    low = net.layers["low_points"]
    assert set(low["origin"]) == {"tunnel_edge", "user"}
    assert (low["snap_distance_m"] <= LAYER_SCHEMAS["low_points"].max_snap_m).all()
    attach_layers(
        empty := RoadNetwork.from_graph(gongshu.G), tmp_path, derive_missing_low_points=False
    )
    assert empty.layers == {}


def test_merge_rejects_duplicate_ids(gongshu: RoadNetwork) -> None:
    derived = derive_low_points(gongshu)
    with pytest.raises(LayerError, match="lp-tunnel-001"):
        merge_low_points(derived, derived.iloc[:1])


# ---------------------------------------------------------------------- schema and docs


def test_readme_schemas_match_code() -> None:
    readme = (LAYERS / "README.md").read_text(encoding="utf-8")
    for name in LAYER_SCHEMAS:
        assert schema_markdown(name) in readme, name
    assert "© OpenStreetMap contributors" in readme and "ODbL" in readme


@pytest.mark.parametrize(
    ("text", "hours"),
    [("20:00-06:00", (20.0, 6.0)), ("00:00-24:00", (0.0, 24.0)), ("07:30-19:15", (7.5, 19.25))],
)
def test_parse_hours(text: str, hours: tuple[float, float]) -> None:
    assert parse_hours(text) == hours


@pytest.mark.parametrize(
    "text", ["8pm-6am", "25:00-06:00", "06:00-06:00", "24:30-01:00", "6:00-9:00"]
)
def test_parse_hours_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"HH:MM|impossible|empty"):
        parse_hours(text)


def test_geopandas_written_layer_reads_back(layered: RoadNetwork, tmp_path: Path) -> None:
    # save_network writes layers with GeoDataFrame.to_file, snapping columns included.
    for name in ("docks", "low_points"):
        path = tmp_path / f"{name}.geojson"
        layered.layers[name].to_file(path, driver="GeoJSON")
        again = read_layer(path, net=layered)
        assert list(again["id"]) == list(layered.layers[name]["id"])
        np.testing.assert_array_equal(again["node"], layered.layers[name]["node"])


# ---------------------------------------------------------------------- every error path

DOCKS = features(LAYERS / "docks.geojson")


def broken(**change: Any) -> list[dict[str, Any]]:
    """The shipped docks with feature #1 changed (property=None deletes it)."""
    feats = copy.deepcopy(DOCKS)
    for key, value in change.items():
        if key == "geometry":
            feats[1]["geometry"] = value
        elif value is None:
            del feats[1]["properties"][key]
        else:
            feats[1]["properties"][key] = value
    return feats


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"berths": None}, ["missing required property 'berths'", "integer"]),
        ({"source": None}, ["missing required property 'source'"]),
        ({"berths": "eight"}, ["'berths'", "must be an integer", "'eight' (str)"]),
        ({"berths": 2.5}, ["'berths'", "integer"]),
        ({"berths": 0}, ["'berths'", "≥ 1"]),
        ({"berths": True}, ["'berths'", "integer"]),
        ({"unload_minutes": "6"}, ["'unload_minutes'", "finite number"]),
        ({"illustrative": "yes"}, ["'illustrative'", "true or false"]),
        ({"opening_hours": "8pm-6am"}, ["'opening_hours'", "HH:MM-HH:MM"]),
        ({"name": ""}, ["'name'", "non-empty string"]),
        ({"geometry": {"type": "LineString", "coordinates": [[120.13, 30.33], [120.14, 30.34]]}},
         ["geometry must be a GeoJSON Point", "LineString"]),
        ({"geometry": None}, ["geometry must be a GeoJSON Point"]),
        ({"geometry": {"type": "Point", "coordinates": [30.33, 120.13]}}, ["not WGS84 lon/lat"]),
        ({"geometry": {"type": "Point", "coordinates": ["a", "b"]}}, ["malformed Point"]),
    ],
)  # fmt: skip
def test_invalid_feature_names_file_feature_and_field(
    tmp_path: Path, change: dict[str, Any], words: list[str]
) -> None:
    path = write_fc(tmp_path / "docks.geojson", broken(**change))
    with pytest.raises(LayerError) as info:
        read_layer(path)
    message = str(info.value)
    for word in [str(path), "feature #1", "'dock-b'", *words]:
        assert word in message, (word, message)
    assert isinstance(info.value, TwinError) and isinstance(info.value, ValueError)


def test_wrong_enum_and_geometry_in_plazas(tmp_path: Path) -> None:
    feats = features(LAYERS / "plazas.geojson")
    feats[2]["properties"]["kind"] = "park"
    path = write_fc(tmp_path / "plazas.geojson", feats)
    with pytest.raises(
        LayerError, match=r'feature #2 .*\'kind\' must be one of "station_plaza", "square"'
    ):
        read_layer(path)
    feats = features(LAYERS / "plazas.geojson")
    feats[0]["geometry"] = {"type": "Point", "coordinates": [120.16, 30.274]}
    with pytest.raises(LayerError, match=r"feature #0 .*must be a GeoJSON Polygon"):
        read_layer(write_fc(path, feats))


def test_duplicate_id(tmp_path: Path) -> None:
    path = write_fc(tmp_path / "docks.geojson", broken(id="dock-a"))
    with pytest.raises(LayerError) as info:
        read_layer(path)
    assert f"{path}: feature #1 (id 'dock-a'): duplicate id 'dock-a' (also feature #0)" in str(
        info.value
    )


def test_feature_far_outside_the_network(layered: RoadNetwork, tmp_path: Path) -> None:
    # A point in Shanghai: far beyond the 250 m tolerance.
    feats = broken(geometry={"type": "Point", "coordinates": [121.47, 31.23]})
    path = write_fc(tmp_path / "docks.geojson", feats)
    with pytest.raises(LayerError) as info:
        read_layer(path, net=layered)
    message = str(info.value)
    for word in [str(path), "feature #1 (id 'dock-b')", "outside the network", "250 m"]:
        assert word in message, (word, message)
    assert read_layer(path)["id"].tolist() == ["dock-a", "dock-b", "dock-c"]  # no net: no check
    # A tighter tolerance: the West Lake Cultural Square's centroid is ~190 m from a node.
    plazas = layered.layers["plazas"]
    far = plazas[plazas["snap_distance_m"] > 150.0]
    assert len(far) >= 1
    with pytest.raises(LayerError) as info:
        read_layer(LAYERS / "plazas.geojson", net=layered, max_snap_m=150.0)
    assert f"(id {far['id'].iloc[0]!r})" in str(info.value)
    assert "tolerance 150 m" in str(info.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("this is not json {", ["not valid JSON"]),
        ('{"type": "Feature", "properties": {}}', ["not a GeoJSON FeatureCollection"]),
        ('{"type": "FeatureCollection", "features": {}}', ["'features' must be a list"]),
        ('{"type": "FeatureCollection", "features": [{"type": "Point"}]}',
         ["feature #0", "not a GeoJSON Feature"]),
        ('{"type": "FeatureCollection", "features": [], "crs": {"type": "name", '
         '"properties": {"name": "EPSG:32651"}}}', ["not WGS84"]),
    ],
)  # fmt: skip
def test_file_that_is_not_a_layer(tmp_path: Path, text: str, words: list[str]) -> None:
    path = tmp_path / "sites.geojson"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LayerError) as info:
        read_layer(path)
    for word in [str(path), *words]:
        assert word in str(info.value)


def test_attach_layers_stops_on_a_bad_file(gongshu: RoadNetwork, tmp_path: Path) -> None:
    for name in ("docks", "depots"):
        shutil.copy(LAYERS / f"{name}.geojson", tmp_path)
    (tmp_path / "depots.geojson").write_bytes(b"\xff\xfe not utf-8")
    net = RoadNetwork.from_graph(gongshu.G, meta=gongshu.meta)
    with pytest.raises(LayerError, match=r"depots\.geojson: not GeoJSON"):
        attach_layers(net, tmp_path)
    with pytest.raises(FileNotFoundError, match="no such layer folder"):
        attach_layers(net, tmp_path / "missing")
    with pytest.raises(LayerError, match="unknown layer 'roads'"):
        read_layer(tmp_path / "roads.geojson")


@pytest.mark.slow
def test_default_network_carries_the_layers() -> None:
    net = default_network()
    assert {name: len(gdf) for name, gdf in net.layers.items()} == {
        "docks": 3, "sites": 30, "depots": 18, "plazas": 5, "low_points": 53,
    }  # fmt: skip
    assert net.summary()["layers"]["docks"] == 3
