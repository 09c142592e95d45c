"""The forecast engine and the issue clock, in process (no server)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tests.live.conftest import expected_alerts
from twin.alerts import AlertManager, AlertPoints, AlertPolicy
from twin.forecast.io import load_forecaster
from twin.live.backends import open_store
from twin.live.config import LiveConfig
from twin.live.engine import (
    STEP_MS,
    ForecastEngine,
    IssueClock,
    manager_state,
    restore_manager,
)
from twin.live.ingest import ParsedBatch
from twin.live.sensors import build_registry, load_alert_points, load_plaza_ids

B = 1_718_409_600_000  # 2024-06-15T00:00:00Z, on the grid [ms]


def test_layer_points_are_the_network_low_points(live_points: Any) -> None:
    pts = load_alert_points()
    assert pts.ids.tolist() == live_points.ids.tolist()
    assert pts.names.tolist() == live_points.names.tolist()
    np.testing.assert_allclose(pts.lon, live_points.lon, atol=1e-6)
    np.testing.assert_allclose(pts.lat, live_points.lat, atol=1e-6)


def _clock(mode: str = "data", **kw: Any) -> IssueClock:
    args = {
        "settle_ms": 1000,
        "max_age_ms": 3_600_000,
        "catchup_ms": 3_600_000,
        "last_seen": {},
        "next_issue_ms": None,
    } | kw
    return IssueClock(mode, **args)


def test_clock_waits_for_every_reporting_gauge_then_settles() -> None:
    clock = _clock()
    assert clock.due(wall_ms=0) == []
    clock.note(["a", "b"], np.array([B - STEP_MS, B - STEP_MS]), wall_ms=0)
    assert clock.due(wall_ms=0) == [B - STEP_MS]  # a fresh store starts at the newest data
    clock.done(B - STEP_MS)
    clock.note(["a"], np.array([B]), wall_ms=10)
    assert clock.due(wall_ms=10) == []  # b has not reported for B yet
    assert clock.seconds_to_next_check(10, 30.0) == pytest.approx(1.0)
    assert clock.due(wall_ms=500) == []
    assert clock.due(wall_ms=1010) == [B]  # settled: b's reading is late or lost
    clock.done(B)
    # A backlog waits one settle time in all, not one per issue time.
    clock.note(["a"], np.array([B + 13 * STEP_MS]), wall_ms=2000)
    assert clock.due(wall_ms=2000) == []
    assert clock.due(wall_ms=3001) == [B + k * STEP_MS for k in range(1, 14)]
    # A gauge silent for longer than max_reading_age is not waited for.
    quiet = _clock(last_seen={"a": B, "b": B - 2 * 3_600_000}, next_issue_ms=B + STEP_MS)
    quiet.note(["a"], np.array([B + STEP_MS]), wall_ms=0)
    assert quiet.due(wall_ms=0) == [B + STEP_MS]


def test_clock_skips_only_a_backlog_older_than_max_catchup() -> None:
    clock = _clock(last_seen={"a": B}, next_issue_ms=B - 100 * STEP_MS)
    due = clock.due(wall_ms=0)
    assert due[0] == B - 12 * STEP_MS and due[-1] == B and clock.skipped == 88
    wall = _clock("wall", next_issue_ms=B)
    assert wall.due(wall_ms=B - 1) == [] and wall.due(wall_ms=B + 5) == [B]


@pytest.fixture(scope="module")
def engine_parts(model_dir: Path) -> tuple[LiveConfig, Any, Any, Any]:
    cfg = LiveConfig(forecast={"model": str(model_dir), "max_reading_age": "6h"})
    points = load_alert_points()
    registry = build_registry(cfg.sensors, points, load_plaza_ids())
    return cfg, load_forecaster(model_dir), points, registry


def _insert(store: Any, sensors: list[str], t: np.ndarray, v: np.ndarray) -> None:
    n = len(sensors)
    batch = ParsedBatch(
        n,
        np.arange(n),
        list(sensors),
        np.zeros(n, dtype=np.int64),
        np.asarray(t, dtype=np.int64),
        np.asarray(v, dtype=np.float64),
    )
    store.insert_readings(batch, received_ms=0)


def test_observations_on_the_grid(engine_parts: Any, tmp_path: Path) -> None:
    cfg, model, points, registry = engine_parts
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    engine = ForecastEngine(cfg, store, model, points, registry)
    g = "wl-lp-tunnel-001"
    # Two readings in the last step (the later one counts), a lost step, old readings.
    _insert(
        store,
        [g] * 4,
        np.array([B - 2 * STEP_MS, B - STEP_MS - 60_000, B - 60_000, B - 30_000]),
        np.array([0.05, 0.07, 0.10, 0.11]),
    )
    _insert(
        store,
        ["rg-gongshu"] * 3,
        np.array([B - STEP_MS, B - 120_000, B]),
        np.array([6.0, 10.0, 20.0]),
    )
    obs = engine.observe(B)
    assert obs.depth.shape == (24, 53)
    assert obs.depth[-1, 0] == 0.11 and not obs.missing[-1, 0]
    assert obs.depth[-2, 0] == 0.07 and obs.depth[-3, 0] == 0.05
    assert obs.last[0] == 0.11 and np.isnan(obs.last[1]) and obs.missing[-1, 1]
    assert obs.rain[-1, 0] == pytest.approx(15.0) and obs.rain[-2, 0] == 6.0
    assert np.all(obs.rain[-1] == obs.rain[-1, 0])  # one district gauge
    # A lost reading keeps the last one, flagged as missing.
    obs2 = engine.observe(B + 2 * STEP_MS)
    assert obs2.depth[-1, 0] == 0.11 and obs2.missing[-1, 0] and np.isnan(obs2.last[0])
    store.close()


def test_a_restart_resumes_the_lifecycle_exactly(
    engine_parts: Any, tmp_path: Path, storm: Any, model_dir: Path
) -> None:
    cfg, model, points, registry = engine_parts
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    r = storm.readings
    _insert(store, r.sensor.tolist(), r.t_ms, r.value)
    engine = ForecastEngine(cfg, store, model, points, registry)
    got = []
    for k in range(1, storm.depth.shape[0]):
        if k == 15:  # a restart: a new engine from what the store holds
            engine = ForecastEngine(cfg, store, model, points, registry)
            assert engine.next_issue_ms == int(storm.times_ms[k])
        got += engine.issue(int(storm.times_ms[k]), trigger_ms=0)
    assert [a.identifier for a in got] == [m.identifier for m in expected_alerts(storm, model_dir)]
    store.close()


def _two_points(ids: list[str]) -> AlertPoints:
    n = len(ids)
    return AlertPoints(
        ids=np.array(ids),
        names=np.array(ids),
        lon=np.full(n, 120.15),
        lat=np.full(n, 30.3),
        radius_m=np.full(n, 30.0),
    )


def test_lifecycle_state_round_trips_through_json(caplog: pytest.LogCaptureFixture) -> None:
    t0 = datetime(2024, 6, 15, 14, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    policy = AlertPolicy()
    manager = AlertManager(_two_points(["lp-a", "lp-b"]), policy)
    prob = np.array([[0.9, 0.0], [0.9, 0.6]])
    lead = np.full((2, 2), 1200.0)
    manager.step(t0, prob, lead, np.zeros(2))
    state = manager_state(manager)
    # The stored format: what a store written before this version holds.
    assert state["version"] == 1
    assert [(a["point"], a["level"]) for a in state["active"]] == [
        ("lp-a", "impeded"),
        ("lp-b", "closed"),
        ("lp-b", "impeded"),
    ]
    assert set(state["active"][0]) == {
        "point",
        "level",
        "messages",
        "last_sent",
        "urgency",
        "certainty",
        "onset",
        "below",
        "color",
    }
    stored = json.loads(json.dumps(state))
    again = restore_manager(manager.points, policy, stored)
    assert again.state() == manager.state()
    t1 = t0 + timedelta(minutes=5)
    assert again.step(t1, prob * 0, lead, np.zeros(2)) == manager.step(
        t1, prob * 0, lead, np.zeros(2)
    )
    # A low point no longer configured: its alerts are dropped, with a warning.
    with caplog.at_level(logging.WARNING, logger="twin.live.engine"):
        fewer = restore_manager(_two_points(["lp-b"]), policy, stored)
    assert [(a.point_id, a.level) for a in fewer.state()] == [
        ("lp-b", "closed"),
        ("lp-b", "impeded"),
    ]
    assert "lp-a" in caplog.text
    assert restore_manager(manager.points, policy, None).state() == []
