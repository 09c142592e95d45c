"""Forecast and alert at every issue time, from the latest stored observations.

Issue times lie on the forecasters' 5-minute grid (multiples of 300 s since
1970-01-01 UTC). At an issue time ``b`` the engine

1. reads the water-level and rain readings of the last ``max_reading_age`` + 2 h from
   the store (late and out-of-order readings included, whatever order they came in);
2. **assimilates** them on the grid: the reading of a gauge at boundary ``b_k`` is its
   last reading in ``(b_k - 5 min, b_k]``; a gauge that misses a step keeps its last
   reading, flagged as missing (:func:`twin.forecast.data.fill_readings`; for up to
   ``max_reading_age``); the rain of a step is the mean rate of the point's gauge over
   the step (0 when it sent none);
3. forecasts the depth quantiles at 5 … 120 min at every low point with the model
   (:meth:`twin.forecast.base.Forecaster.predict`), the future rain being a radar
   nowcast at the low points when ``radar.enabled`` and the stored frames (or an
   external nowcast) allow it (:mod:`twin.live.future_rain`), else the gauge
   persistence nowcast (:func:`twin.forecast.nowcast.future_rain`: the last 15 min
   held); the forecast and every alert say which (``rain_source``);
4. decides with the alert lifecycle (:class:`twin.alerts.AlertManager`: thresholds with
   hysteresis, de-duplication, Alert / Update / Cancel), on the probabilities of
   :func:`twin.forecast.online.alert_probabilities`, exactly as the offline replay
   :func:`twin.forecast.online.replay_alerts` does;
5. renders each message as CAP 1.2 XML (validated against the schema) and JSON, and
   records the messages, their outbox rows, the lifecycle state and the next issue
   time in **one transaction**. A crash before the commit re-issues the same time after
   the restart, with the same messages (identifiers are deterministic); a crash after
   it resumes at the next time. Nothing is lost, nothing is sent twice by the engine.

:class:`IssueClock` decides when an issue time is due: with ``clock: data`` when the
readings' timestamps have reached it (so replays run faster than real time), with
``clock: wall`` when the server's clock has; in both cases as soon as every gauge that
reports has reported for it, or after ``settle`` seconds of waiting for late ones. Issue
times are never skipped while the service keeps up (a skipped time would change the
lifecycle: a Cancel needs ``clear_after`` consecutive issues), and a restart resumes at
the first time not recorded; only a backlog older than ``max_catchup`` (after a long
outage) is skipped, and a fresh store starts at the newest data.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from twin._types import BoolArray, FloatArray, IntArray
from twin.alerts import (
    AlertManager,
    AlertMessage,
    AlertPoints,
    AlertPolicy,
    OpenAlert,
    cap_json,
    cap_xml,
)
from twin.alerts.cap import validate_cap
from twin.forecast.base import Forecaster
from twin.forecast.data import STEP_S, Windows, fill_readings
from twin.forecast.errors import ForecastError
from twin.forecast.nowcast import future_rain
from twin.forecast.online import alert_probabilities
from twin.forecast.physics_model import PhysicsModel
from twin.live.bands import LiveBands
from twin.live.config import LiveConfig
from twin.live.errors import LiveError
from twin.live.future_rain import FutureRain, RadarRain
from twin.live.ingest import iso_ms
from twin.live.physics import LivePhysics
from twin.live.records import AlertRecord, NewAlert, now_ms
from twin.live.sensors import SensorRegistry
from twin.live.store import Store

__all__ = [
    "STEP_MS",
    "ForecastEngine",
    "IssueClock",
    "Observations",
    "load_model",
    "manager_state",
    "restore_manager",
]

logger = logging.getLogger(__name__)

#: The issue grid [ms]: the forecasters' 5-minute step.
STEP_MS = round(STEP_S * 1000)
_KEY_NEXT = "loop.next_issue_ms"
_KEY_MANAGER = "loop.alert_manager"
_KEY_LATEST = "forecast.latest"
_KEY_PHYSICS = "forecast.physics_ensemble"
_KEY_BANDS = "forecast.bands"


def load_model(spec: str) -> Forecaster | PhysicsModel:
    """Load the forecaster named in the config.

    Parameters
    ----------
    spec
        ``shipped:<kind>`` (``models/waterlogging-<kind>``; ``shipped:physics_ensemble``
        the physics ensemble), a folder written by
        :func:`twin.forecast.io.save_forecaster`, or a physics-ensemble folder
        (:func:`twin.forecast.physics_model.save_physics_model`).

    Raises
    ------
    twin.forecast.errors.ModelFileError
        The folder is missing or is not a saved forecaster.
    """
    from twin.forecast.io import load_forecaster, load_shipped
    from twin.forecast.physics_model import KIND, is_physics_model, load_physics_model

    if spec.startswith("shipped:"):
        kind = spec.removeprefix("shipped:")
        if kind in (KIND, "physics-ensemble"):
            return load_physics_model()
        return load_shipped(kind)
    if is_physics_model(spec):
        return load_physics_model(spec)
    return load_forecaster(spec)


# ---------------------------------------------------------------------------- state
def _iso(t: datetime) -> str:
    return t.isoformat()


def manager_state(manager: AlertManager) -> dict[str, Any]:
    """The alert lifecycle's open alerts as JSON-able data (for :func:`restore_manager`)."""
    active = [
        {
            "point": a.point_id,
            "level": a.level,
            "messages": [[ident, _iso(sent)] for ident, sent in a.messages],
            "last_sent": _iso(a.last_sent),
            "urgency": a.urgency,
            "certainty": a.certainty,
            "onset": None if a.onset is None else _iso(a.onset),
            "below": a.below,
            "color": a.color,
        }
        for a in manager.state()
    ]
    return {"version": 1, "active": active}


def restore_manager(
    points: AlertPoints, policy: AlertPolicy, state: dict[str, Any] | None
) -> AlertManager:
    """An alert lifecycle with the open alerts of :func:`manager_state` restored.

    Open alerts of low points that are no longer configured are dropped (logged).
    """
    manager = AlertManager(points, policy)
    if not state:
        return manager
    dropped = manager.restore(
        OpenAlert(
            point_id=str(rec["point"]),
            level=str(rec["level"]),
            messages=tuple((str(m[0]), datetime.fromisoformat(m[1])) for m in rec["messages"]),
            last_sent=datetime.fromisoformat(rec["last_sent"]),
            urgency=str(rec["urgency"]),
            certainty=str(rec["certainty"]),
            onset=None if rec["onset"] is None else datetime.fromisoformat(rec["onset"]),
            below=int(rec["below"]),
            color=rec.get("color"),
        )
        for rec in state.get("active", [])
    )
    for a in dropped:
        logger.warning("dropping the open %s alert of %s: not configured", a.level, a.point_id)
    return manager


# ---------------------------------------------------------------------------- clock
class IssueClock:
    """When is the next issue time due (see the module docstring).

    Parameters
    ----------
    mode
        ``"data"`` or ``"wall"``.
    settle_ms, max_age_ms, catchup_ms
        Longest wait for late gauges, how long a silent gauge counts as reporting,
        and how far back issues are caught up [ms].
    last_seen
        Newest reading time of each water-level and rain sensor [ms].
    next_issue_ms
        The next issue time (None: start near the newest data).
    """

    def __init__(
        self,
        mode: str,
        *,
        settle_ms: int,
        max_age_ms: int,
        catchup_ms: int,
        last_seen: dict[str, int],
        next_issue_ms: int | None,
    ) -> None:
        self.mode = mode
        self.settle_ms = settle_ms
        self.max_age_ms = max_age_ms
        self.catchup_steps = max(0, catchup_ms // STEP_MS)
        self.last_seen = dict(last_seen)
        self.next_issue_ms = next_issue_ms
        self.last_note_wall_ms = 0
        self.skipped = 0
        self._since: dict[int, int] = {}  # boundary -> wall time it was first due [ms]
        self._seen_upto: int | None = None

    def note(self, sensors: Sequence[str], t_ms: IntArray, *, wall_ms: int) -> None:
        """Record newly stored readings of forecast sensors (ids and times [ms])."""
        if len(sensors) == 0:
            return
        order = np.argsort(t_ms, kind="stable")
        latest: dict[str, int] = {}
        ts = np.asarray(t_ms)[order].tolist()
        for j, i in enumerate(order.tolist()):
            latest[sensors[i]] = ts[j]
        for s, t in latest.items():
            if t > self.last_seen.get(s, -(2**62)):
                self.last_seen[s] = t
        self.last_note_wall_ms = wall_ms

    def watermark(self) -> int | None:
        """The newest reading time of any forecast sensor [ms] (None before any)."""
        return max(self.last_seen.values()) if self.last_seen else None

    def _now(self, wall_ms: int) -> int | None:
        return self.watermark() if self.mode == "data" else wall_ms

    def _complete(self, b: int) -> bool:
        active = [t for t in self.last_seen.values() if t >= b - self.max_age_ms]
        return all(t >= b for t in active)

    def due(self, wall_ms: int) -> list[int]:
        """Issue times that are due now, in order (call :meth:`done` after each)."""
        now_t = self._now(wall_ms)
        if now_t is None:
            return []
        latest = (now_t // STEP_MS) * STEP_MS
        first = latest - self.catchup_steps * STEP_MS
        if self.next_issue_ms is None:
            self.next_issue_ms = latest  # a fresh store: start at the newest data
        elif self.next_issue_ms < first:
            gap = (first - self.next_issue_ms) // STEP_MS
            logger.warning(
                "skipping %d issue time(s) from %s (more than max_catchup behind)",
                gap,
                iso_ms(self.next_issue_ms),
            )
            self.skipped += int(gap)
            self.next_issue_ms = first
        # Remember when each issue time first became due (the settle time runs from then).
        b = self.next_issue_ms
        if self._seen_upto is not None:
            b = max(b, self._seen_upto + STEP_MS)
        while b <= latest:
            self._since[b] = wall_ms
            b += STEP_MS
        self._seen_upto = latest if self._seen_upto is None else max(self._seen_upto, latest)
        out: list[int] = []
        b = self.next_issue_ms
        while b <= latest:
            if not self._complete(b) and wall_ms - self._since.get(b, wall_ms) < self.settle_ms:
                break
            out.append(b)
            b += STEP_MS
        return out

    def done(self, b: int) -> None:
        """Issue time ``b`` was recorded; the next one follows."""
        self.next_issue_ms = b + STEP_MS
        for old in [k for k in self._since if k <= b]:
            del self._since[old]

    def seconds_to_next_check(self, wall_ms: int, every_s: float) -> float:
        """How long to sleep before the next check [s] (at most ``every_s``)."""
        wait = every_s
        since = None if self.next_issue_ms is None else self._since.get(self.next_issue_ms)
        if since is not None:
            wait = min(wait, max(0.05, (since + self.settle_ms - wall_ms) / 1000))
        if self.mode == "wall" and self.next_issue_ms is not None:
            wait = min(wait, max(0.05, (self.next_issue_ms - wall_ms) / 1000))
        return wait


# ---------------------------------------------------------------------------- engine
@dataclass(frozen=True)
class Observations:
    """The gauges on the issue grid before one issue time (one column per low point).

    Attributes
    ----------
    depth
        Readings, gaps filled by the last reading [m], shape ``(encoder, n_points)``.
    missing
        Whether each reading was missing, same shape.
    rain
        Rain over the step ending at each boundary [mm/h], same shape.
    last
        The reading at the issue time [m] (NaN when missing), shape ``(n_points,)``.
    """

    depth: FloatArray
    missing: BoolArray
    rain: FloatArray
    last: FloatArray


class ForecastEngine:
    """Forecasts, alert decisions and their atomic recording (see the module docstring).

    Parameters
    ----------
    config
        The service config (alert policy, time zone, reading age, CAP validation).
    store
        Where readings are read and messages recorded.
    model
        A fitted forecaster that knows every configured low point, or the physics
        ensemble (:mod:`twin.live.physics`).
    points
        The low points (alert areas).
    registry
        Which gauges feed which low point.
    """

    def __init__(
        self,
        config: LiveConfig,
        store: Store,
        model: Forecaster | PhysicsModel,
        points: AlertPoints,
        registry: SensorRegistry,
    ) -> None:
        ids = [str(p) for p in points.ids.tolist()]
        self.physics: LivePhysics | None = None
        self.bands: LiveBands | None = None
        if isinstance(model, PhysicsModel):
            self.physics = LivePhysics(model, ids, seed=config.forecast.seed, step_ms=STEP_MS)
            self.physics.restore(store.get_meta(_KEY_PHYSICS))
            self._physics_committed = self.physics.dumps()
            if config.forecast.calibrate and model.calibrator is not None:
                self.bands = LiveBands.for_model(model, config.forecast, step_ms=STEP_MS)
                self.bands.restore(store.get_meta(_KEY_BANDS))
                self._bands_committed = self.bands.dumps()
        elif model.points is None:
            raise LiveError(f"the {model.kind} forecaster is not fitted; train it first.")
        else:
            try:
                self.model_index = model.points.index_of(ids)
            except ForecastError as exc:
                raise LiveError(
                    f"forecast.model ({model.kind}) does not know every configured low point: {exc}"
                ) from None
        self.config = config
        self.store = store
        self.model = model
        self.points = points
        self.registry = registry
        self.policy = config.alerts
        self.zone = ZoneInfo(config.timezone)
        self.lookback = math.ceil(config.forecast.max_reading_age / STEP_S)
        level = registry.level_of_point
        self.level_ids = [registry.ids[i] for i in level.tolist() if i >= 0]
        self.level_col = {registry.ids[i]: j for j, i in enumerate(level.tolist()) if i >= 0}
        rain_gauges = sorted({int(i) for i in registry.rain_of_point.tolist() if i >= 0})
        self.rain_ids = [registry.ids[i] for i in rain_gauges]
        self.rain_col_of_point = np.array(
            [rain_gauges.index(int(i)) if i >= 0 else -1 for i in registry.rain_of_point.tolist()],
            dtype=np.int64,
        )
        raw = store.get_meta(_KEY_MANAGER)
        self._committed = raw or json.dumps({"version": 1, "active": []})
        self.manager = restore_manager(points, self.policy, json.loads(self._committed))
        nxt = store.get_meta(_KEY_NEXT)
        self.next_issue_ms: int | None = None if nxt is None else int(nxt)
        latest = store.get_meta(_KEY_LATEST)
        self.latest: dict[str, Any] | None = None if latest is None else json.loads(latest)
        self.radar_rain = RadarRain(config, store, points, model.horizon, step_s=STEP_S)

    @property
    def forecast_sensors(self) -> list[str]:
        """Ids of the gauges the forecasts read."""
        return [*self.level_ids, *self.rain_ids]

    def observe(self, b_ms: int) -> Observations:
        """The gauges on the grid of the ``encoder`` steps ending at issue time ``b_ms``."""
        enc = self.model.encoder
        rows = self.lookback + enc
        b0 = b_ms - (rows - 1) * STEP_MS  # first boundary
        n_pts = len(self.points)
        obs = np.full((rows, n_pts), np.nan)
        # The last reading of each gauge in each step (aggregated in the database).
        sensors, k, v = self.store.step_last(self.level_ids, b0, STEP_MS, b_ms)
        if k.size:
            col = np.array([self.level_col[s] for s in sensors], dtype=np.int64)
            obs[k, col] = v
        filled, missing = fill_readings(obs)
        n_g = len(self.rain_ids)
        rain_g = np.zeros((enc, max(n_g, 1)))
        if n_g:
            r0 = b_ms - (enc - 1) * STEP_MS
            sensors, k, v = self.store.step_mean(self.rain_ids, r0, STEP_MS, b_ms)
            if k.size:
                gpos = np.array([self.rain_ids.index(s) for s in sensors], dtype=np.int64)
                rain_g[k, gpos] = v
        cols = np.maximum(self.rain_col_of_point, 0)
        rain = np.where(self.rain_col_of_point[None, :] >= 0, rain_g[:, cols], 0.0)
        depth = filled[-enc:]
        miss = missing[-enc:]
        return Observations(
            depth=np.asarray(depth, dtype=np.float64),
            missing=np.asarray(miss, dtype=bool),
            rain=np.asarray(rain, dtype=np.float64),
            last=np.where(miss[-1], np.nan, depth[-1]).astype(np.float64),
        )

    def future(self, obs: Observations, rain: FutureRain | None = None) -> FloatArray:
        """The future rain [mm/h], ``(n_points, horizon)``: the nowcast, else persistence."""
        if rain is not None and rain.values is not None:
            return np.asarray(rain.values, dtype=np.float64)
        return future_rain(obs.rain.T, None, "persistence", horizon=self.model.horizon)

    def forecast(self, obs: Observations, future: FloatArray | None = None) -> FloatArray:
        """Depth quantiles [m], shape ``(n_points, horizon, n_quantiles)``.

        ``future``: the rain of the next steps [mm/h], ``(n_points, horizon)``
        (default: the gauge persistence). Statistical forecasters only.
        """
        if isinstance(self.model, PhysicsModel):
            raise LiveError("the physics ensemble forecasts in issue() (it carries a state)")
        fut = self.future(obs) if future is None else future
        windows = Windows(obs.depth.T, obs.missing.T, obs.rain.T, fut, self.model_index)
        return self.model.predict(windows)

    def _decide(
        self, b_ms: int, obs: Observations, rain: FutureRain, fut: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, dict[str, Any]]:
        """Quantiles, level probabilities, onset leads [steps] and peak median depth [m].

        Also what the physics ensemble did (empty for a statistical forecaster).
        """
        pol = self.policy
        if self.physics is None:
            q = self.forecast(obs, fut)
            prob, lead_steps = alert_probabilities(q, pol.levels, pol.p_raise, self.model.quantiles)
            median = q[:, :, self.model.quantiles.index(0.5)]
            return q, prob, lead_steps, median.max(axis=1), {}
        readings = np.where(obs.missing, np.nan, obs.depth)
        radar = self.radar_rain.past(b_ms, obs.rain.shape[0])
        from_radar = np.asarray(np.isfinite(radar).all(axis=1), dtype=bool)
        past = np.where(np.isfinite(radar), radar, obs.rain)
        info = self.physics.catch_up(b_ms, readings, past)
        members = rain.members if rain.members is not None else fut.T[None]
        q, prob, lead_steps, peak = self.physics.forecast(members, pol.levels, pol.p_raise)
        if self.bands is not None:
            q = self.bands.issue(b_ms, q, obs.last)
            info["bands"] = self.bands.summary()
        info |= {
            "members": self.physics.model.settings.members,
            "rain_members": int(members.shape[0]),
            "past_rain_radar_steps": int(from_radar[-max(1, int(info["steps"])) :].sum()),
        }
        return q, prob, lead_steps, peak, info

    def issue(self, b_ms: int, *, trigger_ms: int) -> list[AlertRecord]:
        """Forecast, decide and record one issue time; the messages recorded now.

        Parameters
        ----------
        b_ms
            Issue time on the 5-minute grid [ms since the epoch].
        trigger_ms
            Wall time of the ingest that made it due [ms] (kept with the messages, for
            the reading-to-delivery latency).
        """
        obs = self.observe(b_ms)
        rain = self.radar_rain.at(b_ms)
        fut = self.future(obs, rain)
        pol = self.policy
        try:
            q, prob, lead_steps, peak, physics = self._decide(b_ms, obs, rain, fut)
        except BaseException:
            self._rollback_physics()
            raise
        issue_time = datetime.fromtimestamp(b_ms / 1000, tz=UTC).astimezone(self.zone)
        try:
            msgs = self.manager.step(
                issue_time,
                prob,
                lead_steps * STEP_S,
                obs.last,
                extra={"peak_median_depth_m": peak},
            )
            alerts = [
                self._render(
                    dataclasses.replace(m, parameters={**m.parameters, "rain_source": rain.source}),
                    b_ms,
                    trigger_ms,
                )
                for m in msgs
            ]
            state_json = json.dumps(manager_state(self.manager))
            latest = self._latest(b_ms, q, prob, obs, rain, fut)
            if physics:
                latest["physics_ensemble"] = physics
            meta = {
                _KEY_NEXT: str(b_ms + STEP_MS),
                _KEY_MANAGER: state_json,
                _KEY_LATEST: json.dumps(latest),
            }
            if self.physics is not None:
                meta[_KEY_PHYSICS] = physics_json = self.physics.dumps()
            if self.bands is not None:
                meta[_KEY_BANDS] = bands_json = self.bands.dumps()
            records = self.store.record_cycle(alerts, meta, created_ms=now_ms())
        except BaseException:
            # The lifecycle moved on in memory but nothing was committed: roll it back.
            self.manager = restore_manager(self.points, pol, json.loads(self._committed))
            self._rollback_physics()
            raise
        if self.physics is not None:
            self._physics_committed = physics_json
        if self.bands is not None:
            self._bands_committed = bands_json
        self._committed = state_json
        self.latest = latest
        self.next_issue_ms = b_ms + STEP_MS
        return records

    def _rollback_physics(self) -> None:
        """Back to the committed ensemble and bands (the issue time will be issued again)."""
        if self.physics is not None:
            self.physics.restore(self._physics_committed)
        if self.bands is not None:
            self.bands.restore(self._bands_committed)

    def _render(self, msg: AlertMessage, b_ms: int, trigger_ms: int) -> NewAlert:
        xml = cap_xml(msg)
        if self.config.forecast.validate_cap:
            validate_cap(xml)
        return NewAlert(
            identifier=msg.identifier,
            point=msg.point_id,
            level=msg.level,
            msg_type=msg.msg_type,
            sent=msg.sent.isoformat(),
            issue_ms=b_ms,
            cap_json=json.dumps(cap_json(msg), ensure_ascii=False),
            cap_xml=xml,
            trigger_ms=trigger_ms,
        )

    def _latest(
        self,
        b_ms: int,
        q: FloatArray,
        prob: FloatArray,
        obs: Observations,
        rain: FutureRain,
        fut: FloatArray,
    ) -> dict[str, Any]:
        lead = ((np.arange(self.model.horizon) + 1) * STEP_S / 60.0).tolist()
        levels = list(self.policy.levels)
        return {
            "issue_time": iso_ms(b_ms, self.zone),
            "model": self.model.kind,
            "rain_source": rain.source,
            "rain_source_label": rain.label,
            "rain": rain.info,
            "lead_time_min": lead,
            "quantiles": list(self.model.quantiles),
            "points": [
                {
                    "id": str(pid),
                    "observed_depth_m": None
                    if np.isnan(obs.last[j])
                    else round(float(obs.last[j]), 4),
                    "rain_rate_mm_h": round(float(obs.rain[-1, j]), 3),
                    "rain_future_mm_h": np.round(fut[j], 3).tolist(),
                    "water_depth_m": np.round(q[j], 4).tolist(),
                    "probability": {lv: round(float(prob[j, i]), 4) for i, lv in enumerate(levels)},
                }
                for j, pid in enumerate(self.points.ids.tolist())
            ],
        }
