"""Coverage of forecast bands: how often the observed depth falls inside a quantile band.

Shared by the conformal calibration (:mod:`twin.forecast.conformal`), its online
variant (:mod:`twin.forecast.adaptive`) and the backtests. "Wet" entries (the observed
depth or the raw upper quantile above a small depth) are reported apart: dry windows,
forecast and observed at zero, are covered trivially and would inflate the figure.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import BoolArray, FloatArray, IntArray
from twin.forecast.base import QUANTILES
from twin.forecast.errors import ForecastError
from twin.forecast.records import STEP_S

__all__ = ["check_arrays", "coverage", "coverage_table", "factorize", "level_index", "wet_mask"]


def level_index(levels: tuple[float, ...], level: float, what: str) -> int:
    """Position of ``level`` among ``levels`` (``what`` names it in the error)."""
    for i, lv in enumerate(levels):
        if math.isclose(lv, level, abs_tol=1e-9):
            return i
    raise ForecastError(f"{what} level {level} is not among the quantile levels {levels}.")


def check_arrays(
    quantiles: npt.ArrayLike, observed: npt.ArrayLike | None, n_levels: int
) -> tuple[FloatArray, FloatArray | None]:
    """Quantiles ``(n, H, Q)`` and observations ``(n, H)`` as float arrays, checked."""
    q = np.asarray(quantiles, dtype=np.float64)
    if q.ndim != 3 or q.shape[2] != n_levels or q.shape[0] == 0:
        raise ForecastError(
            f"quantiles have shape {q.shape}; expected (n_windows, n_leads, {n_levels}) with "
            "n_windows ≥ 1 (one column per quantile level)."
        )
    if not np.isfinite(q).all():
        raise ForecastError(
            f"quantiles have {int((~np.isfinite(q)).sum())} non-finite value(s); a forecaster "
            "must give finite depths."
        )
    if observed is None:
        return q, None
    y = np.asarray(observed, dtype=np.float64)
    if y.shape != q.shape[:2]:
        raise ForecastError(
            f"observed depths have shape {y.shape}; expected {q.shape[:2]} (windows, leads), "
            "the first two axes of the quantiles."
        )
    return q, y


def factorize(
    labels: npt.ArrayLike | Iterable[Hashable] | None, n: int | None
) -> tuple[IntArray, list[Hashable]]:
    """Integer codes of labels (first-seen order) and the labels as plain Python values."""
    if labels is None:
        if n is None:
            raise ForecastError("no labels given.")
        return np.zeros(n, dtype=np.int64), ["all"]
    if isinstance(labels, np.ndarray) and labels.ndim == 1:
        arr = labels.astype(object)
    else:
        items = list(labels)  # type: ignore[arg-type]
        arr = np.empty(len(items), dtype=object)
        for i, item in enumerate(items):
            arr[i] = item
    if n is not None and arr.shape[0] != n:
        raise ForecastError(f"{arr.shape[0]} labels for {n} windows; give one per window.")
    codes, uniq = pd.factorize(arr)
    if (codes < 0).any():
        raise ForecastError(f"label missing (None/NaN) at window {int(np.argmax(codes < 0))}.")
    return codes.astype(np.int64), [u.item() if isinstance(u, np.generic) else u for u in uniq]


def wet_mask(
    quantiles: npt.ArrayLike,
    observed: npt.ArrayLike,
    *,
    wet_depth: float = 0.01,
    level: float = 0.9,
    levels: tuple[float, ...] = QUANTILES,
) -> BoolArray:
    r"""Wet-relevant entries: observed, and observed or forecast depth above ``wet_depth``.

    Parameters
    ----------
    quantiles
        The forecaster's (raw) depth quantiles [m], shape ``(n, H, len(levels))``.
    observed
        Observed depths [m], shape ``(n, H)``; NaN entries are never wet.
    wet_depth
        Depth [m] above which an entry is wet.
    level
        The forecast quantile level compared with ``wet_depth`` [-].
    levels
        Quantile levels of ``quantiles`` [-].

    Returns
    -------
    numpy.ndarray
        Shape ``(n, H)``: :math:`\text{finite}(y) \wedge (y > d \vee \hat q_{level} > d)`.
    """
    q, y = check_arrays(quantiles, observed, len(levels))
    assert y is not None
    i = level_index(levels, level, "wet")
    with np.errstate(invalid="ignore"):
        return np.isfinite(y) & ((y > wet_depth) | (q[:, :, i] > wet_depth))


def coverage(
    quantiles: npt.ArrayLike,
    observed: npt.ArrayLike,
    lower: float = 0.1,
    upper: float = 0.9,
    mask: npt.ArrayLike | None = None,
    *,
    levels: tuple[float, ...] = QUANTILES,
) -> float:
    """Share of observed depths within ``[q_lower, q_upper]`` (NaN observations skipped).

    Parameters
    ----------
    quantiles
        Depth quantiles [m], shape ``(n, H, len(levels))``.
    observed
        Observed depths [m], shape ``(n, H)``.
    lower, upper
        Levels of the band's ends [-].
    mask
        Entries to count, shape ``(n, H)`` (default all with an observation).
    levels
        Quantile levels of ``quantiles`` [-].

    Returns
    -------
    float
        Coverage [-] (NaN when no entry counts).
    """
    q, y = check_arrays(quantiles, observed, len(levels))
    assert y is not None
    lo, hi = (
        q[:, :, level_index(levels, lower, "lower")],
        q[:, :, level_index(levels, upper, "upper")],
    )
    m = np.isfinite(y) if mask is None else np.isfinite(y) & np.asarray(mask, dtype=bool)
    if not m.any():
        return float("nan")
    return float(((y[m] >= lo[m]) & (y[m] <= hi[m])).mean())


def coverage_table(
    quantiles: npt.ArrayLike,
    observed: npt.ArrayLike,
    groups: npt.ArrayLike | Iterable[Hashable] | None = None,
    *,
    lower: float = 0.1,
    upper: float = 0.9,
    wet: npt.ArrayLike | None = None,
    levels: tuple[float, ...] = QUANTILES,
    step_s: float = STEP_S,
) -> pd.DataFrame:
    """Coverage and mean band width per lead and group (and all groups together).

    Parameters
    ----------
    quantiles, observed
        As for :func:`coverage`.
    groups
        A label per window (default one group ``"all"``).
    lower, upper, levels
        As for :func:`coverage`.
    wet
        Wet-relevant entries (:func:`wet_mask` of the *raw* quantiles); when given, rows
        for the subset ``"wet"`` follow those for ``"all"``.
    step_s
        Length of a lead step [s].

    Returns
    -------
    pandas.DataFrame
        Columns ``subset``, ``group`` (``"all"`` rows pool the groups), ``lead`` (step,
        1-based), ``lead_min`` [min], ``n``, ``coverage`` [-], ``mean_width`` [m].
    """
    q, y = check_arrays(quantiles, observed, len(levels))
    assert y is not None
    n, horizon = y.shape
    codes, labels = factorize(groups, n)
    lo = q[:, :, level_index(levels, lower, "lower")]
    hi = q[:, :, level_index(levels, upper, "upper")]
    hit = ((y >= lo) & (y <= hi)).astype(np.float64)
    width = hi - lo
    subsets = [("all", np.isfinite(y))]
    if wet is not None:
        subsets.append(("wet", np.isfinite(y) & np.asarray(wet, dtype=bool)))
    sets = [(lab, codes == g) for g, lab in enumerate(labels)]
    if groups is not None and len(labels) > 1:
        sets.append(("all", np.ones(n, dtype=bool)))
    lead = np.arange(1, horizon + 1)
    frames = []
    for name, m in subsets:
        for label, in_group in sets:
            mm = m & in_group[:, None]
            cnt = mm.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                cov = np.where(mm, hit, 0.0).sum(axis=0) / cnt
                wid = np.where(mm, width, 0.0).sum(axis=0) / cnt
            cols = {"subset": [name] * horizon, "group": [label] * horizon, "lead": lead}
            cols |= {"lead_min": lead * step_s / 60.0, "n": cnt, "coverage": cov}
            frames.append(pd.DataFrame({**cols, "mean_width": wid}))
    return pd.concat(frames, ignore_index=True)
