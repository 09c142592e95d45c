"""Low points from a digital elevation model: the lowest road node of each local sink.

OSM tunnel tags find underpasses (:func:`twin.network.layers.derive_low_points`), but
not the dips of an ordinary street where rain gathers. A DEM (a GeoTIFF, any projected
or geographic CRS) finds those with a simplified rule:

Rule
----
1. The DEM, cut to the network's extent plus :data:`DEM_MARGIN_M`, is **depression
   filled**: every cell is raised to the lowest level at which its water could spill
   off the edge of the raster (priority-flood filling [1]_ as implemented by pysheds'
   ``Grid.fill_depressions`` [2]_; it gives the same filled surface as the classic
   Planchon–Darboux method [3]_).
2. A cell is **in a sink** where filled DEM − DEM > :data:`SINK_DEPTH_M` (0.1 m);
   8-connected sink cells form one sink. Its depth is the largest filled − DEM in it,
   its area the sum of its cells' areas [m²].
3. A road node is in a sink when the cell it lies in is; each sink with a road node
   gives **one low point at its lowest road node** (the DEM sampled bilinearly at the
   node; ties go to the smallest OSM node id).
4. A sink point within :data:`MERGE_M` (50 m) of a tunnel low point, or of the node
   it snapped to, is dropped: the underpass already marks that place.

Each point carries ``derived: true``, ``origin: "dem"``, ``sink_depth_m``,
``sink_area_m2`` and ``illustrative: false``; the layer is still replaced whole by a
user ``low_points.geojson`` (``--layers FOLDER``).

The rule is simplified: it sees the terrain only. Drains, kerbs and culverts, which
empty many sinks, are not in a DEM; a sink smaller than a cell, or a street dip under
a bridge in a surface model, is missed or misplaced. Without a DEM the low points are
the tunnels alone: give your own list as ``low_points.geojson`` (flood reports, survey).

References
----------
.. [1] Barnes, R., Lehman, C., Mulla, D. (2014). Priority-flood: an optimal
   depression-filling and watershed-labeling algorithm for digital elevation models.
   Computers & Geosciences 62, 117-127. doi:10.1016/j.cageo.2013.04.024
.. [2] Bartos, M. pysheds: simple and fast watershed delineation in Python.
   https://github.com/mdbartos/pysheds (``Grid.fill_depressions``).
.. [3] Planchon, O., Darboux, F. (2002). A fast, simple and versatile algorithm to
   fill the depressions of digital elevation models. Catena 46(2-3), 159-176.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from twin.errors import DEMError, InputFileNotFoundError
from twin.network.road_network import RoadNetwork

__all__ = [
    "DEM_MARGIN_M",
    "MERGE_M",
    "SINK_DEPTH_M",
    "DEMGrid",
    "add_dem_low_points",
    "dem_low_points",
    "find_sinks",
    "read_dem",
]

logger = logging.getLogger(__name__)

#: Filled DEM − DEM beyond which a cell is in a sink [m].
SINK_DEPTH_M = 0.1
#: A sink point this close to a tunnel low point is the same place [m].
MERGE_M = 50.0
#: The DEM is read over the network's extent grown by this much [m].
DEM_MARGIN_M = 500.0


@dataclass(frozen=True)
class DEMGrid:
    """Elevations read from a DEM window.

    Attributes
    ----------
    z
        Elevation [m], shape ``(rows, cols)``; no-data cells are NaN.
    transform
        The window's affine transform (``affine.Affine``): column, row -> x, y.
    crs
        The DEM's CRS (WKT).
    path
        The file read.
    """

    z: np.ndarray
    transform: Any
    crs: str
    path: Path


def _dem_xy(crs: str, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    from pyproj import Transformer

    to_dem = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = to_dem.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.column_stack([x, y])


def read_dem(path: str | Path, net: RoadNetwork, *, margin_m: float = DEM_MARGIN_M) -> DEMGrid:
    """Read the part of a GeoTIFF DEM under a network, grown by ``margin_m`` [m].

    Raises
    ------
    InputFileNotFoundError
        No such file.
    DEMError
        Not a GeoTIFF, no CRS, or no overlap with the network.
    """
    import rasterio
    import rasterio.errors
    import rasterio.windows

    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(
            f"{path}: no such DEM file. Give a GeoTIFF elevation model with --dem FILE, or "
            "build without --dem (low points then come from tunnels only)."
        )
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise DEMError(
            f"{path} is not a GeoTIFF DEM ({exc}); convert it, e.g. "
            "`gdal_translate -of GTiff IN OUT.tif`."
        ) from exc
    with src:
        if src.driver != "GTiff":
            raise DEMError(
                f"{path} is a {src.driver} raster, not a GeoTIFF; convert it, e.g. "
                "`gdal_translate -of GTiff IN OUT.tif`."
            )
        if src.crs is None:
            raise DEMError(
                f"{path} has no coordinate reference system, so it cannot be placed under "
                "the network; set one, e.g. `gdal_edit.py -a_srs EPSG:32650 FILE`."
            )
        crs = src.crs.to_wkt()
        # The network's extent grown by the margin, in the DEM's CRS.
        x, y = net.projector.forward(net.node_lon, net.node_lat)
        x0, x1 = float(x.min()) - margin_m, float(x.max()) + margin_m
        y0, y1 = float(y.min()) - margin_m, float(y.max()) + margin_m
        ring = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        lon, lat = net.projector.inverse(ring[:, 0], ring[:, 1])
        corners = _dem_xy(crs, lon, lat)
        nodes = _dem_xy(crs, net.node_lon, net.node_lat)
        b = src.bounds
        inside = (
            (nodes[:, 0] >= b.left)
            & (nodes[:, 0] <= b.right)
            & (nodes[:, 1] >= b.bottom)
            & (nodes[:, 1] <= b.top)
        )
        if not inside.any():
            raise DEMError(
                f"{path} does not overlap the network: the DEM covers x {b.left:.6g} to "
                f"{b.right:.6g}, y {b.bottom:.6g} to {b.top:.6g} in its CRS, and none of the "
                f"{net.node_lon.size} road nodes lies in it. Give a DEM of the same area."
            )
        want = rasterio.windows.from_bounds(
            float(corners[:, 0].min()),
            float(corners[:, 1].min()),
            float(corners[:, 0].max()),
            float(corners[:, 1].max()),
            transform=src.transform,
        )
        c0, r0 = max(0, int(np.floor(want.col_off))), max(0, int(np.floor(want.row_off)))
        c1 = min(src.width, int(np.ceil(want.col_off + want.width)))
        r1 = min(src.height, int(np.ceil(want.row_off + want.height)))
        window = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
        band = src.read(1, window=window, masked=True).astype(float)
        z = np.ma.filled(band, np.nan)
        transform = src.window_transform(window)
    return DEMGrid(z=np.asarray(z, dtype=float), transform=transform, crs=crs, path=path)


def find_sinks(
    z: np.ndarray, *, min_depth_m: float = SINK_DEPTH_M
) -> tuple[np.ndarray, np.ndarray]:
    """Label the local sinks of an elevation grid (rule steps 1-2 of the module).

    Parameters
    ----------
    z
        Elevation [m], NaN where unknown.
    min_depth_m
        Filled − DEM beyond which a cell is in a sink [m].

    Returns
    -------
    labels : numpy.ndarray
        0 outside every sink, else the sink's number (1, 2, ...; 8-connected).
    depth : numpy.ndarray
        Filled DEM − DEM [m] (0 on no-data cells).
    """
    from affine import Affine
    from pysheds.grid import Grid
    from pysheds.sview import Raster, ViewFinder
    from scipy import ndimage

    vf = ViewFinder(affine=Affine.identity(), shape=z.shape, nodata=np.nan)
    raster = Raster(np.array(z, dtype=np.float64), viewfinder=vf)
    filled = np.asarray(Grid.from_raster(raster).fill_depressions(raster), dtype=float)
    depth = np.nan_to_num(filled - z, nan=0.0)
    labels, _ = ndimage.label(depth > min_depth_m, structure=np.ones((3, 3), dtype=int))
    return np.asarray(labels), depth


def _to_xy(t: Any, col: float, row: float) -> tuple[float, float]:
    """x, y of a (fractional) column, row under an affine transform."""
    return (t.a * col + t.b * row + t.c, t.d * col + t.e * row + t.f)


def _to_col_row(t: Any, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Fractional) column, row of x, y under an affine transform (its inverse)."""
    det = t.a * t.e - t.b * t.d
    dx, dy = x - t.c, y - t.f
    return (t.e * dx - t.b * dy) / det, (t.a * dy - t.d * dx) / det


def _cell_area_m2(net: RoadNetwork, dem: DEMGrid, col: float, row: float) -> float:
    """Ground area of the DEM cell at (col, row) [m²], in the network's projection."""
    from pyproj import Transformer

    corners = [
        _to_xy(dem.transform, col + dc, row + dr) for dc, dr in ((0, 0), (1, 0), (1, 1), (0, 1))
    ]
    to_wgs = Transformer.from_crs(dem.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform([c[0] for c in corners], [c[1] for c in corners])
    x, y = net.projector.forward(np.asarray(lon), np.asarray(lat))
    return float(shapely.Polygon(np.column_stack([x, y])).area)


def dem_low_points(
    net: RoadNetwork,
    dem: str | Path | DEMGrid,
    *,
    min_depth_m: float = SINK_DEPTH_M,
) -> Any:
    """One low point at the lowest road node of each DEM sink (see the module rule).

    Parameters
    ----------
    net
        The network.
    dem
        A GeoTIFF path, or a grid from :func:`read_dem`.
    min_depth_m
        Filled − DEM beyond which a cell is in a sink [m].

    Returns
    -------
    geopandas.GeoDataFrame
        The ``low_points`` columns, ids ``lp-dem-001``, ... deepest sink first (then by
        node id); each point exactly at its node; ``kind`` ``"intersection"`` at a node
        of three or more neighbours, else ``"road_section"``.
    """
    from scipy import ndimage

    from twin.network.layer_schema import layer_frame

    grid = dem if isinstance(dem, DEMGrid) else read_dem(dem, net)
    labels, depth = find_sinks(grid.z, min_depth_m=min_depth_m)
    xy = _dem_xy(grid.crs, net.node_lon, net.node_lat)
    col, row = _to_col_row(grid.transform, xy[:, 0], xy[:, 1])
    rows_n, cols_n = grid.z.shape
    ci, ri = np.floor(col).astype(int), np.floor(row).astype(int)
    inside = (ci >= 0) & (ci < cols_n) & (ri >= 0) & (ri < rows_n)
    sink = np.zeros(net.node_lon.size, dtype=int)
    sink[inside] = labels[ri[inside], ci[inside]]
    # Bilinear DEM at each node (cell centres at +0.5).
    z_node = ndimage.map_coordinates(
        np.nan_to_num(grid.z, nan=float(np.nanmax(grid.z)) + 1e3),  # no data: never lowest
        [row - 0.5, col - 0.5],
        order=1,
        mode="nearest",
    )
    degree = np.array(
        [len(set(net.G.successors(n)) | set(net.G.predecessors(n))) for n in net.node_ids]
    )
    found: list[tuple[float, int, int, float]] = []  # -depth, node id, position, area
    for k in np.unique(sink[sink > 0]):
        members = np.flatnonzero(sink == k)
        best = min(members, key=lambda i: (float(z_node[i]), int(net.node_ids[i])))
        cells = labels == k
        area = float(cells.sum()) * _cell_area_m2(net, grid, float(ci[best]), float(ri[best]))
        found.append((-float(depth[cells].max()), int(net.node_ids[best]), int(best), area))
    found.sort()
    rows: list[dict[str, Any]] = []
    points: list[Any] = []
    for n, (neg_depth, node_id, i, area) in enumerate(found, start=1):
        rows.append(
            {
                "id": f"lp-dem-{n:03d}",
                "name": f"DEM sink at node {node_id}",
                "kind": "intersection" if degree[i] >= 3 else "road_section",
                "origin": "dem",
                "illustrative": False,
                "derived": True,
                "source": f"derived from the DEM {grid.path.name}: lowest road node of a sink "
                f"{-neg_depth:.2f} m deep (filled DEM − DEM > {min_depth_m:g} m, priority-flood "
                "filling by pysheds)",
                "sink_depth_m": round(-neg_depth, 3),
                "sink_area_m2": round(area, 1),
            }
        )
        points.append(shapely.Point(float(net.node_lon[i]), float(net.node_lat[i])))
    return layer_frame("low_points", rows, points)


def add_dem_low_points(net: RoadNetwork, dem: str | Path, *, merge_m: float = MERGE_M) -> int:
    """Add the DEM sink low points to ``net.layers["low_points"]`` beside the tunnels.

    Points within ``merge_m`` [m] of a low point already there (a tunnel), or of the
    node it snapped to, are dropped;
    ``net.meta["derived_layers"]["low_points"]`` says how many were added.

    Returns
    -------
    int
        Low points added [-].
    """
    import pandas as pd

    from twin.network.layers import snap_layer

    found = dem_low_points(net, dem)
    old = net.layers.get("low_points")
    n_found = len(found)
    if old is not None and len(old) and n_found:
        # A tunnel is where its point is, and at the node it snapped to (a portal).
        lon, lat = old.geometry.x.to_numpy(), old.geometry.y.to_numpy()
        if "node" in old.columns:
            at = net.node_position(old["node"].to_numpy(dtype=np.int64))
            lon = np.concatenate([lon, net.node_lon[at]])
            lat = np.concatenate([lat, net.node_lat[at]])
        ox_, oy_ = net.projector.forward(lon, lat)
        nx_, ny_ = net.projector.forward(found.geometry.x.to_numpy(), found.geometry.y.to_numpy())
        d = np.hypot(nx_[:, None] - ox_[None, :], ny_[:, None] - oy_[None, :])
        found = found[d.min(axis=1) > merge_m]
    dropped = n_found - len(found)
    if len(found):
        snapped = snap_layer(found, net, "low_points", drop_far=True)
        merged = snapped if old is None else pd.concat([old, snapped], ignore_index=True)
        net.layers["low_points"] = type(snapped)(merged, geometry="geometry", crs=snapped.crs)
    report = net.meta.setdefault("derived_layers", {})
    tunnels = report.get("low_points", "")
    what = f"{len(found)} from DEM sinks" + (
        f" ({dropped} within {merge_m:g} m of a tunnel dropped)" if dropped else ""
    )
    report["low_points"] = (
        f"{tunnels}; {what}" if tunnels and not tunnels.startswith("none") else what
    )
    logger.info("DEM %s: %d sink low point(s), %d merged with tunnels", dem, len(found), dropped)
    return len(found)
