"""The engine on the real Gongshu network: the six-stage loop, crews, shifts, escalation."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from twin.run.folder import write_run
from twin.run.results import RunResult
from twin.run.runner import prepare, run_scenario
from twin.scenario import Scenario, load_scenario
from twin.sim.fleet import Status

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "gongshu_baseline_day.yaml"
STAGE_ORDER = ["reported", "filed", "dispatched", "arrived", "resolved", "verified", "closed"]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(BASELINE)


@pytest.fixture(scope="module")
def day(scenario: Scenario) -> RunResult:
    return run_scenario(scenario)


def test_baseline_day_scale(day: RunResult) -> None:
    # About 1,500 cases a day (Poisson), 150 crews.
    assert 1350 <= len(day.cases) <= 1650
    assert day.dataset.sizes["agent"] == 150
    assert day.kpi("cases_closed") >= 0.95 * len(day.cases)
    assert 0.05 < day.kpi("crew_utilisation") < 0.9


def test_same_seed_identical_outputs(scenario: Scenario, day: RunResult) -> None:
    again = run_scenario(scenario)
    pd.testing.assert_frame_equal(day.cases, again.cases)
    pd.testing.assert_frame_equal(day.kpis, again.kpis)
    xr.testing.assert_identical(day.dataset, again.dataset)


def test_other_seed_differs(scenario: Scenario, day: RunResult) -> None:
    other = run_scenario(scenario.with_updates(seed=scenario.seed + 1, horizon=6 * 3600))
    n = min(len(other.cases), 50)
    assert not np.array_equal(day.cases["node"][:n], other.cases["node"][:n])


def test_stages_in_order(day: RunResult) -> None:
    done = day.cases.dropna(subset=["closed"])
    assert len(done) > 1000
    for a, b in itertools.pairwise(STAGE_ORDER):
        assert (done[b] >= done[a]).all(), f"{b} before {a}"


def test_durations_respected(day: RunResult) -> None:
    c = day.cases.dropna(subset=["resolved"])
    c = c[c["preemptions"] == 0]
    on_site = (c["resolved"] - c["arrived"]).dt.total_seconds()
    np.testing.assert_allclose(on_site, c["work_time_s"], rtol=1e-9, atol=1e-6)
    travel = (c["arrived"] - c["dispatched"]).dt.total_seconds()
    np.testing.assert_allclose(travel, c["travel_time_s"], rtol=1e-9, atol=1e-6)


def test_travel_is_the_network_route_at_that_hour(scenario: Scenario) -> None:
    sim = prepare(scenario.with_updates(horizon=4 * 3600))
    starts: dict[int, tuple[int, float]] = {}
    original = sim.move

    def spy(crew: int, target: int, status: Status) -> float:
        origin = int(sim.fleet.node[crew])
        hour = sim.hour()
        took = original(crew, target, status)
        if status == Status.TRAVEL and origin != target:
            expect = sim.net.shortest_path(origin, target, when=hour, by_position=True).travel_time
            assert took == pytest.approx(expect, rel=1e-9)
            starts[crew] = (target, took)
        return took

    sim.move = spy  # type: ignore[method-assign]
    sim.run()
    assert len(starts) > 20


def test_one_case_per_crew_and_skills_match(day: RunResult) -> None:
    c = day.cases.dropna(subset=["resolved"])
    skills = day.dataset["crew_skill"].to_numpy()
    assert (skills[c["crew"].to_numpy()] == c["skill"].to_numpy()).all()
    for _, g in c[c["preemptions"] == 0].groupby("crew"):
        g = g.sort_values("dispatched")
        assert (g["dispatched"].to_numpy()[1:] >= g["resolved"].to_numpy()[:-1]).all()


def test_shifts_put_the_right_crews_on_duty(day: RunResult) -> None:
    ds = day.dataset
    local = pd.DatetimeIndex(ds["time"].to_numpy()).tz_localize("UTC").tz_convert("Asia/Shanghai")
    on = (ds["crew_status"] != Status.OFF).sum("agent").to_numpy()
    shift = ds["crew_shift"].to_numpy()
    at3 = np.flatnonzero(local.hour == 3)[0]
    at12 = np.flatnonzero(local.hour == 12)[0]
    assert on[at3] == (shift == "night").sum()
    assert on[at12] == (shift == "day").sum()
    # A crew only starts a case while its shift is on (day 07-19, night 19-07).
    c = day.cases.dropna(subset=["dispatched"])
    hour = c["dispatched"].dt.tz_convert("Asia/Shanghai").dt.hour.to_numpy()
    crew_shift = shift[c["crew"].to_numpy()]
    in_day = (hour >= 7) & (hour < 19)
    assert (in_day[crew_shift == "day"]).all()
    assert (~in_day[crew_shift == "night"]).all()


def test_busy_within_duty(day: RunResult) -> None:
    busy = day.dataset["crew_busy_time"].to_numpy()
    duty = day.dataset["crew_duty_time"].to_numpy()
    assert (busy <= duty + 1e-6).all()
    assert busy.sum() > 0


def test_escalations_follow_deadlines(day: RunResult, scenario: Scenario) -> None:
    esc = day.escalations
    assert len(esc) == day.kpi("escalations")
    cases = day.cases.set_index("case")
    levels = scenario.escalation.levels
    for _, row in esc.iterrows():
        case = cases.loc[row["case"]]
        report_s = (case["reported"] - pd.Timestamp(scenario.start)).total_seconds()
        due = report_s + levels[row["level"] - 1] * case["deadline_s"]
        assert row["elapsed_s"] == pytest.approx(due)
        assert pd.isna(case["closed"]) or case["closed"] > row["time"]
    # A case escalates level by level: its final level equals its number of escalations.
    counts = esc.groupby("case").size()
    assert (cases.loc[counts.index, "escalation_level"] == counts).all()


def test_positions_on_the_network(day: RunResult) -> None:
    ds = day.dataset
    lon, lat = ds["crew_lon"].to_numpy(), ds["crew_lat"].to_numpy()
    assert np.isfinite(lon).all() and np.isfinite(lat).all()
    assert lon.min() > 120.05 and lon.max() < 120.25
    assert lat.min() > 30.24 and lat.max() < 30.38
    moving = ds["crew_status"].to_numpy() == Status.TRAVEL
    assert moving.sum() > 0


def test_backlog_series_matches_case_table(day: RunResult) -> None:
    ds = day.dataset
    t = pd.DatetimeIndex(ds["time"].to_numpy()).tz_localize("UTC")
    rep = day.cases["reported"].dt.tz_convert("UTC").to_numpy()
    closed = day.cases["closed"].dt.tz_convert("UTC").to_numpy()
    expect = [int(((rep <= x) & ((closed > x) | pd.isna(closed))).sum()) for x in t.to_numpy()]
    got = ds["backlog"].to_numpy()
    # Events at exactly a record time may fall either side of it.
    assert np.abs(got - np.array(expect)).max() <= 3


def test_write_round_trip(day: RunResult, tmp_path: Path) -> None:
    paths = write_run(day, tmp_path, report=False)
    for p in paths.values():
        assert p.exists() and p.stat().st_size > 0
    back = xr.open_dataset(paths["dataset"])
    np.testing.assert_array_equal(back["backlog"].to_numpy(), day.dataset["backlog"].to_numpy())
    assert back.attrs["scenario"] == "gongshu_baseline_day"
    back.close()
    cases = pd.read_parquet(paths["cases"])
    assert len(cases) == len(day.cases)
    kpis = pd.read_csv(paths["kpis_csv"])
    assert list(kpis.columns) == ["kpi", "value", "unit", "description"]
