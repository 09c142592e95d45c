"""Page 3b, two runs side by side: differences, and confidence intervals by replication.

Two finished runs A and B are shown side by side: every KPI of each, the difference
B − A, and their open cases and busy crews over time. One run of each says nothing about
noise, so *Run replications* runs both scenarios again over ``n`` common-random-number
seeds (A's seed, A's seed + 1, …; both variants use the same seed in each replication,
so they see the same random cases wherever their inputs agree) and shows, per KPI, the
mean with its Student-t confidence interval for A and B and the paired difference
B − A with its interval (:func:`twin.run.compare.summarise`, as ``twin compare``).
"""

from __future__ import annotations

import math
from typing import Any

import dash
import pandas as pd
from dash import Dash, Input, Output, State, dcc, html

from dash_app.comparison import (
    CLIPPED,
    better,
    fmt_interval,
    fmt_number,
    scenario_differences,
    unit_label,
    with_share_closed,
)
from dash_app.components import (
    GRAPH_CONFIG,
    added_values,
    choice,
    labelled,
    page_header,
    same_values,
)
from dash_app.context import AppContext
from dash_app.figures import compare_series_figure, difference_figure
from dash_app.jobs import Job
from dash_app.kpis import fmt_kpi
from dash_app.progress import job_stores, progress_bar, queue_outputs, queued, register_progress

__all__ = [
    "KEY_KPIS",
    "PATH",
    "TITLE",
    "better",
    "ci_table",
    "inputs_table",
    "layout",
    "register",
    "side_table",
]

PATH = "/compare"
TITLE = "Compare runs"
#: KPIs drawn in the difference plot, top to bottom (grouped by unit there).
KEY_KPIS: tuple[str, ...] = (
    "share_dispatch_within_target",
    "share_arrive_within_target",
    "share_resolve_within_target",
    "share_closed",
    "crew_utilisation",
    "time_to_arrive_mean",
    "time_to_resolve_mean",
    "travel_time_mean",
    "mean_backlog",
    "escalations",
)


def _diff_class(kpi: str, diff: float, significant: bool = True) -> str:
    if not math.isfinite(diff) or diff == 0 or not significant:
        return "num"
    sign = better(kpi) * (1 if diff > 0 else -1)
    return "num better" if sign > 0 else "num worse" if sign < 0 else "num"


def side_table(a: Job, b: Job) -> html.Table:
    """Every KPI of runs A and B, the difference B − A and the relative change.

    ``share_closed`` (cases closed / reported) is added after ``cases_closed``: a count
    of cases closed is neither better nor worse when the number reported differs.
    """
    assert a.result is not None and b.result is not None
    ka = with_share_closed(a.result.kpis).set_index("kpi")
    kb = with_share_closed(b.result.kpis).set_index("kpi")
    names = list(dict.fromkeys([*ka.index, *kb.index]))
    rows = []
    for name in names:
        unit = str(ka["unit"].get(name, kb["unit"].get(name, "")))
        va = float(ka["value"].get(name, math.nan))
        vb = float(kb["value"].get(name, math.nan))
        d = vb - va
        rel = (
            f"{100 * d / abs(va):+.1f} %"
            if math.isfinite(d) and va not in (0.0,) and math.isfinite(va)
            else "–"
        )
        scale = 100.0 if unit == "-" else 1.0
        shown = (
            "–"
            if not math.isfinite(d)
            else f"{fmt_number(d * scale, unit, signed=True)} "
            f"{unit_label(unit, difference=True)}".strip()
        )
        rows.append(
            html.Tr(
                [
                    html.Td(html.Code(name)),
                    html.Td(fmt_kpi(va, unit), className="num"),
                    html.Td(fmt_kpi(vb, unit), className="num"),
                    html.Td(shown, className=_diff_class(name, d)),
                    html.Td(rel, className="num"),
                ]
            )
        )
    head = html.Thead(
        html.Tr([html.Th("KPI"), html.Th("A"), html.Th("B"), html.Th("B − A"), html.Th("change")])
    )
    return html.Table([head, html.Tbody(rows)], className="table", id="compare-side-table")


def inputs_table(a: Job, b: Job) -> html.Div:
    """The scenario inputs that differ between runs A and B (``compare-inputs``)."""
    differ = scenario_differences(a.scenario, b.scenario)
    if not differ:
        body: Any = html.Div(
            "A and B ran the same inputs (only the random cases can differ).", className="muted"
        )
    else:
        rows = [
            html.Tr([html.Td(html.Code(path)), html.Td(va), html.Td(vb)]) for path, va, vb in differ
        ]
        body = html.Table(
            [html.Thead(html.Tr([html.Th("input"), html.Th("A"), html.Th("B")])),
             html.Tbody(rows)],
            className="table",
        )  # fmt: skip
    n = len(differ)
    return html.Div(
        [html.H2(f"Inputs that differ ({n})"), body], className="panel", id="compare-inputs"
    )


def ci_table(
    summary: pd.DataFrame, units: dict[str, str], labels: tuple[str, str], confidence: float
) -> html.Table:
    """Means with intervals for A and B, and the paired difference B − A with its interval.

    Intervals are clipped to what a KPI can be (:func:`dash_app.comparison.bounds`); a
    clipped end is marked with :data:`~dash_app.comparison.CLIPPED`.
    """
    a_label, b_label = labels
    pct = round(100 * confidence)
    rows = []
    for kpi, block in summary.groupby("kpi", sort=False):
        by = block.set_index("policy")
        if a_label not in by.index or b_label not in by.index:
            continue
        unit = units.get(str(kpi), "")
        cols = ["mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high"]
        arr = by.loc[[a_label, b_label], cols].to_numpy(dtype=float)
        v = {
            (p, c): float(arr[i, j])
            for i, p in enumerate((a_label, b_label))
            for j, c in enumerate(cols)
        }
        d, lo, hi = v[b_label, "diff"], v[b_label, "diff_low"], v[b_label, "diff_high"]
        significant = math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0)
        cells = [
            fmt_interval(v[p, "mean"], v[p, "ci_low"], v[p, "ci_high"], unit)
            for p in (a_label, b_label)
        ]
        rows.append(
            html.Tr(
                [
                    html.Td(html.Code(str(kpi))),
                    *[html.Td(c, className="num") for c in cells],
                    html.Td(
                        fmt_interval(d, lo, hi, unit, difference=True),
                        className=_diff_class(str(kpi), d, significant),
                    ),
                ]
            )
        )
    head = html.Thead(
        html.Tr(
            [
                html.Th("KPI"),
                html.Th(f"A: mean [{pct}% CI]"),
                html.Th(f"B: mean [{pct}% CI]"),
                html.Th(f"B − A paired [{pct}% CI]"),
            ]
        )
    )
    return html.Table([head, html.Tbody(rows)], className="table", id="compare-ci-table")


#: Under the table of intervals: how they were made.
CI_NOTE = (
    "Student-t intervals over the replications. A quantity that cannot be negative (times, "
    "counts) or above 100 % (shares) has its interval clipped at that bound; a clipped "
    f"end is marked {CLIPPED}. Green: better for that KPI, red: worse (only when the "
    "interval of the difference excludes 0); black: neither better nor worse (e.g. "
    "cases_closed, which grows with the cases reported: see share_closed)."
)


def layout(ctx: AppContext) -> html.Div:
    """The comparison page."""
    return html.Div(
        [
            *page_header(
                TITLE,
                "Two runs side by side, with the difference of every KPI; then both "
                "scenarios replicated over common random numbers for confidence intervals.",
            ),
            *job_stores("compare"),
            html.Div(
                [
                    labelled(
                        "Run A (baseline)",
                        dcc.Dropdown(id="compare-a", options=[], clearable=False),
                        kind="grow",
                    ),
                    labelled(
                        "Run B",
                        dcc.Dropdown(id="compare-b", options=[], clearable=False),
                        kind="grow",
                    ),
                ],
                className="panel row",
            ),
            html.Div(id="compare-body"),
            html.Div(
                [
                    html.H2("Confidence intervals by replication"),
                    html.Div(
                        [
                            labelled(
                                "Replications",
                                dcc.Input(
                                    id="compare-n",
                                    type="number",
                                    value=3,
                                    min=2,
                                    max=30,
                                    step=1,
                                    className="text-input",
                                ),
                            ),
                            labelled(
                                "Confidence",
                                choice(
                                    "compare-confidence",
                                    [(c, f"{c:.0%}") for c in (0.9, 0.95, 0.99)],
                                    0.95,
                                ),
                                min_width="8rem",
                            ),
                            html.Button(
                                "Run replications", id="compare-run", n_clicks=0, className="btn"
                            ),
                        ],
                        className="row",
                    ),
                    *progress_bar("compare"),
                    html.Div(id="compare-ci"),
                ],
                className="panel",
            ),
        ]
    )


def register(app: Dash, ctx: AppContext) -> None:
    """Register the comparison page's callbacks on ``app``."""

    @app.callback(
        Output("compare-a", "options"),
        Output("compare-b", "options"),
        Output("compare-a", "value"),
        Output("compare-b", "value"),
        Input("runs-version", "data"),
        State("compare-a", "value"),
        State("compare-b", "value"),
        State("compare-a", "options"),
    )
    def runs(
        _: Any, a: str | None, b: str | None, old: list[dict[str, Any]] | None
    ) -> tuple[Any, ...]:
        options = ctx.run_options()
        if same_values(old, options):
            raise dash.exceptions.PreventUpdate
        values = [o["value"] for o in options]  # newest first
        new = added_values(old, options)
        if new:  # the newest run becomes B, and the run that was B becomes A
            if b in values and b != new[0]:
                a = b
            b = new[0]
        if b not in values:
            b = values[0] if values else None
        if a not in values or a == b:
            a = next((v for v in values if v != b), b)
        return options, options, a, b

    @app.callback(
        Output("compare-body", "children"),
        Input("compare-a", "value"),
        Input("compare-b", "value"),
    )
    def show(a_id: str | None, b_id: str | None) -> Any:
        a, b = ctx.runner.get(a_id), ctx.runner.get(b_id)
        if a is None or b is None or a.result is None or b.result is None:
            return html.Div(
                [
                    "Two finished runs are needed. ",
                    dcc.Link("Run scenarios in the builder", href="/builder"),
                    ".",
                ],
                className="empty panel",
            )
        note = (
            html.Div(
                "A and B are the same run: pick another run for B.", className="alert alert-info"
            )
            if a.id == b.id
            else None
        )
        labels = (f"A {a.label}", f"B {b.label}")
        return [
            note,
            html.Div(
                [
                    html.H2("Side by side"),
                    html.Div(
                        [
                            html.Div(labels[0], className="muted"),
                            html.Div(labels[1], className="muted"),
                        ]
                    ),
                    side_table(a, b),
                ],
                className="panel",
            ),
            inputs_table(a, b),
            html.Div(
                [
                    html.H2("Over time"),
                    dcc.Graph(
                        figure=compare_series_figure(a.result, b.result, ("A", "B")),
                        config=GRAPH_CONFIG,
                    ),
                ],
                className="panel",
            ),
        ]

    @app.callback(
        *queue_outputs("compare"),
        Input("compare-run", "n_clicks"),
        State("compare-a", "value"),
        State("compare-b", "value"),
        State("compare-n", "value"),
        State("compare-confidence", "value"),
        prevent_initial_call=True,
    )
    def replicate(
        n_clicks: int, a_id: str | None, b_id: str | None, n: Any, confidence: float | None
    ) -> tuple[Any, Any]:
        if not n_clicks:
            raise dash.exceptions.PreventUpdate
        a, b = ctx.runner.get(a_id), ctx.runner.get(b_id)
        if a is None or b is None:
            return dash.no_update, html.Span(
                "Pick two finished runs first.", className="field-error"
            )
        if not isinstance(n, int | float) or int(n) != n or not 2 <= n <= 30:
            return dash.no_update, html.Span(
                "Replications: give a whole number from 2 to 30.", className="field-error"
            )
        return queued(
            ctx.runner.submit_comparison(
                a, b, replications=int(n), confidence=float(confidence or 0.95)
            )
        )

    register_progress(
        app,
        ctx,
        "compare",
        failed="The replications failed: ",
        done=_intervals,
        outputs=[Output("compare-ci", "children")],
        on_failure=[None],
    )


def _intervals(job: Job) -> tuple[Any, Any]:
    """The status line of finished replications, and their intervals (plot and table)."""
    assert job.summary is not None and job.runs is not None
    labels = (job.variant_labels[0], job.variant_labels[1])
    body = [
        html.Div(
            f"A = {labels[0]}, B = {labels[1]}; seeds {job.scenario.seed} … "
            f"{job.scenario.seed + job.replications - 1}.",
            className="muted",
        ),
        dcc.Graph(
            figure=difference_figure(
                job.summary, KEY_KPIS, job.units, job.confidence, better=better
            ),
            config=GRAPH_CONFIG,
        ),
        ci_table(job.summary, job.units, labels, job.confidence),
        html.P(CI_NOTE, className="muted", id="compare-ci-note"),
    ]
    return f"Finished {job.label} in {job.wall_s or 0.0:.1f} s.", body
