"""FastAPI dependencies of the live API: the running service and the token checks.

The service lives on the application (``app.state.service``, set by
:func:`twin.live.app.create_app`); handlers get it as a :data:`ServiceDep` parameter.
A route that needs a scope lists :data:`INGEST`, :data:`READ` or :data:`ADMIN` in its
``dependencies``.
"""

from __future__ import annotations

import asyncio
import math
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from twin.live.auth import has_scope
from twin.live.ingest import parse_time_ms
from twin.live.records import TokenRecord
from twin.live.service import LiveService

__all__ = [
    "ADMIN",
    "INGEST",
    "READ",
    "RequireScope",
    "ServiceDep",
    "get_service",
    "limited_body",
    "time_param",
]

_BEARER = {"WWW-Authenticate": 'Bearer realm="twin-live"'}


def get_service(request: Request) -> LiveService:
    """The service of the application that serves ``request``."""
    service: LiveService = request.app.state.service
    return service


#: A handler parameter annotated with this receives the running :class:`LiveService`.
ServiceDep = Annotated[LiveService, Depends(get_service)]


class RequireScope:
    """A dependency that checks the request's bearer token for a scope.

    Parameters
    ----------
    scope
        ``"ingest"``, ``"read"`` or ``"admin"`` (admin passes every check).
    """

    def __init__(self, scope: str) -> None:
        self.scope = scope

    async def __call__(self, request: Request) -> TokenRecord:
        """The token record; 401 without a known token, 403 without the scope.

        429 (with ``Retry-After``) while the client's address is held back for sending
        too many wrong tokens (see :class:`twin.live.auth.TokenGate`).
        """
        service = get_service(request)
        gate = service.tokens
        assert gate is not None
        address = request.client.host if request.client is not None else "unknown"
        wait = gate.retry_after(address)
        if wait is not None:
            service.metrics.auth_failures.labels("429").inc()
            seconds = max(1, math.ceil(wait))
            raise HTTPException(
                429,
                f"too many wrong API tokens from {address} ({gate.limit} in "
                f"{gate.window_s:g} s, server.bad_token_limit); retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )
        header = request.headers.get("authorization")
        if not header:
            service.metrics.auth_failures.labels("401").inc()
            raise HTTPException(
                401, "missing API token; send Authorization: Bearer <token>", headers=_BEARER
            )
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            service.metrics.auth_failures.labels("401").inc()
            raise HTTPException(
                401,
                "use Authorization: Bearer <token> (another scheme was sent)",
                headers=_BEARER,
            )
        rec = await asyncio.to_thread(gate.lookup, token)
        if rec is None:
            gate.note_failure(address)
            service.metrics.auth_failures.labels("401").inc()
            raise HTTPException(
                401,
                "invalid or revoked API token; mint one with `twin live token create`",
                headers=_BEARER,
            )
        if not has_scope(rec.scopes, self.scope):
            service.metrics.auth_failures.labels("403").inc()
            raise HTTPException(
                403,
                f"token {rec.name!r} has scope(s) {', '.join(rec.scopes)}; this needs "
                f"{self.scope!r} (or admin)",
            )
        return rec


#: Route dependencies: a token with the ``ingest``, ``read`` or ``admin`` scope.
INGEST = Depends(RequireScope("ingest"))
READ = Depends(RequireScope("read"))
ADMIN = Depends(RequireScope("admin"))


def time_param(name: str, value: str | None, default: int) -> int:
    """A time query parameter [ms since the epoch]; 400 when it cannot be read.

    Parameters
    ----------
    name
        The parameter's name (for the message).
    value
        ISO 8601 with an offset, or epoch seconds; None for ``default``.
    default
        The time when the parameter is absent [ms].
    """
    if value is None:
        return default
    try:
        return parse_time_ms(value)
    except ValueError as exc:
        raise HTTPException(400, f"{name}: {exc}") from None


async def limited_body(request: Request, service: LiveService, what: str) -> bytes:
    """The request body, or 413 when it is larger than ``server.max_body_mb``.

    Parameters
    ----------
    request
        The request.
    service
        The service (its config and metrics).
    what
        What to split or shrink, for the message (``"the batch"``).
    """
    cfg = service.config
    max_body = round(cfg.server.max_body_mb * 1024 * 1024)
    length = request.headers.get("content-length")
    too_big = f"the body is larger than {cfg.server.max_body_mb:g} MiB (server.max_body_mb)"
    if length is not None and length.isdigit() and int(length) > max_body:
        service.metrics.batch_errors.labels("413").inc()
        raise HTTPException(413, f"{too_big}; split {what}")
    body = await request.body()
    if len(body) > max_body:
        service.metrics.batch_errors.labels("413").inc()
        raise HTTPException(413, f"{too_big}; split {what}")
    return body
