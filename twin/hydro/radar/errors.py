"""Errors of weather-radar rain.

:class:`RadarError` follows the rule of :mod:`twin.errors`: it is a
:class:`~twin.errors.TwinError` and also a :class:`ValueError`, so the CLI prints it as
one line and exits with status 1. A message says what was wrong, where (which file, which
variable, which time) and what to do. A missing input file raises
:class:`twin.errors.InputFileNotFoundError`.
"""

from __future__ import annotations

from twin.errors import TwinError

__all__ = ["RadarError"]


class RadarError(TwinError, ValueError):
    """Radar rain that cannot be used.

    For example: a file without a coordinate reference system or with one that does not
    match its coordinates, unknown units, missing, duplicate or irregular times, an empty
    file, a grid that does not cover the district, or an issue time without enough
    frames before it.
    """
