"""Your own district: ``twin run --network`` and ``twin demo --network`` on a network
built from a clipped OSM extract of Nanjing (not Gongshu), with no Gongshu file borrowed.

The demo writes every section it can; the models whose city layer the extract lacks
(low points, construction sites and docks, Wulin Square) are off, and the terminal and
``index.html`` say why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import ROOT, one_line_error, twin

CLIPPED = ROOT / "tests" / "data" / "nanjing_xinjiekou_clipped.osm.pbf"


@pytest.fixture(scope="module")
def nanjing_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("nanjing") / "net"
    r = twin("network", "build", "--osm", str(CLIPPED), "--min-component-fraction", "0.5",
             "--out", str(folder))  # fmt: skip
    assert r.returncode == 0, r.stderr
    return folder


def test_run_on_another_network(nanjing_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = twin("run", str(ROOT / "scenarios" / "gongshu_baseline_day.yaml"),
             "--network", str(nanjing_dir), "--out", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (out / "summary.html").exists() and (out / "run.nc").exists()
    import numpy as np
    import xarray as xr

    with xr.open_dataset(out / "run.nc") as ds:  # the crews moved on Nanjing's streets
        lon = ds["crew_lon"].values
    assert 118.7 < float(np.nanmean(lon)) < 118.9


def test_a_missing_network_is_one_line(tmp_path: Path) -> None:
    r = twin("run", str(ROOT / "scenarios" / "gongshu_baseline_day.yaml"),
             "--network", str(tmp_path / "nope"))  # fmt: skip
    one_line_error(r, "--network", "no such file or folder", "twin network build")
    r = twin("run", str(ROOT / "scenarios" / "gongshu_baseline_day.yaml"),
             "--network", str(tmp_path))  # fmt: skip
    one_line_error(r, "holds no saved network")


@pytest.mark.slow
def test_demo_on_another_network(nanjing_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    r = twin("demo", "--network", str(nanjing_dir), "--out", str(out), "--replications", "2")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "baseline_day/summary.html" in index and "compare/comparison.csv" in index
    assert "Models that are off on this network" in index
    for section, why in (
        ("Waterlogging and forecasts", "has no low points"),
        ("Muck trucks", "has no &#x27;sites&#x27; layer"),
        ("Crowds at an event", "no plaza"),
    ):
        assert section in index and why in index, (section, why)
    text = " ".join(r.stdout.split())
    assert "Muck trucks: off" in text and "index.html" in text
    assert not (out / "muck_night").exists()  # nothing of Gongshu's was borrowed


def test_trucks_on_a_network_without_sites(nanjing_dir: Path, tmp_path: Path) -> None:
    r = twin("trucks", "run", "--network", str(nanjing_dir), "--hours", "2",
             "--out", str(tmp_path / "trucks"))  # fmt: skip
    one_line_error(r, "has no 'sites' layer", "construction sites", "FILE.geojson")
