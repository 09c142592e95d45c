"""City-operations digital twin on a real OpenStreetMap road network."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
