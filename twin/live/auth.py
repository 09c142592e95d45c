"""API tokens: minting, hashing, scopes, and the check of each request's token.

A token is a random string (``twl_`` + 43 URL-safe characters, 256 bits); the store
keeps only its SHA-256, so a leaked database leaks no token. Requests send it as
``Authorization: Bearer <token>``. Scopes: ``ingest`` (post readings), ``read``
(alerts, forecasts, readings, the SSE stream) and ``admin`` (tokens, subscribers, the
outbox), which implies the other two. A missing or unknown token is answered with 401,
a token without the needed scope with 403. Tokens are looked up on every request (a
revocation takes effect on the next one), and an address that keeps sending wrong
tokens is refused with 429 for a while (:class:`TokenGate`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from twin.live.config import SCOPES, LiveConfig
from twin.live.errors import LiveError
from twin.live.records import TokenRecord
from twin.live.store import Store

__all__ = [
    "TOKEN_PREFIX",
    "TokenGate",
    "check_scopes",
    "has_scope",
    "mint_token",
    "sync_config_tokens",
    "token_hash",
]

TOKEN_PREFIX = "twl_"


def mint_token() -> str:
    """A new random API token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The hex SHA-256 of a token (what the store and the config keep)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_scopes(scopes: Sequence[str]) -> tuple[str, ...]:
    """Validated scopes, in canonical order.

    Raises
    ------
    LiveError
        No scope, or an unknown one.
    """
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise LiveError(
            f"scopes {list(scopes)}: give one or more of {', '.join(SCOPES)} (admin implies all)."
        )
    return tuple(s for s in SCOPES if s in scopes)


def has_scope(scopes: Sequence[str], need: str) -> bool:
    """Whether a token with ``scopes`` may do what needs ``need``."""
    return need in scopes or "admin" in scopes


def sync_config_tokens(store: Store, config: LiveConfig, *, at_ms: int) -> int:
    """Write the config's tokens to the store (by name); returns how many.

    Tokens given by ``env`` are read from the environment now.
    """
    for tok in config.tokens:
        if tok.sha256 is not None:
            digest = tok.sha256
        else:
            value = os.environ.get(tok.env or "")
            if not value:
                raise LiveError(f"token {tok.name}: environment variable {tok.env} is not set.")
            digest = token_hash(value)
        store.put_token(tok.name, digest, check_scopes(tok.scopes), source="config", at_ms=at_ms)
    return len(config.tokens)


class TokenGate:
    """Token checks: a store lookup per request and a limit on wrong tokens per address.

    Nothing is remembered about tokens: every request looks its token up in the store
    (one indexed query), so a token minted or revoked by any process (the CLI, another
    server on the same store) counts from the next request. A client address that sent
    ``limit`` wrong tokens within the last ``window_s`` seconds is refused (429 with
    ``Retry-After``) until the oldest of them leaves the window, whatever token it sends.

    Parameters
    ----------
    store
        Where tokens are kept.
    limit
        Wrong tokens an address may send per window.
    window_s
        The window [s].
    clock
        Monotonic time [s] (tests pass their own).
    """

    #: Addresses tracked at most; beyond it, the least recent ones are forgotten.
    MAX_ADDRESSES = 10_000

    def __init__(
        self,
        store: Store,
        *,
        limit: int = 20,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def lookup(self, token: str) -> TokenRecord | None:
        """The live token record of ``token``, or None (blocking: queries the store)."""
        return self.store.token_by_hash(token_hash(token))

    def _recent(self, address: str, now: float) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times

    def retry_after(self, address: str) -> float | None:
        """Seconds until ``address`` may send a token again; None when it may now."""
        now = self.clock()
        with self._lock:
            times = self._recent(address, now)
            if times is None or len(times) < self.limit:
                return None
            return max(0.0, times[-self.limit] + self.window_s - now)

    def note_failure(self, address: str) -> None:
        """Count a wrong (unknown or revoked) token sent from ``address``."""
        now = self.clock()
        with self._lock:
            times = self._recent(address, now)
            if times is None:
                if len(self._failures) >= self.MAX_ADDRESSES:
                    for old in list(self._failures)[: self.MAX_ADDRESSES // 10]:
                        del self._failures[old]
                times = self._failures[address] = deque(maxlen=self.limit)
            else:  # most recent last: the dict's order is the eviction order
                self._failures[address] = self._failures.pop(address)
            times.append(now)
