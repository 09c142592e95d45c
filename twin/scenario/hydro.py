"""The rain and hydrology sections of a scenario: what rain falls, and what it does.

``rain`` names the storm (a design storm, a catalogued gauge event, a file, or a radar
event transposed over the network); ``hydro`` the waterlogging thresholds, the drainage
design and the predictive alerts (``hydro.forecast``) with their future-rain source.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from twin.durations import Duration, PositiveDuration
from twin.yamlconfig import Frozen

__all__ = [
    "RADAR_SOURCES",
    "DesignStormConfig",
    "ForecastConfig",
    "HydroConfig",
    "RadarRainConfig",
    "RainConfig",
    "RainFileConfig",
    "RunoffConfig",
    "TruthConfig",
]

#: Future-rain sources that are radar nowcasts (they need ``rain.kind: radar``).
RADAR_SOURCES: tuple[str, ...] = (
    "eulerian", "extrapolation", "sprog", "linda", "steps", "external"
)  # fmt: skip


class DesignStormConfig(Frozen):
    """A Chicago design storm from a storm-intensity formula q = A(1 + C·lg P)/(t + b)^n.

    The defaults are **illustrative** values of the order of published Chinese city
    formulas (t in minutes, q in L/(s·ha)); they are not Hangzhou's formula. Put your
    city's own parameters here and cite their source in the scenario's description.
    """

    A: float = Field(default=2000.0, gt=0.0)
    C: float = Field(default=0.8, ge=0.0)
    n: float = Field(default=0.7, gt=0.0, lt=1.0)
    b: float = Field(default=8.0, ge=0.0)
    units: Literal["L/s/ha", "mm/min"] = "L/s/ha"
    return_period: float = Field(default=10.0, gt=0.0, description="return period P [years]")
    duration: PositiveDuration = 7200.0
    peak_position: float = Field(default=0.4, ge=0.0, le=1.0)


class RadarRainConfig(Frozen):
    """A real radar rain sequence placed over the network's area (storm transposition).

    None of the shipped radar events fell on Hangzhou; every output that uses one says
    where it came from and that it was transposed (:mod:`twin.hydro.radar.transpose`).
    """

    event: str = Field(
        description="a shipped radar event (see `twin rain radar events`) or a CF NetCDF file"
    )
    dx_km: float = Field(default=0.0, description="east offset of the storm's placement [km]")
    dy_km: float = Field(default=0.0, description="north offset of the storm's placement [km]")
    rotation_deg: float = Field(default=0.0, description="counter-clockwise rotation [deg]")
    anchor: Literal["crop", "storm"] = Field(
        default="crop", description="offsets from the radar window's centre or the storm's"
    )
    begin: str | None = Field(
        default=None,
        description="radar time (UTC, ISO 8601) that falls at rain.start; default: the "
        "event's first frame",
    )
    size_km: float = Field(default=128.0, gt=10.0, le=512.0, description="grid side [km]")
    cell_m: float = Field(default=1000.0, ge=250.0, le=5000.0, description="grid cell [m]")
    in_place: bool = Field(
        default=False,
        description="the radar covers the network's own area: use it where it fell (no "
        "transposition; offsets and rotation must be 0)",
    )

    @model_validator(mode="after")
    def _in_place_is_not_moved(self) -> RadarRainConfig:
        if self.in_place and (self.dx_km or self.dy_km or self.rotation_deg):
            raise ValueError("in_place radar is not moved: leave dx_km, dy_km and rotation_deg 0")
        return self


class RainFileConfig(Frozen):
    """How to read a rain file (``rain.kind: file``): every reader option, declared.

    The accepted formats, each with a small example, are in ``data/rain/examples/``.
    Nothing is assumed silently: the step is inferred from the data (or declared here,
    and then checked), and the units must be in the file or declared here.
    """

    units: str | None = Field(
        default=None,
        description="units of the values: a depth per step (mm, kg m-2, m) or a rate "
        "(mm/h, mm s-1, kg m-2 s-1, m s-1); required unless the file says (NetCDF units "
        "attribute, or the Singapore NEA CSV layout: mm per step)",
    )
    interval: PositiveDuration | None = Field(
        default=None, description="the time step of the file; default: inferred and checked"
    )
    time_label: Literal["start", "end"] | None = Field(
        default=None,
        description="a time labels the start or the end of its interval; default end for "
        "gauge CSV (depth fallen up to the timestamp), start for NetCDF",
    )
    missing: Literal["error", "zero", "interpolate"] = Field(
        default="error",
        description="missing steps (no reading, or a time absent from the file): refuse "
        "them, treat them as dry (with a warning), or interpolate in time",
    )
    variable: str | None = Field(
        default=None, description="NetCDF variable; default rain_rate or the one rain variable"
    )
    timezone: str | None = Field(
        default=None,
        description="IANA zone of naive CSV timestamps; default the scenario's timezone",
    )
    station_col: str = Field(default="station_id", description="CSV column of the station id")
    value_col: str = Field(default="value", description="CSV column of the value")
    time_col: str = Field(default="timestamp_sgt", description="CSV column of the timestamp")
    lon_col: str = Field(default="lon", description="optional CSV column of gauge longitude")
    lat_col: str = Field(default="lat", description="optional CSV column of gauge latitude")
    margin_cells: float = Field(
        default=1.0, ge=0.0, le=50.0, description="grid cells kept around the network [cells]"
    )


class RainConfig(Frozen):
    """What rain falls, and when it starts (an offset from the scenario start)."""

    kind: Literal["none", "design_storm", "event", "file", "radar"] = "none"
    start: Duration = Field(default=28800.0, description="offset of the rain from the start")
    design_storm: DesignStormConfig = Field(default_factory=DesignStormConfig)
    event: str | None = Field(default=None, description="event_id from the storm catalogue")
    file: str | None = Field(default=None, description="a gauge CSV or CF NetCDF file")
    file_options: RainFileConfig = Field(
        default_factory=RainFileConfig,
        description="how to read the file: units, step, missing steps, variable, columns",
    )
    radar: RadarRainConfig | None = Field(
        default=None, description="a radar event transposed over the network (kind radar)"
    )
    scale: float = Field(
        default=1.0,
        ge=0.0,
        description="multiplier on the rain rate (≠ 1: the storm is intensified, and "
        "outputs say so)",
    )

    @model_validator(mode="after")
    def _check(self) -> RainConfig:
        if self.kind == "event" and not self.event:
            raise ValueError("kind 'event' needs `event:` (an event_id of the storm catalogue)")
        if self.kind == "file" and not self.file:
            raise ValueError("kind 'file' needs `file:` (a gauge CSV or NetCDF path)")
        if self.kind == "radar" and self.radar is None:
            raise ValueError(
                "kind 'radar' needs `radar: {event: ...}` (a shipped radar event such as "
                "fmi-20160928, or a CF NetCDF file)"
            )
        return self


class ForecastConfig(Frozen):
    """Predictive waterlogging alerts that pre-position crews before the water arrives.

    A trained forecaster (:mod:`twin.forecast`; a shipped kind under ``models/`` such as
    ``nhits``, or a model folder) is replayed online over the run's simulated gauge
    readings; each new alert (CAP ``Alert``) sends the ``crews_per_alert`` nearest
    available crews of the ponding category's skill to the low point
    (:class:`twin.coupling.staging.AlertStaging`).
    """

    enabled: bool = False
    model: str = Field(
        default="nhits",
        description="physics_ensemble (the twin's own ponding model with data assimilation), "
        "a shipped model kind (nhits, sarimax, linear, persistence) or a model folder",
    )
    rain_source: Literal[
        "persistence",
        "observed",
        "perturbed",
        "eulerian",
        "extrapolation",
        "sprog",
        "linda",
        "steps",
        "external",
    ] = Field(
        default="persistence",
        description="future rain the forecaster is given: gauge persistence, observed (an "
        "oracle, the upper bound), perturbed observed rain, or a pysteps radar nowcast "
        "(eulerian, extrapolation, sprog, linda, steps; rain.kind radar only), or external "
        "nowcast products (external_nowcasts; radar in place)",
    )
    external_nowcasts: str | None = Field(
        default=None,
        description="folder (or file) of CF NetCDF nowcast products, one issue time per "
        "file, for rain_source external",
    )
    nowcast_members: int = Field(
        default=20, ge=2, le=100, description="members of a STEPS nowcast ensemble"
    )
    nowcast_displacement: float = Field(
        default=0.0,
        ge=0.0,
        le=20.0,
        description="physics_ensemble with a deterministic radar nowcast: read the nowcast "
        "at points moved by this velocity error × lead, one draw per member (nowcast_members "
        "members) [m/s]; 0: the nowcast alone (fewer false alarms, shorter lead: "
        "benchmarks/README.md)",
    )
    cost_miss: float = Field(
        default=1.0, gt=0.0, description="cost of water that came without an alert [-]"
    )
    cost_false_alarm: float = Field(
        default=1.0, gt=0.0, description="cost of an alert for water that never came [-]"
    )
    conventions: dict[str, Any] = Field(
        default_factory=dict,
        description="alert conventions (twin.alerts.AlertConventions: identifier_scheme, "
        "area_code, agency_code, languages, colors …); default plain CAP 1.2",
    )

    @property
    def p_alert(self) -> float:
        """The alert probability p* = C_fa / (C_fa + C_miss) [-].

        Alerting when P(depth ≥ level within the horizon) ≥ p* minimises the expected
        cost of a miss (``cost_miss``) against a false alarm (``cost_false_alarm``).
        """
        return self.cost_false_alarm / (self.cost_false_alarm + self.cost_miss)

    every: PositiveDuration = Field(default=300.0, description="a forecast is issued every [s]")
    crews_per_alert: int = Field(default=1, ge=0, le=20, description="crews staged per alert")

    @model_validator(mode="after")
    def _displacement(self) -> ForecastConfig:
        if self.nowcast_displacement > 0.0 and (
            self.model != "physics_ensemble"
            or self.rain_source not in ("eulerian", "extrapolation", "sprog", "linda")
        ):
            raise ValueError(
                f"nowcast_displacement {self.nowcast_displacement:g} m/s needs model "
                "physics_ensemble and rain_source eulerian, extrapolation, sprog or linda (got "
                f"{self.model}, {self.rain_source}); set it to 0 or change those"
            )
        return self


class TruthConfig(Frozen):
    """How the real drains differ from their design: unknown to every forecaster.

    The twin derives each low point's drainage and catchment from the network
    (:mod:`twin.hydro.lowpoints`); real ones differ. With these settings the water of a
    run (the "truth" the gauges read) comes from parameters perturbed per point, and some
    drains block partway into the storm, while forecasters are told only the nominal
    values. Multipliers are lognormal with median 1.
    """

    capacity_sd: float = Field(default=0.0, ge=0.0, le=2.0, description="sd of ln(capacity)")
    area_sd: float = Field(default=0.0, ge=0.0, le=2.0, description="sd of ln(catchment area)")
    blockage_share: float = Field(
        default=0.0, ge=0.0, le=1.0, description="share of points whose drains block in a storm"
    )
    blockage_factor: float = Field(
        default=0.4, gt=0.0, le=1.0, description="capacity left in a blocked drain [-]"
    )
    blockage_within: PositiveDuration = Field(
        default=1800.0, description="a blockage starts within this time of the rain's start"
    )

    @property
    def active(self) -> bool:
        """Whether the truth differs from the nominal parameters at all."""
        return self.capacity_sd > 0 or self.area_sd > 0 or self.blockage_share > 0


class RunoffConfig(Frozen):
    """Optional SWMM runoff features for every low point (all off by default).

    Off, a run is bit for bit the default model. See
    :class:`twin.hydro.runoff_options.RunoffOptions`; each is verified against SWMM in
    ``tests/verification/``.
    """

    route_to_pervious: float = Field(
        default=0.0, ge=0.0, le=1.0,
        description="share of impervious runoff routed onto the pervious part (SWMM "
        "RouteTo PERVIOUS, PctRouted/100)",
    )  # fmt: skip
    dry_time: PositiveDuration | None = Field(
        default=None,
        description="Horton drying time: capacity recovers in dry weather (SWMM DryTime); "
        "default never",
    )
    green_ampt: dict[str, float] | None = Field(
        default=None,
        description="Green–Ampt instead of Horton: {suction: m, conductivity: mm/h, deficit: -}",
    )
    spill_to: dict[str, str] | None = Field(
        default=None,
        description="where water spilling out of a low point goes: {point id: receiving "
        "point id, or 'away'}; points not named spill away (default: all away)",
    )

    @model_validator(mode="after")
    def _check(self) -> RunoffConfig:
        ga = self.green_ampt
        if ga is not None and set(ga) != {"suction", "conductivity", "deficit"}:
            raise ValueError(
                "green_ampt needs exactly suction [m], conductivity [mm/h], deficit [-]"
            )
        return self

    @property
    def active(self) -> bool:
        """Whether any feature is on."""
        on = (
            self.route_to_pervious > 0,
            self.dry_time is not None,
            self.green_ampt is not None,
            bool(self.spill_to),
        )
        return any(on)


class HydroConfig(Frozen):
    """Waterlogging at low points and its coupling to the roads."""

    step: PositiveDuration = Field(default=60.0, description="hydrology time step")
    impeded_depth: float = Field(default=0.15, gt=0.0, description="depth that slows traffic [m]")
    closed_depth: float = Field(default=0.27, gt=0.0, description="depth that closes a road [m]")
    hysteresis: float = Field(default=0.02, ge=0.0, description="reopen below threshold − this [m]")
    slow_factor: float = Field(default=4.0, ge=1.0, description="travel-time factor when impeded")
    design_rain_rate: float = Field(default=40.0, gt=0.0, description="drainage design [mm/h]")
    ponding_cases: bool = True
    ponding_category: str = "road_ponding"
    ponding_source: str = "iot_alarm"
    forecast: ForecastConfig = Field(default_factory=ForecastConfig)
    truth: TruthConfig = Field(
        default_factory=TruthConfig,
        description="how the real drains differ from the derived ones (off by default)",
    )
    runoff: RunoffConfig = Field(
        default_factory=RunoffConfig,
        description="optional SWMM runoff features: subarea routing, Horton recovery, "
        "Green–Ampt (off by default)",
    )

    @model_validator(mode="after")
    def _check(self) -> HydroConfig:
        if self.closed_depth <= self.impeded_depth:
            raise ValueError(
                f"closed_depth ({self.closed_depth} m) must exceed impeded_depth "
                f"({self.impeded_depth} m)"
            )
        if self.hysteresis >= self.impeded_depth:
            raise ValueError("hysteresis must be smaller than impeded_depth")
        return self
