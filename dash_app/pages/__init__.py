"""The app's pages: each module has ``PATH``, ``TITLE``, ``layout(ctx)`` and ``register(app, ctx)``.

Pages that build on twin modules still being written (forecasts and alerts, sensor
placement) are added by :func:`optional_pages` only when those modules import and offer
what the page needs; otherwise the page is left out (and logged), never faked.
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType

__all__ = ["OPTIONAL", "optional_pages"]

logger = logging.getLogger(__name__)

#: Optional pages, in menu order: forecasts and alerts, sensor placement.
OPTIONAL = ("dash_app.pages.forecasts", "dash_app.pages.placement")


def optional_pages() -> list[ModuleType]:
    """The optional pages whose twin modules are available, in menu order."""
    found = []
    for name in OPTIONAL:
        try:
            found.append(importlib.import_module(name))
        except ImportError as exc:  # the twin module (or a name in it) is not there yet
            logger.warning("Page %s left out: %s", name.rsplit(".", 1)[-1], exc)
    return found
