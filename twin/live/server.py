"""Run the live service on uvicorn."""

from __future__ import annotations

import logging

from twin.forecast.base import Forecaster
from twin.live.app import create_app
from twin.live.config import LiveConfig
from twin.live.service import LiveService

__all__ = ["serve"]

logger = logging.getLogger(__name__)


def serve(
    config: LiveConfig,
    *,
    host: str | None = None,
    port: int | None = None,
    model: Forecaster | None = None,
    log_level: str = "info",
) -> None:
    """Open the service and serve it until SIGINT or SIGTERM (then stop cleanly).

    Parameters
    ----------
    config
        The service config.
    host, port
        Override ``config.server``.
    model
        A fitted forecaster instead of ``config.forecast.model``.
    log_level
        uvicorn's log level.

    Raises
    ------
    LiveError, StoreError, twin.forecast.errors.ModelFileError
        Before anything listens, when the config, the store or the model is wrong.
    """
    import uvicorn

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per webhook POST is noise
    service = LiveService(config, model=model).open()
    app = create_app(service)
    uv = uvicorn.Config(
        app,
        host=host or config.server.host,
        port=port or config.server.port,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=3,
    )
    logger.info("serving %s on http://%s:%d", config.name, uv.host, uv.port)
    uvicorn.Server(uv).run()
