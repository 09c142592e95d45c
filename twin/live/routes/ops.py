"""Operations: ``/health`` (readiness), ``/metrics`` (Prometheus) and ``/`` (an index)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from twin import __version__
from twin.forecast.data import STEP_S
from twin.live.ingest import iso_ms
from twin.live.records import now_ms
from twin.live.routes.deps import READ, ServiceDep
from twin.live.service import LiveService

__all__ = ["ops_router"]


async def health(service: ServiceDep) -> JSONResponse:
    """Readiness: the store answers, the background tasks run, the last issue worked.

    503 with ``status`` ``unavailable`` or ``degraded`` (``issue_error`` says why).
    """
    ok_store = await asyncio.to_thread(service.store.ping)
    counts = await asyncio.to_thread(service.store.outbox_counts) if ok_store else {}
    clock = service.clock
    wm = clock.watermark()
    zone = service.config.zone
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
        "next_issue": None if clock.next_issue_ms is None else iso_ms(clock.next_issue_ms, zone),
        "outbox": counts,
        "issue_error": service.issue_error,
        "uptime_s": round(max(0.0, now_ms() / 1000 - service.started), 1),
    }
    return JSONResponse(body, status_code=200 if status == "ok" else 503)


async def _metrics(service: LiveService) -> Response:
    counts = await asyncio.to_thread(service.store.outbox_counts)
    for state in ("pending", "delivered", "failed", "dropped"):
        service.metrics.outbox.labels(state).set(counts.get(state, 0))
    return Response(service.metrics.render(), media_type="text/plain; version=0.0.4")


async def metrics_public(service: ServiceDep) -> Response:
    """Prometheus metrics (text exposition format)."""
    return await _metrics(service)


async def metrics_private(service: ServiceDep) -> Response:
    """Prometheus metrics (text exposition format; needs the read scope)."""
    return await _metrics(service)


async def root(service: ServiceDep) -> dict[str, Any]:
    """What this service is, and where to look."""
    cfg = service.config
    return {
        "service": cfg.name,
        "version": __version__,
        "docs": "/docs",
        "endpoints": [
            "/readings",
            "/sensors",
            "/radar",
            "/nowcasts",
            "/forecasts",
            "/alerts",
            "/alerts/stream",
        ],
        "health": "/health",
        "metrics": "/metrics",
        "max_rows_per_batch": cfg.ingest.max_rows,
        "issue_step_s": STEP_S,
    }


def ops_router(*, public_metrics: bool) -> APIRouter:
    """The operations routes.

    Parameters
    ----------
    public_metrics
        Serve ``/metrics`` without a token (``server.public_metrics``); otherwise it
        needs the ``read`` scope.

    Returns
    -------
    fastapi.APIRouter
    """
    router = APIRouter()
    router.add_api_route("/health", health, methods=["GET"])
    if public_metrics:
        router.add_api_route("/metrics", metrics_public, methods=["GET"])
    else:
        router.add_api_route("/metrics", metrics_private, methods=["GET"], dependencies=[READ])
    router.add_api_route("/", root, methods=["GET"])
    return router
