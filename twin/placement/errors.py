"""Errors of sensor placement.

:class:`PlacementError` follows the rule of :mod:`twin.errors`: it is a
:class:`~twin.errors.TwinError` and also the matching builtin (:class:`ValueError`), so
the CLI prints it as one line and exits with status 1.
"""

from __future__ import annotations

from twin.errors import TwinError

__all__ = ["PlacementError"]


class PlacementError(TwinError, ValueError):
    """A placement problem cannot be built or solved as asked.

    For example: a negative budget, an unknown technology or objective, an impact matrix
    with no events or no detections, a candidate that is not on the network, or an
    event table that misses a required column.
    """
