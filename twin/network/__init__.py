"""Road networks: OSM → routable graph, CSR arrays, snapping, closures, city layers."""

from __future__ import annotations

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
