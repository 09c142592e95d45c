"""Snap city-layer features to a road network's nodes.

Every feature (a polygon by its centroid) gets the OSM id of its nearest node
(``node``) and the distance to it (``snap_distance_m`` [m]); a feature farther than
the layer's tolerance is refused (:class:`~twin.errors.LayerError`, naming it) or, for
derived layers, dropped. Underpass low points derived at build time
(``origin="tunnel_edge"``, ``derived: true``) snap to the tunnel's own nodes, never to
a street node above the tunnel.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import shapely

from twin._types import FloatArray, IntArray
from twin.errors import LayerError
from twin.network.layer_schema import LAYER_SCHEMAS
from twin.network.road_network import RoadNetwork

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["snap_features", "snap_layer"]

logger = logging.getLogger(__name__)


def _tunnel_nodes(net: RoadNetwork) -> IntArray:
    """Positions of the nodes at either end of a tunnel edge, sorted."""
    t = np.flatnonzero(net.tunnel)
    return np.unique(np.r_[net.edge_u[t], net.edge_v[t]]).astype(np.int64)


def _snap_to_tunnels(
    net: RoadNetwork, lon: FloatArray, lat: FloatArray
) -> tuple[IntArray, FloatArray]:
    """Nearest tunnel node (position) of each point and the distance to it [m]."""
    cand = _tunnel_nodes(net)
    if cand.size == 0:
        return np.zeros(len(lon), np.int64), np.full(len(lon), np.inf)
    px, py = net.projector.forward(lon, lat)
    nx_, ny_ = net.projector.forward(net.node_lon[cand], net.node_lat[cand])
    d = np.hypot(px[:, None] - nx_[None, :], py[:, None] - ny_[None, :])
    k = d.argmin(axis=1)
    return cand[k], d[np.arange(len(lon)), k]


def _own_tunnel_mask(gdf: gpd.GeoDataFrame, name: str) -> npt.NDArray[np.bool_]:
    """Which features snap to tunnel nodes: derived (``derived: true``) tunnel low points."""
    if name != "low_points" or "origin" not in gdf.columns or "derived" not in gdf.columns:
        return np.zeros(len(gdf), dtype=bool)
    derived = gdf["derived"].map(lambda v: v is True or v == 1).to_numpy(dtype=bool)
    return np.asarray((gdf["origin"] == "tunnel_edge").to_numpy(dtype=bool) & derived)


def snap_features(
    gdf: gpd.GeoDataFrame,
    net: RoadNetwork,
    path: str | Path,
    name: str,
    tol: float,
    *,
    drop_far: bool = False,
) -> gpd.GeoDataFrame:
    """Add ``node`` and ``snap_distance_m``; :class:`LayerError` naming far features.

    Low points derived at build time from tunnel edges (``origin="tunnel_edge"`` and
    ``derived: true``) snap to the nearest node of a tunnel edge, never to a street node
    above the tunnel (files without ``derived`` keep snapping to the nearest node).
    With ``drop_far``, features beyond ``tol`` are dropped (and counted in the log)
    instead of refused.
    """
    if len(gdf) == 0:
        gdf["node"], gdf["snap_distance_m"] = np.empty(0, np.int64), np.empty(0, np.float64)
        return gdf
    xy = shapely.get_coordinates(shapely.centroid(gdf.geometry.to_numpy()))
    snap = net.nearest_nodes(xy[:, 0], xy[:, 1], max_distance=math.inf)
    node, dist = snap.node.astype(np.int64), snap.distance.astype(np.float64)
    own_mask = _own_tunnel_mask(gdf, name)
    if own_mask.any():
        own = np.flatnonzero(own_mask)
        if own.size:
            node[own], dist[own] = _snap_to_tunnels(net, xy[own, 0], xy[own, 1])
    bad = np.flatnonzero(~(dist <= tol))
    if bad.size and drop_far:
        logger.warning(
            "layer %s: %d derived feature(s) farther than %g m from the network dropped: %s",
            name,
            bad.size,
            tol,
            ", ".join(str(i) for i in gdf["id"].iloc[bad[:5]]),
        )
        keep = np.setdiff1d(np.arange(len(gdf)), bad)
        gdf = gdf.iloc[keep].reset_index(drop=True)
        node, dist = node[keep], dist[keep]
    elif bad.size:
        listed = "; ".join(
            f"feature #{i} (id {gdf['id'].iloc[i]!r}) at lon {xy[i, 0]:.5f}, lat {xy[i, 1]:.5f}"
            f" is {dist[i]:.0f} m from the nearest " + ("tunnel node" if own_mask[i] else "node")
            for i in bad[:5]
        )
        raise LayerError(
            f"{path}: {bad.size} feature(s) of layer {name!r} lie outside the network "
            f"(tolerance {tol:g} m): {listed}. Move them into the network's area, or check "
            "that they are WGS84 lon/lat."
        )
    gdf["node"] = net.node_ids[node]
    gdf["snap_distance_m"] = dist
    return gdf


def snap_layer(
    gdf: gpd.GeoDataFrame,
    net: RoadNetwork,
    layer: str,
    *,
    drop_far: bool = False,
    max_snap_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Snap a layer's features to their nearest nodes (columns ``node``, ``snap_distance_m``).

    Parameters
    ----------
    gdf
        The layer (WGS84); a polygon snaps by its centroid.
    net
        The network.
    layer
        Its name in :data:`LAYER_SCHEMAS`.
    drop_far
        Drop features beyond the tolerance (derived layers) instead of raising.
    max_snap_m
        Tolerance [m]; the schema's when ``None``.

    Returns
    -------
    geopandas.GeoDataFrame
        The snapped layer (a new frame when features were dropped).

    Raises
    ------
    LayerError
        If a feature lies beyond the tolerance and ``drop_far`` is false.
    """
    tol = LAYER_SCHEMAS[layer].max_snap_m if max_snap_m is None else max_snap_m
    return snap_features(gdf, net, f"derived layer {layer}", layer, tol, drop_far=drop_far)
