"""Crowds on the simulation clock: alerts raise cases, crews on site add staff."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin.cases.stream import CaseStream
from twin.errors import ScenarioError
from twin.network.build import data_dir
from twin.run.folder import write_run
from twin.run.results import RunResult
from twin.run.runner import prepare, run_scenario
from twin.scenario import Scenario, load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "gongshu_event_night.yaml"


def _short(**changes: object) -> Scenario:
    """The event night from 17:00 to 23:00, with fewer background cases."""
    base = load_scenario(SCENARIO)
    return base.with_updates(
        start="2026-06-01T17:00:00", horizon=6 * 3600.0, **{"cases.daily_total": 400}, **changes
    )


@pytest.fixture(scope="module")
def event_run() -> RunResult:
    return run_scenario(_short())


def test_alert_comes_before_the_crowd_and_raises_cases(event_run: RunResult) -> None:
    run = event_run.crowds
    assert run is not None
    first = run.alerts.iloc[0]
    assert first["kind"] == "alert"
    assert first["plaza"] == "plaza-wulin-square"
    # The episode the alert warned of starts after it was issued.
    ep = run.episodes[run.episodes["plaza"] == "plaza-wulin-square"].iloc[0]
    assert ep["alerted"]
    assert ep["start"] > first["issue_time"]
    assert ep["warning_s"] > 0
    # Each alert raised its cases at the plaza, reported when it was issued.
    cases = event_run.cases
    crowd = cases[cases["category"] == "crowd_control"]
    raised = sorted(i for ids in run.alerts["cases"] for i in ids)
    assert sorted(crowd["case"]) == raised
    assert len(raised) == len(run.alerts) * 4
    node = event_run.network.layers["plazas"].set_index("id").loc["plaza-wulin-square", "node"]
    assert (crowd["node"] == node).all()
    assert (crowd["source"] == "iot_alarm").all()
    assert crowd["arrived"].notna().all()


def test_staff_are_the_crews_working_on_site(event_run: RunResult) -> None:
    run = event_run.crowds
    assert run is not None
    cases = event_run.cases
    crowd = cases[cases["category"] == "crowd_control"]
    q = run.plazas.index("plaza-wulin-square")
    t = run.coupled.time - run.coupled.dt  # start of each step, on the run clock
    start = event_run.scenario.start

    def elapsed(col: str) -> np.ndarray:
        return ((crowd[col] - start).dt.total_seconds()).to_numpy()

    arrived, resolved = elapsed("arrived"), elapsed("resolved")
    resolved = np.where(np.isnan(resolved), np.inf, resolved)
    # A crew counts from the first step that starts after it arrives until it leaves.
    on_site = ((arrived[None, :] <= t[:, None]) & (t[:, None] < resolved[None, :])).sum(1)
    np.testing.assert_allclose(run.coupled.staff[:, q], 3.0 * on_site)
    others = np.delete(run.coupled.staff, q, axis=1)
    assert not others.any()


def test_staff_shorten_the_exit_queues(event_run: RunResult) -> None:
    k = event_run.kpis.set_index("kpi")["value"]
    assert k["crowd_staff_hours"] > 0
    assert k["crowd_max_exit_queue"] < k["crowd_max_exit_queue_without_staff"]
    run = event_run.crowds
    assert run is not None
    # The same demand: everyone who arrived is counted in both runs.
    np.testing.assert_allclose(run.coupled.arrivals, run.baseline.arrivals)
    effect = run.effect.loc[("plaza-wulin-square", "max_exit_queue")]
    assert effect["change"] < 0


def test_results_carry_the_crowds(event_run: RunResult, tmp_path: Path) -> None:
    ds = event_run.dataset
    assert ds["crowd_density"].dims == ("crowd_time", "plaza")
    assert ds.sizes["crowd_time"] == 6 * 60
    assert float(ds["crowd_density"].max()) > 1.076
    paths = write_run(event_run, tmp_path)
    assert paths["crowd_alerts"].exists() and paths["crowd_effect"].exists()
    html = paths["summary"].read_text(encoding="utf-8")
    assert "Crowds at plazas" in html and "twin-crowds" in html


def test_same_seed_same_evening(event_run: RunResult) -> None:
    again = run_scenario(_short())
    assert again.crowds is not None and event_run.crowds is not None
    np.testing.assert_array_equal(again.crowds.coupled.density, event_run.crowds.coupled.density)
    assert again.kpis.equals(event_run.kpis)


def test_raised_cases_leave_other_draws_unchanged() -> None:
    with_crowds = prepare(_short())
    without = prepare(_short(**{"crowds.enabled": False}))
    assert len(with_crowds.cases) == len(without.cases)
    np.testing.assert_array_equal(with_crowds.dispatch_time, without.dispatch_time)
    n = len(with_crowds.cases)
    new = with_crowds.cases.select(np.arange(n) < 2)
    shifted = CaseStream(**{**new.__dict__, "report_time": new.report_time + 60.0})
    idx = with_crowds.raise_cases(shifted)
    np.testing.assert_array_equal(idx, [n, n + 1])
    assert len(with_crowds.cases) == n + 2
    np.testing.assert_array_equal(with_crowds.dispatch_time[:n], without.dispatch_time)
    assert with_crowds.stamp["closed"].shape == (n + 2,)
    assert with_crowds.case_skill.shape == (n + 2,)


def test_no_plazas_layer_is_a_clear_error(gongshu: object) -> None:
    depots = str(data_dir() / "layers" / "depots.geojson")
    with pytest.raises(ScenarioError, match="no plazas layer"):
        prepare(_short(**{"crews.depots": depots}), network=gongshu)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("crowds.response.category", "no_such_thing", "not a case category"),
        ("crowds.response.source", "pigeon", "not a case source"),
        ("crews.skills", {"maintenance": 1.0}, "enforcement"),
        ("crowds.alerts.every", 90.0, "whole number of crowd steps"),
    ],
)
def test_bad_response_settings(field: str, value: object, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        prepare(_short(**{field: value}))


def test_crowds_off_by_default() -> None:
    base = load_scenario(SCENARIO.parent / "gongshu_baseline_day.yaml")
    assert not base.crowds.enabled
    sim = prepare(base.with_updates(horizon=600.0))
    assert sim.models == []
