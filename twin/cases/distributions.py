"""Sampling random durations described by :class:`twin.scenario.DurationDist`.

Parameterisation by mean ``m`` [s] and coefficient of variation ``cv`` [-]:

- ``fixed``: always ``m``;
- ``exponential``: rate ``1/m`` (``cv`` is 1 by definition and ignored);
- ``lognormal``: ``σ² = ln(1 + cv²)``, ``μ = ln m − σ²/2``;
- ``gamma``: shape ``k = 1/cv²``, scale ``m·cv²``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from twin.scenario import DurationDist

__all__ = ["sample", "sample_params"]


def sample(dist: DurationDist, size: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Draw ``size`` durations [s]."""
    return sample_params(dist.kind, np.full(size, dist.mean), np.full(size, dist.cv), rng)


def sample_params(
    kind: str,
    mean: npt.NDArray[np.float64],
    cv: npt.NDArray[np.float64],
    rng: np.random.Generator,
) -> npt.NDArray[np.float64]:
    """Draw one duration per entry of ``mean``/``cv`` [s], all of one ``kind``."""
    mean = np.asarray(mean, dtype=np.float64)
    cv = np.asarray(cv, dtype=np.float64)
    n = mean.shape[0]
    if kind == "fixed":
        return mean.copy()
    if kind == "exponential":
        return rng.exponential(1.0, n) * mean
    if kind == "lognormal":
        z = rng.standard_normal(n)
        s2 = np.log1p(cv**2)
        return np.exp(np.log(np.maximum(mean, 1e-12)) - s2 / 2 + np.sqrt(s2) * z) * (mean > 0)
    if kind == "gamma":
        shape = 1.0 / np.maximum(cv, 1e-6) ** 2
        return rng.gamma(shape, 1.0, n) * mean / shape
    raise ValueError(f"unknown distribution kind {kind!r}")
