"""The storm ensemble shared by forecasting and placement (twin.hydro.ensemble)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from tests.hydro.test_reservoir import random_params
from twin.errors import ScenarioError
from twin.hydro.ensemble import (
    StormSet,
    catalogue_storms,
    design_storms,
    rain_factors,
    simulate_ensemble,
)
from twin.hydro.lowpoints import LowPoints
from twin.hydro.reservoir import simulate_ponding
from twin.hydro.storms import chicago_hyetograph
from twin.scenario import DesignStormConfig


def few_points(n: int = 4) -> LowPoints:
    """``n`` synthetic low points about 1 km apart (no network needed)."""
    return LowPoints(
        ids=np.array([f"lp{i}" for i in range(n)]),
        names=np.array([f"point {i}" for i in range(n)]),
        kinds=np.array(["underpass"] * n),
        lon=120.15 + 0.01 * np.arange(n, dtype=np.float64),
        lat=np.full(n, 30.3),
        node=np.arange(n, dtype=np.int64),
        edges=tuple(np.array([i], dtype=np.int64) for i in range(n)),
        params=random_params(n, seed=3),
    )


@pytest.fixture(scope="module")
def record() -> tuple[Any, Any]:
    from twin.hydro.rainfall import default_rain
    from twin.hydro.storms import load_catalogue

    return load_catalogue(), default_rain()


def test_design_storms_grid_ids_and_padding() -> None:
    formula = DesignStormConfig(A=2000.0, C=0.8, n=0.7, b=10.0)
    s = design_storms(
        formula, return_periods=(2, 20), durations=(3600.0, 7200.0), pad=600.0, tail=900.0
    )
    assert s.ids == (
        "design-P2y-60min",
        "design-P2y-120min",
        "design-P20y-60min",
        "design-P20y-120min",
    )
    assert set(s.kind) == set(s.split) == {"design"} and s.step == 300.0
    one = chicago_hyetograph(
        A=2000.0, C=0.8, n=0.7, b=10.0, return_period=20.0, duration=7200.0, dt=300.0
    ).values
    assert_array_equal(s.rain[3], np.r_[np.zeros(2), one, np.zeros(3)])
    grid = design_storms(
        formula,
        return_periods=(10,),
        durations=(3600.0,),
        peak_positions=(0.3, 0.5),
        pad=0.0,
        tail=0.0,
        split="train",
        name="design-P{period:g}-D{minutes:g}-r{peak_pct}",
    )
    assert grid.ids == ("design-P10-D60-r30", "design-P10-D60-r50") and grid.split == (
        "train",
        "train",
    )
    assert np.argmax(grid.rain[0]) < np.argmax(grid.rain[1])  # the peak moves later


def test_storm_sets_add_on_one_step_only() -> None:
    formula = DesignStormConfig()
    a = design_storms(formula, return_periods=(2,), durations=(3600.0,))
    b = design_storms(formula, return_periods=(5,), durations=(3600.0,), step=600.0)
    assert len(a + a) == 2
    with pytest.raises(ScenarioError, match="different steps"):
        _ = a + b


def test_catalogue_storms_padding_and_sample(record: tuple[Any, Any]) -> None:
    cat, rain = record
    kw: dict[str, Any] = {"catalogue": cat, "rain": rain, "splits": ("test", "train")}
    dry = catalogue_storms(max_storms=2, seed=5, pad=3600.0, tail=7200.0, **kw)
    again = catalogue_storms(max_storms=2, seed=np.random.default_rng(5), pad=3600.0, **kw)
    assert dry.ids == again.ids and len(dry) == 4
    assert set(dry.split) == {"test", "train"} and set(dry.kind) == {"catalogue"}
    starts = cat.set_index("event_id").loc[list(dry.ids), "start"]
    assert starts.is_monotonic_increasing  # catalogue order
    rec = catalogue_storms(max_storms=2, seed=5, padding="record", pad=3600.0, tail=7200.0, **kw)
    assert rec.ids == dry.ids
    for d, r in zip(dry.rain, rec.rain, strict=True):
        # Dry: 1 h of zeros and one dry record step before, one dry step and 2 h after.
        assert np.all(d[:13] == 0.0) and np.all(d[-25:] == 0.0)
        # The storm itself is the same; only the padding comes from the record.
        assert_array_equal(d[13:-25], r[12:-24])
    resampled = catalogue_storms(max_storms=2, seed=5, step=600.0, pad=3600.0, **kw)
    assert_allclose(
        [x.sum() * 600.0 for x in resampled.rain], [x.sum() * 300.0 for x in dry.rain[:4]]
    )
    with pytest.raises(ScenarioError, match="not in the catalogue"):
        catalogue_storms(splits=("holdout",), seed=0, catalogue=cat, rain=rain)


def test_a_generator_seed_continues_the_callers_stream(record: tuple[Any, Any]) -> None:
    cat, rain = record
    rng = np.random.default_rng(9)
    catalogue_storms(splits=("test",), max_storms=1, seed=rng, catalogue=cat, rain=rain)
    fresh = np.random.default_rng(9)
    fresh.choice(int((cat["split"] == "test").sum()), size=1, replace=False)
    assert rng.random() == fresh.random()


def test_simulate_ensemble_is_the_physics_storm_by_storm() -> None:
    points = few_points()
    storms = design_storms(
        DesignStormConfig(), return_periods=(2, 50), durations=(3600.0,), step=60.0
    )
    factors = rain_factors(
        points.lon, points.lat, len(storms), cv=0.3, correlation_m=2000.0,
        rng=np.random.default_rng(1),
    )  # fmt: skip
    depths = list(simulate_ensemble(points, storms, factors))
    assert len(depths) == 2
    for rain, f, depth in zip(storms.rain, factors, depths, strict=True):
        assert depth.shape == (rain.size + 1, len(points))
        expected = simulate_ponding(points.params, rain[:, None] * f[None, :], 60.0).water_depth
        assert_array_equal(depth, expected)
    uniform = next(simulate_ensemble(points, storms))
    alone = simulate_ponding(points.params, np.repeat(storms.rain[0][:, None], 4, 1), 60.0)
    assert_array_equal(uniform, alone.water_depth)
    assert depths[1].max() > depths[0].max()  # the 50-year storm floods more


def test_factors_are_drawn_one_storm_at_a_time() -> None:
    points = few_points(2)
    storms = design_storms(
        DesignStormConfig(), return_periods=(2, 5, 10), durations=(3600.0,), step=300.0
    )
    log: list[str] = []

    def factors() -> Iterator[np.ndarray]:
        for i in range(len(storms)):
            log.append(f"factor {i}")
            yield np.ones(len(points))

    for i, _ in enumerate(simulate_ensemble(points, storms, factors())):
        log.append(f"storm {i}")
    assert log == ["factor 0", "storm 0", "factor 1", "storm 1", "factor 2", "storm 2"]
    with pytest.raises(ScenarioError, match="2 rain factor arrays for 3 storms"):
        list(simulate_ensemble(points, storms, [np.ones(2), np.ones(2)]))


def test_empty_set_runs_nothing() -> None:
    empty = StormSet((), (), (), (), 300.0)
    assert list(simulate_ensemble(few_points(), empty)) == []
