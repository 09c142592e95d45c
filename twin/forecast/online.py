"""Forecasts in operation: predict from recent readings, and replay alerts over a run.

:func:`predict_points` is the one-shot forecast of every low point from the last two
hours of readings (what ``twin forecast predict`` and a live service call).

:func:`alert_timeline` replays the forecaster **online** over a simulated run (e.g. the
depth and rain of :func:`twin.hydro.waterlogging.simulate_waterlogging`): at each issue time
it sees only the gauge readings and rain up to that time (plus, for the ``observed``
source, the rain that will fall — an oracle, labelled as such), decides with the alert
lifecycle (:class:`twin.alerts.AlertManager`) and lists the messages. Its table is what
a dispatch policy needs to pre-position crews before the water arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from twin._types import FloatArray
from twin.alerts.lifecycle import AlertManager, AlertMessage, AlertPoints, AlertPolicy
from twin.forecast.base import Forecaster, exceedance_probability
from twin.forecast.data import STEP_S, Windows, fill_readings
from twin.forecast.errors import ForecastError
from twin.forecast.nowcast import RADAR_SOURCES, check_source, future_rain, rain_source_label
from twin.forecast.sensors import SensorModel, sensor_readings

__all__ = [
    "TIMELINE_COLUMNS",
    "AlertReplay",
    "alert_probabilities",
    "alert_timeline",
    "predict_points",
    "replay_alerts",
]

logger = logging.getLogger(__name__)

#: Columns of :func:`alert_timeline`.
TIMELINE_COLUMNS = (
    "issue_time",
    "point",
    "point_index",
    "level",
    "msgType",
    "probability",
    "onset_forecast_time",
    "lead_time",
    "urgency",
    "severity",
    "certainty",
    "identifier",
    "sent",
)
#: Default start of a run without one (CAP times need a date).
DEFAULT_START = datetime(2024, 6, 15, 0, 0, tzinfo=UTC)


def _as_2d(name: str, values: npt.ArrayLike, n_points: int) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = np.repeat(arr[:, None], n_points, axis=1)
    if arr.ndim != 2 or arr.shape[1] != n_points:
        raise ForecastError(
            f"{name} has shape {arr.shape}; give (time,) or (time, {n_points}) (one column "
            "per point)."
        )
    return arr


def predict_points(
    model: Forecaster,
    depth_history: npt.ArrayLike,
    rain_history: npt.ArrayLike,
    point_ids: Sequence[str],
    *,
    rain_future: npt.ArrayLike | None = None,
    rain_source: str = "persistence",
    seed: int,
) -> xr.Dataset:
    """Forecast the water depth at low points from their recent readings.

    Parameters
    ----------
    model
        A fitted forecaster (e.g. :func:`twin.forecast.io.load_shipped`).
    depth_history
        Gauge readings at 5-minute steps, oldest first, the last row the issue time
        [m], shape ``(n_steps, n_points)``; NaN where missing. At least
        ``model.encoder`` rows (2 h); only the last ``model.encoder`` are used.
    rain_history
        Gauge rain over the steps ending at the same times [mm/h], ``(n_steps,)`` or
        ``(n_steps, n_points)``.
    point_ids
        Low-point ids of the columns.
    rain_future
        Rain expected over the next ``model.horizon`` steps [mm/h], ``(horizon,)`` or
        ``(horizon, n_points)``; needed for ``rain_source`` ``observed``/``perturbed``.
    rain_source
        ``"persistence"`` (default: only the past is needed), ``"observed"`` (the given
        future rain as is) or ``"perturbed"``.
    seed
        Seed of the perturbed nowcast.

    Returns
    -------
    xarray.Dataset
        ``water_depth`` quantiles [m] with dims ``(point, lead_time, quantile)``
        (``lead_time`` in minutes), and ``p_impeded``/``p_closed`` [-] (probability of
        reaching 0.15 m / 0.27 m at each lead); attribute ``rain_source``.

    Raises
    ------
    ForecastError
        Empty or too short history, missing covariates, an unknown point.
    """
    check_source(rain_source)
    if model.points is None:
        raise ForecastError("the forecaster is not fitted; load a shipped model first.")
    ids = [str(p) for p in point_ids]
    if not ids:
        raise ForecastError("no point ids given; name the low points to forecast.")
    idx = model.points.index_of(ids)
    n = len(ids)
    hist = np.asarray(depth_history, dtype=np.float64)
    if hist.size == 0:
        raise ForecastError(
            f"empty depth history; give the last {model.encoder} readings (every "
            f"{STEP_S:.0f} s) of each point."
        )
    depth = _as_2d("depth_history", hist, n)
    rain = _as_2d("rain_history", rain_history, n)
    if depth.shape[0] < model.encoder or rain.shape[0] < model.encoder:
        raise ForecastError(
            f"history too short: {min(depth.shape[0], rain.shape[0])} rows; the "
            f"{model.kind} model needs {model.encoder} ({model.encoder * STEP_S / 3600:g} h "
            "at 5 min). Pad the start with dry readings if the record begins dry."
        )
    depth, rain = depth[-model.encoder :], rain[-model.encoder :]
    if not np.all(np.isfinite(rain)):
        raise ForecastError("rain_history has missing or non-finite values; fill gaps (0 if dry).")
    filled, missing = fill_readings(depth)
    fut_obs = None
    if rain_future is not None:
        fut_obs = _as_2d("rain_future", rain_future, n)
        if fut_obs.shape[0] != model.horizon:
            raise ForecastError(
                f"rain_future has {fut_obs.shape[0]} rows; give {model.horizon} (the lead "
                "times 5 … 120 min)."
            )
        fut_obs = fut_obs.T
    elif rain_source != "persistence":
        raise ForecastError(
            f"rain source {rain_source!r} needs rain_future (the covariate for the lead "
            "times); pass it, or use rain_source='persistence'."
        )
    if rain_source in RADAR_SOURCES and fut_obs is not None:
        fut = fut_obs  # the radar nowcast at the points, given by the caller
    else:
        fut = future_rain(
            rain.T, fut_obs, rain_source, horizon=model.horizon, rng=np.random.default_rng(seed)
        )
    windows = Windows(filled.T, missing.T, rain.T, fut, idx)
    q = model.predict(windows)
    lead = (np.arange(model.horizon) + 1) * STEP_S / 60.0
    ds = xr.Dataset(
        {"water_depth": (("point", "lead_time", "quantile"), q, {"units": "m"})},
        coords={
            "point": ids,
            "lead_time": ("lead_time", lead, {"units": "min"}),
            "quantile": list(model.quantiles),
        },
        attrs={
            "forecaster": model.kind,
            "rain_source": rain_source,
            "rain_source_label": rain_source_label(rain_source),
        },
    )
    for name, thr in (("p_impeded", 0.15), ("p_closed", 0.27)):
        ds[name] = (("point", "lead_time"), exceedance_probability(q, thr, model.quantiles))
    return ds


def alert_probabilities(
    quantiles: FloatArray, levels: dict[str, float], p_raise: float, levels_q: tuple[float, ...]
) -> tuple[FloatArray, FloatArray]:
    """Probability of reaching each level within the horizon, and the forecast onset lead.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``p`` = max over leads of the exceedance probability, shape ``(n, n_levels)``;
        onset lead [steps, 1-based] = first lead with probability ``≥ p_raise`` (NaN if
        none), same shape.
    """
    p_out, lead_out = [], []
    for thr in levels.values():
        ph = exceedance_probability(quantiles, thr, levels_q)  # (n, H)
        p_out.append(ph.max(axis=1))
        hit = ph >= p_raise
        first = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1.0, np.nan)
        lead_out.append(first)
    return np.stack(p_out, axis=1), np.stack(lead_out, axis=1)


@dataclass(frozen=True)
class AlertReplay:
    """Alerts replayed over a run: the table and the messages (for CAP rendering).

    ``issue_times`` [s since the start] are the times forecasts were issued, and
    ``future_rain`` the rain each forecast was given over its leads [mm/h], shape
    ``(n_issue, horizon, n_points)`` (what the forecaster believed would fall);
    ``quantiles`` the forecast depth quantiles [m], ``(n_issue, n_points, horizon,
    len(QUANTILES))``.
    """

    table: pd.DataFrame
    messages: list[AlertMessage]
    rain_source: str
    issue_times: FloatArray | None = None
    future_rain: FloatArray | None = None
    quantiles: FloatArray | None = None


def five_minute_grid(
    depth: FloatArray, rain: FloatArray, times: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """A run on the forecasters' 5-minute grid [m, mm/h].

    Depth at the 5-minute boundaries; rain over the 5 minutes ending at each boundary
    (row 0: none).
    """
    dt = float(times[1] - times[0])
    ratio = STEP_S / dt
    if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
        raise ForecastError(f"the run's step {dt:g} s must divide {STEP_S:.0f} s.")
    k = round(ratio)
    n5 = (depth.shape[0] - 1) // k
    n_pts = depth.shape[1]
    depth5 = depth[: n5 * k + 1 : k]
    rain5 = np.r_[np.zeros((1, n_pts)), rain[: n5 * k].reshape(n5, k, n_pts).mean(1)]
    return depth5, rain5


def message_rows(
    messages: Sequence[AlertMessage], points: AlertPoints, issue_s: float
) -> list[dict[str, Any]]:
    """Timeline rows (:data:`TIMELINE_COLUMNS`) of the messages of one issue time."""
    rows = []
    for m in messages:
        i = int(np.flatnonzero(points.ids == m.point_id)[0])
        lead = m.lead_time_s
        rows.append(
            {
                "issue_time": issue_s,
                "point": m.point_id,
                "point_index": i,
                "level": m.level,
                "msgType": m.msg_type,
                "probability": m.probability,
                "onset_forecast_time": np.nan if lead is None else issue_s + lead,
                "lead_time": np.nan if lead is None else lead,
                "urgency": m.urgency,
                "severity": m.severity,
                "certainty": m.certainty,
                "identifier": m.identifier,
                "sent": m.sent,
            }
        )
    return rows


def replay_alerts(
    depth: npt.ArrayLike,
    rain_rate: npt.ArrayLike,
    times: npt.ArrayLike,
    points: Any,
    model: Forecaster,
    *,
    rain_source: str = "persistence",
    every: float = STEP_S,
    policy: AlertPolicy | None = None,
    start: datetime | None = None,
    sensor: SensorModel | None = None,
    seed: int,
    nowcast: Callable[[FloatArray], FloatArray] | None = None,
) -> AlertReplay:
    """Replay the forecaster and the alert lifecycle over a run (see :func:`alert_timeline`).

    A radar ``rain_source`` (:data:`~twin.forecast.nowcast.RADAR_SOURCES`) needs
    ``nowcast``: issue times [s since the start] → nowcast rain at the points, shape
    ``(n_issue, members, horizon, n_points)`` [mm/h]
    (:func:`twin.forecast.radar_rain.radar_nowcaster`); point forecasters take the
    members' mean.
    """
    check_source(rain_source)
    if rain_source in RADAR_SOURCES and nowcast is None:
        raise ForecastError(
            f"rain source {rain_source!r} is a radar nowcast; pass nowcast= (a radar "
            "nowcaster, twin.forecast.radar_rain.radar_nowcaster)."
        )
    if model.points is None:
        raise ForecastError("the forecaster is not fitted; load a shipped model first.")
    alert_points = (
        points if isinstance(points, AlertPoints) else AlertPoints.from_low_points(points)
    )
    n_pts = len(alert_points)
    idx = model.points.index_of(list(alert_points.ids))
    t = np.asarray(times, dtype=np.float64)
    d = _as_2d("depth", depth, n_pts)
    r = _as_2d("rain_rate", rain_rate, n_pts)
    if t.ndim != 1 or t.size < 2 or t.size != d.shape[0]:
        raise ForecastError(
            f"times has {t.size} values for {d.shape[0]} depth rows; give the step "
            "boundaries of the run [s] (Waterlogging.times)."
        )
    if r.shape[0] != d.shape[0] - 1:
        raise ForecastError(
            f"rain_rate has {r.shape[0]} rows; a run with {d.shape[0]} depth rows (step "
            f"boundaries) has {d.shape[0] - 1} rain steps."
        )
    stride = every / STEP_S
    if abs(stride - round(stride)) > 1e-9 or round(stride) < 1:
        raise ForecastError(f"every={every:g} s must be a multiple of {STEP_S:.0f} s.")
    depth5, rain5 = five_minute_grid(d, r, t)
    n5 = depth5.shape[0] - 1
    rng = np.random.default_rng(seed)
    obs5 = depth5 if sensor is None else sensor_readings(depth5, STEP_S, sensor, rng)
    enc, hor = model.encoder, model.horizon
    # The run starts dry: pad the history before it with dry readings and no rain.
    pad = enc - 1
    obs_p = np.r_[np.zeros((pad, n_pts)), obs5]
    rain_p = np.r_[np.zeros((pad, n_pts)), rain5, np.zeros((hor, n_pts))]
    filled, missing = fill_readings(obs_p)
    issue = np.arange(1, n5 + 1, round(stride), dtype=np.int64)  # rows of the 5-min grid
    if issue.size == 0:
        raise ForecastError("the run is shorter than one forecast step (5 min).")
    g = np.repeat(issue + pad, n_pts)
    p = np.tile(np.arange(n_pts), issue.size)
    hist = g[:, None] + np.arange(-enc + 1, 1)[None, :]
    fut = g[:, None] + np.arange(1, hor + 1)[None, :]
    rain_hist = rain_p[hist, p[:, None]]
    issue_s_all = t[0] + issue.astype(np.float64) * STEP_S
    if nowcast is not None and rain_source in RADAR_SOURCES:
        given = np.asarray(nowcast(issue_s_all), dtype=np.float64).mean(axis=1)
        if given.shape != (issue.size, hor, n_pts):
            raise ForecastError(
                f"the nowcast gave shape {given.shape}; expected ({issue.size}, {hor}, {n_pts})"
            )
        fut_rain = np.transpose(given, (0, 2, 1)).reshape(-1, hor)
    else:
        fut_rain = future_rain(
            rain_hist, rain_p[fut, p[:, None]], rain_source, horizon=hor, rng=rng
        )
    windows = Windows(
        filled[hist, p[:, None]], missing[hist, p[:, None]], rain_hist, fut_rain, idx[p]
    )
    q = model.predict(windows)
    pol = policy or AlertPolicy()
    prob, lead_steps = alert_probabilities(q, pol.levels, pol.p_raise, model.quantiles)
    prob = prob.reshape(issue.size, n_pts, -1)
    lead_s = (lead_steps * STEP_S).reshape(issue.size, n_pts, -1)
    last_obs = np.where(missing, np.nan, filled)[issue + pad]  # (n_issue, n_pts)
    median = q[:, :, model.quantiles.index(0.5)].max(axis=1).reshape(issue.size, n_pts)
    t0 = start or DEFAULT_START
    if t0.tzinfo is None:
        raise ForecastError("start must be timezone-aware (e.g. the scenario's start).")
    manager = AlertManager(alert_points, pol)
    rows: list[dict[str, Any]] = []
    messages: list[AlertMessage] = []
    for k, row in enumerate(issue.tolist()):
        issue_s = float(t[0] + row * STEP_S)
        when = t0 + timedelta(seconds=issue_s)
        msgs = manager.step(
            when, prob[k], lead_s[k], last_obs[k], extra={"peak_median_depth_m": median[k]}
        )
        rows.extend(message_rows(msgs, alert_points, issue_s))
        messages.extend(msgs)
    table = pd.DataFrame(rows, columns=list(TIMELINE_COLUMNS))
    table.attrs["rain_source"] = rain_source_label(rain_source)
    logger.info(
        "alert replay: %d messages over %d issue times (%s)", len(table), issue.size, rain_source
    )
    return AlertReplay(
        table=table, messages=messages, rain_source=rain_source, issue_times=issue_s_all,
        future_rain=np.transpose(fut_rain.reshape(issue.size, n_pts, hor), (0, 2, 1)),
        quantiles=q.reshape(issue.size, n_pts, hor, -1),
    )  # fmt: skip


def alert_timeline(
    depth: npt.ArrayLike,
    rain_rate: npt.ArrayLike,
    times: npt.ArrayLike,
    points: Any,
    model: Forecaster,
    *,
    rain_source: str = "persistence",
    every: float = STEP_S,
    policy: AlertPolicy | None = None,
    start: datetime | None = None,
    sensor: SensorModel | None = None,
    seed: int,
) -> pd.DataFrame:
    """Alerts a forecaster would have issued over a simulated run, replayed online.

    At each issue time (every ``every`` seconds from the first 5-minute boundary) the
    forecaster sees only the gauge readings of the run up to that time (read through
    ``sensor`` if given) and the rain measured up to it; the future rain comes from
    ``rain_source`` (``persistence``: from the past only; ``observed``: the run's own
    future rain, an oracle; ``perturbed``: that rain with growing error). The decisions
    follow :class:`twin.alerts.AlertManager`. The run is taken to start dry (as
    :func:`~twin.hydro.reservoir.simulate_ponding` does); rain after its end is zero.

    Parameters
    ----------
    depth
        Water depth at the run's step boundaries [m], shape ``(n_steps + 1, n_points)``
        (``Waterlogging.depth``).
    rain_rate
        Rain on each point during each step [mm/h], ``(n_steps, n_points)`` or
        ``(n_steps,)`` (``Waterlogging.rain_rate``).
    times
        Step boundaries [s since the run start], ``(n_steps + 1,)``
        (``Waterlogging.times``); the step must divide 300 s.
    points
        :class:`~twin.hydro.lowpoints.LowPoints` (``Waterlogging.points``) or
        :class:`~twin.alerts.AlertPoints`; every id must be known to the model.
    model
        A fitted forecaster (e.g. ``load_shipped("nhits")``).
    rain_source
        Future rain source (see above); every output names it
        (``table.attrs["rain_source"]``).
    every
        Time between issue times [s], a multiple of 300.
    policy
        Decision rule (default :class:`~twin.alerts.AlertPolicy`).
    start
        Timezone-aware start of the run (CAP times); default 2024-06-15T00:00Z.
    sensor
        Gauge model for the readings (None: the forecaster reads the true depth).
    seed
        Seed of the sensor and the perturbed nowcast.

    Returns
    -------
    pandas.DataFrame
        One row per message, in issue order, columns :data:`TIMELINE_COLUMNS`:
        ``issue_time`` [s since start], ``point`` (id), ``point_index`` (position in
        ``points``), ``level`` (``impeded``/``closed``), ``msgType``
        (``Alert``/``Update``/``Cancel``), ``probability`` [-],
        ``onset_forecast_time`` [s since start; NaN for Cancel], ``lead_time`` [s],
        CAP ``urgency``/``severity``/``certainty``, ``identifier``, ``sent`` (aware).
    """
    return replay_alerts(
        depth,
        rain_rate,
        times,
        points,
        model,
        rain_source=rain_source,
        every=every,
        policy=policy,
        start=start,
        sensor=sensor,
        seed=seed,
    ).table
