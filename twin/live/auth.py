"""API tokens: minting, hashing, scopes and a short-lived lookup cache.

A token is a random string (``twl_`` + 43 URL-safe characters, 256 bits); the store
keeps only its SHA-256, so a leaked database leaks no token. Requests send it as
``Authorization: Bearer <token>``. Scopes: ``ingest`` (post readings), ``read``
(alerts, forecasts, readings, the SSE stream) and ``admin`` (tokens, subscribers, the
outbox), which implies the other two. A missing or unknown token is answered with 401,
a token without the needed scope with 403.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from collections.abc import Sequence

from twin.live.config import SCOPES, LiveConfig
from twin.live.errors import LiveError
from twin.live.records import TokenRecord
from twin.live.store import Store

__all__ = [
    "TOKEN_PREFIX",
    "TokenCache",
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


class TokenCache:
    """Token lookups with a short memory (revocations take effect within ``ttl_s``).

    Parameters
    ----------
    store
        Where tokens are kept.
    ttl_s
        How long a lookup (found or not) is remembered [s].
    """

    def __init__(self, store: Store, *, ttl_s: float = 10.0) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[TokenRecord | None, float]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> tuple[bool, TokenRecord | None]:
        """``(known, record)`` from memory only (no store access)."""
        digest = token_hash(token)
        with self._lock:
            hit = self._cache.get(digest)
        if hit is None or hit[1] < time.monotonic():
            return False, None
        return True, hit[0]

    def lookup(self, token: str) -> TokenRecord | None:
        """The live token record of ``token``, or None (blocking: may query the store)."""
        known, rec = self.cached(token)
        if known:
            return rec
        digest = token_hash(token)
        rec = self.store.token_by_hash(digest)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (rec, time.monotonic() + self.ttl_s)
        return rec

    def invalidate(self) -> None:
        """Forget every lookup (after a token is added or revoked here)."""
        with self._lock:
            self._cache.clear()
