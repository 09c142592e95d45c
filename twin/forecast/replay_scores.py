"""Held-out storms replayed online: the physics ensemble's backtest and every alert score.

The windowed backtest (:func:`twin.forecast.evaluate.backtest`) feeds a forecaster
windows cut from the records. Two things need the storm replayed online instead, issue
time after issue time, as the live service runs:

- the **physics ensemble** (:func:`twin.forecast.physics_replay.replay_physics`), whose
  state and parameters are assimilated from every gauge reading;
  :func:`backtest_physics` scores its quantiles by lead time exactly as the windowed
  backtest does (same issue rows, same truth, same metrics) and adds its alert scores;
- **alert scores** of any forecaster (:func:`replay_alert_scores`): the alert
  lifecycle (:class:`twin.alerts.AlertManager`, p* = 0.5 and the hysteresis of
  :class:`~twin.alerts.AlertPolicy`) replayed every 5 minutes over each storm and scored
  against the true water by :func:`twin.forecast.alert_scores.score_alerts` (POD, FAR,
  CSI, warning lead of each level's crossings), pooled over the storms.

A replay reads the true depth through the gauge model again (:mod:`twin.forecast.sensors`,
seeded per storm), so its readings are another draw of the same noise than the records'.
The rain a replay measures is the records' rain (the district gauge at every point, or
the radar rain at each point); a radar rain source takes the nowcasts the records hold
(:mod:`twin.forecast.radar_storms`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin._types import FloatArray
from twin.forecast.alert_scores import AlertScore, pool_scores, score_alerts
from twin.forecast.base import QUANTILES, Forecaster
from twin.forecast.errors import ForecastError
from twin.forecast.evaluate import (
    ALERT_COLUMNS,
    THRESHOLDS,
    Backtest,
    episode_rows,
    lead_table,
)
from twin.forecast.metrics import LeadAccumulator
from twin.forecast.nowcast import RADAR_SOURCES, check_source, rain_source_label
from twin.forecast.physics import EnsembleSettings
from twin.forecast.records import StormRecords
from twin.forecast.sensors import SensorModel
from twin.forecast.windows import ENCODER_STEPS, HORIZON_STEPS
from twin.hydro.lowpoints import LowPoints

if TYPE_CHECKING:
    from twin.forecast.conformal import ConformalCalibrator

__all__ = [
    "PHYSICS_KIND",
    "alert_summary",
    "backtest_physics",
    "load_physics_settings",
    "replay_alert_scores",
    "storm_run",
    "with_alerts",
]

logger = logging.getLogger(__name__)

#: The name of the physics-ensemble forecaster (``hydro.forecast.model``, ``--kinds``).
PHYSICS_KIND = "physics_ensemble"
PHYSICS_LABEL = "physics ensemble (EnKF)"


def load_physics_settings(folder: str | Path | None = None) -> EnsembleSettings:
    """The physics ensemble's settings from a model folder (default the shipped one).

    See :func:`twin.forecast.physics_model.load_physics_model`.
    """
    from twin.forecast.physics_model import load_physics_model

    return load_physics_model(folder).settings


def storm_run(
    data: StormRecords, storm: int
) -> tuple[FloatArray, FloatArray, FloatArray, Callable[[FloatArray], FloatArray] | None]:
    """One storm as a run: depth at the rows, rain per step at each point, times, nowcaster.

    Returns
    -------
    tuple
        True depth [m] ``(n, n_points)``; rain over each step [mm/h] ``(n - 1,
        n_points)``; the rows' times [s]; and a function from issue times [s] to the
        records' radar nowcast ``(n_issue, 1, horizon, n_points)`` [mm/h], or None for a
        storm without one.
    """
    rows = data.rows(storm)
    depth = data.depth[rows]
    n_pts = depth.shape[1]
    rain = data.rain[rows][1:]
    if rain.ndim == 1:
        rain = np.repeat(rain[:, None], n_pts, axis=1)
    times = np.arange(depth.shape[0], dtype=np.float64) * data.step_s
    nc = data.nowcast.get(str(data.storm_id[storm]))
    if nc is None:
        return depth, rain, times, None
    step = data.step_s

    def nowcaster(issue_s: FloatArray) -> FloatArray:
        k = np.round(np.asarray(issue_s, dtype=np.float64) / step).astype(np.int64)
        return np.asarray(nc[k][:, None], dtype=np.float64)

    return depth, rain, times, nowcaster


def alert_summary(scores: list[dict[str, AlertScore]]) -> pd.DataFrame:
    """Alert scores of many storms pooled per threshold (:data:`~.evaluate.ALERT_COLUMNS`)."""
    rows = []
    for name in THRESHOLDS:
        per = [s[name] for s in scores if name in s]
        p = pool_scores(per) if per else None
        rows.append(
            {
                "threshold": name, "crossings": p.crossings if p else 0,
                "detected": p.detected if p else 0, "alerts": p.alerts if p else 0,
                "false_alarms": p.false_alarms if p else 0,
                "pod": p.pod if p else np.nan, "far": p.far if p else np.nan,
                "csi": p.csi if p else np.nan,
                "lead_mean_min": p.lead_mean / 60.0 if p else np.nan,
                "lead_median_min": p.lead_median / 60.0 if p else np.nan,
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(ALERT_COLUMNS))


def _policy() -> Any:
    from twin.alerts.lifecycle import AlertPolicy

    return AlertPolicy(levels=dict(THRESHOLDS))


def _check(data: StormRecords, points: LowPoints, rain_source: str) -> None:
    check_source(rain_source)
    if data.n_storms == 0:
        raise ForecastError("no storms to replay; select a split with storms.")
    if [str(p) for p in points.ids] != [str(p) for p in data.points.ids]:
        raise ForecastError("the low points differ from the storm set's; give the same points.")
    if rain_source in RADAR_SOURCES and any(str(s) not in data.nowcast for s in data.storm_id):
        raise ForecastError(
            f"rain source {rain_source!r} needs the radar nowcast of every storm; replay "
            "radar storms (twin.forecast.radar_storms.radar_storm_set) with it."
        )


def replay_alert_scores(
    model: Forecaster,
    data: StormRecords,
    points: LowPoints,
    *,
    rain_source: str,
    seed: int,
) -> pd.DataFrame:
    """Alert scores of a forecaster replayed online over every storm (module docstring).

    Parameters
    ----------
    model
        A fitted forecaster.
    data
        Held-out storms.
    points
        The storms' low points (with their alert names).
    rain_source
        Future rain (a source of :mod:`twin.forecast.nowcast`).
    seed
        Seed of the gauges (storm ``i`` takes ``seed + i``) and a perturbed nowcast.

    Returns
    -------
    pandas.DataFrame
        One row per threshold (:data:`~twin.forecast.evaluate.ALERT_COLUMNS`).
    """
    from twin.forecast.online import replay_alerts

    _check(data, points, rain_source)
    scores = []
    for i in range(data.n_storms):
        depth, rain, times, nowcaster = storm_run(data, i)
        rep = replay_alerts(
            depth, rain, times, points, model, rain_source=rain_source, policy=_policy(),
            sensor=SensorModel(), seed=seed + i, nowcast=nowcaster,
        )  # fmt: skip
        scores.append(score_alerts(rep.table, depth, times, THRESHOLDS))
    return alert_summary(scores)


def with_alerts(result: Backtest, alerts: pd.DataFrame) -> Backtest:
    """A backtest with its alert scores."""
    return replace(result, alerts=alerts)


def backtest_physics(
    data: StormRecords,
    points: LowPoints,
    *,
    rain_source: str = "persistence",
    stride: int = 2,
    settings: EnsembleSettings | None = None,
    calibrator: ConformalCalibrator | None = None,
    seed: int,
) -> Backtest:
    """Backtest of the physics ensemble, with its alert scores (module docstring).

    The ensemble is replayed every 5 minutes over each storm (assimilating every
    reading); its quantiles at the windowed backtest's issue rows (every ``stride``
    steps from two hours in to two hours before the end) are scored by lead time, and
    its alert timeline against the water.

    Parameters
    ----------
    data
        Held-out storms.
    points
        Their low points, with the **nominal** parameters (what the forecaster is told).
    rain_source
        ``persistence``, ``observed`` (oracle) or a radar method whose nowcasts the
        records hold (``perturbed`` is not offered by the physics replay).
    stride
        Steps between the scored issue times.
    settings
        Ensemble settings (default :func:`load_physics_settings`).
    calibrator
        Conformal corrections of the bands (the model folder's,
        :mod:`twin.forecast.physics_calibration`): the 10–90 % band scored is then the
        calibrated one, as published; the median (warnings) stays the ensemble's.
    seed
        Seed of the gauges and the ensemble (storm ``i`` takes ``seed + i``).

    Returns
    -------
    Backtest
        ``kind`` ``physics_ensemble``; ``alerts`` filled.
    """
    from twin.forecast.physics_replay import replay_physics

    _check(data, points, rain_source)
    settings = settings or load_physics_settings()
    horizon = HORIZON_STEPS
    acc = LeadAccumulator(horizon, tuple(THRESHOLDS.values()))
    qi = {lvl: i for i, lvl in enumerate(QUANTILES)}
    episodes: list[dict[str, Any]] = []
    scores = []
    seconds, n_windows = 0.0, 0
    for i in range(data.n_storms):
        depth, rain, times, nowcaster = storm_run(data, i)
        t0 = time.perf_counter()
        rep = replay_physics(
            depth, rain, times, points, rain_source=rain_source, nowcast=nowcaster,
            policy=_policy(), sensor=SensorModel(), settings=settings, seed=seed + i,
        )  # fmt: skip
        seconds += time.perf_counter() - t0
        scores.append(score_alerts(rep.table, depth, times, THRESHOLDS))
        n = depth.shape[0]
        rows = np.arange(ENCODER_STEPS - 1, n - horizon, stride, dtype=np.int64)
        if rows.size == 0:
            continue
        q = np.asarray(rep.quantiles)[rows - 1]  # issue row k is the replay's issue k - 1
        q = q.reshape(-1, horizon, len(QUANTILES))
        truth = np.transpose(depth[rows[:, None] + np.arange(1, horizon + 1)], (0, 2, 1))
        truth = truth.reshape(-1, horizon)
        med = q[:, :, qi[0.5]]
        band = q if calibrator is None else calibrator.apply(q)
        acc.add(med, band[:, :, qi[0.1]], band[:, :, qi[0.9]], truth)
        n_windows += med.shape[0]
        warned = {
            name: (med >= thr).any(axis=1).reshape(rows.size, -1)
            for name, thr in THRESHOLDS.items()
        }
        episodes += episode_rows(data, i, rows, warned, horizon)
    logger.info(
        "physics backtest (%s): %d storms, %d windows, %.1f s", rain_source, data.n_storms,
        n_windows, seconds,
    )  # fmt: skip
    return Backtest(
        kind=PHYSICS_KIND,
        label=PHYSICS_LABEL,
        rain_source=rain_source,
        by_lead=lead_table(acc, data.step_s),
        episodes=pd.DataFrame(
            episodes, columns=["storm", "point", "threshold", "onset_min", "lead_min"]
        ),
        n_windows=n_windows,
        n_storms=data.n_storms,
        predict_seconds=seconds,
        settings={
            "stride": stride,
            "seed": seed,
            "rain_source_label": rain_source_label(rain_source),
            "members": settings.members,
            "bands": "raw ensemble" if calibrator is None else "conformal (model folder)",
        },
        alerts=alert_summary(scores),
    )
