"""The FastAPI application of the live service.

:func:`create_app` puts the routers of :mod:`twin.live.routes` together (see there for
the endpoints and their scopes) around an opened :class:`~twin.live.service.LiveService`,
which handlers reach as ``app.state.service``, with the error answers of
:mod:`twin.live.routes.responses` (JSON always; 503 with ``Retry-After`` while the store
is down; never a 5xx from what a request carries).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from twin import __version__
from twin.live.routes import admin, alerts, forecasts, ops, radar, readings
from twin.live.routes.responses import SafeJSONResponse, install_error_handlers
from twin.live.service import LiveService

__all__ = ["create_app"]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the service's background tasks with the server; stop them after."""
    service: LiveService = app.state.service
    await service.start()
    try:
        yield
    finally:
        await service.stop()


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
    app = FastAPI(
        title="city-twin live service",
        version=__version__,
        summary="Ingest sensor readings; forecast waterlogging; push CAP 1.2 alerts.",
        lifespan=_lifespan,
        default_response_class=SafeJSONResponse,
    )
    install_error_handlers(app)
    app.state.service = service
    app.include_router(readings.router)
    app.include_router(radar.router)
    app.include_router(forecasts.router)
    app.include_router(alerts.router)
    app.include_router(admin.router)
    app.include_router(ops.ops_router(public_metrics=service.config.server.public_metrics))
    return app
