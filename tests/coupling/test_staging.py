"""Pre-positioning crews on predictive alerts (twin.coupling.staging)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twin.coupling.staging import AlertStaging
from twin.run.folder import write_run
from twin.run.runner import prepare
from twin.scenario import load_scenario
from twin.sim.fleet import Status

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


def test_forecast_alerts_stage_crews_before_the_water() -> None:
    from twin.run.runner import run_scenario

    storm = load_scenario(SCENARIOS / "gongshu_rainstorm.yaml").with_updates(
        horizon=12 * 3600.0, **{"cases.daily_total": 300, "hydro.forecast.enabled": True}
    )
    result = run_scenario(storm)
    k = result.kpis.set_index("kpi")["value"]
    assert k["forecast_alerts"] > 0
    # One crew per alert, when one of the skill is free (at the storm's peak all may be
    # busy on cases): never more than the alerts, and most of them.
    assert 0.5 * k["forecast_alerts"] <= k["forecast_crews_staged"] <= k["forecast_alerts"]
    # Every alert that warned of an onset came before it (online replay: no peeking).
    assert 0 < k["forecast_onsets_warned"] <= k["points_impeded"]
    assert k["forecast_warning_mean"] > 0
    alerts = result.forecast_alerts
    assert alerts is not None and set(alerts["msgType"]) <= {"Alert", "Update", "Cancel"}
    assert np.isfinite(k["ponding_time_to_arrive_mean"])
    assert len(result.cap_messages) == len(alerts)


def test_forecast_alerts_written_as_valid_cap(tmp_path: Path) -> None:
    from twin.alerts import validate_cap
    from twin.run.runner import run_scenario

    storm = load_scenario(SCENARIOS / "gongshu_rainstorm.yaml").with_updates(
        horizon=10 * 3600.0, **{"cases.daily_total": 100, "hydro.forecast.enabled": True}
    )
    paths = write_run(run_scenario(storm), tmp_path, report=False)
    xml = sorted((tmp_path / "cap").glob("*.xml"))
    assert xml and paths["cap_feed"].exists()
    validate_cap(xml[0].read_text(encoding="utf-8"))


def test_unknown_forecast_model_is_a_scenario_error() -> None:
    import pytest

    from twin.errors import ScenarioError

    storm = load_scenario(SCENARIOS / "gongshu_rainstorm.yaml").with_updates(
        horizon=3600.0, **{"hydro.forecast.enabled": True, "hydro.forecast.model": "no-such"}
    )
    with pytest.raises(ScenarioError, match=r"hydro\.forecast\.model"):
        prepare(storm)
