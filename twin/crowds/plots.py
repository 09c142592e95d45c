"""Figures of crowds for reports: density, exit queues and staff per plaza over time."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twin.crowds.results import CrowdRun

__all__ = ["crowd_figure"]

_COLOURS = ("#1c7ed6", "#e8590c", "#2f9e44", "#ae3ec9", "#f59f00", "#0ca678", "#d6336c")


def crowd_figure(run: CrowdRun, tz: str) -> Any:
    """Density and exit queues per plaza with and without the staff crews brought.

    Top: density [persons/m²] of every plaza (solid: the run; dotted: the same demand had
    no staff been sent), the alert threshold, and a marker at each alert's issue time.
    Middle: people queuing at the exits [persons] (same line styles). Bottom: staff on
    site [persons]. Times are local (``tz``).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    co, base = run.coupled, run.baseline
    start = co.demand.start
    if start is not None:
        t0 = pd.Timestamp(start).tz_convert(tz).tz_localize(None)
        x: Any = t0 + pd.to_timedelta(co.time, unit="s")
    else:
        x = co.time / 3600.0
    fig = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07, row_heights=[0.45, 0.35, 0.2],
        subplot_titles=("density [persons/m²] (dotted: had no staff been sent)",
                        "queuing at the exits [persons]", "staff on site [persons]"),
    )  # fmt: skip
    names = co.plazas.name
    for q in range(co.plazas.n_plazas):
        colour = _COLOURS[q % len(_COLOURS)]
        label = str(names[q])
        fig.add_trace(go.Scatter(x=x, y=co.density[:, q], name=label, legendgroup=label,
                                 line={"color": colour, "width": 1.6}), row=1, col=1)  # fmt: skip
        helped = bool(co.staff[:, q].any())
        if helped:
            fig.add_trace(go.Scatter(x=x, y=base.density[:, q], name=f"{label} (no staff)",
                                     legendgroup=label, showlegend=False,
                                     line={"color": colour, "width": 1.2, "dash": "dot"}),
                          row=1, col=1)  # fmt: skip
        fig.add_trace(go.Scatter(x=x, y=co.plaza_queue[:, q], name=label, legendgroup=label,
                                 showlegend=False, line={"color": colour, "width": 1.6}),
                      row=2, col=1)  # fmt: skip
        if helped:
            fig.add_trace(go.Scatter(x=x, y=base.plaza_queue[:, q], name=f"{label} (no staff)",
                                     legendgroup=label, showlegend=False,
                                     line={"color": colour, "width": 1.2, "dash": "dot"}),
                          row=2, col=1)  # fmt: skip
            fig.add_trace(go.Scatter(x=x, y=co.staff[:, q], name=f"{label} staff",
                                     legendgroup=label, showlegend=False, fill="tozeroy",
                                     line={"color": colour, "width": 1, "shape": "hv"}),
                          row=3, col=1)  # fmt: skip
    fig.add_hline(y=run.threshold, line={"color": "#e03131", "dash": "dash", "width": 1},
                  annotation_text=f"alert {run.threshold:.3g} persons/m²",
                  row=1, col=1)  # fmt: skip
    al = run.alerts
    if len(al):
        q_of = {pid: i for i, pid in enumerate(co.plazas.id.tolist())}
        k = np.clip(np.round((al["issue_time"].to_numpy() - co.t0) / co.dt).astype(int) - 1,
                    0, co.n_steps - 1)  # fmt: skip
        y = co.density[k, [q_of[p] for p in al["plaza"]]]
        fig.add_trace(go.Scatter(x=x[k], y=y, mode="markers", name="alert issued",
                                 text=[f"{kd}: forecast crossing in {lt / 60:.0f} min"
                                       for kd, lt in zip(al["kind"], al["lead_time"],
                                                         strict=True)],
                                 marker={"symbol": "triangle-up", "size": 11,
                                         "color": "#e03131"}), row=1, col=1)  # fmt: skip
    fig.update_layout(height=720, margin={"t": 40, "b": 50, "l": 60, "r": 20},
                      hovermode="x unified", template="plotly_white")  # fmt: skip
    return fig
