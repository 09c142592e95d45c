"""Pre-positioning crews on predictive alerts (twin.sim.staging)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twin.scenario import load_scenario
from twin.sim.fleet import Status
from twin.sim.run import prepare
from twin.sim.staging import AlertStaging

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_alert_sends_nearest_idle_crews_to_the_node() -> None:
    scenario = load_scenario(SCENARIOS / "gongshu_baseline_day.yaml").with_updates(
        horizon=3 * 3600.0, **{"cases.daily_total": 50}
    )
    sim = prepare(scenario)
    skill = sim.fleet.skills.index("maintenance")
    target = int(sim.net.node_position(np.array([sim.net.node_ids[100]]))[0])
    staging = AlertStaging(sim, np.array([9 * 3600.0 - 1.0, 3600.0]), np.array([target, target]),
                           skill=skill, crews=2)  # fmt: skip
    sim.models.append(staging)
    sim.run()
    # Only the alert within the horizon sent crews: two, of the right skill, at its time.
    assert [(t, n) for t, n, _ in staging.log] == [(3600.0, target), (3600.0, target)]
    sent = np.array([c for _, _, c in staging.log])
    assert len(set(sent.tolist())) == 2
    assert (sim.fleet.skill[sent] == skill).all()
    # They got there (or were taken by a case on the way).
    f = sim.fleet
    there = (f.node[sent] == target) | (f.cases_done[sent] > 0) | (f.status[sent] != Status.IDLE)
    assert there.all()


def test_staging_is_reproducible() -> None:
    scenario = load_scenario(SCENARIOS / "gongshu_baseline_day.yaml").with_updates(
        horizon=2 * 3600.0, **{"cases.daily_total": 50}
    )
    logs = []
    for _ in range(2):
        sim = prepare(scenario)
        st = AlertStaging(sim, np.array([1800.0]), np.array([5]), skill=0, crews=3)
        sim.models.append(st)
        sim.run()
        logs.append(st.log)
    assert logs[0] == logs[1] and len(logs[0]) == 3
