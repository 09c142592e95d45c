"""On a network that is not Gongshu, the truck and camera models never borrow Gongshu's
sites and docks: they say which layer is missing and what to do."""

from __future__ import annotations

import pytest

from twin.network.road_network import RoadNetwork
from twin.placement.errors import PlacementError
from twin.placement.pipeline import _layer_nodes
from twin.trucks.actors import load_docks, load_sites
from twin.trucks.config import TrucksConfig
from twin.trucks.errors import TruckError


def test_trucks_refuse_a_network_without_sites_or_docks(nanjing: RoadNetwork) -> None:
    cfg = TrucksConfig()
    with pytest.raises(TruckError, match=r"Nanjing test block has no 'sites' layer.*FILE"):
        load_sites(nanjing, cfg)
    with pytest.raises(TruckError, match=r"no 'docks' layer \(muck docks\).*remove"):
        load_docks(nanjing, cfg)


def test_camera_placement_refuses_a_network_without_docks(nanjing: RoadNetwork) -> None:
    with pytest.raises(PlacementError, match=r"no 'docks' layer.*camera events"):
        _layer_nodes(nanjing, "docks")


def test_bare_gongshu_still_reads_its_shipped_layers(gongshu: RoadNetwork) -> None:
    assert "sites" not in gongshu.layers  # the session network has no layers attached
    sites = load_sites(gongshu, TrucksConfig())
    assert len(sites.id) > 0 and sites.node.min() >= 0
