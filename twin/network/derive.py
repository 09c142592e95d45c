"""City layers derived from OpenStreetMap at build time.

When a network is built from an OSM file (:func:`twin.network.build.build_network`),
the tagged objects read with it (:mod:`twin.network.osm`) give the city layers the
models need. Every derived feature carries ``derived: true``, ``osm_id``
(``"way/155883034"``) and ``osm_tags`` (the object's tags, as JSON text), and is
snapped to the network like a user file (a feature farther than the layer's
tolerance from every node is dropped, and the count logged). A user GeoJSON of the same
layer (``<layer>.geojson`` in the ``layers`` folder) replaces the derived layer whole.

Rules
-----
plazas
    Areas (closed ways, multipolygons) tagged ``place=square``, or ``highway=pedestrian``
    with ``area=yes``, of at least :data:`MIN_PLAZA_M2`. ``kind="station_plaza"`` when
    within :data:`STATION_PLAZA_M` of a station or entrance, else ``"square"``. A rail
    (not metro) station with no plaza that near gets a forecourt: a disc of radius
    :data:`FORECOURT_RADIUS_M` at the station, ``illustrative: true``.
stations
    ``railway=station|halt`` or ``public_transport=station`` (nodes, or areas by their
    representative point): ``kind="metro_station"`` when tagged ``station=subway|light_rail``,
    ``subway=yes`` or ``light_rail=yes``, else ``"rail_station"``; objects of the same name
    within :data:`STATION_MERGE_M` are one station. ``railway=subway_entrance|
    train_station_entrance`` give ``kind="entrance"`` with the nearest station's name.
low_points
    Underpasses from the network's tunnel edges (:func:`twin.network.layers.derive_low_points`),
    snapped to the tunnel's own nodes, never to a street above it.
sites
    Areas tagged ``landuse=construction``, at their representative point. OSM has no
    spoil volume: ``spoil_m3_per_day`` is :data:`SPOIL_M3_PER_M2_DAY` times the area,
    clipped to [20, 2000] m³/d, and ``working_hours`` ``"20:00-06:00"`` (night hauling),
    so each site is ``illustrative: true``.
depots
    ``amenity=townhall``, ``office=government`` and ``amenity=police`` (nodes or areas);
    objects within :data:`DEPOT_MERGE_M` of one already kept are the same office. With
    none, a grid: one depot at the node nearest the centre of each
    :data:`DEPOT_GRID_M` square cell of the network's extent that has a node within
    half a cell (``illustrative: true``).
docks
    Never derived: muck docks are user-supplied (``docks.geojson``). Without them the
    muck-truck model is off, and the build says so (``meta["models_off"]``).

When OSM lacks the tags
-----------------------
A layer with no matching object is absent (depots fall back to the grid), and
``meta["derived_layers"]`` says so. Add the missing objects to OpenStreetMap, or write
the layer yourself as GeoJSON (schema in ``data/layers/README.md``) and build with
``--layers FOLDER``: a user file replaces the derived layer.

References
----------
.. [1] OSM wiki, Key:place (square), Tag:highway=pedestrian, Key:railway,
   Key:public_transport, Tag:landuse=construction, Tag:amenity=townhall,
   Tag:office=government, Tag:amenity=police, https://wiki.openstreetmap.org
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely

from twin.network.layer_schema import LAYER_SCHEMAS, layer_frame
from twin.network.osm import OSMFeature
from twin.network.road_network import RoadNetwork

__all__ = [
    "DEPOT_GRID_M",
    "MODELS_OFF_WITHOUT",
    "OSM_QUERY_TAGS",
    "derive_layers",
    "wanted",
]

logger = logging.getLogger(__name__)

#: Smallest derived plaza [m²].
MIN_PLAZA_M2 = 200.0
#: A plaza this close to a station or entrance is a station plaza [m].
STATION_PLAZA_M = 150.0
#: Radius of the forecourt given to a rail station without a plaza [m].
FORECOURT_RADIUS_M = 50.0
#: Station objects of one name this close are one station [m].
STATION_MERGE_M = 300.0
#: Spoil per site area per day, for ``landuse=construction`` [m³ m⁻² d⁻¹].
SPOIL_M3_PER_M2_DAY = 0.05
#: Offices this close are one depot [m].
DEPOT_MERGE_M = 100.0
#: Cell size of the fallback depot grid [m].
DEPOT_GRID_M = 2000.0
#: Which model is off without which layer, and why (said by the build and the CLI).
MODELS_OFF_WITHOUT = {
    "docks": (
        "trucks",
        "no muck docks: they are user-supplied (docks.geojson in --layers FOLDER); the "
        "muck-truck model is off",
    ),
}

_ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0"


#: The tags to ask Overpass for (osmnx ``features_from_*``): a superset of :func:`wanted`,
#: whose answer is filtered with it.
OSM_QUERY_TAGS: dict[str, bool | str | list[str]] = {
    "place": "square",
    "highway": "pedestrian",
    "railway": ["station", "halt", "subway_entrance", "train_station_entrance"],
    "public_transport": "station",
    "landuse": "construction",
    "amenity": ["townhall", "police"],
    "office": "government",
}


def wanted(tags: Mapping[str, str]) -> bool:
    """Whether an OSM object with these tags feeds a derived layer (see the module rules)."""
    return (
        tags.get("place") == "square"
        or (tags.get("highway") == "pedestrian" and tags.get("area") == "yes")
        or tags.get("railway") in ("station", "halt", "subway_entrance", "train_station_entrance")
        or tags.get("public_transport") == "station"
        or tags.get("landuse") == "construction"
        or tags.get("amenity") in ("townhall", "police")
        or tags.get("office") == "government"
    )


def _osm_props(f: OSMFeature) -> dict[str, Any]:
    return {
        "derived": True,
        "osm_id": f.ref,
        "osm_tags": json.dumps(dict(sorted(f.tags.items())), ensure_ascii=False),
    }


def _point(geom: Any) -> Any:
    return geom if geom.geom_type == "Point" else shapely.Point(geom.representative_point())


def _xy(net: RoadNetwork, geoms: Sequence[Any]) -> np.ndarray:
    """Projected x, y [m] of each geometry's representative point."""
    if not geoms:
        return np.empty((0, 2))
    pts = shapely.get_coordinates([_point(g) for g in geoms])
    x, y = net.projector.forward(pts[:, 0], pts[:, 1])
    return np.column_stack([x, y])


def _near(a: np.ndarray, b: np.ndarray, dist: float) -> np.ndarray:
    """Whether each point of ``a`` lies within ``dist`` [m] of a point of ``b``."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros(len(a), dtype=bool)
    d = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
    return np.asarray(d.min(axis=1) <= dist)


def _is_metro(tags: Mapping[str, str]) -> bool:
    return (
        tags.get("station") in ("subway", "light_rail")
        or tags.get("subway") == "yes"
        or tags.get("light_rail") == "yes"
    )


def _stations(
    net: RoadNetwork, features: Sequence[OSMFeature]
) -> tuple[list[dict[str, Any]], list[Any]]:
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    kept_xy: list[tuple[float, float, str]] = []
    stations = [
        f
        for f in features
        if f.tags.get("railway") in ("station", "halt")
        or f.tags.get("public_transport") == "station"
    ]
    stations.sort(key=lambda f: (f.osm_type != "node", f.osm_type, f.osm_id))
    for f, (x, y) in zip(stations, _xy(net, [f.geometry for f in stations]), strict=True):
        name = f.tags.get("name", "")
        if any(n == name and np.hypot(x - kx, y - ky) <= STATION_MERGE_M for kx, ky, n in kept_xy):
            continue
        kept_xy.append((x, y, name))
        kind = "metro_station" if _is_metro(f.tags) else "rail_station"
        rows.append(
            {
                "id": f"station-{f.osm_type}-{f.osm_id}",
                "name": name or f"unnamed station ({f.ref})",
                "kind": kind,
                "illustrative": False,
                "source": f"derived from OSM {f.ref} (railway/public_transport=station); "
                + _ATTRIBUTION,
                **_osm_props(f),
            }
        )
        geoms.append(_point(f.geometry))
    entrances = [
        f
        for f in features
        if f.tags.get("railway") in ("subway_entrance", "train_station_entrance")
    ]
    station_xy = np.array([(x, y) for x, y, _ in kept_xy]).reshape(-1, 2)
    for f, (x, y) in zip(entrances, _xy(net, [f.geometry for f in entrances]), strict=True):
        station = ""
        if len(station_xy):
            d = np.hypot(station_xy[:, 0] - x, station_xy[:, 1] - y)
            if d.min() <= STATION_MERGE_M:
                station = kept_xy[int(d.argmin())][2]
        rows.append(
            {
                "id": f"entrance-{f.osm_type}-{f.osm_id}",
                "name": f.tags.get("name") or f"{station or 'station'} entrance ({f.ref})",
                "kind": "entrance",
                "station": station or None,
                "illustrative": False,
                "source": f"derived from OSM {f.ref} (railway={f.tags['railway']}); "
                + _ATTRIBUTION,
                **_osm_props(f),
            }
        )
        geoms.append(_point(f.geometry))
    return rows, geoms


def _largest_polygon(geom: Any) -> Any:
    if geom.geom_type == "MultiPolygon":
        return max(geom.geoms, key=lambda g: g.area)
    return geom


def _plazas(
    net: RoadNetwork,
    features: Sequence[OSMFeature],
    stations: Sequence[dict[str, Any]],
    station_geoms: Sequence[Any],
) -> tuple[list[dict[str, Any]], list[Any]]:
    cands = [
        f
        for f in features
        if f.geometry.geom_type in ("Polygon", "MultiPolygon")
        and (
            f.tags.get("place") == "square"
            or (f.tags.get("highway") == "pedestrian" and f.tags.get("area") == "yes")
        )
    ]
    polys = [_largest_polygon(f.geometry) for f in cands]
    proj: list[Any] = list(net.projector.geometries(np.array(polys, dtype=object))) if polys else []
    area = np.array([g.area for g in proj], dtype=float)
    st_xy = _xy(net, list(station_geoms))
    near = _near(_xy(net, polys), st_xy, STATION_PLAZA_M)
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    for i, f in enumerate(cands):
        if area[i] < MIN_PLAZA_M2:
            continue
        what = "place=square" if f.tags.get("place") == "square" else "highway=pedestrian area"
        rows.append(
            {
                "id": f"plaza-{f.osm_type}-{f.osm_id}",
                "name": f.tags.get("name") or f"unnamed square ({f.ref})",
                "kind": "station_plaza" if near[i] else "square",
                "area_m2": round(float(area[i]), 1),
                "illustrative": False,
                "source": f"derived from OSM {f.ref} ({what}); area from its polygon; "
                + _ATTRIBUTION,
                **_osm_props(f),
            }
        )
        geoms.append(polys[i])
    # Forecourts of rail stations that have no plaza nearby.
    plaza_xy = _xy(net, geoms)
    for row, (x, y) in zip(stations, st_xy, strict=True):
        if row["kind"] != "rail_station":
            continue
        if _near(np.array([[x, y]]), plaza_xy, STATION_PLAZA_M)[0]:
            continue
        disc = shapely.Point(x, y).buffer(FORECOURT_RADIUS_M, quad_segs=8)
        lon, lat = net.projector.inverse(*shapely.get_coordinates(disc).T)
        rows.append(
            {
                "id": f"forecourt-{row['osm_id'].replace('/', '-')}",
                "name": f"{row['name']} forecourt",
                "kind": "station_plaza",
                "area_m2": round(float(disc.area), 1),
                "illustrative": True,
                "source": f"assumed: a {FORECOURT_RADIUS_M:g} m disc at rail station "
                f"{row['osm_id']}, which has no square mapped within {STATION_PLAZA_M:g} m",
                "derived": True,
                "osm_id": row["osm_id"],
                "osm_tags": row["osm_tags"],
            }
        )
        geoms.append(shapely.Polygon(np.column_stack([lon, lat])))
    return rows, geoms


def _sites(
    net: RoadNetwork, features: Sequence[OSMFeature]
) -> tuple[list[dict[str, Any]], list[Any]]:
    cands = [
        f
        for f in features
        if f.tags.get("landuse") == "construction"
        and f.geometry.geom_type in ("Polygon", "MultiPolygon")
    ]
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    for f in cands:
        proj = net.projector.geometries(np.array([f.geometry], dtype=object))[0]
        area = float(proj.area)
        spoil = float(np.clip(round(SPOIL_M3_PER_M2_DAY * area, -1), 20.0, 2000.0))
        rows.append(
            {
                "id": f"site-{f.osm_type}-{f.osm_id}",
                "name": f.tags.get("name") or f"construction site ({f.ref})",
                "spoil_m3_per_day": spoil,
                "working_hours": "20:00-06:00",
                "illustrative": True,
                "source": f"derived from OSM {f.ref} (landuse=construction); spoil assumed "
                f"{SPOIL_M3_PER_M2_DAY:g} m³/m²/d × {area:.0f} m², night hours assumed; "
                + _ATTRIBUTION,
                "area_m2": round(area, 1),
                **_osm_props(f),
            }
        )
        geoms.append(_point(f.geometry))
    return rows, geoms


def _depots(
    net: RoadNetwork, features: Sequence[OSMFeature]
) -> tuple[list[dict[str, Any]], list[Any]]:
    cands = [
        f
        for f in features
        if f.tags.get("amenity") in ("townhall", "police") or f.tags.get("office") == "government"
    ]
    cands.sort(key=lambda f: (f.osm_type != "node", f.osm_type, f.osm_id))
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    kept: list[tuple[float, float]] = []
    for f, (x, y) in zip(cands, _xy(net, [f.geometry for f in cands]), strict=True):
        if any(np.hypot(x - kx, y - ky) <= DEPOT_MERGE_M for kx, ky in kept):
            continue
        kept.append((x, y))
        what = next(
            f"{k}={f.tags[k]}"
            for k in ("amenity", "office")
            if k in f.tags and wanted({k: f.tags[k]})
        )
        rows.append(
            {
                "id": f"depot-{f.osm_type}-{f.osm_id}",
                "name": f.tags.get("name") or f"{what} ({f.ref})",
                "street": f.tags.get("addr:street") or f.tags.get("name") or "unknown",
                "illustrative": False,
                "source": f"derived from OSM {f.ref} ({what}); " + _ATTRIBUTION,
                **_osm_props(f),
            }
        )
        geoms.append(_point(f.geometry))
    if rows:
        return rows, geoms
    return _depot_grid(net)


def _depot_grid(net: RoadNetwork) -> tuple[list[dict[str, Any]], list[Any]]:
    x, y = net.projector.forward(net.node_lon, net.node_lat)
    x0, y0 = float(x.min()), float(y.min())
    nx_ = max(1, int(np.ceil((float(x.max()) - x0) / DEPOT_GRID_M)))
    ny_ = max(1, int(np.ceil((float(y.max()) - y0) / DEPOT_GRID_M)))
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    seen: set[int] = set()
    for j in range(ny_):
        for i in range(nx_):
            cx, cy = x0 + (i + 0.5) * DEPOT_GRID_M, y0 + (j + 0.5) * DEPOT_GRID_M
            d = np.hypot(x - cx, y - cy)
            k = int(d.argmin())  # ties: the lowest position, i.e. the smallest OSM id
            if d[k] > DEPOT_GRID_M / 2 or k in seen:
                continue
            seen.add(k)
            rows.append(
                {
                    "id": f"depot-grid-{j:02d}-{i:02d}",
                    "name": f"grid depot {j:02d}-{i:02d}",
                    "street": f"grid cell {j:02d}-{i:02d}",
                    "illustrative": True,
                    "source": "assumed: OSM has no townhall, government office or police here; "
                    f"one depot at the node nearest the centre of each {DEPOT_GRID_M:g} m cell",
                    "derived": True,
                }
            )
            geoms.append(shapely.Point(float(net.node_lon[k]), float(net.node_lat[k])))
    return rows, geoms


def derive_layers(
    net: RoadNetwork, features: Sequence[OSMFeature], *, boundary: Any | None = None
) -> dict[str, Any]:
    """Derive the city layers of a network from the OSM objects read with it.

    Parameters
    ----------
    net
        The built network; ``net.layers`` gains each derived layer (snapped) and
        ``net.meta["derived_layers"]`` a line per layer saying what was derived or why
        not; ``net.meta["models_off"]`` names the models that a missing layer turns off.
    features
        From :attr:`twin.network.osm.OSMRead.features` (``keep=wanted``).
    boundary
        The crop polygon (WGS84) the network was built with: objects that do not
        touch it are left out.

    Returns
    -------
    dict
        ``net.meta["derived_layers"]``.
    """
    from twin.network.layers import derive_low_points, snap_layer

    report: dict[str, str] = {}
    if boundary is not None:
        features = [f for f in features if shapely.intersects(boundary, f.geometry)]
    st_rows, st_geoms = _stations(net, features)
    built = {
        "stations": (st_rows, st_geoms),
        "plazas": _plazas(net, features, st_rows, st_geoms),
        "sites": _sites(net, features),
        "depots": _depots(net, features),
    }
    for name, (rows, geoms) in built.items():
        if not rows:
            report[name] = "none: no matching OSM objects (add them to OSM, or give a file)"
            continue
        gdf = snap_layer(layer_frame(name, rows, geoms), net, name, drop_far=True)
        if len(gdf) == 0:
            report[name] = f"none: {len(rows)} OSM object(s) all too far from the network"
            continue
        net.layers[name] = gdf
        grid = name == "depots" and str(gdf["id"].iloc[0]).startswith("depot-grid")
        report[name] = (
            f"{len(gdf)} on a {DEPOT_GRID_M:g} m grid (OSM has no offices)"
            if grid
            else f"{len(gdf)} derived from OSM"
        ) + (
            f" ({len(rows) - len(gdf)} too far from the network dropped)"
            if len(gdf) < len(rows)
            else ""
        )
    low = derive_low_points(net, own_nodes=True)
    if len(low):
        net.layers["low_points"] = snap_layer(low, net, "low_points", drop_far=True)
        report["low_points"] = f"{len(net.layers['low_points'])} underpasses from tunnel edges"
    else:
        report["low_points"] = "none: no tunnel edges in the network"
    report["docks"] = "none: user-supplied only (docks.geojson)"
    net.meta["derived_layers"] = report
    net.meta["models_off"] = {
        model: why for layer, (model, why) in MODELS_OFF_WITHOUT.items() if layer not in net.layers
    }
    for layer, (model, why) in MODELS_OFF_WITHOUT.items():
        if layer not in net.layers:
            logger.info("%s model off: %s", model, why)
    logger.info("derived layers: %s", report)
    assert set(built) <= set(LAYER_SCHEMAS)
    return report
