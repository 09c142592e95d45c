"""Figures of forecasts for reports: the rain a forecast was given against the rain that fell."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["forecast_rain_figure"]


def forecast_rain_figure(
    table: pd.DataFrame, start: pd.Timestamp, tz: str, *, caption: str = "", every_min: int = 30
) -> Any:
    """Observed rain and the future rain of forecasts issued every ``every_min`` minutes.

    Parameters
    ----------
    table
        ``RunResult.forecast_rain``: ``issue_time_s``, ``time_s`` [s since start],
        ``forecast_mm_h``, ``observed_mm_h`` (means over the low points) [mm/h].
    start
        The run's start (aware).
    tz
        Local time zone for the x axis.
    caption
        Where the rain came from (radar origin, transposition), shown in the title.
    every_min
        Draw the forecasts of one issue time in this many minutes (readability).
    """
    import plotly.graph_objects as go

    t0 = pd.Timestamp(start).tz_convert(tz).tz_localize(None)

    def local(seconds: Any) -> pd.DatetimeIndex:
        return t0 + pd.to_timedelta(np.asarray(seconds, dtype=float), unit="s")

    obs = table.drop_duplicates("time_s").sort_values("time_s")
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=local(obs["time_s"]), y=obs["observed_mm_h"], name="observed (radar)",
                   mode="lines", line={"color": "#212529", "width": 2.5, "shape": "hv"}),
    )  # fmt: skip
    issues = np.unique(table["issue_time_s"].to_numpy())
    wet = table.groupby("issue_time_s")["forecast_mm_h"].max()
    shown = [s for s in issues if s % (every_min * 60) < 1e-6 and wet.get(s, 0.0) > 0.05]
    for k, s in enumerate(shown):
        rows = table[table["issue_time_s"] == s]
        fig.add_trace(
            go.Scatter(
                x=local(rows["time_s"]), y=rows["forecast_mm_h"], mode="lines",
                name=f"forecast issued {local([s])[0]:%H:%M}", line={"width": 1.3, "shape": "hv"},
                opacity=0.9, legendgroup="fc", showlegend=k < 12,
            )
        )  # fmt: skip
    source = str(table.attrs.get("rain_source", ""))
    title = "Rain at the low points (mean): observed vs what each forecast was given"
    sub = " · ".join(x for x in (source, caption) if x)
    fig.update_layout(
        title={"text": f"{title}<br><sup>{sub}</sup>" if sub else title},
        yaxis_title="rain [mm/h]", height=420, template="plotly_white",
        margin={"t": 70, "b": 50, "l": 60, "r": 20}, hovermode="x unified",
    )  # fmt: skip
    return fig
