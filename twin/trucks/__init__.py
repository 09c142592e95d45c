"""Muck-truck governance (渣土统管): sites, docks, haulage fleets, bans, violations, sensors.

The pipeline: layers → :func:`~twin.trucks.actors.load_sites` /
:func:`~twin.trucks.actors.load_docks` → :class:`~twin.trucks.model.TruckModel` (trucks
cycling site → dock → site on a simpy clock, routed around hour-of-day bans) →
:mod:`~twin.trucks.detection` (cameras, dock checkpoints, probe vehicles; trace-back "by
the map") → :class:`~twin.trucks.results.TruckResult` (trips, violations, positions,
KPIs, risk profiles); the cases they raise for the case loop are built in
:func:`twin.coupling.trucks.violation_cases`. Configuration is one frozen model,
:class:`~twin.trucks.config.TrucksConfig`; the entry point is
:func:`simulate_trucks`.

Modules: :mod:`~twin.trucks.config`, :mod:`~twin.trucks.actors`,
:mod:`~twin.trucks.routing` (bans and routing), :mod:`~twin.trucks.model`,
:mod:`~twin.trucks.detection`, :mod:`~twin.trucks.simulate`, :mod:`~twin.trucks.results`,
:mod:`~twin.trucks.risk`, :mod:`~twin.trucks.plots`,
:mod:`~twin.trucks.cli`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin._lazy import lazy_exports

if TYPE_CHECKING:
    from twin.trucks.config import VIOLATION_KINDS, TrucksConfig
    from twin.trucks.errors import TruckError
    from twin.trucks.results import TruckResult
    from twin.trucks.simulate import simulate_trucks

__all__ = [
    "VIOLATION_KINDS",
    "TruckError",
    "TruckResult",
    "TrucksConfig",
    "simulate_trucks",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "TruckError": "twin.trucks.errors",
        "TruckResult": "twin.trucks.results",
        "TrucksConfig": "twin.trucks.config",
        "VIOLATION_KINDS": "twin.trucks.config",
        "simulate_trucks": "twin.trucks.simulate",
    },
)
