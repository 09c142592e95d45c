"""Baseline forecasters: persistence and a rainfall-aware linear model.

Both give a point forecast ``ŷ(k+h)`` and turn it into quantiles with **empirical
residual quantiles** from the training windows, by lead time and *regime*
(dry: no rain ahead and water below 2 cm; rain ahead: rain forecast, water below
2 cm; ponded: water above 2 cm at issue time), scaled per point by ``s_p``, the
99th percentile of its training readings (at least 5 cm):

``q_τ(k+h) = ŷ(k+h) + s_p · ρ_τ(h, regime)``,

with ``ρ_τ`` the ``τ``-quantile of ``(y(k+h) - ŷ(k+h)) / s_p`` over the training
windows of that lead and regime (split-conformal-style intervals; Lei et al. 2018).
The training windows' future rain is ``future_rain``: ``"nowcast"`` (what
:func:`twin.forecast.train.train_forecasters` and ``twin forecast train`` use) or
``"observed"`` (see :mod:`twin.forecast.windows`). The classes still default to
``"observed"``, as the live service's tests construct them directly and were written for
it; models saved before the setting existed load as ``"observed"``.

Persistence
    ``ŷ(k+h) = y(k)``: the last reading (gaps filled by the one before).
Linear (rainfall-aware)
    One least-squares model per point and lead (a *direct* multi-horizon model, no
    recursion), for the change of depth:
    ``y(k+h) - y(k) = w_h · [1, y(k), y(k) - y(k-1), y(k) - y(k-3), r̄_15, r̄_60,
    r̄_fut(h), r_fut(h), y(k)·r̄_fut(h)]``, with ``r̄_15`` and ``r̄_60`` the mean gauge
    rain over the last 15 and 60 min, ``r̄_fut(h)`` the mean expected rain over the
    next ``h`` steps and ``r_fut(h)`` the rain expected in step ``h`` (all [mm/h] / 10),
    with a small ridge penalty ``λ = 1e-3`` on all but the intercept.

References
----------
Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J. and Wasserman, L. (2018).
Distribution-free predictive inference for regression. *JASA* 113(523), 1094–1111.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from twin._types import FloatArray, IntArray
from twin.forecast.base import Forecaster
from twin.forecast.data import StormRecords, Windows, sample_windows
from twin.forecast.windows import FutureRain, check_future_rain

__all__ = ["LinearRainForecaster", "PersistenceForecaster", "regime_of"]

#: Windows drawn from the training storms to fit the baselines.
N_FIT_WINDOWS = 120_000
_WET = 0.02  # [m]


def regime_of(windows: Windows) -> IntArray:
    """0 dry, 1 rain ahead (little water), 2 ponded (> 2 cm at issue time)."""
    last = windows.depth_hist[:, -1]
    rain_ahead = windows.rain_future.max(axis=1) > 0.0
    return np.where(last > _WET, 2, np.where(rain_ahead, 1, 0)).astype(np.int64)


class _ResidualQuantiles(Forecaster):
    """Point forecast + empirical residual quantiles by lead and regime."""

    def __init__(self, *, future_rain: FutureRain = "observed", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_future_rain(future_rain)
        self.future_rain: FutureRain = future_rain
        self.scale: FloatArray = np.zeros(0)
        self.residual_q: FloatArray = np.zeros((3, self.horizon, len(self.quantiles)))

    def _point_forecast(self, windows: Windows) -> FloatArray:
        raise NotImplementedError

    def _fit_point(self, windows: Windows) -> None:
        """Fit the point forecast (nothing for persistence)."""

    def _fit(self, data: StormRecords, *, seed: int) -> None:
        rng = np.random.default_rng(seed)
        windows = sample_windows(
            data, N_FIT_WINDOWS, rng=rng, target="obs", future_rain=self.future_rain
        )
        self.info["future_rain"] = self.future_rain
        assert windows.target is not None
        n_pts = len(data.points)
        scale = np.full(n_pts, 0.05)
        for p in range(n_pts):
            vals = data.obs[:, p]
            vals = vals[np.isfinite(vals)]
            if vals.size:
                scale[p] = max(0.05, float(np.quantile(vals, 0.99)))
        self.scale = scale
        half = rng.random(len(windows)) < 0.5
        # Fit the point model on one half, the residual quantiles on the other.
        self._fit_point(windows.take(np.flatnonzero(half)))
        cal = windows.take(np.flatnonzero(~half))
        assert cal.target is not None
        resid = (cal.target - self._point_forecast(cal)) / scale[cal.point][:, None]
        regime = regime_of(cal)
        out = np.zeros((3, self.horizon, len(self.quantiles)))
        for r in range(3):
            sel = resid[regime == r]
            if sel.shape[0] >= 20:
                out[r] = np.quantile(sel, self.quantiles, axis=0).T
        self.residual_q = out

    def _predict(self, windows: Windows) -> FloatArray:
        centre = self._point_forecast(windows)
        regime = regime_of(windows)
        spread = self.residual_q[regime] * self.scale[windows.point][:, None, None]
        return np.asarray(centre[:, :, None] + spread, dtype=np.float64)

    def _config(self) -> dict[str, Any]:
        return {**self._base_config(), "future_rain": self.future_rain}

    def _arrays(self) -> dict[str, FloatArray]:
        return {"scale": self.scale, "residual_q": self.residual_q}

    def _restore(self, arrays: dict[str, FloatArray]) -> None:
        self.scale = np.asarray(arrays["scale"], dtype=np.float64)
        self.residual_q = np.asarray(arrays["residual_q"], dtype=np.float64)


class PersistenceForecaster(_ResidualQuantiles):
    """Persistence: the depth stays at the last reading (see the module docstring)."""

    kind = "persistence"
    label = "persistence"

    def _point_forecast(self, windows: Windows) -> FloatArray:
        return np.repeat(windows.depth_hist[:, -1:], self.horizon, axis=1)

    def get_state(self) -> tuple[dict[str, Any], dict[str, FloatArray]]:
        """Settings and arrays."""
        return self._config(), self._arrays()

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, FloatArray]) -> Self:
        """Rebuild from :meth:`get_state`."""
        out = cls(
            quantiles=tuple(config["quantiles"]),
            encoder=config["encoder"],
            horizon=config["horizon"],
            future_rain=config.get("future_rain", "observed"),
        )
        out._restore(arrays)
        return out


def linear_features(windows: Windows) -> FloatArray:
    """Design matrices of the linear model, shape ``(n, horizon, 9)`` (module docstring)."""
    y = windows.depth_hist
    n, h = windows.rain_future.shape
    r15 = windows.rain_hist[:, -3:].mean(axis=1) / 10.0
    r60 = windows.rain_hist[:, -12:].mean(axis=1) / 10.0
    fut = windows.rain_future / 10.0
    fut_mean = np.cumsum(fut, axis=1) / np.arange(1, h + 1)[None, :]
    base = np.column_stack(
        [np.ones(n), y[:, -1], y[:, -1] - y[:, -2], y[:, -1] - y[:, -4], r15, r60]
    )
    x = np.empty((n, h, 9))
    x[:, :, :6] = base[:, None, :]
    x[:, :, 6] = fut_mean
    x[:, :, 7] = fut
    x[:, :, 8] = y[:, -1:] * fut_mean
    return x


class LinearRainForecaster(_ResidualQuantiles):
    """Direct multi-horizon linear model of the depth change on rain (module docstring)."""

    kind = "linear"
    label = "linear (rain-aware)"
    ridge = 1e-3

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.coef: FloatArray = np.zeros((0, self.horizon, 9))

    def _fit_point(self, windows: Windows) -> None:
        assert windows.target is not None and self.points is not None
        x = linear_features(windows)
        dy = windows.target - windows.depth_hist[:, -1:]
        n_pts = len(self.points)
        coef = np.zeros((n_pts, self.horizon, x.shape[-1]))
        penalty = self.ridge * np.eye(x.shape[-1])
        penalty[0, 0] = 0.0
        # Pooled fit as the fallback for points with few windows.
        pooled = np.stack(
            [
                np.linalg.solve(x[:, h].T @ x[:, h] + penalty * len(x), x[:, h].T @ dy[:, h])
                for h in range(self.horizon)
            ]
        )
        for p in range(n_pts):
            sel = windows.point == p
            m = int(sel.sum())
            if m < 10 * x.shape[-1]:
                coef[p] = pooled
                continue
            xp, yp = x[sel], dy[sel]
            for h in range(self.horizon):
                a = xp[:, h].T @ xp[:, h] + penalty * m
                coef[p, h] = np.linalg.solve(a, xp[:, h].T @ yp[:, h])
        self.coef = coef

    def _point_forecast(self, windows: Windows) -> FloatArray:
        x = linear_features(windows)
        dy = np.einsum("nhf,nhf->nh", x, self.coef[windows.point])
        return np.asarray(windows.depth_hist[:, -1:] + dy, dtype=np.float64)

    def get_state(self) -> tuple[dict[str, Any], dict[str, FloatArray]]:
        """Settings and arrays."""
        return self._config(), {**self._arrays(), "coef": self.coef}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, FloatArray]) -> Self:
        """Rebuild from :meth:`get_state`."""
        out = cls(
            quantiles=tuple(config["quantiles"]),
            encoder=config["encoder"],
            horizon=config["horizon"],
            future_rain=config.get("future_rain", "observed"),
        )
        out._restore(arrays)
        out.coef = np.asarray(arrays["coef"], dtype=np.float64)
        return out
