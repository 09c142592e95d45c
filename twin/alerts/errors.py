"""Errors of alerts (the rule of :mod:`twin.errors`: a TwinError and the builtin)."""

from __future__ import annotations

from twin.errors import TwinError

__all__ = ["AlertError"]


class AlertError(TwinError, ValueError):
    """An alert could not be decided or rendered, or a CAP message is not valid."""
