"""``/alerts``: the CAP feed (JSON or Atom), one message, and the server-sent events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from twin.live.feed import alert_summary, atom_feed, json_feed, sse_event
from twin.live.ingest import iso_ms
from twin.live.records import now_ms
from twin.live.routes.deps import READ, ServiceDep
from twin.live.service import LiveService

__all__ = ["router"]

router = APIRouter()

#: The largest message number (``seq``) a query may name: a 63-bit integer.
MAX_SEQ = 2**63 - 1


@router.get("/alerts", dependencies=[READ])
async def get_alerts(
    request: Request,
    service: ServiceDep,
    state: Literal["active", "all"] = "active",
    format: Literal["json", "atom"] = "json",
    since: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    """Active alerts (the last message of each open alert) or every message."""
    cfg = service.config
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


async def _alert_events(
    service: LiveService, request: Request, start: int, format: str
) -> AsyncIterator[str]:
    """The SSE stream: every message after ``start``, then each new one as it comes."""
    signal = service.alerts_signal
    assert signal is not None
    service.metrics.sse_clients.inc()
    try:
        yield "retry: 2000\n: connected\n\n"
        last = start
        while True:
            seen = signal.version
            records = await asyncio.to_thread(service.store.alerts, since_seq=last, limit=500)
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


@router.get("/alerts/stream", dependencies=[READ])
async def stream_alerts(
    request: Request,
    service: ServiceDep,
    since: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    format: Literal["json", "xml"] = "json",
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-sent events: one ``alert`` event per new message, id = its ``seq``."""
    if since is None and last_event_id is not None:
        text = last_event_id.strip()
        if text.isascii() and text.isdigit() and len(text) <= 18:  # a seq fits 63 bits
            since = int(text)
    start = since if since is not None else await asyncio.to_thread(service.store.last_alert_seq)
    assert service.alerts_signal is not None
    return StreamingResponse(
        _alert_events(service, request, start, format),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/alerts/{identifier}", dependencies=[READ])
async def get_alert(
    identifier: str, service: ServiceDep, format: Literal["xml", "json"] = "xml"
) -> Response:
    """One alert message as CAP 1.2 XML (default) or JSON."""
    rec = await asyncio.to_thread(service.store.alert, identifier)
    if rec is None:
        raise HTTPException(404, f"no alert message {identifier!r}; list them at /alerts")
    if format == "json":
        return Response(rec.cap_json, media_type="application/json")
    return Response(rec.cap_xml, media_type="application/cap+xml")
