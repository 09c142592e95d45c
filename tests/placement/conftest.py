"""Shared fixtures: small random impact matrices and the Gongshu low points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.hydro.lowpoints import LowPoints, low_points
from twin.network import RoadNetwork
from twin.network.build import data_dir
from twin.network.layers import read_layer
from twin.placement.impact import ImpactMatrix


def random_matrix(
    seed: int,
    *,
    n_events: int = 30,
    n_candidates: int = 9,
    density: float = 0.3,
    costs: np.ndarray | float = 1.0,
    technologies: tuple[str, ...] = ("gauge",),
) -> ImpactMatrix:
    """A random impact matrix with some ties in detection times."""
    rng = np.random.default_rng(seed)
    e, c = np.nonzero(rng.random((n_events, n_candidates)) < density)
    life = rng.uniform(100.0, 1000.0, n_events)
    impact = rng.uniform(1.0, 10.0, n_events)
    t = np.round(rng.uniform(0.0, 1.0, e.size), 1) * life[e]
    events = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n_events)],
            "technology": "gauge",
            "weight": rng.uniform(0.5, 2.0, n_events),
            "lifetime": life,
            "impact": impact,
        }
    )
    tech = [technologies[i % len(technologies)] for i in range(n_candidates)]
    candidates = pd.DataFrame(
        {
            "candidate_id": [f"c{i}" for i in range(n_candidates)],
            "technology": tech,
            "cost": costs,
            "lon": np.nan,
            "lat": np.nan,
        }
    )
    return ImpactMatrix(events, candidates, e, c, t, impact[e] * t / life[e])


@pytest.fixture(scope="session")
def gongshu_low_points(gongshu: RoadNetwork) -> LowPoints:
    """The 53 low points of the bundled layer, on the shared network (not mutated)."""
    layer = read_layer(
        data_dir() / "layers" / "low_points.geojson", layer="low_points", net=gongshu
    )
    return low_points(gongshu, layer=layer)
