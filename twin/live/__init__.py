"""Live mode: ingest sensor readings, forecast waterlogging, push CAP 1.2 alerts.

The service (``twin live --config FILE``) ingests water-level, rain-gauge and
crowd-counter readings as JSON or CSV batches (validated per row, idempotent by sensor
and time), and weather-radar frames and external nowcasts as CF NetCDF, stores them in
SQLite (WAL) or PostgreSQL, forecasts every low point on the 5-minute grid with a model
from ``models/`` (the future rain a pysteps nowcast of the radar frames when radar is
on, else the gauge persistence), runs the alert lifecycle, and delivers CAP 1.2
messages to webhooks from a durable outbox, with a CAP feed, a server-sent-event
stream, API tokens, ``/health`` and Prometheus ``/metrics``.

Modules, in the order data flows: :mod:`~twin.live.config` (the YAML schema),
:mod:`~twin.live.sensors` (registry, low points), :mod:`~twin.live.times` (time
parsing), :mod:`~twin.live.ingest` (row validation), storage (:mod:`~twin.live.records`
the records, :mod:`~twin.live.schema` the tables, :mod:`~twin.live.database` the
connection, :mod:`~twin.live.store` the queries, :mod:`~twin.live.sqlite` and
:mod:`~twin.live.postgres` the back-ends, :mod:`~twin.live.backends` opening one by
URL), radar (:mod:`~twin.live.radar_files` reading and checking uploads,
:mod:`~twin.live.radar_store` their tables, :mod:`~twin.live.radar_ingest` frames in and
out, :mod:`~twin.live.watch` the watched folder, :mod:`~twin.live.future_rain` the
nowcast rain of each issue time), :mod:`~twin.live.engine` (forecast, decide, record;
:mod:`~twin.live.physics` the physics ensemble carried across issue times),
:mod:`~twin.live.delivery` (outbox to webhooks), :mod:`~twin.live.feed` (CAP feeds,
SSE), :mod:`~twin.live.auth`, :mod:`~twin.live.metrics`, :mod:`~twin.live.service` (the
running service), :mod:`~twin.live.app` and :mod:`twin.live.routes` (its HTTP API),
:mod:`~twin.live.server`, :mod:`~twin.live.replay` (the replay client; a radar storm in
:mod:`~twin.live.replay_radar`; :mod:`~twin.live.inprocess` the forecast loop fed a
storm in one process, with crossing scores) and :mod:`~twin.live.cli`.

Importing this package is light: the names below are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin._lazy import lazy_exports

if TYPE_CHECKING:
    from twin.live.backends import open_store
    from twin.live.config import LiveConfig, load_live_config
    from twin.live.errors import LiveConnectionError, LiveError, StoreError
    from twin.live.store import Store

__all__ = [
    "LiveConfig",
    "LiveConnectionError",
    "LiveError",
    "Store",
    "StoreError",
    "load_live_config",
    "open_store",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "LiveConfig": "twin.live.config",
        "LiveConnectionError": "twin.live.errors",
        "LiveError": "twin.live.errors",
        "Store": "twin.live.store",
        "StoreError": "twin.live.errors",
        "load_live_config": "twin.live.config",
        "open_store": "twin.live.backends",
    },
)
