"""A run's cost told before it starts; long horizons warned about, refused unless forced."""

from __future__ import annotations

import pytest

from twin.errors import ArgumentError
from twin.run.estimate import MAX_HORIZON, check_horizon, estimate_run
from twin.scenario import Scenario, validate_scenario

PLENTY = 1e12  # bytes of memory available


def scenario(horizon: str, **extra: object) -> Scenario:
    return validate_scenario(
        {"name": "x", "start": "2026-06-01", "horizon": horizon, "record_interval": "5min",
         "crews": {"count": 150}, "cases": {"daily_total": 1500}, **extra}
    )  # fmt: skip


def test_estimate_counts() -> None:
    est = estimate_run(scenario("1d"))
    assert est.records == 289 and est.crews == 150 and est.cases == 1500
    ten_years = estimate_run(scenario("3650d"))
    assert ten_years.cases == 1500 * 3650
    # Memory grows with record times × crews and with cases: far beyond a day's.
    assert ten_years.memory_bytes > 1000 * (est.memory_bytes - 450e6)
    assert "GB of memory" in ten_years.describe()


def test_replayed_cases_are_not_estimated() -> None:
    s = scenario("1d", cases={"replay": {"path": "a.csv"}})
    assert estimate_run(s).cases == 0


def test_short_horizon_is_quiet() -> None:
    assert check_horizon(scenario("2d"), available=PLENTY) is None


def test_long_horizon_warns_with_the_estimate() -> None:
    warning = check_horizon(scenario("60d"), available=PLENTY)
    assert warning is not None
    assert "60 days" in warning and "90,000 cases" in warning and "of memory" in warning


def test_ten_years_refused_unless_forced() -> None:
    ten = scenario("3650d")
    with pytest.raises(ArgumentError, match=r"3,650 days is over the limit of 366 days.*--force"):
        check_horizon(ten, available=PLENTY, where="x.yaml: horizon")
    assert ten.horizon > MAX_HORIZON
    warning = check_horizon(ten, force=True, available=PLENTY)
    assert warning is not None and "3,650 days" in warning


def test_refused_when_memory_is_short() -> None:
    s = scenario("30d")
    with pytest.raises(ArgumentError, match=r"more than the 100 MB of memory available"):
        check_horizon(s, available=100e6)
    assert check_horizon(s, force=True, available=100e6) is not None


def test_available_memory_is_plausible() -> None:
    from twin.run.estimate import available_memory

    mem = available_memory()
    assert mem is None or 1e7 < mem < 1e15
