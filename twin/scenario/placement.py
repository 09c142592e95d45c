"""Sensor placement settings: one frozen pydantic model, :class:`PlacementConfig`.

Every model is frozen and rejects unknown fields, so a typo in a scenario's
``placement:`` section (or a placement YAML) is an error, not a silently ignored setting.
Durations are seconds or strings with a unit (``"15min"``, ``"2d"``), as in scenarios.

**Default values are illustrative** unless a source is named: they give a plausible
problem on the bundled Gongshu network, not measured Hangzhou figures. The published
figures used are from ``docs/DOMAIN.md``: 300 probe vehicles in 云上坦途, 98 % detection
accuracy of the probe box, 18 gauges at Wanzhi's flood-prone points.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from twin.durations import PositiveDuration
from twin.yamlconfig import Frozen

__all__ = [
    "OBJECTIVES",
    "TECHNOLOGIES",
    "CameraConfig",
    "CostConfig",
    "GaugeConfig",
    "Objective",
    "PlacementConfig",
    "ProbeConfig",
    "Technology",
]

#: Sensor technologies: water-level gauges at low points, cameras on edges, probe vehicles.
TECHNOLOGIES = ("gauge", "camera", "probe")
Technology = Literal["gauge", "camera", "probe"]
#: Objectives: share of events detected, mean time to detection, expected undetected
#: impact, and (gauges only) the forecast skill at ungauged points.
OBJECTIVES = ("coverage", "time", "impact", "skill")
Objective = Literal["coverage", "time", "impact", "skill"]


class CostConfig(Frozen):
    """Cost of one sensor of each technology, in the budget's unit.

    The default of 1 for every technology makes the budget a number of sensors. Give
    real prices (e.g. thousand CNY) when technologies compete for one budget.
    """

    gauge: float = Field(default=1.0, gt=0.0)
    camera: float = Field(default=1.0, gt=0.0)
    probe: float = Field(default=1.0, gt=0.0)


class GaugeConfig(Frozen):
    """Water-level gauges at low points, scored on ensembles of storms.

    Storms come from the shipped catalogue (real gauge records, split into train /
    validation / test by storm day) and from Chicago design storms of the scenario's
    storm-intensity formula (``rain.design_storm``) over a grid of return periods and
    durations. The detection model is in :mod:`twin.placement.gauges`.
    """

    storms: Literal["catalogue", "design", "both"] = "both"
    train_splits: tuple[Literal["train", "validation", "test"], ...] = ("train",)
    test_splits: tuple[Literal["train", "validation", "test"], ...] = ("test",)
    max_storms: int | None = Field(
        default=200,
        ge=1,
        description="catalogue storms kept per split, a seeded sample (None: all); keeps "
        "the MILP to about a minute",
    )
    design_return_periods: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
    design_durations: tuple[PositiveDuration, ...] = (3600.0, 7200.0, 10800.0)
    event_depth: float | None = Field(
        default=None, gt=0.0, description="onset depth [m]; default the scenario's impeded depth"
    )
    alarm_depth: float | None = Field(
        default=None, gt=0.0, description="depth at which a gauge alarms [m]; default event_depth"
    )
    proxy_max_travel: float = Field(
        default=300.0, ge=0.0, description="farthest a crew is sent from an alarming gauge [s]"
    )
    rain_cv: float = Field(
        default=0.25, ge=0.0, le=2.0, description="spatial variability of storm depth [-]"
    )
    rain_correlation_m: float = Field(
        default=3000.0, gt=0.0, description="correlation length of that variability [m]"
    )
    step: PositiveDuration = Field(default=300.0, description="hydrology step [s]")
    pad: PositiveDuration = Field(default=3600.0, description="dry time before a storm [s]")
    tail: PositiveDuration = Field(default=10800.0, description="dry time after a storm [s]")

    @model_validator(mode="after")
    def _check(self) -> GaugeConfig:
        if not self.train_splits:
            raise ValueError("train_splits needs at least one split (train, validation, test)")
        if set(self.train_splits) & set(self.test_splits):
            raise ValueError(
                f"train_splits {list(self.train_splits)} and test_splits "
                f"{list(self.test_splits)} overlap; held-out storms must not be optimised on"
            )
        if any(p <= 0 for p in self.design_return_periods):
            raise ValueError("design_return_periods must be positive [years]")
        return self


class ProbeConfig(Frozen):
    """Probe vehicles (taxis with a sensor box) finding road defects on their trips.

    ``vehicles`` is the published 云上坦途 fleet (300 taxis and ride-hailing cars) and
    ``detect_probability`` its published 98 % accuracy, used here as the chance that one
    pass over a defect detects it. Everything else is illustrative.
    """

    vehicles: int = Field(default=300, ge=1, description="candidate vehicles")
    days: float = Field(default=7.0, gt=0.0, description="simulated days [d]")
    trips_per_day: float = Field(default=18.0, gt=0.0, description="mean over vehicles")
    activity_shape: float = Field(
        default=4.0, gt=0.0, description="gamma shape of the vehicles' trip rates [-]"
    )
    shift_hours: float = Field(default=10.0, gt=0.0, le=24.0, description="shift length [h]")
    dwell: PositiveDuration = Field(default=480.0, description="mean wait between trips [s]")
    home_share: float = Field(
        default=0.5, ge=0.0, le=1.0, description="share of trips ending near home [-]"
    )
    home_radius_m: float = Field(default=1500.0, gt=0.0, description="home area radius [m]")
    defects_per_day: float = Field(default=20.0, gt=0.0, description="new defects a day")
    defect_lifetime: PositiveDuration = Field(
        default=172800.0, description="time until another channel reports a defect [s]"
    )
    detect_probability: float = Field(default=0.98, gt=0.0, le=1.0)
    route_hour: int | None = Field(
        default=None, ge=0, le=23, description="hour whose travel times route; None: free flow"
    )
    defect_rate: dict[str, float] = Field(
        default_factory=lambda: {"arterial": 2.0, "collector": 1.5, "local": 1.0},
        description="relative defect rate per km by road class",
    )
    exposure: dict[str, float] = Field(
        default_factory=lambda: {"arterial": 4.0, "collector": 2.0, "local": 1.0},
        description="relative traffic exposed to a defect by road class",
    )

    @model_validator(mode="after")
    def _check(self) -> ProbeConfig:
        for name in ("defect_rate", "exposure"):
            table = getattr(self, name)
            missing = {"arterial", "collector", "local"} - set(table)
            if missing:
                raise ValueError(f"{name} needs a value for {sorted(missing)}")
            if any(not v >= 0 for v in table.values()):
                raise ValueError(f"{name} values must be >= 0")
        if self.defect_lifetime >= self.days * 86400.0:
            raise ValueError("defect_lifetime must be shorter than the simulated days")
        return self


class CameraConfig(Frozen):
    """Cameras on edges catching truck violations.

    Events come from ``events`` (a CSV or Parquet table in the format of
    :func:`twin.placement.cameras.camera_impact`), else from :mod:`twin.trucks` when it
    is installed and usable, else from the site → dock trip generator
    :func:`twin.placement.cameras.truck_trip_events`.
    """

    events: str | None = Field(default=None, description="CSV/Parquet of violation events")
    trips: int = Field(default=2300, ge=1, description="truck trips (published: ~2,300 a day)")
    violation_share: float = Field(default=0.05, gt=0.0, le=1.0, description="trips violating")
    candidate_edges: tuple[int, ...] | None = Field(
        default=None, description="edge positions allowed a camera; None: edges of events"
    )


class PlacementConfig(Frozen):
    """Where to put sensors: technologies, objective, budget, solvers and evaluation."""

    technologies: tuple[Technology, ...] = ("gauge",)
    objective: Objective = "impact"
    budget: float = Field(default=5.0, ge=0.0, description="in the unit of `costs`")
    costs: CostConfig = Field(default_factory=CostConfig)
    max_per_technology: dict[Technology, int] = Field(default_factory=dict)
    solver: Literal["milp", "greedy", "both"] = "both"
    time_limit: PositiveDuration = Field(default=120.0, description="per MILP solve [s]")
    curve_points: int = Field(default=8, ge=0, description="budgets on the Pareto curve")
    seed: int | None = Field(default=None, ge=0, description="default: the scenario's seed")
    evaluation_seed_offset: int = Field(
        default=1000, ge=1, description="fresh runs use seed + this"
    )
    gauge: GaugeConfig = Field(default_factory=GaugeConfig)
    probe: ProbeConfig = Field(default_factory=ProbeConfig)
    camera: CameraConfig = Field(default_factory=CameraConfig)

    @model_validator(mode="after")
    def _check(self) -> PlacementConfig:
        if not self.technologies:
            raise ValueError(f"technologies needs at least one of {', '.join(TECHNOLOGIES)}")
        if len(set(self.technologies)) != len(self.technologies):
            raise ValueError(f"technologies lists one twice: {list(self.technologies)}")
        if self.objective == "skill" and tuple(self.technologies) != ("gauge",):
            raise ValueError(
                "objective 'skill' (forecast skill at ungauged points) needs technologies "
                "['gauge'] alone"
            )
        for tech, cap in self.max_per_technology.items():
            if cap < 0:
                raise ValueError(f"max_per_technology.{tech} must be >= 0, got {cap}")
        return self
