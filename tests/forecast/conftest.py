"""Fixtures: the Gongshu low points, a tiny storm set and the shipped models."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from twin.forecast.data import StormRecords, generate_storm_set
from twin.hydro.lowpoints import LowPoints, low_points
from twin.network import default_network


@pytest.fixture(scope="session")
def lowpts() -> LowPoints:
    """The 53 Gongshu low points (network with layers, built once)."""
    return low_points(default_network())


def subset_points(points: LowPoints, idx: list[int]) -> LowPoints:
    """A few of the low points (for quick fits)."""
    sel = np.asarray(idx)
    return dataclasses.replace(
        points,
        ids=points.ids[sel],
        names=points.names[sel],
        kinds=points.kinds[sel],
        lon=points.lon[sel],
        lat=points.lat[sel],
        node=points.node[sel],
        edges=tuple(points.edges[i] for i in idx),
        params=points.params.select(sel),
    )


@pytest.fixture(scope="session")
def few_lowpts(lowpts: LowPoints) -> LowPoints:
    """The three low points of :func:`few_points_set`."""
    return subset_points(lowpts, [2, 9, 17])


@pytest.fixture(scope="session")
def record() -> tuple[Any, Any]:
    """The storm catalogue and the gauge record (read once)."""
    from twin.hydro.rainfall import default_rain
    from twin.hydro.storms import load_catalogue

    return load_catalogue(), default_rain()


@pytest.fixture(scope="session")
def tiny_set(lowpts: LowPoints, record: tuple[Any, Any]) -> StormRecords:
    """Two real storms per split at all 53 points (no design storms)."""
    cat, rain = record
    return generate_storm_set(
        lowpts, catalogue=cat, rain=rain, max_storms=2, include_design=False, seed=1
    )


@pytest.fixture(scope="session")
def few_points_set(lowpts: LowPoints, record: tuple[Any, Any]) -> StormRecords:
    """Four storms per split and the design storms at three points (quick fits)."""
    cat, rain = record
    return generate_storm_set(
        subset_points(lowpts, [2, 9, 17]), catalogue=cat, rain=rain, max_storms=4, seed=2
    )
