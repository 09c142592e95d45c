"""Scenarios: the validated, frozen inputs of a what-if (schema and loader).

The schema of every section lives here or in the package of its model
(:mod:`twin.crowds.config`, :mod:`twin.trucks.config`); :mod:`twin.scenario.placement`
holds the ``placement`` section read by ``twin place``.
"""

from __future__ import annotations

from twin.scenario.schema import (
    POLICIES,
    CasesConfig,
    CaseSource,
    CrewsConfig,
    DesignStormConfig,
    DispatchConfig,
    DurationDist,
    EscalationConfig,
    ForecastConfig,
    HotspotConfig,
    HydroConfig,
    NetworkConfig,
    OperationsConfig,
    RadarRainConfig,
    RainConfig,
    RainFileConfig,
    ReplayConfig,
    RunoffConfig,
    Scenario,
    Shift,
    TargetsConfig,
    load_scenario,
    parse_duration,
    validate_scenario,
)

__all__ = [
    "POLICIES",
    "CaseSource",
    "CasesConfig",
    "CrewsConfig",
    "DesignStormConfig",
    "DispatchConfig",
    "DurationDist",
    "EscalationConfig",
    "ForecastConfig",
    "HotspotConfig",
    "HydroConfig",
    "NetworkConfig",
    "OperationsConfig",
    "RadarRainConfig",
    "RainConfig",
    "RainFileConfig",
    "ReplayConfig",
    "RunoffConfig",
    "Scenario",
    "Shift",
    "TargetsConfig",
    "load_scenario",
    "parse_duration",
    "validate_scenario",
]
