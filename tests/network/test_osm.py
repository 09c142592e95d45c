"""Real extracts: clipped XML/PBF, small areas, clear failures, hash-seed-free builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import osmium
import pytest
from typer.testing import CliRunner

from twin.cli import app
from twin.errors import DisconnectedNetworkError, EmptyNetworkError
from twin.network import build_network, load_network
from twin.network.osm import truncate_at_missing
from twin.scenario.schema import NetworkConfig

CLIPPED = Path(__file__).resolve().parents[1] / "data" / "nanjing_xinjiekou_clipped.osm.pbf"
ARRAYS = (
    "node_ids", "node_lon", "node_lat", "edge_u", "edge_v", "edge_key", "length",
    "speed_kph", "free_flow_time", "road_class", "tunnel", "name",
)  # fmt: skip


def to_xml(src: Path, dst: Path) -> Path:
    """The same OSM data in another format (by suffix), with pyosmium."""
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


# ---------------------------------------------------------------------------- truncation


def test_truncate_keeps_runs_of_present_nodes() -> None:
    assert truncate_at_missing(7, [1, 2, 3, 4, 5], [False, True, True, False, True]) == [
        (7, [2, 3])
    ]
    # The longest run keeps the id; the others get -(id * 1000 + k).
    runs = truncate_at_missing(7, [1, 2, 3, 4, 5, 6], [True, True, False, True, True, True])
    assert runs == [(-7001, [1, 2]), (7, [4, 5, 6])]
    assert truncate_at_missing(7, [1, 2, 3], [True, False, True]) == []
    assert truncate_at_missing(7, [1, 2], [True, True]) == [(7, [1, 2])]


def test_fixture_is_a_real_clipped_extract() -> None:
    assert CLIPPED.stat().st_size < 30_000
    have = {n.id for n in osmium.FileProcessor(str(CLIPPED), osmium.osm.NODE)}
    missing = sum(
        any(r.ref not in have for r in w.nodes)
        for w in osmium.FileProcessor(str(CLIPPED), osmium.osm.WAY)
        if "highway" in w.tags
    )
    assert missing >= 20  # many roads cross the edge of the box


def test_clipped_pbf_is_refused_by_default_with_what_to_do() -> None:
    with pytest.raises(DisconnectedNetworkError) as info:
        build_network(CLIPPED, cache=False)
    msg = str(info.value)
    assert str(CLIPPED) in msg and "59%" in msg
    assert "--min-component-fraction" in msg and "min_component_fraction" in msg
    assert "network:" in msg and "larger area" in msg
    # No deleted temporary file is named (the extract's own path may be anywhere).
    rest = msg.replace(str(CLIPPED), "")
    assert "twin-pbf" not in rest and tempfile.gettempdir() not in rest


def test_clipped_pbf_builds_with_a_lower_fraction() -> None:
    net = build_network(CLIPPED, min_component_fraction=0.5, cache=False)
    assert net.node_ids.size == 19 and net.edge_u.size == 43
    assert net.meta["clipped_extract"] == {"ways_truncated": 24, "missing_refs": 96}
    assert net.meta["min_component_fraction"] == 0.5
    # Truncated ways end at nodes present in the file: every edge has real coordinates.
    assert np.isfinite(net.node_lon).all() and np.isfinite(net.node_lat).all()


@pytest.mark.parametrize("suffix", [".osm", ".osm.bz2"])
def test_clipped_xml_gives_the_same_network(tmp_path: Path, suffix: str) -> None:
    xml = to_xml(CLIPPED, tmp_path / f"clipped{suffix}")
    a = build_network(xml, min_component_fraction=0.5, cache=False)
    b = build_network(CLIPPED, min_component_fraction=0.5, cache=False)
    for attr in ARRAYS:
        assert np.array_equal(getattr(a, attr), getattr(b, attr)), attr


def test_ways_without_any_of_their_nodes(tmp_path: Path) -> None:
    path = tmp_path / "ways_only.osm.pbf"
    writer = osmium.SimpleWriter(str(path))
    for way in osmium.FileProcessor(str(CLIPPED), osmium.osm.WAY):
        writer.add_way(way)
    writer.close()
    with pytest.raises(EmptyNetworkError) as info:
        build_network(path, cache=False)
    msg = str(info.value)
    assert str(path) in msg and "missing from the file" in msg
    assert "complete_ways" in msg  # what to do


# ---------------------------------------------------------------------------- CLI, scenario


def test_cli_min_component_fraction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_NO_CACHE", "1")
    runner = CliRunner()
    out = tmp_path / "net"
    refused = runner.invoke(app, ["network", "build", "--osm", str(CLIPPED), "--out", str(out)])
    assert refused.exit_code != 0
    assert isinstance(refused.exception, DisconnectedNetworkError)  # main() prints it
    assert "--min-component-fraction" in str(refused.exception)
    built = runner.invoke(
        app,
        [
            "network",
            "build",
            "--osm",
            str(CLIPPED),
            "--min-component-fraction",
            "0.5",
            "--out",
            *[str(out)],
        ],
    )
    assert built.exit_code == 0, built.output
    assert "trucks model off" in built.output and "docks" in built.output
    assert "Clipped extract" in built.output
    net = load_network(out, cache=False)
    assert net.node_ids.size == 19 and "stations" in net.layers


def test_scenario_network_takes_the_fraction() -> None:
    assert (
        NetworkConfig(source="x.osm.pbf", min_component_fraction=0.4).min_component_fraction == 0.4
    )
    assert NetworkConfig().min_component_fraction == 0.6
    with pytest.raises(ValueError, match="min_component_fraction"):
        NetworkConfig(min_component_fraction=1.5)


# ---------------------------------------------------------------------------- determinism

_DUMP = """
import json, sys
import numpy as np
from twin.network import build_network
out = {}
for i, path in enumerate(sys.argv[2:]):
    net = build_network(path, min_component_fraction=0.5, cache=False)
    for attr in json.loads(sys.argv[1]):
        out[f"{i}.{attr}"] = np.asarray(getattr(net, attr))
    for name, gdf in sorted(net.layers.items()):
        out[f"{i}.layer.{name}"] = np.asarray(gdf["id"].astype(str), dtype=str)
np.savez(sys.stdin.readline().strip(), **out)
"""


def test_builds_do_not_depend_on_the_hash_seed(nanjing_osm: Path, tmp_path: Path) -> None:
    """The same files give identical arrays in processes with different PYTHONHASHSEED."""
    xml = to_xml(CLIPPED, tmp_path / "clipped.osm")
    dumps = []
    for seed in ("1", "2"):
        dump = tmp_path / f"seed{seed}.npz"
        env = {**os.environ, "PYTHONHASHSEED": seed, "TWIN_NO_CACHE": "1"}
        subprocess.run(
            [
                sys.executable,
                "-c",
                _DUMP,
                json.dumps(ARRAYS),
                *map(str, (nanjing_osm, CLIPPED, xml)),
            ],
            input=f"{dump}\n",
            text=True,
            env=env,
            check=True,
            capture_output=True,
        )
        dumps.append(np.load(dump))
    a, b = dumps
    assert sorted(a.files) == sorted(b.files) and len(a.files) > 3 * len(ARRAYS)
    for key in a.files:
        assert np.array_equal(a[key], b[key]), key
