"""The `twin` command: help reads well, errors are one line with a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def twin(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twin.cli", *args],
        capture_output=True, text=True, cwd=cwd or ROOT, timeout=300,
        env={**__import__("os").environ, "COLUMNS": "120"},
    )  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("network",),
        ("network", "build"),
        ("run",),
        ("compare",),
        ("demo",),
        ("rain",),
        ("rain", "show"),
        ("rain", "plot"),
        ("rain", "events"),
        ("sweep",),
        ("report",),
        # Registered by name, imported on first use (twin.cli._group).
        ("trucks",),
        ("forecast",),
        ("place",),
        ("live",),
        ("app",),
    ],
)
def test_help(args: tuple[str, ...]) -> None:
    r = twin(*args, "--help")
    assert r.returncode == 0, r.stderr
    assert "Usage" in r.stdout
    assert len(r.stdout.splitlines()) > 5


def test_version() -> None:
    from twin import __version__

    r = twin("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"twin {__version__}\n"


def one_line_error(r: subprocess.CompletedProcess[str], *words: str) -> None:
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error:")
    for w in words:
        assert w in lines[0], lines[0]


def test_missing_osm_file(tmp_path: Path) -> None:
    one_line_error(twin("network", "build", "--osm", str(tmp_path / "nope.osm")), "no such file")


def test_not_osm(tmp_path: Path) -> None:
    bad = tmp_path / "city.osm"
    bad.write_text("just text [with brackets]\n")
    one_line_error(twin("network", "build", "--osm", str(bad)), "not an OpenStreetMap", "city.osm")


def test_bad_scenario_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('name: x\nstart: "2026-06-01"\ndispatch:\n  policy: teleport\n')
    one_line_error(twin("run", str(bad)), "bad.yaml:4", "dispatch.policy", "nearest_idle")


def test_scenario_with_unreachable_depots(tmp_path: Path) -> None:
    depots = tmp_path / "depots.geojson"
    depots.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [116.39, 39.9]},
        "properties": {"id": "beijing", "name": "far away", "street": "x",
                       "illustrative": True, "source": "test"}}]}))  # fmt: skip
    s = tmp_path / "s.yaml"
    s.write_text(f'name: x\nstart: "2026-06-01"\nhorizon: 1h\ncrews:\n  depots: {depots}\n')
    one_line_error(twin("run", str(s)), "crews.depots")


def test_run_writes_results(tmp_path: Path) -> None:
    s = tmp_path / "short.yaml"
    s.write_text(
        'name: short\nstart: "2026-06-01T08:00:00"\nhorizon: 2h\nseed: 4\n'
        "cases:\n  daily_total: 600\ncrews:\n  count: 40\n"
    )
    out = tmp_path / "out"
    r = twin("run", str(s), "--out", str(out))
    assert r.returncode == 0, r.stderr
    for name in ("run.nc", "cases.parquet", "kpis.csv", "summary.html"):
        assert (out / name).exists(), name
    assert "real-time factor" in r.stdout
    assert str(out) in r.stdout


def test_network_info_json() -> None:
    r = twin("network", "info", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["nodes"] > 8000
    assert info["layers"]["docks"] == 3


def test_rain_show_and_plot(tmp_path: Path) -> None:
    storm = str(ROOT / "scenarios" / "gongshu_rainstorm.yaml")
    r = twin("rain", "show", storm)
    assert r.returncode == 0, r.stderr
    assert "depth mm" in r.stdout
    png = tmp_path / "storm.png"
    r = twin("rain", "plot", storm, "--out", str(png))
    assert r.returncode == 0, r.stderr
    assert png.stat().st_size > 10_000


def test_rain_events_lists_the_catalogue() -> None:
    r = twin("rain", "events", "--top", "3")
    assert r.returncode == 0, r.stderr
    assert "events in the catalogue" in r.stdout


def test_rain_show_unknown_event() -> None:
    one_line_error(twin("rain", "show", "S00-nothing"), "no event", "twin rain events")
