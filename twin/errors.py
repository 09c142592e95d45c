"""Errors raised by the twin.

Every error the twin raises on purpose is a :class:`TwinError`. Each subclass also
subclasses the matching builtin, so ``except FileNotFoundError`` keeps working for
callers that do not know the twin. A message says what was wrong, where, and what to do;
the CLI prints it on one line and exits non-zero, without a traceback.
"""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "DEMError",
    "DisconnectedNetworkError",
    "EmptyNetworkError",
    "InputFileNotFoundError",
    "LayerError",
    "NoRouteError",
    "NotOSMError",
    "OutputError",
    "OutsideNetworkError",
    "OverpassError",
    "ScenarioError",
    "TwinError",
    "UnknownEdgeError",
    "UnknownNodeError",
]


class TwinError(Exception):
    """Base class of every error the twin raises on purpose."""


class InputFileNotFoundError(TwinError, FileNotFoundError):
    """An input file named by the user does not exist."""


class NotOSMError(TwinError, ValueError):
    """A file that should hold OpenStreetMap data does not, or cannot be read as such."""


class EmptyNetworkError(TwinError, ValueError):
    """An area or file yields no road network, or one too small to route on."""


class DisconnectedNetworkError(TwinError, ValueError):
    """The road network falls apart: its largest strongly connected part is too small."""


class DEMError(TwinError, ValueError):
    """A digital elevation model is not a GeoTIFF, has no CRS, or does not cover the network."""


class OverpassError(TwinError, ConnectionError):
    """The Overpass API could not be reached and nothing is cached for the query."""


class OutsideNetworkError(TwinError, ValueError):
    """Points lie outside the road network (farther than the snapping tolerance)."""


class UnknownNodeError(TwinError, KeyError):
    """A node id is not in the road network."""

    def __str__(self) -> str:
        # KeyError quotes its argument; keep the message readable.
        return str(self.args[0]) if self.args else ""


class UnknownEdgeError(TwinError, KeyError):
    """An edge is not in the road network."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NoRouteError(TwinError, ValueError):
    """No route joins two nodes (typically because edges on every path are closed)."""


class LayerError(TwinError, ValueError):
    """A city layer (GeoJSON) is missing, malformed, or does not follow its schema."""


class ScenarioError(TwinError, ValueError):
    """A scenario file or value does not follow the schema (file, line, field, allowed)."""


class ArgumentError(TwinError, ValueError):
    """A command option or function argument is out of its range (the message names it)."""


class OutputError(TwinError, OSError):
    """An output folder or file cannot be written: not a folder, read-only, or full."""
