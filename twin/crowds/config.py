"""The crowd model's configuration: one frozen pydantic model, :class:`CrowdConfig`.

Everything the crowd model reads that a planner may change lives here: how plaza
geometry is turned into usable area and exits, the flow model's parameters, the demand
(timetabled arrivals, buses, background flow, events), interventions and alert
settings. Every model is frozen and rejects unknown fields, so a typo in a scenario file
is an error, not a silently ignored setting.

**Default demand values are illustrative**: chosen to give a plausible day at the
bundled Gongshu plazas, not measured or published. Literature values (the specific
capacity of an exit, the fundamental diagram, the Fruin levels of service) are cited
where they are defined (:mod:`twin.crowds.fundamental`, :mod:`twin.crowds.los`).

Plazas are named by *selectors*: an exact plaza id (``"plaza-wulin-square"``),
``"kind:station_plaza"`` / ``"kind:square"`` (every plaza of that kind) or ``"*"``
(every plaza). Events and interventions take an exact id. Times of day follow the run's
local clock (the scenario's time zone); durations are seconds or strings with a unit
(``"90s"``, ``"5min"``, ``"2h"``), as in the scenario files.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)

from twin.crowds.fundamental import EXIT_CAPACITY, RHO_MAX
from twin.crowds.los import density_threshold
from twin.durations import Duration, PositiveDuration, parse_duration
from twin.yamlconfig import Frozen

__all__ = [
    "AlertConfig",
    "BackgroundFlow",
    "BusFeed",
    "CrowdConfig",
    "CrowdEvent",
    "FlowModelConfig",
    "HoldTrains",
    "Intervention",
    "MetroFeed",
    "OpenExits",
    "PlazaGeometryConfig",
    "ResponseConfig",
    "SendStaff",
    "check_selector",
    "hour_profile",
    "parse_duration",
]

_KINDS = ("station_plaza", "square")


def hour_profile(value: Any) -> tuple[float, ...]:
    """24 hourly values (hour 0 … 23 of the local day) from one number or 24 numbers.

    Raises
    ------
    ValueError
        If the value is neither one number nor 24, or any is negative or not finite.
    """
    if isinstance(value, bool):
        raise ValueError("an hourly profile is one number or a list of 24 numbers")
    if isinstance(value, (int, float)):
        values: list[Any] = [value] * 24
    elif isinstance(value, (list, tuple)):
        values = list(value)
        if len(values) != 24:
            raise ValueError(
                f"an hourly profile needs 24 values (hours 0–23 of the local day) or one "
                f"number, got {len(values)} values"
            )
    else:
        raise ValueError(f"an hourly profile is one number or a list of 24 numbers, got {value!r}")
    out = []
    for h, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"hour {h}: {v!r} is not a number")
        if not 0.0 <= float(v) < float("inf"):
            raise ValueError(f"hour {h}: values must be finite and ≥ 0, got {v}")
        out.append(float(v))
    return tuple(out)


#: 24 hourly values, written as one number or a list of 24.
HourProfile = Annotated[tuple[float, ...], BeforeValidator(hour_profile)]


def check_selector(value: str) -> str:
    """Check a plaza selector: an id, ``"kind:<kind>"`` or ``"*"``."""
    if not value or not value.strip():
        raise ValueError("a plaza selector must be a plaza id, 'kind:<kind>' or '*'")
    if value.startswith("kind:") and value[5:] not in _KINDS:
        raise ValueError(f"unknown plaza kind in {value!r}; use one of {', '.join(_KINDS)}")
    return value


def _check_id(value: str) -> str:
    if not value or not value.strip() or value == "*" or value.startswith("kind:"):
        raise ValueError(f"needs one plaza id (not a selector), got {value!r}")
    return value


Selector = Annotated[str, AfterValidator(check_selector)]
PlazaId = Annotated[str, AfterValidator(_check_id)]


# ---------------------------------------------------------------------------- geometry


class PlazaGeometryConfig(Frozen):
    """How a plaza polygon becomes a usable area and exits (ASSUMPTIONS, overridable).

    The plaza layer holds outlines only. Each side of the outline at least
    ``min_side_m`` long gets ``max(1, round(length / exit_spacing_m))`` exits of
    ``exit_width_m``, evenly spaced along it. A feature's optional properties override
    these: ``exit_widths_m`` (a list of widths [m]), ``exits`` (a number of exits of the
    default width), ``usable_area_m2`` and ``walk_distance_m``.
    """

    usable_fraction: float = Field(
        default=0.7,
        gt=0.0,
        le=1.0,
        description="share of the outline's area open to walking and standing (planters, "
        "fountains, kiosks and furniture removed) [-]; illustrative",
    )
    exit_width_m: float = Field(
        default=4.0, gt=0.0, description="effective width of a default exit [m]; illustrative"
    )
    exit_spacing_m: float = Field(
        default=100.0, gt=0.0, description="one default exit per this length of a side [m]"
    )
    min_side_m: float = Field(
        default=20.0, ge=0.0, description="sides shorter than this get no exit [m]"
    )
    walk_distance_factor: float = Field(
        default=0.5,
        gt=0.0,
        description="mean walk to an exit = factor × √(usable area) [-] (0.5: centre to the "
        "middle of a side of a square plaza)",
    )


# ---------------------------------------------------------------------------- flow model


class FlowModelConfig(Frozen):
    """Parameters of the zone-level flow model (:mod:`twin.crowds.model`)."""

    step: PositiveDuration = Field(default=60.0, description="report and demand step [s]")
    substeps: int = Field(default=4, ge=1, le=600, description="model substeps per step [-]")
    exit_capacity: float = Field(
        default=EXIT_CAPACITY,
        gt=0.0,
        le=3.0,
        description="specific capacity of an exit [persons/(m·s)]; 1.3 is SFPE's maximum "
        "specific flow for doorways and corridors",
    )
    base_exit_efficiency: float = Field(
        default=0.8,
        gt=0.0,
        le=1.0,
        description="share of the capacity an exit passes with no staff managing it "
        "(cross-flows, hesitation, uneven use of the width) [-]; illustrative",
    )
    staff_gain: float = Field(
        default=0.1,
        ge=0.0,
        description="efficiency added per staff member per open exit [-], up to 1; "
        "illustrative (2 staff per exit restore full capacity with the defaults)",
    )
    admission_density: float = Field(
        default=5.0,
        gt=0.0,
        lt=RHO_MAX,
        description="a plaza admits nobody above this density; arrivals wait outside [persons/m²]",
    )
    los_table: Literal["walkway", "queuing"] = Field(
        default="walkway", description="Fruin table used for the level of service"
    )

    @property
    def dt_sub(self) -> float:
        """Length of a substep [s]."""
        return self.step / self.substeps


# ---------------------------------------------------------------------------- demand

# Illustrative hourly profiles (hour 0 … 23 of the local day).
_TRAINS_PER_HOUR = (0, 0, 0, 0, 0, 0, 12, 40, 40, 30, 20, 20,
                    20, 20, 20, 20, 24, 40, 40, 24, 24, 20, 16, 8)  # fmt: skip
_BUSES_PER_HOUR = (0, 0, 0, 0, 0, 4, 12, 24, 24, 18, 14, 14,
                   14, 14, 14, 14, 18, 24, 24, 18, 14, 12, 8, 4)  # fmt: skip
_BACKGROUND_PER_HA = (5, 3, 2, 2, 3, 10, 40, 120, 120, 150, 150, 150,
                      200, 200, 150, 150, 150, 250, 250, 400, 400, 250, 100, 30)  # fmt: skip


class MetroFeed(Frozen):
    """Timetabled arrivals at a plaza: a metro line's trains (or a water bus's boats).

    Trains come at a regular headway within each hour (``trains_per_hour``, both
    directions together); each brings ``alighting_per_train`` people who leave the
    station through this plaza. They reach the plaza ``walk_s`` after the train stops,
    spread evenly over ``spread_s`` (escalators and gates meter them). Defaults are
    illustrative.
    """

    name: str = Field(min_length=1)
    plaza: Selector
    trains_per_hour: HourProfile = Field(default=_TRAINS_PER_HOUR)
    alighting_per_train: HourProfile = Field(
        default=(25.0,) * 24, description="people per train who come out on this plaza"
    )
    walk_s: Duration = Field(default=60.0, description="platform to plaza [s]")
    spread_s: Duration = Field(default=90.0, description="a train's load reaches the plaza over")


class BusFeed(Frozen):
    """Bus arrivals at a plaza: a steady flow of ``buses_per_hour × alighting_per_bus``."""

    name: str = Field(min_length=1)
    plaza: Selector
    buses_per_hour: HourProfile = Field(default=_BUSES_PER_HOUR)
    alighting_per_bus: float = Field(default=5.0, ge=0.0)


class BackgroundFlow(Frozen):
    """Walk-in visitors by hour of day; they stay ``dwell_s`` on average (exponential).

    With ``per_hectare`` the profile is per hectare of the plaza's outline (the layer's
    ``area_m2``), else per plaza. ``dwell_s = 0`` makes them walk straight through.
    """

    name: str = Field(min_length=1)
    plaza: Selector = "*"
    per_hour: HourProfile = Field(default=_BACKGROUND_PER_HA, description="people per hour")
    per_hectare: bool = True
    dwell_s: Duration = Field(default=900.0, description="mean stay [s]")


class CrowdEvent(Frozen):
    """A concert, game or festival with start and end times and an attendance.

    Attendees arrive over ``arrival_window_s`` before ``start`` (``ramp``: a rate rising
    linearly to the start; ``uniform``: an even rate) and begin to leave at ``end``,
    evenly over ``egress_window_s``. With ``venue = "plaza"`` the event is held on the
    plaza and attendees stay there until they leave; with ``"adjacent"`` it is held in a
    venue beside the plaza, which attendees cross on their way in and again on their way
    out. A share ``metro_share`` of the arrivals comes by the timetabled feed serving
    the plaza, in surges with each train. Naive times are taken in the run's time zone.
    """

    name: str = Field(min_length=1)
    plaza: PlazaId
    start: datetime
    end: datetime
    attendance: float = Field(gt=0.0, description="people")
    arrival_window_s: PositiveDuration = 7200.0
    arrival_shape: Literal["ramp", "uniform"] = "ramp"
    egress_window_s: Duration = 1800.0
    venue: Literal["plaza", "adjacent"] = "plaza"
    metro_share: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _check_times(self) -> CrowdEvent:
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError("start and end must both carry a time zone or both be naive")
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must come after start ({self.start})")
        return self


# ---------------------------------------------------------------------------- interventions


class OpenExits(Frozen):
    """Open extra exits at a plaza from ``start`` (until ``end``, if given).

    Times are seconds from the run's start. ``widths_m`` lists the new exits' widths [m].
    """

    kind: Literal["open_exits"] = "open_exits"
    plaza: PlazaId
    start: Duration
    end: Duration | None = None
    widths_m: tuple[float, ...] = Field(min_length=1)

    @field_validator("widths_m")
    @classmethod
    def _check_widths(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0.0 < w < float("inf") for w in value):
            raise ValueError(f"exit widths must be finite and > 0 [m], got {list(value)}")
        return value

    @model_validator(mode="after")
    def _check_times(self) -> OpenExits:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end} s) must come after start ({self.start} s)")
        return self


class HoldTrains(Frozen):
    """Hold trains: cap the timetabled arrivals at a plaza from ``start`` to ``end``.

    During the hold at most ``max_per_min`` people a minute come out of the station onto
    the plaza. The rest wait upstream (held trains, platforms) and come out after the
    hold, at up to ``release_per_min`` a minute on top of new arrivals (all in the first
    step after the hold when ``None``); with ``divert`` they alight elsewhere instead
    (trains skip the station) and never reach the plaza. Times are seconds from the
    run's start.
    """

    kind: Literal["hold_trains"] = "hold_trains"
    plaza: PlazaId
    start: Duration
    end: Duration
    max_per_min: float = Field(ge=0.0, description="people a minute let out during the hold")
    release_per_min: float | None = Field(default=None, gt=0.0)
    divert: bool = False

    @model_validator(mode="after")
    def _check_times(self) -> HoldTrains:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end} s) must come after start ({self.start} s)")
        return self


class SendStaff(Frozen):
    """Staff on site at a plaza from ``start`` (until ``end``, if given), managing exits.

    Times are seconds from the run's start. For crews dispatched through the case loop,
    pass their presence to :func:`twin.crowds.model.simulate` as ``staff`` instead
    (:func:`twin.crowds.interventions.staff_presence`).
    """

    kind: Literal["send_staff"] = "send_staff"
    plaza: PlazaId
    start: Duration
    end: Duration | None = None
    staff: int = Field(ge=1)

    @model_validator(mode="after")
    def _check_times(self) -> SendStaff:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end} s) must come after start ({self.start} s)")
        return self


#: One intervention, told apart by its ``kind``.
Intervention = Annotated[OpenExits | HoldTrains | SendStaff, Field(discriminator="kind")]


# ---------------------------------------------------------------------------- alerts


class AlertConfig(Frozen):
    """When a forecast density raises an alert (:mod:`twin.crowds.alerts`)."""

    density_threshold: float = Field(
        default=round(density_threshold("E", "walkway"), 3),
        gt=0.0,
        description="alert when the forecast density exceeds this [persons/m²]; default: "
        "Fruin's walkway level E begins (10 ft² a person, 1.076 persons/m²)",
    )
    horizon: PositiveDuration = Field(default=1800.0, description="forecast horizon [s]")
    every: PositiveDuration = Field(default=300.0, description="a forecast is issued every [s]")


class ResponseConfig(Frozen):
    """How a crowd alert is answered through the case loop (in a scenario run).

    Each alert raises ``crews_per_alert`` cases of ``category`` at the plaza's node,
    reported at the alert's issue time through ``source``; the crew that takes one
    travels there and works ``work`` seconds on site, adding ``staff_per_crew`` staff
    to the plaza while it works. Staffing values are illustrative assumptions.
    """

    dispatch: bool = Field(default=True, description="raise cases from alerts")
    crews_per_alert: int = Field(default=2, ge=1, le=50, description="cases raised per alert")
    staff_per_crew: float = Field(
        default=3.0, gt=0.0, description="staff a crew adds at the plaza while working"
    )
    work: PositiveDuration = Field(default=3600.0, description="time a crew spends on site [s]")
    category: str = Field(default="crowd_control", description="case category raised")
    source: str = Field(default="iot_alarm", description="case source (one of cases.sources)")


# ---------------------------------------------------------------------------- all


def _default_metro() -> tuple[MetroFeed, ...]:
    return (MetroFeed(name="timetabled arrivals (illustrative)", plaza="kind:station_plaza"),)


def _default_buses() -> tuple[BusFeed, ...]:
    return (BusFeed(name="buses (illustrative)", plaza="*"),)


def _default_background() -> tuple[BackgroundFlow, ...]:
    return (BackgroundFlow(name="walk-in visitors (illustrative)", plaza="*"),)


def _unique(kind: str, names: list[str]) -> None:
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{kind} names must be unique; repeated: {', '.join(dup)}")


class CrowdConfig(Frozen):
    """Crowds at station plazas and public squares: geometry, model, demand, actions.

    Default demand (one timetabled feed at every station plaza, buses and walk-in
    visitors everywhere, no events) is illustrative.
    """

    enabled: bool = True
    geometry: PlazaGeometryConfig = Field(default_factory=PlazaGeometryConfig)
    model: FlowModelConfig = Field(default_factory=FlowModelConfig)
    metro: tuple[MetroFeed, ...] = Field(default_factory=_default_metro)
    buses: tuple[BusFeed, ...] = Field(default_factory=_default_buses)
    background: tuple[BackgroundFlow, ...] = Field(default_factory=_default_background)
    events: tuple[CrowdEvent, ...] = ()
    interventions: tuple[Intervention, ...] = ()
    alerts: AlertConfig = Field(default_factory=AlertConfig)
    response: ResponseConfig = Field(default_factory=ResponseConfig)

    @model_validator(mode="after")
    def _check_names(self) -> CrowdConfig:
        _unique("metro feed", [f.name for f in self.metro])
        _unique("bus feed", [f.name for f in self.buses])
        _unique("background flow", [f.name for f in self.background])
        _unique("event", [e.name for e in self.events])
        return self
