"""Figures of waterlogging for reports: rain, water depth at low points, road states."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["water_figure"]


def water_figure(ds: xr.Dataset, x: pd.DatetimeIndex, *, impeded: float, closed: float,
                 top: int = 8) -> Any:  # fmt: skip
    """Rain and the water depth at the deepest low points over time, with thresholds.

    Parameters
    ----------
    ds
        A run's dataset with ``water_depth`` (time × point) and ``rain_rate``.
    x
        The dataset's times in local time (for the x axis).
    impeded, closed
        Depth thresholds [m] drawn as horizontal lines.
    top
        How many of the deepest points to draw.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    depth = ds["water_depth"].to_numpy()
    order = np.argsort(-depth.max(axis=0))[:top]
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.3, 0.7],
        subplot_titles=("rain [mm/h]", f"water depth at the {len(order)} deepest low points [m]"),
    )  # fmt: skip
    fig.add_trace(
        go.Bar(x=x, y=ds["rain_rate"].to_numpy().mean(axis=1), name="rain (mean)",
               marker_color="#4dabf7"),
        row=1, col=1,
    )  # fmt: skip
    names = ds["point_name"].to_numpy()
    for p in order.tolist():
        fig.add_trace(
            go.Scatter(x=x, y=depth[:, p], name=str(names[p]), mode="lines",
                       line={"width": 1.5}),
            row=2, col=1,
        )  # fmt: skip
    for level, label, colour in ((impeded, "impeded", "#f08c00"), (closed, "closed", "#e03131")):
        fig.add_hline(y=level, line={"color": colour, "dash": "dash", "width": 1},
                      annotation_text=f"{label} {level:g} m", row=2, col=1)  # fmt: skip
    fig.update_layout(height=560, margin={"t": 40, "b": 50, "l": 60, "r": 20},
                      hovermode="x unified", template="plotly_white", bargap=0)  # fmt: skip
    return fig
