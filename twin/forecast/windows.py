"""Forecast windows: what a forecaster sees at an issue time, cut from storm records.

A window at issue row ``k`` of a storm holds the last :data:`ENCODER_STEPS` gauge
readings (gaps filled by the last reading, with flags) and gauge rain up to ``t_k``, and
the rain over the next :data:`HORIZON_STEPS` steps, its *known-future covariate*; for
training and evaluation also the target depth at the lead times. Row conventions:
:mod:`twin.forecast.records`.

The window builders take the future rain from one of two sources (``future_rain``):

``"nowcast"`` (the default)
    What operations had at the issue time: the storm's radar nowcast issued at ``t_k``
    where the records hold one (radar storms, :mod:`twin.forecast.radar_storms`), else
    the gauge persistence nowcast, the mean rate of the last 15 minutes held over the
    horizon (:func:`persistence_rain`; ``persistence`` in :mod:`twin.forecast.nowcast`).
    Forecasters trained on it learn what the rain they will be given is worth.
``"observed"``
    The rain that really fell over the lead times (an oracle). Forecasters trained on
    it learn to trust the covariate; it is reachable only by asking for it. Backtests
    ask for it and then replace it by the rain source they score
    (:func:`twin.forecast.nowcast.with_source`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import BoolArray, FloatArray, IntArray
from twin.forecast.errors import ForecastError
from twin.forecast.records import StormRecords

__all__ = [
    "ENCODER_STEPS",
    "FUTURE_RAIN",
    "HORIZON_STEPS",
    "FutureRain",
    "Windows",
    "check_future_rain",
    "concat_windows",
    "fill_readings",
    "make_windows",
    "persistence_rain",
    "prepared_rows",
    "sample_training_windows",
    "sample_windows",
    "storm_origins",
    "trailing_mean",
    "windows_at",
]

#: History a forecaster sees: 24 steps (2 h).
ENCODER_STEPS = 24
#: Lead times 5 … 120 min: 24 steps.
HORIZON_STEPS = 24
#: Where the future rain of a window comes from (see the module docstring).
FutureRain = Literal["nowcast", "observed"]
FUTURE_RAIN: tuple[str, ...] = ("nowcast", "observed")
#: Steps averaged by the gauge persistence nowcast (15 minutes).
PERSISTENCE_STEPS = 3


def check_future_rain(future_rain: str) -> None:
    """Raise :class:`ForecastError` for an unknown future-rain covariate."""
    if future_rain not in FUTURE_RAIN:
        raise ForecastError(
            f"future_rain {future_rain!r}: use 'nowcast' (what operations had at the issue "
            "time) or 'observed' (the rain that fell, an oracle)."
        )


def persistence_rain(rain_hist: FloatArray, horizon: int) -> FloatArray:
    """The gauge persistence nowcast: the mean of the last 15 minutes held [mm/h].

    Parameters
    ----------
    rain_hist
        Rain over the last steps, the last column ending at the issue time [mm/h],
        shape ``(n, L)``.
    horizon
        Lead steps.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, horizon)``.
    """
    level = np.asarray(rain_hist, dtype=np.float64)[:, -PERSISTENCE_STEPS:].mean(axis=1)
    return np.repeat(level[:, None], horizon, axis=1)


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
    future_rain: str,
) -> Windows:
    """Windows at global issue rows ``g`` and point positions ``p``."""
    check_future_rain(future_rain)
    filled, missing, clean = prepared
    hist = g[:, None] + np.arange(-encoder + 1, 1)[None, :]
    fut = g[:, None] + np.arange(1, horizon + 1)[None, :]
    pc = p[:, None]
    rain_hist = data.rain_at(hist, pc)
    if future_rain == "observed":
        rain_future = data.rain_at(fut, pc)
    else:
        rain_future = _nowcast_rain(data, g, p, rain_hist, horizon)
    return Windows(
        depth_hist=filled[hist, pc],
        missing_hist=missing[hist, pc],
        rain_hist=rain_hist,
        rain_future=rain_future,
        point=p.astype(np.int64),
        target=None if clean is None else clean[fut, pc],
    )


def _nowcast_rain(
    data: StormRecords, g: IntArray, p: IntArray, rain_hist: FloatArray, horizon: int
) -> FloatArray:
    """The nowcast at each issue row: the storm's radar nowcast, else gauge persistence."""
    out = persistence_rain(rain_hist, horizon)
    if not data.nowcast or g.size == 0:
        return out
    storm = np.searchsorted(data.offsets, g, side="right") - 1
    for i in np.unique(storm).tolist():
        nc = data.nowcast.get(str(data.storm_id[i]))
        if nc is None:
            continue
        if nc.shape[1] < horizon:
            raise ForecastError(
                f"storm {data.storm_id[i]}: its radar nowcast has {nc.shape[1]} lead steps; "
                f"the windows need {horizon}."
            )
        sel = storm == i
        out[sel] = nc[g[sel] - data.offsets[i], :horizon, p[sel]]
    return out


def make_windows(
    data: StormRecords,
    storm: int,
    origins: IntArray,
    *,
    points: IntArray | None = None,
    encoder: int = ENCODER_STEPS,
    horizon: int = HORIZON_STEPS,
    target: str = "depth",
    future_rain: FutureRain = "nowcast",
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
    future_rain
        ``"nowcast"`` (what operations had at the issue time) or ``"observed"`` (the
        rain that fell, an oracle); see the module docstring.

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
    return _gather(one, prepared_rows(one, target), g, p, encoder, horizon, future_rain)


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
    future_rain: FutureRain = "nowcast",
) -> Windows:
    """Windows at global issue rows ``g`` and points ``p`` (paired, same length).

    ``future_rain``: ``"nowcast"`` or ``"observed"`` (see the module docstring).
    """
    prep = prepared if prepared is not None else prepared_rows(data, target)
    return _gather(
        data, prep, np.asarray(g, np.int64), np.asarray(p, np.int64), encoder, horizon,
        future_rain,
    )  # fmt: skip


def sample_windows(
    data: StormRecords,
    n: int,
    *,
    wet_share: float = 0.7,
    target: str = "obs",
    rng: np.random.Generator,
    encoder: int = ENCODER_STEPS,
    horizon: int = HORIZON_STEPS,
    future_rain: FutureRain = "nowcast",
) -> Windows:
    """A random sample of windows over storms and points, enriched in wet ones.

    A window is *wet* when the point's true depth exceeds 2 cm anywhere in it or rain
    falls in its future (the stratum only: the covariate is ``future_rain``, see the
    module docstring). ``wet_share`` of the sample is drawn from wet windows (all of
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
        rfut = rfut[:, None] if rfut.ndim == 1 else rfut
        wet[lo : lo + gg.size] = (dmax > 0.02) | (rfut > 0)
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
        data, g[pick // n_pts], pick % n_pts, target=target, encoder=encoder, horizon=horizon,
        future_rain=future_rain,
    )  # fmt: skip


def concat_windows(parts: list[Windows]) -> Windows:
    """Windows of several sets as one (targets kept only when every part has them)."""
    if not parts:
        raise ForecastError("no windows to concatenate.")
    targets = [w.target for w in parts]
    return Windows(
        depth_hist=np.concatenate([w.depth_hist for w in parts]),
        missing_hist=np.concatenate([w.missing_hist for w in parts]),
        rain_hist=np.concatenate([w.rain_hist for w in parts]),
        rain_future=np.concatenate([w.rain_future for w in parts]),
        point=np.concatenate([w.point for w in parts]),
        target=None
        if any(t is None for t in targets)
        else np.concatenate([t for t in targets if t is not None]),
    )


def sample_training_windows(
    data: StormRecords,
    n: int,
    *,
    radar_share: float,
    future_rain: FutureRain,
    rng: np.random.Generator,
    target: str = "obs",
    encoder: int = ENCODER_STEPS,
    horizon: int = HORIZON_STEPS,
) -> Windows:
    """Training windows: :func:`sample_windows`, with a fixed share from radar storms.

    Radar storms (source ``"radar"``) are few next to the gauge catalogue; ``radar_share``
    of the ``n`` windows is drawn from them (when there are any), the rest from the
    other storms, so that the forecaster sees enough radar nowcasts.
    """
    radar = data.source == "radar"
    n_radar = round(n * radar_share) if radar.any() and radar_share > 0 else 0
    if not (~radar).any():
        n_radar = n
    parts = [
        sample_windows(
            data.subset(mask),
            m,
            rng=rng,
            target=target,
            encoder=encoder,
            horizon=horizon,
            future_rain=future_rain,
        )
        for mask, m in ((~radar, n - n_radar), (radar, n_radar))
        if m > 0
    ]
    return concat_windows(parts)
