r"""Sensors, detection of violations, and trace-back "by the map".

Sensors
    **Cameras** sit on edges (explicit, or ``count`` placed by a rule, see
    :func:`place_cameras`); **checkpoints** at docks weigh trucks and close e-manifests;
    **probe vehicles** roam the network.
Detection (after the run; detection does not change what trucks do)
    Every violation has *sighting opportunities*, each an independent Bernoulli trial:

    - a camera on an edge of the violation's stretch (the spill trail, the banned edges
      driven, the whole speeding leg, the edge into a dumping node) sees it when the
      truck enters the edge, with probability ``cameras.detection_prob``;
    - a dock checkpoint weighs an overloaded truck on its arrival at the dock
      (``checkpoints.detection_prob``);
    - the e-manifest check flags a dumping trip ``manifest_grace`` after it was due at
      its dock (certain, when enabled);
    - probes see a moving violation on a stretch of :math:`\ell` km in the act with
      probability :math:`1 - e^{-p\,n\,\ell\,k/L}` (``n`` probes uniform over the
      network's :math:`L` km, ``k`` the encounter factor), at a uniform time of the
      stretch; they find a dumped pile after a time :math:`\sim \mathrm{Exp}(p\,n\,v/L)`
      if that is within the pile's lifetime (Poisson passes of probes at a point).

    The first successful sighting detects the violation; the detection time is the
    sighting plus the sensor's processing ``delay``. Uniform draws come from a stream
    per violation (seeded by the run seed and the violation's number) in a fixed order,
    so changing the sensors does not change the draws (common random numbers).
Trace-back
    A detection carries only what its sensor observed: a camera, checkpoint or probe
    sighting reads the **plate** (truck) at a time; the manifest check names the
    **trip**; a probe finding a pile knows its **node** and time. The trace uses only the
    trip records: a plate at time ``t`` → that truck's trip with ``load_start ≤ t``
    (latest); a pile at node ``n`` → the latest GPS stop of a loaded truck at ``n``
    before ``t`` → that truck's trip. The trip's e-manifest gives the site and company.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin._types import BoolArray, FloatArray, IntArray, StrArray
from twin.network.road_network import RoadNetwork
from twin.trucks.config import DETECTORS, VIOLATION_KINDS, SensorsConfig
from twin.trucks.errors import TruckError
from twin.trucks.routing import edges_between

__all__ = [
    "Sensors",
    "checkpoint_mask",
    "detect",
    "place_cameras",
    "spill_camera_share",
    "trace",
]

_SPILL, _DUMP, _DEVIATE, _SPEED, _OVERLOAD = range(5)
_CAMERA, _CHECKPOINT, _MANIFEST, _PROBE = range(4)


@dataclass(frozen=True)
class Sensors:
    """Where the sensors are.

    Attributes
    ----------
    camera
        Whether each edge has a camera.
    checkpoint
        Whether each dock has a checkpoint.
    """

    camera: BoolArray
    checkpoint: BoolArray

    @property
    def camera_edges(self) -> IntArray:
        """Edge positions with a camera."""
        return np.flatnonzero(self.camera).astype(np.int64)


def place_cameras(
    net: RoadNetwork,
    cfg: SensorsConfig,
    *,
    flow: FloatArray,
    rng: np.random.Generator,
) -> BoolArray:
    """Camera mask over edges: the explicit edges plus ``count`` placed by the rule.

    Parameters
    ----------
    net
        The road network.
    cfg
        The sensors' configuration.
    flow
        Planned truck trips over each edge [trips/d] (rule ``"truck_flow"``: the
        ``count`` edges of highest flow not already covered, ties by edge position).
    rng
        Stream for the ``"arterial"`` rule (``count`` arterial edges at random).

    Raises
    ------
    TruckError
        An explicit camera edge is not in the network.
    """
    cam = np.zeros(net.n_edges, dtype=bool)
    for j, (u, v) in enumerate(cfg.cameras.edges):
        cam[edges_between(net, u, v, where=f"trucks.sensors.cameras.edges[{j}]")] = True
    n = cfg.cameras.count
    if n:
        if cfg.cameras.placement == "truck_flow":
            score = np.where(cam, -1.0, flow)
            order = np.lexsort((np.arange(net.n_edges), -score))
            pick = order[:n]
            pick = pick[score[pick] > 0]
        else:
            cand = np.flatnonzero((net.road_class == "arterial") & ~cam)
            pick = rng.choice(cand, size=min(n, cand.size), replace=False)
        cam[pick] = True
    return cam


def checkpoint_mask(dock_ids: StrArray, cfg: SensorsConfig) -> BoolArray:
    """Whether each dock has a checkpoint.

    Raises
    ------
    TruckError
        A listed dock id is not a dock.
    """
    ids = [str(d) for d in dock_ids]
    wanted = cfg.checkpoints.docks
    if "*" in wanted:
        return np.ones(len(ids), dtype=bool)
    for j, d in enumerate(wanted):
        if d not in ids:
            raise TruckError(
                f"trucks.sensors.checkpoints.docks[{j}]: unknown dock {d!r}; known: "
                f"{', '.join(ids)} (or '*' for all)"
            )
    return np.array([d in wanted for d in ids], dtype=bool)


def detect(
    violations: pd.DataFrame,
    stretch: pd.DataFrame,
    trips: pd.DataFrame,
    sensors: Sensors,
    cfg: SensorsConfig,
    *,
    dock_ids: StrArray,
    network_km: float,
    horizon: float,
    seed: np.random.SeedSequence,
) -> pd.DataFrame:
    """Which violations are detected, when, by what, and what the sensor observed.

    Parameters
    ----------
    violations
        One row per violation (``kind``, ``time``, ``node``, ``trip``, ``length_m``).
    stretch
        Edges of each violation's stretch (``violation``, ``edge``, ``enter``, ``m``).
    trips
        The trip records (``truck``, ``dock`` id, ``arrive``, ``planned_arrive``, ``fate``).
    sensors
        Camera and checkpoint placement.
    dock_ids
        Dock ids, in the order of ``sensors.checkpoint``.
    cfg
        Sensor parameters.
    network_km
        Total length of the network [km].
    horizon
        End of the run [s]; later sightings are not made.
    seed
        Root of the per-violation streams.

    Returns
    -------
    pandas.DataFrame
        Per violation: ``detected``, ``detected_by`` (a :data:`DETECTORS` name or
        ``""``), ``sighting_time`` and ``detection_time`` [s], and the observation:
        ``seen_truck`` (plate; -1 if none), ``seen_trip`` (manifest; -1), ``seen_node``
        (pile; -1).
    """
    n = len(violations)
    out_by = np.full(n, -1, dtype=np.int64)
    out_sight = np.full(n, np.nan)
    out_time = np.full(n, np.nan)
    seen_truck = np.full(n, -1, dtype=np.int64)
    seen_trip = np.full(n, -1, dtype=np.int64)
    seen_node = np.full(n, -1, dtype=np.int64)
    cam, chk, probe = cfg.cameras, cfg.checkpoints, cfg.probes
    delay = np.array([cam.delay, chk.delay, chk.delay, probe.delay])
    density = probe.count / max(network_km, 1e-9)  # probes per km
    st_v = stretch["violation"].to_numpy(np.int64)
    st_order = np.argsort(st_v, kind="stable")
    st_start = np.searchsorted(st_v[st_order], np.arange(n + 1))
    st_edge = stretch["edge"].to_numpy(np.int64)[st_order]
    st_enter = stretch["enter"].to_numpy(np.float64)[st_order]
    kinds = violations["kind"].to_numpy(np.int64)
    times = violations["time"].to_numpy(np.float64)
    trip = violations["trip"].to_numpy(np.int64)
    length_km = violations["length_m"].to_numpy(np.float64) / 1000.0
    vnode = violations["node"].to_numpy(np.int64)
    t_truck = trips["truck"].to_numpy(np.int64)
    lookup = {str(d): i for i, d in enumerate(dock_ids)}
    t_dock = np.array([lookup.get(str(d), -1) for d in trips["dock"]], dtype=np.int64)
    t_arrive = trips["arrive"].to_numpy(np.float64)
    t_planned = trips["planned_arrive"].to_numpy(np.float64)
    t_fate = trips["fate"].to_numpy()
    seeds = seed.spawn(n)
    for v in range(n):
        rng = np.random.default_rng(seeds[v])
        kind = int(kinds[v])
        a, b = st_start[v], st_start[v + 1]
        edges, enter = st_edge[a:b], st_enter[a:b]
        u_cam = rng.random(edges.size)
        u_chk, u_probe, u_when = rng.random(3)
        cands: list[tuple[float, int]] = []
        if kind != _OVERLOAD and edges.size:
            hit = sensors.camera[edges] & (u_cam < cam.detection_prob)
            if hit.any():
                cands.append((float(enter[hit].min()), _CAMERA))
        tp = int(trip[v])
        weighed = (
            kind == _OVERLOAD and t_dock[tp] >= 0 and t_fate[tp] != "dumped"
            and bool(sensors.checkpoint[t_dock[tp]]) and math.isfinite(t_arrive[tp])
        )  # fmt: skip
        if weighed and u_chk < chk.detection_prob:
            cands.append((float(t_arrive[tp]), _CHECKPOINT))
        if kind == _DUMP:
            if chk.manifest_check and math.isfinite(t_planned[tp]):
                cands.append((float(t_planned[tp] + chk.manifest_grace), _MANIFEST))
            rate = probe.detection_prob * density * probe.speed_kph / 3600.0  # [1/s]
            if rate > 0:
                wait = -math.log1p(-u_probe) / rate
                if wait <= probe.residue_lifetime:
                    cands.append((float(times[v] + wait), _PROBE))
        elif kind in (_SPILL, _DEVIATE) and edges.size and probe.count:
            p = 1.0 - math.exp(-probe.detection_prob * density * length_km[v]
                               * probe.encounter_factor)  # fmt: skip
            if u_probe < p:
                t_first = float(enter.min())
                t_last = float(enter.max())
                cands.append((t_first + u_when * (t_last - t_first), _PROBE))
        cands = [c for c in cands if c[0] < horizon]
        if not cands:
            continue
        t_sight, by = min(cands)
        out_by[v] = by
        out_sight[v] = t_sight
        out_time[v] = t_sight + delay[by]
        if by == _MANIFEST:
            seen_trip[v] = tp
        elif by == _PROBE and kind == _DUMP:
            seen_node[v] = int(vnode[v])
        else:
            seen_truck[v] = int(t_truck[tp])
    detected = out_by >= 0
    det_names = np.array(["", *DETECTORS], dtype=object)
    return pd.DataFrame({
        "detected": detected,
        "detected_by": det_names[out_by + 1],
        "sighting_time": out_sight,
        "detection_time": out_time,
        "seen_truck": seen_truck,
        "seen_trip": seen_trip,
        "seen_node": seen_node,
    })  # fmt: skip


def trace(detections: pd.DataFrame, trips: pd.DataFrame, stops: pd.DataFrame) -> IntArray:
    """Trace each detection back to a trip using only the trip records ("by the map").

    Parameters
    ----------
    detections
        The output of :func:`detect` (``sighting_time``, ``seen_truck``, ``seen_trip``,
        ``seen_node``).
    trips
        Trip records: ``truck``, ``load_start``.
    stops
        GPS stops of loaded trucks away from docks: ``truck``, ``node``, ``start``.

    Returns
    -------
    numpy.ndarray
        The traced trip of each detection (-1 where untraced or undetected).
    """
    n = len(detections)
    out = np.full(n, -1, dtype=np.int64)
    t_sight = detections["sighting_time"].to_numpy(np.float64)
    truck = detections["seen_truck"].to_numpy(np.int64).copy()
    when = t_sight.copy()
    # Pile found by a probe: the latest stop of a loaded truck at that node before.
    node = detections["seen_node"].to_numpy(np.int64)
    s_truck = stops["truck"].to_numpy(np.int64)
    s_node = stops["node"].to_numpy(np.int64)
    s_start = stops["start"].to_numpy(np.float64)
    for v in np.flatnonzero(node >= 0):
        ok = np.flatnonzero((s_node == node[v]) & (s_start <= t_sight[v]))
        if ok.size:
            k = ok[np.argmax(s_start[ok])]
            truck[v], when[v] = s_truck[k], s_start[k]
    # Plate at a time: that truck's latest trip begun by then.
    tr_truck = trips["truck"].to_numpy(np.int64)
    tr_start = trips["load_start"].to_numpy(np.float64)
    order = np.lexsort((tr_start, tr_truck))
    key_truck, key_start = tr_truck[order], tr_start[order]
    for v in np.flatnonzero(truck >= 0):
        lo = np.searchsorted(key_truck, truck[v], side="left")
        hi = np.searchsorted(key_truck, truck[v], side="right")
        k = lo + np.searchsorted(key_start[lo:hi], when[v], side="right") - 1
        if k >= lo:
            out[v] = order[k]
    manifest = detections["seen_trip"].to_numpy(np.int64)
    out[manifest >= 0] = manifest[manifest >= 0]
    return out


def spill_camera_share(stretch: pd.DataFrame, kinds: IntArray, camera: BoolArray) -> float:
    """Share of the total spill-trail length lying on edges with a camera [-]."""
    v = stretch["violation"].to_numpy(np.int64)
    if v.size == 0:
        return float("nan")
    is_spill = kinds[v] == VIOLATION_KINDS.index("spillage")
    m = stretch["m"].to_numpy(np.float64)[is_spill]
    if m.sum() <= 0:
        return float("nan")
    on = camera[stretch["edge"].to_numpy(np.int64)[is_spill]]
    return float(m[on].sum() / m.sum())
