from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.alerts import AlertError, AlertManager, AlertPoints, AlertPolicy, OpenAlert

T0 = datetime(2024, 6, 15, 14, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _points(n: int = 2) -> AlertPoints:
    return AlertPoints(
        ids=np.array([f"lp-{i}" for i in range(n)]),
        names=np.array([f"point {i}" for i in range(n)]),
        lon=np.full(n, 120.15),
        lat=np.full(n, 30.3),
        radius_m=np.full(n, 30.0),
    )


def _step(m: AlertManager, k: int, p_imp: float, lead: float = 1200.0, depth: float = 0.0):
    prob = np.array([[p_imp, 0.0], [0.0, 0.0]])
    leads = np.array([[lead, np.nan], [np.nan, np.nan]])
    return m.step(T0 + timedelta(minutes=5 * k), prob, leads, np.array([depth, 0.0]))


def test_raise_update_cancel_lifecycle():
    m = AlertManager(_points())
    msgs = _step(m, 0, 0.7, lead=2400.0)
    assert [(x.msg_type, x.level, x.urgency, x.certainty) for x in msgs] == [
        ("Alert", "impeded", "Expected", "Likely")
    ]
    assert msgs[0].lead_time_s == pytest.approx(2400.0)
    first = msgs[0]
    # Onset now within 30 min: urgency escalates → Update referencing the Alert.
    msgs = _step(m, 1, 0.8, lead=900.0)
    assert [x.msg_type for x in msgs] == ["Update"]
    assert msgs[0].urgency == "Immediate"
    assert msgs[0].references == ((first.identifier, first.sent),)
    # Observed above the level: certainty Observed → Update.
    msgs = _step(m, 2, 0.9, depth=0.2)
    assert [(x.msg_type, x.certainty) for x in msgs] == [("Update", "Observed")]
    # Water recedes, probability low: two low issues needed, then Cancel.
    assert _step(m, 3, 0.05, depth=0.1) == []
    msgs = _step(m, 4, 0.05, depth=0.1)
    assert [(x.msg_type, x.urgency) for x in msgs] == [("Cancel", "Past")]
    assert len(msgs[0].references) == 3
    assert m.state() == []


def test_no_flapping_on_noisy_probability():
    rng = np.random.default_rng(3)
    m = AlertManager(_points())
    sent = []
    for k in range(60):
        p = float(np.clip(0.5 + rng.normal(0.0, 0.12), 0, 1))
        sent += _step(m, k, p, lead=2400.0)
    kinds = [x.msg_type for x in sent]
    assert kinds.count("Alert") == 1
    assert "Cancel" not in kinds
    # Certainty wavers between Likely and Possible, but updates are rate-limited.
    assert kinds.count("Update") <= 60 * 5 // 10


def test_flapping_would_happen_without_hysteresis():
    # The same noisy input with p_clear just below p_raise and clear_after=1 does flap:
    # the test above is not vacuous.
    rng = np.random.default_rng(3)
    m = AlertManager(_points(), AlertPolicy(p_raise=0.5, p_clear=0.49, clear_after=1))
    kinds = []
    for k in range(60):
        p = float(np.clip(0.5 + rng.normal(0.0, 0.12), 0, 1))
        kinds += [x.msg_type for x in _step(m, k, p, lead=2400.0)]
    assert kinds.count("Alert") > 3


def test_deduplication_same_input_sends_nothing():
    m = AlertManager(_points())
    # The same forecast onset (25 min after the first issue), issue after issue.
    assert len(_step(m, 0, 0.9, lead=1500.0)) == 1
    for k in range(1, 5):
        assert _step(m, k, 0.9, lead=1500.0 - 300.0 * k) == []


def test_onset_shift_updates_after_min_interval():
    m = AlertManager(_points())
    _step(m, 0, 0.9, lead=3600.0)
    # The onset moves 20 min later (≥ 15 min): update, after 10 min at least.
    assert _step(m, 1, 0.9, lead=3600.0 + 1200.0) == []
    msgs = _step(m, 2, 0.9, lead=3600.0 + 900.0)
    assert [x.msg_type for x in msgs] == ["Update"]


def test_bad_inputs():
    m = AlertManager(_points())
    with pytest.raises(AlertError, match="timezone-aware"):
        m.step(datetime(2024, 6, 15), np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(AlertError, match="shape"):
        m.step(T0, np.zeros((3, 2)), np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(AlertError, match="within"):
        m.step(T0, np.full((2, 2), 1.5), np.zeros((2, 2)), np.zeros(2))
    m.step(T0, np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(AlertError, match="increase"):
        m.step(T0, np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="p_clear"):
        AlertPolicy(p_raise=0.3, p_clear=0.4)
    with pytest.raises(ValueError, match="levels"):
        AlertPolicy(levels={"flooded": 0.5})


def test_state_restored_into_a_new_manager_continues_the_same() -> None:
    # A restart: the state after a few issues, restored into a fresh manager, gives the
    # same messages from then on as the manager that never stopped.
    a = AlertManager(_points())
    _step(a, 0, 0.7, lead=2400.0)
    _step(a, 1, 0.8, lead=900.0)
    _step(a, 2, 0.05, depth=0.1)  # one issue below p_clear: half-way to a Cancel
    state = a.state()
    assert [(s.point_id, s.level, s.below, len(s.messages)) for s in state] == [
        ("lp-0", "impeded", 1, 2)
    ]
    assert isinstance(state[0], OpenAlert)
    b = AlertManager(_points())
    assert b.restore(state) == []
    assert b.state() == state
    for k, p in ((3, 0.05), (4, 0.9), (5, 0.9)):
        assert _step(b, k, p, depth=0.1) == _step(a, k, p, depth=0.1)
    assert b.state() == a.state()


def test_restore_drops_unknown_points_and_levels() -> None:
    m = AlertManager(_points(2))
    _step(m, 0, 0.9)
    (alert,) = m.state()
    moved = replace(alert, point_id="lp-gone")
    other_level = replace(alert, level="flooded")
    fresh = AlertManager(_points(2))
    assert fresh.restore([alert, moved, other_level]) == [moved, other_level]
    assert fresh.state() == [alert]
    # Restoring replaces: an empty state closes every open alert.
    assert fresh.restore([]) == []
    assert fresh.state() == []
