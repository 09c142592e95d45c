"""Lazy, quiet imports and calls of pysteps (its import takes about 2 s and prints)."""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
from collections.abc import Iterator
from typing import Any

__all__ = ["pysteps_module", "quiet"]

logger = logging.getLogger(__name__)


def pysteps_module(name: str) -> Any:
    """Import ``name`` (a pysteps module), keeping pysteps' configuration banner off stdout.

    pysteps prints where it found its configuration file when first imported; the
    library never writes to stdout, so the banner is swallowed here.
    """
    with contextlib.redirect_stdout(io.StringIO()):
        return importlib.import_module(name)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Send what pysteps prints (progress of S-PROG and STEPS) to the debug log."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            yield
    finally:
        text = buffer.getvalue().strip()
        if text:
            logger.debug("pysteps: %s", text)
