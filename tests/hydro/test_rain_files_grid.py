"""Gridded rain files (issue 19): read over the district, cropped, checked.

The same storm in grids of three extents reads the district's depth every time; a grid
that misses the district is an error; times absent from a grid are counted; NetCDF
errors name the scenario's options; the peak time shown is the district's peak.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from twin.cli import app
from twin.errors import ScenarioError
from twin.hydro.rain_files import file_rain
from twin.hydro.rain_netcdf import read_netcdf
from twin.hydro.storms import describe_storm
from twin.scenario import RainFileConfig

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "data" / "rain" / "examples"
#: Low points in Gongshu [deg].
LON = np.array([120.12, 120.15, 120.18, 120.20, 120.16])
LAT = np.array([30.28, 30.30, 30.33, 30.26, 30.36])
#: The district's storm: 20 mm/h for hours 2–4; a far storm of 80 mm/h in hour 0.
DISTRICT_MM = 60.0


def grid(
    path: Path,
    lon: tuple[float, float],
    lat: tuple[float, float],
    *,
    drop: tuple[int, ...] = (),
    attrs: dict[str, str] | None = None,
    extra_var: bool = False,
) -> Path:
    """An hourly 0.05° grid with the district's storm and a bigger one far from it."""
    x = np.round(np.arange(lon[0], lon[1] + 1e-9, 0.05), 3)
    y = np.round(np.arange(lat[0], lat[1] + 1e-9, 0.05), 3)
    t = pd.date_range("2026-06-01", periods=6, freq="1h")
    lo, la = np.meshgrid(x, y)
    district = (lo > 120.05) & (lo < 120.27) & (la > 30.22) & (la < 30.40)
    values = np.zeros((6, y.size, x.size))
    values[2:5, district] = 20.0
    values[0, ~district] = 80.0
    var_attrs = {"units": "mm h-1"} if attrs is None else attrs
    ds = xr.Dataset(
        {"rain": (("time", "lat", "lon"), values, var_attrs)},
        coords={"time": t, "lat": y, "lon": x},
    )
    if extra_var:
        ds["rain2"] = ds["rain"].assign_attrs(standard_name="rainfall_rate")
        ds["rain"].attrs["standard_name"] = "precipitation_flux"
    ds = ds.isel(time=[i for i in range(6) if i not in drop])
    ds.to_netcdf(path)
    return path


OPTS = RainFileConfig(variable="rain")
EXTENTS = [((119.9, 120.5), (30.1, 30.6)), ((119.0, 121.0), (29.5, 31.0)),
           ((115.0, 123.0), (28.0, 33.0))]  # fmt: skip


@pytest.mark.parametrize("extent", EXTENTS, ids=["small", "medium", "large"])
def test_a_grid_larger_than_the_district_gives_the_district_depth(
    tmp_path: Path, extent: tuple[tuple[float, float], tuple[float, float]]
) -> None:
    path = grid(tmp_path / "g.nc", *extent)
    rain = file_rain(path, OPTS, lon=LON, lat=LAT)
    assert rain.dims == ("time", "point")
    info = describe_storm(rain.mean("point"))
    assert info["depth_mm"] == pytest.approx(DISTRICT_MM)
    # The peak shown is the district's (hour 2), not the far storm's (hour 0).
    assert info["peak_time"] == pd.Timestamp("2026-06-01T02:00", tz="UTC")
    assert info["peak_rate_mm_h"] == pytest.approx(20.0)
    whole = xr.open_dataset(path)["rain"]
    assert whole.sizes["lat"] * whole.sizes["lon"] > 100
    assert "cells around lon 120.120–120.200" in rain.attrs["cropped_to"]
    cells = read_netcdf(path, variable="rain", bbox=(120.12, 30.26, 120.20, 30.36))
    assert cells.sizes["y"] * cells.sizes["x"] <= 6 * 4  # the district and a margin only


def test_a_grid_that_misses_the_district_is_an_error(tmp_path: Path) -> None:
    far = grid(tmp_path / "far.nc", (100.0, 101.0), (20.0, 21.0))
    with pytest.raises(ScenarioError, match=r"covers lon 100\.00–101\.00°, lat 20\.00–21\.00°, "
                       r"which does not cover the network \(lon 120\.12–120\.20°.*give a rain "
                       "file that covers"):  # fmt: skip
        file_rain(far, OPTS, lon=LON, lat=LAT)
    part = grid(tmp_path / "part.nc", (119.9, 120.15), (30.1, 30.6))
    with pytest.raises(ScenarioError, match="does not fully cover the network"):
        file_rain(part, OPTS, lon=LON, lat=LAT)


def test_absent_hours_are_counted_and_follow_the_policy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = grid(tmp_path / "gaps.nc", *EXTENTS[0], drop=(2, 3))
    with caplog.at_level(logging.WARNING):
        raw = read_netcdf(path, variable="rain", bbox=(120.12, 30.26, 120.20, 30.36))
    assert raw.sizes["time"] == 6 and raw.attrs["missing_times"] == 2
    assert "2 of 6 time steps are absent from the file" in caplog.text
    with pytest.raises(ScenarioError, match=r"2 of 6 time steps missing \(first at 2026-06-01 "
                       r"02:00:00\); set rain\.file_options\.missing"):  # fmt: skip
        file_rain(path, OPTS, lon=LON, lat=LAT)
    zero = file_rain(path, OPTS.model_copy(update={"missing": "zero"}), lon=LON, lat=LAT)
    assert zero.attrs["missing_steps"] == 2
    assert describe_storm(zero.mean("point"))["depth_mm"] == pytest.approx(20.0)


def test_netcdf_errors_name_the_scenario_options(tmp_path: Path) -> None:
    two = grid(tmp_path / "two.nc", *EXTENTS[0], extra_var=True)
    with pytest.raises(ScenarioError, match=r"candidates: rain, rain2\); set "
                       r"rain\.file_options\.variable") as err:  # fmt: skip
        file_rain(two, RainFileConfig(), lon=LON, lat=LAT)
    assert "pass variable=" not in str(err.value)
    with pytest.raises(ScenarioError, match=r"no variable 'pr'.*set rain\.file_options\.variable"):
        file_rain(two, RainFileConfig(variable="pr"), lon=LON, lat=LAT)
    bare = grid(tmp_path / "bare.nc", *EXTENTS[0], attrs={})
    with pytest.raises(ScenarioError, match=r"no units in the file; declare them with "
                       r"rain\.file_options\.units"):  # fmt: skip
        file_rain(bare, OPTS, lon=LON, lat=LAT)
    declared = file_rain(bare, OPTS.model_copy(update={"units": "mm"}), lon=LON, lat=LAT)
    assert declared.attrs["converted_from"] == "depth per 1 h step in mm → mm/h"
    with pytest.raises(ScenarioError, match="the file says units 'mm h-1' but"):
        file_rain(grid(tmp_path / "u.nc", *EXTENTS[0]), OPTS.model_copy(update={"units": "mm"}),
                  lon=LON, lat=LAT)  # fmt: skip


def test_the_example_grids_read_as_documented() -> None:
    flux = file_rain(EXAMPLES / "grid_flux_hourly.nc", lon=LON, lat=LAT)
    raw = xr.open_dataset(EXAMPLES / "grid_flux_hourly.nc")["precip"]
    assert flux.attrs["converted_from"] == "rate in kg m-2 s-1 × 3600 → mm/h"
    assert flux.attrs["interval_s"] == 3600.0
    assert 1.0 < float(flux.max()) <= float(raw.max()) * 3600.0 + 1e-3
    depth = file_rain(EXAMPLES / "grid_depth_30min.nc", RainFileConfig(time_label="end"),
                      lon=LON, lat=LAT)  # fmt: skip
    assert depth.attrs["interval_s"] == 1800.0
    assert depth.time.values[0] == np.datetime64("2026-06-01T00:00")  # end label → start
    tp = xr.open_dataset(EXAMPLES / "grid_depth_30min.nc")["tp"]
    nearest = tp.sel(latitude=30.3, longitude=120.2, method="nearest").values
    assert_allclose(depth.values[:, 3], nearest * 2.0, rtol=1e-6)  # mm per 30 min → mm/h


def _scenario(tmp_path: Path, rain_file: Path) -> Path:
    text = (ROOT / "scenarios" / "gongshu_hourly_gauge.yaml").read_text()
    head, _, rest = text.partition("rain:\n")
    hydro = rest[rest.index("hydro:") :]
    rain = f"rain:\n  kind: file\n  start: 1h\n  file: {rain_file}\n  file_options:\n"
    rain += "    variable: rain\n"
    path = tmp_path / "s.yaml"
    path.write_text(head + rain + hydro)
    return path


def test_rain_show_summarises_the_district(tmp_path: Path) -> None:
    runner = CliRunner()
    path = _scenario(tmp_path, grid(tmp_path / "big.nc", *EXTENTS[2]))
    shown = runner.invoke(app, ["rain", "show", str(path)], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "│ depth mm           │ 60 " in shown.output
    assert "2026-06-01 02:00:00+00:00" in shown.output  # the district's peak
    assert "mean over" in shown.output and "low points" in shown.output
    missed = _scenario(tmp_path, grid(tmp_path / "far.nc", (100.0, 101.0), (20.0, 21.0)))
    failed = subprocess.run(
        [sys.executable, "-m", "twin.cli", "rain", "show", str(missed)], capture_output=True,
        text=True, timeout=300, env={**os.environ, "COLUMNS": "400"},
    )  # fmt: skip
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    lines = [x for x in failed.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "does not cover the network" in lines[0], failed.stderr
