"""The physics-ensemble forecaster replayed online over a run, with the alert lifecycle.

Every 5 minutes the ensemble (:class:`twin.forecast.physics.PhysicsEnsemble`, told only
the nominal parameters of the low points) moves over the rain measured in the last 5
minutes and assimilates the gauge readings; at each issue time it runs forward over the
next two hours with the future rain of the chosen source (radar nowcast members, the
gauge persistence, or the observed rain as an oracle). The probability of each alert
level is the share of members that reach it within the horizon, and the forecast onset
the first lead by which that share reaches the alert probability. Decisions follow
:class:`twin.alerts.AlertManager`, as for every other forecaster.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import FloatArray
from twin.alerts.lifecycle import AlertManager, AlertMessage, AlertPoints, AlertPolicy
from twin.forecast.base import QUANTILES
from twin.forecast.data import HORIZON_STEPS, STEP_S
from twin.forecast.errors import ForecastError
from twin.forecast.nowcast import RADAR_SOURCES, check_source, rain_source_label
from twin.forecast.online import (
    DEFAULT_START,
    TIMELINE_COLUMNS,
    AlertReplay,
    five_minute_grid,
    message_rows,
)
from twin.forecast.physics import EnsembleSettings, PhysicsEnsemble, member_quantiles
from twin.forecast.sensors import SensorModel, sensor_readings
from twin.hydro.lowpoints import LowPoints

__all__ = ["level_probabilities", "replay_physics"]

logger = logging.getLogger(__name__)


def level_probabilities(
    paths: FloatArray, levels: dict[str, float], p_raise: float
) -> tuple[FloatArray, FloatArray]:
    """P(reaching each level within the horizon) and the forecast onset lead [steps].

    Parameters
    ----------
    paths
        Member depth paths [m], ``(members, horizon, n_points)``.
    levels
        Level name → depth [m].
    p_raise
        The alert probability: the onset is the first lead by which this share of the
        members has reached the level.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Probability ``(n_points, n_levels)`` [-]; onset lead ``(n_points, n_levels)``
        [steps, 1-based; NaN where the share never reaches ``p_raise``].
    """
    probs, leads = [], []
    for thr in levels.values():
        hit = paths >= thr
        crossed_by = np.maximum.accumulate(hit, axis=1).mean(axis=0)  # (horizon, n)
        probs.append(crossed_by[-1])
        ok = crossed_by >= p_raise
        leads.append(np.where(ok.any(axis=0), ok.argmax(axis=0) + 1.0, np.nan))
    return np.stack(probs, axis=1), np.stack(leads, axis=1)


def replay_physics(
    depth: npt.ArrayLike,
    rain_rate: npt.ArrayLike,
    times: npt.ArrayLike,
    points: LowPoints,
    *,
    rain_source: str = "persistence",
    nowcast: Callable[[FloatArray], FloatArray] | None = None,
    every: float = STEP_S,
    policy: AlertPolicy | None = None,
    start: datetime | None = None,
    sensor: SensorModel | None = None,
    settings: EnsembleSettings | None = None,
    seed: int,
) -> AlertReplay:
    """Replay the physics ensemble and the alert lifecycle over a run.

    Parameters
    ----------
    depth, rain_rate, times
        The run's water depth at step boundaries [m] ``(n_steps + 1, n_points)``, rain
        on each point in each step [mm/h] ``(n_steps, n_points)``, and the step
        boundaries [s since the start] (``Waterlogging``); the truth the gauges read.
    points
        The low points with their **nominal** parameters (what the forecaster is told).
    rain_source
        ``persistence`` (last 15 min held), ``observed`` (oracle) or a radar method
        (needs ``nowcast``: issue times → rain members ``(n_issue, K, horizon, n)``).
    every
        Time between issue times [s], a multiple of 300.
    policy
        Alert levels, p* and conventions.
    start
        Timezone-aware start of the run.
    sensor
        Gauge model for the readings (None: exact readings).
    settings
        Ensemble settings.
    seed
        Seed of the gauges and the ensemble.

    Returns
    -------
    AlertReplay
        The timeline, the messages, the issue times and the mean future rain given.
    """
    check_source(rain_source)
    if rain_source in RADAR_SOURCES and nowcast is None:
        raise ForecastError(f"rain source {rain_source!r} needs nowcast= (a radar nowcaster).")
    if rain_source == "perturbed":
        raise ForecastError("the physics ensemble takes persistence, observed or radar rain.")
    t = np.asarray(times, dtype=np.float64)
    d = np.asarray(depth, dtype=np.float64)
    r = np.asarray(rain_rate, dtype=np.float64)
    if d.ndim != 2 or d.shape[1] != len(points) or r.shape != (d.shape[0] - 1, d.shape[1]):
        raise ForecastError(
            f"depth {d.shape} and rain_rate {r.shape} do not fit {len(points)} points "
            "(depth at step boundaries, rain per step)"
        )
    stride = round(every / STEP_S)
    if stride < 1 or abs(every / STEP_S - stride) > 1e-9:
        raise ForecastError(f"every={every:g} s must be a multiple of {STEP_S:.0f} s.")
    depth5, rain5 = five_minute_grid(d, r, t)
    n5, n_pts = depth5.shape[0] - 1, depth5.shape[1]
    rng = np.random.default_rng(seed)
    obs5 = depth5 if sensor is None else sensor_readings(depth5, STEP_S, sensor, rng)
    issue = np.arange(1, n5 + 1, stride, dtype=np.int64)
    issue_s = t[0] + issue.astype(np.float64) * STEP_S
    hor = HORIZON_STEPS
    members: FloatArray | None = None
    if rain_source in RADAR_SOURCES and nowcast is not None:
        members = np.asarray(nowcast(issue_s), dtype=np.float64)
    pol = policy or AlertPolicy()
    alert_points = AlertPoints.from_low_points(points)
    manager = AlertManager(alert_points, pol)
    ensemble = PhysicsEnsemble(points.params, settings, seed=seed + 1)
    t0 = start or DEFAULT_START
    rows: list[dict[str, object]] = []
    messages: list[AlertMessage] = []
    given = np.zeros((issue.size, hor, n_pts))
    quantiles = np.zeros((issue.size, n_pts, hor, len(QUANTILES)))
    rain_ahead = np.r_[rain5, np.zeros((hor, n_pts))]
    k_issue = 0
    for row in range(1, n5 + 1):
        ensemble.advance(rain5[row : row + 1])
        ensemble.assimilate(obs5[row])
        if k_issue >= issue.size or issue[k_issue] != row:
            continue
        if members is not None:
            future = members[k_issue]
        elif rain_source == "observed":
            future = rain_ahead[row + 1 : row + 1 + hor][None]
        else:  # persistence: the last 15 minutes held
            level = rain5[max(1, row - 2) : row + 1].mean(axis=0)
            future = np.repeat(level[None, None, :], hor, axis=1)
        given[k_issue] = future.mean(axis=0)
        paths = ensemble.forecast(future)
        quantiles[k_issue] = member_quantiles(paths, QUANTILES)
        prob, lead_steps = level_probabilities(paths, pol.levels, pol.p_raise)
        median_peak = np.median(paths.max(axis=1), axis=0)
        last = obs5[row]
        when = t0 + timedelta(seconds=float(issue_s[k_issue]))
        msgs = manager.step(
            when, prob, lead_steps * STEP_S, last, extra={"peak_median_depth_m": median_peak}
        )
        rows.extend(message_rows(msgs, alert_points, float(issue_s[k_issue])))
        messages.extend(msgs)
        k_issue += 1
    table = pd.DataFrame(rows, columns=list(TIMELINE_COLUMNS))
    table.attrs["rain_source"] = rain_source_label(rain_source)
    table.attrs["forecaster"] = "physics ensemble (EnKF)"
    logger.info(
        "physics replay: %d messages over %d issue times (%s)", len(table), issue.size,
        rain_source,
    )  # fmt: skip
    return AlertReplay(
        table=table, messages=messages, rain_source=rain_source, issue_times=issue_s,
        future_rain=given, quantiles=quantiles,
    )  # fmt: skip
