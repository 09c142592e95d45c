"""Reading real radar composites with pysteps' importers (KNMI, FMI, MRMS)."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from numpy.testing import assert_allclose

from tests.hydro.radar.conftest import FMI_FILES, KNMI_FILES, MRMS_DIR
from twin.errors import InputFileNotFoundError, TwinError
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.io import read_fmi_pgm, read_knmi_hdf5, read_mrms_grib, read_radar


def test_knmi_frames_become_rates_labelled_by_interval_start() -> None:
    rain = read_knmi_hdf5(KNMI_FILES)
    assert rain.name == "rain_rate" and rain.dims == ("time", "y", "x")
    assert rain.shape == (3, 765, 700)
    assert rain.attrs["units"] == "mm h-1" and rain.attrs["interval_s"] == 300.0
    # Files stamped 00:40, 00:45, 00:50 hold the 5 minutes up to those times.
    assert [str(t)[11:16] for t in rain["time"].values] == ["00:35", "00:40", "00:45"]
    with h5py.File(KNMI_FILES[0]) as f:
        assert f["overview"].attrs["product_datetime_end"][0].startswith(b"26-AUG-2010;00:40")
    # 5-min depths [mm] of 0.01 mm resolution become rates of 0.12 mm/h steps.
    finite = rain.values[np.isfinite(rain.values)]
    assert_allclose(finite / 0.12, np.round(finite / 0.12), atol=1e-4)
    # Corners: the product's own geo_product_corners, within half a cell.
    with h5py.File(KNMI_FILES[0]) as f:
        corners = f["geographic"].attrs["geo_product_corners"].reshape(4, 2)
    lon, lat = rain["lon"].values, rain["lat"].values
    ours = np.array([[lon[-1, 0], lat[-1, 0]], [lon[0, 0], lat[0, 0]],
                     [lon[0, -1], lat[0, -1]], [lon[-1, -1], lat[-1, -1]]])  # fmt: skip
    assert_allclose(ours, corners, atol=0.02)
    assert "Polar Stereographic" in rain.attrs["crs"]
    assert np.isnan(rain.values[:, 0, 0]).all()  # outside the radars' reach: NaN, not 0


def test_fmi_reflectivity_by_marshall_palmer() -> None:
    from pysteps.io.importers import import_fmi_pgm

    rain = read_fmi_pgm(FMI_FILES)
    assert rain.shape == (2, 1226, 760) and rain.attrs["interval_s"] == 300.0
    assert [str(t)[11:16] for t in rain["time"].values] == ["13:50", "13:55"]
    dbz, _, _ = import_fmi_pgm(str(FMI_FILES[-1]), gzipped=True)
    echo = np.isfinite(dbz) & (dbz > 10)
    expected = (10 ** (dbz[echo] / 10) / 200.0) ** (1 / 1.6)
    assert_allclose(rain.values[-1][echo], expected, rtol=1e-5)
    assert (rain.values[-1][dbz == -32] == 0).all()  # no echo: no rain
    assert rain.attrs["zr_a"] == 200.0 and rain.attrs["zr_b"] == 1.6


def test_read_radar_tells_the_product(tmp_path: Path) -> None:
    for f in KNMI_FILES[:2]:
        shutil.copy(f, tmp_path)
    rain = read_radar(tmp_path)
    assert rain.attrs["product"] == "knmi_hdf5" and rain.sizes["time"] == 2


def test_crop_keeps_the_box() -> None:
    rain = read_knmi_hdf5(KNMI_FILES[:1], crop=(200_000, 260_000, -4_000_000, -3_950_000))
    assert rain.shape == (1, 50, 60)


@pytest.mark.usefixtures("no_mrms")
def test_mrms_frames_from_the_shared_folder() -> None:
    files = sorted(MRMS_DIR.glob("*.grib2"))[:2]
    rain = read_mrms_grib(files, centre=(-98.0, 30.2), size_km=40.0)
    assert rain.shape == (2, 40, 40) and rain.attrs["interval_s"] == 120.0
    assert [str(t)[11:16] for t in rain["time"].values] == ["23:58", "00:00"]
    assert "Lambert Azimuthal Equal Area" in rain.attrs["crs"]
    assert_allclose(rain["lon"].values[20, 20], -98.0, atol=0.02)
    assert np.nanmax(rain.values) > 1.0  # the storm is there


def test_missing_frame_is_an_error(tmp_path: Path) -> None:
    for f in (KNMI_FILES[0], KNMI_FILES[2]):
        shutil.copy(f, tmp_path)
    with pytest.raises(
        RadarError, match=r"missing times: frames every 10 min but the product comes every 5 min"
    ):
        read_knmi_hdf5(tmp_path)


def test_duplicate_time_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(KNMI_FILES[0], tmp_path / "a")
    shutil.copy(KNMI_FILES[0], tmp_path / "b")
    with pytest.raises(RadarError, match="duplicate time"):
        read_knmi_hdf5(tmp_path)


def test_empty_and_missing_and_unnamed_files(tmp_path: Path) -> None:
    empty = tmp_path / "RAD_NL25_RAP_5min_201008260040.h5"
    empty.touch()
    with pytest.raises(RadarError, match=rf"{empty}: the file is empty"):
        read_knmi_hdf5([empty])
    with pytest.raises(InputFileNotFoundError, match="no such radar file"):
        read_knmi_hdf5([tmp_path / "RAD_NL25_RAP_5min_201008260045.h5"])
    odd = tmp_path / "radar.h5"
    shutil.copy(KNMI_FILES[0], odd)
    with pytest.raises(RadarError, match="cannot tell the time from the file name"):
        read_knmi_hdf5([odd])
    broken = tmp_path / "RAD_NL25_RAP_5min_201008260055.h5"
    broken.write_bytes(b"not hdf5")
    with pytest.raises(TwinError, match=rf"{broken}: cannot be read as a KNMI HDF5"):
        read_knmi_hdf5([broken])
