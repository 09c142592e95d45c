"""Rain as xarray: gauge CSVs, NetCDF, interpolation, Chicago storms, storm catalogue."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from numpy.testing import assert_allclose

from twin.errors import InputFileNotFoundError, ScenarioError
from twin.hydro.interpolation import haversine_m, rain_at_points
from twin.hydro.rainfall import (
    default_rain,
    default_rain_files,
    local_times,
    rain_interval,
    read_gauge_csv,
    read_netcdf,
    resample_rain,
    with_station_coords,
    write_netcdf,
)
from twin.hydro.storms import (
    CATALOGUE_COLUMNS,
    chicago_hyetograph,
    describe_storm,
    load_catalogue,
    plot_storm,
    storm_catalogue,
    storm_event,
)

#: ILLUSTRATIVE storm-intensity parameters of the usual magnitude of Chinese city
#: formulas (q in L/(s·ha), t in min). Not any city's published formula.
ILLUSTRATIVE = {"A": 2000.0, "C": 0.8, "n": 0.7, "b": 10.0}
HEADER = "station_id,value,timestamp_sgt\n"


def idf_mm_h(t_min: float, P: float = 2.0, **p: float) -> float:
    """Mean intensity over the t most intense minutes of the illustrative IDF [mm/h]."""
    q = {**ILLUSTRATIVE, **p}
    a_mm_min = q["A"] * (1 + q["C"] * np.log10(P)) * 0.006
    return float(a_mm_min / (t_min + q["b"]) ** q["n"] * 60.0)


def write_gz(path: Path, text: str) -> Path:
    with gzip.open(path, "wt") as f:
        f.write(text)
    return path


def gauges(
    values: np.ndarray, lon: list[float], lat: list[float], step: str = "5min"
) -> xr.DataArray:
    """A (time, station) rain array with positions, labels S0, S1, ..."""
    times = pd.date_range("2017-01-01", periods=values.shape[0], freq=step)
    da = xr.DataArray(
        values.astype(float),
        dims=("time", "station"),
        coords={"time": times, "station": [f"S{i}" for i in range(values.shape[1])]},
        name="rain_rate",
        attrs={"units": "mm h-1", "interval_s": pd.Timedelta(step).total_seconds()},
    )
    return with_station_coords(da, lon, lat)


# --- gauge CSV -----------------------------------------------------------------------


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    rows = [
        "S1,0.0,2017-01-01 08:04:59",  # one second early, as in the real files
        "S2,0.2,2017-01-01 08:05:00",
        "S1,0.4,2017-01-01 08:10:00",
        "S2,0.6,2017-01-01 08:10:00",
        # 08:15 missing for both stations
        "S1,1.2,2017-01-01 08:20:00",
        "S1,1.4,2017-01-01 08:20:00",  # duplicate, differing value: the last one wins
        "S2,abc,2017-01-01 08:20:00",  # bad value
        "S2,0.2,2017-01-01 08:25:00,extra",  # malformed line
        "S2,0.2,not a time",  # bad timestamp
        "S2,0.2,2017-01-01 08:27:30",  # off the 5-minute grid
        "S2,0.8,2017-01-01 08:25:00",
    ]
    return write_gz(tmp_path / "small.csv.gz", HEADER + "\n".join(rows) + "\n")


def test_read_small_csv(small_csv: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="twin.hydro.rainfall"):
        rain = read_gauge_csv(small_csv)
    assert rain.name == "rain_rate" and rain.dims == ("time", "station")
    assert rain.attrs["units"] == "mm h-1" and rain_interval(rain) == 300.0
    assert list(rain.station.values) == ["S1", "S2"]
    # Readings at 08:05..08:25 SGT label the intervals starting 00:00..00:20 UTC.
    expected = pd.date_range("2017-01-01 00:00", "2017-01-01 00:20", freq="5min")
    assert np.array_equal(rain.time.values, expected.values)
    assert rain.time.attrs["timezone"] == "UTC"
    assert rain.time.attrs["local_timezone"] == "Asia/Singapore"
    assert local_times(rain)[0] == pd.Timestamp("2017-01-01 08:00", tz="Asia/Singapore")
    s1, s2 = rain.sel(station="S1").values, rain.sel(station="S2").values
    # 0.2 mm in 5 minutes is 2.4 mm/h; the missing interval stays NaN, not 0.
    assert_allclose(s1, [0.0, 4.8, np.nan, 16.8, np.nan], equal_nan=True)
    assert_allclose(s2, [2.4, 7.2, np.nan, np.nan, 9.6], equal_nan=True)
    text = caplog.text
    assert "skipped 4 of 11 rows" in text
    assert "1 malformed line" in text and "1 missing, non-numeric or negative value" in text
    assert "1 unparseable timestamp" in text and "off the" in text
    assert "1 duplicate reading" in text and "1 with differing values" in text


def test_read_csv_missing_column(tmp_path: Path) -> None:
    path = write_gz(tmp_path / "bad.csv.gz", "station_id,rain,timestamp_sgt\nS1,0.2,2017-01-01\n")
    with pytest.raises(ScenarioError, match=r"bad\.csv\.gz.*'value'"):
        read_gauge_csv(path)


def test_read_csv_missing_file_and_empty(tmp_path: Path) -> None:
    with pytest.raises(InputFileNotFoundError):
        read_gauge_csv(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ScenarioError, match=r"empty\.csv"):
        read_gauge_csv(empty)
    only_bad = tmp_path / "bad_rows.csv"
    only_bad.write_text(HEADER + "S1,x,2017-01-01 00:00:00\n")
    with pytest.raises(ScenarioError, match="no usable"):
        read_gauge_csv(only_bad)


def test_read_several_files_other_columns_and_offsets(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("id,mm,t\nG1,1.0,2020-06-01T00:10:00+08:00\nG1,2.0,2020-06-01T00:20:00+08:00\n")
    b = tmp_path / "b.csv"
    b.write_text("id,mm,t\nG1,3.0,2020-06-01T00:20:00+08:00\nG1,4.0,2020-06-01T00:30:00+08:00\n")
    rain = read_gauge_csv(
        [a, b],
        interval="10min",
        units="mm",
        station_col="id",
        value_col="mm",
        time_col="t",
        timezone="UTC",
    )
    assert rain.time.values[0] == np.datetime64("2020-05-31T16:00")
    assert_allclose(rain.values[:, 0], [6.0, 18.0, 24.0])  # the later file wins at 00:20


# --- the shipped data ----------------------------------------------------------------


@pytest.fixture(scope="module")
def full_rain() -> xr.DataArray:
    """All seven shipped months (no wall-clock assertion: speed is for benchmarks)."""
    return default_rain()


def test_shipped_month_conserves_depth() -> None:
    (path,) = default_rain_files(["2017-01"])
    raw = pd.read_csv(path)
    rain = default_rain(months=["2017-01"])
    assert rain.sizes["station"] == raw["station_id"].nunique() == 58
    assert_allclose(float(rain.sum()) * 5 / 60, raw["value"].sum(), rtol=1e-12)
    per_station = raw.groupby("station_id")["value"].sum()
    assert_allclose(float(rain.sel(station="S77").sum()) * 5 / 60, per_station["S77"])
    with pytest.raises(ScenarioError, match="2018-01"):
        default_rain_files(["2018-01"])


def test_shipped_full_read(full_rain: xr.DataArray) -> None:
    rain = full_rain
    assert rain.sizes == {"time": 60506, "station": 60}
    assert int(rain.notnull().sum()) == 3_084_264
    assert rain.time.values[0] == np.datetime64("2016-12-02T13:45")


# --- NetCDF --------------------------------------------------------------------------


def test_netcdf_round_trip_gauges(tmp_path: Path, small_csv: Path) -> None:
    rain = with_station_coords(read_gauge_csv(small_csv), {"S1": 120.1, "S2": 120.2}, [30.3, 30.2])
    back = read_netcdf(write_netcdf(rain, tmp_path / "out" / "rain.nc"))
    xr.testing.assert_identical(back.drop_attrs(), rain.drop_attrs())
    assert back.attrs["units"] == "mm h-1" and back.attrs["standard_name"] == "rainfall_rate"
    assert back.time.attrs["local_timezone"] == "Asia/Singapore"
    assert rain_interval(back) == 300.0
    with xr.open_dataset(tmp_path / "out" / "rain.nc") as ds:
        assert ds.attrs["featureType"] == "timeSeries"


def test_netcdf_round_trip_design_storm(tmp_path: Path) -> None:
    storm = chicago_hyetograph(**ILLUSTRATIVE, return_period=2, duration="1h", dt=60)
    back = read_netcdf(write_netcdf(storm, tmp_path / "storm.nc"))
    assert np.array_equal(back.time.values, storm.time.values)
    assert_allclose(back.values, storm.values)


def test_netcdf_grid_with_lat_lon_dims_and_flux_units(tmp_path: Path) -> None:
    flux = np.arange(24, dtype=float).reshape(2, 3, 4) / 3600.0  # kg m-2 s-1
    grid = xr.Dataset(
        {"pr": (("time", "lat", "lon"), flux, {"units": "kg m-2 s-1",
                                               "standard_name": "precipitation_flux"})},
        coords={"time": pd.date_range("2021-07-20", periods=2, freq="h"),
                "lat": [30.2, 30.3, 30.4], "lon": [120.0, 120.1, 120.2, 120.3]},
    )  # fmt: skip
    grid.to_netcdf(tmp_path / "grid.nc")
    rain = read_netcdf(tmp_path / "grid.nc")
    assert rain.dims == ("time", "y", "x") and rain.name == "rain_rate"
    assert_allclose(rain.values, np.arange(24).reshape(2, 3, 4))
    assert_allclose(rain.lat.values, [30.2, 30.3, 30.4])
    back = read_netcdf(write_netcdf(rain, tmp_path / "grid2.nc"))
    assert back.dims == ("time", "y", "x")
    assert_allclose(back.values, rain.values)
    with pytest.raises(InputFileNotFoundError):
        read_netcdf(tmp_path / "none.nc")
    (tmp_path / "junk.nc").write_text("not netcdf")
    with pytest.raises(ScenarioError, match=r"junk\.nc"):
        read_netcdf(tmp_path / "junk.nc")


# --- interpolation -------------------------------------------------------------------


def test_haversine() -> None:
    assert_allclose(haversine_m(120.0, 30.0, 120.0, 31.0), 111_195, rtol=1e-4)
    assert haversine_m(120.1, 30.2, 120.1, 30.2) == 0.0


def test_idw_exact_at_station_and_renormalised_around_nan() -> None:
    lon, lat = [120.10, 120.20, 120.15], [30.30, 30.30, 30.25]
    values = np.array([[10.0, 20.0, 30.0], [10.0, np.nan, 30.0], [np.nan, np.nan, np.nan]])
    rain = gauges(values, lon, lat)
    at = rain_at_points(rain, lon, lat)
    assert at.dims == ("time", "point")
    assert_allclose(at.values[0], [10.0, 20.0, 30.0])
    assert_allclose(at.values[1, [0, 2]], [10.0, 30.0])
    w_s1 = haversine_m(120.2, 30.3, np.array(lon)[[0, 2]], np.array(lat)[[0, 2]]) ** -2.0
    assert_allclose(at.values[1, 1], (w_s1 * [10, 30]).sum() / w_s1.sum())
    # Station S1 is NaN at t1: a point at S1 falls back to IDW of the others.
    p_lon, p_lat = 120.13, 30.28
    w = haversine_m(p_lon, p_lat, np.array(lon), np.array(lat)) ** -2.0
    got = rain_at_points(rain, [p_lon], [p_lat]).values
    assert_allclose(got[0, 0], (w * [10, 20, 30]).sum() / w.sum())
    assert_allclose(got[1, 0], (w[[0, 2]] * [10, 30]).sum() / w[[0, 2]].sum())
    assert np.isnan(got[2]).all()  # nothing reported


def test_idw_uniform_stays_uniform_and_nearest() -> None:
    rng = np.random.default_rng(1)
    lon, lat = list(120.0 + rng.random(6) * 0.3), list(30.1 + rng.random(6) * 0.3)
    values = np.full((4, 6), 7.5)
    values[1, [0, 3]] = np.nan
    rain = gauges(values, lon, lat)
    p_lon, p_lat = 120.0 + rng.random(50) * 0.3, 30.1 + rng.random(50) * 0.3
    for power in (1.0, 2.0, 3.0):
        assert_allclose(rain_at_points(rain, p_lon, p_lat, power=power).values, 7.5)
    # Nearest: the nearest reporting gauge.
    values = np.array([[1.0, 2.0, 3.0], [np.nan, 2.0, 3.0]])
    rain = gauges(values, [120.0, 120.1, 120.3], [30.0, 30.0, 30.0])
    got = rain_at_points(rain, [120.01, 120.29], [30.0, 30.0], method="nearest", point=["a", "b"])
    assert list(got.point.values) == ["a", "b"]
    assert_allclose(got.values, [[1.0, 3.0], [2.0, 3.0]])
    far = rain_at_points(rain, [120.0], [30.0], max_distance_m=5_000.0).values
    assert_allclose(far[:, 0], [1.0, np.nan], equal_nan=True)
    # A gauge without a position is left out.
    rain = rain.assign_coords(lon=("station", [np.nan, 120.1, 120.3]))
    got = rain_at_points(rain, [120.01], [30.0], method="nearest").values
    assert_allclose(got[:, 0], [2.0, 2.0])


def test_rain_at_points_layouts_and_errors() -> None:
    series = chicago_hyetograph(**ILLUSTRATIVE, return_period=2, duration="1h", dt=300)
    out = rain_at_points(series, [120.1, 120.2, 120.3], [30.3, 30.3, 30.3])
    assert out.shape == (12, 3)
    assert_allclose(out.values, np.repeat(series.values[:, None], 3, axis=1))
    assert out.attrs["interpolation"] == "uniform"
    bare = xr.DataArray(np.ones((2, 2)), dims=("time", "station"),
                        coords={"time": [0, 1], "station": ["a", "b"]})  # fmt: skip
    with pytest.raises(ScenarioError, match="with_station_coords"):
        rain_at_points(bare, [120.0], [30.0])
    with pytest.raises(ScenarioError, match="power"):
        rain_at_points(series, [120.0], [30.0], power=0.0)
    with pytest.raises(ScenarioError, match="dims"):
        rain_at_points(xr.DataArray(np.ones((2, 2)), dims=("time", "node")), [120.0], [30.0])
    with pytest.raises(ScenarioError, match="every station"):
        with_station_coords(gauges(np.ones((1, 2)), [0, 0], [0, 0]), {"S0": 1.0}, [0, 0])


def test_grid_nearest_cell() -> None:
    values = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    times = pd.date_range("2021-07-20", periods=2, freq="h")
    lat, lon = np.array([30.4, 30.3, 30.2]), np.array([120.0, 120.1, 120.2, 120.3])  # lat descends
    grid = xr.DataArray(values, dims=("time", "y", "x"),
                        coords={"time": times, "lat": ("y", lat), "lon": ("x", lon)})  # fmt: skip
    p_lon, p_lat = [120.01, 120.26, 120.14, 121.0], [30.39, 30.21, 30.31, 30.3]
    got = rain_at_points(grid, p_lon, p_lat).values
    assert_allclose(got[:, :3], values[:, [0, 2, 1], [0, 3, 1]])
    assert np.isnan(got[:, 3]).all()  # outside the grid
    lon2, lat2 = np.meshgrid(lon, lat)
    curvi = grid.drop_vars(["lat", "lon"]).assign_coords(
        lat=(("y", "x"), lat2), lon=(("y", "x"), lon2)
    )
    assert_allclose(rain_at_points(curvi, p_lon[:3], p_lat[:3]).values, got[:, :3])
    with pytest.raises(ScenarioError, match="nearest"):
        rain_at_points(grid, p_lon, p_lat, method="idw")


# --- Chicago design storm ------------------------------------------------------------


def max_window_mm_h(storm: xr.DataArray, window_min: float) -> float:
    dt_min = rain_interval(storm) / 60.0
    k = round(window_min / dt_min)
    depth = np.r_[0.0, np.cumsum(storm.values * dt_min / 60.0)]
    return float((depth[k:] - depth[:-k]).max() / (window_min / 60.0))


@pytest.mark.parametrize("P", [1.0, 2.0, 10.0, 50.0])
def test_chicago_depth_and_windows_match_idf(P: float) -> None:
    storm = chicago_hyetograph(**ILLUSTRATIVE, return_period=P, duration="2h", dt=60.0)
    assert storm.name == "rain_rate" and storm.attrs["units"] == "mm h-1"
    assert storm.sizes["time"] == 120
    assert (storm.values >= 0).all()
    depth = float(storm.sum()) / 60.0
    assert_allclose(depth, idf_mm_h(120, P) * 2.0, rtol=1e-12)
    # r·T lands on the 1-minute grid for these windows: exact up to rounding.
    for window in (5, 10, 15, 30, 60, 90, 120):
        assert_allclose(max_window_mm_h(storm, window), idf_mm_h(window, P), rtol=1e-9)
    # On a 5-minute grid the windows are only approximately centred: never above the IDF.
    coarse = chicago_hyetograph(**ILLUSTRATIVE, return_period=P, duration="2h", dt=300.0,
                                peak_position=0.37)  # fmt: skip
    for window in (10, 30, 60):
        got, idf = max_window_mm_h(coarse, window), idf_mm_h(window, P)
        assert 0.9 * idf < got <= idf * (1 + 1e-12)


def test_chicago_instantaneous_intensity_formula() -> None:
    # At a 1-second step the step means equal the Keifer-Chu instantaneous intensity.
    r, n, b = 0.4, ILLUSTRATIVE["n"], ILLUSTRATIVE["b"]
    storm = chicago_hyetograph(**ILLUSTRATIVE, return_period=2, duration="2h", dt=1.0)
    a = idf_mm_h(0.0) * b**n  # a in mm/h, from i_avg(0) = a / b^n
    t = storm.elapsed.values / 60.0 + 0.5 / 60.0  # step midpoints [min]
    tb, ta = np.clip(48.0 - t, 0, None) / r, np.clip(t - 48.0, 0, None) / (1 - r)
    before = a * ((1 - n) * tb + b) / (tb + b) ** (1 + n)
    after = a * ((1 - n) * ta + b) / (ta + b) ** (1 + n)
    expected = np.where(t < 48.0, before, after)
    assert_allclose(storm.values, expected, rtol=1e-4)


@pytest.mark.parametrize("r", [0.0, 0.25, 0.4, 0.5, 0.733, 1.0])
def test_chicago_peak_position_and_non_negative(r: float) -> None:
    storm = chicago_hyetograph(**ILLUSTRATIVE, return_period=5, duration=7200.0, dt=60.0,
                               peak_position=r)  # fmt: skip
    assert (storm.values >= 0).all()
    peak = storm.elapsed.values[int(np.argmax(storm.values))]
    t_peak = r * 7200.0
    assert peak <= t_peak <= peak + 60.0
    assert_allclose(float(storm.sum()) / 60.0, idf_mm_h(120, 5) * 2.0, rtol=1e-12)


def test_chicago_dt_independence_and_units() -> None:
    steps: dict[float | str, float] = {10.0: 10, 60.0: 60, "5min": 300, 900.0: 900, "1h": 3600}
    depths = [
        float(chicago_hyetograph(**ILLUSTRATIVE, return_period=3, duration="3h", dt=dt).sum())
        * seconds
        / 3600.0
        for dt, seconds in steps.items()
    ]
    assert_allclose(depths, depths[0], rtol=1e-12)
    q = chicago_hyetograph(**ILLUSTRATIVE, return_period=3, duration="1h")
    alias = chicago_hyetograph(**ILLUSTRATIVE, return_period=3, duration="1h", units="L/s/ha")
    mm = chicago_hyetograph(**(ILLUSTRATIVE | {"A": 2000.0 * 0.006}), return_period=3,
                            duration="1h", units="mm/min")  # fmt: skip
    assert_allclose(q.values, alias.values)
    assert_allclose(q.values, mm.values, rtol=1e-12)
    assert q.time.dtype.kind == "m" and q.time.values[1] == np.timedelta64(60, "s")
    dated = chicago_hyetograph(**ILLUSTRATIVE, return_period=3, duration="1h",
                               start="2024-06-15 08:00+08:00")  # fmt: skip
    assert dated.time.values[0] == np.datetime64("2024-06-15T00:00")


def test_chicago_rejects_bad_parameters() -> None:
    with pytest.raises(ScenarioError, match="n must lie"):
        chicago_hyetograph(**(ILLUSTRATIVE | {"n": 1.2}), return_period=2, duration="1h")
    with pytest.raises(ScenarioError, match="divide"):
        chicago_hyetograph(**ILLUSTRATIVE, return_period=2, duration="1h", dt=7 * 60)
    with pytest.raises(ScenarioError, match="return_period"):
        chicago_hyetograph(**ILLUSTRATIVE, return_period=0.0, duration="1h")
    with pytest.raises(ScenarioError, match="units"):
        chicago_hyetograph(**ILLUSTRATIVE, return_period=2, duration="1h", units="in/h")


# --- storm catalogue -----------------------------------------------------------------


def synthetic_record() -> xr.DataArray:
    """One station, 5-minute steps: bursts separated by 5 h (merge) and 7 h (split)."""
    depth = np.zeros(24 * 12 * 2)  # two days
    depth[12:15] = [2.0, 6.0, 4.0]  # 01:00-01:15, 12 mm
    depth[15 + 60 : 15 + 62] = [1.0, 1.0]  # 5 h later: the same event (14 mm)
    start2 = 15 + 62 + 84  # 7 h dry
    depth[start2 : start2 + 12] = 2.0  # 24 mm in an hour
    depth[400:402] = [np.nan, 0.2]  # a small event below min_depth (NaN counts as dry)
    rain = gauges(depth[:, None] * 12.0, [120.0], [30.0])
    rain.time.attrs["local_timezone"] = "Asia/Shanghai"
    return rain


def test_catalogue_on_synthetic_record() -> None:
    rain = synthetic_record()
    cat = storm_catalogue(rain, min_gap="6h", min_depth=10.0)
    assert list(cat.columns) == list(CATALOGUE_COLUMNS)
    assert len(cat) == 2
    first, second = cat.iloc[0], cat.iloc[1]
    assert first["event_id"] == "S0-20170101T0100Z"
    assert first["start"] == pd.Timestamp("2017-01-01 01:00", tz="UTC")
    assert first["end"] == pd.Timestamp("2017-01-01 06:25", tz="UTC")
    assert_allclose([first["depth_mm"], second["depth_mm"]], [14.0, 24.0])
    assert_allclose(first["peak_rate_mm_h"], 72.0)
    assert_allclose([first["peak_60min_mm_h"], second["peak_60min_mm_h"]], [12.0, 24.0])
    assert_allclose(second["duration_h"], 1.0)
    assert first["split"] in {"train", "validation", "test"}
    # With a 4 h gap the first burst and its tail are two events (and the tail < 10 mm).
    assert len(storm_catalogue(rain, min_gap="4h", min_depth=0.1)) == 4
    event = storm_event(rain, first, pad="30min")
    assert event.dims == ("time",) and event.attrs["event_id"] == first["event_id"]
    assert_allclose(float(event.sum()) / 12.0, 14.0)
    assert event.time.values[0] == np.datetime64("2017-01-01T00:30")
    assert event.time.values[-1] == np.datetime64("2017-01-01T06:50")


def test_catalogue_split_is_by_storm_and_stable(full_rain: xr.DataArray) -> None:
    cat = storm_catalogue(full_rain)
    again = storm_catalogue(full_rain)
    pd.testing.assert_frame_equal(cat, again)
    assert cat["event_id"].is_unique
    # Labels depend on the event only: a catalogue of one month agrees on its events.
    jan = full_rain.sel(time=slice("2017-01-03", "2017-01-28"))
    sub = storm_catalogue(jan).set_index("event_id")["split"]
    common = cat.set_index("event_id")["split"].reindex(sub.index).dropna()
    assert len(common) > 50
    assert (common == sub.loc[common.index]).all()
    # One label per local start date: gauges caught by one storm share it.
    day = cat["start"].dt.tz_convert("Asia/Singapore").dt.date
    assert (cat.groupby(day)["split"].nunique() == 1).all()
    shares = cat["split"].value_counts(normalize=True)
    assert 0.6 < shares["train"] < 0.8
    assert 0.07 < shares["validation"] < 0.25 and 0.07 < shares["test"] < 0.25


def test_real_catalogue(
    full_rain: xr.DataArray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path))
    cat = load_catalogue()
    assert list((tmp_path / "rain").glob("catalogue-*.parquet"))
    pd.testing.assert_frame_equal(load_catalogue(), cat)
    # 2,115 events of at least 10 mm, 647 of at least 30 mm (see data/rain/README.md).
    assert 1800 < len(cat) < 2500
    assert 500 < int((cat["depth_mm"] >= 30).sum()) < 800
    assert cat["depth_mm"].min() >= 10.0
    assert (cat["peak_rate_mm_h"] >= cat["peak_60min_mm_h"]).all()
    # Events of one station are separated by at least the minimum gap.
    for _, events in cat.groupby("station"):
        events = events.sort_values("start")
        gaps = events["start"].to_numpy()[1:] - events["end"].to_numpy()[:-1]
        assert (gaps >= np.timedelta64(6, "h")).all()
    # An event's depth is the sum of the record within it.
    for _, event in cat.sample(40, random_state=0).iterrows():
        start = event["start"].tz_localize(None)
        end = event["end"].tz_localize(None) - pd.Timedelta("5min")
        record = full_rain.sel(station=event["station"], time=slice(start, end))
        assert_allclose(float(record.sum()) * 5 / 60, event["depth_mm"], rtol=1e-12)
        assert record.values[0] > 0 and record.values[-1] > 0
        assert_allclose(float(record.max()), event["peak_rate_mm_h"])


# --- description, plots and resampling -----------------------------------------------


def test_describe_storm() -> None:
    storm = chicago_hyetograph(**ILLUSTRATIVE, return_period=2, duration="2h", dt=60.0)
    info = describe_storm(storm)
    assert_allclose(info["depth_mm"], idf_mm_h(120) * 2.0)
    for minutes in (5, 15, 60):
        assert_allclose(info[f"peak_{minutes}min_mm_h"], idf_mm_h(minutes), rtol=1e-9)
    assert info["peak_time"] == pd.Timedelta("48min")
    assert info["duration_h"] == 2.0 and info["start"] == pd.Timedelta(0)
    coarse = describe_storm(resample_rain(storm, 600.0))
    assert np.isnan(coarse["peak_5min_mm_h"]) and np.isnan(coarse["peak_15min_mm_h"])
    with pytest.raises(ScenarioError, match="single series"):
        describe_storm(gauges(np.ones((3, 2)), [0, 1], [0, 1]))


def test_plot_storm(tmp_path: Path) -> None:
    storm = chicago_hyetograph(**ILLUSTRATIVE, return_period=2, duration="2h", dt=300.0)
    png = plot_storm(storm, tmp_path / "figs" / "design.png", title="illustrative")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    real = synthetic_record().isel(station=0)
    png = plot_storm(real, tmp_path / "real.png")
    assert png.stat().st_size > 10_000


def test_resample_conserves_depth_and_missing() -> None:
    storm = chicago_hyetograph(**ILLUSTRATIVE, return_period=2, duration="2h", dt=300.0)
    for dt in (60.0, 150.0, 900.0, 3600.0):
        fine = resample_rain(storm, dt)
        assert rain_interval(fine) == dt
        assert_allclose(float(fine.sum()) * dt / 3600, float(storm.sum()) * 300 / 3600)
    values = np.array([[12.0, 0.0], [np.nan, 6.0], [24.0, 6.0], [0.0, 0.0]])
    rain = gauges(values, [0, 1], [0, 1])
    half = resample_rain(rain, 600.0)
    assert_allclose(half.values, [[np.nan, 3.0], [12.0, 3.0]], equal_nan=True)
    assert half.dims == ("time", "station") and "lon" in half.coords
