"""``/radar`` and ``/nowcasts``: radar frames and external nowcasts in, what is held out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request

from twin.live.ingest import BatchError
from twin.live.routes.bodies import NETCDF_BODY
from twin.live.routes.deps import INGEST, READ, ServiceDep, limited_body
from twin.live.routes.responses import SafeJSONResponse

if TYPE_CHECKING:
    from twin.live.service import LiveService

__all__ = ["router"]

router = APIRouter()


@router.post("/radar", dependencies=[INGEST], openapi_extra=NETCDF_BODY)
async def post_radar(request: Request, service: ServiceDep) -> SafeJSONResponse:
    """Validate and keep radar frames: a CF NetCDF file (raw or multipart).

    The file is refused as a whole (4xx, with the reason) when it cannot be read or
    does not fit the district; otherwise each frame is reported (stored, duplicate,
    conflict, expired or rejected).
    """
    return await _take(request, service, "the frames over several files", service.radar.frames)


@router.post("/nowcasts", dependencies=[INGEST], openapi_extra=NETCDF_BODY)
async def post_nowcasts(request: Request, service: ServiceDep) -> SafeJSONResponse:
    """Validate and keep an external nowcast (CF NetCDF: issue_time, lead_time, y, x)."""
    return await _take(request, service, "the nowcasts over several files", service.radar.nowcasts)


async def _take(
    request: Request, service: LiveService, split_hint: str, handler: Callable[..., Any]
) -> SafeJSONResponse:
    """Read a size-limited body and hand it to ``handler`` off the event loop."""
    body = await limited_body(request, service, split_hint)
    ctype = request.headers.get("content-type", "")
    try:
        result = await asyncio.to_thread(handler, body, ctype)
    except BatchError as exc:
        service.metrics.radar_refused.labels(str(exc.status)).inc()
        raise HTTPException(exc.status, str(exc)) from None
    return SafeJSONResponse(result)


@router.get("/radar", dependencies=[READ])
async def get_radar(service: ServiceDep) -> dict[str, Any]:
    """Frames and external nowcasts held, their grids, and the last forecast's rain."""
    latest = service.engine.latest
    return await asyncio.to_thread(service.radar.describe, latest)
