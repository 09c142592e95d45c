"""Plotly figures of runs and comparisons for the app (no map; see :mod:`dash_app.basemap`).

Times on the x axes are local wall-clock times in the scenario's time zone; the
dataset's ``time`` is UTC (its ``local_timezone`` attribute names the zone).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from twin.run.report import (
    STATE_COLOURS,
    TARGET_COLOUR,
    clipped_histogram,
    local_times,
)
from twin.run.results import RunResult

__all__ = [
    "DIFF_COLOURS",
    "PALETTE",
    "compare_series_figure",
    "difference_figure",
    "empty_figure",
    "histogram_figure",
    "local_times",
    "series_figure",
]

#: Colours of run A and run B in comparisons.
PALETTE: tuple[str, str] = ("#1971c2", "#e8590c")
_MARGIN = {"t": 40, "b": 50, "l": 60, "r": 20}


def empty_figure(message: str, height: int = 300) -> go.Figure:
    """A blank figure that says why it is blank."""
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        showarrow=False,
        font={"size": 14, "color": "#868e96"},
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
    )
    fig.update_layout(
        height=height,
        template="plotly_white",
        xaxis={"visible": False},
        yaxis={"visible": False},
        margin=_MARGIN,
    )
    return fig


def series_figure(result: RunResult) -> go.Figure:
    """Open cases and crew states over local time."""
    ds = result.dataset
    x = local_times(result)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.1,
        subplot_titles=("open cases [cases]", "crews [crews]"),
    )

    def line(name: str, label: str, row: int, group: str, **style: Any) -> None:
        """The dataset's variable ``name`` over time, in panel ``row``, if the run has it."""
        if name in ds:
            fig.add_trace(
                go.Scatter(
                    x=x, y=ds[name].to_numpy(), name=label, mode="lines", legendgroup=group, **style
                ),
                row=row,
                col=1,
            )

    for name, label, colour in (
        ("backlog", "open cases (backlog)", "#1971c2"),
        ("waiting_dispatch", "waiting for dispatch", "#e8590c"),
        ("in_verification", "in verification", "#7048e8"),
    ):
        line(name, label, 1, "cases", line={"color": colour, "width": 1.6})
    for name, label in (
        ("working", "working"),
        ("travelling", "travelling"),
        ("idle", "idle / repositioning"),
    ):
        style = {"width": 0.5, "color": STATE_COLOURS[name]}
        line(name, label, 2, "crews", stackgroup="crews", line=style)
    line("on_duty", "on duty", 2, "crews", line={"color": "#212529", "width": 1, "dash": "dot"})
    tz = result.dataset.attrs.get("local_timezone") or result.scenario.timezone
    fig.update_xaxes(title_text=f"local time ({tz})", row=2, col=1)
    fig.update_layout(
        height=480,
        margin=_MARGIN,
        hovermode="x unified",
        template="plotly_white",
        legend={"orientation": "h", "y": -0.18},
    )
    return fig


_STAGES = (
    ("dispatch", "time_to_dispatch_s"),
    ("arrive", "time_to_arrive_s"),
    ("resolve", "time_to_resolve_s"),
)


def histogram_figure(result: RunResult) -> go.Figure:
    """Time from report to dispatch, arrival and resolution [min], with the targets."""
    cases = result.cases
    tg = result.scenario.targets
    targets = {"dispatch": tg.dispatch, "arrive": tg.arrive, "resolve": tg.resolve}
    fig = make_subplots(
        rows=1,
        cols=3,
        horizontal_spacing=0.07,
        subplot_titles=[f"time to {s} [min]" for s, _ in _STAGES],
    )
    for i, (stage, col) in enumerate(_STAGES, start=1):
        v = cases[col].to_numpy(dtype=float) / 60.0
        done = v[np.isfinite(v)]
        target = targets[stage] / 60.0
        upper = max(float(np.percentile(done, 99)) if done.size else 0.0, 1.5 * target)
        edges, counts = clipped_histogram(done, upper=upper, bins=30)
        fig.add_trace(
            go.Bar(
                x=0.5 * (edges[:-1] + edges[1:]),
                y=counts,
                width=float(edges[1] - edges[0]),
                marker={"color": "#4dabf7", "line": {"width": 0}},
                showlegend=False,
                name=stage,
                hovertemplate="%{x:.1f} min: %{y} cases<extra></extra>",
            ),
            row=1,
            col=i,
        )
        fig.add_vline(
            x=target,
            line={"color": TARGET_COLOUR, "width": 2, "dash": "dash"},
            annotation_text=f"target {target:g} min",
            annotation_font_color=TARGET_COLOUR,
            row=1,
            col=i,
        )
        fig.update_xaxes(
            title_text=f"min ({v.size - done.size} never got there)", range=[0, upper], row=1, col=i
        )
    fig.update_yaxes(title_text="cases", row=1, col=1)
    fig.update_layout(height=320, bargap=0, template="plotly_white", margin=_MARGIN)
    return fig


def compare_series_figure(a: RunResult, b: RunResult, labels: Sequence[str]) -> go.Figure:
    """Open cases and busy crews of two runs over time since their start [h]."""
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.08,
        subplot_titles=("open cases [cases]", "crews travelling or working [crews]"),
    )
    for result, label, colour in zip((a, b), labels, PALETTE, strict=False):
        ds = result.dataset
        hours = np.asarray(ds["elapsed"].to_numpy(), dtype=float) / 3600.0
        fig.add_trace(
            go.Scatter(
                x=hours,
                y=ds["backlog"].to_numpy(),
                name=label,
                mode="lines",
                legendgroup=label,
                line={"color": colour, "width": 1.8},
            ),
            row=1,
            col=1,
        )
        busy = ds["working"].to_numpy() + ds["travelling"].to_numpy()
        fig.add_trace(
            go.Scatter(
                x=hours,
                y=busy,
                name=label,
                mode="lines",
                showlegend=False,
                legendgroup=label,
                line={"color": colour, "width": 1.8},
            ),
            row=1,
            col=2,
        )
    fig.update_xaxes(title_text="hours since start [h]")
    fig.update_layout(
        height=340,
        template="plotly_white",
        margin=_MARGIN,
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


#: Colours of a difference: better, worse, neither (or not told apart from 0).
DIFF_COLOURS: dict[int, str] = {1: "#2f9e44", -1: "#e03131", 0: "#868e96"}


def _unit_axis(unit: str) -> str:
    return {"-": "percentage points [pp]", "min": "minutes [min]"}.get(unit, f"{unit} [{unit}]")


def difference_figure(
    summary: pd.DataFrame,
    kpis: Sequence[str],
    units: dict[str, str],
    confidence: float,
    *,
    better: Callable[[str], int] | None = None,
) -> go.Figure:
    """Paired differences B − A with their confidence intervals: one panel per unit.

    KPIs of one unit share a panel and its x axis (percentage points, minutes,
    cases, …); units are never mixed on one axis.

    Parameters
    ----------
    summary
        The table of :func:`twin.run.compare.summarise` (``kpi, policy, mean, ci_low,
        ci_high, diff, diff_low, diff_high``).
    kpis
        The KPIs to draw, top to bottom within their unit's panel.
    units
        Unit of each KPI (``-`` for shares, drawn in percentage points).
    confidence
        Confidence level of the intervals [-] (for the title).
    better
        +1 when more of a KPI is better, −1 when less is, 0 when neither. A difference
        whose interval excludes 0 is green when better, red when worse; others grey.
    """
    rows = summary[summary["kpi"].isin(kpis) & summary["diff"].notna()]
    if rows.empty:
        return empty_figure("no differences to show")
    order = [k for k in kpis if k in set(rows["kpi"])]
    rows = rows.set_index("kpi").loc[order]
    groups = list(dict.fromkeys(units.get(k, "") for k in order))
    sizes = [sum(units.get(k, "") == u for k in order) for u in groups]
    fig = make_subplots(
        rows=len(groups),
        cols=1,
        row_heights=[float(n) for n in sizes],
        vertical_spacing=min(0.3 / len(groups), 0.12) if len(groups) > 1 else 0.0,
    )
    for i, unit in enumerate(groups, start=1):
        names = [k for k in order if units.get(k, "") == unit]
        block = rows.loc[names]
        scale = 100.0 if unit == "-" else 1.0
        d = block["diff"].to_numpy(dtype=float) * scale
        lo = block["diff_low"].to_numpy(dtype=float) * scale
        hi = block["diff_high"].to_numpy(dtype=float) * scale
        excludes = (lo > 0) | (hi < 0)
        way = [
            (better(k) if better is not None else 0) * int(np.sign(x)) if ex else 0
            for k, x, ex in zip(names, d, excludes, strict=True)
        ]
        fig.add_trace(
            go.Scatter(
                x=d,
                y=names,
                mode="markers",
                marker={"size": 10, "color": [DIFF_COLOURS[w] for w in way]},
                error_x={
                    "type": "data",
                    "array": np.where(np.isfinite(hi), hi - d, 0.0),
                    "arrayminus": np.where(np.isfinite(lo), d - lo, 0.0),
                    "color": "#495057",
                    "thickness": 1.5,
                },
                hovertemplate="%{y}: %{x:,.3~f}<extra></extra>",
                showlegend=False,
                name=_unit_axis(unit),
            ),
            row=i,
            col=1,
        )
        fig.add_vline(x=0, line={"color": "#212529", "width": 1}, row=i, col=1)
        fig.update_xaxes(
            title_text=f"B − A in {_unit_axis(unit)}",
            title_standoff=4,
            zeroline=False,
            tickformat=",~f",
            row=i,
            col=1,
        )
        fig.update_yaxes(autorange="reversed", row=i, col=1)
    pct = round(100 * confidence)
    fig.update_layout(
        height=max(260, 36 * len(order) + 90 * len(groups) + 40),
        template="plotly_white",
        margin={"t": 40, "b": 50, "l": 260, "r": 20},
        title={
            "text": f"B − A, paired over replications, {pct}% intervals, one axis per unit "
            "(green: better, red: worse, when the interval excludes 0)",
            "font": {"size": 13},
        },
    )
    return fig
