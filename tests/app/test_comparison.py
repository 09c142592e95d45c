"""The comparison page's numbers: bounds, formats, better or worse, differing inputs."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from dash_app.comparison import (
    better,
    bounds,
    clip_interval,
    fmt_interval,
    fmt_number,
    rain_summary,
    run_label,
    scenario_differences,
    with_share_closed,
)
from twin.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_counts_are_whole_numbers_with_separators_never_exponents() -> None:
    assert fmt_number(1480.33, "cases") == "1,480"
    assert fmt_number(1480.33, "cases", signed=True) == "+1,480"
    assert fmt_number(3.0, "escalations") == "3"
    assert fmt_number(2.5, "escalations") == "2.5"  # a mean count below 10
    assert fmt_number(89.6, "cases") == "90"
    assert fmt_number(1234.5, "min") == "1,234"
    assert fmt_number(6.8234, "min") == "6.82" and fmt_number(17.66, "min") == "17.7"
    assert fmt_number(1.5, "min", signed=True) == "+1.5"
    assert fmt_number(math.nan, "min") == "–"
    for value in (1480.33, 12345.6, 0.000123, 98765432.0):
        for unit in ("cases", "min", "m"):
            assert "e" not in fmt_number(value, unit)


def test_no_interval_below_zero_for_what_cannot_be_negative() -> None:
    # the example: a Student-t interval of a mean time reaching below zero
    assert fmt_interval(6.82, -4.07, 17.7, "min") == "6.82 [0*, 17.7] min"
    assert fmt_interval(0.95, 0.85, 1.05, "-") == "95 [85, 100*] %"
    # a difference may be negative; a difference of shares stays within ±100 pp
    assert fmt_interval(0.02, -0.05, 0.09, "-", difference=True) == "+2 [-5, +9] pp"
    assert fmt_interval(-3.0, -5.0, -1.0, "min", difference=True) == "-3 [-5, -1] min"
    assert bounds("cases") == (0.0, math.inf) and bounds("-") == (0.0, 1.0)
    assert bounds("min", difference=True) == (-math.inf, math.inf)
    assert clip_interval(-1.0, 2.0, (0.0, math.inf)) == (0.0, 2.0, True, False)
    assert clip_interval(1.0, 2.0, (0.0, math.inf)) == (1.0, 2.0, False, False)


def test_better_or_worse_per_kpi() -> None:
    assert better("share_arrive_within_target") == 1
    assert better("share_closed") == 1
    assert better("time_to_arrive_mean") == -1 and better("escalations") == -1
    # a count of cases closed grows with the cases reported: neither better nor worse
    assert better("cases_closed") == 0 and better("cases_reported") == 0
    assert better("crew_utilisation") == 0


def test_share_closed_is_added_after_cases_closed() -> None:
    kpis = pd.DataFrame(
        [("cases_reported", 200.0, "cases", ""), ("cases_closed", 150.0, "cases", ""),
         ("mean_backlog", 4.0, "cases", "")],
        columns=["kpi", "value", "unit", "description"],
    )  # fmt: skip
    out = with_share_closed(kpis)
    assert list(out["kpi"]) == ["cases_reported", "cases_closed", "share_closed", "mean_backlog"]
    assert out.set_index("kpi").loc["share_closed", "value"] == pytest.approx(0.75)
    assert with_share_closed(out).equals(out)


def test_run_names_say_the_rain_and_the_inputs_that_differ() -> None:
    dry = load_scenario(SCENARIOS / "gongshu_baseline_day.yaml")
    wet = load_scenario(SCENARIOS / "gongshu_rainstorm.yaml")
    assert rain_summary(dry) == "dry"
    assert rain_summary(wet).startswith("10-year design storm 2 h") and "from 8 h" in rain_summary(
        wet
    )
    later = wet.with_updates(**{"rain.start": "15min"})
    assert rain_summary(later).endswith("from 15 min")
    assert run_label(3, later).replace("15 min", "8 h") == run_label(3, wet)
    assert "from 15 min" in run_label(3, later) and run_label(3, later).startswith("#3 ")
    differ = dict((p, (a, b)) for p, a, b in scenario_differences(wet, later))
    assert differ == {"rain.start": ("28800", "900")}
    assert scenario_differences(wet, wet) == []
    policy = dry.with_updates(**{"dispatch.policy": "fixed_zones"})
    assert ("dispatch.policy", "nearest_idle", "fixed_zones") in scenario_differences(dry, policy)
