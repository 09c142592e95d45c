"""City layers: docks, sites, depots, plazas and low points, as validated GeoJSON.

A layer is one GeoJSON ``FeatureCollection`` in WGS84 lon/lat named after the layer
(``docks.geojson``, ...). :data:`LAYER_SCHEMAS` (defined in
:mod:`twin.network.layer_schema`, re-exported here) is the one source of what each layer
must hold. :func:`read_layer` validates a file against it; :func:`attach_layers` loads
a folder onto a network and snaps every feature to its nearest node. Every feature
carries ``illustrative`` (true unless derived from real data) and ``source`` (how it
was placed). Underpass low points
are derived from the network's OpenStreetMap tunnel tags (:func:`derive_low_points`) and
merged with a user list (:func:`merge_low_points`).

References
----------
.. [1] RFC 7946, The GeoJSON Format, https://www.rfc-editor.org/rfc/rfc7946
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from twin._types import FloatArray, IntArray
from twin.errors import InputFileNotFoundError, LayerError
from twin.network.layer_schema import (
    ADDED_COLUMNS,
    DEFAULT_MAX_SNAP_M,
    LAYER_SCHEMAS,
    FieldSpec,
    LayerSchema,
    layer_frame,
    load_features,
    parse_hours,
    schema_markdown,
    validate_features,
)
from twin.network.layer_snap import snap_features as _snap
from twin.network.layer_snap import snap_layer
from twin.network.road_network import RoadNetwork

__all__ = [
    "DEFAULT_MAX_SNAP_M",
    "LAYER_SCHEMAS",
    "TUNNEL_JOIN_M",
    "FieldSpec",
    "LayerSchema",
    "attach_layers",
    "derive_low_points",
    "merge_low_points",
    "parse_hours",
    "read_layer",
    "sample_sites",
    "schema_markdown",
    "snap_layer",
    "tunnel_groups",
    "write_default_low_points",
    "write_layer",
]

logger = logging.getLogger(__name__)

#: Tunnel edges closer than this form one underpass [m] (parallel carriageways and a
#: tunnel cut by a junction lie 5–45 m apart in the Gongshu network).
TUNNEL_JOIN_M = 50.0
#: Share of the snapping tolerance a derived tunnel point may lie from its end node [-].
_REACH = 0.98
#: Files read as another layer: the user list of low points.
_ALIASES = {"low_points_user": "low_points"}


# ---------------------------------------------------------------------------- reading


def read_layer(
    path: str | Path,
    *,
    layer: str | None = None,
    net: RoadNetwork | None = None,
    max_snap_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Read and validate one layer file, optionally snapping it to a network.

    Parameters
    ----------
    path
        A GeoJSON FeatureCollection in WGS84 lon/lat.
    layer
        Layer name in :data:`LAYER_SCHEMAS`; by default the file name without
        ``.geojson`` (``low_points_user`` reads as ``low_points``).
    net
        When given, each feature (a polygon by its centroid) is snapped to its nearest
        node: columns ``node`` (OSM node id) and ``snap_distance_m`` [m] are added.
    max_snap_m
        Farthest a feature may lie from its nearest node [m]; the schema's when ``None``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per feature (EPSG:4326): the schema's properties in order (null where an
        optional one is absent), then any extra properties.

    Raises
    ------
    InputFileNotFoundError
        If the file does not exist.
    LayerError
        If the layer is unknown, the file is not GeoJSON, a feature breaks the schema
        (missing or mistyped property, wrong geometry, duplicate id) or lies beyond
        ``max_snap_m`` from the network. The message names the file, the feature and
        the field.
    """
    path = Path(path)
    stem = path.name.removesuffix(".geojson")
    name = layer or _ALIASES.get(stem, stem)
    if name not in LAYER_SCHEMAS:
        raise LayerError(f"{path}: unknown layer {name!r}; known: {', '.join(LAYER_SCHEMAS)}.")
    rows, geoms = validate_features(load_features(path), layer=name, path=path)
    gdf = layer_frame(name, rows, geoms)
    if not rows:
        logger.warning("layer %s: %s holds no features", name, path)
    if net is not None:
        tol = LAYER_SCHEMAS[name].max_snap_m if max_snap_m is None else max_snap_m
        gdf = _snap(gdf, net, path, name, tol)
    logger.info("layer %s: %d feature(s) from %s", name, len(gdf), path)
    return gdf


def attach_layers(
    net: RoadNetwork, folder: str | Path, *, derive_missing_low_points: bool = True
) -> None:
    """Load every known layer file of a folder onto a network, into ``net.layers``.

    Each ``<layer>.geojson`` of :data:`LAYER_SCHEMAS` present is read with
    :func:`read_layer`, validated, snapped, and stored as ``net.layers[<layer>]``;
    other files are ignored.

    Parameters
    ----------
    net
        The network to snap to; its ``layers`` dict is updated in place.
    folder
        The folder of layer files.
    derive_missing_low_points
        Without ``low_points.geojson`` in the folder, derive low points from the
        network's tunnel edges (snapped to the tunnels' own nodes, see
        :func:`derive_low_points`), merged with ``low_points_user.geojson`` if present
        (no layer when there are neither).

    Raises
    ------
    InputFileNotFoundError
        If the folder does not exist.
    LayerError
        If a layer file is invalid (see :func:`read_layer`).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileNotFoundError(f"{folder}: no such layer folder.")
    for name in LAYER_SCHEMAS:
        if (folder / f"{name}.geojson").exists():
            net.layers[name] = read_layer(folder / f"{name}.geojson", layer=name, net=net)
    if "low_points" not in net.layers and derive_missing_low_points:
        low = derive_low_points(net, own_nodes=True)
        user = folder / "low_points_user.geojson"
        if user.exists():
            low = merge_low_points(low, read_layer(user, layer="low_points"))
        if len(low) == 0:
            logger.info("layer low_points: none (no tunnel edges, no %s)", user.name)
            return
        where = f"{folder}: low points derived from tunnel edges and {user.name}"
        net.layers["low_points"] = _snap(
            low, net, where, "low_points", LAYER_SCHEMAS["low_points"].max_snap_m
        )
        logger.info("layer low_points: %d derived (no low_points.geojson in %s)", len(low), folder)


# ---------------------------------------------------------------------------- low points


def tunnel_groups(net: RoadNetwork, *, join_m: float = TUNNEL_JOIN_M) -> list[IntArray]:
    """Group a network's tunnel edges into underpasses.

    Two tunnel edges belong to one underpass when they share a node or lie within
    ``join_m`` of each other; groups are the connected components (union-find).

    Parameters
    ----------
    net
        The network (``net.tunnel`` marks tunnel edges).
    join_m
        Largest gap between edges of one underpass [m].

    Returns
    -------
    list of ndarray
        Sorted edge positions of each underpass, the groups ordered by their smallest
        OSM node id (independent of the graph's edge order).
    """
    edges = np.flatnonzero(net.tunnel).astype(np.int64)
    parent = list(range(edges.size))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)

    first: dict[int, int] = {}
    for i, e in enumerate(edges.tolist()):
        for n in (int(net.edge_u[e]), int(net.edge_v[e])):
            union(i, first.setdefault(n, i))
    if join_m > 0 and edges.size:
        geoms = net.projector.geometries(net.edge_geometries()[edges])
        left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=join_m)
        for a, b in zip(left.tolist(), right.tolist(), strict=True):
            union(a, b)
    roots = np.array([find(i) for i in range(edges.size)], dtype=np.int64)
    groups = [np.sort(edges[roots == r]) for r in np.unique(roots)]
    return sorted(
        groups, key=lambda g: int(net.node_ids[np.r_[net.edge_u[g], net.edge_v[g]]].min())
    )


def _nearest_road(net: RoadNetwork, lon: FloatArray, lat: FloatArray, max_m: float) -> list[str]:
    """Name of the nearest named edge to each point ("" if none within ``max_m`` [m])."""
    named = np.flatnonzero(net.name != "")
    out = [""] * len(lon)
    if named.size == 0 or len(lon) == 0:
        return out
    tree = shapely.STRtree(net.projector.geometries(net.edge_geometries()[named]))
    pts = shapely.points(*net.projector.forward(lon, lat))
    found = tree.query_nearest(pts, max_distance=max_m, all_matches=False)
    for p, g in zip(found[0].tolist(), found[1].tolist(), strict=True):
        out[p] = str(net.name[named[g]])
    return out


def derive_low_points(
    net: RoadNetwork,
    *,
    join_m: float = TUNNEL_JOIN_M,
    own_nodes: bool = False,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> gpd.GeoDataFrame:
    """One low point per underpass, from the network's tunnel edges.

    Tunnel edges are grouped with :func:`tunnel_groups`. Each underpass gets one point at
    the middle (by length) of its longest edge, where water gathers in a sagging
    underpass; among equally long edges the one with the smallest OSM ``(u, v)`` ids is
    taken, so both directions of a two-way tunnel give the same point.

    With ``own_nodes`` (the build-time derivation, :mod:`twin.network.derive`) the
    points are marked ``derived: true`` and snap to the tunnel's own nodes, never to a
    street node above the tunnel (:func:`snap_layer`); on an edge longer than about
    twice ``max_snap_m`` with no node in between (a long river tunnel), the middle is
    out of reach of its nodes, so the point sits ``0.98 * max_snap_m`` along the edge
    from its end with the smaller OSM node id instead.

    Parameters
    ----------
    net
        The network.
    join_m
        Largest gap between edges of one underpass [m].
    own_nodes
        Mark the points ``derived: true`` and keep each within ``max_snap_m`` of its
        tunnel's nodes (see above).
    max_snap_m
        Farthest a point may lie from its tunnel's nearest node [m].

    Returns
    -------
    geopandas.GeoDataFrame
        The ``low_points`` columns: ids ``lp-tunnel-001``, ... in :func:`tunnel_groups`
        order; ``kind="underpass"``, ``origin="tunnel_edge"``, ``illustrative=False``
        (real OSM tunnel tags); ``tunnel_length_m``, half the summed length of the
        directed edges (the underpass length for a two-way road or twin one-way bores) [m];
        ``tunnel_edges`` [-]; ``road_class``. Named after the tunnel's street, else
        after the nearest named street within 150 m.
    """
    geometry = net.edge_geometries()
    rows: list[dict[str, Any]] = []
    points: list[BaseGeometry] = []
    for k, g in enumerate(tunnel_groups(net, join_m=join_m), start=1):
        uv = [(int(net.node_ids[net.edge_u[e]]), int(net.node_ids[net.edge_v[e]])) for e in g]
        best = min(range(g.size), key=lambda i: (-round(float(net.length[g[i]]), 6), uv[i]))
        line = net.projector.geometries(np.array([geometry[g[best]]], dtype=object))[0]
        at = 0.5 * line.length
        if own_nodes and at > _REACH * max_snap_m:  # keep within reach of the tunnel's own end node
            u_id, v_id = uv[best]
            at = _REACH * max_snap_m if u_id < v_id else line.length - _REACH * max_snap_m
        mid = shapely.get_coordinates(line.interpolate(at))[0]
        lon, lat = net.projector.inverse(mid[:1], mid[1:])
        points.append(shapely.Point(round(float(lon[0]), 7), round(float(lat[0]), 7)))
        names = Counter(str(n) for n in net.name[g] if n)
        rows.append(
            {
                "id": f"lp-tunnel-{k:03d}",
                "name": min(names, key=lambda n: (-names[n], n)) if names else "",
                "kind": "underpass",
                "origin": "tunnel_edge",
                "illustrative": False,
                **({"derived": True} if own_nodes else {}),
                "source": f"derived from OpenStreetMap tunnel tags: {g.size} tunnel edge(s) "
                f"within {join_m:g} m of each other, point at the middle of the longest; "
                "© OpenStreetMap contributors, ODbL 1.0",
                "tunnel_length_m": round(0.5 * float(net.length[g].sum()), 1),
                "tunnel_edges": int(g.size),
                "road_class": str(net.road_class[g[best]]),
            }
        )
    xy = shapely.get_coordinates(np.array(points, dtype=object)).reshape(-1, 2)
    for row, road in zip(rows, _nearest_road(net, xy[:, 0], xy[:, 1], 150.0), strict=True):
        if row["name"] and not row["name"].endswith("隧道"):
            row["name"] += " underpass"
        elif not row["name"]:
            row["name"] = f"unnamed underpass near {road}" if road else "unnamed underpass"
    return layer_frame("low_points", rows, points)


def merge_low_points(derived: gpd.GeoDataFrame, user: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Derived underpasses followed by a user list of low points.

    Parameters
    ----------
    derived
        From :func:`derive_low_points`.
    user
        A validated ``low_points`` layer (``low_points_user.geojson`` read with
        :func:`read_layer`).

    Returns
    -------
    geopandas.GeoDataFrame
        Both, in that order, with a fresh index (``node`` and ``snap_distance_m`` are
        dropped: snap the result again).

    Raises
    ------
    LayerError
        If an id occurs in both.
    """
    both = sorted(set(derived["id"]) & set(user["id"]))
    if both:
        raise LayerError(
            f"low points: id(s) {both[:5]} occur among both the derived underpasses and the "
            "user list; rename the user's (derived ids start with 'lp-tunnel-')."
        )
    parts = [
        df.drop(columns=[c for c in ADDED_COLUMNS if c in df.columns]) for df in (derived, user)
    ]
    merged = pd.concat(parts, ignore_index=True)
    for spec in LAYER_SCHEMAS["low_points"].fields:
        if spec.type == "int" and spec.name in merged.columns:
            merged[spec.name] = merged[spec.name].astype("Int64")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326")


# ---------------------------------------------------------------------------- sites


def sample_sites(
    net: RoadNetwork,
    boundary: BaseGeometry,
    *,
    n: int = 30,
    seed: int = 20_240_601,
    min_spacing_m: float = 900.0,
    total_spoil_m3_per_day: float = 27_600.0,
) -> gpd.GeoDataFrame:
    """Illustrative construction sites at randomly chosen network nodes.

    Nodes inside ``boundary`` are visited in a random order and kept when at least
    ``min_spacing_m`` from every site kept so far, until ``n`` are kept. Daily spoil is
    drawn from a gamma distribution (shape 2) and scaled to ``total_spoil_m3_per_day``;
    working hours are drawn from three night-time windows.

    Parameters
    ----------
    net
        The network whose nodes are candidates.
    boundary
        The area to sample, WGS84.
    n
        Number of sites.
    seed
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same sites.
    min_spacing_m
        Smallest distance between sites [m].
    total_spoil_m3_per_day
        Spoil of all sites together [m³/d]; the default, at 12 m³ a truck, is about the
        published 2,300 muck-truck trips a day in Gongshu.

    Returns
    -------
    geopandas.GeoDataFrame
        A ``sites`` layer, ``illustrative=True``.
    """
    rng = np.random.default_rng(seed)
    inside = np.flatnonzero(shapely.contains_xy(boundary, net.node_lon, net.node_lat))
    x, y = net.projector.forward(net.node_lon, net.node_lat)
    kept: list[int] = []
    for p in rng.permutation(inside).tolist():
        if all(math.hypot(x[p] - x[q], y[p] - y[q]) >= min_spacing_m for q in kept):
            kept.append(p)
            if len(kept) == n:
                break
    spoil = rng.gamma(2.0, size=len(kept))
    spoil = np.round(spoil / spoil.sum() * total_spoil_m3_per_day, -1)
    hours = rng.choice(
        ["20:00-06:00", "22:00-06:00", "19:00-05:00"], size=len(kept), p=[0.6, 0.2, 0.2]
    )
    roads = _nearest_road(net, net.node_lon[kept], net.node_lat[kept], 300.0)
    rows = [
        {
            "id": f"site-{k + 1:02d}",
            "name": f"Site {k + 1:02d}"
            + (f" near {roads[k]}" if roads[k] else "")
            + " (illustrative)",
            "spoil_m3_per_day": float(spoil[k]),
            "working_hours": str(hours[k]),
            "illustrative": True,
            "source": f"generated: twin.network.layers.sample_sites(seed={seed}, n={n}, "
            f"min_spacing_m={min_spacing_m:g}) at a node of the OSM network; not a real site",
        }
        for k in range(len(kept))
    ]
    points = [shapely.Point(float(net.node_lon[p]), float(net.node_lat[p])) for p in kept]
    return layer_frame("sites", rows, points)


# ---------------------------------------------------------------------------- writing


def _plain(value: Any) -> Any:
    """A JSON-ready value; ``None`` for missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def write_layer(gdf: gpd.GeoDataFrame, path: str | Path, *, layer: str, precision: int = 7) -> Path:
    """Write a layer as a GeoJSON FeatureCollection, one feature per line.

    Properties go in schema order, then extras; null properties and the columns added
    by snapping (``node``, ``snap_distance_m``) are left out.

    Parameters
    ----------
    gdf
        The layer, WGS84 lon/lat.
    path
        The file to write.
    layer
        Its name in :data:`LAYER_SCHEMAS`.
    precision
        Decimal places of coordinates [deg] (7 ≈ 1 cm).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    order = [s.name for s in LAYER_SCHEMAS[layer].fields]
    cols = [c for c in gdf.columns if c not in order and c != gdf.geometry.name]
    cols = [c for c in order if c in gdf.columns] + [c for c in cols if c not in ADDED_COLUMNS]
    lines = []
    for i in range(len(gdf)):
        props = {c: _plain(gdf[c].iloc[i]) for c in cols}
        geom = shapely.transform(gdf.geometry.iloc[i], lambda xy: np.round(xy, precision))
        feature = {
            "type": "Feature",
            "properties": {k: v for k, v in props.items() if v is not None},
            "geometry": mapping(geom),
        }
        lines.append(json.dumps(feature, ensure_ascii=False))
    path = Path(path)
    head = f'{{"type": "FeatureCollection", "name": "{layer}", "features": [\n'
    path.write_text(head + ",\n".join(lines) + "\n]}\n", encoding="utf-8")
    return path


def write_default_low_points(net: RoadNetwork, folder: str | Path) -> Path:
    """Regenerate ``low_points.geojson``: derived underpasses plus the user list.

    Parameters
    ----------
    net
        The network whose tunnel edges give the underpasses (for the shipped file, the
        default Gongshu network, ``default_network(layers=False)``).
    folder
        The layer folder; its ``low_points_user.geojson`` is merged in when present.

    Returns
    -------
    pathlib.Path
        The file written, ``folder / "low_points.geojson"``.
    """
    folder = Path(folder)
    low = derive_low_points(net)
    if (folder / "low_points_user.geojson").exists():
        low = merge_low_points(
            low, read_layer(folder / "low_points_user.geojson", layer="low_points")
        )
    return write_layer(low, folder / "low_points.geojson", layer="low_points")
