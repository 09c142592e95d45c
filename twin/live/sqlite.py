"""The embedded SQLite back-end of the live store (one file, WAL mode)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from twin.live.errors import StoreError
from twin.live.ingest import ParsedBatch
from twin.live.records import InsertResult
from twin.live.schema import DDL
from twin.live.store import Store

__all__ = ["SQLiteStore"]


class SQLiteStore(Store):
    """The embedded store: one SQLite file in WAL mode.

    Parameters
    ----------
    path
        The database file (its folder is created).
    synchronous
        ``"full"`` (default): every commit reaches the disk before the batch is
        acknowledged; ``"normal"``: it survives a crash of the process, not of the
        machine.
    """

    backend = "sqlite"

    def __init__(self, path: str | Path, *, synchronous: str = "full") -> None:
        self.path = Path(path)
        super().__init__(f"sqlite:///{self.path}")
        if synchronous not in ("full", "normal"):
            raise StoreError(f"synchronous {synchronous!r}: use 'full' or 'normal'.")
        self.synchronous = synchronous
        if sqlite3.sqlite_version_info < (3, 35, 0):
            raise StoreError(
                f"SQLite {sqlite3.sqlite_version} is too old (RETURNING needs 3.35); "
                "use a newer Python or PostgreSQL."
            )

    def _connect(self) -> Any:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous.upper()}")
            conn.execute("PRAGMA busy_timeout=30000")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open the SQLite store ({exc}).") from None
        return conn

    def _ddl(self) -> str:
        return DDL.format(
            BIGINT="INTEGER",
            FLOAT="REAL",
            SERIAL="INTEGER PRIMARY KEY AUTOINCREMENT",
            BLOB="BLOB",
            NOROWID=" WITHOUT ROWID",
        )

    def _outage_errors(self) -> tuple[type[BaseException], ...]:
        # Locked past the busy timeout, a full or failing disk, an unreadable file.
        return (sqlite3.OperationalError,)

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock, self._guard():
            conn = self._ensure()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: cannot start a transaction ({exc}).") from None
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            else:
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise StoreError(f"{self.path}: commit failed ({exc}).") from None

    def _sensor_filter(self, sensors: Sequence[str]) -> tuple[str, list[Any]]:
        return f"sensor IN ({', '.join('?' * len(sensors))})", list(sensors)

    def insert_readings(self, batch: ParsedBatch, *, received_ms: int) -> InsertResult:
        """Store the good rows of a batch in one transaction (idempotent by key)."""
        n = len(batch)
        if n == 0:
            return InsertResult(0, 0, [])
        rows = zip(
            batch.t_ms.tolist(),
            batch.sensor,
            batch.value.tolist(),
            [received_ms] * n,
            batch.kind.tolist(),
            strict=True,
        )
        conflicts: list[tuple[int, float]] = []
        with self._tx() as conn:
            cur = conn.executemany(
                "INSERT INTO readings (t, sensor, value, received, kind) VALUES "
                "(?, ?, ?, ?, ?) ON CONFLICT (t, sensor) DO NOTHING",
                rows,
            )
            inserted = int(cur.rowcount)
            if inserted < n:
                values = batch.value.tolist()
                for i, (s, t) in enumerate(zip(batch.sensor, batch.t_ms.tolist(), strict=True)):
                    stored = conn.execute(
                        "SELECT value FROM readings WHERE t = ? AND sensor = ?", (t, s)
                    ).fetchone()[0]
                    if stored != values[i]:
                        conflicts.append((i, float(stored)))
        return InsertResult(inserted, n - inserted - len(conflicts), conflicts)
