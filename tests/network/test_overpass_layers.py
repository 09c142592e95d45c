"""An Overpass build (--place / --bbox) derives the same city layers as a file build.

No network here: osmnx's ``graph_from_*`` and ``features_from_*`` are stood in for by
functions answering with the clipped Xinjiekou fixture, in osmnx's own formats.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely
from typer.testing import CliRunner

from twin.cli import app
from twin.errors import OverpassError
from twin.network import RoadNetwork, build_network, load_network
from twin.network import io as twin_io
from twin.network.derive import OSM_QUERY_TAGS
from twin.network.osm import OSMFeature

CLIPPED = Path(__file__).resolve().parents[1] / "data" / "nanjing_xinjiekou_clipped.osm.pbf"
PLACE = "新街口, 南京"
BBOX = (118.770, 32.035, 118.795, 32.050)


def _queried(tags: Mapping[str, str]) -> bool:
    """What Overpass answers for OSM_QUERY_TAGS: any queried key with a queried value."""
    for key, values in OSM_QUERY_TAGS.items():
        want = values if isinstance(values, list) else [values]
        if tags.get(key) in want:
            return True
    return False


def osmnx_frame(features: list[OSMFeature]) -> gpd.GeoDataFrame:
    """Features as osmnx 2 returns them: index (element, id), a column per tag key."""
    rows = [
        {"element": f.osm_type, "id": f.osm_id, **f.tags, "geometry": f.geometry} for f in features
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326").set_index(["element", "id"])


class Fake:
    """Stands in for an osmnx query function; counts calls, or raises."""

    def __init__(self, answer: Any = None, exc: BaseException | None = None) -> None:
        self.answer = answer
        self.exc = exc
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def __call__(self, query: Any, **kwargs: Any) -> Any:
        self.calls.append((query, kwargs))
        if self.exc is not None:
            raise self.exc
        return self.answer.copy()


@pytest.fixture(scope="module")
def fixture_osm() -> tuple[nx.MultiDiGraph, gpd.GeoDataFrame]:
    """The fixture's raw graph and its queried features (a superset of what is derived)."""
    read = twin_io.read_osm_file(CLIPPED, keep=_queried)
    return twin_io.graph_from_osm(read), osmnx_frame(read.features)


@pytest.fixture(scope="module")
def from_file() -> RoadNetwork:
    return build_network(CLIPPED, min_component_fraction=0.5, cache=False)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("TWIN_CACHE_DIR", str(folder))
    monkeypatch.setenv("TWIN_NO_CACHE", "1")
    return folder


def assert_same_layers(a: RoadNetwork, b: RoadNetwork) -> None:
    assert sorted(a.layers) == sorted(b.layers)
    for name in a.layers:
        la, lb = a.layers[name], b.layers[name]
        assert list(la["id"]) == list(lb["id"]), name
        assert list(la["name"]) == list(lb["name"]), name
        assert list(la["node"]) == list(lb["node"]), name
    assert a.meta["derived_layers"] == b.meta["derived_layers"]
    assert a.meta["models_off"] == b.meta["models_off"]


def test_frame_to_features_keeps_only_wanted_objects() -> None:
    gdf = gpd.GeoDataFrame(
        [
            {"element": "way", "id": 7, "highway": "pedestrian", "railway": np.nan,
             "geometry": shapely.LineString([(0, 0), (2, 0)])},
            {"element": "way", "id": 5, "highway": "pedestrian", "area": "yes",
             "railway": np.nan, "geometry": shapely.box(0, 0, 1, 1)},
            {"element": "node", "id": 9, "highway": np.nan, "railway": "subway_entrance",
             "geometry": shapely.Point(1, 2)},
            {"element": "way", "id": 3, "highway": np.nan, "railway": "station",
             "geometry": shapely.LineString([(0, 0), (2, 0), (2, 2), (0, 0)])},
        ],
        geometry="geometry",
    ).set_index(["element", "id"])  # fmt: skip
    feats = twin_io.features_from_frame(gdf)
    # The pedestrian street (no area=yes) is not a plaza; NaN columns are no tags.
    assert [f.ref for f in feats] == ["node/9", "way/3", "way/5"]
    assert feats[0].tags == {"railway": "subway_entrance"}
    assert feats[2].tags == {"highway": "pedestrian", "area": "yes"}
    assert feats[2].geometry.geom_type == "Polygon"
    # An open way is the centroid of its nodes, as the file reader makes it.
    assert feats[1].geometry.equals(shapely.Point(4 / 3, 2 / 3))
    assert twin_io.features_from_frame(gdf.iloc[:0]) == []


@pytest.mark.parametrize("kind", ["place", "bbox"])
def test_overpass_build_derives_the_file_layers_then_stays_offline(
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    fixture_osm: tuple[nx.MultiDiGraph, gpd.GeoDataFrame],
    from_file: RoadNetwork,
    kind: str,
) -> None:
    G, gdf = fixture_osm
    graph, features = Fake(G), Fake(gdf)
    monkeypatch.setattr(ox, f"graph_from_{kind}", graph)
    monkeypatch.setattr(ox, f"features_from_{kind}", features)

    def fetch() -> tuple[nx.MultiDiGraph, list[OSMFeature]]:
        if kind == "place":
            return twin_io.graph_from_place(PLACE), twin_io.features_from_place(PLACE)
        return twin_io.graph_from_bbox(*BBOX), twin_io.features_from_bbox(*BBOX)

    raw, feats = fetch()
    assert len(graph.calls) == 1 and len(features.calls) == 1
    assert features.calls[0][1]["tags"] == OSM_QUERY_TAGS
    assert len(list((cache / "overpass").glob(f"{kind}-*.features.json"))) == 1
    net = build_network(raw, features=feats, min_component_fraction=0.5)
    assert {"stations", "plazas", "depots"} <= set(net.layers)
    assert_same_layers(net, from_file)

    # Offline from now on: neither query reaches osmnx, and the build is the same.
    offline = OverpassError("network used")
    monkeypatch.setattr(ox, f"graph_from_{kind}", Fake(exc=offline))
    monkeypatch.setattr(ox, f"features_from_{kind}", Fake(exc=offline))
    raw2, feats2 = fetch()
    assert feats2 == feats
    assert_same_layers(build_network(raw2, features=feats2, min_component_fraction=0.5), net)


def test_no_tagged_objects_is_cached_as_none(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from osmnx._errors import InsufficientResponseError

    monkeypatch.setattr(
        ox, "features_from_place", Fake(exc=InsufficientResponseError("No matching features."))
    )
    assert twin_io.features_from_place("Nowhere") == []
    monkeypatch.setattr(ox, "features_from_place", Fake(exc=AssertionError("network used")))
    assert twin_io.features_from_place("Nowhere") == []


def test_features_unreachable_is_an_overpass_error(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ox, "features_from_bbox", Fake(exc=ConnectionError("no route")))
    with pytest.raises(OverpassError, match="--osm FILE"):
        twin_io.features_from_bbox(*BBOX)


def test_cli_place_build_has_the_derived_layers(
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fixture_osm: tuple[nx.MultiDiGraph, gpd.GeoDataFrame],
    from_file: RoadNetwork,
) -> None:
    G, gdf = fixture_osm
    monkeypatch.setattr(ox, "graph_from_place", Fake(G))
    monkeypatch.setattr(ox, "features_from_place", Fake(gdf))
    out = tmp_path / "net"
    args = ["network", "build", "--place", PLACE, "--min-component-fraction", "0.5"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "City layers" in result.output and "trucks model off" in result.output
    net = load_network(out, cache=False)
    assert_same_layers(net, from_file)
    meta = json.loads((out / "network.json").read_text(encoding="utf-8"))
    assert "Overpass" in json.dumps(meta, ensure_ascii=False)
