"""Errors of the muck-truck model.

:class:`TruckError` follows the rule of :mod:`twin.errors`: it is a
:class:`~twin.errors.TwinError` and also the matching builtin, so the CLI prints it as one
line and exits with status 1.
"""

from __future__ import annotations

from twin.errors import TwinError

__all__ = ["TruckError"]


class TruckError(TwinError, ValueError):
    """The muck-truck configuration does not fit the network or the layers.

    For example: a ban polygon that holds no edge of the network, a camera on an edge
    that is not in the network, a company serving an unknown site, a site no dock can be
    reached from, or a case category that is not in the category table. The message
    names the setting (``trucks.bans[0].area``, ...), what was wrong and what to do.
    """
