"""External nowcast products (CF NetCDF): read with validation, used as a nowcast method."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from numpy.testing import assert_allclose

from tests.hydro.radar.conftest import gaussian_blobs, synthetic_radar
from twin.errors import InputFileNotFoundError
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.external import read_external_nowcast, write_nowcast
from twin.hydro.radar.nowcast import nowcast
from twin.hydro.radar.transpose import transpose_radar


@pytest.fixture(scope="module")
def radar() -> xr.DataArray:
    return synthetic_radar(gaussian_blobs((4, 40, 40), (10.0, 25.0), (1.0, -0.5)))


@pytest.fixture(scope="module")
def issue(radar: xr.DataArray) -> np.datetime64:
    last: np.datetime64 = radar["time"].values[-1]
    return last + np.timedelta64(300, "s")


def _product(radar: xr.DataArray, issue: np.datetime64, n: int = 6) -> xr.Dataset:
    """A bureau-style file: two issue times, leads in minutes, UTM grid mapping."""
    values = np.stack([np.repeat(radar.values[-1:], n, axis=0)] * 2) * np.array([1.0, 2.0])[
        :, None, None, None]  # fmt: skip
    ds = xr.Dataset(
        {"precip": (("issue_time", "lead_time", "y", "x"), values,
                    {"units": "mm/h", "standard_name": "rainfall_rate", "grid_mapping": "utm"})},
        coords={"issue_time": [issue - np.timedelta64(300, "s"), issue],
                "lead_time": ("lead_time", 5.0 * np.arange(1, n + 1), {"units": "minutes"}),
                "y": radar["y"].values, "x": radar["x"].values},
        attrs={"source": "a met bureau's nowcast (test)"},
    )  # fmt: skip
    ds["utm"] = xr.DataArray(0, attrs={"crs_wkt": radar.attrs["crs"]})
    return ds


def test_read_a_product_and_pick_the_issue_time(
    tmp_path: Path, radar: xr.DataArray, issue: np.datetime64
) -> None:
    path = tmp_path / "bureau.nc"
    _product(radar, issue).to_netcdf(path)
    nc = read_external_nowcast(path, issue_time=issue)
    assert nc.dims == ("member", "lead_time", "y", "x") and nc.shape == (1, 6, 40, 40)
    assert nc.attrs["interval_s"] == 300.0
    assert_allclose(nc.values[0, 0], 2 * radar.values[-1])
    with pytest.raises(RadarError, match=rf"{path}: 2 issue times.*pass issue_time="):
        read_external_nowcast(path)
    with pytest.raises(RadarError, match=rf"{path}: no nowcast issued at"):
        read_external_nowcast(path, issue_time="2030-01-01T00:00")


def test_external_method_resamples_onto_the_grid(
    tmp_path: Path, radar: xr.DataArray, issue: np.datetime64
) -> None:
    path = tmp_path / "bureau.nc"
    _product(radar, issue).to_netcdf(path)
    nc = nowcast(radar, issue, method="external", external=path, lead_max_min=20)
    assert nc.attrs["method"] == "external" and nc.shape == (1, 4, 40, 40)
    assert_allclose(nc.values[0, 3], 2 * radar.values[-1])
    with pytest.raises(RadarError, match="needs external="):
        nowcast(radar, issue, method="external")


def test_own_nowcasts_round_trip(tmp_path: Path, radar: xr.DataArray, issue: np.datetime64) -> None:
    nc = nowcast(radar, issue, method="extrapolation", lead_max_min=15, outside=0.0)
    back = read_external_nowcast(write_nowcast(nc, tmp_path / "own.nc"))
    assert_allclose(back.values, nc.values, atol=0.005)
    assert back["issue_time"].values == nc["issue_time"].values


def test_bad_products(tmp_path: Path, radar: xr.DataArray, issue: np.datetime64) -> None:
    ds = _product(radar, issue)
    no_units = ds.copy()
    no_units["lead_time"] = ("lead_time", 5.0 * np.arange(1, 7))
    path = tmp_path / "nounits.nc"
    no_units.to_netcdf(path)
    with pytest.raises(RadarError, match=rf"{path}: lead_time has no CF time units"):
        read_external_nowcast(path, issue_time=issue)
    gappy = ds.isel(lead_time=[0, 1, 3])
    path = tmp_path / "gappy.nc"
    gappy.to_netcdf(path)
    with pytest.raises(RadarError, match=rf"{path}: lead times are not a regular series"):
        read_external_nowcast(path, issue_time=issue)
    undated = ds.isel(issue_time=0).drop_vars("issue_time")
    path = tmp_path / "undated.nc"
    undated.to_netcdf(path)
    with pytest.raises(RadarError, match=rf"{path}: no issue_time"):
        read_external_nowcast(path)
    with pytest.raises(InputFileNotFoundError):
        read_external_nowcast(tmp_path / "absent.nc")


def test_a_product_that_misses_the_district(tmp_path: Path, knmi_event: xr.DataArray) -> None:
    rain = transpose_radar(knmi_event.isel(time=slice(0, 4)), size_km=32)
    far = synthetic_radar(np.ones((1, 10, 10)), centre=(700_000.0, 3_300_000.0))
    issue = rain["time"].values[-1] + np.timedelta64(300, "s")
    ds = _product(far, issue)
    path = tmp_path / "elsewhere.nc"
    ds.to_netcdf(path)
    with pytest.raises(RadarError, match=rf"{path}: the nowcast grid misses the district"):
        nowcast(rain, issue, method="external", external=path, lead_max_min=10)
