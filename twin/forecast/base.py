"""The forecaster interface: fit on storms, predict depth quantiles at 5–120 minutes.

Every forecaster takes the same inputs (:class:`~twin.forecast.data.Windows`: the last
two hours of gauge readings and rain at a low point, and the rain expected over the
next two hours) and returns the same output: quantiles of the water depth [m] at
lead times 5, 10, …, 120 minutes, shape ``(n_windows, 24, len(QUANTILES))``, sorted
along the quantile axis and never negative.

:func:`exceedance_probability` turns those quantiles into the probability that the
depth exceeds a threshold, by linear interpolation of the quantile function (and flat
tails beyond the outermost quantiles), which is what alerts are decided on.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Self

import numpy as np

from twin._types import FloatArray
from twin.forecast.data import (
    ENCODER_STEPS,
    HORIZON_STEPS,
    STEP_S,
    PointFeatures,
    StormRecords,
    Windows,
)
from twin.forecast.errors import ForecastError

__all__ = [
    "QUANTILES",
    "Forecaster",
    "check_windows",
    "exceedance_probability",
    "median_index",
]

#: Quantile levels every forecaster predicts [-].
QUANTILES: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def median_index(quantiles: tuple[float, ...] = QUANTILES) -> int:
    """Position of the 0.5 quantile."""
    return quantiles.index(0.5)


def check_windows(windows: Windows, n_points: int, *, encoder: int, horizon: int) -> None:
    """Raise :class:`ForecastError` naming what is wrong with forecast inputs.

    Checks the shapes (history of ``encoder`` steps, future rain of ``horizon`` steps),
    that there is at least one window, that no covariate is missing or non-finite,
    that rain is not negative, and that every point index is known.
    """
    n = len(windows)
    if n == 0:
        raise ForecastError("no forecast windows: give at least one point and issue time.")
    for name, arr, width in (
        ("depth_hist", windows.depth_hist, encoder),
        ("missing_hist", windows.missing_hist, encoder),
        ("rain_hist", windows.rain_hist, encoder),
        ("rain_future", windows.rain_future, horizon),
    ):
        shape = np.shape(arr)
        if len(shape) != 2 or shape[0] != n or shape[1] != width:
            raise ForecastError(
                f"{name} has shape {shape}; expected ({n}, {width}) "
                f"({'history' if width == encoder else 'lead'} steps of {STEP_S:.0f} s)."
            )
    for name, arr in (
        ("depth_hist", windows.depth_hist),
        ("rain_hist", windows.rain_hist),
        ("rain_future", windows.rain_future),
    ):
        bad = ~np.isfinite(np.asarray(arr, dtype=np.float64))
        if bad.any():
            row, col = (int(x) for x in np.argwhere(bad)[0])
            what = "future rain (the known-future covariate)" if name == "rain_future" else name
            raise ForecastError(
                f"{what} is missing or not finite in {int(bad.sum())} value(s), first at "
                f"window {row}, step {col}; give a rain source for every lead time "
                "(observed, a persistence nowcast or a perturbed nowcast)."
                if name == "rain_future"
                else f"{what} is not finite at window {row}, step {col}; fill gaps with the "
                "last reading and flag them in missing_hist."
            )
        if name != "depth_hist" and np.any(np.asarray(arr) < 0):
            raise ForecastError(f"{name} has negative rain rates [mm/h]; rain must be >= 0.")
    p = np.asarray(windows.point)
    if p.min() < 0 or p.max() >= n_points:
        raise ForecastError(
            f"point index {int(p.max() if p.max() >= n_points else p.min())} is outside the "
            f"model's {n_points} low points; map point ids with PointFeatures.index_of."
        )


def exceedance_probability(
    quantiles: FloatArray, threshold: float, levels: tuple[float, ...] = QUANTILES
) -> FloatArray:
    """Probability that the depth exceeds ``threshold``, from predicted quantiles.

    With the quantile function ``Q(τ)`` known at the levels ``τ_j``, the probability
    of exceedance is ``1 - F(x)``, with ``F(x)`` found by linear interpolation of
    ``τ`` against ``Q(τ)``; outside the outermost quantiles it is held at
    ``1 - τ_min`` or ``1 - τ_max`` (a forecaster cannot say more than its tails), so
    the result lies in ``[1 - τ_max, 1 - τ_min]`` = [0.05, 0.95] for the defaults.

    Parameters
    ----------
    quantiles
        Depth quantiles [m], shape ``(..., len(levels))``, sorted along the last axis.
    threshold
        Depth [m].
    levels
        Quantile levels [-].

    Returns
    -------
    numpy.ndarray
        Probability [-], shape ``quantiles.shape[:-1]``.
    """
    q = np.asarray(quantiles, dtype=np.float64)
    tau = np.asarray(levels, dtype=np.float64)
    below = q < threshold  # (..., Q)
    k = below.sum(axis=-1)  # number of quantiles below the threshold
    k_lo = np.clip(k - 1, 0, tau.size - 1)
    k_hi = np.clip(k, 0, tau.size - 1)
    q_lo = np.take_along_axis(q, k_lo[..., None], axis=-1)[..., 0]
    q_hi = np.take_along_axis(q, k_hi[..., None], axis=-1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(q_hi > q_lo, (threshold - q_lo) / (q_hi - q_lo), 0.0)
    cdf = tau[k_lo] + np.clip(frac, 0.0, 1.0) * (tau[k_hi] - tau[k_lo])
    cdf = np.where(k == 0, tau[0], np.where(k == tau.size, tau[-1], cdf))
    return np.asarray(1.0 - cdf, dtype=np.float64)


class Forecaster(abc.ABC):
    """A depth forecaster at low points (the common interface).

    Subclasses implement :meth:`_fit`, :meth:`_predict`, :meth:`get_state` and
    :meth:`from_state`; :meth:`predict` checks inputs and post-processes for all.

    Attributes
    ----------
    kind
        Short name (``"persistence"``, ``"linear"``, ``"sarimax"``, ``"nhits"``).
    points
        The low points it knows (set by :meth:`fit`).
    quantiles, encoder, horizon
        Quantile levels, history steps and lead steps.
    """

    kind: ClassVar[str]
    label: ClassVar[str]

    def __init__(
        self,
        *,
        quantiles: tuple[float, ...] = QUANTILES,
        encoder: int = ENCODER_STEPS,
        horizon: int = HORIZON_STEPS,
    ) -> None:
        if 0.5 not in quantiles or sorted(quantiles) != list(quantiles):
            raise ForecastError(f"quantiles {quantiles}: sorted levels including 0.5.")
        self.quantiles = tuple(float(q) for q in quantiles)
        self.encoder = int(encoder)
        self.horizon = int(horizon)
        self.points: PointFeatures | None = None
        self.info: dict[str, Any] = {}

    @property
    def fitted(self) -> bool:
        """Whether the forecaster has been fitted (or loaded)."""
        return self.points is not None

    def fit(self, data: StormRecords, *, seed: int) -> Self:
        """Fit on the storms of ``data`` (use its training split).

        Parameters
        ----------
        data
            Storms with readings; only they are used (select the split first).
        seed
            Seed of every random choice (window samples, weight initialisation).

        Returns
        -------
        Forecaster
            ``self``, fitted.
        """
        if data.n_storms == 0:
            raise ForecastError("no storms to fit on; generate a storm set first.")
        self.points = data.points
        self._fit(data, seed=seed)
        return self

    def predict(self, windows: Windows) -> FloatArray:
        """Depth quantiles [m] at each lead time, shape ``(n, horizon, n_quantiles)``.

        Raises
        ------
        ForecastError
            Not fitted; wrong shapes; missing or non-finite covariates; an unknown point.
        """
        if self.points is None:
            raise ForecastError(
                f"the {self.kind} forecaster is not fitted; call fit() or load_forecaster()."
            )
        check_windows(windows, len(self.points), encoder=self.encoder, horizon=self.horizon)
        out = np.asarray(self._predict(windows), dtype=np.float64)
        return np.sort(np.maximum(out, 0.0), axis=-1)

    @abc.abstractmethod
    def _fit(self, data: StormRecords, *, seed: int) -> None:
        """Fit to the storms."""

    @abc.abstractmethod
    def _predict(self, windows: Windows) -> FloatArray:
        """Raw quantiles (checked inputs)."""

    @abc.abstractmethod
    def get_state(self) -> tuple[dict[str, Any], dict[str, FloatArray]]:
        """JSON-able settings and named arrays that :meth:`from_state` restores."""

    @classmethod
    @abc.abstractmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, FloatArray]) -> Self:
        """Rebuild a fitted forecaster."""

    def _base_config(self) -> dict[str, Any]:
        return {"quantiles": list(self.quantiles), "encoder": self.encoder, "horizon": self.horizon}
