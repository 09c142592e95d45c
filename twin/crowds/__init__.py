"""Crowds at station plazas and public squares: a zone-level flow model.

The pipeline: plaza layer → :func:`load_plazas` (usable area, exits) →
:func:`build_demand` (arrivals per plaza per step from timetables, buses, visitors,
events) → :func:`simulate` (density, queues, level of service per plaza per step) →
:func:`forecast_alerts` / :func:`intervention_effect`. Configuration is one frozen
model, :class:`~twin.crowds.config.CrowdConfig`.

Modules: :mod:`~twin.crowds.config` (values), :mod:`~twin.crowds.fundamental`
(Weidmann's fundamental diagram, exit capacity), :mod:`~twin.crowds.los` (Fruin levels
of service), :mod:`~twin.crowds.plazas`, :mod:`~twin.crowds.demand`,
:mod:`~twin.crowds.model` (with :mod:`~twin.crowds.kernels`; results in
:mod:`~twin.crowds.results`),
:mod:`~twin.crowds.interventions`, :mod:`~twin.crowds.alerts`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin._lazy import lazy_exports

if TYPE_CHECKING:
    from twin.crowds.alerts import crossings, forecast_alerts, rolling_alerts
    from twin.crowds.config import CrowdConfig
    from twin.crowds.demand import build_demand, demand_profile
    from twin.crowds.fundamental import weidmann_flow, weidmann_speed
    from twin.crowds.interventions import (
        apply_interventions,
        intervention_effect,
        staff_efficiency,
        staff_presence,
    )
    from twin.crowds.los import level_of_service
    from twin.crowds.model import simulate
    from twin.crowds.plazas import load_plazas, make_plazas

__all__ = [
    "CrowdConfig",
    "apply_interventions",
    "build_demand",
    "crossings",
    "demand_profile",
    "forecast_alerts",
    "intervention_effect",
    "level_of_service",
    "load_plazas",
    "make_plazas",
    "rolling_alerts",
    "simulate",
    "staff_efficiency",
    "staff_presence",
    "weidmann_flow",
    "weidmann_speed",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CrowdConfig": "twin.crowds.config",
        "apply_interventions": "twin.crowds.interventions",
        "build_demand": "twin.crowds.demand",
        "crossings": "twin.crowds.alerts",
        "demand_profile": "twin.crowds.demand",
        "forecast_alerts": "twin.crowds.alerts",
        "intervention_effect": "twin.crowds.interventions",
        "level_of_service": "twin.crowds.los",
        "load_plazas": "twin.crowds.plazas",
        "make_plazas": "twin.crowds.plazas",
        "rolling_alerts": "twin.crowds.alerts",
        "simulate": "twin.crowds.model",
        "staff_efficiency": "twin.crowds.interventions",
        "staff_presence": "twin.crowds.interventions",
        "weidmann_flow": "twin.crowds.fundamental",
        "weidmann_speed": "twin.crowds.fundamental",
    },
)
