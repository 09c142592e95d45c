"""Forecast windows: what a forecaster sees at an issue time, cut from storm records.

A window at issue row ``k`` of a storm holds the last :data:`ENCODER_STEPS` gauge
readings (gaps filled by the last reading, with flags) and gauge rain up to ``t_k``, and
the rain over the next :data:`HORIZON_STEPS` steps (observed, a nowcast or a perturbed
nowcast, :mod:`twin.forecast.nowcast`); for training and evaluation also the target
depth at the lead times. Row conventions: :mod:`twin.forecast.records`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import BoolArray, FloatArray, IntArray
from twin.forecast.errors import ForecastError
from twin.forecast.records import StormRecords

__all__ = [
    "ENCODER_STEPS",
    "HORIZON_STEPS",
    "Windows",
    "fill_readings",
    "make_windows",
    "prepared_rows",
    "sample_windows",
    "storm_origins",
    "trailing_mean",
    "windows_at",
]

#: History a forecaster sees: 24 steps (2 h).
ENCODER_STEPS = 24
#: Lead times 5 … 120 min: 24 steps.
HORIZON_STEPS = 24


def trailing_mean(x: FloatArray, k: int) -> FloatArray:
    """Mean of the last ``k`` values along axis 0 (fewer at the start) [same units]."""
    x = np.asarray(x, dtype=np.float64)
    c = np.cumsum(np.concatenate([np.zeros((1, *x.shape[1:])), x]), axis=0)
    n = np.arange(1, x.shape[0] + 1, dtype=np.float64)
    lo = np.maximum(0, np.arange(x.shape[0]) + 1 - k)
    width = (n - lo).reshape(-1, *([1] * (x.ndim - 1)))
    return np.asarray((c[1:] - c[lo]) / width, dtype=np.float64)


def fill_readings(obs: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Readings with gaps filled by the last reading (0 before the first).

    The live store holds the last reading of a gauge; a forecaster sees that value and
    a flag. Works along axis 0 of a ``(time, ...)`` array.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Filled readings [m] and the missing flags.
    """
    obs = np.asarray(obs, dtype=np.float64)
    missing = np.isnan(obs)
    idx = np.where(~missing, np.arange(obs.shape[0]).reshape(-1, *([1] * (obs.ndim - 1))), 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    filled = np.take_along_axis(obs, idx, axis=0)
    return np.nan_to_num(filled, nan=0.0), missing


@dataclass(frozen=True)
class Windows:
    """Forecast inputs at many issue times (one row per issue time and point).

    Attributes
    ----------
    depth_hist
        Gauge readings, gaps filled by the last reading [m], shape ``(n, L)``; the last
        column is the issue time.
    missing_hist
        Whether each reading was missing, shape ``(n, L)``.
    rain_hist
        Gauge rain over the steps ending at the same times [mm/h], shape ``(n, L)``.
    rain_future
        Rain over the steps ending at the ``H`` lead times [mm/h], shape ``(n, H)``
        (observed, a nowcast, or a perturbed nowcast: see :mod:`twin.forecast.nowcast`).
    point
        Position of each row's low point in the model's points, shape ``(n,)``.
    target
        True depth at the lead times [m], shape ``(n, H)``, or None.
    """

    depth_hist: FloatArray
    missing_hist: BoolArray
    rain_hist: FloatArray
    rain_future: FloatArray
    point: IntArray
    target: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.point.shape[0])

    def with_rain_future(self, rain_future: FloatArray) -> Windows:
        """The same windows with another future rain."""
        return Windows(
            self.depth_hist,
            self.missing_hist,
            self.rain_hist,
            np.asarray(rain_future),
            self.point,
            self.target,
        )

    def take(self, idx: npt.ArrayLike) -> Windows:
        """A subset of rows."""
        i = np.asarray(idx)
        return Windows(
            self.depth_hist[i],
            self.missing_hist[i],
            self.rain_hist[i],
            self.rain_future[i],
            self.point[i],
            None if self.target is None else self.target[i],
        )


def prepared_rows(
    data: StormRecords, target: str
) -> tuple[FloatArray, BoolArray, FloatArray | None]:
    """Filled readings, missing flags and the target array of every row of a storm set."""
    filled = np.empty_like(data.obs)
    missing = np.empty(data.obs.shape, dtype=bool)
    clean: FloatArray | None = None
    if target == "obs":
        clean = np.empty_like(data.obs)
    elif target not in ("depth", "none"):
        raise ForecastError(f"target {target!r}: use 'depth', 'obs' or 'none'.")
    for s in range(data.n_storms):
        rows = data.rows(s)
        filled[rows], missing[rows] = fill_readings(data.obs[rows])
        if clean is not None:
            frame = pd.DataFrame(data.obs[rows]).interpolate(limit_direction="both")
            clean[rows] = np.nan_to_num(frame.to_numpy(dtype=np.float64), nan=0.0)
    if target == "depth":
        clean = data.depth
    return filled, missing, clean


def _gather(
    data: StormRecords,
    prepared: tuple[FloatArray, BoolArray, FloatArray | None],
    g: IntArray,
    p: IntArray,
    encoder: int,
    horizon: int,
) -> Windows:
    """Windows at global issue rows ``g`` and point positions ``p``."""
    filled, missing, clean = prepared
    hist = g[:, None] + np.arange(-encoder + 1, 1)[None, :]
    fut = g[:, None] + np.arange(1, horizon + 1)[None, :]
    pc = p[:, None]
    return Windows(
        depth_hist=filled[hist, pc],
        missing_hist=missing[hist, pc],
        rain_hist=data.rain[hist],
        rain_future=data.rain[fut],
        point=p.astype(np.int64),
        target=None if clean is None else clean[fut, pc],
    )


def make_windows(
    data: StormRecords,
    storm: int,
    origins: IntArray,
    *,
    points: IntArray | None = None,
    encoder: int = ENCODER_STEPS,
    horizon: int = HORIZON_STEPS,
    target: str = "depth",
) -> Windows:
    """Windows of one storm at the given origin rows and points (all combinations).

    Parameters
    ----------
    data
        The storms.
    storm
        Storm position.
    origins
        Issue rows within the storm, each ``>= encoder - 1`` and ``< n_rows - horizon``.
    points
        Point positions (default all).
    encoder, horizon
        History and lead steps.
    target
        ``"depth"`` (truth, for evaluation), ``"obs"`` (gauge readings with gaps
        interpolated, for training) or ``"none"``.

    Returns
    -------
    Windows
        Rows ordered origin-major, point-minor.
    """
    one = data.subset([storm])
    n = int(one.offsets[-1])
    origins = np.asarray(origins, dtype=np.int64)
    if origins.size and (origins.min() < encoder - 1 or origins.max() >= n - horizon):
        raise ForecastError(
            f"storm {data.storm_id[storm]}: origins must lie in [{encoder - 1}, {n - horizon}) "
            f"(history of {encoder} and {horizon} lead steps in {n} rows)."
        )
    pts = np.arange(len(data.points)) if points is None else np.asarray(points, np.int64)
    g = np.repeat(origins, pts.size)
    p = np.tile(pts, origins.size)
    return _gather(one, prepared_rows(one, target), g, p, encoder, horizon)


def storm_origins(
    data: StormRecords,
    *,
    stride: int = 1,
    encoder: int = ENCODER_STEPS,
    horizon: int = HORIZON_STEPS,
) -> tuple[IntArray, IntArray]:
    """Every issue row of every storm (global row, storm position), every ``stride`` steps."""
    g_all, s_all = [], []
    for s in range(data.n_storms):
        lo, hi = int(data.offsets[s]), int(data.offsets[s + 1])
        g = np.arange(lo + encoder - 1, hi - horizon, stride, dtype=np.int64)
        g_all.append(g)
        s_all.append(np.full(g.size, s, dtype=np.int64))
    if not g_all:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(g_all), np.concatenate(s_all)


def windows_at(
    data: StormRecords,
    g: IntArray,
    p: IntArray,
    *,
    target: str = "depth",
    encoder: int = ENCODER_STEPS,
    horizon: int = HORIZON_STEPS,
    prepared: tuple[FloatArray, BoolArray, FloatArray | None] | None = None,
) -> Windows:
    """Windows at global issue rows ``g`` and points ``p`` (paired, same length)."""
    prep = prepared if prepared is not None else prepared_rows(data, target)
    return _gather(data, prep, np.asarray(g, np.int64), np.asarray(p, np.int64), encoder, horizon)


def sample_windows(
    data: StormRecords,
    n: int,
    *,
    wet_share: float = 0.7,
    target: str = "obs",
    rng: np.random.Generator,
    encoder: int = ENCODER_STEPS,
    horizon: int = HORIZON_STEPS,
) -> Windows:
    """A random sample of windows over storms and points, enriched in wet ones.

    A window is *wet* when the point's true depth exceeds 2 cm anywhere in it or rain
    falls in its future. ``wet_share`` of the sample is drawn from wet windows (all of
    them if fewer), the rest uniformly from the others.
    """
    g, _ = storm_origins(data, encoder=encoder, horizon=horizon)
    if g.size == 0:
        raise ForecastError("no storm is long enough for one window.")
    n_pts = len(data.points)
    # Largest true depth and future rain in each window.
    wet = np.zeros((g.size, n_pts), dtype=bool)
    for lo in range(0, g.size, 20000):
        gg = g[lo : lo + 20000]
        rows = gg[:, None] + np.arange(-encoder + 1, horizon + 1)[None, :]
        dmax = data.depth[rows].max(axis=1)
        rfut = data.rain[rows[:, encoder:]].max(axis=1)
        wet[lo : lo + gg.size] = (dmax > 0.02) | (rfut[:, None] > 0)
    flat_wet = np.flatnonzero(wet.ravel())
    flat_dry = np.flatnonzero(~wet.ravel())
    n_wet = min(flat_wet.size, round(n * wet_share))
    n_dry = min(flat_dry.size, n - n_wet)
    pick = np.r_[
        rng.choice(flat_wet, size=n_wet, replace=False) if n_wet else flat_wet[:0],
        rng.choice(flat_dry, size=n_dry, replace=False) if n_dry else flat_dry[:0],
    ]
    pick = np.sort(pick).astype(np.int64)
    return windows_at(
        data, g[pick // n_pts], pick % n_pts, target=target, encoder=encoder, horizon=horizon
    )
