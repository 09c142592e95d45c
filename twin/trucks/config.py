"""The muck-truck model's configuration: one frozen pydantic model, :class:`TrucksConfig`.

Everything a planner may change about muck-truck governance (渣土统管) lives here: where
sites and docks come from, the haulage companies with their fleets and compliance
profiles, the truck, hour-of-day bans on roads and areas, the violation model, the
sensors that detect violations, and how detections become cases. Every model is frozen
and rejects unknown fields, so a typo in a scenario file is an error.

**Default values are illustrative**: the scale (about 2,300 truck trips a day through
3 docks) is the published figure for Gongshu; company fleets, compliance profiles, bans,
sensor counts and detection probabilities are assumptions chosen to give a plausible
night, not measurements. Durations are seconds or strings with a unit (``"90s"``,
``"5min"``, ``"2h"``); time windows are ``"HH:MM-HH:MM"`` in local time and may wrap
past midnight (``"22:00-06:00"``; ``"00:00-24:00"`` is all day).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from twin.durations import Duration, PositiveDuration
from twin.network.layer_schema import parse_hours
from twin.yamlconfig import Frozen

__all__ = [
    "DETECTORS",
    "VIOLATION_KINDS",
    "Ban",
    "CameraConfig",
    "CheckpointConfig",
    "Company",
    "ComplianceProfile",
    "ProbeConfig",
    "RiskConfig",
    "SensorsConfig",
    "TruckCasesConfig",
    "TruckSpec",
    "TrucksConfig",
    "ViolationModel",
]

#: Kinds of violation, in a fixed order (used as codes 0..4 in arrays).
VIOLATION_KINDS = ("spillage", "dumping", "deviation", "speeding", "overloading")
#: Kinds of detector: fixed cameras on edges, checkpoints at docks (weighbridge and
#: e-manifest check), probe vehicles.
DETECTORS = ("camera", "checkpoint", "manifest", "probe")
_ROAD_CLASSES = ("arterial", "collector", "local")


def _check_window(value: str) -> str:
    parse_hours(value)  # raises ValueError naming the problem
    return value


#: A local time window ``"HH:MM-HH:MM"`` (may wrap past midnight).
Window = Annotated[str, AfterValidator(_check_window)]


class ComplianceProfile(Frozen):
    """Per-trip probabilities of each violation kind [-] (illustrative).

    Each loaded trip draws each kind independently: ``spillage`` (spoil leaks along a
    stretch of the loaded leg), ``dumping`` (the load is tipped at a non-dock location),
    ``deviation`` (the driver ignores the bans and takes the fastest road; a violation
    only when that road is banned at the time), ``speeding`` (the loaded leg is driven
    faster than allowed), ``overloading`` (the truck carries more than its capacity).
    """

    spillage: float = Field(default=0.03, ge=0.0, le=1.0)
    dumping: float = Field(default=0.004, ge=0.0, le=1.0)
    deviation: float = Field(default=0.03, ge=0.0, le=1.0)
    speeding: float = Field(default=0.05, ge=0.0, le=1.0)
    overloading: float = Field(default=0.06, ge=0.0, le=1.0)

    def as_tuple(self) -> tuple[float, ...]:
        """The probabilities in the order of :data:`VIOLATION_KINDS`."""
        return tuple(float(getattr(self, k)) for k in VIOLATION_KINDS)


COMPLIANT = ComplianceProfile(
    spillage=0.01, dumping=0.001, deviation=0.01, speeding=0.02, overloading=0.02
)
AVERAGE = ComplianceProfile()
RISKY = ComplianceProfile(
    spillage=0.08, dumping=0.015, deviation=0.08, speeding=0.10, overloading=0.15
)


class Company(Frozen):
    """A haulage company: its fleet, the sites it serves and its compliance profile.

    With ``sites`` empty the company is given sites automatically (see
    :func:`twin.trucks.actors.assign_sites`): sites, largest first, go to the company
    whose fleet is least loaded relative to its size.
    """

    name: str = Field(min_length=1)
    trucks: int = Field(ge=1, description="fleet size [trucks]")
    sites: tuple[str, ...] = Field(default=(), description="site ids served; empty: automatic")
    profile: ComplianceProfile = Field(default_factory=ComplianceProfile)


def _default_companies() -> tuple[Company, ...]:
    # Illustrative: four companies, one compliant, two average, one high-risk.
    return (
        Company(name="Company A (illustrative, compliant)", trucks=100, profile=COMPLIANT),
        Company(name="Company B (illustrative, average)", trucks=90, profile=AVERAGE),
        Company(name="Company C (illustrative, average)", trucks=80, profile=AVERAGE),
        Company(name="Company D (illustrative, high-risk)", trucks=50, profile=RISKY),
    )


class TruckSpec(Frozen):
    """The muck truck and the loading at sites (illustrative)."""

    capacity_m3: float = Field(
        default=12.0, gt=0.0, description="spoil per full load [m³] (the layer's sizing)"
    )
    speed_factor: float = Field(
        default=0.8, gt=0.0, le=2.0,
        description="truck speed relative to the network's car travel speed [-]",
    )  # fmt: skip
    loading_time: PositiveDuration = Field(default=360.0, description="time to load a truck [s]")
    site_loaders: int = Field(default=2, ge=1, description="trucks loaded at once at a site")


class Ban(Frozen):
    """An hour-of-day ban on roads or an area for muck trucks.

    A ban selects edges by any mix of ``road_classes``, explicit ``edges`` (OSM node id
    pairs ``(u, v)``; every parallel edge ``u → v``), an ``area`` (a lon/lat polygon; an
    edge is banned when either end lies inside) and ``name_contains`` (street names
    holding any of the strings, e.g. ``"高架"`` for elevated roads). Edges touching a
    site or dock node are never banned (trucks must get in and out). It applies during
    ``hours`` (local time).
    """

    name: str = Field(min_length=1)
    hours: Window = "00:00-24:00"
    road_classes: tuple[Literal["arterial", "collector", "local"], ...] = ()
    edges: tuple[tuple[int, int], ...] = ()
    area: tuple[tuple[float, float], ...] | None = Field(
        default=None, description="polygon ring of (lon, lat) [deg], at least 3 points"
    )
    name_contains: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Ban:
        if not (self.road_classes or self.edges or self.area or self.name_contains):
            raise ValueError(
                f"ban {self.name!r} selects nothing; give road_classes, edges, area or "
                "name_contains"
            )
        if self.area is not None and len(self.area) < 3:
            raise ValueError(f"ban {self.name!r}: an area needs at least 3 (lon, lat) points")
        if any(not s.strip() for s in self.name_contains):
            raise ValueError(f"ban {self.name!r}: name_contains holds an empty string")
        return self


# Illustrative: an area around Wulin Square (the commercial core of south Gongshu) closed
# to muck trucks in the day and evening, and the elevated expressways closed at all times.
_WULIN_CORE = ((120.155, 30.262), (120.180, 30.262), (120.180, 30.285), (120.155, 30.285))


def _default_bans() -> tuple[Ban, ...]:
    return (
        Ban(name="urban core 06:00-22:00 (illustrative)", hours="06:00-22:00", area=_WULIN_CORE),
        Ban(name="elevated roads, all day (illustrative)", name_contains=("高架",)),
    )


class ViolationModel(Frozen):
    """How a violation, once drawn, plays out (illustrative)."""

    spill_length_km: float = Field(
        default=1.5, gt=0.0, description="mean length of a spill trail (exponential) [km]"
    )
    spill_rate_m3_per_km: float = Field(
        default=0.1, ge=0.0, description="spoil lost per km of spill trail [m³/km]"
    )
    overload_spill_factor: float = Field(
        default=2.0, ge=1.0, description="spillage probability multiplier when overloaded [-]"
    )
    overload_fraction: float = Field(
        default=0.3, gt=0.0, le=2.0, description="extra load of an overloaded truck [-]"
    )
    speeding_factor: float = Field(
        default=1.3, gt=1.0, le=3.0, description="speed of a speeding truck over the normal [-]"
    )
    dump_time: Duration = Field(default=300.0, description="time to tip a load illegally [s]")
    dump_position: tuple[float, float] = Field(
        default=(0.2, 0.8),
        description="a dumping truck tips at a node this far along its route [-] (uniform)",
    )

    @field_validator("dump_position")
    @classmethod
    def _check_position(cls, value: tuple[float, float]) -> tuple[float, float]:
        lo, hi = value
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"dump_position must be 0 ≤ low ≤ high ≤ 1, got {list(value)}")
        return value


class CameraConfig(Frozen):
    """Fixed cameras on edges; each reads the plate of a violating truck it sees.

    ``edges`` places cameras on explicit edges (OSM node id pairs). ``count`` more are
    placed by ``placement``: ``"truck_flow"`` — on the edges most used by the planned
    site → dock routes, weighted by each site's trips (what a planner would do with the
    e-manifest data); ``"arterial"`` — on arterial edges drawn at random (seeded). A
    camera sees speeding, deviation, dumping and spillage when the violation happens on
    its edge.
    """

    edges: tuple[tuple[int, int], ...] = ()
    count: int = Field(default=40, ge=0, description="cameras placed by the rule [-]")
    placement: Literal["truck_flow", "arterial"] = "truck_flow"
    detection_prob: float = Field(default=0.8, ge=0.0, le=1.0, description="per sighting [-]")
    delay: Duration = Field(default=60.0, description="video AI processing delay [s]")


class CheckpointConfig(Frozen):
    """Checkpoints at docks: a weighbridge (overloading) and the e-manifest check.

    A truck tipping at a dock with a checkpoint is weighed: an overloaded truck is
    caught with ``detection_prob``. With ``manifest_check``, a trip registered at its
    site that never closes at a dock is flagged ``manifest_grace`` after the truck was
    expected there (a sign of illegal dumping; traced by the truck's GPS stops).
    """

    docks: tuple[str, ...] = Field(default=("*",), description="dock ids, or '*' for all")
    detection_prob: float = Field(default=0.95, ge=0.0, le=1.0)
    manifest_check: bool = True
    manifest_grace: Duration = Field(default=3600.0, description="[s]")
    delay: Duration = Field(default=0.0, description="[s]")


class ProbeConfig(Frozen):
    """Probe vehicles (equipped taxis and patrol cars, 云上坦途-style).

    Model: ``count`` probes spread uniformly over the network's length, each driving at
    ``speed_kph``. A truck spilling, speeding-free deviating or dumping is *seen in the
    act* on a stretch of ℓ km with probability ``1 − exp(−p·n·ℓ·k/L)`` (``n`` probes,
    ``L`` the network length [km], ``k`` the ``encounter_factor``). A dumped pile left
    at a node is passed by probes at the rate ``n·v/L`` [1/h] and found with
    probability ``p`` per pass, until it is cleared after ``residue_lifetime``.
    """

    count: int = Field(default=40, ge=0)
    detection_prob: float = Field(default=0.5, ge=0.0, le=1.0)
    speed_kph: float = Field(default=25.0, gt=0.0)
    encounter_factor: float = Field(default=1.0, gt=0.0)
    residue_lifetime: PositiveDuration = Field(default=14400.0, description="[s]")
    delay: Duration = Field(default=300.0, description="upload and review delay [s]")


class SensorsConfig(Frozen):
    """The sensors a scenario places (defaults illustrative)."""

    cameras: CameraConfig = Field(default_factory=CameraConfig)
    checkpoints: CheckpointConfig = Field(default_factory=CheckpointConfig)
    probes: ProbeConfig = Field(default_factory=ProbeConfig)


def _default_categories() -> dict[str, str | None]:
    return {
        "spillage": "muck_spillage",
        # The bundled table's one muck category (渣土撒漏) also stands for dumped spoil.
        "dumping": "muck_spillage",
        # The traffic police's, not city management's: no case unless mapped.
        "deviation": None,
        "speeding": None,
        "overloading": None,
    }


def _default_sources() -> dict[str, str]:
    return {
        "camera": "camera_ai",
        "checkpoint": "iot_alarm",
        "manifest": "iot_alarm",
        "probe": "camera_ai",
    }


class TruckCasesConfig(Frozen):
    """How detected and traced violations become cases of the case loop.

    ``categories`` maps a violation kind to a case category code (``None``: no case);
    ``sources`` maps a detector to a case source name; a case is reported
    ``report_delay`` after the detection (the one-click dispatch of a traced violation).
    """

    enabled: bool = True
    categories: dict[str, str | None] = Field(default_factory=_default_categories)
    sources: dict[str, str] = Field(default_factory=_default_sources)
    report_delay: Duration = Field(default=60.0, description="[s]")

    @field_validator("categories")
    @classmethod
    def _check_kinds(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        bad = sorted(set(value) - set(VIOLATION_KINDS))
        if bad:
            raise ValueError(f"unknown violation kind(s) {bad}; use {', '.join(VIOLATION_KINDS)}")
        return value

    @field_validator("sources")
    @classmethod
    def _check_detectors(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(set(value) - set(DETECTORS))
        if bad:
            raise ValueError(f"unknown detector(s) {bad}; use {', '.join(DETECTORS)}")
        return value


class RiskConfig(Frozen):
    """Flagging high-risk sites and companies from history (see :mod:`twin.trucks.risk`)."""

    prior_trips: float = Field(
        default=50.0, gt=0.0, description="weight of the overall rate, in trips [-]"
    )
    flag_ratio: float = Field(
        default=1.5, gt=1.0, description="flag when the smoothed rate exceeds this × overall"
    )
    min_detections: int = Field(default=2, ge=1, description="detections needed to flag [-]")


class TrucksConfig(Frozen):
    """Muck-truck governance: sites, docks, companies, bans, violations, sensors, cases.

    ``sites`` and ``docks`` are ``"layer"`` (the network's ``sites``/``docks`` layers,
    else the bundled ``data/layers`` files) or the path of a GeoJSON file following the
    layer schema. The day's trips follow each site's ``spoil_m3_per_day`` divided by the
    truck capacity (about 2,300 with the bundled sites); ``trips_per_day`` rescales
    every site's spoil to reach that many. ``site_hours`` and ``dock_hours`` override the
    layers' working and opening hours.
    """

    enabled: bool = False
    sites: str = "layer"
    docks: str = "layer"
    trips_per_day: float | None = Field(default=None, gt=0.0)
    site_hours: Window | None = None
    dock_hours: Window | None = None
    truck: TruckSpec = Field(default_factory=TruckSpec)
    companies: tuple[Company, ...] = Field(default_factory=_default_companies)
    bans: tuple[Ban, ...] = Field(default_factory=_default_bans)
    violations: ViolationModel = Field(default_factory=ViolationModel)
    sensors: SensorsConfig = Field(default_factory=SensorsConfig)
    cases: TruckCasesConfig = Field(default_factory=TruckCasesConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    record_interval: PositiveDuration = Field(default=60.0, description="positions every [s]")

    @model_validator(mode="after")
    def _check(self) -> TrucksConfig:
        if not self.companies:
            raise ValueError("needs at least one haulage company")
        names = [c.name for c in self.companies]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"company names must be unique; repeated: {', '.join(dup)}")
        bans = [b.name for b in self.bans]
        dup = sorted({n for n in bans if bans.count(n) > 1})
        if dup:
            raise ValueError(f"ban names must be unique; repeated: {', '.join(dup)}")
        claimed: dict[str, str] = {}
        for c in self.companies:
            for s in c.sites:
                if s in claimed:
                    raise ValueError(
                        f"site {s!r} is served by both {claimed[s]!r} and {c.name!r}; give "
                        "each site one company"
                    )
                claimed[s] = c.name
        return self
