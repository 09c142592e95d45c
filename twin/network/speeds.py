"""Edge speeds, travel times, road classes and tunnel flags.

Speeds come, in order of preference, from

1. an OSM ``maxspeed`` tag (km/h, or ``mph`` converted);
2. a default per OSM ``highway`` class (table :data:`HIGHWAY_SPEED_KPH`);
3. an edge's existing ``speed_kph`` (the bundled Hangzhou network has no OSM tags, only
   the OSRM car profile's speed per edge).

Free-flow travel time is ``length / speed`` [s]. Congestion by hour of day is applied on
top of it by :mod:`twin.network.congestion`, never stored in the graph.

References
----------
.. [1] Project OSRM, ``profiles/car.lua``: default speeds per highway class (the
   profile that produced the bundled Hangzhou network).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "HIGHWAY_SPEED_KPH",
    "add_speeds_and_travel_times",
    "parse_maxspeed",
    "road_class_from_speed",
]

#: Default speed per OSM highway class [km/h], from the OSRM car profile [1]_.
HIGHWAY_SPEED_KPH: dict[str, float] = {
    "motorway": 90.0,
    "motorway_link": 45.0,
    "trunk": 85.0,
    "trunk_link": 40.0,
    "primary": 65.0,
    "primary_link": 30.0,
    "secondary": 55.0,
    "secondary_link": 25.0,
    "tertiary": 40.0,
    "tertiary_link": 20.0,
    "unclassified": 25.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 25.0,
}

#: Speed used when an edge has neither tags nor a speed [km/h].
FALLBACK_SPEED_KPH = 25.0

_MPH = 1.609344
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.IGNORECASE)


def parse_maxspeed(value: Any) -> float | None:
    """Speed [km/h] from an OSM ``maxspeed`` value, or ``None`` if it is not a number.

    Handles ``"50"``, ``"50 km/h"``, ``"30 mph"`` and lists (``["40", "60"]`` or
    ``"40;60"``, whose mean is taken). Zone codes such as ``"CN:urban"`` give ``None``.
    """
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    parts: Iterable[Any] = value if isinstance(value, list) else str(value).split(";")
    speeds = []
    for part in parts:
        m = _NUMBER.match(str(part))
        if m is None:
            continue
        speed = float(m.group(1))
        if m.group(2) and m.group(2).lower() == "mph":
            speed *= _MPH
        if speed > 0:
            speeds.append(speed)
    return sum(speeds) / len(speeds) if speeds else None


def _first(value: Any) -> Any:
    """The first item of an OSM tag that osmnx merged into a list on simplification."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def road_class_from_speed(speed_kph: float) -> str:
    """Road class implied by a free-flow speed, for networks without ``highway`` tags.

    The bins follow the OSRM car profile defaults [1]_: ``"arterial"`` ≥ 50 km/h
    (primary, secondary, trunk, motorway), ``"collector"`` 30–50 km/h (tertiary),
    ``"local"`` below (residential, service).
    """
    if speed_kph >= 50.0:
        return "arterial"
    if speed_kph >= 30.0:
        return "collector"
    return "local"


def _truthy_tag(value: Any) -> bool:
    value = _first(value)
    if value is None:
        return False
    return str(value).lower() in {"yes", "true", "1", "building_passage", "covered"}


def add_speeds_and_travel_times(
    G: nx.MultiDiGraph,
    *,
    highway_speeds: Mapping[str, float] | None = None,
) -> nx.MultiDiGraph:
    """Set ``speed_kph`` [km/h], ``travel_time`` [s], ``road_class`` and ``tunnel`` on edges.

    Parameters
    ----------
    G
        A graph with ``length`` [m] on every edge. Modified in place and returned.
    highway_speeds
        Override of the default speed per highway class [km/h].

    Returns
    -------
    networkx.MultiDiGraph
        ``G``, with every edge carrying ``speed_kph``, ``travel_time``, ``road_class``,
        ``tunnel`` (bool) and ``speed_source`` (``"maxspeed"``, ``"highway"``,
        ``"speed_kph"`` or ``"fallback"``).
    """
    table = dict(HIGHWAY_SPEED_KPH)
    if highway_speeds:
        table.update(highway_speeds)
    for _, _, data in G.edges(data=True):
        highway = _first(data.get("highway"))
        speed = parse_maxspeed(data.get("maxspeed"))
        source = "maxspeed"
        if speed is None and highway is not None and str(highway) in table:
            speed, source = table[str(highway)], "highway"
        if speed is None and data.get("speed_kph") is not None:
            existing = float(data["speed_kph"])
            if existing > 0 and not math.isnan(existing):
                speed, source = existing, "speed_kph"
        if speed is None:
            speed, source = FALLBACK_SPEED_KPH, "fallback"
        length = float(data.get("length", 0.0))
        data["speed_kph"] = float(speed)
        data["speed_source"] = source
        data["travel_time"] = length / (speed / 3.6)
        if highway is not None and str(highway) in table:
            data["road_class"] = road_class_from_speed(table[str(highway)])
        else:
            data["road_class"] = road_class_from_speed(float(speed))
        classes = str(data.get("osrm_classes") or "")
        data["tunnel"] = _truthy_tag(data.get("tunnel")) or "tunnel" in classes.split(",")
    return G
