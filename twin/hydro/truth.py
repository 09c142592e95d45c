"""The real drains: nominal parameters perturbed per point, some blocking in the storm.

The twin derives each low point's drainage and catchment from the network
(:mod:`twin.hydro.lowpoints`); real ones differ. :func:`true_ponding` runs the ponding
model with the drains of :class:`twin.scenario.hydro.TruthConfig`: capacity and
catchment-area multipliers lognormal with median 1, and a share of the points losing
capacity (to ``blockage_factor``) at one time drawn uniformly within ``blockage_within``
of the rain's start (the storm's first flush of debris), the run continuing from the
state then. Forecasters are told only the nominal values. The optional SWMM runoff
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

__all__ = ["joined", "true_ponding"]


def true_ponding(
    params: CatchmentParams,
    rain2d: FloatArray,
    step: float,
    truth: TruthConfig,
    rng: np.random.Generator,
    *,
    rain_start: float = 0.0,
    options: RunoffOptions | None = None,
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
        Draws, in this order: capacity factors, area factors, which points block, when.
    rain_start
        When the rain starts [s from the first step]; blockages start after it.
    options
        Optional SWMM runoff features (default none: the plain model). The run before a
        blockage continues into the run after it from its full state.
    """
    n = params.n_points
    cap = np.exp(rng.normal(0.0, truth.capacity_sd, n))
    area = np.exp(rng.normal(0.0, truth.area_sd, n))
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
