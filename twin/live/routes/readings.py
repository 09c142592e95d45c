"""``/readings`` and ``/sensors``: readings in (ingest) and out (queries)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from twin.live.ingest import BatchError, iso_ms
from twin.live.records import now_ms
from twin.live.routes.bodies import READINGS_BODY
from twin.live.routes.deps import INGEST, READ, ServiceDep, limited_body, time_param
from twin.live.routes.responses import SafeJSONResponse

__all__ = ["router"]

router = APIRouter()


@router.post("/readings", dependencies=[INGEST], openapi_extra=READINGS_BODY)
async def post_readings(request: Request, service: ServiceDep) -> SafeJSONResponse:
    """Validate and store a batch of readings (JSON or CSV); report every bad row."""
    body = await limited_body(request, service, "the batch")
    ctype = request.headers.get("content-type", "application/json")
    try:
        result, batch = await asyncio.to_thread(service.ingest, body, ctype)
    except BatchError as exc:
        service.metrics.batch_errors.labels(str(exc.status)).inc()
        raise HTTPException(exc.status, str(exc)) from None
    service.note_batch(batch)
    return SafeJSONResponse(result)


@router.get("/readings", dependencies=[READ])
async def get_readings(
    service: ServiceDep,
    sensor: str | None = None,
    start: str | None = None,
    end: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> dict[str, Any]:
    """Stored readings in a time range (ISO 8601 with offset, or epoch seconds)."""
    t1 = time_param("end", end, now_ms() + 86_400_000)
    t0 = time_param("start", start, 0)
    reg = service.engine.registry
    pos = reg.index.get(sensor) if sensor is not None else None
    gauge = pos is not None and int(reg.kinds[pos]) < 2
    rows = await asyncio.to_thread(
        lambda: service.store.reading_rows(sensor, t0, t1, limit, gauge=gauge)
    )
    zone = service.config.zone
    return {
        "count": len(rows),
        "readings": [
            {"sensor": s, "time": iso_ms(t, zone), "value": v, "received": iso_ms(r, zone)}
            for s, t, v, r in rows
        ],
    }


@router.get("/sensors", dependencies=[READ])
async def get_sensors(service: ServiceDep) -> dict[str, Any]:
    """The sensor registry, with the time of each sensor's newest reading.

    Newest readings are those heard since the day before the service started.
    """
    reg = service.engine.registry
    last = dict(service.newest)
    zone = service.config.zone
    return {
        "count": len(reg),
        "sensors": [
            {**d, "last_reading": iso_ms(last[d["id"]], zone) if d["id"] in last else None}
            for d in reg.describe()
        ],
    }
