"""Rain files users bring (issue 19): gauge CSVs of any step, units, missing steps.

Each test reproduces one defect of the old reader with real-looking data, and checks the
fix: hourly totals kept (rates, not 5-minute depths), no silent unit, a missing step is
counted and follows the declared policy, a storm longer than the horizon is reported.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from twin.errors import ScenarioError
from twin.hydro.rain_files import file_rain, read_rain_file
from twin.hydro.rain_steps import fill_missing, infer_interval, unit_factor
from twin.hydro.sources import scenario_rain, scenario_storm
from twin.hydro.waterlogging import rain_with_notes
from twin.scenario import RainConfig, RainFileConfig, Scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "data" / "rain" / "examples"
HOURLY = RainFileConfig(units="mm", station_col="station", value_col="rain_mm", time_col="time")


def hourly_csv(path: Path, depths: list[float], *, skip: tuple[int, ...] = ()) -> Path:
    """A gauge CSV of hourly depths [mm], each stamped at the end of its hour (+08:00)."""
    rows = ["station,rain_mm,time"]
    first = pd.Timestamp("2026-06-01T01:00")
    for h, d in enumerate(depths):
        if h not in skip:
            rows.append(f"G1,{d},{first + pd.Timedelta(hours=h):%Y-%m-%dT%H:%M}+08:00")
    path.write_text("\n".join(rows) + "\n")
    return path


def file_cfg(path: Path, **options: object) -> RainConfig:
    return RainConfig(kind="file", file=str(path), file_options=HOURLY.model_copy(update=options))


# --- the step ------------------------------------------------------------------------


def test_hourly_csv_keeps_its_totals_and_rates(tmp_path: Path) -> None:
    path = hourly_csv(tmp_path / "hourly.csv", [10.0, 0.0, 30.0])
    rain = read_rain_file(path, HOURLY)
    assert rain.attrs["interval_s"] == 3600.0  # inferred from the readings
    assert_allclose(rain.values[:, 0], [10.0, 0.0, 30.0])  # mm per hour → mm/h
    # Labels are the start of each hour (the reading at 01:00 +08:00 is 00:00–01:00).
    assert rain.time.values[0] == np.datetime64("2026-05-31T16:00")
    values = scenario_storm(file_cfg(path), 60.0)
    assert values.shape == (180,)
    assert_allclose(values.sum() * 60.0 / 3600.0, 40.0)  # the file's total depth [mm]
    assert values.max() == pytest.approx(30.0)  # not 12× too intense (360 mm/h)


def test_declared_step_is_checked(tmp_path: Path) -> None:
    path = hourly_csv(tmp_path / "hourly.csv", [10.0, 0.0, 30.0])
    with pytest.raises(
        ScenarioError, match=r"1 h apart but rain\.file_options\.interval says 5 min"
    ):
        scenario_storm(file_cfg(path, interval=300.0), 60.0)
    ok = scenario_storm(file_cfg(path, interval=3600.0), 60.0)
    assert_allclose(ok.sum() / 60.0, 40.0)


def test_nea_layout_keeps_its_5_minute_step(tmp_path: Path) -> None:
    path = tmp_path / "nea.csv"
    rows = [f"S1,0.2,2017-01-01 08:{m:02d}:00" for m in range(5, 35, 5)]
    path.write_text("station_id,value,timestamp_sgt\n" + "\n".join(rows) + "\n")
    rain = read_rain_file(path)  # the one layout whose units are known: mm per step
    assert rain.attrs["interval_s"] == 300.0
    assert_allclose(rain.values[:, 0], 2.4)


def test_interval_inference_refuses_a_single_step_and_irregular_labels() -> None:
    one = np.array(["2026-06-01T00:00"], dtype="datetime64[ns]")
    with pytest.raises(ScenarioError, match=r"declare it with rain\.file_options\.interval"):
        infer_interval(one, None, where="f.nc", option="rain.file_options.interval")
    assert infer_interval(one, 600.0, where="f.nc", option="x") == 600.0
    odd = pd.to_datetime(["2026-06-01 00:00", "2026-06-01 01:00", "2026-06-01 01:40",
                          "2026-06-01 02:40"]).to_numpy()  # fmt: skip
    with pytest.raises(ScenarioError, match="not on one regular step"):
        infer_interval(odd, None, where="f.nc", option="x")


# --- units ---------------------------------------------------------------------------


def test_units_must_be_declared(tmp_path: Path) -> None:
    path = hourly_csv(tmp_path / "hourly.csv", [10.0, 0.0, 30.0])
    cfg = RainConfig(kind="file", file=str(path), file_options=HOURLY.model_copy(
        update={"units": None}))  # fmt: skip
    with pytest.raises(ScenarioError, match=r"not declared; set rain\.file_options\.units"):
        scenario_storm(cfg, 60.0)
    rate = read_rain_file(path, HOURLY.model_copy(update={"units": "mm/h"}))
    assert_allclose(rate.values[:, 0], [10.0, 0.0, 30.0])
    flux = read_rain_file(path, HOURLY.model_copy(update={"units": "kg m-2 s-1"}))
    assert_allclose(flux.values[:, 0], [36000.0, 0.0, 108000.0])
    assert "kg m-2 s-1 × 3600" in flux.attrs["converted_from"]


def test_unit_factors_say_what_they_did() -> None:
    assert unit_factor("mm", 1800.0) == (2.0, "depth per 30 min step in mm → mm/h")
    assert unit_factor("kg m-2 s-1", 60.0)[0] == 3600.0
    assert unit_factor("m", 3600.0)[0] == 1000.0
    with pytest.raises(ScenarioError, match="'inch' are not known; accepted: rates"):
        unit_factor("inch", 60.0)


def test_gauges_with_positions_from_columns() -> None:
    opts = RainFileConfig(units="mm/h", time_label="start", station_col="station",
                          value_col="rate_mm_h", time_col="time")  # fmt: skip
    rain = read_rain_file(EXAMPLES / "gauges_positions_rate.csv", opts)
    assert rain.attrs["interval_s"] == 600.0
    assert list(rain["station"].values) == ["centre", "north", "south"]
    assert_allclose(rain["lon"].values, [120.16, 120.15, 120.17])
    at = file_rain(EXAMPLES / "gauges_positions_rate.csv", opts,
                   lon=np.array([120.15, 120.17]), lat=np.array([30.33, 30.27]))  # fmt: skip
    assert at.dims == ("time", "point")
    assert at.values[:, 0].max() == pytest.approx(60.0)  # at the north gauge
    assert at.values[:, 1].max() == pytest.approx(36.0)  # at the south gauge


# --- missing steps -------------------------------------------------------------------


def test_missing_hours_follow_the_declared_policy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = hourly_csv(tmp_path / "gaps.csv", [10.0, 20.0, 30.0, 40.0, 10.0], skip=(1, 2))
    with pytest.raises(
        ScenarioError, match=r"2 of 5 time steps missing.*rain\.file_options\.missing"
    ):
        scenario_storm(file_cfg(path), 60.0)  # the default policy: error
    with caplog.at_level(logging.WARNING):
        zero, notes = scenario_rain(file_cfg(path, missing="zero"), 3600.0)
    assert_allclose(zero, [10.0, 0.0, 0.0, 40.0, 10.0])
    assert notes["rain_missing_steps"] == "2 (policy: zero)"
    assert "2 of 5 time steps missing" in caplog.text and "treated as dry" in caplog.text
    interp, _ = scenario_rain(file_cfg(path, missing="interpolate"), 3600.0)
    assert_allclose(interp, [10.0, 20.0, 30.0, 40.0, 10.0])


def test_fill_missing_counts_steps_not_cells() -> None:
    values = np.array([[1.0, np.nan], [2.0, 3.0], [np.nan, np.nan]])
    filled, n = fill_missing(values, "zero", where="f", option="o")
    assert n == 2 and not np.isnan(filled).any()
    with pytest.raises(ScenarioError, match="'skip' is not a missing-step policy"):
        fill_missing(values, "skip", where="f", option="o")


# --- the horizon ---------------------------------------------------------------------


def test_storm_longer_than_the_horizon_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = hourly_csv(tmp_path / "long.csv", [5.0] * 55)  # a 55-hour storm
    base = Scenario.model_validate({"name": "t", "start": "2026-06-01T00:00", "horizon": "24h"})
    scenario = base.model_copy(update={"rain": file_cfg(path, missing="error").model_copy(
        update={"start": 8 * 3600.0})})  # fmt: skip
    with caplog.at_level(logging.WARNING):
        values, notes = rain_with_notes(scenario, 24 * 60)
    cut = notes["rain_cut_by_horizon"]
    assert "16 of 55 h kept (80 of 275 mm)" in cut and "lengthen horizon" in cut
    assert cut in caplog.text
    assert_allclose(values.sum() / 60.0, 80.0)
    short = base.model_copy(update={"rain": file_cfg(hourly_csv(tmp_path / "s.csv", [5.0] * 3))})
    assert "rain_cut_by_horizon" not in rain_with_notes(short, 24 * 60)[1]


def test_the_run_reports_its_rain_file_and_the_cut(caplog: pytest.LogCaptureFixture) -> None:
    from twin.run.runner import run_scenario
    from twin.scenario import load_scenario

    path = ROOT / "scenarios" / "gongshu_hourly_gauge.yaml"
    s = load_scenario(path)
    assert s.rain.file_options.units == "mm" and s.rain.file_options.missing == "error"
    with caplog.at_level(logging.WARNING):
        r = run_scenario(s.with_updates(horizon=2 * 3600), base_dir=path.parent)
    attrs = r.dataset.attrs
    assert attrs["rain_file_step"] == "1 h"
    assert attrs["rain_file_units"] == "depth per 1 h step in mm → mm/h"
    assert attrs["rain_missing_steps"] == "0 (policy: error)"
    # 20 hourly readings, the last three dry: a 17-hour storm, cut after its first hour.
    assert "1 of 17 h kept (13.13 of 106.4 mm)" in attrs["rain_cut_by_horizon"]
    assert attrs["rain_cut_by_horizon"] in caplog.text
    # The hourly depths reach the points as hourly rates: the first hour's mean is 13.1 mm.
    first_hour = r.dataset["rain_rate"].isel(point=0).sel(time=slice(None, None))
    assert float(first_hour.max()) == pytest.approx((3.0 + 28.6 + 7.8) / 3)
