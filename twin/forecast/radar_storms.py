"""Storms from transposed radar events, with the radar nowcast issued at every 5 minutes.

The shipped radar events (:mod:`twin.hydro.radar.events`; none fell on Hangzhou) are
placed over Gongshu at several positions of the radar storm catalogue
(:func:`twin.hydro.radar.catalogue.storm_catalogue`: the ``n`` heaviest distinct
offsets of an event, each from its heaviest start) and **intensified** so that the
wettest low point peaks at a chosen rate (storm maximisation: these storms are lighter
than the drainage design; the factor is capped, :data:`MAX_SCALE`). Each is run through
the twin's ponding model with **hidden drains** (``hydro.truth``: capacity and area off
by lognormal factors, a share of the drains clogging early in the storm; one draw per
storm, from its own seed, so no forecaster can learn a test storm's drains from a
training storm), with two hours of dry record before the rain (as the gauge storms), read
through the noisy gauges (:mod:`twin.forecast.sensors`), and
nowcast by pysteps from the radar frames known at every issue time
(:func:`twin.forecast.radar_rain.radar_nowcaster`, extrapolation by default). The
result is a :class:`~twin.forecast.records.StormRecords` with the rain at each point
and the nowcast of every row, so training windows get the nowcast that would have been
available at their issue time (:mod:`twin.forecast.windows`), never the rain that fell.

Split by event, never inside one (:data:`RADAR_EVENT_SPLIT`): the placements of one
event overlap in space and time, so they all take the event's split.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from twin._types import FloatArray
from twin.forecast.errors import ForecastError
from twin.forecast.features import point_features
from twin.forecast.records import STEP_S, StormRecords
from twin.forecast.sensors import SensorModel, sensor_readings
from twin.forecast.windows import ENCODER_STEPS, HORIZON_STEPS
from twin.hydro.truth import DRAIN_CLIMATOLOGY

__all__ = [
    "MAX_SCALE",
    "RADAR_EVENT_SPLIT",
    "RadarPlacement",
    "radar_placements",
    "radar_storm_set",
    "transposed_storm",
]

logger = logging.getLogger(__name__)

#: The split of each shipped radar event (one per event, never inside one).
RADAR_EVENT_SPLIT: dict[str, str] = {
    "knmi-20100826": "train",
    "fmi-20170509": "train",
    "mrms-20190610": "validation",
    "fmi-20160928": "test",
}
#: Largest intensification factor of a transposed storm [-].
MAX_SCALE = 6.0
#: Peaks of the wettest low point the training placements are intensified to, in turn
#: [mm/h] (illustrative: light to heavy convective rain).
DEFAULT_PEAKS: tuple[float, ...] = (60.0, 100.0, 140.0)
#: The hidden drains of the radar storms (as ``scenarios/gongshu_radar_storm.yaml``).
TRUTH: dict[str, float] = DRAIN_CLIMATOLOGY.model_dump()
#: Dry time kept after the last rain [s].
_TAIL_S = 3 * 3600.0
_HORIZON_S = 14 * 3600.0


@dataclass(frozen=True)
class RadarPlacement:
    """One radar event placed over the district.

    Attributes
    ----------
    event
        Shipped radar event.
    dx_km, dy_km
        Offset of the district centre from the radar window's centre [km].
    begin
        The first radar time used (naive UTC, ISO text).
    split
        ``"train"``, ``"validation"`` or ``"test"``.
    """

    event: str
    dx_km: float
    dy_km: float
    begin: str
    split: str

    @property
    def storm_id(self) -> str:
        """``radar:<event>/<dx><dy>km`` (e.g. ``radar:fmi-20170509/-20+0km``)."""
        return f"radar:{self.event}/{self.dx_km:+.0f}{self.dy_km:+.0f}km"


def radar_placements(
    event: str, n: int, *, catalogue: pd.DataFrame | None = None
) -> list[RadarPlacement]:
    """The ``n`` heaviest distinct placements of an event, each from its heaviest start.

    Parameters
    ----------
    event
        Shipped radar event (a key of :data:`RADAR_EVENT_SPLIT`).
    n
        Placements (distinct offsets), heaviest areal rain depth first.
    catalogue
        The radar storm catalogue's table (default
        :func:`twin.hydro.radar.catalogue.storm_catalogue`).
    """
    if event not in RADAR_EVENT_SPLIT:
        raise ForecastError(f"radar event {event!r}: use one of {', '.join(RADAR_EVENT_SPLIT)}.")
    if catalogue is None:
        from twin.hydro.radar.catalogue import storm_catalogue

        catalogue = storm_catalogue().table
    rows = catalogue[catalogue["event"] == event].sort_values(
        ["depth_mm", "storm_id"], ascending=[False, True], kind="stable"
    )
    best = rows.drop_duplicates(["dx_km", "dy_km"]).head(n)
    return [
        RadarPlacement(
            event,
            float(r["dx_km"]),
            float(r["dy_km"]),
            str(pd.Timestamp(r["start"])),
            RADAR_EVENT_SPLIT[event],
        )
        for _, r in best.iterrows()
    ]


def transposed_storm(
    placement: RadarPlacement,
    *,
    peak: float,
    seed: int,
    net: Any = None,
    base: Any = None,
    lead_in_s: float = 1800.0,
) -> tuple[Any, Any, float]:
    """Run a placed radar storm, intensified, over the district with hidden drains.

    The storm starts ``lead_in_s`` into a 14-hour run; the factor is ``peak`` over the
    largest rate at any low point, within ``[1, MAX_SCALE]``; the run is cut 3 hours
    after the last rain (at a 5-minute boundary).

    Parameters
    ----------
    placement
        Event and position.
    peak
        Rain rate the wettest low point is intensified to [mm/h].
    seed
        The run's seed (its hidden drains).
    net
        The road network (default :func:`twin.network.default_network`).
    base
        A radar scenario to start from (default: a bare one with :data:`TRUTH`).
    lead_in_s
        Dry time before the rain starts [s].

    Returns
    -------
    (Scenario, Waterlogging, float)
        The scenario, its water (cut) and the factor applied.
    """
    from twin.hydro.waterlogging import simulate_waterlogging
    from twin.network import default_network
    from twin.scenario import Scenario

    net = net if net is not None else default_network()
    if base is None:
        base = Scenario.model_validate(
            {
                "name": f"radar-training-{placement.event}",
                "start": "2026-06-01T05:00:00",
                "timezone": "Asia/Shanghai",
                "horizon": _HORIZON_S,
                "seed": seed,
                "rain": {"kind": "radar", "radar": {"event": placement.event}},
                "hydro": {"step": 60.0, "truth": TRUTH},
            }
        )
    s = base.with_updates(
        horizon=_HORIZON_S, seed=seed,
        **{"rain.start": lead_in_s, "rain.scale": 1.0, "rain.radar.event": placement.event,
           "rain.radar.dx_km": placement.dx_km, "rain.radar.dy_km": placement.dy_km,
           "rain.radar.begin": placement.begin},
    )  # fmt: skip
    dry = simulate_waterlogging(net, s)
    if dry is None:
        raise ForecastError(f"{placement.storm_id}: the scenario has no rain.")
    scale = float(np.clip(peak / max(float(dry.rain_rate.max()), 1e-6), 1.0, MAX_SCALE))
    s = s.with_updates(**{"rain.scale": scale})
    water = simulate_waterlogging(net, s)
    assert water is not None
    wet = np.flatnonzero(water.rain_rate.max(axis=1) > 0.1)
    if wet.size == 0:
        raise ForecastError(f"{placement.storm_id}: no rain reaches the low points.")
    per5 = round(STEP_S / s.hydro.step)
    end = min(water.depth.shape[0] - 1, int(wet[-1]) + round(_TAIL_S / s.hydro.step))
    end -= end % per5
    water = replace(
        water, times=water.times[: end + 1], depth=water.depth[: end + 1],
        rain_rate=water.rain_rate[:end],
    )  # fmt: skip
    return s, water, scale


def radar_storm_set(
    *,
    events: Sequence[str] = ("knmi-20100826", "fmi-20170509", "mrms-20190610"),
    placements: int = 4,
    peaks: Sequence[float] = DEFAULT_PEAKS,
    method: str = "extrapolation",
    sensor: SensorModel | None = None,
    net: Any = None,
    seed: int,
) -> StormRecords:
    """Radar storms at every low point, read by gauges, with the nowcast of every row.

    Parameters
    ----------
    events
        Radar events (default: the training and validation events of
        :data:`RADAR_EVENT_SPLIT`; the test event is left out).
    placements
        Placements per event (:func:`radar_placements`).
    peaks
        Peaks the placements are intensified to, in turn [mm/h].
    method
        pysteps nowcast method (:data:`twin.forecast.radar_rain.RADAR_METHODS`; a STEPS
        ensemble gives its mean).
    sensor
        Gauge model (default: :class:`~twin.forecast.sensors.SensorModel` defaults).
    net
        The road network (default :func:`twin.network.default_network`).
    seed
        Seed of the runs' hidden drains (storm ``i`` takes ``seed + i``), the gauges and
        the nowcasts.

    Returns
    -------
    StormRecords
        Rain per point; ``nowcast`` by storm id; source ``"radar"``; each storm takes its
        event's split.
    """
    from twin.forecast.online import five_minute_grid
    from twin.forecast.radar_rain import RADAR_METHODS, radar_nowcaster
    from twin.network import default_network

    if method not in RADAR_METHODS:
        raise ForecastError(f"radar nowcast method {method!r}: use {', '.join(RADAR_METHODS)}.")
    if placements < 1 or not peaks:
        raise ForecastError("give at least one placement per event and one peak.")
    net = net if net is not None else default_network()
    sensor = sensor or SensorModel()
    rng = np.random.default_rng(seed)
    chosen = [p for e in events for p in radar_placements(e, placements)]
    ids, splits, rains, depths, obs, scales = [], [], [], [], [], []
    nowcasts: dict[str, FloatArray] = {}
    points = None
    for i, pl in enumerate(chosen):
        peak = float(peaks[i % len(peaks)])
        s, water, scale = transposed_storm(
            pl, peak=peak, seed=seed + i, net=net, lead_in_s=ENCODER_STEPS * STEP_S
        )
        depth5, rain5 = five_minute_grid(water.depth, water.rain_rate, water.times)
        rows = np.arange(depth5.shape[0], dtype=np.float64) * STEP_S
        start = pd.Timestamp(s.start).tz_convert("UTC").tz_localize(None)
        at = radar_nowcaster(
            water.radar, start, water.points.lon, water.points.lat, method=method,
            horizon_steps=HORIZON_STEPS, seed=seed + i,
        )  # fmt: skip
        sid = f"{pl.storm_id}/peak{peak:g}"
        nowcasts[sid] = np.asarray(at(rows).mean(axis=1), dtype=np.float64)
        ids.append(sid)
        splits.append(pl.split)
        rains.append(rain5)
        depths.append(depth5)
        obs.append(sensor_readings(depth5, STEP_S, sensor, rng))
        scales.append(scale)
        points = water.points
        logger.info("radar storm %s (%s): x%.2f, %d rows", sid, pl.split, scale, rain5.shape[0])
    if points is None:
        raise ForecastError(f"no radar placements for events {list(events)}.")
    lengths = np.array([r.shape[0] for r in rains], dtype=np.int64)
    return StormRecords(
        storm_id=np.array(ids),
        source=np.full(len(ids), "radar"),
        split=np.array(splits),
        offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64),
        rain=np.concatenate(rains).astype(np.float64),
        depth=np.concatenate(depths).astype(np.float64),
        obs=np.concatenate(obs).astype(np.float64),
        points=point_features(points),
        nowcast=nowcasts,
        nowcast_label=f"radar {method} nowcast (pysteps) at each low point",
        drains="radar storms: hidden drains as the gauge storms', drawn afresh for each "
        "storm (each placement another district)",
    )
