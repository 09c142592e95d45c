r"""SARIMAX with rain as exogenous input (statsmodels), one model per low point.

Model (Box–Jenkins regression with ARMA errors, statsmodels ``SARIMAX``):

.. math::

    y_t = \beta_1 r_t + \beta_2 \bar r_{60,t} + u_t, \qquad
    (1 - \phi_1 L - \phi_2 L^2)\, u_t = (1 + \theta_1 L)\, \varepsilon_t, \quad
    \varepsilon_t \sim \mathcal N(0, \sigma^2)

with :math:`y_t` the gauge reading [m], :math:`r_t` the gauge rain over the step ending
at :math:`t` and :math:`\bar r_{60,t}` its trailing 60-minute mean [mm/h] / 10. No
seasonal part: storms have no season at a 5-minute step. The parameters are estimated
per point by maximum likelihood (Kalman filter; gaps in the readings are missing
observations) on the concatenated records of up to ``n_storms`` training storms.

Forecasts condition on the window's history only: the state-space form of the fitted
model (taken from statsmodels: design ``Z``, transition ``T``, selection ``R``, state
covariance ``Q``, stationary initial state) is filtered over the ``L`` history steps
and projected ``H`` steps ahead with the future rain in the regression term, exactly
what ``results.apply(history).get_forecast(H, exog=future)`` computes (a test checks
it), but for many windows at once in numpy. Quantiles are Gaussian:
``q_τ = ŷ + z_τ σ_h`` with ``σ_h²`` the forecast-error variance.

Trained on the nowcast (``future_rain="nowcast"``, the default). The maximum-likelihood
fit above conditions each step on the rain of that step, which at a forecast's issue
time is still future: in operation the regression term is fed a nowcast. So, with the
ARMA part (``φ``, ``θ``, ``σ²``) kept from the fit, two things are re-estimated on
training windows whose future rain is the nowcast that was available at their issue time
(:mod:`twin.forecast.windows`: the radar nowcast of a radar storm, else the gauge
persistence):

- the rain coefficients ``β``, per point, by least squares of the ``H``-step forecasts
  against the readings over every lead (the forecast mean is affine in ``β`` for a
  fixed ARMA part, so this is exact), shrunk towards the likelihood estimate
  (ridge ``λ`` = :data:`RIDGE` × the mean diagonal of the normal matrix);
- a spread factor per lead ``s_h``, chosen so that the central 80 % Gaussian band
  holds 80 % of the standardised forecast errors over those windows and all points,
  ``s_h = Q_{0.8}(|e_h| / σ_h) / z_{0.9}``, and ``q_τ = ŷ + z_τ s_h σ_h`` (the errors
  are far from Gaussian, so the other quantiles are not calibrated by this).

``future_rain="observed"`` keeps the likelihood estimates and ``s_h = 1`` (models saved
before the setting existed load as such).

A linear Gaussian model cannot represent the threshold-like filling of a pond; it is
the classical statistical baseline, not expected to win.

References
----------
Durbin, J. and Koopman, S. J. (2012). *Time Series Analysis by State Space Methods*,
2nd ed., Oxford University Press, ch. 4 (Kalman filter), ch. 3.4 (ARMA in state space).
Seabold, S. and Perktold, J. (2010). statsmodels: econometric and statistical modeling
with Python. *Proc. 9th Python in Science Conf.*
"""

from __future__ import annotations

import logging
import warnings
from typing import Any, Self

import numpy as np
from scipy.stats import norm

from twin._types import FloatArray
from twin.forecast.base import Forecaster
from twin.forecast.data import StormRecords, Windows, trailing_mean
from twin.forecast.windows import FutureRain, check_future_rain, sample_training_windows

__all__ = ["SarimaxForecaster", "sarimax_exog"]

logger = logging.getLogger(__name__)

ORDER = (2, 0, 1)
EXOG_NAMES = ("rain", "rain_60min")
#: Shrinkage of the nowcast re-estimate of the rain coefficients towards the likelihood
#: estimate [-] (relative to the mean diagonal of the normal matrix).
RIDGE = 0.01


def _frame(exog: FloatArray) -> Any:
    """Exog as a named frame (statsmodels names parameters after the columns)."""
    import pandas as pd

    return pd.DataFrame(exog, columns=list(EXOG_NAMES))


def sarimax_exog(rain: FloatArray) -> FloatArray:
    """Exogenous columns from a rain series ending at each row [mm/h], shape ``(n, 2)``."""
    rain = np.asarray(rain, dtype=np.float64)
    return np.column_stack([rain / 10.0, trailing_mean(rain, 12) / 10.0])


def _window_exog(windows: Windows) -> tuple[FloatArray, FloatArray]:
    """Exog of the history ``(n, L, 2)`` and of the lead times ``(n, H, 2)``."""
    rain = np.concatenate([windows.rain_hist, windows.rain_future], axis=1)  # (n, L+H)
    c = np.cumsum(np.concatenate([np.zeros((rain.shape[0], 1)), rain], axis=1), axis=1)
    k = 12
    idx = np.arange(rain.shape[1])
    lo = np.maximum(0, idx + 1 - k)
    mean60 = (c[:, idx + 1] - c[:, lo]) / (idx + 1 - lo)[None, :]
    ex = np.stack([rain / 10.0, mean60 / 10.0], axis=-1)
    n_hist = windows.rain_hist.shape[1]
    return ex[:, :n_hist], ex[:, n_hist:]


class SarimaxForecaster(Forecaster):
    """Per-point SARIMAX(2,0,1) with rain regressors (see the module docstring).

    Parameters
    ----------
    n_storms
        Training storms per fit (the wettest half and a random half).
    maxiter
        Most optimiser iterations per point.
    future_rain
        Future rain of the training windows: ``"nowcast"`` (re-estimate ``β`` and the
        spread on it) or ``"observed"`` (the likelihood fit only).
    n_windows
        Training windows of the nowcast re-estimate.
    radar_share
        Share of those windows from radar storms (where the data has any).
    """

    kind = "sarimax"
    label = "SARIMAX (statsmodels)"

    def __init__(
        self,
        *,
        n_storms: int = 12,
        maxiter: int = 30,
        future_rain: FutureRain = "nowcast",
        n_windows: int = 40_000,
        radar_share: float = 0.25,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_future_rain(future_rain)
        self.n_storms = int(n_storms)
        self.maxiter = int(maxiter)
        self.future_rain: FutureRain = future_rain
        self.n_windows = int(n_windows)
        self.radar_share = float(radar_share)
        self.params: FloatArray = np.zeros((0, 0))
        self.param_names: list[str] = []
        self.lead_scale: FloatArray = np.ones(self.horizon)

    def _fit(self, data: StormRecords, *, seed: int) -> None:
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        rng = np.random.default_rng(seed)
        depth_total = np.array([np.nanmax(data.depth[data.rows(s)]) for s in range(data.n_storms)])
        order = np.argsort(-depth_total, kind="stable")
        n = min(self.n_storms, data.n_storms)
        wettest = order[: n // 2]
        others = np.setdiff1d(np.arange(data.n_storms), wettest)
        extra = rng.choice(others, size=min(n - wettest.size, others.size), replace=False)
        chosen = np.sort(np.r_[wettest, extra]).astype(np.int64)
        sub = data.subset(chosen)

        def exog_at(p: int) -> FloatArray:
            return np.concatenate([sarimax_exog(sub.point_rain(s, p)) for s in range(sub.n_storms)])

        exog = exog_at(0)
        params = []
        for p in range(len(data.points)):
            if sub.rain.ndim == 2:
                exog = exog_at(p)
            model = SARIMAX(sub.obs[:, p], exog=_frame(exog), order=ORDER, trend="n")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = model.fit(disp=False, maxiter=self.maxiter)
            params.append(np.asarray(res.params, dtype=np.float64))
            self.param_names = list(model.param_names)
        self.params = np.stack(params)
        self.lead_scale = np.ones(self.horizon)
        self.info["sarimax_storms"] = int(chosen.size)
        self.info["sarimax_rows"] = int(sub.obs.shape[0])
        self.info["future_rain"] = self.future_rain
        if self.future_rain == "nowcast":
            self._fit_nowcast(data, rng)

    def _fit_nowcast(self, data: StormRecords, rng: np.random.Generator) -> None:
        """Re-estimate ``β`` and the lead spread on nowcast windows (module docstring)."""
        w = sample_training_windows(
            data, self.n_windows, radar_share=self.radar_share, future_rain="nowcast", rng=rng
        )
        assert w.target is not None
        ex_hist, ex_fut = _window_exog(w)
        y = np.where(w.missing_hist, np.nan, w.depth_hist)
        names = self.param_names
        cols = [names.index(c) for c in EXOG_NAMES]
        z_abs = np.zeros((len(w), self.horizon))
        for p in np.unique(w.point).tolist():
            rows = np.flatnonzero(w.point == p)
            m = self._matrices(p)
            runs = []
            for beta in (np.zeros(2), np.eye(2)[0], np.eye(2)[1]):
                mean, _ = _kalman_forecast(
                    {**m, "beta": beta}, y[rows], ex_hist[rows], ex_fut[rows]
                )
                runs.append(mean)
            jac = np.stack([runs[1] - runs[0], runs[2] - runs[0]], axis=-1).reshape(-1, 2)
            resid = (w.target[rows] - runs[0]).reshape(-1)
            ata = jac.T @ jac
            lam = RIDGE * max(float(np.trace(ata)) / 2.0, 1e-12)
            beta = np.linalg.solve(ata + lam * np.eye(2), jac.T @ resid + lam * m["beta"])
            self.params[p, cols] = beta
            mean, var = _kalman_forecast(self._matrices(p), y[rows], ex_hist[rows], ex_fut[rows])
            z_abs[rows] = np.abs(w.target[rows] - mean) / np.sqrt(np.maximum(var, 1e-12))
        self.lead_scale = np.quantile(z_abs, 0.8, axis=0) / float(norm.ppf(0.9))
        self.info["nowcast_windows"] = len(w)
        self.info["lead_scale"] = [round(float(x), 3) for x in self.lead_scale]

    def _matrices(self, p: int) -> dict[str, FloatArray]:
        """State-space matrices of point ``p``'s fitted model (from statsmodels)."""
        from scipy.linalg import solve_discrete_lyapunov
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        model = SARIMAX(np.zeros(8), exog=_frame(np.zeros((8, 2))), order=ORDER, trend="n")
        model.update(self.params[p])
        ssm = model.ssm
        names = self.param_names
        beta = np.array([self.params[p, names.index(c)] for c in EXOG_NAMES])

        def matrix(name: str) -> FloatArray:
            arr = np.asarray(ssm[name], dtype=np.float64)
            return arr[:, :, 0] if arr.ndim == 3 else arr

        sel = matrix("selection")
        rqr = sel @ matrix("state_cov") @ sel.T
        t_mat = matrix("transition")
        return {
            "Z": matrix("design"),
            "T": t_mat,
            "RQR": rqr,
            "H": matrix("obs_cov"),
            # Stationary initial covariance: P0 = T P0 T' + RQR' (as statsmodels).
            "P0": np.asarray(solve_discrete_lyapunov(t_mat, rqr), dtype=np.float64),
            "beta": beta,
        }

    def _predict(self, windows: Windows) -> FloatArray:
        ex_hist, ex_fut = _window_exog(windows)
        y = np.where(windows.missing_hist, np.nan, windows.depth_hist)
        n = len(windows)
        out = np.empty((n, self.horizon, len(self.quantiles)))
        z = norm.ppf(np.asarray(self.quantiles))
        for p in np.unique(windows.point).tolist():
            rows = np.flatnonzero(windows.point == p)
            mean, var = _kalman_forecast(self._matrices(p), y[rows], ex_hist[rows], ex_fut[rows])
            sd = np.sqrt(np.maximum(var, 0.0)) * self.lead_scale[None, :]
            out[rows] = mean[:, :, None] + sd[:, :, None] * z
        return out

    def get_state(self) -> tuple[dict[str, Any], dict[str, FloatArray]]:
        """Settings and arrays."""
        cfg = {
            **self._base_config(),
            "order": list(ORDER),
            "param_names": self.param_names,
            "n_storms": self.n_storms,
            "maxiter": self.maxiter,
            "future_rain": self.future_rain,
            "n_windows": self.n_windows,
            "radar_share": self.radar_share,
        }
        return cfg, {"params": self.params, "lead_scale": self.lead_scale}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, FloatArray]) -> Self:
        """Rebuild from :meth:`get_state`."""
        out = cls(
            quantiles=tuple(config["quantiles"]),
            encoder=config["encoder"],
            horizon=config["horizon"],
            n_storms=config["n_storms"],
            maxiter=config["maxiter"],
            # Models saved before the setting existed were fitted on the observed rain.
            future_rain=config.get("future_rain", "observed"),
            n_windows=config.get("n_windows", 40_000),
            radar_share=config.get("radar_share", 0.0),
        )
        out.params = np.asarray(arrays["params"], dtype=np.float64)
        if "lead_scale" in arrays:
            out.lead_scale = np.asarray(arrays["lead_scale"], dtype=np.float64)
        out.param_names = list(config["param_names"])
        return out


def _kalman_forecast(
    m: dict[str, FloatArray], y: FloatArray, ex_hist: FloatArray, ex_fut: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Filter many windows of one model over their history, then forecast.

    Parameters
    ----------
    m
        ``Z`` (1, s), ``T`` (s, s), ``RQR`` (s, s), ``H`` (1, 1), ``P0`` (s, s), ``beta`` (2,).
    y
        History, NaN where missing, shape ``(n, L)``.
    ex_hist, ex_fut
        Regressors of the history and the lead times, shapes ``(n, L, 2)``, ``(n, H, 2)``.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Forecast mean and variance of the observation, shape ``(n, H)`` each.
    """
    z, t_mat, rqr, h_var = m["Z"][0], m["T"], m["RQR"], float(m["H"][0, 0])
    n, n_hist = y.shape
    s = t_mat.shape[0]
    a = np.zeros((n, s))
    p_cov = np.broadcast_to(m["P0"], (n, s, s)).copy()
    d_hist = ex_hist @ m["beta"]
    for k in range(n_hist):
        f = np.einsum("i,nij,j->n", z, p_cov, z) + h_var
        v = y[:, k] - a @ z - d_hist[:, k]
        ok = np.isfinite(v) & (f > 0)
        pz = p_cov @ z  # (n, s)
        gain = np.where(ok[:, None], pz / np.where(ok, f, 1.0)[:, None], 0.0)
        a = a + gain * np.where(ok, v, 0.0)[:, None]
        p_cov = p_cov - gain[:, :, None] * pz[:, None, :]
        a = a @ t_mat.T
        p_cov = t_mat @ p_cov @ t_mat.T + rqr
    d_fut = ex_fut @ m["beta"]
    n_lead = ex_fut.shape[1]
    mean = np.empty((n, n_lead))
    var = np.empty((n, n_lead))
    for h in range(n_lead):
        mean[:, h] = a @ z + d_fut[:, h]
        var[:, h] = np.einsum("i,nij,j->n", z, p_cov, z) + h_var
        a = a @ t_mat.T
        p_cov = t_mat @ p_cov @ t_mat.T + rqr
    return mean, var
