"""The HTTP API of the live service (FastAPI).

=========================  =======  ==========================================================
endpoint                   scope    what
=========================  =======  ==========================================================
``POST /readings``         ingest   a batch of readings, JSON or CSV; per-row report
``GET /readings``          read     stored readings (``sensor``, ``start``, ``end``, ``limit``)
``GET /sensors``           read     the sensor registry with each sensor's newest reading
``GET /forecasts``         read     the latest forecast of every low point (quantiles, p)
``GET /alerts``            read     active alerts or all messages: CAP JSON or an Atom feed
``GET /alerts/stream``     read     server-sent events, one per new message (``Last-Event-ID``)
``GET /alerts/{id}``       read     one message as CAP 1.2 XML (or ``format=json``)
``/subscriptions``         admin    GET, POST (add or change), ``DELETE /subscriptions/{name}``
``/tokens``                admin    GET, POST (mint; the token is shown once), DELETE
``GET /outbox``            admin    delivery state; ``POST /outbox/retry`` re-queues failures
``GET /health``            none     liveness and readiness (503 when the store is down)
``GET /metrics``           none     Prometheus metrics (or ``read``: ``server.public_metrics``)
=========================  =======  ==========================================================

Tokens go in ``Authorization: Bearer <token>``; a missing or unknown token gets 401, a
token without the scope 403 (see :mod:`twin.live.auth`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from twin import __version__
from twin.forecast.data import STEP_S
from twin.live.auth import check_scopes, has_scope, mint_token, token_hash
from twin.live.errors import LiveError
from twin.live.feed import alert_summary, atom_feed, json_feed, sse_event
from twin.live.ingest import BatchError, iso_ms, parse_time_ms
from twin.live.service import LiveService
from twin.live.store import Subscriber, TokenRecord, now_ms

__all__ = ["create_app"]

_BEARER = {"WWW-Authenticate": 'Bearer realm="twin-live"'}


class _SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
    url: str = Field(pattern=r"^https?://")
    format: Literal["cap-xml", "cap-json"] = "cap-xml"
    secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class _TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
    scopes: list[Literal["ingest", "read", "admin"]] = Field(min_length=1)


def _time_param(name: str, value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return parse_time_ms(value)
    except ValueError as exc:
        raise HTTPException(400, f"{name}: {exc}") from None


def create_app(service: LiveService) -> FastAPI:
    """The FastAPI application of an opened :class:`LiveService`.

    Parameters
    ----------
    service
        The service, already opened (:meth:`LiveService.open`); the app's lifespan
        starts and stops its background tasks.

    Returns
    -------
    fastapi.FastAPI
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="city-twin live service",
        version=__version__,
        summary="Ingest sensor readings; forecast waterlogging; push CAP 1.2 alerts.",
        lifespan=lifespan,
    )
    cfg = service.config
    max_body = round(cfg.server.max_body_mb * 1024 * 1024)

    def require(scope: str) -> Callable[[Request], Awaitable[TokenRecord]]:
        async def check(request: Request) -> TokenRecord:
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
            cache = service.tokens
            assert cache is not None
            known, rec = cache.cached(token)
            if not known:
                rec = await asyncio.to_thread(cache.lookup, token)
            if rec is None:
                service.metrics.auth_failures.labels("401").inc()
                raise HTTPException(
                    401,
                    "invalid or revoked API token; mint one with `twin live token create`",
                    headers=_BEARER,
                )
            if not has_scope(rec.scopes, scope):
                service.metrics.auth_failures.labels("403").inc()
                raise HTTPException(
                    403,
                    f"token {rec.name!r} has scope(s) {', '.join(rec.scopes)}; this needs "
                    f"{scope!r} (or admin)",
                )
            return rec

        return check

    ingest_auth = Depends(require("ingest"))
    read_auth = Depends(require("read"))
    admin_auth = Depends(require("admin"))

    # ------------------------------------------------------------------ ingest
    @app.post("/readings", dependencies=[ingest_auth])
    async def post_readings(request: Request) -> JSONResponse:
        """Validate and store a batch of readings (JSON or CSV); report every bad row."""
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body:
            service.metrics.batch_errors.labels("413").inc()
            raise HTTPException(
                413, f"the body is larger than {cfg.server.max_body_mb:g} MiB; split the batch"
            )
        body = await request.body()
        if len(body) > max_body:
            raise HTTPException(413, f"the body is larger than {cfg.server.max_body_mb:g} MiB")
        ctype = request.headers.get("content-type", "application/json")
        try:
            result, batch = await asyncio.to_thread(service.ingest, body, ctype)
        except BatchError as exc:
            service.metrics.batch_errors.labels(str(exc.status)).inc()
            raise HTTPException(exc.status, str(exc)) from None
        service.note_batch(batch)
        return JSONResponse(result)

    @app.get("/readings", dependencies=[read_auth])
    async def get_readings(
        sensor: str | None = None,
        start: str | None = None,
        end: str | None = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> dict[str, Any]:
        """Stored readings in a time range (ISO 8601 with offset, or epoch seconds)."""
        t1 = _time_param("end", end, now_ms() + 86_400_000)
        t0 = _time_param("start", start, 0)
        reg = service.engine.registry
        pos = reg.index.get(sensor) if sensor is not None else None
        gauge = pos is not None and int(reg.kinds[pos]) < 2
        rows = await asyncio.to_thread(
            lambda: service.store.reading_rows(sensor, t0, t1, limit, gauge=gauge)
        )
        zone = cfg.zone
        return {
            "count": len(rows),
            "readings": [
                {"sensor": s, "time": iso_ms(t, zone), "value": v, "received": iso_ms(r, zone)}
                for s, t, v, r in rows
            ],
        }

    @app.get("/sensors", dependencies=[read_auth])
    async def get_sensors() -> dict[str, Any]:
        """The sensor registry, with the time of each sensor's newest reading.

        Newest readings are those heard since the day before the service started.
        """
        reg = service.engine.registry
        last = dict(service.newest)
        zone = cfg.zone
        return {
            "count": len(reg),
            "sensors": [
                {**d, "last_reading": iso_ms(last[d["id"]], zone) if d["id"] in last else None}
                for d in reg.describe()
            ],
        }

    @app.get("/forecasts", dependencies=[read_auth])
    async def get_forecasts() -> dict[str, Any]:
        """The latest forecast of every low point."""
        latest = service.engine.latest
        if latest is None:
            raise HTTPException(404, "no forecast yet: the service issues one when readings arrive")
        return latest

    # ------------------------------------------------------------------ alerts
    @app.get("/alerts", dependencies=[read_auth])
    async def get_alerts(
        request: Request,
        state: Literal["active", "all"] = "active",
        format: Literal["json", "atom"] = "json",
        since: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> Response:
        """Active alerts (the last message of each open alert) or every message."""
        records = await asyncio.to_thread(
            service.store.alerts, since_seq=since, limit=limit, active_only=state == "active"
        )
        if format == "atom":
            text = atom_feed(
                records,
                title=f"{cfg.name}: waterlogging alerts ({state})",
                feed_id=f"urn:twin:live:{cfg.name}:{state}",
                self_url=str(request.url),
                updated=records[-1].sent if records else iso_ms(now_ms(), cfg.zone),
            )
            return Response(text, media_type="application/atom+xml")
        return JSONResponse(json_feed(records, state=state))

    @app.get("/alerts/stream", dependencies=[read_auth])
    async def stream_alerts(
        request: Request,
        since: Annotated[int | None, Query(ge=0)] = None,
        format: Literal["json", "xml"] = "json",
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        """Server-sent events: one ``alert`` event per new message, id = its ``seq``."""
        if since is None and last_event_id is not None and last_event_id.strip().isdigit():
            since = int(last_event_id)
        start = (
            since if since is not None else await asyncio.to_thread(service.store.last_alert_seq)
        )
        signal = service.alerts_signal
        assert signal is not None

        async def events() -> AsyncIterator[str]:
            service.metrics.sse_clients.inc()
            try:
                yield "retry: 2000\n: connected\n\n"
                last = start
                while True:
                    seen = signal.version
                    records = await asyncio.to_thread(
                        service.store.alerts, since_seq=last, limit=500
                    )
                    for r in records:
                        if format == "xml":
                            data = r.cap_xml
                        else:
                            data = json.dumps(
                                {**alert_summary(r), "cap": json.loads(r.cap_json)},
                                ensure_ascii=False,
                            )
                        yield sse_event(r.seq, "alert", data)
                        last = r.seq
                    if records:
                        continue
                    if await request.is_disconnected():
                        return
                    if not await signal.wait(timeout=15.0, seen=seen):
                        yield ": keep-alive\n\n"
            finally:
                service.metrics.sse_clients.dec()

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get("/alerts/{identifier}", dependencies=[read_auth])
    async def get_alert(identifier: str, format: Literal["xml", "json"] = "xml") -> Response:
        """One alert message as CAP 1.2 XML (default) or JSON."""
        rec = await asyncio.to_thread(service.store.alert, identifier)
        if rec is None:
            raise HTTPException(404, f"no alert message {identifier!r}; list them at /alerts")
        if format == "json":
            return Response(rec.cap_json, media_type="application/json")
        return Response(rec.cap_xml, media_type="application/cap+xml")

    # ------------------------------------------------------------------ admin
    @app.get("/subscriptions", dependencies=[admin_auth])
    async def get_subscriptions() -> dict[str, Any]:
        """Webhook subscribers (active)."""
        subs = await asyncio.to_thread(service.store.subscribers)
        return {"subscriptions": [s.__dict__ for s in subs]}

    @app.post("/subscriptions", dependencies=[admin_auth], status_code=201)
    async def post_subscription(body: _SubscriptionIn) -> dict[str, Any]:
        """Add or change a webhook subscriber; it receives messages recorded from now."""
        sub = Subscriber(body.name, body.url, body.format, body.secret_env, "api")
        await asyncio.to_thread(service.store.upsert_subscriber, sub, at_ms=now_ms())
        service.notify_subscribers_changed()
        return sub.__dict__

    @app.delete("/subscriptions/{name}", dependencies=[admin_auth])
    async def delete_subscription(name: str) -> dict[str, Any]:
        """Remove a subscriber; its undelivered messages are dropped."""
        if not await asyncio.to_thread(service.store.remove_subscriber, name):
            raise HTTPException(404, f"no active subscriber {name!r}")
        service.notify_subscribers_changed()
        return {"removed": name}

    @app.get("/tokens", dependencies=[admin_auth])
    async def get_tokens() -> dict[str, Any]:
        """Token names, scopes and state (never the tokens)."""
        recs = await asyncio.to_thread(service.store.tokens)
        zone = cfg.zone
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

    @app.post("/tokens", dependencies=[admin_auth], status_code=201)
    async def post_token(body: _TokenIn) -> dict[str, Any]:
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
        assert service.tokens is not None
        service.tokens.invalidate()
        return {"name": body.name, "scopes": list(scopes), "token": token}

    @app.delete("/tokens/{name}", dependencies=[admin_auth])
    async def delete_token(name: str) -> dict[str, Any]:
        """Revoke a token."""
        if not await asyncio.to_thread(service.store.revoke_token, name, at_ms=now_ms()):
            raise HTTPException(404, f"no live token {name!r}")
        assert service.tokens is not None
        service.tokens.invalidate()
        return {"revoked": name}

    @app.get("/outbox", dependencies=[admin_auth])
    async def get_outbox(
        state: Literal["pending", "delivered", "failed", "dropped"] | None = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> dict[str, Any]:
        """Outbox rows (oldest first) and the count of each state."""
        rows = await asyncio.to_thread(service.store.outbox, state=state, limit=limit)
        counts = await asyncio.to_thread(service.store.outbox_counts)
        zone = cfg.zone
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
                    "last_error": d.last_error,
                }
                for d in rows
            ],
        }

    @app.post("/outbox/retry", dependencies=[admin_auth])
    async def retry_outbox(subscriber: str | None = None) -> dict[str, Any]:
        """Put failed deliveries back in the queue."""
        n = await asyncio.to_thread(
            service.store.requeue_failed, at_ms=now_ms(), subscriber=subscriber
        )
        service.notify_subscribers_changed()
        return {"requeued": n}

    # ------------------------------------------------------------------ operations
    @app.get("/health")
    async def health() -> JSONResponse:
        """Readiness: the store answers, the background tasks run, the last issue worked.

        503 with ``status`` ``unavailable`` or ``degraded`` (``issue_error`` says why).
        """
        ok_store = await asyncio.to_thread(service.store.ping)
        counts = await asyncio.to_thread(service.store.outbox_counts) if ok_store else {}
        clock = service.clock
        wm = clock.watermark()
        zone = cfg.zone
        alive = service.tasks_alive()
        status = "ok" if ok_store and alive else "unavailable"
        if status == "ok" and service.issue_error is not None:
            status = "degraded"
        body = {
            "status": status,
            "version": __version__,
            "store": {"backend": service.store.backend, "ok": ok_store},
            "background_tasks": alive,
            "model": service.engine.model.kind,
            "low_points": len(service.engine.points),
            "sensors": len(service.engine.registry),
            "clock": clock.mode,
            "data_watermark": None if wm is None else iso_ms(wm, zone),
            "next_issue": None
            if clock.next_issue_ms is None
            else iso_ms(clock.next_issue_ms, zone),
            "outbox": counts,
            "issue_error": service.issue_error,
            "uptime_s": round(max(0.0, now_ms() / 1000 - service.started), 1),
        }
        return JSONResponse(body, status_code=200 if status == "ok" else 503)

    async def metrics_body() -> Response:
        counts = await asyncio.to_thread(service.store.outbox_counts)
        for state in ("pending", "delivered", "failed", "dropped"):
            service.metrics.outbox.labels(state).set(counts.get(state, 0))
        return Response(service.metrics.render(), media_type="text/plain; version=0.0.4")

    if cfg.server.public_metrics:

        @app.get("/metrics")
        async def metrics_public() -> Response:
            """Prometheus metrics (text exposition format)."""
            return await metrics_body()

    else:

        @app.get("/metrics", dependencies=[read_auth])
        async def metrics_private() -> Response:
            """Prometheus metrics (text exposition format; needs the read scope)."""
            return await metrics_body()

    @app.get("/")
    async def root() -> dict[str, Any]:
        """What this service is, and where to look."""
        return {
            "service": cfg.name,
            "version": __version__,
            "docs": "/docs",
            "endpoints": ["/readings", "/sensors", "/forecasts", "/alerts", "/alerts/stream"],
            "health": "/health",
            "metrics": "/metrics",
            "max_rows_per_batch": cfg.ingest.max_rows,
            "issue_step_s": STEP_S,
        }

    return app
