"""Administration (``admin`` scope): webhook subscriptions, API tokens, the outbox."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from twin.live.auth import check_scopes, mint_token, token_hash
from twin.live.config import WEBHOOK_SECRET_PREFIX, check_secret_env, check_webhook_url
from twin.live.errors import LiveError
from twin.live.ingest import iso_ms
from twin.live.records import Subscriber, now_ms
from twin.live.routes.deps import ADMIN, ServiceDep

__all__ = ["router"]

router = APIRouter(dependencies=[ADMIN])


class _SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
    url: str = Field(pattern=r"^https?://", max_length=2000)
    format: Literal["cap-xml", "cap-json"] = "cap-xml"
    secret_env: str | None = Field(
        default=None,
        description=f"environment variable with the signing key, named {WEBHOOK_SECRET_PREFIX}…",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_webhook_url(v)

    @field_validator("secret_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        return None if v is None else check_secret_env(v)


class _TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
    scopes: list[Literal["ingest", "read", "admin"]] = Field(min_length=1)


# ---------------------------------------------------------------------- subscriptions
@router.get("/subscriptions")
async def get_subscriptions(service: ServiceDep) -> dict[str, Any]:
    """Webhook subscribers (active)."""
    subs = await asyncio.to_thread(service.store.subscribers)
    return {"subscriptions": [s.__dict__ for s in subs]}


@router.post("/subscriptions", status_code=201)
async def post_subscription(body: _SubscriptionIn, service: ServiceDep) -> dict[str, Any]:
    """Add or change a webhook subscriber; it receives messages recorded from now."""
    sub = Subscriber(body.name, body.url, body.format, body.secret_env, "api")
    await asyncio.to_thread(service.store.upsert_subscriber, sub, at_ms=now_ms())
    service.notify_subscribers_changed()
    return sub.__dict__


@router.delete("/subscriptions/{name}")
async def delete_subscription(name: str, service: ServiceDep) -> dict[str, Any]:
    """Remove a subscriber; its undelivered messages are dropped."""
    if not await asyncio.to_thread(service.store.remove_subscriber, name):
        raise HTTPException(404, f"no active subscriber {name!r}")
    service.notify_subscribers_changed()
    return {"removed": name}


# ---------------------------------------------------------------------- tokens
@router.get("/tokens")
async def get_tokens(service: ServiceDep) -> dict[str, Any]:
    """Token names, scopes and state (never the tokens)."""
    recs = await asyncio.to_thread(service.store.tokens)
    zone = service.config.zone
    return {
        "tokens": [
            {
                "name": r.name,
                "scopes": list(r.scopes),
                "source": r.source,
                "created": iso_ms(r.created_ms, zone),
                "revoked": None if r.revoked_ms is None else iso_ms(r.revoked_ms, zone),
            }
            for r in recs
        ]
    }


@router.post("/tokens", status_code=201)
async def post_token(body: _TokenIn, service: ServiceDep) -> dict[str, Any]:
    """Mint a token; the response is the only place it is ever shown."""
    try:
        scopes = check_scopes(body.scopes)
    except LiveError as exc:
        raise HTTPException(422, str(exc)) from None
    token = mint_token()
    await asyncio.to_thread(
        service.store.put_token,
        body.name,
        token_hash(token),
        scopes,
        source="api",
        at_ms=now_ms(),
    )
    return {"name": body.name, "scopes": list(scopes), "token": token}


@router.delete("/tokens/{name}")
async def delete_token(name: str, service: ServiceDep) -> dict[str, Any]:
    """Revoke a token."""
    if not await asyncio.to_thread(service.store.revoke_token, name, at_ms=now_ms()):
        raise HTTPException(404, f"no live token {name!r}")
    return {"revoked": name}


# ---------------------------------------------------------------------- outbox
def _redacted(error: str | None) -> str | None:
    """A delivery error without a receiver's answer (rows written by older versions)."""
    return None if error is None else re.sub(r"(HTTP \d{3}):.*", r"\1", error, flags=re.S)


@router.get("/outbox")
async def get_outbox(
    service: ServiceDep,
    state: Literal["pending", "delivered", "failed", "dropped"] | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> dict[str, Any]:
    """Outbox rows (oldest first) and the count of each state."""
    rows = await asyncio.to_thread(service.store.outbox, state=state, limit=limit)
    counts = await asyncio.to_thread(service.store.outbox_counts)
    zone = service.config.zone
    return {
        "counts": counts,
        "deliveries": [
            {
                "id": d.id,
                "subscriber": d.subscriber,
                "identifier": d.alert.identifier,
                "state": d.state,
                "attempts": d.attempts,
                "next_attempt": iso_ms(d.next_attempt_ms, zone),
                "delivered": None if d.delivered_ms is None else iso_ms(d.delivered_ms, zone),
                "last_error": _redacted(d.last_error),
            }
            for d in rows
        ],
    }


@router.post("/outbox/retry")
async def retry_outbox(service: ServiceDep, subscriber: str | None = None) -> dict[str, Any]:
    """Put failed deliveries back in the queue."""
    n = await asyncio.to_thread(service.store.requeue_failed, at_ms=now_ms(), subscriber=subscriber)
    service.notify_subscribers_changed()
    return {"requeued": n}
