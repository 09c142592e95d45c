"""Maps for reports: the road network as light line traces under a figure's markers."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from twin._types import FloatArray
from twin.network.road_network import RoadNetwork

__all__ = ["MAP_ROAD_CLASSES", "network_line_arrays", "network_lines"]

#: Road classes drawn under report maps (local roads are left out to keep pages small).
MAP_ROAD_CLASSES: tuple[str, ...] = ("collector", "arterial")


def _class_edges(net: RoadNetwork, road_class: str) -> Any:
    """Geometries of a road class's edges, each two-way street once, in edge order."""
    sel = np.flatnonzero(net.road_class == road_class)
    pairs = np.sort(np.column_stack([net.edge_u[sel], net.edge_v[sel]]), axis=1)
    _, first = np.unique(pairs, axis=0, return_index=True)
    return net.edge_geometries()[sel[np.sort(first)]]


def network_line_arrays(
    net: RoadNetwork, road_class: str, decimals: int = 5
) -> tuple[FloatArray, FloatArray]:
    """:func:`network_lines` as float arrays, ``NaN`` between edges [deg].

    The same points; plotly passes arrays to the page in binary, without converting
    every coordinate to a Python float (a tenth of a second per report for Gongshu).
    """
    geoms = _class_edges(net, road_class)
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    xy = np.round(np.asarray(coords, dtype=np.float64), decimals)
    # Each edge's points, then one NaN: edge i's points move down by i places.
    out = np.full((xy.shape[0] + len(geoms), 2), np.nan)
    out[np.arange(xy.shape[0]) + index] = xy
    return out[:, 0].copy(), out[:, 1].copy()


def network_lines(
    net: RoadNetwork, road_class: str, decimals: int = 5
) -> tuple[list[float | None], list[float | None]]:
    """Lon/lat of a road class's edges as one line trace, ``None`` between edges [deg].

    The two directions of a two-way street are drawn once, and coordinates are rounded
    to ``decimals`` (about 1 m at five) to keep the page small.
    """
    geoms = _class_edges(net, road_class)
    xs: list[float | None] = []
    ys: list[float | None] = []
    for g in geoms:
        c = np.round(np.asarray(shapely.get_coordinates(g)), decimals)
        xs.extend(c[:, 0].tolist())
        ys.extend(c[:, 1].tolist())
        xs.append(None)
        ys.append(None)
    return xs, ys
