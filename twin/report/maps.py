"""Maps for reports: the road network as light line traces under a figure's markers."""

from __future__ import annotations

import numpy as np
import shapely

from twin.network.road_network import RoadNetwork

__all__ = ["MAP_ROAD_CLASSES", "network_lines"]

#: Road classes drawn under report maps (local roads are left out to keep pages small).
MAP_ROAD_CLASSES: tuple[str, ...] = ("collector", "arterial")


def network_lines(
    net: RoadNetwork, road_class: str, decimals: int = 5
) -> tuple[list[float | None], list[float | None]]:
    """Lon/lat of a road class's edges as one line trace, ``None`` between edges [deg].

    The two directions of a two-way street are drawn once, and coordinates are rounded
    to ``decimals`` (about 1 m at five) to keep the page small.
    """
    sel = np.flatnonzero(net.road_class == road_class)
    pairs = np.sort(np.column_stack([net.edge_u[sel], net.edge_v[sel]]), axis=1)
    _, first = np.unique(pairs, axis=0, return_index=True)
    sel = sel[np.sort(first)]
    geoms = net.edge_geometries()[sel]
    xs: list[float | None] = []
    ys: list[float | None] = []
    for g in geoms:
        c = np.round(np.asarray(shapely.get_coordinates(g)), decimals)
        xs.extend(c[:, 0].tolist())
        ys.extend(c[:, 1].tolist())
        xs.append(None)
        ys.append(None)
    return xs, ys
