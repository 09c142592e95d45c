"""Training data: the physics driven by real and design storms, read through gauges.

Every storm of the catalogue (:func:`twin.hydro.storms.load_catalogue`: 2,115 real
events of the shipped Singapore 5-minute gauges) and a set of Chicago design storms is
run through the ponding model (:func:`twin.hydro.reservoir.simulate_ponding`) at every
Gongshu low point at once. The true depth is read through a gauge model
(:mod:`twin.forecast.sensors`). The result, a :class:`StormSet`, holds per storm the
gauge rain, the true depth and the readings on one 5-minute grid.

Conventions
-----------
Row ``k`` of a storm is the time boundary ``t_k = k·Δt`` since the start of its record
(``Δt`` = 300 s). ``depth[k]`` and ``obs[k]`` are the depth and the reading at ``t_k``;
``rain[k]`` is the gauge's mean rain rate over the step **ending** at ``t_k``
(``[t_{k-1}, t_k)``; 0 at ``k = 0``). So everything in row ``k`` is known at ``t_k``,
and a forecast issued at ``t_k`` for lead ``h`` steps targets ``depth[k + h]`` with the
future rain ``rain[k + 1 .. k + h]``.

Simplifications (stated, not hidden)
------------------------------------
- One gauge per storm: the catalogue's station record is the rain of the whole
  district; each low point gets it times a spatial factor drawn once per storm and point,
  lognormal with mean 1 and log-sd ``spatial_sd`` (illustrative 0.15), to mimic
  the variability of convective rain within a few kilometres. The forecaster only sees
  the gauge.
- Gaps of the gauge record (NaN) are taken as dry for the physics.
- Design storms: the Chicago hyetograph with the *illustrative* intensity formula
  ``A = 2000 L/(s·ha), C = 0.8, n = 0.7, b = 10 min`` (no city's formula is built in;
  see :func:`twin.hydro.storms.chicago_hyetograph`), return periods 0.5–50 years,
  durations 1–3 h, peaks at 30–50 %. They add the rare heavy tail to the *training*
  split only; evaluation uses held-out real storms.
- The train / validation / test label is the catalogue's ``split`` (one label per storm
  day, never per time step).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import BoolArray, FloatArray, IntArray, StrArray
from twin.forecast.errors import ForecastError
from twin.forecast.sensors import SensorModel, sensor_readings
from twin.hydro.lowpoints import LowPoints
from twin.hydro.reservoir import simulate_ponding

__all__ = [
    "DESIGN_STORM_FORMULA",
    "ENCODER_STEPS",
    "HORIZON_STEPS",
    "STATIC_FEATURES",
    "STEP_S",
    "PointFeatures",
    "StormSet",
    "Windows",
    "design_storms",
    "fill_readings",
    "generate_storm_set",
    "make_windows",
    "point_features",
    "sample_windows",
    "storm_origins",
    "trailing_mean",
    "windows_at",
]

logger = logging.getLogger(__name__)

#: Forecast time step [s] (the gauges' 5 minutes).
STEP_S = 300.0
#: History a forecaster sees: 24 steps (2 h).
ENCODER_STEPS = 24
#: Lead times 5 … 120 min: 24 steps.
HORIZON_STEPS = 24
#: Illustrative Chicago storm formula (L/(s·ha), -, -, min) used for the design storms.
DESIGN_STORM_FORMULA = {"A": 2000.0, "C": 0.8, "n": 0.7, "b": 10.0}
#: Names of the static features of a low point (see :func:`point_features`).
STATIC_FEATURES = ("log_area_ha", "drain_mm_h", "log_area_per_pond", "is_underpass")
_PAD_BEFORE_S = ENCODER_STEPS * STEP_S
_PAD_AFTER_S = 3 * 3600.0


@dataclass(frozen=True)
class PointFeatures:
    """Identity and static features of the low points a forecaster knows.

    Attributes
    ----------
    ids
        Low-point ids, shape ``(n_points,)``.
    static
        Static features, shape ``(n_points, len(STATIC_FEATURES))`` (see
        :func:`point_features`).
    """

    ids: StrArray
    static: FloatArray

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def index_of(self, ids: Sequence[str]) -> IntArray:
        """Positions of point ids; a clear error names any unknown id."""
        lookup = {str(p): i for i, p in enumerate(self.ids.tolist())}
        unknown = [str(p) for p in ids if str(p) not in lookup]
        if unknown:
            known = ", ".join(list(lookup)[:5])
            raise ForecastError(
                f"unknown low point(s) {', '.join(unknown[:5])}: the model knows "
                f"{len(lookup)} points ({known}, …); use ids of the points it was trained "
                "on, or retrain with `twin forecast train`."
            )
        return np.array([lookup[str(p)] for p in ids], dtype=np.int64)


def point_features(points: LowPoints) -> PointFeatures:
    """Static features of low points from their catchment parameters.

    ``log_area_ha`` = ln(catchment area [ha]); ``drain_mm_h`` = drain capacity over
    the catchment area, as a rain rate [mm/h] / 50; ``log_area_per_pond`` = ln(catchment
    area / flat pond area) (how fast inflow raises the water); ``is_underpass`` 0 or 1.

    Parameters
    ----------
    points
        Low points with parameters (:func:`twin.hydro.lowpoints.low_points`).

    Returns
    -------
    PointFeatures
    """
    p = points.params
    static = np.column_stack(
        [
            np.log(p.area / 1e4),
            p.drain_capacity / p.area * 3.6e6 / 50.0,
            np.log(p.area / p.pond_c),
            (points.kinds == "underpass").astype(np.float64),
        ]
    )
    return PointFeatures(ids=points.ids.astype(str), static=static.astype(np.float64))


@dataclass(frozen=True)
class StormSet:
    """Storm records at every low point on one 5-minute grid (see the module docstring).

    Attributes
    ----------
    storm_id, source, split
        Per storm: id, ``"catalogue"`` or ``"design"``, and ``"train"`` /
        ``"validation"`` / ``"test"``.
    offsets
        Row ranges: storm ``i`` is rows ``offsets[i]:offsets[i+1]``.
    rain
        Gauge rain rate over the step ending at each row [mm/h], shape ``(n_rows,)``.
    depth
        True water depth [m], shape ``(n_rows, n_points)``.
    obs
        Gauge readings [m], NaN where missing, same shape.
    points
        The low points.
    step_s
        Row spacing [s].
    """

    storm_id: StrArray
    source: StrArray
    split: StrArray
    offsets: IntArray
    rain: FloatArray
    depth: FloatArray
    obs: FloatArray
    points: PointFeatures
    step_s: float = STEP_S

    @property
    def n_storms(self) -> int:
        """Number of storms."""
        return int(self.storm_id.shape[0])

    def rows(self, i: int) -> slice:
        """Row slice of storm ``i``."""
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def subset(self, storms: Sequence[int] | IntArray | BoolArray) -> StormSet:
        """The storms at the given positions (or boolean mask)."""
        idx = np.arange(self.n_storms)[np.asarray(storms)]
        parts = [np.arange(self.offsets[i], self.offsets[i + 1]) for i in idx.tolist()]
        rows = np.concatenate(parts) if parts else np.empty(0, np.int64)
        lengths = np.diff(self.offsets)[idx]
        return StormSet(
            storm_id=self.storm_id[idx],
            source=self.source[idx],
            split=self.split[idx],
            offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64),
            rain=self.rain[rows],
            depth=self.depth[rows],
            obs=self.obs[rows],
            points=self.points,
            step_s=self.step_s,
        )

    def select(self, split: str) -> StormSet:
        """The storms of one split (``"train"``, ``"validation"`` or ``"test"``)."""
        if split not in ("train", "validation", "test"):
            raise ForecastError(f"split {split!r}: use 'train', 'validation' or 'test'.")
        return self.subset(self.split == split)


def design_storms() -> list[tuple[str, FloatArray]]:
    """The Chicago design storms (illustrative formula), each at 5-minute steps [mm/h].

    Returns
    -------
    list of (str, numpy.ndarray)
        Storm id (``design-P<years>-D<min>-r<peak %>``) and rain rate [mm/h].
    """
    from twin.hydro.storms import chicago_hyetograph

    out = []
    for period in (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0):
        for minutes in (60, 120, 180):
            for peak in (0.3, 0.4, 0.5):
                f = DESIGN_STORM_FORMULA
                rate = chicago_hyetograph(
                    A=f["A"],
                    C=f["C"],
                    n=f["n"],
                    b=f["b"],
                    return_period=period,
                    duration=minutes * 60.0,
                    peak_position=peak,
                    dt=STEP_S,
                ).values
                name = f"design-P{period:g}-D{minutes}-r{round(peak * 100)}"
                out.append((name, np.asarray(rate, dtype=np.float64)))
    return out


def generate_storm_set(
    points: LowPoints,
    *,
    catalogue: pd.DataFrame | None = None,
    rain: Any = None,
    include_design: bool = True,
    splits: Sequence[str] = ("train", "validation", "test"),
    max_storms: int | None = None,
    sensor: SensorModel | None = None,
    spatial_sd: float = 0.15,
    seed: int = 0,
) -> StormSet:
    """Run storms through the ponding model at every low point and read them by gauge.

    Parameters
    ----------
    points
        Low points with parameters (``low_points(default_network())``).
    catalogue
        Storm catalogue (default :func:`twin.hydro.storms.load_catalogue`).
    rain
        The ``(time, station)`` rain record of the catalogue (default
        :func:`twin.hydro.rainfall.default_rain`).
    include_design
        Add the design storms (:func:`design_storms`) to the training split.
    splits
        Splits to generate.
    max_storms
        Keep at most this many catalogue storms per split (a seeded random choice; for
        quick runs and tests).
    sensor
        Gauge model (default: :class:`~twin.forecast.sensors.SensorModel` defaults,
        illustrative).
    spatial_sd
        Log-sd of the per-point rain factor [-] (illustrative).
    seed
        Seed of every random draw.

    Returns
    -------
    StormSet
        Catalogue storms in catalogue order, then design storms.
    """
    from twin.hydro.rainfall import default_rain
    from twin.hydro.storms import load_catalogue, storm_event

    unknown = sorted(set(splits) - {"train", "validation", "test"})
    if unknown:
        raise ForecastError(f"splits {unknown}: use 'train', 'validation' or 'test'.")
    rng = np.random.default_rng(seed)
    sensor = sensor or SensorModel()
    cat = load_catalogue() if catalogue is None else catalogue
    cat = cat[cat["split"].isin(list(splits))]
    if max_storms is not None:
        keep: list[int] = []
        for name in splits:
            idx = np.flatnonzero(cat["split"].to_numpy() == name)
            if idx.size > max_storms:
                idx = np.sort(rng.choice(idx, size=max_storms, replace=False))
            keep.extend(idx.tolist())
        cat = cat.iloc[sorted(keep)]
    record = default_rain() if rain is None and len(cat) else rain
    gauges: list[tuple[str, str, str, FloatArray]] = []
    pad = pd.Timedelta(seconds=_PAD_BEFORE_S)
    for _, row in cat.iterrows():
        ev = storm_event(record, row, pad=f"{_PAD_AFTER_S}s")
        start = pd.Timestamp(row["start"]).tz_convert("UTC").tz_localize(None)
        ev = ev.sel(time=slice(start - pad, None))
        values = np.nan_to_num(np.asarray(ev.values, dtype=np.float64), nan=0.0)
        gauges.append((str(row["event_id"]), "catalogue", str(row["split"]), values))
    if include_design and "train" in splits:
        before = np.zeros(round(_PAD_BEFORE_S / STEP_S))
        after = np.zeros(round(_PAD_AFTER_S / STEP_S))
        for name, rate in design_storms():
            gauges.append((name, "design", "train", np.r_[before, rate, after]))
    if not gauges:
        raise ForecastError(f"no storms in splits {list(splits)}; check the catalogue.")
    n_points = len(points)
    rains, depths, obs = [], [], []
    for _, _, _, g in gauges:
        factor = np.exp(rng.normal(-0.5 * spatial_sd**2, spatial_sd, size=n_points))
        result = simulate_ponding(points.params, g[:, None] * factor[None, :], STEP_S)
        depth = np.asarray(result.water_depth, dtype=np.float64)
        rains.append(np.r_[0.0, g])
        depths.append(depth)
        obs.append(sensor_readings(depth, STEP_S, sensor, rng))
    lengths = np.array([r.size for r in rains], dtype=np.int64)
    logger.info(
        "storm set: %d storms, %d rows x %d points", len(gauges), int(lengths.sum()), n_points
    )
    return StormSet(
        storm_id=np.array([g[0] for g in gauges]),
        source=np.array([g[1] for g in gauges]),
        split=np.array([g[2] for g in gauges]),
        offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64),
        rain=np.concatenate(rains),
        depth=np.concatenate(depths).astype(np.float64),
        obs=np.concatenate(obs).astype(np.float64),
        points=point_features(points),
    )


# --------------------------------------------------------------------------- windows


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


def _prepared(data: StormSet, target: str) -> tuple[FloatArray, BoolArray, FloatArray | None]:
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
    data: StormSet,
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
    data: StormSet,
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
    return _gather(one, _prepared(one, target), g, p, encoder, horizon)


def storm_origins(
    data: StormSet, *, stride: int = 1, encoder: int = ENCODER_STEPS, horizon: int = HORIZON_STEPS
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
    data: StormSet,
    g: IntArray,
    p: IntArray,
    *,
    target: str = "depth",
    encoder: int = ENCODER_STEPS,
    horizon: int = HORIZON_STEPS,
    prepared: tuple[FloatArray, BoolArray, FloatArray | None] | None = None,
) -> Windows:
    """Windows at global issue rows ``g`` and points ``p`` (paired, same length)."""
    prep = prepared if prepared is not None else _prepared(data, target)
    return _gather(data, prep, np.asarray(g, np.int64), np.asarray(p, np.int64), encoder, horizon)


def sample_windows(
    data: StormSet,
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
