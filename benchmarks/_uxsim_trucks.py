"""The muck night's truck trips in UXsim, on the Gongshu edges the trucks drive.

UXsim (Seo, 2025) is a mesoscopic traffic simulator: Newell's simplified car-following
(a kinematic-wave model) on links, node capacities at junctions, and dynamic
user-optimal route choice. Here it drives the twin's trips: every loaded leg (site →
dock) and every return leg (dock → site) leaves at the twin's departure time, between
the same nodes, one vehicle per truck (``deltan=1``). Its network is the set of edges
the twin's trucks drive in the day (the union of their tracks) with the twin's lengths
and truck free-flow speeds (the car free-flow speed times the trucks' speed factor);
lanes by road class (the OSM extract holds none): arterial 2, collector 2, local 1.
UXsim's memory grows with links × time steps, so the whole city network at 1-s steps
does not fit in this machine's memory; the truck corridors do.
There is no background traffic: UXsim sees only the trucks, so its travel times carry
the trucks' own interactions (queues at junctions and on shared links), not the
evening's general congestion that the twin's hour-of-day profile stands for.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from twin.network.road_network import RoadNetwork

LANES = {"arterial": 2, "collector": 2, "local": 1}


def run_uxsim(
    net: RoadNetwork, trips: pd.DataFrame, track: pd.DataFrame, site_node: dict[str, int],
    dock_node: dict[str, int], *, speed_factor: float = 1.0, cpp: bool = True, seed: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """Drive every leg of ``trips`` through UXsim; per-leg travel times and wall times.

    Parameters
    ----------
    net
        The twin's network (lengths [m], free-flow times [s]).
    trips
        The twin's trip table (``depart, arrive, return_start, return_end`` [s],
        ``site, dock`` names).
    track
        The twin's edge traversals (``edge`` positions): their union is UXsim's network.
    site_node, dock_node
        Node position of each site and dock.
    speed_factor
        Truck speed relative to the network's free-flow speed [-] (the twin's
        ``truck.speed_factor``).
    cpp
        UXsim's C++ engine (its fast path) instead of the pure-Python one.
    seed
        UXsim's random seed (route-choice noise).

    Returns
    -------
    dict
        ``loaded`` and ``back`` (travel time of each leg [s], NaN where it did not
        arrive, in ``trips`` order), ``build_s`` and ``run_s`` (wall [s]), ``n_links``,
        ``tmax`` [s], ``t0`` [s].
    """
    import uxsim

    edges = np.unique(track["edge"].to_numpy())
    legs = trips[np.isfinite(trips["depart"].to_numpy())]
    t0 = float(np.floor(legs["depart"].min() / 3600.0) * 3600.0)
    last = np.nanmax(np.r_[legs["arrive"].to_numpy(), legs["return_end"].to_numpy()])
    tmax = float(np.ceil((last - t0) / 1800.0 + 1.0) * 1800.0)
    speed = speed_factor * net.length / net.free_flow_time
    t = time.perf_counter()
    W = uxsim.World(name="", deltan=1, reaction_time=1.0, tmax=tmax, print_mode=0,
                    save_mode=0, show_progress=0, random_seed=seed, cpp=cpp)  # fmt: skip
    used = np.unique(np.r_[net.edge_u[edges], net.edge_v[edges]])
    nodes = {int(i): W.addNode(f"n{i}", float(net.node_lon[i]), float(net.node_lat[i]))
             for i in used}  # fmt: skip
    for e in edges.tolist():
        W.addLink(f"e{e}", nodes[int(net.edge_u[e])], nodes[int(net.edge_v[e])],
                  length=float(net.length[e]), free_flow_speed=float(speed[e]),
                  number_of_lanes=LANES.get(str(net.road_class[e]), 1))  # fmt: skip
    vehicles: list[tuple[int, int, Any]] = []
    for k, row in enumerate(legs.itertuples(index=False)):
        s, d = site_node[str(row.site)], dock_node[str(row.dock)]
        vehicles.append((k, 0, W.addVehicle(nodes[s], nodes[d], float(row.depart) - t0)))
        if np.isfinite(row.return_start):
            vehicles.append((k, 1, W.addVehicle(nodes[d], nodes[s], float(row.return_start) - t0)))
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    W.exec_simulation()
    run_s = time.perf_counter() - t
    out = np.full((len(legs), 2), np.nan)
    for k, leg, veh in vehicles:
        if veh.state == "end" and veh.arrival_time >= 0:
            out[k, leg] = float(veh.travel_time)
    return {"loaded": out[:, 0], "back": out[:, 1], "build_s": build_s, "run_s": run_s,
            "n_links": int(edges.size), "tmax": tmax, "t0": t0, "index": legs.index}  # fmt: skip
