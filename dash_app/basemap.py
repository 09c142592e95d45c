"""The map: the twin's own road network as the base map (a run over it: :mod:`dash_app.replay`).

No map tiles: the base map is drawn from the network's edge geometry (roads by class,
tunnels and underpasses, the district boundary) and its city layers (docks, sites,
depots, plazas, low points), as plain SVG traces, so it needs neither the internet nor
WebGL. Low points carry unique, readable names (:func:`point_names`).

The figure has a fixed order of traces: the base traces, then the dynamic traces of
:mod:`dash_app.replay` (:data:`~dash_app.replay.DYNAMIC`), so that moving the time
slider only replaces the dynamic traces and never resends the network.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import plotly.graph_objects as go
import shapely

from twin._types import IntArray
from twin.network.naming import low_point_names
from twin.network.plot import ATTRIBUTION, CLASS_STYLE, LAYER_STYLE, TUNNEL_COLOUR
from twin.network.road_network import RoadNetwork
from twin.report.maps import MAP_ROAD_CLASSES, network_lines

__all__ = ["LAYERS", "base_traces", "line_xy", "map_figure", "point_names"]

#: Layer switches of the map page: (value, label).
LAYERS: tuple[tuple[str, str], ...] = (
    ("local", "local roads"),
    ("city", "city layers"),
    ("crews", "crews"),
    ("cases", "cases"),
    ("water", "water and closures"),
    ("crowds", "crowd density"),
    ("trucks", "muck trucks"),
)


# ---------------------------------------------------------------------------- geometry
def line_xy(geoms: npt.NDArray[np.object_], decimals: int = 5) -> tuple[list[Any], list[Any]]:
    """Lon/lat of line geometries as one trace, ``None`` between lines [deg]."""
    xs: list[Any] = []
    ys: list[Any] = []
    for g in geoms:
        c = np.round(np.asarray(shapely.get_coordinates(g)), decimals)
        xs.extend(c[:, 0].tolist())
        xs.append(None)
        ys.extend(c[:, 1].tolist())
        ys.append(None)
    return xs, ys


def _one_way(net: RoadNetwork, sel: IntArray) -> IntArray:
    """Edges of ``sel`` with the two directions of a two-way street kept once."""
    if sel.size == 0:
        return sel
    pairs = np.sort(np.column_stack([net.edge_u[sel], net.edge_v[sel]]), axis=1)
    _, first = np.unique(pairs, axis=0, return_index=True)
    return sel[np.sort(first)]


def _line_trace(lines: tuple[list[Any], list[Any]], name: str, **line: Any) -> go.Scatter:
    """Lines of the base map (``x`` and ``y`` of :func:`_lines`), without hover text."""
    xs, ys = lines
    return go.Scatter(x=xs, y=ys, mode="lines", name=name, hoverinfo="skip", line=line)


def point_names(net: RoadNetwork | None) -> dict[str, str]:
    """Unique, readable low-point names by id (:func:`twin.network.naming.low_point_names`).

    Empty when there is no network or it has no low points.
    """
    layer = net.layers.get("low_points") if net is not None else None
    if net is None or layer is None or len(layer) == 0:
        return {}
    return low_point_names(net, layer)


def base_traces(
    net: RoadNetwork,
    *,
    local: bool = True,
    city: bool = True,
    names_by_id: dict[str, str] | None = None,
) -> list[go.Scatter]:
    """The base map: roads by class, tunnels, the boundary and the city layers.

    Parameters
    ----------
    net
        The road network.
    local
        Draw local roads (the finest class; most of the network's edges).
    city
        Draw the city layers (docks, sites, depots, plazas, low points).
    names_by_id
        Low-point names by id (default: :func:`point_names` of ``net``).
    """
    traces: list[go.Scatter] = []
    geoms = net.edge_geometries()
    classes = ("local", *MAP_ROAD_CLASSES) if local else MAP_ROAD_CLASSES
    for cls_name in classes:
        colour, width = CLASS_STYLE[cls_name]
        traces.append(
            _line_trace(
                network_lines(net, cls_name),
                f"{cls_name} roads",
                color=colour,
                width=max(width * 1.4, 0.6),
            )
        )
    tunnels = _one_way(net, np.flatnonzero(net.tunnel))
    if tunnels.size:
        traces.append(
            _line_trace(
                line_xy(geoms[tunnels]), "tunnels / underpasses", color=TUNNEL_COLOUR, width=2
            )
        )
    wkt = net.meta.get("boundary_wkt")
    if wkt:
        geom = shapely.from_wkt(wkt)
        polys = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
        rings = [p.exterior for p in polys if hasattr(p, "exterior")]
        traces.append(
            _line_trace(
                line_xy(np.array(rings, dtype=object), decimals=4),
                "district boundary",
                color="#495057",
                width=1,
                dash="dash",
            )
        )
    if city:
        symbols = {
            "s": "square",
            "^": "triangle-up",
            "o": "circle",
            "D": "diamond",
            "v": "triangle-down",
        }
        for layer_name, gdf in net.layers.items():
            if len(gdf) == 0:
                continue
            colour, marker = LAYER_STYLE.get(layer_name, ("#000000", "o"))
            pts = gdf.geometry.representative_point()
            names = gdf["name"].astype(str) if "name" in gdf else gdf.index.astype(str)
            if layer_name == "low_points" and "id" in gdf:
                unique = point_names(net) if names_by_id is None else names_by_id
                names = pd.Series([unique.get(i, i) for i in gdf["id"].astype(str)])
            traces.append(
                go.Scatter(
                    x=pts.x.round(5).tolist(),
                    y=pts.y.round(5).tolist(),
                    mode="markers",
                    name=f"{layer_name.replace('_', ' ')} ({len(gdf)})",
                    marker={
                        "color": colour,
                        "symbol": symbols.get(marker, "circle"),
                        "size": 9,
                        "line": {"color": "white", "width": 1},
                    },
                    text=names.tolist(),
                    customdata=(
                        [f"lowpoint:{i}" for i in gdf["id"].astype(str)]
                        if layer_name == "low_points" and "id" in gdf
                        else None
                    ),
                    hovertemplate="%{text}<extra>" + layer_name + "</extra>",
                )
            )
    return traces


def map_figure(
    base: list[go.Scatter],
    dynamic: list[dict[str, Any]],
    net: RoadNetwork,
    *,
    title: str = "",
) -> go.Figure:
    """The map figure: base traces, then the dynamic traces, equal-area aspect."""
    fig = go.Figure(data=[*base, *dynamic])
    lat0 = float(np.mean(net.node_lat)) if net.n_nodes else 30.0
    pad = 0.004
    fig.update_layout(
        height=720,
        template="plotly_white",
        uirevision="map",
        margin={"t": 30 if title else 10, "b": 40, "l": 50, "r": 10},
        title={"text": title, "font": {"size": 14}} if title else None,
        xaxis={
            "title": "longitude [deg]",
            "showgrid": False,
            "zeroline": False,
            "range": [float(net.node_lon.min()) - pad, float(net.node_lon.max()) + pad],
        },
        yaxis={
            "title": "latitude [deg]",
            "showgrid": False,
            "zeroline": False,
            "scaleanchor": "x",
            "scaleratio": 1.0 / math.cos(math.radians(lat0)),
            "range": [float(net.node_lat.min()) - pad, float(net.node_lat.max()) + pad],
        },
        legend={
            "itemsizing": "constant",
            "x": 0.0,
            "y": 1.0,
            "xanchor": "left",
            "bgcolor": "rgba(255,255,255,0.85)",
            "font": {"size": 11},
        },
        annotations=[
            {
                "text": ATTRIBUTION,
                "xref": "paper",
                "yref": "paper",
                "x": 1.0,
                "y": 0.0,
                "xanchor": "right",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 10, "color": "#495057"},
                "bgcolor": "rgba(255,255,255,0.7)",
            }
        ],
    )
    return fig
