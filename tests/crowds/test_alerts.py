"""Crowd alerts: forecasts from a state, rolling issue, episodes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.crowds.alerts import alerts_frame, crossings, forecast_alerts, rolling_alerts
from twin.crowds.config import CrowdConfig, OpenExits
from twin.crowds.demand import Demand
from twin.crowds.model import simulate
from twin.crowds.plazas import Plazas

THRESHOLD = CrowdConfig().alerts.density_threshold
START = datetime(2024, 6, 1, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_forecast_matches_what_happens(plazas: Plazas, day: Demand) -> None:
    truth = simulate(plazas, day)
    episodes = crossings(truth, THRESHOLD)
    assert episodes["plaza"].tolist() == ["plaza-wulin-square"]
    onset = episodes["start"].item()
    k = int(onset // 60) - 40  # the state 39 min before the crossing
    alerts = forecast_alerts(truth.state_at(k), day, 3600.0, THRESHOLD)
    assert len(alerts) == 1
    a = alerts[0]
    assert a.plaza == "plaza-wulin-square" and not a.already_above
    assert a.issue_time == truth.time[k] and a.onset_time == onset
    assert a.lead_time == onset - a.issue_time == 39 * 60.0
    assert a.level == "E" and a.peak_density > THRESHOLD
    assert forecast_alerts(truth.state_at(k), day, 1800.0, THRESHOLD) == []
    assert forecast_alerts(truth.state_at(-1), day, 3600.0, THRESHOLD) == []


def test_forecast_with_interventions(plazas: Plazas, day: Demand) -> None:
    truth = simulate(plazas, day)
    k = 21 * 60 + 50  # during the egress wave
    calm = forecast_alerts(truth.state_at(k), day, 1800.0, 1.5 * THRESHOLD)
    assert calm == []
    opened = OpenExits(plaza="plaza-wulin-square", start=0.0, widths_m=(8.0,))
    fc = forecast_alerts(truth.state_at(k), day, 1800.0, 0.0001, interventions=[opened])
    assert {a.plaza for a in fc} == set(plazas.id.tolist())


def test_rolling_alerts_one_per_episode(plazas: Plazas, day: Demand) -> None:
    truth, alerts = rolling_alerts(plazas, day, every=300.0, horizon=1800.0, threshold=THRESHOLD)
    onset = crossings(truth, THRESHOLD)["start"].item()
    assert len(alerts) == 1
    a = alerts[0]
    assert a.onset_time == onset and 1500.0 <= a.lead_time <= 1800.0
    assert a.issue_time % 300.0 == 0.0
    df = alerts_frame(alerts, START)
    assert df["onset_at"].iloc[0] == START + np.timedelta64(int(onset), "s")
    assert list(alerts_frame([]).columns)[:3] == ["plaza", "plaza_name", "issue_time"]
    with pytest.raises(ValueError, match="whole number"):
        rolling_alerts(plazas, day, every=90.0, horizon=600.0, threshold=THRESHOLD)
