"""Snap lon/lat points to the nearest node or edge, in a projected CRS.

Distances are computed in the local UTM zone [m], never in degrees. Nodes are indexed
with a k-d tree (:class:`scipy.spatial.cKDTree`), edges with a shapely STR-tree over
their projected geometries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

from twin._types import FloatArray, IntArray
from twin.errors import OutsideNetworkError

__all__ = ["EdgeSnap", "NodeSnap", "Projector", "Snapper", "utm_crs"]

#: Edges whose distances to a point differ by less than this are tied [m].
_TIE_M = 1e-6


def utm_crs(lon: float, lat: float) -> CRS:
    """The WGS84 UTM zone that contains a point."""
    zone = int((lon + 180.0) // 6.0) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


class Projector:
    """Vectorised WGS84 ⇄ local UTM transforms."""

    def __init__(self, crs: CRS) -> None:
        self.crs = crs
        self._fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        self._inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def forward(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Project lon/lat [deg] to x/y [m]."""
        x, y = self._fwd.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x, float), np.asarray(y, float)

    def inverse(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Unproject x/y [m] to lon/lat [deg]."""
        lon, lat = self._inv.transform(np.asarray(x, float), np.asarray(y, float))
        return np.asarray(lon, float), np.asarray(lat, float)

    def geometries(self, geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
        """Project an array of shapely geometries (lon/lat → x/y)."""

        def _xy(coords: FloatArray) -> FloatArray:
            x, y = self.forward(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        out: npt.NDArray[np.object_] = shapely.transform(geoms, _xy)
        return out


@dataclass(frozen=True)
class NodeSnap:
    """Nearest nodes of a set of points.

    Attributes
    ----------
    node
        Node position (index into the network's node arrays) of each point.
    distance
        Straight-line distance from each point to its node [m].
    """

    node: IntArray
    distance: FloatArray


@dataclass(frozen=True)
class EdgeSnap:
    """Nearest edges of a set of points.

    Attributes
    ----------
    edge
        Edge position of each point.
    distance
        Distance from each point to its edge [m].
    offset
        Position of the foot of the perpendicular along the edge, from its tail, as a
        fraction of the edge's geometry length [-], in [0, 1].
    """

    edge: IntArray
    distance: FloatArray
    offset: FloatArray


def _check_outside(distance: FloatArray, max_distance: float, what: str) -> None:
    bad = np.flatnonzero(~(distance <= max_distance))
    if bad.size:
        shown = ", ".join(
            f"#{i} ({distance[i]:.0f} m)"
            if np.isfinite(distance[i])
            else f"#{i} (more than {max_distance:.0f} m, or not a valid lon/lat)"
            for i in bad[:5]
        )
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        raise OutsideNetworkError(
            f"{bad.size} of {distance.size} point(s) lie farther than {max_distance:.0f} m "
            f"from the nearest {what}: {shown}{more}. Check that they are lon/lat in WGS84 "
            "(not GCJ-02, not lat/lon swapped) and inside the network's area, or raise "
            "max_distance."
        )


class Snapper:
    """Spatial indexes of a network's nodes and edges in a projected CRS.

    Parameters
    ----------
    projector
        The network's projection.
    node_lon, node_lat
        Node coordinates [deg].
    edge_geometry
        Edge geometries in lon/lat (shapely LineStrings), built lazily by the caller.
    """

    def __init__(
        self,
        projector: Projector,
        node_lon: FloatArray,
        node_lat: FloatArray,
        edge_geometry: npt.NDArray[np.object_],
    ) -> None:
        self.projector = projector
        x, y = projector.forward(node_lon, node_lat)
        self._tree = cKDTree(np.column_stack([x, y]))
        self._edge_geom = projector.geometries(edge_geometry)
        self._edge_tree = shapely.STRtree(self._edge_geom)

    def nodes(
        self, lon: npt.ArrayLike, lat: npt.ArrayLike, *, max_distance: float = 250.0
    ) -> NodeSnap:
        """Nearest node of every point; raise if any lies beyond ``max_distance`` [m]."""
        x, y = self.projector.forward(np.atleast_1d(lon), np.atleast_1d(lat))
        xy = np.column_stack([x, y])
        # A latitude beyond ±90° (lat/lon swapped) projects to inf, which the k-d tree
        # rejects; such points get an infinite distance and are reported below.
        finite = np.isfinite(xy).all(axis=1)
        dist = np.full(xy.shape[0], np.inf)
        idx = np.zeros(xy.shape[0], dtype=np.int64)
        if finite.any():
            d, i = self._tree.query(xy[finite])
            dist[finite], idx[finite] = d, i
        _check_outside(dist, max_distance, "node")
        return NodeSnap(idx, dist)

    def edges(
        self, lon: npt.ArrayLike, lat: npt.ArrayLike, *, max_distance: float = 250.0
    ) -> EdgeSnap:
        """Nearest edge of every point; raise if any lies beyond ``max_distance`` [m].

        Ties (the two directions of a two-way street share a geometry) go to the edge
        with the lower position.
        """
        x, y = self.projector.forward(np.atleast_1d(lon), np.atleast_1d(lat))
        points: npt.NDArray[np.object_] = np.asarray(shapely.points(x, y), dtype=object)
        pairs, dist = self._edge_tree.query_nearest(
            points, max_distance=max_distance, return_distance=True, all_matches=True
        )
        n = points.shape[0]
        # pairs[0] = point index, pairs[1] = edge index.
        best_d = np.full(n, np.inf)
        np.minimum.at(best_d, pairs[0], dist)
        _check_outside(best_d, max_distance, "edge")
        # The two directions of a two-way street share a geometry, reversed, so their
        # distances to a point differ only by rounding (~1e-15 m): count every edge
        # within _TIE_M of the nearest as a tie and keep the lowest position.
        near = self._edge_tree.query(points, predicate="dwithin", distance=best_d + _TIE_M)
        best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(best, near[0], near[1].astype(np.int64))
        geoms = self._edge_geom[best]
        best_d = np.asarray(shapely.distance(geoms, points), dtype=float)
        along = shapely.line_locate_point(geoms, points, normalized=True)
        return EdgeSnap(best, best_d, np.nan_to_num(np.asarray(along, float)))

    def edges_within(self, lon: npt.ArrayLike, lat: npt.ArrayLike, radius: float) -> list[IntArray]:
        """Edge positions within ``radius`` [m] of each point (sorted per point)."""
        x, y = self.projector.forward(np.atleast_1d(lon), np.atleast_1d(lat))
        points = np.asarray(shapely.points(x, y), dtype=object)
        pairs = self._edge_tree.query(points, predicate="dwithin", distance=radius)
        out: list[IntArray] = []
        order = np.lexsort((pairs[1], pairs[0]))
        p_sorted, e_sorted = pairs[0][order], pairs[1][order]
        bounds = np.searchsorted(p_sorted, np.arange(points.shape[0] + 1))
        for i in range(points.shape[0]):
            out.append(e_sorted[bounds[i] : bounds[i + 1]].astype(np.int64))
        return out
