"""The running service: store, registry, engine, clock and its background tasks.

:class:`LiveService` is opened (blocking: store, model, low points) before the HTTP
server starts, so a wrong config or a missing model is a one-line error, not a
half-started server. Its two background tasks run on the server's event loop:

- the **forecast loop** wakes on new data and on a schedule (``forecast.every``), asks
  the :class:`~twin.live.engine.IssueClock` which issue times are due, and runs each in a
  worker thread (:meth:`~twin.live.engine.ForecastEngine.issue`);
- the **deliverer** (:class:`~twin.live.delivery.Deliverer`) sends the outbox to the
  subscribers;
- with ``radar.watch_dir``, the **radar watcher** (:class:`~twin.live.watch.RadarWatcher`)
  ingests the radar files dropped in that folder.

Radar frames and external nowcasts go through :attr:`LiveService.radar`
(:class:`~twin.live.radar_ingest.RadarIngest`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

from twin.alerts import AlertManager, cap_xml
from twin.alerts.cap import validate_cap
from twin.forecast.base import Forecaster
from twin.live.auth import TokenGate, sync_config_tokens
from twin.live.backends import open_store
from twin.live.config import LiveConfig
from twin.live.delivery import Deliverer
from twin.live.engine import ForecastEngine, IssueClock, load_model
from twin.live.errors import LiveError
from twin.live.events import Broadcast
from twin.live.ingest import ParsedBatch, Rejection, iso_ms, parse_batch
from twin.live.metrics import LiveMetrics
from twin.live.radar_ingest import RadarIngest
from twin.live.records import Subscriber, now_ms
from twin.live.sensors import (
    KINDS,
    RAIN_GAUGE,
    WATER_LEVEL,
    build_registry,
    load_alert_points,
    load_plaza_ids,
)
from twin.live.store import Store

__all__ = ["LiveService"]

logger = logging.getLogger(__name__)


class LiveService:
    """The live service's state and background tasks.

    Parameters
    ----------
    config
        The service config.
    model
        A fitted forecaster to use instead of loading ``config.forecast.model``.
    store
        An open store to use instead of opening ``config.store.url``.
    """

    def __init__(
        self, config: LiveConfig, *, model: Forecaster | None = None, store: Store | None = None
    ) -> None:
        self.config = config
        self.metrics = LiveMetrics()
        self._model = model
        self._store = store
        self._engine: ForecastEngine | None = None
        self._radar: RadarIngest | None = None
        self._clock: IssueClock | None = None
        self.tokens: TokenGate | None = None
        self.started = time.time()
        self._tasks: list[asyncio.Task[None]] = []
        self._data: asyncio.Event | None = None
        self.alerts_signal: Broadcast | None = None
        self.outbox_signal: Broadcast | None = None
        self.newest: dict[str, int] = {}  # sensor -> newest reading time [ms]
        self.issue_error: str | None = None  # why the last issue attempt failed
        self._newest_lock = threading.Lock()

    # ------------------------------------------------------------------ set-up
    @property
    def store(self) -> Store:
        """The open store."""
        if self._store is None:
            raise LiveError("the live service is not open; call open() first.")
        return self._store

    @property
    def engine(self) -> ForecastEngine:
        """The forecast engine."""
        if self._engine is None:
            raise LiveError("the live service is not open; call open() first.")
        return self._engine

    @property
    def radar(self) -> RadarIngest:
        """Radar frames and external nowcasts in and out."""
        if self._radar is None:
            raise LiveError("the live service is not open; call open() first.")
        return self._radar

    @property
    def clock(self) -> IssueClock:
        """The issue clock."""
        if self._clock is None:
            raise LiveError("the live service is not open; call open() first.")
        return self._clock

    def open(self) -> LiveService:
        """Open the store, load the model and low points, restore the loop state.

        Raises
        ------
        LiveError, StoreError, twin.forecast.errors.ModelFileError
            With what to fix.
        """
        cfg = self.config
        cfg.check_environment()
        if self._store is None:
            self._store = open_store(cfg.store.url, synchronous=cfg.store.sqlite_synchronous)
        store = self._store
        points = load_alert_points(cfg.forecast.low_points)
        plazas = load_plaza_ids(cfg.forecast.plazas) if cfg.sensors.auto_crowd_counters else []
        registry = build_registry(cfg.sensors, points, plazas)
        model = self._model if self._model is not None else load_model(cfg.forecast.model)
        self._engine = ForecastEngine(cfg, store, model, points, registry)
        engine = self._engine
        self._radar = RadarIngest(
            cfg, store, points, self.metrics, hold=lambda: engine.next_issue_ms
        )
        at = now_ms()
        sync_config_tokens(store, cfg, at_ms=at)
        self.tokens = TokenGate(
            store, limit=cfg.server.bad_token_limit, window_s=cfg.server.bad_token_window
        )
        names = {w.name for w in cfg.webhooks}
        for old in store.subscribers():
            if old.source == "config" and old.name not in names:
                store.remove_subscriber(old.name)
        for hook in cfg.webhooks:
            store.upsert_subscriber(
                Subscriber(hook.name, hook.url, hook.format, hook.secret_env, "config"), at_ms=at
            )
        fc = cfg.forecast
        self._clock = IssueClock(
            fc.clock,
            settle_ms=round(fc.settle * 1000),
            max_age_ms=round(fc.max_reading_age * 1000),
            catchup_ms=round(fc.max_catchup * 1000),
            last_seen=store.last_times(engine.forecast_sensors),
            next_issue_ms=engine.next_issue_ms,
        )
        newest = store.newest_time()
        if newest is not None:  # the sensors heard from in the day before the newest reading
            self.newest = store.newest_since(newest - 86_400_000)
        if fc.validate_cap:
            self._warm_cap()
        logger.info(
            "live service open: %s store %s, %s model, %d low points, %d sensors",
            store.backend,
            store.describe(),
            model.kind,
            len(points),
            len(registry),
        )
        return self

    def _warm_cap(self) -> None:
        """Load the CAP schema now (seconds), not at the first alert."""
        engine = self.engine
        manager = AlertManager(engine.points, engine.policy)
        n = len(engine.points)
        levels = len(engine.policy.levels)
        prob = np.zeros((n, levels))
        prob[0] = 1.0
        msgs = manager.step(datetime.now(UTC), prob, np.full((n, levels), 600.0), np.zeros(n))
        validate_cap(cap_xml(msgs[0]))

    # ------------------------------------------------------------------ tasks
    async def start(self) -> None:
        """Start the forecast loop and the deliverer on the running event loop."""
        self._data = asyncio.Event()
        self.alerts_signal = Broadcast()
        self.outbox_signal = Broadcast()
        deliverer = Deliverer(self.store, self.config.delivery, self.metrics, self.outbox_signal)
        self._tasks = [
            asyncio.create_task(self._forecast_loop(), name="forecast-loop"),
            asyncio.create_task(deliverer.run(), name="deliverer"),
        ]
        rc = self.config.radar
        if rc.watch_dir is not None:
            from twin.live.watch import RadarWatcher

            watcher = RadarWatcher(rc.watch_dir, self.radar, every=rc.watch_every, keep=rc.keep)
            self._tasks.append(asyncio.create_task(watcher.run(), name="radar-watcher"))
        self._data.set()  # issue whatever is due already

    async def stop(self) -> None:
        """Stop the background tasks and close the store."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self.store.close()

    def tasks_alive(self) -> bool:
        """Whether every background task still runs."""
        return bool(self._tasks) and not any(t.done() for t in self._tasks)

    def notify_data(self) -> None:
        """New readings are stored (call on the event loop's thread)."""
        if self._data is not None:
            self._data.set()

    def notify_subscribers_changed(self) -> None:
        """Subscribers changed: let the deliverer reconcile its workers."""
        if self.outbox_signal is not None:
            self.outbox_signal.notify()

    async def _forecast_loop(self) -> None:
        assert self._data is not None
        every = self.config.forecast.every
        clock, metrics = self.clock, self.metrics
        while True:
            wall = now_ms()
            skipped = clock.skipped
            due = clock.due(wall)
            if clock.skipped > skipped:
                metrics.issues_skipped.inc(clock.skipped - skipped)
            for b in due:
                t0 = time.perf_counter()
                try:
                    records = await asyncio.to_thread(
                        self.engine.issue, b, trigger_ms=clock.last_note_wall_ms or wall
                    )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    logger.exception("issue at %s failed; retrying", b)
                    self.issue_error = f"{iso_ms(b)}: {type(exc).__name__}: {exc}"
                    metrics.issue_errors.inc()
                    await asyncio.sleep(min(every, 5.0))
                    break
                clock.done(b)
                self.issue_error = None
                metrics.issues.inc()
                metrics.issue_seconds.observe(time.perf_counter() - t0)
                metrics.last_issue.set(b / 1000)
                latest = self.engine.latest
                if latest is not None:
                    metrics.rain_source.labels(str(latest.get("rain_source"))).inc()
                if records:
                    for r in records:
                        metrics.alerts.labels(r.msg_type, r.level).inc()
                    assert self.alerts_signal is not None and self.outbox_signal is not None
                    self.alerts_signal.notify()
                    self.outbox_signal.notify()
            wm = clock.watermark()
            if wm is not None:
                metrics.watermark.set(wm / 1000)
            timeout = clock.seconds_to_next_check(now_ms(), every)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._data.wait(), timeout)
            self._data.clear()

    # ------------------------------------------------------------------ ingest
    def ingest(self, body: bytes, content_type: str) -> tuple[dict[str, Any], ParsedBatch]:
        """Validate and store a batch (blocking); the response and the parsed batch.

        Raises
        ------
        twin.live.ingest.BatchError
            The batch cannot be read at all.
        """
        t0 = time.perf_counter()
        engine = self.engine
        received = now_ms()
        batch = parse_batch(
            body, content_type, engine.registry, self.config.ingest, now_ms=received
        )
        result = self.store.insert_readings(batch, received_ms=received)
        if len(batch):
            with self._newest_lock:
                newest = self.newest
                for s, t in zip(batch.sensor, batch.t_ms.tolist(), strict=True):
                    if t > newest.get(s, -1):
                        newest[s] = t
        rejected = list(batch.rejected)
        if result.conflicts:
            values = batch.value.tolist()
            for i, stored in result.conflicts:
                rejected.append(
                    Rejection(
                        int(batch.row[i]),
                        None,
                        "value",
                        f"a different value ({stored:g}) is already stored for this sensor and "
                        f"time (this row: {values[i]:g}); readings are immutable: send a "
                        "correction with another time",
                        batch.sensor[i],
                    )
                )
            rejected.sort(key=lambda r: r.row)
        m = self.metrics
        m.batches.labels("csv" if "csv" in content_type else "json").inc()
        if len(batch):
            counts = np.bincount(batch.kind, minlength=len(KINDS))
            for code, name in enumerate(KINDS):
                if counts[code]:
                    m.readings_valid.labels(name).inc(float(counts[code]))
        m.readings.labels("stored").inc(result.inserted)
        m.readings.labels("duplicate").inc(result.duplicates)
        m.readings.labels("rejected").inc(len(rejected))
        m.ingest_seconds.observe(time.perf_counter() - t0)
        response = {
            "received": batch.n_rows,
            "stored": result.inserted,
            "duplicates": result.duplicates,
            "rejected": len(rejected),
            "errors": [r.to_dict() for r in rejected],
        }
        return response, batch

    def note_batch(self, batch: ParsedBatch) -> None:
        """Tell the issue clock about a stored batch (call on the event loop's thread)."""
        if not len(batch):
            return
        sel = np.flatnonzero((batch.kind == WATER_LEVEL) | (batch.kind == RAIN_GAUGE))
        if sel.size:
            sensors = [batch.sensor[i] for i in sel.tolist()]
            self.clock.note(sensors, batch.t_ms[sel], wall_ms=now_ms())
            self.notify_data()
