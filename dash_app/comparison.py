"""The numbers of the comparison page: which way is better, bounds, formats, what differs.

Everything here is plain Python on KPI tables and scenarios (no Dash), so that the page
(:mod:`dash_app.pages.compare`) only lays it out.

Intervals: the comparison's intervals are Student-t intervals over the replications
(:func:`twin.run.compare.summarise`). With a handful of replications a t interval of a
quantity that cannot be negative (a time, a count) may reach below zero, and one of a
share above 100 %. Such intervals are **clipped** to the quantity's range
(:func:`bounds`): the part cut off holds no possible value, and the rest is the t
interval unchanged. A clipped end is marked (:data:`CLIPPED`) and the page says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from twin.report.page import fmt_duration
from twin.scenario import Scenario

__all__ = [
    "CLIPPED",
    "COUNT_UNITS",
    "better",
    "bounds",
    "clip_interval",
    "fmt_interval",
    "fmt_number",
    "rain_summary",
    "run_label",
    "scenario_differences",
    "unit_label",
    "with_share_closed",
]

#: Units whose KPIs count things (shown as whole numbers with thousands separators).
COUNT_UNITS = frozenset(
    {
        "cases",
        "crews",
        "escalations",
        "jobs",
        "points",
        "trips",
        "trucks",
        "reroutes",
        "alerts",
        "episodes",
        "violations",
        "detected",
        "traced",
    }
)
#: Marks an interval end clipped at the bound of a quantity (see the module's notes).
CLIPPED = "*"

_LOWER_IS_BETTER = (
    "time_to_",
    "backlog",
    "escalations",
    "cases_open_at_end",
    "travel_time",
    "road_closure",
    "reroutes",
    "preemptions",
    "crowd_minutes",
    "crowd_max_exit_queue",
)
# Not ``cases_closed``: more cases closed says nothing good when more were reported (a
# busier run closes more and a smaller share); ``share_closed`` says it.
_HIGHER_IS_BETTER = ("share_",)


def better(kpi: str) -> int:
    """+1 when more of a KPI is better, −1 when less is, 0 when neither (counts of work)."""
    if kpi.startswith(_HIGHER_IS_BETTER):
        return 1
    if any(part in kpi for part in _LOWER_IS_BETTER):
        return -1
    return 0


def with_share_closed(kpis: pd.DataFrame) -> pd.DataFrame:
    """The KPI table with ``share_closed`` (cases closed / cases reported [-]) added.

    Added after ``cases_closed``; the table is returned unchanged when it has no case
    counts or already has the share.
    """
    names = list(kpis["kpi"])
    if "share_closed" in names or not {"cases_closed", "cases_reported"} <= set(names):
        return kpis
    value = kpis.set_index("kpi")["value"]
    reported = float(value["cases_reported"])
    share = float(value["cases_closed"]) / reported if reported > 0 else math.nan
    row = pd.DataFrame(
        [("share_closed", share, "-", "share of the cases reported that were closed")],
        columns=["kpi", "value", "unit", "description"],
    )
    at = names.index("cases_closed") + 1
    cols = ["kpi", "value", "unit", "description"]
    return pd.concat([kpis[cols].iloc[:at], row, kpis[cols].iloc[at:]], ignore_index=True)


def bounds(unit: str, *, difference: bool = False) -> tuple[float, float]:
    """The range a KPI of this unit can take (of a difference B − A: ``difference``).

    Every KPI of a run is a time, a count, a depth or a share, so none is negative;
    shares are at most 1. A difference of shares lies in [−1, 1], any other difference
    is unbounded.
    """
    if unit == "-":
        return (-1.0, 1.0) if difference else (0.0, 1.0)
    return (-math.inf, math.inf) if difference else (0.0, math.inf)


def clip_interval(
    lo: float, hi: float, limits: tuple[float, float]
) -> tuple[float, float, bool, bool]:
    """``lo, hi`` clipped to ``limits``, and whether each end was clipped."""
    low, high = limits
    lo_cut = math.isfinite(lo) and lo < low
    hi_cut = math.isfinite(hi) and hi > high
    return (low if lo_cut else lo), (high if hi_cut else hi), lo_cut, hi_cut


def fmt_number(value: float, unit: str = "", *, signed: bool = False) -> str:
    """A number without exponent: counts whole with thousands separators, else 3 digits.

    Counts (:data:`COUNT_UNITS`) are whole numbers (``1,480``, ``90``); a mean count
    below 10 keeps one decimal when it has one (``2.5``). Other values keep three significant
    digits in fixed notation, trailing zeros dropped (``6.82``, ``17.7``, ``1.5``,
    ``1,234``). Shares are not scaled here.
    """
    if not math.isfinite(value):
        return "–"
    sign = "+" if signed else ""
    if unit in COUNT_UNITS:
        if abs(value) >= 10 or float(round(value, 1)).is_integer():
            return f"{value:{sign},.0f}"
        return f"{value:{sign},.1f}"
    if value == 0:
        return f"{0.0:{sign}.0f}"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    text = f"{value:{sign},.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def unit_label(unit: str, *, difference: bool = False) -> str:
    """The unit as shown: shares in % (differences of shares in percentage points)."""
    if unit == "-":
        return "pp" if difference else "%"
    return unit


def fmt_interval(mean: float, lo: float, hi: float, unit: str, *, difference: bool = False) -> str:
    """``mean [lo, hi] unit``, clipped to the quantity's :func:`bounds`, ends marked."""
    if not math.isfinite(mean):
        return "–"
    scale = 100.0 if unit == "-" else 1.0
    text = fmt_number(mean * scale, unit, signed=difference)
    if math.isfinite(lo) and math.isfinite(hi):
        lo, hi, lo_cut, hi_cut = clip_interval(lo, hi, bounds(unit, difference=difference))
        a = fmt_number(lo * scale, unit, signed=difference) + (CLIPPED if lo_cut else "")
        b = fmt_number(hi * scale, unit, signed=difference) + (CLIPPED if hi_cut else "")
        text += f" [{a}, {b}]"
    return f"{text} {unit_label(unit, difference=difference)}".strip()


# ---------------------------------------------------------------------------- inputs
def rain_summary(scenario: Scenario) -> str:
    """The rain of a scenario in a few words (``dry`` without rain)."""
    rain = scenario.rain
    if rain.kind == "none":
        return "dry"
    start = f"from {fmt_duration(rain.start)}"
    if rain.kind == "design_storm":
        ds = rain.design_storm
        what = f"{ds.return_period:g}-year design storm {fmt_duration(ds.duration)}"
    elif rain.kind == "event":
        what = f"storm {rain.event}"
    elif rain.kind == "radar":
        what = f"radar {rain.radar.event if rain.radar is not None else '?'}"
    else:
        what = f"rain file {rain.file}"
    scaled = f" ×{rain.scale:g}" if rain.scale != 1.0 else ""
    return f"{what}{scaled} {start}"


def run_label(n: int, scenario: Scenario) -> str:
    """A run's name in the menus: number, scenario, policy, crews, rain and seed."""
    return (
        f"#{n} {scenario.name} · {scenario.dispatch.policy} · {scenario.crews.count} crews"
        f" · {rain_summary(scenario)} · seed {scenario.seed}"
    )


def _flat(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, sub in value.items():
            yield from _flat(sub, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def scenario_differences(a: Scenario, b: Scenario) -> list[tuple[str, str, str]]:
    """The inputs that differ between two scenarios: ``(dotted path, A's, B's)``.

    Values as YAML would write them; the description is left out (it changes nothing).
    """
    fa = dict(_flat(a.model_dump(mode="json")))
    fb = dict(_flat(b.model_dump(mode="json")))
    out = []
    for path in dict.fromkeys([*fa, *fb]):
        if path == "description":
            continue
        va, vb = fa.get(path), fb.get(path)
        if va != vb:
            out.append((path, _show(va), _show(vb)))
    return out


def _show(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
