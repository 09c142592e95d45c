"""Errors of the live service.

They follow the rule of :mod:`twin.errors`: each is a :class:`~twin.errors.TwinError`
and also the matching builtin, so the CLI prints it as one line and exits with status 1,
and callers that do not know the twin can still catch the builtin.
"""

from __future__ import annotations

from twin.errors import TwinError

__all__ = ["LiveConnectionError", "LiveError", "StoreError"]


class LiveError(TwinError, ValueError):
    """A live-service configuration, request or value is wrong.

    For example: a config field that does not follow the schema (with file, line and
    field), a model that does not know the configured low points, a token without the
    scope a request needs, or a recorded-readings file without the required columns.
    """


class StoreError(TwinError, RuntimeError):
    """The reading/alert store cannot be opened or used (wrong URL, server down, schema)."""


class LiveConnectionError(TwinError, ConnectionError):
    """The live service could not be reached (replay client), even after retries."""
