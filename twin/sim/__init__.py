"""The simulation core: the engine (one simpy clock), the crews, dispatch policies.

The crews are a mesa population (:mod:`~twin.sim.fleet`); the policies and the crews meet
the engine through the :class:`~twin.sim.loop.CaseLoop` protocol.
"""

from __future__ import annotations
