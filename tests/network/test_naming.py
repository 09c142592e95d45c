"""Unique, readable low-point names from nearby streets (twin.network.naming)."""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import shapely

from twin.network import RoadNetwork
from twin.network.layers import derive_low_points
from twin.network.naming import COMPASS, compass_point, low_point_names


def test_compass_points() -> None:
    assert compass_point(0.0, 1.0) == "north" and compass_point(1.0, 0.0) == "east"
    assert compass_point(-1.0, -1.0) == "south-west" and compass_point(-1.0, 1.0) == "north-west"
    assert compass_point(0.0, -1.0) == "south"
    assert len(set(COMPASS)) == 8


def test_every_gongshu_low_point_has_its_own_readable_name(gongshu: RoadNetwork) -> None:
    layer = derive_low_points(gongshu)
    given = Counter(layer["name"])
    assert given["unnamed underpass"] >= 2  # OSM leaves several underpasses nameless
    names = low_point_names(gongshu, layer)
    assert list(names) == list(layer["id"])
    assert len(set(names.values())) == len(names)  # unique
    assert not any(n.startswith("unnamed") for n in names.values())
    for point_id, name in zip(layer["id"], layer["name"], strict=True):
        if not name.startswith("unnamed") and given[name] == 1:
            assert names[point_id] == name  # a real name is kept
        elif name.startswith("unnamed"):
            assert names[point_id].startswith("underpass near ")  # after nearby streets
    assert low_point_names(gongshu, layer) == names  # deterministic


def test_shared_names_are_told_apart_by_direction_then_number(gongshu: RoadNetwork) -> None:
    lon0, lat0 = float(gongshu.node_lon.mean()), float(gongshu.node_lat.mean())
    points = [(lon0, lat0 + 0.001), (lon0, lat0 - 0.001), (lon0, lat0 - 0.001), (lon0, lat0)]
    layer = gpd.GeoDataFrame(
        {"id": ["c", "a", "b", "d"], "name": ["Bridge"] * 3 + [""], "kind": ["underpass"] * 4},
        geometry=[shapely.Point(x, y) for x, y in points],
        crs="EPSG:4326",
    )
    names = low_point_names(gongshu, layer, radius=1.0)
    assert names["c"] == "Bridge (north)"
    assert (names["a"], names["b"]) == ("Bridge (south, 1)", "Bridge (south, 2)")  # id order
    assert names["d"] == "underpass d"  # no named street within 1 m: its id
