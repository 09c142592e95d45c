"""Unique, readable names for the points of a layer (low points), from nearby streets.

OpenStreetMap names some underpasses and leaves most nameless; a name derived from the
tunnel alone ("unnamed underpass", "unnamed underpass near 储鑫路") is then shared by
several points, and a planner cannot tell them apart in a menu, a hover text or an
alert. :func:`low_point_names` keeps every real name, names a nameless point after the
two nearest named streets, and makes every name unique, deterministically:

1. A point whose name is empty or starts with ``unnamed`` is named after the two
   nearest distinct named streets within ``radius``: ``underpass near 储鑫路 and
   颜三路`` (one street: ``underpass near 储鑫路``; none: ``underpass lp-tunnel-010``,
   its id).
2. Points that still share a name get the compass direction of each from the middle of
   the points sharing it: ``underpass near 储鑫路 and 颜三路 (north-west)``.
3. Any that still share one get a number in the order of their ids: ``(north, 2)``.

Distances are in the network's projected metres; ties are broken by street name, so
the same network and layer always give the same names.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

import numpy as np
import shapely

from twin.network.road_network import RoadNetwork

__all__ = ["COMPASS", "compass_point", "low_point_names"]

#: The eight compass points, clockwise from north.
COMPASS: tuple[str, ...] = (
    "north",
    "north-east",
    "east",
    "south-east",
    "south",
    "south-west",
    "west",
    "north-west",
)
#: How each kind of low point is called in a derived name.
_KIND_WORDS = {"underpass": "underpass", "intersection": "intersection"}


def compass_point(dx: float, dy: float) -> str:
    """The compass point (one of :data:`COMPASS`) of the direction east ``dx``, north ``dy``."""
    angle = math.degrees(math.atan2(dx, dy)) % 360.0
    return COMPASS[round(angle / 45.0) % 8]


def _nearest_streets(
    net: RoadNetwork, lon: np.ndarray[Any, Any], lat: np.ndarray[Any, Any], radius: float
) -> list[list[str]]:
    """For each point, the named streets within ``radius`` [m], nearest first."""
    named = np.flatnonzero(net.name != "")
    out: list[list[str]] = [[] for _ in range(len(lon))]
    if named.size == 0 or len(lon) == 0:
        return out
    lines = net.projector.geometries(net.edge_geometries()[named])
    x, y = net.projector.forward(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    pts = np.asarray(shapely.points(x, y), dtype=object)
    tree = shapely.STRtree(lines)
    p_idx, e_idx = tree.query(pts, predicate="dwithin", distance=radius)
    dist = np.asarray(shapely.distance(pts[p_idx], lines[e_idx]), dtype=np.float64)
    best: list[dict[str, float]] = [{} for _ in range(len(lon))]
    for p, e, d in zip(p_idx.tolist(), e_idx.tolist(), dist.tolist(), strict=True):
        street = str(net.name[named[e]])
        if d < best[p].get(street, math.inf):
            best[p][street] = d
    for p, streets in enumerate(best):
        out[p] = sorted(streets, key=lambda s: (round(streets[s], 3), s))
    return out


def _derived(kind: str, point_id: str, streets: list[str]) -> str:
    word = _KIND_WORDS.get(kind, kind.replace("_", " ") or "low point")
    if len(streets) >= 2:
        return f"{word} near {streets[0]} and {streets[1]}"
    if streets:
        return f"{word} near {streets[0]}"
    return f"{word} {point_id}"


def low_point_names(
    net: RoadNetwork, layer: Any | None = None, *, radius: float = 400.0
) -> dict[str, str]:
    """A unique, readable name for every low point, by its id.

    Parameters
    ----------
    net
        The road network (street names per edge, its projection).
    layer
        The low points (a GeoDataFrame with ``id``, ``name``, ``kind`` and point or
        polygon geometry); default: the network's ``low_points`` layer.
    radius
        How far to look for named streets around a nameless point [m].

    Returns
    -------
    dict[str, str]
        ``{id: name}`` for every point, in the layer's order; no two names are equal.
        Real names are kept unless two points share one (then both get a direction).

    Raises
    ------
    KeyError
        If ``layer`` is not given and the network has no ``low_points`` layer.
    """
    gdf = layer if layer is not None else net.layers["low_points"]
    ids = [str(i) for i in gdf["id"]]
    given = [str(n) if isinstance(n, str) else "" for n in gdf["name"]]
    kinds = [str(k) for k in gdf["kind"]] if "kind" in gdf else ["low_point"] * len(ids)
    pts = gdf.geometry.representative_point()
    lon = pts.x.to_numpy(dtype=float)
    lat = pts.y.to_numpy(dtype=float)
    nameless = [i for i, n in enumerate(given) if not n.strip() or n.startswith("unnamed")]
    names = list(given)
    if nameless:
        streets = _nearest_streets(net, lon[nameless], lat[nameless], radius)
        for i, near in zip(nameless, streets, strict=True):
            names[i] = _derived(kinds[i], ids[i], near)
    return dict(zip(ids, _unique(names, ids, lon, lat), strict=True))


def _unique(
    names: list[str], ids: list[str], lon: np.ndarray[Any, Any], lat: np.ndarray[Any, Any]
) -> list[str]:
    """``names`` with shared ones told apart by direction, then by number (id order)."""
    out = list(names)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(names):
        groups[name].append(i)
    for name, members in groups.items():
        if len(members) < 2:
            continue
        lon0, lat0 = float(np.mean(lon[members])), float(np.mean(lat[members]))
        scale = math.cos(math.radians(lat0))
        for i in members:
            out[i] = f"{name} ({compass_point((lon[i] - lon0) * scale, lat[i] - lat0)})"
    counts = Counter(out)
    seen: Counter[str] = Counter()
    for i in sorted(range(len(out)), key=lambda i: ids[i]):
        name = out[i]
        if counts[name] > 1:
            seen[name] += 1
            out[i] = (
                f"{name[:-1]}, {seen[name]})" if name.endswith(")") else f"{name} ({seen[name]})"
            )
    while len(set(out)) < len(out):  # a numbered name met a real one: the id decides
        counts = Counter(out)
        out = [f"{n} [{ids[i]}]" if counts[n] > 1 else n for i, n in enumerate(out)]
    return out
