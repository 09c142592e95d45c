"""Road networks: OSM → routable graph, CSR arrays, snapping, closures, city layers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin._lazy import lazy_exports

if TYPE_CHECKING:
    from twin.network.build import build_network, default_network, load_network, save_network
    from twin.network.congestion import CongestionProfile
    from twin.network.road_network import RoadNetwork, Route

__all__ = [
    "CongestionProfile",
    "RoadNetwork",
    "Route",
    "build_network",
    "default_network",
    "load_network",
    "save_network",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CongestionProfile": "twin.network.congestion",
        "RoadNetwork": "twin.network.road_network",
        "Route": "twin.network.road_network",
        "build_network": "twin.network.build",
        "default_network": "twin.network.build",
        "load_network": "twin.network.build",
        "save_network": "twin.network.build",
    },
)
