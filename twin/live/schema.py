"""The tables of the live store, shared by both back-ends.

Tables
------
``readings (t, sensor, value, received, kind)``
    Primary key ``(t, sensor)``: a reading is identified by its sensor and time, so a
    retried or duplicated batch changes nothing (first write wins; a different value
    for a stored key is reported as a conflict). Times are integers [ms since
    1970-01-01 UTC]. Keyed by time first, new readings land at the end of the index,
    so ingest does not slow down as the table grows, however many sensors report; a
    partial index on ``(sensor, t)`` over the water-level and rain gauges (``kind < 2``)
    serves the forecasts.
``alerts (seq, identifier, …, cap_json, cap_xml)``
    Every alert message, in issue order, with both CAP renderings.
``outbox (id, alert_seq, subscriber, state, attempts, next_attempt_ms, …)``
    One row per message and subscriber, written in the same transaction as the message
    (the transactional-outbox pattern): ``pending`` until a 2xx answer, then
    ``delivered``; ``failed`` after the give-up time; ``dropped`` when its subscriber
    is removed.
``radar_grids (id, crs, x, y)``, ``radar_frames (t, grid, interval_s, data, …)``
    Radar frames (:mod:`twin.live.radar_store`): one per frame time (a re-sent frame
    changes nothing), the rain rates packed (float32, zlib) on the grid they name;
    pruned to ``radar.keep`` back from the newest.
``nowcasts (issue_ms, step_s, members, leads, points, data, …)``
    External nowcasts sampled at the low points, the latest upload per issue time.
``subscribers``, ``tokens`` (SHA-256 of API tokens, never the tokens), ``meta``
    (key/value state: the next issue time and the alert lifecycle, written with the
    messages of each issue, so a restart resumes exactly where the last commit was).
"""

from __future__ import annotations

__all__ = ["ALERT_COLUMNS", "DDL", "SCHEMA_VERSION"]

#: The schema version a store records in ``meta`` (a newer one is refused).
SCHEMA_VERSION = 1

#: The schema, with the column types each back-end fills in: ``BIGINT``, ``FLOAT``,
#: ``SERIAL`` (an auto-incremented primary key), ``BLOB`` (bytes) and ``NOROWID`` (a
#: table option). Tables added later are created on opening an older store.
DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS readings (
    t {BIGINT} NOT NULL, sensor TEXT NOT NULL, value {FLOAT} NOT NULL,
    received {BIGINT} NOT NULL, kind SMALLINT NOT NULL, PRIMARY KEY (t, sensor)){NOROWID};
CREATE INDEX IF NOT EXISTS readings_forecast ON readings (sensor, t) WHERE kind < 2;
CREATE TABLE IF NOT EXISTS alerts (
    seq {SERIAL}, identifier TEXT NOT NULL UNIQUE, point TEXT NOT NULL,
    level TEXT NOT NULL, msg_type TEXT NOT NULL, sent TEXT NOT NULL,
    issue_ms {BIGINT} NOT NULL, cap_json TEXT NOT NULL, cap_xml TEXT NOT NULL,
    created_ms {BIGINT} NOT NULL, trigger_ms {BIGINT} NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_point ON alerts (point, level, seq);
CREATE TABLE IF NOT EXISTS subscribers (
    name TEXT PRIMARY KEY, url TEXT NOT NULL, format TEXT NOT NULL, secret_env TEXT,
    source TEXT NOT NULL, active INTEGER NOT NULL, created_ms {BIGINT} NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id {SERIAL}, alert_seq {BIGINT} NOT NULL, subscriber TEXT NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_ms {BIGINT} NOT NULL,
    created_ms {BIGINT} NOT NULL, delivered_ms {BIGINT}, last_error TEXT,
    UNIQUE (alert_seq, subscriber));
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (subscriber, state, id);
CREATE TABLE IF NOT EXISTS tokens (
    name TEXT PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL,
    source TEXT NOT NULL, created_ms {BIGINT} NOT NULL, revoked_ms {BIGINT});
CREATE TABLE IF NOT EXISTS radar_grids (
    id TEXT PRIMARY KEY, crs TEXT NOT NULL, x {BLOB} NOT NULL, y {BLOB} NOT NULL);
CREATE TABLE IF NOT EXISTS radar_frames (
    t {BIGINT} PRIMARY KEY, grid TEXT NOT NULL, interval_s {FLOAT} NOT NULL,
    data {BLOB} NOT NULL, received {BIGINT} NOT NULL, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nowcasts (
    issue_ms {BIGINT} PRIMARY KEY, step_s {FLOAT} NOT NULL, members INTEGER NOT NULL,
    leads INTEGER NOT NULL, points TEXT NOT NULL, data {BLOB} NOT NULL, grid TEXT NOT NULL,
    received {BIGINT} NOT NULL, source TEXT NOT NULL);
"""

#: The columns of ``alerts``, in table order (what :func:`~twin.live.records.alert_from_row`
#: reads).
ALERT_COLUMNS = (
    "seq, identifier, point, level, msg_type, sent, issue_ms, cap_json, cap_xml, "
    "created_ms, trigger_ms"
)
