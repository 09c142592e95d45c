"""The physics-ensemble forecaster: the ensemble Kalman filter learns what it is not told."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from tests.hydro.test_reservoir import block_storm, random_params
from twin.forecast.errors import ForecastError
from twin.forecast.physics import (
    EnsembleSettings,
    PhysicsEnsemble,
    exceedance_within,
    member_quantiles,
)
from twin.hydro.reservoir import CatchmentParams, simulate_ponding

STEP = 300.0


def _scaled(p: CatchmentParams, capacity: np.ndarray) -> CatchmentParams:
    d = {f.name: np.array(getattr(p, f.name)) for f in fields(p)}
    d["drain_capacity"] *= capacity
    d["drain_coeff"] *= capacity
    return CatchmentParams(**d)


def _storm(n: int) -> np.ndarray:
    rain = block_storm(n_before=4, n_rain=18, n_after=30, peak=80.0)
    return np.repeat(rain[:, None], n, axis=1)


def test_the_filter_learns_a_blocked_drain_from_the_gauges() -> None:
    nominal = random_params(6, seed=11)
    truth = _scaled(nominal, np.full(6, 0.4))  # drains blocked to 40 %: not told
    rain = _storm(6)
    true_depth = simulate_ponding(truth, rain, STEP).water_depth[1:]
    rng = np.random.default_rng(0)
    readings = true_depth + rng.normal(0.0, 0.01, true_depth.shape)
    # The filter itself, on a plain lognormal prior (no clogged members in it).
    plain = EnsembleSettings(members=32, blockage_share=0.0)
    ens = PhysicsEnsemble(nominal, plain, seed=3)
    blind = PhysicsEnsemble(nominal, plain, seed=3)
    for k in range(20):
        ens.advance(rain[k : k + 1])
        ens.assimilate(readings[k])
        blind.advance(rain[k : k + 1])
    learnt = np.exp(ens.log_c.mean(axis=0))
    error = np.abs(np.log(learnt / 0.4))
    prior_error = np.log(1 / 0.4)
    # Where the blockage shows in the water (peak ≥ 20 % deeper than with clear drains,
    # below the spill depth), the filter finds it; on average it moves toward it.
    nominal_peak = simulate_ponding(nominal, rain, STEP).water_depth.max(axis=0)
    telling = (true_depth.max(axis=0) > 1.2 * nominal_peak) & (
        true_depth.max(axis=0) < nominal.max_depth
    )
    assert telling.any()
    assert np.all(error[telling] < 0.3)
    assert error.mean() < 0.8 * prior_error
    future = rain[20:32][None]
    err_da = np.abs(np.median(ens.forecast(future), axis=0) - true_depth[20:32]).mean()
    err_blind = np.abs(np.median(blind.forecast(future), axis=0) - true_depth[20:32]).mean()
    assert err_da < 0.7 * err_blind
    # The shipped prior gives a fifth of the members a clogged drain: on the same storm
    # it learns the blockage better on average and forecasts the water better still.
    mixed = PhysicsEnsemble(nominal, EnsembleSettings(members=32), seed=3)
    assert 0.1 < (mixed.log_c < np.log(0.6)).mean() < 0.3
    for k in range(20):
        mixed.advance(rain[k : k + 1])
        mixed.assimilate(readings[k])
    mixed_error = np.abs(np.log(np.exp(mixed.log_c.mean(axis=0)) / 0.4))
    assert mixed_error.mean() < error.mean()
    err_mixed = np.abs(np.median(mixed.forecast(future), axis=0) - true_depth[20:32]).mean()
    assert err_mixed < err_da


def test_forecasts_are_reproducible_and_shaped() -> None:
    p = random_params(4, seed=2)
    rain = _storm(4)
    out = []
    for _ in range(2):
        ens = PhysicsEnsemble(p, EnsembleSettings(members=8), seed=9)
        for k in range(8):
            ens.advance(rain[k : k + 1])
            ens.assimilate(np.full(4, np.nan))
        out.append(ens.forecast(rain[8:20][None]))
    assert out[0].shape == (8, 12, 4)
    np.testing.assert_array_equal(out[0], out[1])
    q = member_quantiles(out[0], (0.1, 0.5, 0.9))
    assert q.shape == (4, 12, 3) and np.all(np.diff(q, axis=-1) >= 0)
    prob, first = exceedance_within(out[0], 0.01)
    assert prob.shape == (4,) and first.shape == (8, 4)


def test_a_wet_reading_over_a_dry_ensemble_is_inserted() -> None:
    p = random_params(3, seed=4)
    ens = PhysicsEnsemble(p, EnsembleSettings(members=6), seed=0)
    ens.advance(np.zeros((1, 3)))
    assert ens.assimilate(np.array([0.2, np.nan, 0.0])) == 1
    depth = ens.state.values[3].reshape(6, 3)
    assert depth[:, 0].mean() == pytest.approx(0.2, abs=0.03)
    assert np.all(depth[:, 1:] == 0.0)


def test_bad_input_is_refused() -> None:
    ens = PhysicsEnsemble(random_params(2), EnsembleSettings(members=4), seed=0)
    with pytest.raises(ForecastError, match="give"):
        ens.advance(np.zeros((1, 3)))
    with pytest.raises(ForecastError, match="give"):
        ens.assimilate(np.zeros(3))
    with pytest.raises(ForecastError, match="give"):
        ens.forecast(np.zeros((2, 3)))
    with pytest.raises(ForecastError, match="2 members"):
        PhysicsEnsemble(random_params(2), EnsembleSettings(members=1), seed=0)


def test_the_shipped_settings_are_the_code_defaults() -> None:
    import json
    from dataclasses import asdict
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[2] / "models" / "waterlogging-physics-ensemble"
    data = json.loads((shipped / "settings.json").read_text(encoding="utf-8"))
    assert data["kind"] == "physics_ensemble"
    assert data["settings"] == asdict(EnsembleSettings())


def test_dry_columns_skipped_give_the_full_simulation() -> None:
    """Columns with no water and no rain ahead are not simulated; the paths are the same."""
    p = random_params(5, seed=6)
    ens = PhysicsEnsemble(p, EnsembleSettings(members=6), seed=1)
    rain = _storm(5)
    rain[:, 2:] = 0.0  # points 2–4 stay dry
    for k in range(10):
        ens.advance(rain[k : k + 1])
    future = np.zeros((1, 12, 5))
    future[0, :, 4] = 80.0  # point 4 is dry now but rain is coming
    got = ens.forecast(future)
    m, n = 6, 5
    cols = np.tile(future[0], (1, m)) * np.exp(ens.log_r).ravel()
    full = simulate_ponding(ens.member_params(), cols, STEP, state=ens.state).water_depth[1:]
    want = np.transpose(full.reshape(12, m, n), (1, 0, 2))
    np.testing.assert_array_equal(got, want)
    assert np.all(got[:, :, 2:4] == 0.0) and got[:, :, 4].max() > 0.0
    assert got[:, :, :2].max() > 0.0  # the wet points drain
