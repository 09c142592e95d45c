"""A radar storm in a scenario: moving rain at the low points, radar nowcasts in forecasts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin.errors import ScenarioError
from twin.run import run_scenario
from twin.run.folder import write_run
from twin.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "gongshu_radar_storm.yaml"


@pytest.fixture(scope="module")
def short() -> object:
    s = load_scenario(SCENARIO)
    return s.with_updates(horizon=2 * 3600, **{"rain.start": 600, "cases.daily_total": 300})


def test_radar_rain_moves_and_differs_between_points(short) -> None:
    r = run_scenario(short.with_updates(**{"hydro.forecast.enabled": False}))
    rain = r.dataset["rain_rate"].to_numpy()  # (time, point)
    assert rain.max() > 20.0
    # Not one series for the district: points see different rain, at different times.
    assert np.std(rain.sum(axis=0)) > 0.05 * rain.sum(axis=0).mean()
    peaks = rain.argmax(axis=0)[rain.max(axis=0) > 5.0]
    assert np.unique(peaks).size > 1
    caption = r.dataset.attrs["rain_caption"]
    assert "transposed over" in caption and "MRMS" in caption and "2019-06-" in caption
    assert "intensified" in caption


def test_forecasts_take_radar_nowcasts_and_the_report_shows_them(short, tmp_path) -> None:
    r = run_scenario(short)
    table = r.forecast_rain
    assert table is not None and len(table) > 0
    assert "radar extrapolation" in table.attrs["rain_source"]
    issued_wet = table.groupby("issue_time_s")["forecast_mm_h"].max() > 1.0
    assert issued_wet.sum() >= 3
    paths = write_run(r, tmp_path / "run")
    html = paths["summary"].read_text(encoding="utf-8")
    assert "Forecast rain against observed rain" in html and "transposed over" in html
    assert paths["forecast_rain"].exists()
    again = run_scenario(short)
    np.testing.assert_array_equal(
        again.forecast_rain["forecast_mm_h"].to_numpy(), table["forecast_mm_h"].to_numpy()
    )


def test_bad_radar_settings_are_clear(short) -> None:
    with pytest.raises(ScenarioError, match=r"rain\.kind 'radar'"):
        short.with_updates(**{"rain.kind": "design_storm"})
    with pytest.raises(ScenarioError, match="neither a shipped radar event"):
        run_scenario(short.with_updates(**{"rain.radar.event": "nowhere-2020"}))
    with pytest.raises(ScenarioError, match="outside the event"):
        run_scenario(short.with_updates(**{"rain.radar.begin": "2001-01-01T00:00"}))


def test_the_physics_ensemble_forecasts_a_truth_it_is_not_told(short) -> None:
    s = short.with_updates(
        **{
            "hydro.forecast.model": "physics_ensemble",
            "hydro.truth.capacity_sd": 0.35,
            "hydro.truth.blockage_share": 0.3,
            "rain.scale": 2.0,
        }
    )
    r = run_scenario(s)
    k = r.kpis.set_index("kpi")["value"]
    assert k["points_closed"] > 0
    assert r.forecast_alerts is not None and len(r.forecast_alerts) > 0
    assert "physics" in r.forecast_alerts.attrs["forecaster"]
    assert 0.0 <= k["forecast_pod_closed"] <= 1.0
    assert k["forecast_lead_impeded_mean"] > 0.0
    # The truth differs from the nominal model: same storm, different water.
    nominal = run_scenario(
        s.with_updates(**{"hydro.truth.capacity_sd": 0.0, "hydro.truth.blockage_share": 0.0})
    )
    assert not np.array_equal(
        nominal.dataset["water_depth"].to_numpy(), r.dataset["water_depth"].to_numpy()
    )


def test_a_displaced_nowcast_drives_the_physics_ensemble(short) -> None:
    s = short.with_updates(**{"hydro.forecast.model": "physics_ensemble", "rain.scale": 2.0})
    plain = run_scenario(s)
    moved = run_scenario(s.with_updates(**{"hydro.forecast.nowcast_displacement": 3.0}))
    assert moved.forecast_alerts is not None and plain.forecast_alerts is not None
    # The displaced members change the ensemble's forecasts; the run is reproducible.
    a, b = plain.forecast_rain, moved.forecast_rain
    assert a is not None and b is not None
    assert not np.array_equal(a["forecast_mm_h"].to_numpy(), b["forecast_mm_h"].to_numpy())
    again = run_scenario(s.with_updates(**{"hydro.forecast.nowcast_displacement": 3.0}))
    np.testing.assert_array_equal(
        again.forecast_rain["forecast_mm_h"].to_numpy(), b["forecast_mm_h"].to_numpy()
    )
    with pytest.raises(ScenarioError, match="nowcast_displacement 3 m/s needs model"):
        short.with_updates(
            **{"hydro.forecast.nowcast_displacement": 3.0, "hydro.forecast.model": "linear"}
        )


def test_in_place_radar_and_external_nowcast_products(short, tmp_path) -> None:
    """A user's own radar file over the area, with a met bureau's nowcast products."""
    from twin.hydro.radar.events import load_event
    from twin.hydro.radar.external import write_nowcast
    from twin.hydro.radar.netcdf import write_radar_netcdf
    from twin.hydro.radar.nowcast import nowcast
    from twin.hydro.radar.transpose import transpose_radar

    # "Our own radar": an event placed over Gongshu and saved with Gongshu's coordinates.
    own = transpose_radar(load_event("mrms-20190610"), None, dx_km=-60, dy_km=40)
    own = own.drop_vars("district")
    own.attrs.pop("transposed_over", None)
    radar_file = write_radar_netcdf(own, tmp_path / "own_radar.nc")
    products = tmp_path / "bureau"
    products.mkdir()
    times = own["time"].values
    for k in range(4, 30, 3):  # a product every 6 minutes
        write_nowcast(nowcast(own, times[k], method="extrapolation", outside=0.0),
                      products / f"nowcast_{k:03d}.nc")  # fmt: skip
    s = short.with_updates(
        **{
            "rain.radar.event": str(radar_file),
            "rain.radar.dx_km": 0.0,
            "rain.radar.dy_km": 0.0,
            "rain.radar.in_place": True,
            "hydro.forecast.rain_source": "external",
            "hydro.forecast.external_nowcasts": str(products),
        }
    )
    r = run_scenario(s)
    rain = r.dataset["rain_rate"].to_numpy()
    moved = run_scenario(short.with_updates(**{"hydro.forecast.enabled": False}))
    # In place, the saved field falls where it was saved: the same rain as the transposed run.
    np.testing.assert_allclose(rain.sum(), moved.dataset["rain_rate"].to_numpy().sum(), rtol=0.05)
    assert "transposed" not in r.dataset.attrs["rain_caption"]
    table = r.forecast_rain
    assert table is not None and "external" in table.attrs["rain_source"]
    assert (table.groupby("issue_time_s")["forecast_mm_h"].max() > 1.0).sum() >= 3
    with pytest.raises(ScenarioError, match="external_nowcasts"):
        short.with_updates(**{"hydro.forecast.rain_source": "external"})
