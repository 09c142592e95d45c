"""Scenarios: the validated, frozen inputs of a what-if, loaded from YAML.

A scenario names the network, the start time (timezone-aware; Asia/Shanghai unless the
file says otherwise), the horizon, the seed, and the models to enable with their
parameters. A start without an offset is local time in ``timezone``; a start with one
(``+08:00``, ``Z``) must have the offset ``timezone`` has at that time, else it is an
error (never silently reinterpreted). Seeds run from 0 to 2**63 - 1. Every model is
frozen (immutable) and rejects unknown fields, so a typo in a YAML file is an error, not
a silently ignored setting.

Durations in YAML are numbers of seconds or strings with a unit: ``"45s"``, ``"5min"``,
``"2h"``, ``"1d"``. Errors name the file, the line, the field and what is allowed::

    scenarios/bad.yaml:14: cases.daily_total: Input should be greater than 0 (got -3)
"""

from __future__ import annotations

import re
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from twin.crowds.config import CrowdConfig
from twin.durations import Duration, PositiveDuration, parse_duration
from twin.errors import ScenarioError
from twin.network.congestion import CongestionProfile
from twin.scenario.hydro import (
    RADAR_SOURCES,
    DesignStormConfig,
    ForecastConfig,
    HydroConfig,
    RadarRainConfig,
    RainConfig,
    RainFileConfig,
    RunoffConfig,
)
from twin.scenario.placement import PlacementConfig
from twin.scenario.textfile import check_text_file
from twin.seeds import MAX_SEED
from twin.trucks.config import TrucksConfig
from twin.yamlconfig import Frozen, read_yaml, validate_model

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
    "HydroConfig",
    "NetworkConfig",
    "OperationsConfig",
    "RadarRainConfig",
    "RainConfig",
    "RainFileConfig",
    "RunoffConfig",
    "Scenario",
    "Shift",
    "TargetsConfig",
    "load_scenario",
    "parse_duration",
    "validate_scenario",
]

DEFAULT_TZ = "Asia/Shanghai"

#: Dispatch policies known to the engine (see :mod:`twin.sim.dispatch`).
POLICIES = (
    "nearest_idle",
    "fixed_zones",
    "priority_preemption",
    "workload_balancing",
    "prepositioning",
)


class DurationDist(Frozen):
    """A random duration.

    ``kind`` is ``fixed`` (always ``mean``), ``exponential`` (rate 1/mean), ``lognormal``
    or ``gamma`` (both with mean ``mean`` and coefficient of variation ``cv``).
    """

    kind: Literal["fixed", "exponential", "lognormal", "gamma"] = "lognormal"
    mean: Duration
    cv: float = Field(default=0.5, ge=0.0, le=5.0)


class NetworkConfig(Frozen):
    """Which road network to run on."""

    source: str = Field(
        default="default",
        description="'default' (bundled Gongshu), an OSM/GraphML file, or a saved network folder",
    )
    boundary: str | None = None
    buffer_m: float = Field(default=250.0, ge=0.0)
    min_component_fraction: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="smallest share of the nodes the largest strongly connected part must "
        "hold; lower it for a small or clipped extract",
    )
    congestion: CongestionProfile = Field(default_factory=CongestionProfile)


class CaseSource(Frozen):
    """A channel through which cases are discovered, with its detection delay."""

    name: str
    share: float = Field(gt=0.0, le=1.0)
    delay: DurationDist


def _default_sources() -> tuple[CaseSource, ...]:
    # Shares and delays are illustrative assumptions, configurable per scenario.
    def source(name: str, share: float, mean: float, cv: float) -> CaseSource:
        return CaseSource(name=name, share=share, delay=DurationDist(mean=mean, cv=cv))

    return (
        source("patrol", 0.35, 1200, 0.8),
        source("camera_ai", 0.25, 60, 0.5),
        source("hotline_12345", 0.30, 900, 1.0),
        source("iot_alarm", 0.10, 30, 0.5),
    )


class HotspotConfig(Frozen):
    """Spatial intensity: hot spots over a uniform background on the network's nodes."""

    count: int = Field(default=12, ge=0)
    share: float = Field(default=0.6, ge=0.0, le=1.0, description="share of cases in hot spots")
    radius_m: float = Field(default=400.0, gt=0.0)


class ReplayConfig(Frozen):
    """Replay cases from a CSV of historical cases (see :mod:`twin.cases.replay`)."""

    path: str
    mapping: dict[str, str] = Field(default_factory=dict)
    category_map: dict[str, str] = Field(default_factory=dict)
    relocate: Literal["none", "bbox", "sample"] = "none"
    time_shift: Literal["none", "align_start"] = "align_start"
    strict: bool = Field(
        default=False,
        description="any row that cannot be used is an error (default: skipped with a warning)",
    )


def _replay_from_file(value: Any) -> Any:
    """Let ``cases.replay`` name a YAML file holding the replay block."""
    if not isinstance(value, str):
        return value
    path = Path(value)
    if not path.is_absolute() and not path.exists():
        path = Path(__file__).resolve().parents[2] / value
    if not path.exists():
        raise ValueError(f"replay file {value!r} not found (relative to here or to the repository)")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"replay file {value!r} is not valid YAML ({exc})") from None


class CasesConfig(Frozen):
    """Case generation (or replay)."""

    enabled: bool = True
    daily_total: float = Field(default=1500.0, gt=0.0, description="expected cases per day")
    categories: str = Field(default="default", description="'default' or a categories CSV path")
    hotspots: HotspotConfig = Field(default_factory=HotspotConfig)
    sources: tuple[CaseSource, ...] = Field(default_factory=_default_sources)
    replay: Annotated[ReplayConfig | None, BeforeValidator(_replay_from_file)] = Field(
        default=None, description="a replay block, or the path of a YAML file holding one"
    )

    @field_validator("sources")
    @classmethod
    def _check_sources(cls, value: tuple[CaseSource, ...]) -> tuple[CaseSource, ...]:
        if not value:
            raise ValueError("needs at least one source")
        total = sum(s.share for s in value)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"source shares must add up to 1, they add up to {total:g}")
        names = [s.name for s in value]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        return value


def _parse_clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and 0 <= value < 24 * 60:  # YAML 1.1 reads 07:00 as 420
        return time(value // 60, value % 60)
    if isinstance(value, str):
        m = re.match(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$", value)
        if m and int(m.group(1)) < 24 and int(m.group(2)) < 60 and int(m.group(3) or 0) < 60:
            return time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    raise ValueError(f"{value!r} is not a clock time; write 'HH:MM', e.g. '07:30'")


ClockTime = Annotated[time, BeforeValidator(_parse_clock)]


class Shift(Frozen):
    """A work shift: crews on duty from ``start`` for ``hours``, every day."""

    name: str
    start: ClockTime
    hours: float = Field(gt=0.0, le=24.0)
    share: float = Field(gt=0.0, le=1.0, description="share of crews on this shift")


def _default_shifts() -> tuple[Shift, ...]:
    return (
        Shift(name="day", start=time(7, 0), hours=12, share=0.65),
        Shift(name="night", start=time(19, 0), hours=12, share=0.35),
    )


class CrewsConfig(Frozen):
    """The crews (grid workers, officers, maintenance crews) and where they start."""

    count: int = Field(default=150, ge=1)
    skills: dict[str, float] = Field(
        default_factory=lambda: {"enforcement": 0.4, "maintenance": 0.35, "sanitation": 0.25},
        description="share of crews with each skill",
    )
    shifts: tuple[Shift, ...] = Field(default_factory=_default_shifts)
    depots: str = Field(default="layer", description="'layer' (the depots layer) or a GeoJSON path")
    speed_factor: float = Field(default=1.0, gt=0.0, description="crew speed / traffic speed")

    @field_validator("skills")
    @classmethod
    def _check_skills(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("needs at least one skill")
        if any(v <= 0 for v in value.values()):
            raise ValueError("skill shares must be > 0")
        total = sum(value.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"skill shares must add up to 1, they add up to {total:g}")
        return value

    @field_validator("shifts")
    @classmethod
    def _check_shifts(cls, value: tuple[Shift, ...]) -> tuple[Shift, ...]:
        if not value:
            raise ValueError("needs at least one shift")
        total = sum(s.share for s in value)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shift shares must add up to 1, they add up to {total:g}")
        return value


class OperationsConfig(Frozen):
    """The operations centre: operators file cases, inspectors verify them."""

    operators: int = Field(default=8, ge=1)
    file_time: DurationDist = DurationDist(kind="lognormal", mean=40, cv=0.5)
    dispatch_time: DurationDist = DurationDist(kind="fixed", mean=10)
    inspectors: int = Field(default=12, ge=1)
    verify_time: DurationDist = DurationDist(kind="lognormal", mean=180, cv=0.5)
    close_time: DurationDist = DurationDist(kind="fixed", mean=30)


class DispatchConfig(Frozen):
    """The dispatch policy and its parameters."""

    policy: str = "nearest_idle"
    zone_size_m: float = Field(default=2000.0, gt=0.0, description="fixed_zones: grid cell side")
    candidates: int = Field(
        default=5, ge=1, description="workload_balancing: nearest crews compared"
    )
    slack_s: Duration = Field(default=120.0, description="workload_balancing: extra travel allowed")
    reposition_every: PositiveDuration = Field(default=1800.0, description="prepositioning period")

    @field_validator("policy")
    @classmethod
    def _check_policy(cls, value: str) -> str:
        if value not in POLICIES:
            raise ValueError(f"unknown policy {value!r}; choose one of {', '.join(POLICIES)}")
        return value


class TargetsConfig(Frozen):
    """Service targets; defaults are the Dongxin-street pilot's published 1 / 5 / 20 minutes."""

    dispatch: PositiveDuration = 60.0
    arrive: PositiveDuration = 300.0
    resolve: PositiveDuration = 1200.0


class EscalationConfig(Frozen):
    """Escalation of overdue cases, level by level, at multiples of the case's deadline."""

    enabled: bool = True
    levels: tuple[float, ...] = (1.0, 1.5, 2.0)
    names: tuple[str, ...] = ("unit leader", "department head", "district leader")

    @model_validator(mode="after")
    def _check(self) -> EscalationConfig:
        if len(self.levels) != len(self.names):
            raise ValueError(f"{len(self.levels)} levels but {len(self.names)} names")
        if list(self.levels) != sorted(self.levels) or any(x <= 0 for x in self.levels):
            raise ValueError("levels must be positive and increasing")
        return self


class Scenario(Frozen):
    """A what-if: network, clock, seed and models."""

    name: str
    description: str = ""
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    # `timezone` comes before `start`, so that `start` is checked against it.
    timezone: str = DEFAULT_TZ
    start: datetime = Field(
        description="start time; naive times are taken in `timezone`; a time with a UTC "
        "offset must have the offset of `timezone` at that time"
    )
    horizon: PositiveDuration = 86400.0
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    record_interval: PositiveDuration = 300.0
    cases: CasesConfig = Field(default_factory=CasesConfig)
    crews: CrewsConfig = Field(default_factory=CrewsConfig)
    operations: OperationsConfig = Field(default_factory=OperationsConfig)
    dispatch: DispatchConfig = Field(default_factory=DispatchConfig)
    targets: TargetsConfig = Field(default_factory=TargetsConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    rain: RainConfig = Field(default_factory=RainConfig)
    hydro: HydroConfig = Field(default_factory=HydroConfig)
    crowds: CrowdConfig = Field(
        default_factory=lambda: CrowdConfig(enabled=False),
        description="crowds at plazas; off unless the scenario has a crowds section",
    )
    trucks: TrucksConfig = Field(
        default_factory=TrucksConfig, description="muck trucks; off unless trucks.enabled"
    )
    placement: PlacementConfig | None = Field(
        default=None, description="sensor placement settings for `twin place`"
    )

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'Asia/Shanghai'"
            ) from exc
        return value

    @field_validator("start")
    @classmethod
    def _aware_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        """Naive: local time in ``timezone``. With an offset: it must be the zone's then."""
        name = info.data.get("timezone")
        if name is None:  # the timezone itself is invalid (reported on its own)
            return value
        zone = ZoneInfo(name)
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=zone)
        local = value.astimezone(zone)
        if local.utcoffset() != value.utcoffset():
            raise ValueError(
                f"start {value.isoformat()} has UTC offset {_offset(value)}, but timezone "
                f"{name} is at {_offset(local)} then; write the start without an offset "
                f"(local time in timezone), with {_offset(local)}, or set timezone to the "
                "zone you meant"
            )
        return local

    @model_validator(mode="after")
    def _radar_nowcast_needs_radar(self) -> Scenario:
        fc = self.hydro.forecast
        if fc.enabled and fc.rain_source in RADAR_SOURCES and self.rain.kind != "radar":
            raise ValueError(
                f"hydro.forecast.rain_source {fc.rain_source!r} is a radar nowcast: it needs "
                "rain.kind 'radar' (or use persistence, observed or perturbed)"
            )
        if fc.enabled and fc.rain_source == "external":
            radar = self.rain.radar
            if fc.external_nowcasts is None or radar is None or not radar.in_place:
                raise ValueError(
                    "hydro.forecast.rain_source 'external' takes nowcast products of the "
                    "area itself: set hydro.forecast.external_nowcasts (a folder of CF "
                    "NetCDF products) and rain.radar.in_place: true"
                )
        return self

    def with_updates(self, **changes: Any) -> Scenario:
        """A validated copy with dotted-path changes.

        Example: ``s.with_updates(**{"dispatch.policy": "fixed_zones"})``.
        """
        data = self.model_dump(mode="python")
        for dotted, value in changes.items():
            node = data
            *parents, leaf = dotted.split(".")
            for p in parents:
                if not isinstance(node.get(p), dict):
                    raise ScenarioError(f"{dotted}: {p!r} is not a section of the scenario")
                node = node[p]
            if leaf not in node:
                raise ScenarioError(f"{dotted}: no such field; known: {', '.join(sorted(node))}")
            node[leaf] = value
        return validate_scenario(data, where="<updates>")


def _offset(t: datetime) -> str:
    """``+08:00``-style UTC offset of an aware time."""
    off = t.utcoffset()
    minutes = round(off.total_seconds() / 60) if off is not None else 0
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# ---------------------------------------------------------------------------- loading
def validate_scenario(
    data: Any, *, where: str = "<scenario>", lines: dict[tuple[Any, ...], int] | None = None
) -> Scenario:
    """Validate a mapping as a :class:`Scenario`, raising :class:`ScenarioError`."""
    return validate_model(
        Scenario, data, ScenarioError, where=where, what="a scenario", lines=lines
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file.

    Raises
    ------
    ScenarioError
        The file is missing, is not UTF-8 text (binary, or GBK), is not YAML, or does not
        follow the schema; the message names the file, line and field.
    """
    check_text_file(Path(path), ScenarioError, what="scenario")
    data, lines = read_yaml(
        Path(path), ScenarioError, what="scenario", missing="scenarios live in scenarios/*.yaml."
    )
    return validate_scenario(data, where=str(path), lines=lines)
