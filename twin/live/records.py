"""Records of the live store: what it returns and what it is given."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AlertRecord",
    "Delivery",
    "InsertResult",
    "NewAlert",
    "Subscriber",
    "TokenRecord",
    "alert_from_row",
    "now_ms",
    "token_from_row",
]


def now_ms() -> int:
    """The wall clock [ms since 1970-01-01 UTC]."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class InsertResult:
    """What storing a batch did.

    Attributes
    ----------
    inserted
        New readings stored.
    duplicates
        Rows whose (sensor, time) was already stored with the same value.
    conflicts
        ``(position among the batch's good rows, stored value)`` of rows whose
        (sensor, time) is stored with another value (not stored; reported).
    """

    inserted: int
    duplicates: int
    conflicts: list[tuple[int, float]]


@dataclass(frozen=True)
class NewAlert:
    """An alert message to record (both CAP renderings and what triggered it)."""

    identifier: str
    point: str
    level: str
    msg_type: str
    sent: str
    issue_ms: int
    cap_json: str
    cap_xml: str
    trigger_ms: int


@dataclass(frozen=True)
class AlertRecord:
    """A recorded alert message; ``seq`` orders all messages (and the SSE ids)."""

    seq: int
    identifier: str
    point: str
    level: str
    msg_type: str
    sent: str
    issue_ms: int
    cap_json: str
    cap_xml: str
    created_ms: int
    trigger_ms: int


@dataclass(frozen=True)
class Subscriber:
    """A webhook subscriber (``format``: ``cap-xml`` or ``cap-json``)."""

    name: str
    url: str
    format: str
    secret_env: str | None = None
    source: str = "api"
    active: bool = True


@dataclass(frozen=True)
class Delivery:
    """One outbox row with the message it carries."""

    id: int
    subscriber: str
    state: str
    attempts: int
    next_attempt_ms: int
    created_ms: int
    delivered_ms: int | None
    last_error: str | None
    alert: AlertRecord


@dataclass(frozen=True)
class TokenRecord:
    """An API token as stored: its SHA-256 and scopes (never the token itself)."""

    name: str
    sha256: str
    scopes: tuple[str, ...]
    source: str
    created_ms: int
    revoked_ms: int | None


def alert_from_row(row: Sequence[Any]) -> AlertRecord:
    """An :class:`AlertRecord` from a row of the ``alerts`` columns, in table order."""
    return AlertRecord(
        seq=int(row[0]),
        identifier=str(row[1]),
        point=str(row[2]),
        level=str(row[3]),
        msg_type=str(row[4]),
        sent=str(row[5]),
        issue_ms=int(row[6]),
        cap_json=str(row[7]),
        cap_xml=str(row[8]),
        created_ms=int(row[9]),
        trigger_ms=int(row[10]),
    )


def token_from_row(row: Sequence[Any]) -> TokenRecord:
    """A :class:`TokenRecord` from a row of the ``tokens`` columns, in table order."""
    return TokenRecord(
        name=str(row[0]),
        sha256=str(row[1]),
        scopes=tuple(str(row[2]).split(",")),
        source=str(row[3]),
        created_ms=int(row[4]),
        revoked_ms=None if row[5] is None else int(row[5]),
    )
