"""KPI cards and KPI tables: a run's headline numbers as components.

Cards read only the tidy KPI table of a :class:`~twin.run.results.RunResult` (``kpi,
value, unit, description``); a KPI the run has not got (no rain, no crowds) is left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from dash import html

from twin.report.page import fmt_duration, fmt_minutes, fmt_number, fmt_share
from twin.run.report import kpi_value
from twin.run.results import RunResult

__all__ = [
    "Card",
    "fmt_kpi",
    "headline_cards",
    "kpi_cards",
    "kpi_table",
    "kpi_value",
]


def fmt_kpi(value: float, unit: str) -> str:
    """A KPI value with its unit: shares as percentages, minutes with two decimals.

    As the reports write them (:mod:`twin.report.page`), except that a value that is
    not a whole number keeps three significant digits here (the reports'
    :func:`~twin.report.page.fmt_number` keeps three decimals).
    """
    if unit == "-":
        return fmt_share(value)
    if unit == "min":
        return fmt_minutes(value)
    if not math.isfinite(value):
        return "–"
    if float(value).is_integer():
        return f"{fmt_number(value)} {unit}".strip()
    return f"{value:,.3g} {unit}".strip()


@dataclass(frozen=True)
class Card:
    """One KPI card: the value, a label and a line of detail."""

    key: str
    value: str
    label: str
    sub: str = ""

    def component(self) -> html.Div:
        """The card as a Dash component (``id`` = ``kpi-card-<key>``)."""
        return html.Div(
            [
                html.Div(self.value, className="kpi-value"),
                html.Div(self.label, className="kpi-label"),
                html.Div(self.sub, className="kpi-sub") if self.sub else None,
            ],
            className="kpi-card",
            id=f"kpi-card-{self.key}",
        )


def headline_cards(result: RunResult) -> list[Card]:
    """The headline KPIs of a run as cards (rain and crowd cards when the run has them)."""
    k = result.kpis
    tg = result.scenario.targets

    def v(name: str) -> float:
        return kpi_value(k, name)

    reported, closed = v("cases_reported"), v("cases_closed")
    share_closed = f"{fmt_share(closed / reported)} of reported" if reported > 0 else ""
    cards = [
        Card(
            "cases_reported",
            fmt_kpi(reported, ""),
            "cases reported",
            f"{fmt_kpi(v('cases_open_at_end'), '')} still open at the end",
        ),
        Card("cases_closed", fmt_kpi(closed, ""), "cases closed", share_closed),
    ]
    for stage, target in (
        ("dispatch", tg.dispatch),
        ("arrive", tg.arrive),
        ("resolve", tg.resolve),
    ):
        cards.append(
            Card(
                f"{stage}_within_target",
                fmt_kpi(v(f"share_{stage}_within_target"), "-"),
                f"{stage} within {fmt_duration(target)}",
                f"mean {fmt_kpi(v(f'time_to_{stage}_mean'), 'min')} · "
                f"p90 {fmt_kpi(v(f'time_to_{stage}_p90'), 'min')}",
            )
        )
    cards += [
        Card(
            "crew_utilisation",
            fmt_kpi(v("crew_utilisation"), "-"),
            "crew utilisation",
            "busy (travel + work) / on duty",
        ),
        Card(
            "mean_backlog",
            f"{v('mean_backlog'):.1f}",
            "mean backlog [cases]",
            f"max {fmt_kpi(v('max_backlog'), '')}",
        ),
        Card(
            "escalations",
            fmt_kpi(v("escalations"), ""),
            "escalations",
            " · ".join(
                f"L{i}: {fmt_kpi(v(f'escalations_level_{i}'), '')}"
                for i in range(1, len(result.scenario.escalation.levels) + 1)
            ),
        ),
    ]
    if math.isfinite(v("max_water_depth")):
        cards += [
            Card(
                "rain_depth",
                fmt_kpi(v("rain_depth"), "mm"),
                "rain fallen",
                f"deepest water {v('max_water_depth'):.2f} m",
            ),
            Card(
                "points_closed",
                fmt_kpi(v("points_closed"), ""),
                "low points closed",
                f"{fmt_kpi(v('points_impeded'), '')} impeded · "
                f"{v('road_closure_hours'):.1f} point-hours closed",
            ),
            Card(
                "reroutes",
                fmt_kpi(v("reroutes"), ""),
                "crews rerouted",
                f"{fmt_kpi(v('ponding_cases'), '')} ponding cases",
            ),
        ]
    if math.isfinite(v("crowd_alerts")):
        cards += [
            Card(
                "crowd_alerts",
                fmt_kpi(v("crowd_alerts"), ""),
                "crowd alerts",
                f"{fmt_kpi(v('crowd_cases'), '')} crowd-control cases",
            ),
            Card(
                "crowd_minutes_above_threshold",
                fmt_kpi(v("crowd_minutes_above_threshold"), ""),
                "plaza-minutes over the alert density",
                f"{fmt_kpi(v('crowd_minutes_above_threshold_without_staff'), '')} without staff",
            ),
        ]
    if math.isfinite(v("truck_trips_started")):
        cards += [
            Card(
                "truck_trips",
                fmt_kpi(v("truck_trips_delivered"), ""),
                "muck trips unloaded",
                f"of {fmt_kpi(v('truck_trips_started'), '')} started · "
                f"{fmt_kpi(v('truck_trips_dumped'), '')} dumped",
            ),
            Card(
                "truck_violations",
                fmt_kpi(v("truck_violations_detected"), ""),
                "truck violations detected",
                f"of {fmt_kpi(v('truck_violations_occurred'), '')} · "
                f"{fmt_kpi(v('truck_violations_traced'), '')} traced · "
                f"{fmt_kpi(v('truck_violation_cases'), '')} cases",
            ),
        ]
    return cards


def kpi_cards(result: RunResult) -> html.Div:
    """The headline cards of a run in a responsive grid."""
    return html.Div([c.component() for c in headline_cards(result)], className="kpi-grid")


def kpi_table(kpis: pd.DataFrame, **attrs: Any) -> html.Table:
    """Every KPI of a run as a table: name, value, unit, description."""
    rows = [
        html.Tr(
            [
                html.Td(html.Code(str(name))),
                html.Td(fmt_kpi(float(value), str(unit)), className="num"),
                html.Td("" if unit == "-" else str(unit)),
                html.Td(str(text)),
            ]
        )
        for name, value, unit, text in zip(
            kpis["kpi"], kpis["value"], kpis["unit"], kpis["description"], strict=True
        )
    ]
    head = html.Thead(html.Tr([html.Th(h) for h in ("KPI", "value", "unit", "description")]))
    return html.Table([head, html.Tbody(rows)], className="table", **attrs)
