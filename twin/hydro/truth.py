"""The real drains: nominal parameters perturbed per point, some blocking in the storm.

The twin derives each low point's drainage and catchment from the network
(:mod:`twin.hydro.lowpoints`); real ones differ. :func:`true_ponding` runs the ponding
model with the drains of :class:`twin.scenario.hydro.TruthConfig`: capacity and
catchment-area multipliers lognormal with median 1, and a share of the points losing
capacity (to ``blockage_factor``) at one time drawn uniformly within ``blockage_within``
of the rain's start (the storm's first flush of debris), the run continuing from the
state then. Forecasters are told only the nominal values. :data:`DRAIN_CLIMATOLOGY` is
the twin's own choice of how far real drains stray (the radar storm scenario's
``hydro.truth``; illustrative, not measured in Gongshu); the forecasting storm sets use
it. A city's drains are the same in every storm: :func:`true_ponding` takes fixed
multipliers (``factors``) so that a storm set can keep one city's drains and draw only
the blockages storm by storm. The optional SWMM runoff
features (``options``: subarea routing, Horton recovery, Green–Ampt, spill routing) apply
to the real drains as to any run. Used by scenarios (``hydro.truth``, with
``hydro.runoff``) and by the live replays of a storm.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from twin._types import FloatArray
from twin.hydro.reservoir import CatchmentParams, PondingResult, simulate_ponding
from twin.hydro.runoff_options import RunoffOptions
from twin.scenario.hydro import TruthConfig

__all__ = ["DRAIN_CLIMATOLOGY", "drain_factors", "joined", "true_ponding"]

#: How far real drains stray from their design in the twin's storms (illustrative):
#: capacity and catchment area off by lognormal factors (log-sd 0.35 and 0.25), a fifth
#: of the drains clogging to 40 % of their capacity in the storm's first half hour.
DRAIN_CLIMATOLOGY = TruthConfig(
    capacity_sd=0.35, area_sd=0.25, blockage_share=0.2, blockage_factor=0.4
)


def drain_factors(
    truth: TruthConfig, n: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """One city's drains: capacity and area multipliers of ``n`` points (lognormal, median 1)."""
    cap = np.exp(rng.normal(0.0, truth.capacity_sd, n))
    area = np.exp(rng.normal(0.0, truth.area_sd, n))
    return cap, area


def true_ponding(
    params: CatchmentParams,
    rain2d: FloatArray,
    step: float,
    truth: TruthConfig,
    rng: np.random.Generator,
    *,
    rain_start: float = 0.0,
    options: RunoffOptions | None = None,
    factors: tuple[FloatArray, FloatArray] | None = None,
) -> PondingResult:
    """Ponding over ``rain2d`` [mm/h] ``(steps, points)`` with the real drains.

    Parameters
    ----------
    params
        Nominal parameters of the points.
    step
        Rain step [s].
    truth
        How the real drains differ.
    rng
        Draws, in this order: capacity factors, area factors (unless ``factors`` are
        given), which points block, when.
    rain_start
        When the rain starts [s from the first step]; blockages start after it.
    options
        Optional SWMM runoff features (default none: the plain model). The run before a
        blockage continues into the run after it from its full state.
    factors
        The points' capacity and area multipliers (:func:`drain_factors`), when the
        drains are a given city's; ``truth``'s spreads then only matter to blockages.
    """
    n = params.n_points
    if factors is None:
        cap, area = drain_factors(truth, n, rng)
    else:
        cap, area = (np.asarray(f, dtype=np.float64) for f in factors)
        if cap.shape != (n,) or area.shape != (n,):
            raise ValueError(f"factors: give capacity and area multipliers of {n} points each")
    blocked = rng.random(n) < truth.blockage_share
    delay = float(rng.uniform(0.0, truth.blockage_within))

    def with_capacity(factor: FloatArray) -> CatchmentParams:
        d = {f.name: np.array(getattr(params, f.name)) for f in fields(params)}
        d["drain_capacity"] *= factor
        d["drain_coeff"] *= factor
        d["area"] *= area
        d["width"] *= area
        return CatchmentParams(**d)

    if not blocked.any():
        return simulate_ponding(with_capacity(cap), rain2d, step, options=options)
    cut = min(rain2d.shape[0], round(rain_start / step) + round(delay / step))
    before = simulate_ponding(with_capacity(cap), rain2d[:cut], step, options=options)
    after = simulate_ponding(
        with_capacity(np.where(blocked, cap * truth.blockage_factor, cap)), rain2d[cut:], step,
        state=before.final_state, options=options,
    )  # fmt: skip
    return joined(before, after)


def joined(a: PondingResult, b: PondingResult) -> PondingResult:
    """Two consecutive ponding runs as one."""
    time = np.r_[a.time, a.time[-1] + b.time[1:]]
    balance = {k: a.mass_balance[k] + b.mass_balance[k] for k in a.mass_balance}
    rain = balance["rain"]
    with np.errstate(divide="ignore", invalid="ignore"):
        balance["relative_error"] = np.where(
            rain > 0, balance["error"] / np.where(rain > 0, rain, 1.0), 0.0
        )
    return PondingResult(
        time, np.r_[a.water_depth, b.water_depth[1:]], np.r_[a.volume, b.volume[1:]],
        np.r_[a.runoff, b.runoff], np.r_[a.drain_outflow, b.drain_outflow],
        np.r_[a.overflow, b.overflow], np.r_[a.infiltration, b.infiltration], balance,
        b.final_state,
    )  # fmt: skip
