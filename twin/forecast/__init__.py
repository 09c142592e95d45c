"""Waterlogging forecasts at the low points, scored by lead time.

Pipeline: :mod:`~twin.forecast.data` (the physics driven by real and design storms,
read through gauges) → forecasters behind one interface (:mod:`~twin.forecast.base`:
persistence and linear in :mod:`~twin.forecast.baselines`, SARIMAX in
:mod:`~twin.forecast.sarimax`, N-HiTS in :mod:`~twin.forecast.neural`) →
rolling-origin backtests (:mod:`~twin.forecast.evaluate`, :mod:`~twin.forecast.metrics`)
and reports (:mod:`~twin.forecast.report`) → online use and alerts
(:mod:`~twin.forecast.online`, :mod:`twin.alerts`). Trained models live in ``models/``
(:mod:`~twin.forecast.io`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin._lazy import lazy_exports

if TYPE_CHECKING:
    from twin.forecast.base import QUANTILES, Forecaster, exceedance_probability
    from twin.forecast.errors import ForecastError, ModelFileError
    from twin.forecast.io import load_forecaster, load_shipped, save_forecaster
    from twin.forecast.online import alert_timeline, predict_points, replay_alerts

__all__ = [
    "QUANTILES",
    "ForecastError",
    "Forecaster",
    "ModelFileError",
    "alert_timeline",
    "exceedance_probability",
    "load_forecaster",
    "load_shipped",
    "predict_points",
    "replay_alerts",
    "save_forecaster",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ForecastError": "twin.forecast.errors",
        "Forecaster": "twin.forecast.base",
        "ModelFileError": "twin.forecast.errors",
        "QUANTILES": "twin.forecast.base",
        "alert_timeline": "twin.forecast.online",
        "exceedance_probability": "twin.forecast.base",
        "load_forecaster": "twin.forecast.io",
        "load_shipped": "twin.forecast.io",
        "predict_points": "twin.forecast.online",
        "replay_alerts": "twin.forecast.online",
        "save_forecaster": "twin.forecast.io",
    },
)
