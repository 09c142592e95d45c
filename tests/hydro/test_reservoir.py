"""Unit tests of the low-point ponding model (twin.hydro.reservoir)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from twin.hydro.reservoir import (
    MASS_BALANCE_TOLERANCE,
    MM_PER_H,
    CatchmentParams,
    default_substeps,
    simulate_ponding,
)

#: An underpass: 3 ha, 90 % impervious, a sag whose area grows with depth, a pump-limited
#: drain of 0.25 m³/s.
UNDERPASS = {
    "area": 3.0e4,
    "imperv": 0.9,
    "width": 300.0,
    "slope": 0.02,
    "n_imperv": 0.013,
    "n_perv": 0.15,
    "dstore_imperv": 1.5e-3,
    "dstore_perv": 5.0e-3,
    "f0": 76.0 * MM_PER_H,
    "fc": 6.0 * MM_PER_H,
    "decay": 4.0 / 3600.0,
    "pond_a": 4000.0,
    "pond_b": 1.0,
    "pond_c": 300.0,
    "drain_capacity": 0.25,
    "drain_coeff": 0.8,
    "drain_exp": 0.5,
    "max_depth": 1.5,
}


def make(n: int = 1, **overrides: float) -> CatchmentParams:
    values = {**UNDERPASS, **overrides}
    return CatchmentParams(**{k: np.full(n, v, dtype=np.float64) for k, v in values.items()})


def random_params(n: int, seed: int = 0) -> CatchmentParams:
    """Points drawn over wide (partly extreme) ranges, to stress the kernel."""
    rng = np.random.default_rng(seed)

    def u(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, n)

    return CatchmentParams(
        area=u(2e3, 6e4),
        imperv=np.clip(u(-0.2, 1.2), 0.0, 1.0),
        width=u(20.0, 600.0),
        slope=u(0.001, 0.05),
        n_imperv=u(0.01, 0.02),
        n_perv=u(0.05, 0.4),
        dstore_imperv=u(0.0, 3e-3),
        dstore_perv=u(0.0, 8e-3),
        f0=u(40.0, 130.0) * MM_PER_H,
        fc=u(0.0, 12.0) * MM_PER_H,
        decay=u(0.0, 6.0) / 3600.0,
        pond_a=u(50.0, 6000.0),
        pond_b=u(0.0, 2.0),
        pond_c=u(0.0, 400.0),
        drain_capacity=u(0.01, 0.5),
        drain_coeff=u(0.05, 2.0),
        drain_exp=u(0.4, 2.0),
        max_depth=u(0.1, 2.0),
    )


def block_storm(n_before: int = 10, n_rain: int = 90, n_after: int = 300, peak: float = 100.0):
    """A 60-s rain series: dry, a triangular storm peaking at ``peak`` [mm/h], dry."""
    storm = peak * (1.0 - np.abs(np.linspace(-1.0, 1.0, n_rain)) * 0.8)
    return np.concatenate([np.zeros(n_before), storm, np.zeros(n_after)])


# ------------------------------------------------------------------------- parameters


def test_params_are_readonly_float_arrays() -> None:
    p = make(3)
    assert p.n_points == 3
    assert p.area.dtype == np.float64
    with pytest.raises(ValueError):
        p.area[0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.area = np.ones(3)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("area", 0.0),
        ("width", -1.0),
        ("slope", 0.0),
        ("n_imperv", 0.0),
        ("imperv", 1.2),
        ("imperv", -0.1),
        ("dstore_perv", -1e-3),
        ("decay", -1.0),
        ("drain_capacity", -0.1),
        ("drain_exp", 0.0),
        ("max_depth", 0.0),
        ("pond_b", -0.5),
        ("fc", np.nan),
    ],
)
def test_invalid_value_names_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        make(2, **{field: value})


def test_invalid_shapes_and_relations() -> None:
    values = {k: np.full(3, v) for k, v in UNDERPASS.items()}
    with pytest.raises(ValueError, match="pond_c"):
        CatchmentParams(**{**values, "pond_c": np.ones(2)})
    with pytest.raises(ValueError, match="width"):
        CatchmentParams(**{**values, "width": np.ones((3, 1))})
    with pytest.raises(ValueError, match="f0"):
        make(1, f0=1e-6, fc=2e-6)
    with pytest.raises(ValueError, match="pond_a"):
        make(1, pond_a=0.0, pond_c=0.0)


def test_select() -> None:
    p = random_params(5)
    q = p.select(np.array([True, False, True, False, False]))
    assert q.n_points == 2
    assert_array_equal(q.area, p.area[[0, 2]])
    assert p.select(np.array([4])).n_points == 1
    assert p.select(slice(1, 3)).n_points == 2


def test_bad_rain_and_steps() -> None:
    p = make(2)
    with pytest.raises(ValueError, match="rain_rate"):
        simulate_ponding(p, np.zeros((5, 3)), 60.0)
    with pytest.raises(ValueError, match="rain_rate"):
        simulate_ponding(p, -np.ones(5), 60.0)
    with pytest.raises(ValueError, match="dt"):
        simulate_ponding(p, np.zeros(5), 0.0)
    with pytest.raises(ValueError, match="substeps"):
        simulate_ponding(p, np.zeros(5), 60.0, substeps=0)
    assert default_substeps(60.0) == 1
    assert default_substeps(61.0) == 2
    assert default_substeps(300.0) == 5


# ---------------------------------------------------------------------------- physics


def test_dry_weather_stays_dry() -> None:
    p = random_params(8)
    r = simulate_ponding(p, np.zeros((100, 8)), 60.0)
    for a in (r.water_depth, r.volume, r.runoff, r.drain_outflow, r.overflow, r.infiltration):
        assert not a.any()
    assert_array_equal(r.mass_balance["relative_error"], 0.0)
    assert r.time[-1] == 6000.0


def test_depth_decays_to_zero_by_drainage_after_rain() -> None:
    rain = block_storm(n_after=24 * 60)
    r = simulate_ponding(make(1), rain, 60.0)
    depth = r.water_depth[:, 0]
    peak = int(np.argmax(depth))
    assert depth[peak] > 0.2
    # Once the runoff has passed, the pond only empties.
    tail = depth[peak + 60 :]
    # (A trickle of runoff from the catchment keeps a film of under a micrometre.)
    assert np.all(np.diff(tail) <= 1e-6)
    assert depth[-1] < 1e-6
    assert r.volume[-1, 0] < 1e-3


def test_huge_drain_capacity_keeps_depth_near_zero() -> None:
    p = make(1, drain_capacity=1e6, drain_coeff=1e5, drain_exp=1.0)
    r = simulate_ponding(p, block_storm(peak=150.0), 60.0)
    assert r.peak_depth[0] < 1e-3
    assert not r.overflow.any()


def test_pervious_catchment_with_high_infiltration_makes_no_runoff() -> None:
    p = make(1, imperv=0.0, f0=150 * MM_PER_H, fc=60 * MM_PER_H, decay=2 / 3600)
    rain = np.full(180, 20.0)  # light rain, 3 h
    r = simulate_ponding(p, rain, 60.0)
    assert not r.runoff.any()
    assert not r.water_depth.any()
    assert_allclose(r.mass_balance["infiltration"], r.mass_balance["rain"], rtol=1e-12)
    assert_allclose(r.infiltration[:, 0], 20.0 * MM_PER_H * p.area[0], rtol=1e-12)


def test_horton_capacity_is_followed_when_ponded() -> None:
    """Rain above f0 on a pervious catchment: infiltration is the Horton curve itself."""
    f0, fc, k = 100 * MM_PER_H, 10 * MM_PER_H, 4 / 3600
    p = make(1, imperv=0.0, f0=f0, fc=fc, decay=k)
    dt = 60.0
    r = simulate_ponding(p, np.full(240, 200.0), dt)
    t = r.time
    cum = fc * t + (f0 - fc) / k * (1.0 - np.exp(-k * t))
    expected = np.diff(cum) / dt * p.area[0]
    assert_allclose(r.infiltration[:, 0], expected, rtol=1e-9)


def test_steady_state_depth_is_analytical() -> None:
    """Long constant rain on an impervious catchment: outflow = rain, h = (A i / k)^(1/e)."""
    rain = 30.0  # mm/h
    p = make(1, imperv=1.0, dstore_imperv=0.0, pond_a=500.0, pond_c=100.0,
             drain_capacity=10.0, drain_coeff=0.4, drain_exp=1.5, max_depth=5.0)  # fmt: skip
    r = simulate_ponding(p, np.full(12 * 60, rain), 60.0)
    inflow = p.area[0] * rain * MM_PER_H
    assert_allclose(r.runoff[-1, 0], inflow, rtol=1e-9)
    assert_allclose(r.drain_outflow[-1, 0], inflow, rtol=1e-6)
    assert_allclose(r.water_depth[-1, 0], (inflow / 0.4) ** (1 / 1.5), rtol=1e-6)


def test_scaling_the_catchment_and_pond_scales_flows_not_depth() -> None:
    """Areas, widths, pond areas and drain flows ×k: same depths, flows ×k (linearity)."""
    k = 3.7
    p = make(1, max_depth=0.6)
    q = make(
        1,
        area=UNDERPASS["area"] * k,
        width=UNDERPASS["width"] * k,
        pond_a=UNDERPASS["pond_a"] * k,
        pond_c=UNDERPASS["pond_c"] * k,
        drain_capacity=UNDERPASS["drain_capacity"] * k,
        drain_coeff=UNDERPASS["drain_coeff"] * k,
        max_depth=0.6,
    )
    rain = block_storm(peak=140.0)
    a, b = simulate_ponding(p, rain, 60.0), simulate_ponding(q, rain, 60.0)
    assert a.overflow.any()
    assert_allclose(b.water_depth, a.water_depth, rtol=1e-6, atol=1e-9)
    for name in ("runoff", "drain_outflow", "overflow", "infiltration"):
        assert_allclose(getattr(b, name), k * getattr(a, name), rtol=1e-6, atol=1e-9)
    assert_allclose(b.mass_balance["rain"], k * a.mass_balance["rain"], rtol=1e-12)


def test_rain_volume_is_linear_and_time_invariant() -> None:
    p = make(1)
    rain = block_storm()
    r = simulate_ponding(p, rain, 60.0)
    assert_allclose(r.mass_balance["rain"], rain.sum() * MM_PER_H * 60.0 * p.area, rtol=1e-12)
    r2 = simulate_ponding(p, 2.0 * rain, 60.0)
    assert_allclose(r2.mass_balance["rain"], 2.0 * r.mass_balance["rain"], rtol=1e-12)
    # Starting the same storm 17 steps later shifts the whole response by 17 steps.
    late = simulate_ponding(p, np.concatenate([np.zeros(17), rain[:-17]]), 60.0)
    assert_array_equal(late.water_depth[17:], r.water_depth[:-17])
    assert not late.water_depth[:17].any()


def test_depth_never_negative_and_never_above_max_depth() -> None:
    n = 60
    p = random_params(n, seed=1)
    rng = np.random.default_rng(2)
    rain = rng.gamma(0.3, 40.0, size=(600, n)) * (rng.random((600, n)) < 0.4)
    r = simulate_ponding(p, rain, 60.0)
    assert r.water_depth.min() >= 0.0
    assert np.all(r.water_depth <= p.max_depth[None, :] + 1e-12)
    for a in (r.volume, r.runoff, r.drain_outflow, r.overflow, r.infiltration):
        assert a.min() >= 0.0
    assert np.all(r.drain_outflow <= p.drain_capacity[None, :] * (1 + 1e-6))


def test_mass_balance_closes() -> None:
    n = 40
    p = random_params(n, seed=3)
    rain = np.tile(block_storm(peak=160.0)[:, None], (1, n))
    r = simulate_ponding(p, rain, 60.0)
    mb = r.mass_balance
    assert set(mb) == {
        "rain", "infiltration", "evaporation", "surface_storage_change",
        "pond_storage_change", "drain_outflow", "overflow", "spill_received", "error",
        "relative_error",
    }  # fmt: skip
    assert r.overflow.any()  # the balance includes spills
    assert r.max_relative_error < MASS_BALANCE_TOLERANCE
    assert r.max_relative_error < 1e-9
    rest = (
        mb["infiltration"] + mb["evaporation"] + mb["surface_storage_change"]
        + mb["pond_storage_change"] + mb["drain_outflow"] + mb["overflow"]
    )  # fmt: skip
    assert_allclose(rest, mb["rain"], rtol=1e-9)
    # The step series add up to the totals.
    assert_allclose(r.drain_outflow.sum(axis=0) * 60.0, mb["drain_outflow"], rtol=1e-9)
    assert_allclose(r.volume[-1], mb["pond_storage_change"], rtol=1e-12)


def test_vectorised_run_equals_per_point_runs() -> None:
    n = 12
    p = random_params(n, seed=4)
    rng = np.random.default_rng(5)
    rain = rng.gamma(0.5, 30.0, size=(300, n))
    together = simulate_ponding(p, rain, 60.0)
    for j in range(n):
        alone = simulate_ponding(p.select(np.array([j])), rain[:, j : j + 1], 60.0)
        assert_array_equal(alone.water_depth[:, 0], together.water_depth[:, j])
        assert_array_equal(alone.drain_outflow[:, 0], together.drain_outflow[:, j])


def test_same_rain_for_all_points_broadcasts() -> None:
    p = random_params(4, seed=6)
    rain = block_storm()
    a = simulate_ponding(p, rain, 60.0)
    b = simulate_ponding(p, np.tile(rain[:, None], (1, 4)), 60.0)
    assert_array_equal(a.water_depth, b.water_depth)


def test_substeps_converge() -> None:
    p = random_params(10, seed=7)
    rain = block_storm(peak=120.0)
    coarse = simulate_ponding(p, rain, 60.0, substeps=1)
    fine = simulate_ponding(p, rain, 60.0, substeps=12)
    assert_allclose(coarse.peak_depth, fine.peak_depth, rtol=0.01, atol=1e-3)
    assert coarse.max_relative_error < 1e-9


def test_nearly_paved_catchment_is_stiff_but_fine() -> None:
    """A sliver of pervious area has a huge runoff coefficient: solved implicitly, fast."""
    rain = block_storm(peak=150.0)
    paved = simulate_ponding(make(1, imperv=1.0), rain, 60.0)
    for imperv in (1.0 - 1e-6, 1.0 - 1e-10):
        sliver = simulate_ponding(make(1, imperv=imperv), rain, 60.0)
        assert_allclose(sliver.water_depth, paved.water_depth, rtol=1e-4, atol=1e-6)
        assert sliver.max_relative_error < 1e-9
    almost_bare = simulate_ponding(make(1, imperv=1e-10), rain, 60.0)
    bare = simulate_ponding(make(1, imperv=0.0), rain, 60.0)
    assert_allclose(almost_bare.water_depth, bare.water_depth, rtol=1e-4, atol=1e-6)
