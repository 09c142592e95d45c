"""The converter: shared composites → cropped, compressed CF NetCDF with provenance."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.hydro.radar.conftest import KNMI_FILES, MRMS_DIR
from twin.hydro.radar.convert import convert_event, find_storm_window, write_readme
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.netcdf import read_radar_netcdf


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    folder = tmp_path / "shared" / "knmi" / "2010" / "08"
    folder.mkdir(parents=True)
    for f in KNMI_FILES:
        shutil.copy(f, folder)
    return tmp_path / "shared"


def test_convert_knmi_frames(shared: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = convert_event("knmi-20100826", source_dir=shared, out_dir=out, crop_km=64)
    rain = read_radar_netcdf(path)
    assert rain.shape == (3, 64, 64) and rain.attrs["interval_s"] == 300.0
    for key in ("licence", "attribution", "not_hangzhou", "original_files", "source"):
        assert rain.attrs[key], key
    assert "CC BY 4.0" in rain.attrs["licence"] and "KNMI" in rain.attrs["attribution"]
    assert np.isfinite(rain.values).mean() > 0.9
    again = convert_event("knmi-20100826", source_dir=shared, out_dir=tmp_path / "again",
                          crop_km=64)  # fmt: skip
    assert again.read_bytes() == path.read_bytes()  # deterministic
    readme = write_readme(out).read_text(encoding="utf-8")
    assert "`knmi-20100826.nc`" in readme and "not Hangzhou" in readme


def test_storm_window_prefers_heavy_rain_inside_the_radar() -> None:
    total = np.zeros((50, 50))
    total[5, 5] = 100.0  # heaviest, but its window would leave the valid area
    total[30:36, 30:36] = 10.0
    valid = np.ones((50, 50))
    valid[:20, :20] = 0.0
    row, col = find_storm_window(total, valid, 20, box=5)
    assert 28 <= row <= 38 and 28 <= col <= 38


def test_unknown_event_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(RadarError, match="unknown radar event"):
        convert_event("dwd-20200101", source_dir=tmp_path)
    with pytest.raises(RadarError, match="no such folder"):
        convert_event("fmi-20160928", source_dir=tmp_path)


@pytest.mark.slow
@pytest.mark.usefixtures("no_mrms")
def test_convert_mrms_frames(tmp_path: Path) -> None:
    folder = tmp_path / "shared" / "mrms" / "2019" / "06" / "10"
    folder.mkdir(parents=True)
    for f in sorted(MRMS_DIR.glob("*.grib2"))[:2]:
        (folder / f.name).symlink_to(f.resolve())
    path = convert_event("mrms-20190610", source_dir=tmp_path / "shared", out_dir=tmp_path,
                         crop_km=48)  # fmt: skip
    rain = read_radar_netcdf(path)
    assert rain.shape == (2, 48, 48) and rain.attrs["interval_s"] == 120.0
    assert "public domain" in rain.attrs["licence"]
