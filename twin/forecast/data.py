"""Training data: the physics driven by real and design storms, read through gauges.

Every storm of the catalogue (:func:`twin.hydro.storms.load_catalogue`: 2,115 real
events of the shipped Singapore 5-minute gauges) and a set of Chicago design storms, one
storm ensemble (:class:`twin.hydro.ensemble.StormSet`), is run through the ponding model
at every Gongshu low point at once (:func:`twin.hydro.ensemble.simulate_ensemble`). The
true depth is read through a gauge model (:mod:`twin.forecast.sensors`). The result,
:class:`~twin.forecast.records.StormRecords`, holds per storm the gauge rain, the true
depth and the readings on one 5-minute grid (row conventions there).

**Hidden drains** (``drains``, default :data:`twin.hydro.truth.DRAIN_CLIMATOLOGY`): the
water is that of the city's *real* drains, which no forecaster is told. Each low
point's drain capacity and catchment area are off their design by lognormal factors
drawn once per seed (one city: the same drains in every storm and split, as a real
district's gauge history would show them), and in every storm a fifth of the drains
clog to 40 % of their capacity at a time within the storm's first half hour (drawn per
storm from the storm's id, so the test split alone draws the same blockages as the full
set) (:func:`twin.hydro.truth.true_ponding`). ``drains=None`` gives the nominal drains
of :mod:`twin.hydro.lowpoints` (the storm sets before hidden drains). A per-point model
(linear, SARIMAX) or N-HiTS with its point embedding learns this city's drains from the
training storms, as it would from a district's gauge history; the radar storms, the live
replays and the scenarios' ``hydro.truth`` draw drains of their own (another city, or
the same city's uncertainty), and scenarios without ``hydro.truth`` have the nominal
drains, so there the models meet drains they were not trained on.

Simplifications (stated, not hidden)
------------------------------------
- One gauge per storm: the catalogue's station record is the rain of the whole
  district; each low point gets it times a spatial factor drawn once per storm and point,
  lognormal with mean 1 and log-sd ``spatial_sd`` (illustrative 0.15), to mimic
  the variability of convective rain within a few kilometres. The forecaster only sees
  the gauge.
- Catalogue storms keep 2 h of the real record before the start and 3 h after the end;
  gaps of the gauge record (NaN) are taken as dry for the physics.
- Design storms: the Chicago hyetograph with the *illustrative* intensity formula
  ``A = 2000 L/(s·ha), C = 0.8, n = 0.7, b = 10 min`` (no city's formula is built in;
  see :func:`twin.hydro.storms.chicago_hyetograph`), return periods 0.5–50 years,
  durations 1–3 h, peaks at 30–50 %. They add the rare heavy tail to the *training*
  split only; evaluation uses held-out real storms.
- The train / validation / test label is the catalogue's ``split`` (one label per storm
  day, never per time step).

The windows a forecaster reads (:mod:`twin.forecast.windows`), the point features
(:mod:`twin.forecast.features`) and the grid constants are re-exported here for the
callers that import them from this module (forecasters, the live service, the app, the
benchmarks).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from twin._types import FloatArray
from twin.forecast.errors import ForecastError
from twin.forecast.features import STATIC_FEATURES, PointFeatures, point_features
from twin.forecast.records import STEP_S, StormRecords
from twin.forecast.sensors import SensorModel, sensor_readings
from twin.forecast.windows import (
    ENCODER_STEPS,
    HORIZON_STEPS,
    Windows,
    fill_readings,
    make_windows,
    sample_windows,
    storm_origins,
    trailing_mean,
    windows_at,
)
from twin.hydro import ensemble
from twin.hydro.ensemble import SPLITS, StormSet, catalogue_storms, simulate_ensemble
from twin.hydro.lowpoints import LowPoints
from twin.hydro.truth import DRAIN_CLIMATOLOGY, drain_factors, true_ponding
from twin.scenario import DesignStormConfig
from twin.scenario.hydro import TruthConfig
from twin.seeds import STREAMS, stream_rng

__all__ = [
    "DESIGN_DURATIONS_S",
    "DESIGN_PEAK_POSITIONS",
    "DESIGN_RETURN_PERIODS",
    "DESIGN_STORM_FORMULA",
    "DESIGN_STORM_ID",
    "ENCODER_STEPS",
    "HORIZON_STEPS",
    "STATIC_FEATURES",
    "STEP_S",
    "PointFeatures",
    "StormRecords",
    "Windows",
    "design_storm_rates",
    "design_storm_set",
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

#: Illustrative Chicago storm formula (L/(s·ha), -, -, min) used for the design storms.
DESIGN_STORM_FORMULA = {"A": 2000.0, "C": 0.8, "n": 0.7, "b": 10.0}
#: The design storms' grid: return periods [years], durations [s], peak positions [-].
DESIGN_RETURN_PERIODS = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0)
DESIGN_DURATIONS_S = (3600.0, 7200.0, 10800.0)
DESIGN_PEAK_POSITIONS = (0.3, 0.4, 0.5)
#: Id of a design storm (``design-P10-D120-r40``: 10 years, 120 min, peak at 40 %).
DESIGN_STORM_ID = "design-P{period:g}-D{minutes:g}-r{peak_pct}"
_PAD_BEFORE_S = ENCODER_STEPS * STEP_S
_PAD_AFTER_S = 3 * 3600.0


def design_storm_set(*, pad: float = 0.0, tail: float = 0.0, split: str = "train") -> StormSet:
    """The Chicago design storms of the training data (illustrative formula), 5-minute steps.

    Parameters
    ----------
    pad, tail
        Dry time before and after each storm [s].
    split
        Their split label.

    Returns
    -------
    StormSet
        Ids ``design-P<years>-D<min>-r<peak %>``; rain rate [mm/h].
    """
    f = DESIGN_STORM_FORMULA
    return ensemble.design_storms(
        DesignStormConfig(A=f["A"], C=f["C"], n=f["n"], b=f["b"]),
        return_periods=DESIGN_RETURN_PERIODS,
        durations=DESIGN_DURATIONS_S,
        peak_positions=DESIGN_PEAK_POSITIONS,
        step=STEP_S,
        pad=pad,
        tail=tail,
        split=split,
        name=DESIGN_STORM_ID,
    )


def design_storm_rates() -> list[tuple[str, FloatArray]]:
    """The design storms of :func:`design_storm_set`, unpadded, as ``(id, rain rate [mm/h])``."""
    storms = design_storm_set()
    return list(zip(storms.ids, storms.rain, strict=True))


#: The former name of :func:`design_storm_rates`, kept for :mod:`twin.live.replay` and
#: :mod:`twin.forecast.cli`.
design_storms = design_storm_rates


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
    drains: TruthConfig | None = DRAIN_CLIMATOLOGY,
    seed: int,
) -> StormRecords:
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
        Add the design storms (:func:`design_storm_set`) to the training split.
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
    drains
        How the real drains differ from the nominal ones (module docstring); None: the
        nominal drains.
    seed
        Seed of every random draw: the catalogue sample, then per storm the rain factors
        and the gauge readings; the city's drains and each storm's blockages come from
        their own streams of the same seed.

    Returns
    -------
    StormRecords
        Catalogue storms in catalogue order, then design storms.
    """
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown:
        raise ForecastError(f"splits {unknown}: use 'train', 'validation' or 'test'.")
    rng = np.random.default_rng(seed)
    sensor = sensor or SensorModel()
    storms = catalogue_storms(
        splits=splits,
        step=STEP_S,
        pad=_PAD_BEFORE_S,
        tail=_PAD_AFTER_S,
        padding="record",
        max_storms=max_storms,
        seed=rng,
        catalogue=catalogue,
        rain=rain,
    )
    if include_design and "train" in splits:
        storms = storms + design_storm_set(pad=_PAD_BEFORE_S, tail=_PAD_AFTER_S)
    if not len(storms):
        raise ForecastError(f"no storms in splits {list(splits)}; check the catalogue.")
    n_points = len(points)

    def factors() -> Iterator[FloatArray]:
        for _ in storms.rain:  # drawn storm by storm, between the gauge readings
            yield np.exp(rng.normal(-0.5 * spatial_sd**2, spatial_sd, size=n_points))

    if drains is None or not drains.active:
        water = simulate_ensemble(points, storms, factors())
    else:
        water = _with_hidden_drains(points, storms, factors(), drains, seed)
    rains, depths, obs = [], [], []
    for g, depth in zip(storms.rain, water, strict=True):
        depth = np.asarray(depth, dtype=np.float64)
        rains.append(np.r_[0.0, g])
        depths.append(depth)
        obs.append(sensor_readings(depth, STEP_S, sensor, rng))
    lengths = np.array([r.size for r in rains], dtype=np.int64)
    logger.info(
        "storm set: %d storms, %d rows x %d points", len(storms), int(lengths.sum()), n_points
    )
    return StormRecords(
        storm_id=np.array(storms.ids),
        source=np.array(storms.kind),
        split=np.array(storms.split),
        offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64),
        rain=np.concatenate(rains),
        depth=np.concatenate(depths).astype(np.float64),
        obs=np.concatenate(obs).astype(np.float64),
        points=point_features(points),
        drains=f"gauge storms: {drains_label(drains)}",
    )


def drains_label(drains: TruthConfig | None) -> str:
    """How a storm set's drains differ from the nominal ones, in words (model cards)."""
    if drains is None or not drains.active:
        return "nominal drains (the derived parameters of twin.hydro.lowpoints)"
    return (
        f"hidden drains: capacity and catchment area off their design by lognormal factors "
        f"(log-sd {drains.capacity_sd:g} and {drains.area_sd:g}), fixed per point; in every "
        f"storm {drains.blockage_share:.0%} of the drains clog to "
        f"{drains.blockage_factor:.0%} of their capacity within "
        f"{drains.blockage_within / 60:.0f} min of the start; no forecaster is told"
    )


def _with_hidden_drains(
    points: LowPoints,
    storms: StormSet,
    rain_factors: Iterator[FloatArray],
    drains: TruthConfig,
    seed: int,
) -> Iterator[FloatArray]:
    """The water of every storm with one city's real drains (module docstring)."""
    n = len(points)
    city = drain_factors(drains, n, stream_rng(seed, "hydro_truth"))
    stream = STREAMS["hydro_truth"]
    for storm_id, rain, factor in zip(storms.ids, storms.rain, rain_factors, strict=True):
        rng = np.random.default_rng([seed, stream, zlib.crc32(str(storm_id).encode())])
        rain2d = rain[:, None] * factor[None, :]
        yield true_ponding(
            points.params, rain2d, storms.step, drains, rng, rain_start=_PAD_BEFORE_S,
            factors=city,
        ).water_depth  # fmt: skip
