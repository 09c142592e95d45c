from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import xarray as xr

from twin.alerts import cap_xml, validate_cap
from twin.forecast.data import STEP_S, design_storm_rates
from twin.forecast.errors import ForecastError
from twin.forecast.io import load_shipped
from twin.forecast.online import TIMELINE_COLUMNS, alert_timeline, predict_points, replay_alerts
from twin.hydro.reservoir import simulate_ponding

START = datetime(2024, 6, 15, 14, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def model():
    return load_shipped("nhits")


@pytest.fixture(scope="module")
def run(lowpts):
    """A 10-year design storm on the hydro's 60-s step, 1 h dry before, 3 h after."""
    rain5 = dict(design_storm_rates())["design-P10-D120-r40"]
    rain = np.r_[np.zeros(60), np.repeat(rain5, 5), np.zeros(180)]  # 60-s steps
    depth = simulate_ponding(lowpts.params, rain, 60.0).water_depth
    times = np.arange(depth.shape[0]) * 60.0
    return depth, np.repeat(rain[:, None], len(lowpts), axis=1), times


def test_alerts_come_before_the_water(run, lowpts, model):
    depth, rain, times = run
    table = alert_timeline(
        depth, rain, times, lowpts, model, rain_source="observed", start=START, seed=0
    )
    assert tuple(table.columns) == TIMELINE_COLUMNS
    assert table.attrs["rain_source"].startswith("observed")
    onsets = {}
    for p in range(depth.shape[1]):
        above = np.flatnonzero(depth[:, p] >= 0.15)
        if above.size:
            onsets[str(lowpts.ids[p])] = times[above[0]]
    alerts = table[(table.msgType == "Alert") & (table.level == "impeded")]
    first = alerts.groupby("point")["issue_time"].min()
    warned_early = [first[p] < t for p, t in onsets.items() if p in first.index]
    assert len(onsets) >= 10
    assert np.mean(warned_early) >= 0.7  # most points are warned before the water
    assert set(table.msgType) >= {"Alert", "Cancel"}
    assert np.all(np.diff(table.issue_time.to_numpy()) >= 0)


def test_replay_is_online(run, lowpts, model):
    """Changing the run after time T changes no message issued at or before T."""
    depth, rain, times = run
    cut = 150  # minutes (60-s steps)
    d2, r2 = depth.copy(), rain.copy()
    d2[cut + 1 :] *= 0.2
    r2[cut:] = 0.0
    kw = dict(rain_source="persistence", start=START, seed=0)
    a = alert_timeline(depth, rain, times, lowpts, model, **kw)
    b = alert_timeline(d2, r2, times, lowpts, model, **kw)
    before_a = a[a.issue_time <= cut * 60.0].reset_index(drop=True)
    before_b = b[b.issue_time <= cut * 60.0].reset_index(drop=True)
    assert len(before_a) > 0
    cols = ["issue_time", "point", "level", "msgType", "probability", "lead_time"]
    assert before_a[cols].equals(before_b[cols])
    assert not a.equals(b)


def test_replay_messages_are_valid_cap(run, lowpts, model):
    depth, rain, times = run
    replay = replay_alerts(depth, rain, times, lowpts, model, start=START, every=600.0, seed=0)
    assert replay.messages
    for msg in replay.messages[:40]:
        validate_cap(cap_xml(msg))


def test_predict_points(model, lowpts):
    ids = list(lowpts.ids[:5])
    hist = np.zeros((30, 5))
    hist[-3:] = 0.05
    rain = np.r_[np.zeros(26), [40.0, 60.0, 80.0, 80.0]]
    ds = predict_points(model, hist, rain, ids, seed=0)
    assert isinstance(ds, xr.Dataset)
    assert ds["water_depth"].shape == (5, 24, 7)
    assert ds.attrs["rain_source"] == "persistence"
    assert float(ds["p_impeded"].max()) <= 0.95
    wet = predict_points(
        model,
        hist,
        rain,
        ids,
        rain_future=np.full(24, 100.0),
        rain_source="observed",
        seed=0,
    )
    dry = predict_points(
        model, hist, rain, ids, rain_future=np.zeros(24), rain_source="observed", seed=0
    )
    assert float(wet["water_depth"].sel(quantile=0.5).sum()) > float(
        dry["water_depth"].sel(quantile=0.5).sum()
    )


def test_online_bad_inputs(model, lowpts, run):
    ids = list(lowpts.ids[:2])
    with pytest.raises(ForecastError, match="empty depth history"):
        predict_points(model, np.zeros((0, 2)), np.zeros(0), ids, seed=0)
    with pytest.raises(ForecastError, match="history too short"):
        predict_points(model, np.zeros((5, 2)), np.zeros(5), ids, seed=0)
    with pytest.raises(ForecastError, match="unknown low point"):
        predict_points(model, np.zeros((24, 1)), np.zeros(24), ["lp-nowhere"], seed=0)
    with pytest.raises(ForecastError, match="needs rain_future"):
        predict_points(model, np.zeros((24, 2)), np.zeros(24), ids, rain_source="observed", seed=0)
    with pytest.raises(ForecastError, match="rain_history has missing"):
        predict_points(model, np.zeros((24, 2)), np.full(24, np.nan), ids, seed=0)
    depth, rain, times = run
    with pytest.raises(ForecastError, match="must divide"):
        alert_timeline(depth, rain, times * 7.0, lowpts, model, seed=0)
    with pytest.raises(ForecastError, match="rain steps"):
        alert_timeline(depth, rain[:-5], times, lowpts, model, seed=0)
    with pytest.raises(ForecastError, match="timezone-aware"):
        alert_timeline(depth, rain, times, lowpts, model, start=datetime(2024, 1, 1), seed=0)
    assert STEP_S == 300.0
