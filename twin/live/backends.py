"""Open the store a URL names: SQLite (embedded) or PostgreSQL."""

from __future__ import annotations

from twin.live.errors import StoreError
from twin.live.postgres import PostgresStore
from twin.live.sqlite import SQLiteStore
from twin.live.store import Store

__all__ = ["open_store"]


def open_store(url: str, *, synchronous: str = "full") -> Store:
    """Open (and create if needed) the store of a URL.

    Parameters
    ----------
    url
        ``sqlite:///PATH`` (relative to the working directory; ``sqlite:////abs/path``
        for an absolute one) or ``postgresql://USER[:PASSWORD]@HOST:PORT/DB``.
    synchronous
        SQLite only: ``"full"`` or ``"normal"``.

    Returns
    -------
    Store
        The open store, its tables created and its schema version checked.

    Raises
    ------
    StoreError
        An unknown scheme, or a store that cannot be opened.
    """
    if url.startswith("sqlite:///"):
        store: Store = SQLiteStore(url.removeprefix("sqlite:///"), synchronous=synchronous)
    elif url.startswith(("postgresql://", "postgres://")):
        store = PostgresStore(url)
    else:
        raise StoreError(
            f"store URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB."
        )
    return store.init()
