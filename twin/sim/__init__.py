"""The simulation core: one simpy clock, a mesa population, array kernels, results."""

from __future__ import annotations
