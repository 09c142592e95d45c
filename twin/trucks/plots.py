"""Plotly figures of a muck-truck run (no web tiles: the map draws the network's edges).

- :func:`on_road_figure`: trucks on the road and trucks unloaded per dock, by local hour;
- :func:`violation_map`: the road network, cameras, sites, docks and every violation
  (colour: kind; filled: detected and traced, open: missed);
- :func:`dock_queue_figure`: trucks at each dock (waiting or unloading) over time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twin.trucks.config import VIOLATION_KINDS
from twin.trucks.errors import TruckError
from twin.trucks.results import TruckResult

__all__ = ["dock_queue_figure", "on_road_figure", "violation_map"]

_KIND_COLOURS = dict(zip(VIOLATION_KINDS, ("#e8590c", "#862e9c", "#1971c2", "#f08c00",
                                           "#c92a2a"), strict=True))  # fmt: skip


def on_road_figure(result: TruckResult) -> Any:
    """Trucks driving (mean per local hour) and trucks unloaded per dock and hour."""
    import plotly.graph_objects as go

    hours = np.arange(24)
    fig = go.Figure()
    hourly = result.dock_hourly()
    for dock in hourly.columns:
        fig.add_trace(go.Bar(x=hours, y=hourly[dock].to_numpy(), name=f"unloaded at {dock}"))
    fig.add_trace(go.Scatter(
        x=hours, y=result.on_road_hourly().to_numpy(), name="trucks on the road (mean)",
        mode="lines+markers", line={"color": "black"},
    ))  # fmt: skip
    fig.update_layout(
        barmode="stack", title="Muck trucks by local hour", xaxis_title="local hour",
        yaxis_title="trucks", legend={"orientation": "h", "y": -0.2},
    )  # fmt: skip
    return fig


def _lines(lon_u: Any, lat_u: Any, lon_v: Any, lat_v: Any) -> tuple[Any, Any]:
    n = lon_u.shape[0]
    x = np.full(3 * n, np.nan)
    y = np.full(3 * n, np.nan)
    x[0::3], x[1::3] = lon_u, lon_v
    y[0::3], y[1::3] = lat_u, lat_v
    return x, y


def violation_map(result: TruckResult, *, classes: tuple[str, ...] = ("arterial", "collector"),
                  truck_edges: bool = True) -> Any:  # fmt: skip
    """Map of the violations over the network, drawn from the network's own edges.

    Parameters
    ----------
    result
        A run made by :func:`~twin.trucks.simulate.simulate_trucks` (it keeps the network).
    classes
        Road classes drawn as the background.
    truck_edges
        Also draw every edge a truck drove.
    """
    import plotly.graph_objects as go

    net = result.network
    if net is None:
        raise TruckError("the truck result holds no network; run it with simulate_trucks()")
    lon, lat = net.node_lon, net.node_lat
    fig = go.Figure()
    bg = np.isin(net.road_class, list(classes))
    if truck_edges:
        bg |= np.isin(np.arange(net.n_edges), result.track["edge"].to_numpy())
    e = np.flatnonzero(bg)
    x, y = _lines(lon[net.edge_u[e]], lat[net.edge_u[e]], lon[net.edge_v[e]], lat[net.edge_v[e]])
    fig.add_trace(go.Scattergl(x=x, y=y, mode="lines", line={"color": "#ced4da", "width": 1},
                               name="roads", hoverinfo="skip"))  # fmt: skip
    c = result.camera.nonzero()[0]
    if c.size:
        x, y = _lines(lon[net.edge_u[c]], lat[net.edge_u[c]], lon[net.edge_v[c]],
                      lat[net.edge_v[c]])  # fmt: skip
        fig.add_trace(go.Scattergl(x=x, y=y, mode="lines", line={"color": "#2b8a3e", "width": 4},
                                   name="cameras"))  # fmt: skip
    fig.add_trace(go.Scattergl(
        x=result.sites.lon, y=result.sites.lat, mode="markers", name="sites",
        marker={"symbol": "square", "size": 9, "color": "#495057"}, text=result.sites.id,
    ))  # fmt: skip
    fig.add_trace(go.Scattergl(
        x=result.docks.lon, y=result.docks.lat, mode="markers", name="docks",
        marker={"symbol": "diamond", "size": 14, "color": "#0b7285"}, text=result.docks.id,
    ))  # fmt: skip
    v = result.violations
    for kind in VIOLATION_KINDS:
        for traced in (True, False):
            sub = v[(v["kind"] == kind) & (v["traced_ok"] == traced) & v["lon"].notna()]
            if sub.empty:
                continue
            fig.add_trace(go.Scattergl(
                x=sub["lon"], y=sub["lat"], mode="markers",
                name=f"{kind} ({'detected' if traced else 'missed'})",
                marker={"size": 8, "color": _KIND_COLOURS[kind],
                        "symbol": "circle" if traced else "circle-open"},
                text=sub["site"] + " / " + sub["company"],
            ))  # fmt: skip
    fig.update_layout(
        title="Muck-truck violations (filled: detected and traced; open: missed)",
        xaxis={"title": "lon [deg]", "showgrid": False},
        yaxis={"title": "lat [deg]", "showgrid": False, "scaleanchor": "x",
               "scaleratio": 1.0 / np.cos(np.deg2rad(float(np.mean(lat))))},
        plot_bgcolor="white", height=750,
    )  # fmt: skip
    return fig


def dock_queue_figure(result: TruckResult) -> Any:
    """Trucks at each dock (waiting or unloading) over local time."""
    import plotly.graph_objects as go

    ds = result.positions
    x = pd.DatetimeIndex(ds["time"].to_numpy()).tz_localize("UTC").tz_convert(result.start.tzinfo)
    fig = go.Figure()
    for k, dock in enumerate(ds["dock"].to_numpy()):
        fig.add_trace(go.Scatter(x=x, y=ds["dock_queue"].to_numpy()[:, k], name=str(dock),
                                 mode="lines"))  # fmt: skip
    fig.update_layout(title="Trucks at each dock (waiting or unloading)",
                      xaxis_title="local time", yaxis_title="trucks")  # fmt: skip
    return fig
