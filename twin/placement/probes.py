"""Probe vehicles: taxis with a sensor box finding road defects on their trips (云上坦途).

Which vehicles, and how many, to equip? Candidates are the vehicles of a fleet; an
event is a road defect (pothole, subsidence, ponding...) that appears on an edge; an
equipped vehicle detects it when it drives over that edge while the defect is there.

Fleet (:func:`draw_fleet`, seeded separately, so fresh runs keep the same vehicles)
    Each vehicle has a home node (drawn from the demand weights), a trip rate [trips/d]
    (gamma over vehicles: mean ``trips_per_day``, shape ``activity_shape``) and a shift
    start (uniform over the day), worked every day for ``shift_hours``.
Trips (:func:`simulate_trips`)
    Each vehicle-day has a Poisson number of trips at the vehicle's rate. A trip ends
    near home with probability ``home_share`` (a Gaussian offset of ``home_radius_m``
    snapped to a node), else at a node drawn from the demand weights
    (:func:`twin.cases.arrivals.demand_weights`); it starts where the last ended (home
    for the first). Trips follow the fastest route on the network at one hour's travel
    times (``route_hour``; free flow by default), computed for all trips at once: one
    shortest-path tree per distinct origin (``scipy.sparse.csgraph``), paths read off
    the predecessor arrays for all trips together. Between trips the vehicle waits an
    exponential ``dwell``; trips starting after the shift ends are dropped.
    *Simplification*: only passenger legs are driven; cruising while empty is not.
Defects (:func:`draw_defects`)
    A Poisson number at ``defects_per_day``, appearing uniformly in time (early enough
    to live out their lifetime within the simulated days), on edges drawn with
    probability ∝ length × ``defect_rate`` of the edge's road class. A defect lasts
    ``defect_lifetime`` (another channel reports it by then). Its impact is
    ``exposure[class] × lifetime [h]`` (traffic-weighted defect-hours), accruing
    linearly.
Detection (:func:`probe_impact`)
    Each pass of a vehicle over the defect's edge during its lifetime detects it with
    probability ``detect_probability`` (the published 98 % accuracy, used as a per-pass
    detection rate), independently; the record is the vehicle's first detecting pass.
    Edges are directed: a defect lies in one direction's lane.

All defaults but the fleet size (300, published) and the 98 % are **illustrative**.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin._types import FloatArray, IntArray
from twin.cases.arrivals import NodeIndex
from twin.network.road_network import RoadNetwork
from twin.placement.errors import PlacementError
from twin.placement.impact import ImpactMatrix
from twin.placement.routing import route_many
from twin.scenario.placement import ProbeConfig

__all__ = [
    "Defects",
    "Fleet",
    "TripLog",
    "draw_defects",
    "draw_fleet",
    "probe_ensemble",
    "probe_impact",
    "simulate_trips",
]

logger = logging.getLogger(__name__)

_DAY = 86400.0
#: Most trips one vehicle makes in a day (a cap on the Poisson draw).
MAX_TRIPS_PER_DAY = 80


@dataclass(frozen=True, eq=False)
class Fleet:
    """Candidate vehicles and their traits.

    Attributes
    ----------
    home
        Home node position of each vehicle.
    rate
        Mean trips a day [1/d].
    shift_start
        Shift start [h of day].
    """

    home: IntArray
    rate: FloatArray
    shift_start: FloatArray

    def __len__(self) -> int:
        return int(self.home.shape[0])


@dataclass(frozen=True, eq=False)
class TripLog:
    """Trips driven and every edge traversal, for ``days`` days.

    Attributes
    ----------
    trip_vehicle, trip_depart, trip_travel_time, trip_origin, trip_destination
        Per trip: vehicle, departure [s since start], travel time [s], node positions.
    vehicle, edge, time
        Per traversal (sorted by edge, then time): vehicle, edge position, and the time
        the vehicle enters the edge [s since start].
    days
        Simulated days [d].
    """

    trip_vehicle: IntArray
    trip_depart: FloatArray
    trip_travel_time: FloatArray
    trip_origin: IntArray
    trip_destination: IntArray
    vehicle: IntArray
    edge: IntArray
    time: FloatArray
    days: float

    def km_driven(self, net: RoadNetwork, n_vehicles: int) -> FloatArray:
        """Distance driven by each vehicle [km]."""
        out = np.bincount(self.vehicle, weights=net.length[self.edge], minlength=n_vehicles)
        return np.asarray(out / 1000.0, dtype=float)


@dataclass(frozen=True, eq=False)
class Defects:
    """Road defects: edge, appearance time [s], lifetime [s] and impact [exposure·h]."""

    edge: IntArray
    appear: FloatArray
    lifetime: FloatArray
    impact: FloatArray

    def __len__(self) -> int:
        return int(self.edge.shape[0])


def _check_demand(net: RoadNetwork, demand: FloatArray) -> FloatArray:
    w = np.asarray(demand, dtype=float)
    if w.shape != (net.n_nodes,) or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise PlacementError(
            f"demand weights must be {net.n_nodes} finite values >= 0 (one per node) with a "
            "positive sum; build them with twin.cases.arrivals.demand_weights"
        )
    return np.asarray(w / w.sum(), dtype=np.float64)


def draw_fleet(
    net: RoadNetwork, demand: FloatArray, cfg: ProbeConfig, rng: np.random.Generator
) -> Fleet:
    """Draw ``cfg.vehicles`` vehicles: home node, trip rate and shift start."""
    w = _check_demand(net, demand)
    n = cfg.vehicles
    home = rng.choice(net.n_nodes, size=n, p=w).astype(np.int64)
    rate = rng.gamma(cfg.activity_shape, cfg.trips_per_day / cfg.activity_shape, size=n)
    start = rng.uniform(0.0, 24.0, size=n)
    return Fleet(home=home, rate=rate, shift_start=start)


def simulate_trips(
    net: RoadNetwork,
    fleet: Fleet,
    demand: FloatArray,
    cfg: ProbeConfig,
    rng: np.random.Generator,
) -> TripLog:
    """Every vehicle's trips over ``cfg.days`` days, and every edge they traverse.

    See the module docstring for the model.
    """
    w = _check_demand(net, demand)
    days = int(np.ceil(cfg.days))
    horizon = cfg.days * _DAY
    n_v = len(fleet)
    counts = np.minimum(rng.poisson(np.repeat(fleet.rate, days)), MAX_TRIPS_PER_DAY)
    vd_vehicle = np.repeat(np.arange(n_v), days)
    vd_day = np.tile(np.arange(days), n_v)
    n_trips = int(counts.sum())
    if n_trips == 0:
        raise PlacementError("the fleet made no trip; raise vehicles, days or trips_per_day")
    vd = np.repeat(np.arange(counts.size), counts)  # vehicle-day of each trip
    first = np.r_[True, vd[1:] != vd[:-1]]
    vehicle = vd_vehicle[vd]
    index = NodeIndex(net)
    near_home = rng.random(n_trips) < cfg.home_share
    dest = rng.choice(net.n_nodes, size=n_trips, p=w).astype(np.int64)
    m = int(near_home.sum())
    if m:
        offset = rng.normal(0.0, cfg.home_radius_m, size=(m, 2))
        dest[near_home] = index.snap(index.xy[fleet.home[vehicle[near_home]]] + offset)
    origin = np.where(first, fleet.home[vehicle], np.r_[0, dest[:-1]]).astype(np.int64)
    dwell = rng.exponential(cfg.dwell, size=n_trips)
    edge_time = net.edge_travel_time(cfg.route_hour)
    travel, t_trip, t_edge, t_off = route_many(net, origin, dest, edge_time)
    ok_route = np.isfinite(travel)
    seg = dwell + np.where(ok_route, travel, 0.0)
    cum = np.cumsum(seg)
    group_start = np.flatnonzero(first)
    base = np.repeat(cum[group_start] - seg[group_start], counts[counts > 0])
    shift0 = vd_day[vd] * _DAY + fleet.shift_start[vehicle] * 3600.0
    arrive = shift0 + cum - base
    depart = arrive - np.where(ok_route, travel, 0.0)
    keep = ok_route & (depart < shift0 + cfg.shift_hours * 3600.0) & (depart < horizon)
    tk = keep[t_trip]
    trav_time = depart[t_trip[tk]] + t_off[tk]
    trav_edge = t_edge[tk]
    trav_vehicle = vehicle[t_trip[tk]]
    inside = trav_time < horizon
    trav_time, trav_edge, trav_vehicle = trav_time[inside], trav_edge[inside], trav_vehicle[inside]
    order = np.lexsort((trav_time, trav_edge))
    logger.info(
        "probe trips: %d vehicles, %d trips, %d edge traversals over %.1f d",
        n_v,
        int(keep.sum()),
        order.size,
        cfg.days,
    )
    return TripLog(
        trip_vehicle=vehicle[keep],
        trip_depart=depart[keep],
        trip_travel_time=travel[keep],
        trip_origin=origin[keep],
        trip_destination=dest[keep],
        vehicle=trav_vehicle[order].astype(np.int64),
        edge=trav_edge[order].astype(np.int64),
        time=trav_time[order],
        days=float(cfg.days),
    )


def _class_values(net: RoadNetwork, table: dict[str, float]) -> FloatArray:
    return np.array([table.get(str(c), table["local"]) for c in net.road_class], dtype=float)


def draw_defects(net: RoadNetwork, cfg: ProbeConfig, rng: np.random.Generator) -> Defects:
    """Draw the defects of ``cfg.days`` days (see the module docstring)."""
    window = cfg.days * _DAY - cfg.defect_lifetime
    n = int(rng.poisson(cfg.defects_per_day * window / _DAY))
    p = net.length * _class_values(net, cfg.defect_rate)
    if p.sum() <= 0:
        raise PlacementError("defect_rate gives every edge a zero rate; give positive values")
    edge = rng.choice(net.n_edges, size=n, p=p / p.sum()).astype(np.int64)
    appear = np.sort(rng.uniform(0.0, window, size=n))
    life = np.full(n, float(cfg.defect_lifetime))
    impact = _class_values(net, cfg.exposure)[edge] * life / 3600.0
    return Defects(edge=edge, appear=appear, lifetime=life, impact=impact)


def probe_candidates(
    net: RoadNetwork, fleet: Fleet, *, cost: float = 1.0, log: TripLog | None = None
) -> pd.DataFrame:
    """One candidate per vehicle (``"probe:v0001"``), placed at its home node."""
    n = len(fleet)
    width = max(4, len(str(n)))
    table = pd.DataFrame(
        {
            "candidate_id": [f"probe:v{i:0{width}d}" for i in range(n)],
            "technology": "probe",
            "cost": float(cost),
            "lon": net.node_lon[fleet.home],
            "lat": net.node_lat[fleet.home],
            "vehicle": np.arange(n),
            "node": fleet.home,
            "trips_per_day": fleet.rate,
            "shift_start_h": fleet.shift_start,
        }
    )
    if log is not None:
        table["km_driven"] = log.km_driven(net, n)
    return table


def probe_impact(
    net: RoadNetwork,
    fleet: Fleet,
    log: TripLog,
    defects: Defects,
    *,
    detect_probability: float = 0.98,
    rng: np.random.Generator,
    cost: float = 1.0,
) -> ImpactMatrix:
    """The impact matrix of equipping vehicles, over one run of trips and defects.

    Parameters
    ----------
    net
        The network.
    fleet, log
        The vehicles and their trips (:func:`draw_fleet`, :func:`simulate_trips`).
    defects
        The defects (:func:`draw_defects`).
    detect_probability
        Chance that one pass detects the defect [-].
    rng
        Random stream of the per-pass detections.
    cost
        Cost of equipping one vehicle [budget unit].

    Returns
    -------
    ImpactMatrix
        Events ``"defect-<n>"`` (columns ``edge``, ``appear``, ``road_class``), weight
        1 / days (objectives per day), impact in exposure-weighted defect-hours.
    """
    if not 0.0 < detect_probability <= 1.0:
        raise PlacementError(f"detect_probability must lie in (0, 1], got {detect_probability}")
    n_d = len(defects)
    big = log.days * _DAY + 2.0 * float(defects.lifetime.max(initial=0.0)) + 1.0
    key = log.edge * big + log.time
    lo = np.searchsorted(key, defects.edge * big + defects.appear, side="left")
    hi = np.searchsorted(key, defects.edge * big + defects.appear + defects.lifetime, side="right")
    counts = hi - lo
    defect = np.repeat(np.arange(n_d), counts)
    pos = (
        np.repeat(lo, counts)
        + np.arange(defect.size)
        - np.repeat(np.cumsum(counts) - counts, counts)
    )
    hit = rng.random(defect.size) < detect_probability
    defect, pos = defect[hit], pos[hit]
    veh = log.vehicle[pos]
    # pairs are in (defect, time) order: the first of each (defect, vehicle) is earliest
    _, first = np.unique(defect * len(fleet) + veh, return_index=True)
    e, c = defect[first], veh[first]
    t = log.time[pos[first]] - defects.appear[e]
    digits = max(4, len(str(n_d)))
    events = pd.DataFrame(
        {
            "event_id": [f"defect-{i:0{digits}d}" for i in range(n_d)],
            "technology": "probe",
            "weight": 1.0 / log.days,
            "lifetime": defects.lifetime,
            "impact": defects.impact,
            "edge": defects.edge,
            "appear": defects.appear,
            "road_class": net.road_class[defects.edge],
        }
    )
    if n_d == 0:
        raise PlacementError(
            "empty impact matrix: no defect appeared; raise defects_per_day or days"
        )
    return ImpactMatrix(
        events=events,
        candidates=probe_candidates(net, fleet, cost=cost, log=log),
        event=e,
        candidate=c,
        time=t,
        impact=defects.impact[e] * t / defects.lifetime[e],
        meta={
            "builder": "probe_impact",
            "days": log.days,
            "vehicles": len(fleet),
            "trips": int(log.trip_vehicle.size),
            "detect_probability": detect_probability,
            "impact_unit": "exposure-weighted defect-hours",
            "weight": "1 / days",
        },
    )


def probe_ensemble(
    net: RoadNetwork,
    cfg: ProbeConfig,
    demand: FloatArray,
    *,
    fleet_seed: int,
    seed: int,
    cost: float = 1.0,
) -> tuple[ImpactMatrix, TripLog]:
    """Fleet (from ``fleet_seed``), then trips, defects and detections (from ``seed``).

    Fresh runs for out-of-sample scoring keep ``fleet_seed`` (the same vehicles) and
    change ``seed``.
    """
    fleet = draw_fleet(net, demand, cfg, np.random.default_rng(fleet_seed))
    rng = np.random.default_rng(seed)
    log = simulate_trips(net, fleet, demand, cfg, rng)
    defects = draw_defects(net, cfg, rng)
    matrix = probe_impact(
        net, fleet, log, defects, detect_probability=cfg.detect_probability, rng=rng, cost=cost
    )
    return matrix, log
