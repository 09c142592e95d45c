"""Live mode: ingest sensor readings, forecast waterlogging, push CAP 1.2 alerts.

The service (``twin live --config FILE``) ingests water-level, rain-gauge and
crowd-counter readings as JSON or CSV batches (validated per row, idempotent by sensor
and time), stores them in SQLite (WAL) or PostgreSQL, forecasts every low point on
the 5-minute grid with a model from ``models/``, runs the alert lifecycle, and
delivers CAP 1.2 messages to webhooks from a durable outbox, with a CAP feed, a
server-sent-event stream, API tokens, ``/health`` and Prometheus ``/metrics``.

Modules, in the order data flows: :mod:`~twin.live.config` (the YAML schema),
:mod:`~twin.live.sensors` (registry, low points), :mod:`~twin.live.ingest` (row
validation), :mod:`~twin.live.store` and :mod:`~twin.live.postgres` (storage),
:mod:`~twin.live.engine` (forecast, decide, record), :mod:`~twin.live.delivery`
(outbox to webhooks), :mod:`~twin.live.feed` (CAP feeds, SSE), :mod:`~twin.live.auth`,
:mod:`~twin.live.metrics`, :mod:`~twin.live.service` and :mod:`~twin.live.app` (the
running service and its HTTP API), :mod:`~twin.live.replay` (the replay client) and
:mod:`~twin.live.cli`.
"""

from __future__ import annotations

from twin.live.config import LiveConfig, load_live_config
from twin.live.errors import LiveConnectionError, LiveError, StoreError
from twin.live.store import Store, open_store

__all__ = [
    "LiveConfig",
    "LiveConnectionError",
    "LiveError",
    "Store",
    "StoreError",
    "load_live_config",
    "open_store",
]
