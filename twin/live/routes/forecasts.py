"""``/forecasts``: the latest forecast of every low point."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from twin.live.routes.deps import READ, ServiceDep

__all__ = ["router"]

router = APIRouter()


@router.get("/forecasts", dependencies=[READ])
async def get_forecasts(service: ServiceDep) -> dict[str, Any]:
    """The latest forecast of every low point."""
    latest = service.engine.latest
    if latest is None:
        raise HTTPException(404, "no forecast yet: the service issues one when readings arrive")
    return latest
