"""Training on the nowcast: windows, radar storms, re-trained forecasters, online scores."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from twin.forecast.alert_scores import AlertScore
from twin.forecast.baselines import LinearRainForecaster
from twin.forecast.errors import ForecastError, ModelFileError
from twin.forecast.evaluate import ALERT_COLUMNS, backtest, model_name
from twin.forecast.io import load_forecaster, load_shipped, save_forecaster, shipped_kind
from twin.forecast.records import StormRecords, combine_records
from twin.forecast.replay_scores import (
    alert_summary,
    backtest_physics,
    replay_alert_scores,
    storm_run,
)
from twin.forecast.sarimax import SarimaxForecaster
from twin.forecast.windows import (
    ENCODER_STEPS,
    HORIZON_STEPS,
    make_windows,
    sample_training_windows,
    windows_at,
)


def _radar_like(base: StormRecords, storm: int, seed: int) -> StormRecords:
    """One storm of ``base`` as a radar storm: rain per point and a made-up nowcast."""
    one = base.subset([storm])
    n, n_pts = one.depth.shape
    rng = np.random.default_rng(seed)
    rain = one.rain[:, None] * rng.uniform(0.5, 1.5, n_pts)
    nc = rng.uniform(0.0, 30.0, (n, HORIZON_STEPS, n_pts))
    sid = f"radar:test-{seed}"
    return dataclasses.replace(
        one, storm_id=np.array([sid]), source=np.array(["radar"]), rain=rain,
        nowcast={sid: nc}, nowcast_label="made up",
    )  # fmt: skip


def test_nowcast_windows_never_see_the_rain_that_fell(tiny_set):
    # An issue time just before rain starts: the nowcast knows only the dry past.
    d = tiny_set
    for s in range(d.n_storms):
        rain = d.rain[d.rows(s)]
        k = np.arange(ENCODER_STEPS, rain.size - HORIZON_STEPS - 1)
        dry_then_wet = (rain[k] == 0) & (rain[k - 1] == 0) & (rain[k - 2] == 0) & (rain[k + 1] > 0)
        if dry_then_wet.any():
            k0 = int(k[dry_then_wet][0])
            break
    else:
        pytest.fail("no storm starts raining after a dry spell")
    now = make_windows(d, s, np.array([k0]), points=np.array([0]))
    seen = make_windows(d, s, np.array([k0]), points=np.array([0]), future_rain="observed")
    np.testing.assert_array_equal(seen.rain_future[0], rain[k0 + 1 : k0 + 1 + HORIZON_STEPS])
    np.testing.assert_array_equal(now.rain_future[0], np.zeros(HORIZON_STEPS))
    with pytest.raises(ForecastError, match="future_rain 'oracle'"):
        make_windows(d, 0, np.array([k0]), future_rain="oracle")  # type: ignore[arg-type]


def test_radar_storms_give_their_nowcast_and_gauge_storms_persistence(tiny_set):
    radar = _radar_like(tiny_set, 1, seed=3)
    both = combine_records(tiny_set.subset([0]), radar)
    assert both.rain.shape == both.depth.shape  # the gauge storm's rain at every point
    np.testing.assert_array_equal(both.rain[both.rows(0), 5], tiny_set.rain[tiny_set.rows(0)])
    lo = int(both.offsets[1])
    g = np.array([lo + ENCODER_STEPS, ENCODER_STEPS + 1, lo + ENCODER_STEPS + 3])
    p = np.array([7, 2, 40])
    w = windows_at(both, g, p)
    nc = radar.nowcast[str(radar.storm_id[0])]
    np.testing.assert_array_equal(w.rain_future[0], nc[ENCODER_STEPS, :, 7])
    np.testing.assert_array_equal(w.rain_future[2], nc[ENCODER_STEPS + 3, :, 40])
    np.testing.assert_allclose(
        w.rain_future[1], both.rain[ENCODER_STEPS - 1 : ENCODER_STEPS + 2, 2].mean()
    )
    # The history is the rain at the point, not the district's.
    np.testing.assert_array_equal(w.rain_hist[0], radar.rain[1 : ENCODER_STEPS + 1, 7])
    obs = windows_at(both, g, p, future_rain="observed")
    np.testing.assert_array_equal(obs.rain_future[0], radar.rain[ENCODER_STEPS + 1 :][:24, 7])
    # A subset keeps the nowcasts of its storms only.
    assert both.subset([1]).nowcast.keys() == radar.nowcast.keys()
    assert not both.subset([0]).nowcast
    with pytest.raises(ForecastError, match="storm id appears"):
        combine_records(radar, radar)


def test_training_windows_take_a_share_from_radar_storms(tiny_set):
    both = combine_records(tiny_set, _radar_like(tiny_set, 1, seed=4))
    w = sample_training_windows(
        both, 400, radar_share=0.25, future_rain="nowcast", rng=np.random.default_rng(0)
    )
    # 300 from the gauge storms (persistence: constant along the leads); the radar storm
    # gives what its strata hold of the other 100, with its made-up nowcast.
    varying = np.ptp(w.rain_future, axis=1) > 0
    assert 300 < len(w) <= 400 and varying.sum() == len(w) - 300


def test_sarimax_on_the_nowcast_reestimates_rain_and_spread(few_points_set):
    train = few_points_set.select("train")
    seen = SarimaxForecaster(n_storms=4, maxiter=15, future_rain="observed").fit(train, seed=0)
    now = SarimaxForecaster(n_storms=4, maxiter=15, n_windows=6000).fit(train, seed=0)
    names = now.param_names
    arma = [i for i, n in enumerate(names) if n not in ("rain", "rain_60min")]
    np.testing.assert_array_equal(now.params[:, arma], seen.params[:, arma])  # ARMA kept
    assert not np.allclose(now.params, seen.params)  # rain coefficients re-estimated
    np.testing.assert_array_equal(seen.lead_scale, np.ones(24))
    assert np.all(now.lead_scale > 0) and not np.allclose(now.lead_scale, 1.0)
    # Better on nowcast windows of its own training storms than the observed-rain fit.
    w = sample_training_windows(
        train, 3000, radar_share=0.0, future_rain="nowcast", rng=np.random.default_rng(9)
    )
    i50 = now.quantiles.index(0.5)
    err_now = np.mean((now.predict(w)[:, :, i50] - w.target) ** 2)
    err_seen = np.mean((seen.predict(w)[:, :, i50] - w.target) ** 2)
    assert err_now < err_seen


def test_covariate_is_saved_and_old_models_load_as_observed(few_points_set, tmp_path):
    model = LinearRainForecaster(future_rain="nowcast").fit(few_points_set.select("train"), seed=0)
    assert model.future_rain == "nowcast" and model_name(model) == "linear-nowcast"
    back = load_forecaster(save_forecaster(model, tmp_path / "m"))
    assert back.future_rain == "nowcast"  # type: ignore[attr-defined]
    old = load_shipped("nhits")  # saved before the setting existed
    assert old.future_rain == "observed" and model_name(old) == "nhits"  # type: ignore[attr-defined]
    assert shipped_kind("nhits-nowcast") == "nhits"
    with pytest.raises(ModelFileError, match="unknown forecaster"):
        load_shipped("nhits-oracle")


@pytest.mark.parametrize("name", ["sarimax-nowcast", "nhits-nowcast"])
def test_shipped_nowcast_models_were_trained_on_the_nowcast(name):
    model = load_shipped(name)
    assert model.kind == name.split("-")[0]
    assert model.info["future_rain"] == "nowcast"
    assert model.info["train_storms_radar"] > 0
    assert "fmi-20160928" not in " ".join(model.info["radar_storms"])  # the test event


def test_alert_summary_pools_storms():
    def score(c: int, d: int, a: int, f: int, leads: list[float]) -> AlertScore:
        return AlertScore("closed", c, d, a, f, np.nan, np.nan, np.nan, np.nan, np.nan,
                          np.array(leads))  # fmt: skip

    table = alert_summary([{"closed": score(4, 3, 5, 2, [600, 1200, 1800])},
                           {"closed": score(2, 1, 1, 0, [3000])}])  # fmt: skip
    row = table.set_index("threshold").loc["closed"]
    assert (row.crossings, row.detected, row.alerts, row.false_alarms) == (6, 4, 6, 2)
    assert row.pod == pytest.approx(4 / 6) and row.far == pytest.approx(2 / 6)
    assert row.csi == pytest.approx(4 / (4 + 2 + 2))
    assert row.lead_mean_min == pytest.approx(27.5) and row.lead_median_min == pytest.approx(25.0)
    assert list(table.columns) == list(ALERT_COLUMNS)


def test_physics_backtest_scores_the_same_issue_times(few_lowpts, few_points_set):
    pts = few_lowpts
    test = few_points_set.select("test").subset([0, 1])
    linear = LinearRainForecaster().fit(few_points_set.select("train"), seed=0)
    ml = backtest(linear, test, rain_source="persistence", stride=3, seed=0)
    phys = backtest_physics(test, pts, rain_source="persistence", stride=3, seed=0)
    assert phys.kind == "physics_ensemble" and phys.n_windows == ml.n_windows
    assert list(phys.by_lead.columns) == list(ml.by_lead.columns)
    assert phys.by_lead["coverage_80"].between(0, 1).all()
    assert list(phys.alerts["threshold"]) == ["impeded", "closed"]
    assert phys.settings["bands"] == "raw ensemble"
    # With the model folder's calibration the published (wider) band is scored; the
    # median and the alerts are the ensemble's.
    from twin.forecast.physics_model import load_physics_model

    cal = backtest_physics(test, pts, rain_source="persistence", stride=3, seed=0,
                           calibrator=load_physics_model().calibrator)  # fmt: skip
    assert cal.settings["bands"] == "conformal (model folder)"
    assert (cal.by_lead["coverage_80"] >= phys.by_lead["coverage_80"]).all()
    assert (cal.by_lead["coverage_80"] > phys.by_lead["coverage_80"]).any()
    pd.testing.assert_frame_equal(cal.alerts, phys.alerts)
    scores = replay_alert_scores(linear, test, pts, rain_source="persistence", seed=0)
    assert (scores["detected"] <= scores["crossings"]).all()
    assert (scores["false_alarms"] <= scores["alerts"]).all()
    with pytest.raises(ForecastError, match="radar nowcast of every storm"):
        backtest_physics(test, pts, rain_source="extrapolation", seed=0)


def test_storm_run_serves_the_records_nowcast(tiny_set):
    radar = _radar_like(tiny_set, 0, seed=5)
    depth, rain, _, nowcaster = storm_run(radar, 0)
    assert rain.shape == (depth.shape[0] - 1, depth.shape[1]) and nowcaster is not None
    got = nowcaster(np.array([300.0, 1500.0]))
    nc = radar.nowcast[str(radar.storm_id[0])]
    np.testing.assert_array_equal(got[:, 0], nc[[1, 5]])


@pytest.mark.slow
def test_radar_storm_set_nowcasts_at_every_row(lowpts):
    from twin.forecast.radar_storms import radar_storm_set

    rs = radar_storm_set(events=("mrms-20190610",), placements=1, peaks=(100.0,), seed=0)
    assert list(rs.split) == ["validation"] and list(rs.source) == ["radar"]
    assert rs.rain.shape == rs.depth.shape == (rs.offsets[-1], len(lowpts))
    nc = rs.nowcast[str(rs.storm_id[0])]
    assert nc.shape == (rs.offsets[-1], HORIZON_STEPS, len(lowpts))
    assert np.all(nc[0] == 0.0)  # nothing seen yet at the first row
    g = np.repeat(np.arange(ENCODER_STEPS - 1, rs.offsets[-1] - HORIZON_STEPS), len(lowpts))
    p = np.tile(np.arange(len(lowpts)), g.size // len(lowpts))
    w = windows_at(rs, g, p)
    seen = windows_at(rs, g, p, future_rain="observed")
    assert w.rain_future.sum() > 0 and not np.allclose(w.rain_future, seen.rain_future)
    assert rs.depth.max() > 0.15  # intensified: the water reaches the impeded level
