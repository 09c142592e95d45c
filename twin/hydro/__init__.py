"""Rainfall and waterlogging: rain as xarray, runoff and ponding at low points, coupling."""

from __future__ import annotations
