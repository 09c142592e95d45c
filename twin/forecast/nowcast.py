"""Where the future rain comes from: observed (oracle), persistence, perturbed.

A forecaster needs the rain over the next two hours (its known-future covariate). The
twin offers three sources, and every figure and table names the one it used:

``observed``
    The rain that really fell (an **oracle**: an upper bound of skill, not available
    in operations).
``persistence``
    A persistence nowcast at the gauge: the mean rate of the last 15 minutes held
    constant over the horizon (Eulerian persistence, the simplest operational nowcast;
    cf. the persistence baseline of pysteps). It is also the future rain that gauge
    storms give the forecasters trained on the nowcast
    (:func:`twin.forecast.windows.persistence_rain`).
``perturbed``
    The observed rain times a multiplicative error that grows with the lead time,
    ``r̃(h) = r(h) · exp(σ_h ε_h - σ_h²/2)`` with ``σ_h = 0.3 + 0.7 h/H`` and
    ``ε_h`` a unit AR(1) series along the leads with correlation 0.9 (one draw per
    window): a stand-in for a radar nowcast of realistic, growing error.
    **Illustrative** error levels, not a calibration of any nowcasting system.

References
----------
Pulkkinen, S. et al. (2019). Pysteps: an open-source Python library for probabilistic
precipitation nowcasting (v1.0). *Geosci. Model Dev.* 12, 4185–4219.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from twin._types import FloatArray
from twin.forecast.errors import ForecastError
from twin.forecast.windows import Windows, persistence_rain

__all__ = ["RADAR_SOURCES", "RAIN_SOURCES", "RainSource", "future_rain", "rain_source_label"]

RainSource = Literal[
    "observed", "persistence", "perturbed", "eulerian", "extrapolation", "sprog", "linda",
    "steps", "external",
]  # fmt: skip
RAIN_SOURCES: tuple[str, ...] = (
    "observed", "persistence", "perturbed", "eulerian", "extrapolation", "sprog", "linda",
    "steps", "external",
)  # fmt: skip
#: Sources that are radar nowcasts, given to the replay as arrays
#: (:mod:`twin.forecast.radar_rain`), not computed from the gauge history here.
RADAR_SOURCES: tuple[str, ...] = (
    "eulerian", "extrapolation", "sprog", "linda", "steps", "external"
)  # fmt: skip
_LABELS = {
    "observed": "observed future rain (oracle, upper bound)",
    "persistence": "persistence nowcast at the gauge (last 15 min held)",
    "perturbed": "perturbed nowcast (observed × growing lognormal error, illustrative)",
    "eulerian": "radar Eulerian persistence (pysteps)",
    "extrapolation": "radar extrapolation nowcast (pysteps, Lucas-Kanade + semi-Lagrangian)",
    "sprog": "radar S-PROG nowcast (pysteps)",
    "linda": "radar LINDA nowcast (pysteps; growth and decay along the motion)",
    "steps": "radar STEPS ensemble nowcast (pysteps; mean for point forecasters)",
    "external": "external nowcast product (e.g. a met bureau's), resampled to the grid",
}


def rain_source_label(source: str) -> str:
    """A one-line description of a rain source, for figures and tables."""
    check_source(source)
    return _LABELS[source]


def check_source(source: str) -> None:
    """Raise :class:`ForecastError` for an unknown rain source."""
    if source not in RAIN_SOURCES:
        raise ForecastError(f"rain source {source!r}: use one of {', '.join(RAIN_SOURCES)}.")


def future_rain(
    rain_hist: FloatArray,
    rain_observed: FloatArray | None,
    source: str,
    *,
    horizon: int,
    rng: np.random.Generator | None = None,
) -> FloatArray:
    """Future rain [mm/h] for windows, shape ``(n, horizon)``, from a source.

    Parameters
    ----------
    rain_hist
        Gauge rain over the last steps [mm/h], shape ``(n, L)``.
    rain_observed
        The rain that really fell over the lead times [mm/h], ``(n, horizon)``; needed
        by ``observed`` and ``perturbed``.
    source
        ``"observed"``, ``"persistence"`` or ``"perturbed"``.
    horizon
        Lead steps.
    rng
        Random generator of ``perturbed`` (default seeded with 0).
    """
    check_source(source)
    if source in RADAR_SOURCES:
        raise ForecastError(
            f"the {source!r} rain source is a radar nowcast: pass the nowcast rain "
            "(twin.forecast.radar_rain) instead of computing it from the gauge history."
        )
    if source == "persistence":
        return persistence_rain(rain_hist, horizon)
    if rain_observed is None:
        raise ForecastError(
            f"the {source!r} rain source needs the observed future rain; use 'persistence' "
            "when only the past is known."
        )
    obs = np.asarray(rain_observed, dtype=np.float64)
    if source == "observed":
        return obs
    gen = rng or np.random.default_rng(0)
    n = obs.shape[0]
    eps = np.empty((n, horizon))
    eps[:, 0] = gen.standard_normal(n)
    rho = 0.9
    for h in range(1, horizon):
        eps[:, h] = rho * eps[:, h - 1] + np.sqrt(1 - rho**2) * gen.standard_normal(n)
    sigma = 0.3 + 0.7 * np.arange(1, horizon + 1) / horizon
    return obs * np.exp(sigma * eps - 0.5 * sigma**2)


def with_source(
    windows: Windows, source: str, *, rng: np.random.Generator | None = None
) -> Windows:
    """Windows whose future rain is replaced by a source (observed stays as it is)."""
    fut = future_rain(
        windows.rain_hist,
        windows.rain_future,
        source,
        horizon=windows.rain_future.shape[1],
        rng=rng,
    )
    return windows.with_rain_future(fut)
