"""The on-disk network cache: exact round trips, keys, corruption, TWIN_NO_CACHE, atomicity.

Every test points ``$TWIN_CACHE_DIR`` at a temporary folder. Nothing here depends on
wall-clock time: last-use order is set with explicit ``os.utime`` times.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from twin.network import RoadNetwork, build_network, default_network, load_network, save_network
from twin.network import cache as netcache
from twin.network.cache_codec import ARRAY_FIELDS
from twin.network.congestion import CongestionProfile


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder; the cache on; small networks stored too."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("TWIN_CACHE_DIR", str(folder))
    monkeypatch.delenv("TWIN_NO_CACHE", raising=False)
    monkeypatch.setattr(netcache, "MIN_CACHED_EDGES", 0)
    return folder / "networks"


@pytest.fixture
def small(nanjing_osm: Path) -> RoadNetwork:
    """The Nanjing fixture network, built without the cache (so nothing is stored)."""
    return build_network(nanjing_osm, name="Nanjing test block", cache=False)


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.npz")) if folder.is_dir() else []


# ---------------------------------------------------------------------------- exactness


def canon(value: Any) -> Any:
    """A value with its exact type, floats as their bits, geometries as WKB."""
    if isinstance(value, shapely.Geometry):
        return ("geometry", shapely.to_wkb(value))
    if isinstance(value, float | np.floating):
        return (type(value).__name__, struct.pack("<d", float(value)))
    if isinstance(value, list):
        return ("list", [canon(v) for v in value])
    if isinstance(value, dict):
        return ("dict", [(k, canon(v)) for k, v in value.items()])
    return (type(value).__name__, value)


def assert_identical_frames(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    assert type(a) is type(b)
    assert list(a.columns) == list(b.columns)
    assert list(a.dtypes.astype(str)) == list(b.dtypes.astype(str))
    assert a.index.equals(b.index) and type(a.index) is type(b.index)
    assert a.crs == b.crs
    assert a.geometry.name == b.geometry.name
    assert_geodataframe_equal(a, b, check_less_precise=False, check_dtype=True)
    for col in a.columns:
        if col == a.geometry.name:
            assert list(shapely.to_wkb(a[col].array)) == list(shapely.to_wkb(b[col].array))
        elif a[col].dtype.kind == "O":
            assert [canon(v) for v in a[col]] == [canon(v) for v in b[col]], col
    assert a.attrs == b.attrs


def assert_identical(a: RoadNetwork, b: RoadNetwork, *, separate_builds: bool = False) -> None:
    """Every array bit for bit, the graph with its exact attributes, meta, layers.

    ``separate_builds``: ``a`` and ``b`` were built apart (not one read back from the
    other's cache entry), so osmnx's build time stamp ``G.graph["created_date"]`` (set
    when reading OSM XML) may differ; nothing else may.
    """
    for f in ARRAY_FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype and x.shape == y.shape, f
        assert x.tobytes() == y.tobytes(), f
    assert a.meta == b.meta and canon(a.meta) == canon(b.meta)
    assert a.congestion == b.congestion
    assert np.array_equal(a.edge_factor, b.edge_factor)
    assert list(shapely.to_wkb(a.edge_geometries())) == list(shapely.to_wkb(b.edge_geometries()))
    # The graph: same nodes in the same order, same edges and keys, same attributes.
    assert type(a.G) is type(b.G)
    stamp = {"created_date"} if separate_builds else set()
    graph_a = {k: v for k, v in a.G.graph.items() if k not in stamp}
    graph_b = {k: v for k, v in b.G.graph.items() if k not in stamp}
    assert canon(graph_a) == canon(graph_b)
    assert [(n, canon(d)) for n, d in a.G.nodes(data=True)] == [
        (n, canon(d)) for n, d in b.G.nodes(data=True)
    ]
    rows_a = [(u, v, k, canon(d)) for u, v, k, d in a.G.edges(keys=True, data=True)]
    rows_b = [(u, v, k, canon(d)) for u, v, k, d in b.G.edges(keys=True, data=True)]
    assert rows_a == rows_b
    assert list(a.G.in_edges(keys=True)) == list(b.G.in_edges(keys=True))
    # The layers.
    assert list(a.layers) == list(b.layers)
    for name in a.layers:
        assert_identical_frames(a.layers[name], b.layers[name])
    assert a.summary() == b.summary()


def test_nanjing_from_cache_equals_a_fresh_build(cache: Path, nanjing_osm: Path) -> None:
    fresh = build_network(nanjing_osm, name="Nanjing", cache=False)
    assert entries(cache) == []
    built = build_network(nanjing_osm, name="Nanjing")  # a miss: built, then stored
    assert built.graph_loaded and len(entries(cache)) == 1
    loaded = build_network(nanjing_osm, name="Nanjing")
    assert not loaded.graph_loaded  # read from the cache: no graph until G is read
    assert len(entries(cache)) == 1
    assert_identical(fresh, built, separate_builds=True)
    assert_identical(built, loaded)
    assert_identical(fresh, loaded, separate_builds=True)
    assert loaded.graph_loaded
    # A cached network pickles like a built one, before and after its graph is built.
    assert_identical(built, pickle.loads(pickle.dumps(loaded)))
    unbuilt = pickle.loads(pickle.dumps(build_network(nanjing_osm, name="Nanjing")))
    assert not unbuilt.graph_loaded
    assert_identical(built, unbuilt)
    # It routes and snaps alike.
    a, b = fresh.node_ids[0], fresh.node_ids[-1]
    r1, r2 = fresh.shortest_path(a, b, when=8), loaded.shortest_path(a, b, when=8)
    assert np.array_equal(r1.edges, r2.edges) and r1.travel_time == r2.travel_time
    lon, lat = fresh.node_lon[:5] + 1e-4, fresh.node_lat[:5]
    assert np.array_equal(fresh.nearest_edges(lon, lat).edge, loaded.nearest_edges(lon, lat).edge)


#: Loads a network from the (warm) cache in a fresh interpreter, routes and snaps on it,
#: and reports whether networkx was imported before and after ``G`` is read.
NO_GRAPH_PROBE = """
import json, sys
from twin.network.build import build_network
net = build_network(sys.argv[1], name="Nanjing")
a, b = net.node_ids[0], net.node_ids[-1]
net.shortest_path(a, b, when=8)
net.nearest_edges(net.node_lon[:5] + 1e-4, net.node_lat[:5])
before = "networkx" in sys.modules
n = net.G.number_of_edges()
print(json.dumps([net.n_edges, before, n, "networkx" in sys.modules]))
"""


def test_a_cached_network_loads_routes_and_snaps_without_networkx(
    cache: Path, nanjing_osm: Path
) -> None:
    built = build_network(nanjing_osm, name="Nanjing")  # stored
    assert len(entries(cache)) == 1
    r = subprocess.run(
        [sys.executable, "-c", NO_GRAPH_PROBE, str(nanjing_osm)],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    n_edges, before, graph_edges, after = json.loads(r.stdout.splitlines()[-1])
    assert n_edges == built.n_edges == graph_edges
    assert not before  # networkx is imported when the graph is first read, not before
    assert after


@pytest.mark.slow
def test_gongshu_from_cache_equals_the_build(cache: Path) -> None:
    built = default_network()  # a miss: built from the GraphML, then stored
    assert built.graph_loaded and len(entries(cache)) == 1
    loaded = default_network()
    assert not loaded.graph_loaded
    assert set(loaded.layers) == {"docks", "sites", "depots", "plazas", "low_points"}
    assert_identical(built, loaded)
    o, d = built.node_ids[:40], built.node_ids[-40:]
    np.testing.assert_array_equal(
        built.travel_time_matrix(o, d, when=18), loaded.travel_time_matrix(o, d, when=18)
    )


def test_layers_of_every_kind_round_trip(cache: Path, small: RoadNetwork) -> None:
    n = 4
    lon, lat = small.node_lon[:n], small.node_lat[:n]
    gdf = gpd.GeoDataFrame(
        {
            "id": pd.Series(["a", "b", None, "d"], dtype=object),
            "mixed": pd.Series([1, 2.5, float("nan"), [1, "x"]], dtype=object),
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            "share": pd.array([0.5, None, float("nan"), 1.0], dtype="Float64"),
            "flag": pd.array([True, None, False, True], dtype="boolean"),
            "text": pd.array(["x", None, "z", "w"], dtype="str"),
            "value": np.array([1.0, np.nan, -0.0, np.inf]),
            "node": small.node_ids[:n],
            "ok": np.array([True, False, True, False]),
        },
        geometry=[shapely.Point(x, y) for x, y in zip(lon, lat, strict=True)],
        crs="EPSG:4326",
    )
    gdf.loc[2, "geometry"] = None
    gdf.attrs["source"] = "test"
    small.layers["custom"] = gdf
    small.layers["empty"] = gdf.iloc[:0].reset_index(drop=True)
    path = netcache.store_cached("k" * 32, small)
    assert path is not None and path.exists()
    loaded = netcache.load_cached("k" * 32)
    assert loaded is not None
    assert_identical(small, loaded)


# ---------------------------------------------------------------------------- keys


def test_key_follows_options_and_source_bytes(
    cache: Path, nanjing_osm: Path, tmp_path: Path
) -> None:
    build_network(nanjing_osm, name="a")
    build_network(nanjing_osm, name="a")
    assert len(entries(cache)) == 1  # same bytes, same options: one entry
    build_network(nanjing_osm, name="b")
    assert len(entries(cache)) == 2
    build_network(nanjing_osm, name="a", min_component_fraction=0.5)
    assert len(entries(cache)) == 3
    slow = CongestionProfile(hourly_index=(2.0,) * 24)
    assert build_network(nanjing_osm, name="a", congestion=slow).congestion == slow
    assert len(entries(cache)) == 4
    # The same bytes elsewhere, with the same label: the same entry.
    copy = tmp_path / "copy.osm"
    shutil.copyfile(nanjing_osm, copy)
    build_network(copy, name="a", source_label=str(nanjing_osm))
    assert len(entries(cache)) == 4
    # One byte more (a trailing newline): another entry.
    with open(copy, "ab") as fh:
        fh.write(b"\n")
    build_network(copy, name="a", source_label=str(nanjing_osm))
    assert len(entries(cache)) == 5


def test_key_follows_format_and_code_version(monkeypatch: pytest.MonkeyPatch) -> None:
    inputs, options = {"source": "file:abc"}, {"name": "x"}
    key = netcache.network_key(inputs, options)
    assert key == netcache.network_key(dict(inputs), dict(options))
    assert key != netcache.network_key({"source": "file:abd"}, options)
    assert key != netcache.network_key(inputs, {"name": "y"})
    monkeypatch.setattr(netcache, "FORMAT_VERSION", netcache.FORMAT_VERSION + 1)
    assert key != netcache.network_key(inputs, options)
    monkeypatch.undo()
    monkeypatch.setattr(netcache, "code_version", lambda: "other code")
    assert key != netcache.network_key(inputs, options)


def test_code_version_covers_the_network_sources() -> None:
    version = netcache.code_version()
    assert len(version) == 64 and version == netcache.code_version()


# ---------------------------------------------------------------------------- failures


def _garbage(path: Path) -> None:
    path.write_bytes(b"not a zip file at all")


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _wrong_format(path: Path) -> None:
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["cache.header"] = np.frombuffer(b'{"format": 999}', dtype=np.uint8)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize("spoil", [_garbage, _truncated, _empty, _wrong_format])
def test_corrupt_entry_is_rebuilt_and_overwritten(
    cache: Path, nanjing_osm: Path, caplog: pytest.LogCaptureFixture, spoil: Any
) -> None:
    fresh = build_network(nanjing_osm, cache=False)
    build_network(nanjing_osm)
    (entry,) = entries(cache)
    spoil(entry)
    with caplog.at_level(logging.WARNING, logger="twin.network.cache"):
        rebuilt = build_network(nanjing_osm)
    assert "unreadable network cache entry" in caplog.text
    assert rebuilt.graph_loaded  # built, not read
    assert_identical(fresh, rebuilt, separate_builds=True)
    assert entries(cache) == [entry]  # overwritten in place
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="twin.network.cache"):
        again = build_network(nanjing_osm)
    assert not again.graph_loaded and caplog.text == ""
    assert_identical(rebuilt, again)


def test_unwritable_cache_folder_warns_and_continues(
    tmp_path: Path, nanjing_osm: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache folder cannot be made under a file")
    monkeypatch.setenv("TWIN_CACHE_DIR", str(blocker))
    monkeypatch.delenv("TWIN_NO_CACHE", raising=False)
    monkeypatch.setattr(netcache, "MIN_CACHED_EDGES", 0)
    with caplog.at_level(logging.WARNING, logger="twin.network.cache"):
        net = build_network(nanjing_osm)
    assert "Could not write the network cache" in caplog.text
    assert net.n_edges > 0


def test_a_failed_write_leaves_no_file(
    cache: Path, nanjing_osm: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def fail(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(netcache.os, "replace", fail)
    with caplog.at_level(logging.WARNING, logger="twin.network.cache"):
        build_network(nanjing_osm)
    assert "disk full" in caplog.text
    assert list(cache.iterdir()) == []  # neither an entry nor a temporary file


def test_entry_is_written_through_a_temporary_file(
    cache: Path, nanjing_osm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moves: list[tuple[str, str]] = []
    real = os.replace

    def spy(src: Any, dst: Any) -> None:
        assert Path(src).parent == Path(dst).parent  # one file system: an atomic rename
        assert Path(src).name.endswith(".tmp") and not Path(dst).exists()
        moves.append((str(src), str(dst)))
        real(src, dst)

    monkeypatch.setattr(netcache.os, "replace", spy)
    build_network(nanjing_osm)
    (entry,) = entries(cache)
    assert moves == [(moves[0][0], str(entry))]


def test_no_cache_environment_variable(
    cache: Path, nanjing_osm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWIN_NO_CACHE", "1")
    assert not netcache.cache_enabled()
    net = build_network(nanjing_osm)
    assert net.graph_loaded and entries(cache) == []
    # An entry made while the cache was on is not read while it is off.
    monkeypatch.setenv("TWIN_NO_CACHE", "0")
    assert netcache.cache_enabled()
    build_network(nanjing_osm)
    assert len(entries(cache)) == 1
    monkeypatch.setenv("TWIN_NO_CACHE", "1")
    assert build_network(nanjing_osm).graph_loaded
    assert netcache.load_cached(entries(cache)[0].stem) is None


def test_cache_false_and_graph_sources_are_not_cached(cache: Path, nanjing_osm: Path) -> None:
    net = build_network(nanjing_osm, cache=False)
    assert entries(cache) == []
    build_network(net.G, name="from a graph")
    assert entries(cache) == []


def test_small_networks_are_not_stored(
    cache: Path, nanjing_osm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(netcache, "MIN_CACHED_EDGES", 2_000)
    build_network(nanjing_osm)
    assert entries(cache) == []


def test_unsupported_content_is_not_stored(
    cache: Path, small: RoadNetwork, caplog: pytest.LogCaptureFixture
) -> None:
    before = entries(cache)
    u, v, k = next(iter(small.G.edges(keys=True)))
    small.G.edges[u, v, k]["lanes"] = (2, 3)  # a tuple would come back a list
    with caplog.at_level(logging.WARNING, logger="twin.network.cache"):
        assert netcache.store_cached("t" * 32, small) is None
    assert "Not caching" in caplog.text and "'lanes' of the graph's edges" in caplog.text
    assert entries(cache) == before


def test_saved_folder_is_cached_by_its_bytes(
    cache: Path, small: RoadNetwork, tmp_path: Path
) -> None:
    folder = save_network(small, tmp_path / "saved")
    first = load_network(folder)
    assert first.graph_loaded and len(entries(cache)) == 1
    second = load_network(folder)
    assert not second.graph_loaded
    assert_identical(first, second)
    meta = folder / "network.json"
    doc = json.loads(meta.read_text())
    doc["name"] = "renamed"
    meta.write_text(json.dumps(doc))
    assert load_network(folder).meta["name"] == "renamed"
    assert len(entries(cache)) == 2


# ---------------------------------------------------------------------------- housekeeping


def test_least_recently_used_entries_are_pruned(
    cache: Path, small: RoadNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(netcache, "MAX_ENTRIES", 3)
    paths = [netcache.store_cached(f"{i:032d}", small) for i in range(3)]
    for i, path in enumerate(paths):
        assert path is not None
        os.utime(path, (1_000_000 + i, 1_000_000 + i))  # entry 0 used longest ago
    stale = cache / ".old.tmp"
    stale.write_bytes(b"from a crashed writer")
    os.utime(stale, (1_000_000, 1_000_000))
    netcache.store_cached("9" * 32, small)
    names = {p.stem for p in entries(cache)}
    assert names == {f"{1:032d}", f"{2:032d}", "9" * 32}
    assert not stale.exists()


def test_list_and_clear(cache: Path, small: RoadNetwork) -> None:
    assert netcache.list_entries() == [] and netcache.clear_cache() == 0
    netcache.store_cached("a" * 32, small)
    (cache / f"{'b' * 32}.npz").write_bytes(b"junk")
    listed = {e.path.stem: e for e in netcache.list_entries()}
    assert listed["a" * 32].readable and listed["a" * 32].edges == small.n_edges
    assert not listed["b" * 32].readable
    assert netcache.clear_cache() == 2
    assert entries(cache) == []


def test_build_options_of_real_extracts_are_part_of_the_key(cache: Path) -> None:
    """min_component_fraction and derive_layers each give their own entry."""
    clipped = Path(__file__).resolve().parents[1] / "data" / "nanjing_xinjiekou_clipped.osm.pbf"
    a = build_network(clipped, min_component_fraction=0.5)
    b = build_network(clipped, min_component_fraction=0.55)
    c = build_network(clipped, min_component_fraction=0.5, derive_layers=False)
    assert len(list(cache.glob("*"))) == 3
    assert a.meta["min_component_fraction"] == 0.5 and b.meta["min_component_fraction"] == 0.55
    assert "stations" in a.layers and c.layers == {}
    again = build_network(clipped, min_component_fraction=0.5)  # from the cache
    assert list(again.layers["stations"]["id"]) == list(a.layers["stations"]["id"])
    assert again.meta["derived_layers"] == a.meta["derived_layers"]
    assert len(list(cache.glob("*"))) == 3
