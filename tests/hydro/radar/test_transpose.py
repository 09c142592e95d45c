"""Storm transposition: placing real radar rain over Gongshu conserves its depth."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr
from numpy.testing import assert_allclose

from tests.hydro.radar.conftest import synthetic_radar
from twin.hydro.interpolation import rain_at_points
from twin.hydro.radar.array import radar_caption
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.grid import cell_fractions
from twin.hydro.radar.transpose import (
    District,
    Placement,
    as_district,
    district_in_source,
    district_rain,
    radar_at_points,
    target_grid,
    transpose_radar,
    transposed_rain_at_points,
)


def _source_depth(radar: xr.DataArray, district: District, placement: Placement) -> float:
    """Areal depth over the district's footprint on the radar grid (exact cell fractions)."""
    grid = target_grid(district)
    poly = district_in_source(radar, grid, placement, district.polygon)
    frac = cell_fractions(radar["x"].values, radar["y"].values, poly)
    inside = frac > 0
    rates = (radar.values[:, inside] * frac[inside]).sum(axis=1) / frac[inside].sum()
    return float(rates.sum() * radar.attrs["interval_s"] / 3600.0)


@pytest.mark.parametrize(
    ("dx", "dy", "rotation"), [(0, 0, 0), (-40, 25, 0), (30, -20, 35), (0, 0, 90)]
)
def test_district_depth_is_conserved(
    knmi_event: xr.DataArray, gongshu_district: District, dx: float, dy: float, rotation: float
) -> None:
    radar = knmi_event  # 7.6 hours of rain
    rain = transpose_radar(radar, gongshu_district, dx_km=dx, dy_km=dy, rotation_deg=rotation)
    after = float(district_rain(rain).sum()) * rain.attrs["interval_s"] / 3600.0
    before = _source_depth(radar, gongshu_district, Placement(dx, dy, rotation))
    assert before > 2.0
    assert after == pytest.approx(before, rel=0.02)  # resampling error: ≤ 2 %


def test_transposed_grid_and_attributes(
    knmi_event: xr.DataArray, gongshu_district: District
) -> None:
    rain = transpose_radar(knmi_event.isel(time=slice(0, 3)), gongshu_district, size_km=64)
    assert rain.dims == ("time", "y", "x") and rain.shape == (3, 64, 64)
    assert "UTM zone 51N" in rain.attrs["crs"]
    assert rain.attrs["transposed_over"] == "Gongshu"
    assert "transposed: this rain did not fall on Gongshu" in rain.attrs["transposition"]
    assert rain.attrs["origin"] == "the Netherlands" and rain.attrs["licence"]
    assert radar_caption(rain).startswith("radar from KNMI, the Netherlands (2010-08-25)")
    assert radar_caption(rain).endswith("transposed over Gongshu")
    assert rain["district"].sum() == pytest.approx(98.7, rel=0.01)  # km² of Gongshu
    # The grid's centre is the district's centre.
    assert float(rain["lon"].values[31:33, 31:33].mean()) == pytest.approx(
        gongshu_district.lon, abs=0.01
    )


def test_points_take_the_rain_of_their_cell(knmi_event: xr.DataArray) -> None:
    rain = transpose_radar(knmi_event.isel(time=slice(30, 34)), size_km=32)
    iy, ix = np.array([5, 16, 20]), np.array([7, 16, 30])
    lon, lat = rain["lon"].values[iy, ix], rain["lat"].values[iy, ix]
    at = rain_at_points(rain, lon, lat)
    assert_allclose(at.values, rain.values[:, iy, ix])
    direct = transposed_rain_at_points(knmi_event.isel(time=slice(30, 34)), lon, lat, size_km=32)
    assert direct.dims == ("time", "point")
    assert_allclose(direct.values, at.values)


def test_a_grid_that_misses_the_district_is_an_error(gongshu_district: District) -> None:
    far = synthetic_radar(np.ones((2, 10, 10)), centre=(300_000.0, 3_000_000.0))
    far.attrs["event"] = "far-away.nc"
    with pytest.raises(RadarError, match=r"far-away.nc: the grid misses 1 of 1 points"):
        radar_at_points(far, [gongshu_district.lon], [gongshu_district.lat])


def test_offsets_beyond_the_radar_are_an_error(knmi_event: xr.DataArray) -> None:
    with pytest.raises(RadarError, match="misses the radar grid entirely"):
        transpose_radar(knmi_event.isel(time=slice(0, 1)), dx_km=900, size_km=16)


def test_uniform_rain_stays_uniform_and_offsets_move_the_storm() -> None:
    values = np.zeros((1, 60, 60))
    values[0, 20:30, 40:50] = 10.0  # a 10-km square of rain, east of the centre
    radar = synthetic_radar(values, centre=(500_000.0, 5_000_000.0), crs=target_grid().crs)
    plain = transpose_radar(radar, size_km=16)
    assert float(plain.sum()) == 0.0  # the square is 10-20 km east of the grid centre
    moved = transpose_radar(radar, dx_km=15.0, dy_km=5.0, size_km=30)
    assert float(district_rain(moved)[0]) > 0
    assert float(moved.sum()) == pytest.approx(1000.0, rel=0.05)  # 100 cells of 10 mm/h


def test_district_from_bounds_point_and_network_meta() -> None:
    box = as_district((120.1, 30.3, 120.2, 30.4), name="box")
    assert box.lon == pytest.approx(120.15) and box.polygon is not None
    point = as_district((120.15, 30.33))
    grid = target_grid(point, size_km=10)
    assert grid.district.sum() == 1.0

    net = SimpleNamespace(  # the attributes District.from_network reads
        meta={"name": "Gongshu, Hangzhou", "boundary_wkt": box.polygon.wkt},
        node_lon=np.array([120.1, 120.2]),
        node_lat=np.array([30.3, 30.4]),
    )
    assert as_district(net).name == "Gongshu"
