"""Alert scores: crossings, hits with their lead, false alarms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.forecast.alert_scores import crossings, pool_scores, score_alerts


def test_scores_count_hits_misses_and_false_alarms_by_hand() -> None:
    times = np.arange(0, 36_000, 300.0)  # 10 h at 5 min
    depth = np.zeros((times.size, 3))
    depth[20:30, 0] = 0.3  # point 0 closes at t=6000 s
    depth[60:70, 0] = 0.3  # and again at 18000 s (after drying)
    depth[40:45, 1] = 0.3  # point 1 closes at 12000 s
    assert crossings(depth, times, 0.27) == [(0, 6000.0), (1, 12000.0), (0, 18000.0)]
    timeline = pd.DataFrame(
        {
            "issue_time": [4200.0, 11_700.0, 15_000.0, 30_000.0, 5000.0],
            "point_index": [0, 1, 0, 2, 1],
            "level": ["closed", "closed", "closed", "closed", "impeded"],
            "msgType": ["Alert", "Alert", "Update", "Alert", "Alert"],
        }
    )
    s = score_alerts(timeline, depth, times, {"closed": 0.27})["closed"]
    # Hits: point 0 at 6000 (lead 1800 s), point 1 at 12000 (lead 300 s); the second
    # crossing of point 0 had only an Update (no new Alert): missed.
    assert (s.crossings, s.detected, s.alerts, s.false_alarms) == (3, 2, 3, 1)
    np.testing.assert_allclose(sorted(s.leads), [300.0, 1800.0])
    assert s.pod == 2 / 3 and s.far == 1 / 3 and s.csi == 2 / 4
    assert s.lead_mean == 1050.0


def test_no_water_and_no_alerts_is_undefined_not_perfect() -> None:
    times = np.arange(0, 3000, 300.0)
    empty = pd.DataFrame(columns=["issue_time", "point_index", "level", "msgType"])
    s = score_alerts(empty, np.zeros((times.size, 2)), times, {"closed": 0.27})["closed"]
    assert np.isnan(s.pod) and np.isnan(s.far) and np.isnan(s.lead_mean)


def test_pooled_scores_add_the_counts_of_every_run() -> None:
    times = np.arange(0, 36_000, 300.0)
    a = np.zeros((times.size, 2))
    a[20:30, 0] = 0.3  # one crossing at 6000 s
    b = np.zeros((times.size, 2))
    b[40:45, 1] = 0.3  # one crossing at 12000 s
    warn = pd.DataFrame({"issue_time": [4200.0, 30_000.0], "point_index": [0, 1],
                         "level": ["closed"] * 2, "msgType": ["Alert"] * 2})  # fmt: skip
    silent = pd.DataFrame(columns=["issue_time", "point_index", "level", "msgType"])
    sa = score_alerts(warn, a, times, {"closed": 0.27})["closed"]  # 1 hit, 1 false alarm
    sb = score_alerts(silent, b, times, {"closed": 0.27})["closed"]  # 1 miss
    both = pool_scores([sa, sb])
    assert (both.crossings, both.detected, both.alerts, both.false_alarms) == (2, 1, 2, 1)
    assert both.pod == 0.5 and both.far == 0.5 and both.csi == 1 / 3
    assert both.lead_mean == 1800.0 and both.leads.tolist() == [1800.0]
    with pytest.raises(ValueError, match="at least one"):
        pool_scores([])
