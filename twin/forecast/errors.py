"""Errors of forecasting.

:class:`ForecastError` follows the rule of :mod:`twin.errors`: it is a
:class:`~twin.errors.TwinError` and also the matching builtin, so the CLI prints it as one
line and exits with status 1. A message says what was wrong, where (which point, which
array, which file) and what to do.
"""

from __future__ import annotations

from twin.errors import TwinError

__all__ = ["ForecastError", "ModelFileError"]


class ForecastError(TwinError, ValueError):
    """Forecast inputs that cannot be used.

    For example: a history shorter than the encoder, missing or non-finite rain
    covariates, an unknown low point, a forecaster used before it is fitted.
    """


class ModelFileError(TwinError, FileNotFoundError):
    """A saved forecaster is missing, incomplete, or of an unknown kind or version."""
