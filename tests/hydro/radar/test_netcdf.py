"""CF NetCDF radar files: round trip, the shipped events, and clear errors on bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from numpy.testing import assert_allclose

from tests.hydro.radar.conftest import synthetic_radar
from twin.errors import InputFileNotFoundError
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.events import EVENT_NAMES, event_path, event_summary, load_event
from twin.hydro.radar.netcdf import read_radar_netcdf, write_radar_netcdf


def _field(nt: int = 3, n: int = 8) -> xr.DataArray:
    rng = np.random.default_rng(1)
    values = rng.gamma(0.5, 4.0, size=(nt, n, n))
    values[0, 0, 0] = np.nan
    return synthetic_radar(values)


def test_round_trip_keeps_values_grid_and_crs(tmp_path: Path) -> None:
    rain = _field()
    path = write_radar_netcdf(rain, tmp_path / "r.nc", attrs={"source": "test"})
    back = read_radar_netcdf(path)
    assert back.dims == ("time", "y", "x") and back.attrs["source"] == "synthetic test field"
    assert_allclose(back.values, rain.values, atol=0.005)  # int16 packing at 0.01 mm/h
    assert np.isnan(back.values[0, 0, 0])
    assert_allclose(back["x"].values, rain["x"].values)
    assert_allclose(back["y"].values, rain["y"].values)
    assert_allclose(back["lon"].values, rain["lon"].values, atol=1e-5)
    assert back.attrs["interval_s"] == 300.0 and "UTM zone 51N" in back.attrs["crs"]
    with xr.open_dataset(path) as ds:
        assert ds["rain_rate"].encoding["dtype"] == np.int16
        assert "crs_wkt" in ds["crs"].attrs


def test_writing_is_deterministic(tmp_path: Path) -> None:
    a = write_radar_netcdf(_field(), tmp_path / "a.nc")
    b = write_radar_netcdf(_field(), tmp_path / "b.nc")
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("name", EVENT_NAMES)
def test_shipped_events_load(name: str) -> None:
    path = event_path(name)
    assert path.stat().st_size < 5e6
    rain = load_event(name)
    assert rain.dims == ("time", "y", "x") and rain.sizes["y"] == rain.sizes["x"] == 256
    assert rain.attrs["event"] == name
    assert "not on Hangzhou" in rain.attrs["not_hangzhou"]
    for key in ("licence", "attribution", "origin", "source"):
        assert rain.attrs[key]
    t = pd.DatetimeIndex(rain["time"].values)
    assert (np.diff(t.asi8) == rain.attrs["interval_s"] * 1e9).all()
    s = event_summary(rain)
    assert s["peak_mm_h"] > 10 and s["valid_fraction"] > 0.9


def test_shipped_files_together_are_small() -> None:
    total = sum(event_path(n).stat().st_size for n in EVENT_NAMES)
    assert total < 15e6


def test_reflectivity_in_dbz(tmp_path: Path) -> None:
    rain = _field()
    dbz = 10 * np.log10(200 * np.where(rain.values > 0, rain.values, 1e-3) ** 1.6)
    ds = xr.Dataset(
        {"dbz": (("time", "y", "x"), dbz, {"units": "dBZ",
                 "standard_name": "equivalent_reflectivity_factor", "grid_mapping": "crs"})},
        coords={"time": rain["time"].values, "y": ("y", rain["y"].values / 1000, {"units": "km"}),
                "x": ("x", rain["x"].values, {"units": "m"})},
    )  # fmt: skip
    ds["crs"] = xr.DataArray(0, attrs={"crs_wkt": rain.attrs["crs"]})
    ds.to_netcdf(tmp_path / "z.nc")
    back = read_radar_netcdf(tmp_path / "z.nc")
    assert_allclose(back.values, np.where(rain.values > 0, rain.values, 1e-3), rtol=1e-6)
    assert_allclose(back["y"].values, rain["y"].values)


def _write(ds: xr.Dataset, path: Path) -> Path:
    ds.to_netcdf(path)
    return path


def _dataset(rain: xr.DataArray) -> xr.Dataset:
    ds = rain.drop_vars(["lon", "lat"]).to_dataset()
    ds["rain_rate"].attrs = {"units": "mm h-1", "grid_mapping": "crs"}
    ds["crs"] = xr.DataArray(0, attrs={"crs_wkt": rain.attrs["crs"]})
    return ds


def test_missing_crs(tmp_path: Path) -> None:
    ds = _dataset(_field()).drop_vars("crs")
    ds["rain_rate"].attrs.pop("grid_mapping")
    path = _write(ds, tmp_path / "nocrs.nc")
    with pytest.raises(RadarError, match=rf"{path}.*no coordinate reference system"):
        read_radar_netcdf(path)


def test_geographic_crs_is_wrong(tmp_path: Path) -> None:
    ds = _dataset(_field())
    ds["crs"].attrs["crs_wkt"] = "EPSG:4326"
    path = _write(ds, tmp_path / "geo.nc")
    with pytest.raises(RadarError, match=rf"{path}.*wrong CRS.*not projected"):
        read_radar_netcdf(path)


def test_lonlat_that_disagree_with_the_crs(tmp_path: Path) -> None:
    rain = _field()
    ds = _dataset(rain)
    ds = ds.assign_coords(lon=rain["lon"] + 1.0, lat=rain["lat"])  # one degree off
    ds["crs"].attrs["crs_wkt"] = rain.attrs["crs"]
    path = _write(ds, tmp_path / "off.nc")
    with pytest.raises(RadarError, match=rf"{path}: wrong CRS: the file's lon/lat are up to"):
        read_radar_netcdf(path)


def test_unknown_units(tmp_path: Path) -> None:
    ds = _dataset(_field())
    ds["rain_rate"].attrs["units"] = "inches per fortnight"
    path = _write(ds, tmp_path / "units.nc")
    with pytest.raises(RadarError, match=rf"{path}.*units 'inches per fortnight'"):
        read_radar_netcdf(path)


def test_missing_and_duplicate_times(tmp_path: Path) -> None:
    ds = _dataset(_field(nt=4))
    gap = ds.isel(time=[0, 1, 3])
    path = _write(gap, tmp_path / "gap.nc")
    with pytest.raises(RadarError, match=rf"{path}: irregular or missing times"):
        read_radar_netcdf(path)
    dup = ds.isel(time=[0, 1, 1, 2])
    path = _write(dup, tmp_path / "dup.nc")
    with pytest.raises(RadarError, match=rf"{path}: duplicate time"):
        read_radar_netcdf(path)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    ds = _dataset(_field()).isel(time=slice(0, 0))
    path = _write(ds, tmp_path / "none.nc")
    with pytest.raises(RadarError, match=rf"{path}: no data"):
        read_radar_netcdf(path)
    (tmp_path / "zero.nc").touch()
    with pytest.raises(RadarError, match="the file is empty"):
        read_radar_netcdf(tmp_path / "zero.nc")
    with pytest.raises(InputFileNotFoundError):
        read_radar_netcdf(tmp_path / "absent.nc")
    (tmp_path / "junk.nc").write_text("junk")
    with pytest.raises(RadarError, match="cannot be read as NetCDF"):
        read_radar_netcdf(tmp_path / "junk.nc")


def test_transposed_rain_round_trips_with_its_district(
    tmp_path: Path, knmi_event: xr.DataArray
) -> None:
    from twin.hydro.radar.transpose import district_rain, transpose_radar

    rain = transpose_radar(knmi_event.isel(time=slice(40, 43)), size_km=32)
    back = read_radar_netcdf(write_radar_netcdf(rain, tmp_path / "t.nc"))
    assert_allclose(back["district"].values, rain["district"].values)
    assert back.attrs["transposed_over"] == "Gongshu"
    assert_allclose(district_rain(back).values, district_rain(rain).values, atol=0.01)
