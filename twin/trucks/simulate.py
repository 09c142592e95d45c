"""Orchestration: run the truck day, detect and trace violations, gather the result.

:func:`simulate_trucks` is the entry point: it builds a :class:`~twin.trucks.model.
TruckModel`, places the sensors (cameras by the planned truck flows), runs the trucks on
a simpy clock (its own, or one given), then detects and traces violations
(:mod:`twin.trucks.detection`) and computes the KPIs.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import simpy
import xarray as xr

from twin._types import FloatArray
from twin.network.road_network import RoadNetwork
from twin.trucks.config import VIOLATION_KINDS, TrucksConfig
from twin.trucks.detection import (
    Sensors,
    checkpoint_mask,
    detect,
    place_cameras,
    spill_camera_share,
    trace,
)
from twin.trucks.flood import RoadStates
from twin.trucks.model import STATUS, TruckModel
from twin.trucks.results import TruckResult

__all__ = ["planned_flow", "simulate_trucks"]

logger = logging.getLogger(__name__)


def planned_flow(model: TruckModel) -> FloatArray:
    """Planned truck trips over every edge in a day [trips/d].

    Each site's daily trips are spread evenly over three times of its working window
    (half an hour after it opens, its middle, half an hour before it closes) and over the
    docks in proportion to their unloading capacity (berths ÷ unloading time); each share
    is put on the compliant route to that dock and back at that time — the flows a
    planner reads off the e-manifests to place cameras.
    """
    flow = np.zeros(model.net.n_edges)
    docks = model.docks
    share = docks.berths / docks.unload_time
    share = share / share.sum()
    for s in np.flatnonzero(model.sites.trips > 0).tolist():
        window = (float(model.sites.window[s, 0]), float(model.sites.window[s, 1]))
        first = model.clock.until_open(window, 0.0)
        span = ((window[1] - window[0]) % 24.0 or 24.0) * 3600.0
        o = int(model.sites.node[s])
        offsets = (min(1800.0, span / 4), span / 2, max(span - 1800.0, 3 * span / 4))
        for off in offsets:
            t = first + off
            for d, node in enumerate(docks.node.tolist()):
                w = float(model.sites.trips[s]) / len(offsets) * float(share[d])
                go = model.router.route(o, int(node), t)
                if go is None:
                    continue
                np.add.at(flow, go.edges, w)
                back = model.router.route(int(node), o, t + go.duration)
                if back is not None:
                    np.add.at(flow, back.edges, w)
    return flow


def simulate_trucks(
    net: RoadNetwork,
    cfg: TrucksConfig,
    *,
    start: datetime,
    horizon: float,
    seed: int,
    record_interval: float | None = None,
    env: simpy.Environment | None = None,
    road_states: RoadStates | None = None,
) -> TruckResult:
    """Run a muck-truck day (or several) and return everything it produced.

    Parameters
    ----------
    net
        The road network (closures and the congestion profile apply; never modified).
    cfg
        The configuration (``cfg.enabled`` is not checked here: the caller decides).
    start
        Timezone-aware start; site hours, dock hours and bans follow its local clock.
    horizon
        Length of the run [s].
    seed
        Seed of every random stream (violations, detections, camera draws).
    record_interval
        Positions every this many seconds [s]; ``cfg.record_interval`` by default.
    env
        A simpy environment to run on (times count from its ``now``; it is run to
        ``now + horizon``, with whatever else is scheduled on it); a fresh one when
        ``None``.
    road_states
        Edge states changing on the run's clock (waterlogging closures; see
        :mod:`twin.trucks.flood`): trucks route around closed edges and re-plan when one
        ahead closes. None: none.

    Returns
    -------
    TruckResult

    Raises
    ------
    TruckError
        The configuration does not fit the network or the layers (the message names the
        setting).
    """
    timing: dict[str, float] = {}
    t = time.perf_counter()
    model = TruckModel(net, cfg, start=start, horizon=horizon, seed=seed,
                       record_interval=record_interval, road_states=road_states)  # fmt: skip
    flow = planned_flow(model) if cfg.sensors.cameras.count else np.zeros(net.n_edges)
    camera = place_cameras(net, cfg.sensors, flow=flow, rng=model.place_rng)
    checkpoint = checkpoint_mask(model.docks.id, cfg.sensors)
    timing["setup_s"] = time.perf_counter() - t
    t = time.perf_counter()
    if env is None:
        model.run()
    else:
        model.start(env)
        env.run(until=env.now + horizon)
        model.record_final()
    timing["simulate_s"] = time.perf_counter() - t
    t = time.perf_counter()
    result = collect(model, Sensors(camera, checkpoint))
    timing["collect_s"] = time.perf_counter() - t
    result.timing = timing
    logger.info(
        "trucks: %d trips, %d violations (%d detected) in %.2f s",
        len(result.trips), len(result.violations), int(result.violations["detected"].sum()),
        sum(timing.values()),
    )  # fmt: skip
    return result


def _trip_frame(model: TruckModel) -> pd.DataFrame:
    tr = model.trips
    df = pd.DataFrame({k: np.asarray(v) for k, v in tr.items()})
    n = len(df)
    df.insert(0, "trip", np.arange(n, dtype=np.int64))
    site_id, dock_id = model.sites.id, model.docks.id
    df["site"] = site_id[df["site"].to_numpy(np.int64)] if n else []
    df["company"] = model.fleet.company[df["company"].to_numpy(np.int64)] if n else []
    dock = df["dock"].to_numpy(np.int64)
    df["dock"] = np.where(dock >= 0, dock_id[np.maximum(dock, 0)], "")
    df["dump_node"] = np.where(
        df["dump_node"].to_numpy(np.int64) >= 0,
        model.net.node_ids[np.maximum(df["dump_node"].to_numpy(np.int64), 0)], -1,
    )  # fmt: skip
    fate = df["fate"].to_numpy(dtype=object)
    loaded = np.isfinite(df["spoil_m3"].to_numpy(np.float64))
    fate[(fate == "loading") & loaded] = "in_transit"
    df["fate"] = fate
    df["queue_time"] = df["unload_start"] - df["arrive"]
    df["route_length_km"] = df.pop("route_length_m") / 1000.0
    df["return_length_km"] = df.pop("return_length_m") / 1000.0
    flags = np.array(model.flags, dtype=bool).reshape(-1, 5)
    dev = np.zeros(n, dtype=bool)
    dev[: flags.shape[0]] = flags[:, VIOLATION_KINDS.index("deviation")]
    df["deviation"] = dev
    return df


def collect(model: TruckModel, sensors: Sensors) -> TruckResult:
    """Gather a finished :class:`TruckModel` into a :class:`TruckResult`."""
    net, cfg = model.net, model.cfg
    horizon = model.horizon
    trips = _trip_frame(model)
    tp, phase, edge, enter, leave = model.track_arrays()
    keep = enter < horizon
    track = pd.DataFrame({"trip": tp[keep], "leg": phase[keep], "edge": edge[keep],
                          "enter": enter[keep], "leave": leave[keep]})  # fmt: skip
    st = model.stretch
    cat: dict[str, Any] = {k: (np.concatenate(v) if v else np.empty(0)) for k, v in st.items()}
    stretch = pd.DataFrame({
        "violation": cat["violation"].astype(np.int64), "edge": cat["edge"].astype(np.int64),
        "enter": cat["enter"].astype(np.float64), "m": cat["m"].astype(np.float64),
    })  # fmt: skip
    stretch = stretch[stretch["enter"] < horizon].reset_index(drop=True)
    stops = pd.DataFrame(model.stops, columns=["truck", "node", "start", "end"])
    stops = stops.astype({"truck": np.int64, "node": np.int64})
    raw = pd.DataFrame(model.violations)
    raw = raw.astype({"kind": np.int64, "edge": np.int64, "node": np.int64, "trip": np.int64})
    occurred = raw["time"].to_numpy(np.float64) < horizon
    # Deviations and speeding are booked at departure with their (first) time; keep those
    # that happened before the horizon and renumber the stretch.
    old_ids = np.flatnonzero(occurred)
    raw = raw[occurred].reset_index(drop=True)
    remap = np.full(occurred.size, -1, dtype=np.int64)
    remap[old_ids] = np.arange(old_ids.size)
    stretch["violation"] = remap[stretch["violation"].to_numpy(np.int64)]
    stretch = stretch[stretch["violation"] >= 0].reset_index(drop=True)
    det = detect(
        raw, stretch, trips, sensors, cfg.sensors, dock_ids=model.docks.id,
        network_km=float(net.length.sum()) / 1000.0, horizon=horizon, seed=model.detect_seed,
    )  # fmt: skip
    traced = trace(det, trips, stops)
    violations = _violation_frame(model, raw, det, traced, trips)
    positions = _positions(model)
    balance = {
        "loaded": float(model.site_loaded.sum()),
        "delivered": float(model.dock_delivered.sum()),
        "dumped": float(model.dumped),
        "spilled": float(model.spilled),
        "in_transit": float(model.load.sum()),
    }
    result = TruckResult(
        config=cfg, start=model.clock.start, horizon=horizon, seed=model.seed, trips=trips,
        violations=violations, track=track, stretch=stretch, stops=stops,
        positions=positions, kpis={}, balance=balance, sites=model.sites, docks=model.docks,
        fleet=model.fleet, camera=sensors.camera, checkpoint=sensors.checkpoint, network=net,
    )  # fmt: skip
    result.kpis = compute_kpis(result, model)
    return result


def _violation_frame(
    model: TruckModel,
    raw: pd.DataFrame,
    det: pd.DataFrame,
    traced: np.ndarray[Any, Any],
    trips: pd.DataFrame,
) -> pd.DataFrame:
    net = model.net
    v = raw.copy()
    node_pos = v["node"].to_numpy(np.int64)
    v.insert(0, "violation", np.arange(len(v), dtype=np.int64))
    v["kind"] = np.array(VIOLATION_KINDS, dtype=object)[v["kind"].to_numpy(np.int64)]
    v["node"] = np.where(node_pos >= 0, net.node_ids[np.maximum(node_pos, 0)], -1)
    v["lon"] = np.where(node_pos >= 0, net.node_lon[np.maximum(node_pos, 0)], np.nan)
    v["lat"] = np.where(node_pos >= 0, net.node_lat[np.maximum(node_pos, 0)], np.nan)
    tp = v["trip"].to_numpy(np.int64)
    for col in ("truck", "site", "company"):
        v[col] = trips[col].to_numpy()[tp] if len(v) else []
    for col in det.columns:
        if col.startswith("seen_"):
            continue
        v[col] = det[col].to_numpy()
    v["detection_delay"] = v["detection_time"] - v["time"]
    v["traced_trip"] = traced
    ok = traced >= 0
    site = np.full(len(v), "", dtype=object)
    comp = np.full(len(v), "", dtype=object)
    site[ok] = trips["site"].to_numpy()[traced[ok]]
    comp[ok] = trips["company"].to_numpy()[traced[ok]]
    v["traced_site"], v["traced_company"] = site, comp
    v["traced_ok"] = ok & (site == v["site"].to_numpy()) & (comp == v["company"].to_numpy())
    return v


def _positions(model: TruckModel) -> xr.Dataset:
    start_utc = pd.Timestamp(model.clock.start).tz_convert("UTC").tz_localize(None)
    times = start_utc + pd.to_timedelta(model.rec_times, unit="s")
    f = model.fleet
    return xr.Dataset(
        {
            "lon": (("time", "truck"), model.rec_lon, {"units": "degrees_east"}),
            "lat": (("time", "truck"), model.rec_lat, {"units": "degrees_north"}),
            "status": (("time", "truck"), model.rec_status, {
                "long_name": "truck status", "flag_values": np.arange(len(STATUS), dtype=np.int8),
                "flag_meanings": " ".join(STATUS)}),
            "dock_queue": (("time", "dock"), model.rec_queue, {
                "long_name": "trucks at the dock (waiting or unloading)", "units": "1"}),
        },
        coords={
            "time": ("time", times.to_numpy(), {"standard_name": "time", "timezone": "UTC"}),
            "elapsed": ("time", model.rec_times, {"units": "s", "long_name": "time since start"}),
            "truck": ("truck", np.arange(f.n_trucks)),
            "truck_company": ("truck", f.company[f.truck_company]),
            "truck_site": ("truck", model.sites.id[f.truck_site]),
            "dock": ("dock", model.docks.id),
        },
        attrs={
            "title": "muck-truck positions",
            "start": model.clock.start.isoformat(),
            "horizon_s": model.horizon,
            "seed": model.seed,
            "config_json": json.dumps(model.cfg.model_dump(mode="json"), ensure_ascii=False),
        },
    )  # fmt: skip


def compute_kpis(result: TruckResult, model: TruckModel) -> dict[str, float]:
    """Headline figures of a run (units in the names: ``_s``, ``_km``, ``_m3``)."""
    tr, v = result.trips, result.violations
    k: dict[str, float] = {}
    fate = tr["fate"].to_numpy()
    k["trips_started"] = float(len(tr))
    for f in ("delivered", "dumped", "in_transit", "loading"):
        k[f"trips_{f}"] = float((fate == f).sum())
    k["trips_planned_per_day"] = float(model.sites.trips.sum())
    for d in model.docks.id:
        k[f"trips_dock_{d}"] = float(((tr["dock"] == d) & (fate == "delivered")).sum())
    q = tr["queue_time"].dropna().to_numpy(np.float64)
    k["dock_queue_mean_s"] = float(q.mean()) if q.size else float("nan")
    k["dock_queue_p95_s"] = float(np.percentile(q, 95)) if q.size else float("nan")
    for d in model.docks.id:
        qd = tr.loc[tr["dock"] == d, "queue_time"].dropna()
        k[f"dock_queue_mean_{d}_s"] = float(qd.mean()) if len(qd) else float("nan")
    length = model.net.length[result.track["edge"].to_numpy(np.int64)] / 1000.0
    loaded = result.track["leg"].to_numpy() == 0
    k["truck_km_total_km"] = float(length.sum())
    k["truck_km_loaded_km"] = float(length[loaded].sum())
    k["truck_km_empty_km"] = float(length[~loaded].sum())
    for kind in VIOLATION_KINDS:
        sub = v[v["kind"] == kind]
        k[f"violations_{kind}_occurred"] = float(len(sub))
        k[f"violations_{kind}_detected"] = float(sub["detected"].sum())
        k[f"violations_{kind}_traced"] = float(sub["traced_ok"].sum())
    dd = v.loc[v["detected"], "detection_delay"].to_numpy(np.float64)
    k["detection_delay_mean_s"] = float(dd.mean()) if dd.size else float("nan")
    k["detection_delay_median_s"] = float(np.median(dd)) if dd.size else float("nan")
    kinds = np.array([VIOLATION_KINDS.index(x) for x in v["kind"]], dtype=np.int64)
    k["spill_length_camera_share"] = spill_camera_share(result.stretch, kinds, result.camera)
    k["cameras"] = float(result.camera.sum())
    b = result.balance
    for name, val in b.items():
        k[f"spoil_{name}_m3"] = val
    k["spoil_balance_error_m3"] = b["loaded"] - (
        b["delivered"] + b["dumped"] + b["spilled"] + b["in_transit"]
    )
    k["banned_edges_used_by_compliant_trips"] = float(
        tr.loc[~tr["deviation"], "banned_edges_used"].sum()
    )
    driving = np.isin(result.positions["status"].to_numpy(), [3, 7]).sum(axis=1)
    k["trucks_on_road_peak"] = float(driving.max()) if driving.size else 0.0
    k["trucks"] = float(model.fleet.n_trucks)
    reroutes = tr["flood_reroutes"].to_numpy(np.int64)
    k["flood_reroutes"] = float(reroutes.sum())
    k["trips_rerouted_by_flood"] = float((reroutes > 0).sum())
    k["flood_delay_total_min"] = float(tr["flood_delay_s"].fillna(0.0).sum() / 60.0)
    return k
