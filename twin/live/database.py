"""One SQL database behind a lock: connection, transactions, placeholders, schema.

:class:`Database` is the plumbing under :class:`twin.live.store.Store`: a back-end
(:mod:`twin.live.sqlite`, :mod:`twin.live.postgres`) says how to connect, how to run a
transaction, which column types to use and which of its driver's errors mean the
database cannot be used now; queries are written once with ``?`` placeholders and
translated for the back-end. Such an error is raised as
:class:`~twin.live.errors.StoreError` (the HTTP API answers it with 503 and
``Retry-After``), and the next call opens a new connection.
"""

from __future__ import annotations

import abc
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Self

from twin.live.errors import StoreError
from twin.live.schema import SCHEMA_VERSION

__all__ = ["Database"]

logger = logging.getLogger(__name__)


class Database(abc.ABC):
    """A connection to the store's database, shared by threads behind a lock.

    Parameters
    ----------
    url
        The database URL (may hold a password; :meth:`describe` hides it).
    """

    backend: ClassVar[str]
    _placeholder: ClassVar[str] = "?"

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.RLock()
        self._conn: Any = None

    @abc.abstractmethod
    def _connect(self) -> Any:
        """Open a connection (autocommit; transactions are explicit)."""

    @abc.abstractmethod
    def _ddl(self) -> str:
        """The schema for this back-end."""

    @abc.abstractmethod
    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """A transaction on the (locked) connection; yields the connection."""

    def _outage_errors(self) -> tuple[type[BaseException], ...]:
        """The driver's exceptions that mean the database cannot be used now."""
        return ()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn the driver's outage errors into :class:`StoreError` (and reconnect later)."""
        try:
            yield
        except StoreError:
            raise
        except self._outage_errors() as exc:
            self._drop()
            raise StoreError(f"{self.describe()}: {str(exc).strip()}") from None

    def _drop(self) -> None:
        """Forget the connection (closing it if possible); the next call reconnects."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    conn.close()
                except Exception:  # a broken connection may fail to close; it is gone anyway
                    logger.debug("closing a broken connection failed", exc_info=True)

    def _q(self, sql: str) -> str:
        return sql if self._placeholder == "?" else sql.replace("?", self._placeholder)

    def _ensure(self) -> Any:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock, self._guard():
            return self._ensure().execute(self._q(sql), params)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock, self._guard():
            return list(self._ensure().execute(self._q(sql), params).fetchall())

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock, self._guard():
            return self._ensure().execute(self._q(sql), params).fetchone()

    def init(self) -> Self:
        """Create the tables if needed and check the schema version; returns ``self``."""
        with self._tx() as conn:
            for stmt in self._ddl().split(";"):
                if stmt.strip():
                    conn.execute(stmt)
            row = conn.execute(
                self._q("SELECT value FROM meta WHERE key = ?"), ("schema_version",)
            ).fetchone()
            if row is None:
                conn.execute(
                    self._q("INSERT INTO meta (key, value) VALUES (?, ?)"),
                    ("schema_version", str(SCHEMA_VERSION)),
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.describe()}: schema version {row[0]} is newer than this twin "
                    f"({SCHEMA_VERSION}); update the twin or use another store."
                )
        return self

    def close(self) -> None:
        """Close the connection (a later call reopens it)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def describe(self) -> str:
        """The store's URL without a password."""
        if "@" in self.url and "://" in self.url:
            scheme, rest = self.url.split("://", 1)
            cred, host = rest.rsplit("@", 1)
            return f"{scheme}://{cred.split(':', 1)[0]}@{host}"
        return self.url

    def ping(self) -> bool:
        """Whether the store answers a trivial query."""
        try:
            self._one("SELECT 1")
        except Exception as exc:  # any failure means "not healthy"
            logger.warning("store ping failed: %s", exc)
            self._drop()
            return False
        return True
