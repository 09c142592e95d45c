"""Readers: OSM XML (plain, bz2), PBF, GraphML, and the cached Overpass path."""

from __future__ import annotations

import bz2
import gzip
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import osmium
import osmnx as ox
import pytest

from twin.errors import EmptyNetworkError, OverpassError
from twin.network import RoadNetwork, build_network
from twin.network import io as twin_io

ARRAYS = (
    "node_ids", "node_lon", "node_lat", "edge_u", "edge_v", "edge_key", "length",
    "speed_kph", "free_flow_time", "road_class", "tunnel", "name",
)  # fmt: skip


def assert_same_network(a: RoadNetwork, b: RoadNetwork) -> None:
    """Two networks have identical node and edge arrays."""
    for attr in ARRAYS:
        x, y = getattr(a, attr), getattr(b, attr)
        assert x.shape == y.shape, attr
        assert np.array_equal(x, y), attr


def osm_ways(path: Path) -> dict[str, tuple[dict[str, str], list[int]]]:
    """Tags and node refs of every way in an OSM XML file, by way id."""
    root = ET.parse(path).getroot()
    return {
        w.get("id", ""): (
            {t.get("k", ""): t.get("v", "") for t in w.iter("tag")},
            [int(nd.get("ref", "0")) for nd in w.iter("nd")],
        )
        for w in root.iter("way")
    }


def write_pbf(src: Path, dst: Path) -> Path:
    """Convert an OSM XML file to PBF with pyosmium."""
    writer = osmium.SimpleWriter(str(dst))
    try:
        for obj in osmium.FileProcessor(str(src)):
            if obj.is_node():
                writer.add_node(obj)
            elif obj.is_way():
                writer.add_way(obj)
    finally:
        writer.close()
    return dst


# ---------------------------------------------------------------------------- OSM XML


def test_fixture_is_small_and_real(nanjing_osm: Path) -> None:
    size = nanjing_osm.stat().st_size
    assert 5_000 <= size <= 40_000
    head = nanjing_osm.read_text(encoding="utf-8")[:400]
    assert "Overpass API" in head and "ODbL" in head


def test_xml_reader_keeps_only_drivable_ways(nanjing_osm: Path) -> None:
    G = twin_io.graph_from_xml(nanjing_osm)
    ways = osm_ways(nanjing_osm)
    assert G.number_of_nodes() >= 15
    highways = {str(d["highway"]) for *_, d in G.edges(data=True)}
    assert highways <= twin_io.DRIVABLE_HIGHWAYS
    assert {"secondary", "residential", "living_street"} <= highways
    # Buildings and footways are in the file but must not become edges: their own nodes
    # (those no drivable way uses) are not in the graph.
    road_nodes = {n for tags, refs in ways.values() if twin_io.is_drivable(tags) for n in refs}
    other_nodes = {n for tags, refs in ways.values() if not twin_io.is_drivable(tags) for n in refs}
    assert any("building" in tags for tags, _ in ways.values())
    assert any(tags.get("highway") == "footway" for tags, _ in ways.values())
    assert not (other_nodes - road_nodes) & set(G.nodes)
    # Every graph node is a real OSM node of a drivable way, with its coordinates.
    assert set(G.nodes) <= road_nodes
    assert all(118.7 < G.nodes[n]["x"] < 118.9 and 32.0 < G.nodes[n]["y"] < 32.1 for n in G)


def test_fixture_builds_a_usable_network(nanjing: RoadNetwork) -> None:
    assert nanjing.n_nodes >= 15
    assert nanjing.n_edges >= 2 * nanjing.n_nodes - 5
    assert nx.is_strongly_connected(nanjing.G)
    assert nanjing.meta["nodes_read"] >= nanjing.n_nodes
    assert nanjing.meta["source"].endswith("nanjing_small.osm")


def test_bz2_gives_the_same_network(nanjing_osm: Path, tmp_path: Path) -> None:
    compressed = tmp_path / "nanjing_small.osm.bz2"
    compressed.write_bytes(bz2.compress(nanjing_osm.read_bytes()))
    assert_same_network(build_network(compressed), build_network(nanjing_osm))


def test_pbf_gives_the_same_network(nanjing_osm: Path, tmp_path: Path) -> None:
    pbf = write_pbf(nanjing_osm, tmp_path / "nanjing_small.osm.pbf")
    assert pbf.read_bytes()[:64] != nanjing_osm.read_bytes()[:64]  # really binary PBF
    from_pbf, from_xml = build_network(pbf), build_network(nanjing_osm)
    assert_same_network(from_pbf, from_xml)
    tags = {(u, v, k): d.get("maxspeed") for u, v, k, d in from_xml.G.edges(keys=True, data=True)}
    assert tags == {
        (u, v, k): d.get("maxspeed") for u, v, k, d in from_pbf.G.edges(keys=True, data=True)
    }


@pytest.mark.parametrize("suffix", [".osm.xml", ".xml", ".OSM"])
def test_xml_suffixes(nanjing_osm: Path, tmp_path: Path, suffix: str) -> None:
    copy = tmp_path / f"roads{suffix}"
    shutil.copy(nanjing_osm, copy)
    assert_same_network(build_network(copy), build_network(nanjing_osm))


def test_graphml_and_graphml_gz_give_the_same_network(nanjing_osm: Path, tmp_path: Path) -> None:
    raw = twin_io.graph_from_xml(nanjing_osm)
    ox.save_graphml(raw, tmp_path / "raw.graphml")
    with (
        open(tmp_path / "raw.graphml", "rb") as src,
        gzip.open(tmp_path / "raw.graphml.gz", "wb") as dst,
    ):
        shutil.copyfileobj(src, dst)
    reference = build_network(nanjing_osm)
    assert_same_network(build_network(tmp_path / "raw.graphml"), reference)
    assert_same_network(build_network(tmp_path / "raw.graphml.gz"), reference)


@pytest.mark.parametrize(
    ("tags", "drivable"),
    [
        ({"highway": "primary"}, True),
        ({"highway": "residential", "oneway": "yes"}, True),
        ({"highway": "service"}, True),
        ({"highway": "footway"}, False),
        ({"highway": "pedestrian"}, False),
        ({"building": "yes"}, False),
        ({"highway": "residential", "access": "private"}, False),
        ({"highway": "service", "service": "parking_aisle"}, False),
        ({"highway": "living_street", "area": "yes"}, False),
    ],
)
def test_is_drivable(tags: dict[str, str], drivable: bool) -> None:
    assert twin_io.is_drivable(tags) is drivable


# ---------------------------------------------------------------------------- Overpass


class FakeOsmnx:
    """Stands in for ``osmnx.graph_from_place``/``graph_from_bbox``; counts calls."""

    def __init__(self, graph: nx.MultiDiGraph | None = None, exc: BaseException | None = None):
        self.graph = graph
        self.exc = exc
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def __call__(self, query: Any, **kwargs: Any) -> nx.MultiDiGraph:
        self.calls.append((query, kwargs))
        if self.exc is not None:
            raise self.exc
        assert self.graph is not None
        return self.graph.copy()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("TWIN_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def raw_graph(nanjing_osm: Path) -> nx.MultiDiGraph:
    return twin_io.graph_from_xml(nanjing_osm)


def test_cache_dir_follows_the_environment(cache: Path) -> None:
    assert twin_io.cache_dir() == cache


def test_place_fetched_once_then_read_from_cache(
    cache: Path, raw_graph: nx.MultiDiGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeOsmnx(raw_graph)
    monkeypatch.setattr(ox, "graph_from_place", fake)
    settings_before = (ox.settings.use_cache, ox.settings.cache_folder, ox.settings.log_console)

    first = twin_io.graph_from_place("Xuanwu, Nanjing")
    assert len(fake.calls) == 1
    assert fake.calls[0][0] == "Xuanwu, Nanjing"
    assert fake.calls[0][1]["network_type"] == "drive"
    cached = list((cache / "overpass").glob("place-*.graphml"))
    assert len(cached) == 1
    # osmnx's process-wide settings are restored after the query.
    assert (
        ox.settings.use_cache,
        ox.settings.cache_folder,
        ox.settings.log_console,
    ) == settings_before

    # Offline from now on: a second call must not reach osmnx at all.
    monkeypatch.setattr(ox, "graph_from_place", FakeOsmnx(exc=AssertionError("network used")))
    second = twin_io.graph_from_place("Xuanwu, Nanjing")
    assert set(second.nodes) == set(first.nodes)
    assert second.number_of_edges() == first.number_of_edges()
    assert_same_network(build_network(second), build_network(first))

    # Another place is another cache entry: it does reach osmnx.
    other = FakeOsmnx(raw_graph)
    monkeypatch.setattr(ox, "graph_from_place", other)
    twin_io.graph_from_place("Gulou, Nanjing")
    assert len(other.calls) == 1
    assert len(list((cache / "overpass").glob("place-*.graphml"))) == 2


def test_bbox_fetched_once_then_read_from_cache(
    cache: Path, raw_graph: nx.MultiDiGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeOsmnx(raw_graph)
    monkeypatch.setattr(ox, "graph_from_bbox", fake)
    bbox = (118.788, 32.046, 118.794, 32.052)
    first = twin_io.graph_from_bbox(*bbox)
    assert len(fake.calls) == 1
    assert tuple(fake.calls[0][0]) == bbox  # osmnx 2 order: (west, south, east, north)
    assert len(list((cache / "overpass").glob("bbox-*.graphml"))) == 1

    monkeypatch.setattr(ox, "graph_from_bbox", FakeOsmnx(exc=AssertionError("network used")))
    second = twin_io.graph_from_bbox(*bbox)
    assert set(second.nodes) == set(first.nodes)


@pytest.mark.parametrize("kind", ["place", "bbox"])
def test_overpass_unreachable_without_cache(
    cache: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    fake = FakeOsmnx(exc=ConnectionError("Name or service not known"))
    monkeypatch.setattr(ox, f"graph_from_{kind}", fake)
    with pytest.raises(OverpassError) as info:
        if kind == "place":
            twin_io.graph_from_place("Gongshu, Hangzhou")
        else:
            twin_io.graph_from_bbox(120.13, 30.26, 120.20, 30.33)
    assert len(fake.calls) == 1
    assert isinstance(info.value, ConnectionError)
    msg = str(info.value)
    assert "Overpass" in msg
    assert "cache" in msg
    assert str(cache) in msg
    assert "--osm" in msg
    assert not (cache / "overpass").exists() or not any((cache / "overpass").iterdir())


def test_overpass_empty_answer_is_an_empty_network(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from osmnx._errors import InsufficientResponseError

    fake = FakeOsmnx(exc=InsufficientResponseError("No data elements in server response."))
    monkeypatch.setattr(ox, "graph_from_place", fake)
    with pytest.raises(EmptyNetworkError, match="spelling"):
        twin_io.graph_from_place("Nowhere-on-Earth")


def test_invalid_bbox_never_calls_osmnx(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeOsmnx(exc=AssertionError("network used"))
    monkeypatch.setattr(ox, "graph_from_bbox", fake)
    with pytest.raises(EmptyNetworkError, match="W < E"):
        twin_io.graph_from_bbox(120.2, 30.3, 120.1, 30.4)
    with pytest.raises(EmptyNetworkError):
        twin_io.graph_from_bbox(120.1, 30.3, 120.1, 30.3)
    assert fake.calls == []
