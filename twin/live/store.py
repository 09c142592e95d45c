"""The store: readings, alerts, the durable outbox, subscribers and API tokens.

One interface, :class:`Store`, with the SQL both back-ends share (the tables are in
:mod:`twin.live.schema`, the connection plumbing in :mod:`twin.live.database`):

- :class:`twin.live.sqlite.SQLiteStore` (the embedded default): one file in WAL mode,
  ``synchronous`` FULL by default, so an acknowledged batch survives a crash of the
  process and of the machine;
- :class:`twin.live.postgres.PostgresStore`: PostgreSQL by URL (psycopg 3; batches go
  through ``COPY``).

:func:`twin.live.backends.open_store` opens the back-end a URL names. The records the
store takes and returns are in :mod:`twin.live.records` (radar ones in
:mod:`twin.live.radar_store`).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import numpy as np

from twin._types import FloatArray, IntArray
from twin.live.ingest import ParsedBatch
from twin.live.radar_store import RadarTables
from twin.live.records import (
    AlertRecord,
    Delivery,
    InsertResult,
    NewAlert,
    Subscriber,
    TokenRecord,
    alert_from_row,
    token_from_row,
)
from twin.live.schema import ALERT_COLUMNS

__all__ = ["Store"]


class Store(RadarTables):
    """The store interface, with the SQL both back-ends share.

    The radar tables' queries are inherited from
    :class:`~twin.live.radar_store.RadarTables`.

    Every method is thread-safe (one connection behind a lock) and blocking: call it
    from a worker thread in async code. Methods that change several tables do so in
    one transaction.
    """

    @abc.abstractmethod
    def insert_readings(self, batch: ParsedBatch, *, received_ms: int) -> InsertResult:
        """Store the good rows of a batch in one transaction (idempotent by key)."""

    @abc.abstractmethod
    def _sensor_filter(self, sensors: Sequence[str]) -> tuple[str, list[Any]]:
        """SQL condition and parameters selecting ``sensor`` in a list."""

    # ------------------------------------------------------------------ readings
    def readings(
        self, sensors: Sequence[str], start_ms: int, end_ms: int
    ) -> tuple[list[str], IntArray, FloatArray]:
        """Readings of some sensors with ``start_ms < t <= end_ms``, ordered by time.

        Returns
        -------
        (list of str, numpy.ndarray, numpy.ndarray)
            Sensor ids, times [ms since the epoch] and values.
        """
        if not sensors:
            return [], np.zeros(0, np.int64), np.zeros(0)
        cond, params = self._sensor_filter(sensors)
        rows = self._all(
            f"SELECT sensor, t, value FROM readings WHERE t > ? AND t <= ? AND {cond} "
            "ORDER BY t, sensor",
            [int(start_ms), int(end_ms), *params],
        )
        return (
            [str(r[0]) for r in rows],
            np.array([r[1] for r in rows], dtype=np.int64),
            np.array([r[2] for r in rows], dtype=np.float64),
        )

    def step_last(
        self, sensors: Sequence[str], b0_ms: int, step_ms: int, end_ms: int
    ) -> tuple[list[str], IntArray, FloatArray]:
        """The last reading of each gauge in each step, aggregated by the database.

        Step ``k`` is ``(b0 + (k-1)·step, b0 + k·step]``; steps from ``k = 0`` (ending at
        ``b0``) to the one ending at ``end_ms``. Water-level and rain gauges only (the
        partial index).

        Returns
        -------
        (list of str, numpy.ndarray, numpy.ndarray)
            Sensor ids, step indices ``k`` and the values.
        """
        if not sensors:
            return [], np.zeros(0, np.int64), np.zeros(0)
        cond, params = self._sensor_filter(sensors)
        rows = self._all(
            self._last_per_step_sql(cond),
            [b0_ms, step_ms, step_ms, *params, b0_ms - step_ms, end_ms],
        )
        return (
            [str(r[0]) for r in rows],
            np.array([r[1] for r in rows], dtype=np.int64),
            np.array([r[2] for r in rows], dtype=np.float64),
        )

    def step_mean(
        self, sensors: Sequence[str], b0_ms: int, step_ms: int, end_ms: int
    ) -> tuple[list[str], IntArray, FloatArray]:
        """The mean reading of each gauge in each step (as in :meth:`step_last`)."""
        if not sensors:
            return [], np.zeros(0, np.int64), np.zeros(0)
        cond, params = self._sensor_filter(sensors)
        rows = self._all(
            "SELECT sensor, (t - ? + ? - 1) / ? AS k, AVG(value) FROM readings "
            f"WHERE kind < 2 AND {cond} AND t > ? AND t <= ? GROUP BY sensor, k",
            [b0_ms, step_ms, step_ms, *params, b0_ms - step_ms, end_ms],
        )
        return (
            [str(r[0]) for r in rows],
            np.array([r[1] for r in rows], dtype=np.int64),
            np.array([r[2] for r in rows], dtype=np.float64),
        )

    def _last_per_step_sql(self, cond: str) -> str:
        # SQLite: a bare column next to MAX() comes from the row holding the maximum.
        return (
            "SELECT sensor, (t - ? + ? - 1) / ? AS k, value, MAX(t) FROM readings "
            f"WHERE kind < 2 AND {cond} AND t > ? AND t <= ? GROUP BY sensor, k"
        )

    def reading_rows(
        self, sensor: str | None, start_ms: int, end_ms: int, limit: int, *, gauge: bool = False
    ) -> list[tuple[str, int, float, int]]:
        """Up to ``limit`` readings ``(sensor, t, value, received)`` in a time range.

        ``gauge``: the sensor is a water-level or rain gauge (its index is used).
        """
        where = "t >= ? AND t <= ?"
        params: list[Any] = [int(start_ms), int(end_ms)]
        if sensor is not None:
            where, params = "sensor = ? AND " + where, [sensor, *params]
            if gauge:
                where = "kind < 2 AND " + where
        rows = self._all(
            f"SELECT sensor, t, value, received FROM readings WHERE {where} "
            "ORDER BY t, sensor LIMIT ?",
            [*params, int(limit)],
        )
        return [(str(r[0]), int(r[1]), float(r[2]), int(r[3])) for r in rows]

    def last_times(self, gauges: Sequence[str]) -> dict[str, int]:
        """Time of the newest reading of each water-level or rain gauge that has one [ms]."""
        out: dict[str, int] = {}
        for s in gauges:
            row = self._one("SELECT MAX(t) FROM readings WHERE kind < 2 AND sensor = ?", (s,))
            if row is not None and row[0] is not None:
                out[s] = int(row[0])
        return out

    def newest_since(self, since_ms: int) -> dict[str, int]:
        """Time of the newest reading of every sensor with one after ``since_ms`` [ms]."""
        rows = self._all(
            "SELECT sensor, MAX(t) FROM readings WHERE t > ? GROUP BY sensor", (int(since_ms),)
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def newest_time(self) -> int | None:
        """Time of the newest reading of any sensor [ms]."""
        row = self._one("SELECT MAX(t) FROM readings")
        return None if row is None or row[0] is None else int(row[0])

    def count_readings(self, sensor: str | None = None) -> int:
        """Number of stored readings (of one sensor, or all)."""
        if sensor is None:
            row = self._one("SELECT COUNT(*) FROM readings")
        else:
            row = self._one("SELECT COUNT(*) FROM readings WHERE sensor = ?", (sensor,))
        return int(row[0])

    # ------------------------------------------------------------------ alerts
    def record_cycle(
        self, alerts: Sequence[NewAlert], state: dict[str, str], *, created_ms: int
    ) -> list[AlertRecord]:
        """Record one issue: its messages, their outbox rows and the loop state, atomically.

        A message already recorded (same identifier, e.g. re-issued after a crash before
        this commit's acknowledgement) is not recorded twice.

        Returns
        -------
        list of AlertRecord
            The messages recorded now.
        """
        out: list[AlertRecord] = []
        with self._tx() as conn:
            for a in alerts:
                row = conn.execute(
                    self._q(
                        "INSERT INTO alerts (identifier, point, level, msg_type, sent, "
                        "issue_ms, cap_json, cap_xml, created_ms, trigger_ms) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (identifier) DO NOTHING "
                        "RETURNING seq"
                    ),
                    (
                        a.identifier,
                        a.point,
                        a.level,
                        a.msg_type,
                        a.sent,
                        a.issue_ms,
                        a.cap_json,
                        a.cap_xml,
                        created_ms,
                        a.trigger_ms,
                    ),
                ).fetchone()
                if row is None:
                    continue
                seq = int(row[0])
                conn.execute(
                    self._q(
                        "INSERT INTO outbox (alert_seq, subscriber, state, attempts, "
                        "next_attempt_ms, created_ms) SELECT ?, name, 'pending', 0, ?, ? "
                        "FROM subscribers WHERE active = 1"
                    ),
                    (seq, created_ms, created_ms),
                )
                out.append(
                    AlertRecord(
                        seq,
                        a.identifier,
                        a.point,
                        a.level,
                        a.msg_type,
                        a.sent,
                        a.issue_ms,
                        a.cap_json,
                        a.cap_xml,
                        created_ms,
                        a.trigger_ms,
                    )
                )
            for key, value in state.items():
                conn.execute(
                    self._q(
                        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                        "DO UPDATE SET value = excluded.value"
                    ),
                    (key, value),
                )
        return out

    def alerts(
        self, *, since_seq: int = 0, limit: int = 1000, active_only: bool = False
    ) -> list[AlertRecord]:
        """Alert messages after ``since_seq`` in issue order; or the active alerts only.

        An alert is active while the last message of its low point and level is not a
        Cancel; its last message (Alert or Update) is returned.
        """
        if active_only:
            rows = self._all(
                f"SELECT {', '.join('a.' + c.strip() for c in ALERT_COLUMNS.split(','))} "
                "FROM alerts a JOIN (SELECT point, level, MAX(seq) AS seq FROM alerts "
                "GROUP BY point, level) m ON a.seq = m.seq WHERE a.msg_type <> 'Cancel' "
                "AND a.seq > ? ORDER BY a.seq LIMIT ?",
                (int(since_seq), int(limit)),
            )
        else:
            rows = self._all(
                f"SELECT {ALERT_COLUMNS} FROM alerts WHERE seq > ? ORDER BY seq LIMIT ?",
                (int(since_seq), int(limit)),
            )
        return [alert_from_row(r) for r in rows]

    def alert(self, identifier: str) -> AlertRecord | None:
        """One message by its CAP identifier."""
        row = self._one(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE identifier = ?", (identifier,))
        return None if row is None else alert_from_row(row)

    def last_alert_seq(self) -> int:
        """The newest message's ``seq`` (0 if none)."""
        row = self._one("SELECT MAX(seq) FROM alerts")
        return 0 if row is None or row[0] is None else int(row[0])

    # ------------------------------------------------------------------ outbox
    def _deliveries(self, where: str, params: Sequence[Any], limit: int) -> list[Delivery]:
        cols = ", ".join("a." + c.strip() for c in ALERT_COLUMNS.split(","))
        rows = self._all(
            "SELECT o.id, o.subscriber, o.state, o.attempts, o.next_attempt_ms, "
            f"o.created_ms, o.delivered_ms, o.last_error, {cols} FROM outbox o "
            f"JOIN alerts a ON a.seq = o.alert_seq WHERE {where} ORDER BY o.id LIMIT ?",
            [*params, int(limit)],
        )
        return [
            Delivery(
                id=int(r[0]),
                subscriber=str(r[1]),
                state=str(r[2]),
                attempts=int(r[3]),
                next_attempt_ms=int(r[4]),
                created_ms=int(r[5]),
                delivered_ms=None if r[6] is None else int(r[6]),
                last_error=None if r[7] is None else str(r[7]),
                alert=alert_from_row(r[8:]),
            )
            for r in rows
        ]

    def next_deliveries(self, subscriber: str, *, limit: int = 100) -> list[Delivery]:
        """The oldest pending messages of a subscriber, in order (deliveries keep it)."""
        return self._deliveries("o.subscriber = ? AND o.state = 'pending'", (subscriber,), limit)

    def outbox(self, *, state: str | None = None, limit: int = 100) -> list[Delivery]:
        """Outbox rows (of one state), oldest first."""
        if state is None:
            return self._deliveries("1 = 1", (), limit)
        return self._deliveries("o.state = ?", (state,), limit)

    def mark_delivered(self, done: Sequence[tuple[int, int, int]]) -> None:
        """Mark deliveries done (2xx answers): ``(outbox id, attempts, at [ms])`` each."""
        if not done:
            return
        with self._tx() as conn:
            for delivery_id, attempts, at_ms in done:
                conn.execute(
                    self._q(
                        "UPDATE outbox SET state = 'delivered', attempts = ?, delivered_ms = ?, "
                        "last_error = NULL WHERE id = ?"
                    ),
                    (attempts, at_ms, delivery_id),
                )

    def mark_retry(self, delivery_id: int, *, attempts: int, next_ms: int, error: str) -> None:
        """Record a failed attempt and when to try again."""
        with self._tx() as conn:
            conn.execute(
                self._q(
                    "UPDATE outbox SET attempts = ?, next_attempt_ms = ?, last_error = ? "
                    "WHERE id = ?"
                ),
                (attempts, next_ms, error[:500], delivery_id),
            )

    def mark_failed(self, delivery_id: int, *, attempts: int, error: str) -> None:
        """Park a delivery as failed (after the give-up time; see :meth:`requeue_failed`)."""
        with self._tx() as conn:
            conn.execute(
                self._q(
                    "UPDATE outbox SET state = 'failed', attempts = ?, last_error = ? WHERE id = ?"
                ),
                (attempts, error[:500], delivery_id),
            )

    def requeue_failed(self, *, at_ms: int, subscriber: str | None = None) -> int:
        """Put failed deliveries back in the queue (due now); returns how many.

        A failed message whose alert has had a later message (same low point and level)
        delivered to the same subscriber is dropped instead: re-sent, it would arrive
        after, say, its own Cancel.
        """
        where = "state = 'failed'"
        params: list[Any] = [at_ms, at_ms]
        if subscriber is not None:
            where += " AND subscriber = ?"
            params.append(subscriber)
        superseded = (
            "EXISTS (SELECT 1 FROM alerts a JOIN alerts later ON later.point = a.point AND "
            "later.level = a.level AND later.seq > a.seq JOIN outbox d ON d.alert_seq = "
            "later.seq AND d.subscriber = outbox.subscriber AND d.state = 'delivered' "
            "WHERE a.seq = outbox.alert_seq)"
        )
        with self._tx() as conn:
            conn.execute(
                self._q(
                    "UPDATE outbox SET state = 'dropped', last_error = 'superseded: a later "
                    f"message of its alert was delivered' WHERE {where} AND {superseded}"
                ),
                params[2:],
            )
            cur = conn.execute(
                self._q(
                    "UPDATE outbox SET state = 'pending', next_attempt_ms = ?, created_ms = ? "
                    f"WHERE {where}"
                ),
                params,
            )
            return int(cur.rowcount)

    def outbox_counts(self) -> dict[str, int]:
        """Number of outbox rows by state."""
        rows = self._all("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        return {str(r[0]): int(r[1]) for r in rows}

    # ------------------------------------------------------------------ subscribers
    def upsert_subscriber(self, sub: Subscriber, *, at_ms: int) -> None:
        """Add or change a subscriber (by name); it receives messages recorded from now."""
        with self._tx() as conn:
            conn.execute(
                self._q(
                    "INSERT INTO subscribers (name, url, format, secret_env, source, active, "
                    "created_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                    "url = excluded.url, format = excluded.format, secret_env = "
                    "excluded.secret_env, source = excluded.source, active = excluded.active"
                ),
                (sub.name, sub.url, sub.format, sub.secret_env, sub.source, int(sub.active), at_ms),
            )

    def remove_subscriber(self, name: str) -> bool:
        """Deactivate a subscriber and drop its pending deliveries; False if unknown."""
        with self._tx() as conn:
            cur = conn.execute(
                self._q("UPDATE subscribers SET active = 0 WHERE name = ? AND active = 1"), (name,)
            )
            if not cur.rowcount:
                return False
            conn.execute(
                self._q(
                    "UPDATE outbox SET state = 'dropped' WHERE subscriber = ? AND state IN "
                    "('pending', 'failed')"
                ),
                (name,),
            )
        return True

    def subscribers(self, *, active_only: bool = True) -> list[Subscriber]:
        """The subscribers, by name."""
        where = "WHERE active = 1" if active_only else ""
        rows = self._all(
            f"SELECT name, url, format, secret_env, source, active FROM subscribers {where} "
            "ORDER BY name"
        )
        return [
            Subscriber(str(r[0]), str(r[1]), str(r[2]), r[3], str(r[4]), bool(r[5])) for r in rows
        ]

    # ------------------------------------------------------------------ tokens
    def put_token(
        self, name: str, sha256: str, scopes: Sequence[str], *, source: str, at_ms: int
    ) -> None:
        """Add or replace a token (by name)."""
        with self._tx() as conn:
            conn.execute(
                self._q("DELETE FROM tokens WHERE sha256 = ? AND name <> ?"), (sha256, name)
            )
            conn.execute(
                self._q(
                    "INSERT INTO tokens (name, sha256, scopes, source, created_ms, revoked_ms) "
                    "VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT (name) DO UPDATE SET sha256 = "
                    "excluded.sha256, scopes = excluded.scopes, source = excluded.source, "
                    "created_ms = excluded.created_ms, revoked_ms = NULL"
                ),
                (name, sha256, ",".join(scopes), source, at_ms),
            )

    def token_by_hash(self, sha256: str) -> TokenRecord | None:
        """The live (not revoked) token with this SHA-256."""
        row = self._one(
            "SELECT name, sha256, scopes, source, created_ms, revoked_ms FROM tokens "
            "WHERE sha256 = ? AND revoked_ms IS NULL",
            (sha256,),
        )
        return None if row is None else token_from_row(row)

    def tokens(self) -> list[TokenRecord]:
        """Every token record (revoked ones too), by name."""
        rows = self._all(
            "SELECT name, sha256, scopes, source, created_ms, revoked_ms FROM tokens ORDER BY name"
        )
        return [token_from_row(r) for r in rows]

    def revoke_token(self, name: str, *, at_ms: int) -> bool:
        """Revoke a token by name; False if there is no live token of that name."""
        with self._tx() as conn:
            cur = conn.execute(
                self._q("UPDATE tokens SET revoked_ms = ? WHERE name = ? AND revoked_ms IS NULL"),
                (at_ms, name),
            )
            return bool(cur.rowcount)

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str) -> str | None:
        """A stored state value."""
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Store a state value."""
        with self._tx() as conn:
            conn.execute(
                self._q(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET value = excluded.value"
                ),
                (key, value),
            )
