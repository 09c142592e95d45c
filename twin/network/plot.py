"""Maps of a road network and its city layers: a static PNG and an interactive HTML page.

Both are drawn from the twin's own geometry, with no web map tiles, so they work
offline. The HTML page embeds plotly.js and needs no server.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from twin.network.road_network import RoadNetwork

__all__ = ["ATTRIBUTION", "plot_network_html", "plot_network_png"]

logger = logging.getLogger(__name__)

ATTRIBUTION = "Roads © OpenStreetMap contributors (ODbL 1.0)"

#: Line colour and width per road class.
CLASS_STYLE: dict[str, tuple[str, float]] = {
    "local": ("#b9bec6", 0.35),
    "collector": ("#7f8a99", 0.7),
    "arterial": ("#33415c", 1.2),
}
TUNNEL_COLOUR = "#1f78ff"
CLOSED_COLOUR = "#e03131"
#: Marker colour and symbol per layer.
LAYER_STYLE: dict[str, tuple[str, str]] = {
    "docks": ("#8b4513", "s"),
    "sites": ("#f08c00", "^"),
    "depots": ("#2f9e44", "o"),
    "plazas": ("#ae3ec9", "D"),
    "low_points": ("#1971c2", "v"),
}
_PLOTLY_SYMBOL = {
    "s": "square",
    "^": "triangle-up",
    "o": "circle",
    "D": "diamond",
    "v": "triangle-down",
}


def _edge_coords(geoms: npt.NDArray[np.object_]) -> list[npt.NDArray[np.float64]]:
    return [np.asarray(shapely.get_coordinates(g)) for g in geoms]


def _boundary(net: RoadNetwork) -> Any:
    wkt = net.meta.get("boundary_wkt")
    return shapely.from_wkt(wkt) if wkt else None


def _rings(geom: Any) -> list[npt.NDArray[np.float64]]:
    polys = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    return [np.asarray(p.exterior.coords) for p in polys if hasattr(p, "exterior")]


def plot_network_png(
    net: RoadNetwork, path: str | Path, *, title: str | None = None, dpi: int = 150
) -> Path:
    """Draw the network, its tunnels, closures, boundary and layers to a PNG file.

    Parameters
    ----------
    net
        The network.
    path
        Output file.
    title
        Figure title (defaults to the network's name).
    dpi
        Resolution [dots per inch].
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    path = Path(path)
    coords = _edge_coords(net.edge_geometries())
    lat0 = float(np.mean(net.node_lat))
    fig, ax = plt.subplots(figsize=(9, 9))
    for cls_name, (colour, width) in CLASS_STYLE.items():
        sel = np.flatnonzero(net.road_class == cls_name)
        ax.add_collection(
            LineCollection(
                [coords[i] for i in sel], colors=colour, linewidths=width, label=cls_name
            )
        )
    for mask, colour, label, width in (
        (net.tunnel, TUNNEL_COLOUR, "tunnel / underpass", 2.0),
        (net.closed, CLOSED_COLOUR, "closed", 2.5),
    ):
        sel = np.flatnonzero(mask)
        if sel.size:
            ax.add_collection(
                LineCollection(
                    [coords[i] for i in sel], colors=colour, linewidths=width, label=label
                )
            )
    boundary = _boundary(net)
    if boundary is not None:
        for ring in _rings(boundary):
            ax.plot(ring[:, 0], ring[:, 1], color="#495057", lw=1.0, ls="--")
    for layer_name, gdf in net.layers.items():
        colour, marker = LAYER_STYLE.get(layer_name, ("#000000", "o"))
        pts = gdf.geometry.representative_point()
        ax.scatter(
            pts.x, pts.y, s=36, c=colour, marker=marker, edgecolors="white", linewidths=0.6,
            zorder=5, label=f"{layer_name} ({len(gdf)})",
        )  # fmt: skip
    ax.set_xlim(net.node_lon.min() - 0.003, net.node_lon.max() + 0.003)
    ax.set_ylim(net.node_lat.min() - 0.003, net.node_lat.max() + 0.003)
    ax.set_aspect(1.0 / math.cos(math.radians(lat0)))
    ax.set_xlabel("longitude [deg]")
    ax.set_ylabel("latitude [deg]")
    s = net.summary()
    ax.set_title(
        title
        or f"{s['name'] or 'Road network'}: {s['nodes']:,} nodes, {s['edges']:,} edges, "
        f"{s['length_km']:,} km"
    )
    ax.legend(loc="lower right", fontsize=7, framealpha=0.9)
    ax.text(0.01, 0.01, ATTRIBUTION, transform=ax.transAxes, fontsize=7, color="#495057")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    logger.info("Wrote %s", path)
    return path


def _line_trace_xy(
    coords: list[npt.NDArray[np.float64]], sel: npt.NDArray[np.int64]
) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for i in sel:
        c = coords[i]
        xs.extend(c[:, 0].tolist())
        ys.extend(c[:, 1].tolist())
        xs.append(None)
        ys.append(None)
    return xs, ys


def plot_network_html(net: RoadNetwork, path: str | Path, *, title: str | None = None) -> Path:
    """Write an interactive, self-contained HTML map (pan, zoom, hover on layers).

    No map tiles are fetched; the page embeds plotly.js, so it opens offline.
    """
    import plotly.graph_objects as go

    path = Path(path)
    coords = _edge_coords(net.edge_geometries())
    fig = go.Figure()
    for cls_name, (colour, width) in CLASS_STYLE.items():
        xs, ys = _line_trace_xy(coords, np.flatnonzero(net.road_class == cls_name))
        fig.add_trace(
            go.Scattergl(
                x=xs, y=ys, mode="lines", line={"color": colour, "width": max(width * 1.5, 0.8)},
                name=f"{cls_name} roads", hoverinfo="skip",
            )
        )  # fmt: skip
    for mask, colour, label in ((net.tunnel, TUNNEL_COLOUR, "tunnels / underpasses"),
                                (net.closed, CLOSED_COLOUR, "closed edges")):  # fmt: skip
        sel = np.flatnonzero(mask)
        if sel.size:
            xs, ys = _line_trace_xy(coords, sel)
            fig.add_trace(
                go.Scattergl(x=xs, y=ys, mode="lines", line={"color": colour, "width": 3},
                             name=label, hoverinfo="skip")
            )  # fmt: skip
    boundary = _boundary(net)
    if boundary is not None:
        for ring in _rings(boundary):
            fig.add_trace(
                go.Scatter(x=ring[:, 0], y=ring[:, 1], mode="lines", name="district boundary",
                           line={"color": "#495057", "dash": "dash", "width": 1},
                           hoverinfo="skip")
            )  # fmt: skip
    for layer_name, gdf in net.layers.items():
        colour, marker = LAYER_STYLE.get(layer_name, ("#000000", "o"))
        pts = gdf.geometry.representative_point()
        names = gdf["name"].astype(str) if "name" in gdf else gdf.index.astype(str)
        kinds = gdf["kind"].astype(str) if "kind" in gdf else [""] * len(gdf)
        text = [f"<b>{n}</b><br>{layer_name} {k}" for n, k in zip(names, kinds, strict=True)]
        fig.add_trace(
            go.Scatter(
                x=pts.x, y=pts.y, mode="markers", name=f"{layer_name} ({len(gdf)})",
                marker={"color": colour, "size": 10, "symbol": _PLOTLY_SYMBOL.get(marker, "circle"),
                        "line": {"color": "white", "width": 1}},
                text=text, hoverinfo="text",
            )
        )  # fmt: skip
    lat0 = float(np.mean(net.node_lat))
    s = net.summary()
    fig.update_layout(
        title=title or f"{s['name'] or 'Road network'}: {s['nodes']:,} nodes, {s['edges']:,} edges",
        template="plotly_white",
        height=850,
        xaxis={"title": "longitude [deg]", "showgrid": False},
        yaxis={"title": "latitude [deg]", "showgrid": False, "scaleanchor": "x",
               "scaleratio": 1.0 / math.cos(math.radians(lat0))},
        legend={"itemsizing": "constant"},
        annotations=[{"text": ATTRIBUTION, "xref": "paper", "yref": "paper", "x": 0, "y": -0.06,
                      "showarrow": False, "font": {"size": 10, "color": "#495057"}}],
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    logger.info("Wrote %s", path)
    return path
