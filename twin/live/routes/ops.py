"""Operations: ``/health`` (readiness), ``/metrics`` (Prometheus) and ``/`` (an index)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response

from twin import __version__
from twin.forecast.data import STEP_S
from twin.live.errors import StoreError
from twin.live.ingest import iso_ms
from twin.live.records import now_ms
from twin.live.routes.deps import READ, ServiceDep
from twin.live.routes.responses import STORE_RETRY_AFTER_S, SafeJSONResponse
from twin.live.service import LiveService

__all__ = ["ops_router"]


async def health(service: ServiceDep) -> Response:
    """Readiness: the store answers, the background tasks run, the last issue worked.

    ``status`` is ``ok``, ``degraded`` or ``unavailable``, and ``problems`` says why:

    - 503 ``unavailable`` (with ``Retry-After``): the store does not answer or a
      background task has stopped;
    - 503 ``degraded``: the last issue time failed (``issue_error``);
    - 200 ``degraded``: the service works, but messages are parked as failed (an
      operator should look at ``GET /outbox?state=failed`` and ``POST /outbox/retry``);
    - 200 ``ok``: none of these.
    """
    ok_store = await asyncio.to_thread(service.store.ping)
    counts: dict[str, int] = {}
    if ok_store:
        try:
            counts = await asyncio.to_thread(service.store.outbox_counts)
        except StoreError:
            ok_store = False
    clock = service.clock
    wm = clock.watermark()
    zone = service.config.zone
    alive = service.tasks_alive()
    problems: list[str] = []
    if not ok_store:
        problems.append("the store does not answer")
    if not alive:
        problems.append("a background task has stopped")
    if service.issue_error is not None:
        problems.append(f"the last issue failed: {service.issue_error}")
    if counts.get("failed", 0):
        problems.append(
            f"{counts['failed']} message(s) parked as failed; see /outbox?state=failed and "
            "POST /outbox/retry"
        )
    status = "ok" if not problems else "degraded" if ok_store and alive else "unavailable"
    code = 503 if status == "unavailable" or service.issue_error is not None else 200
    body = {
        "status": status,
        "problems": problems,
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
    headers = {"Retry-After": str(STORE_RETRY_AFTER_S)} if status == "unavailable" else None
    return SafeJSONResponse(body, status_code=code, headers=headers)


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
