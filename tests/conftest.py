"""Shared fixtures: the Gongshu network (built once) and the small Nanjing OSM fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from twin.network import RoadNetwork, build_network, default_network

DATA = Path(__file__).resolve().parent / "data"
#: 22 KB of raw OSM XML cut from nanjing_xuanwu.osm (see tests/data/README.md).
NANJING_SMALL = DATA / "nanjing_small.osm"


@pytest.fixture(scope="session")
def gongshu() -> RoadNetwork:
    """The embedded default network (Gongshu, ~9,200 nodes), built once per session.

    Shared by every test: never close, slow or reopen its edges. Tests that change edge
    states use :func:`gongshu_fresh` (or :func:`nanjing`) instead.
    """
    return default_network(layers=False)


@pytest.fixture(autouse=True)
def _gongshu_left_untouched(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves the shared ``gongshu`` network with changed edge states."""
    yield
    if "gongshu" in request.fixturenames:
        net = request.getfixturevalue("gongshu")
        assert np.all(net.edge_factor == 1.0), "a test changed edge states of `gongshu`"


@pytest.fixture
def gongshu_fresh(gongshu: RoadNetwork) -> RoadNetwork:
    """A network over the same graph as ``gongshu`` with its own edge states.

    Closing, slowing and reopening only touch a network's own arrays (never ``G``), so
    this view may be changed freely.
    """
    return RoadNetwork.from_graph(gongshu.G, congestion=gongshu.congestion, meta=gongshu.meta)


@pytest.fixture(scope="session")
def nanjing_osm() -> Path:
    """Path of the small raw OSM XML fixture."""
    return NANJING_SMALL


@pytest.fixture
def nanjing(nanjing_osm: Path) -> RoadNetwork:
    """A fresh network built from the small fixture (tens of milliseconds; mutate freely)."""
    return build_network(nanjing_osm, name="Nanjing test block")
