"""Concert egress from Wulin Square: the twin's zone model against JuPedSim, in one run.

Workload: the end of the 30,000-person concert on Wulin Square (``bench_crowds`` and
``scenarios/gongshu_event_night.yaml``): everyone leaves at once from a square standing
evenly full, through the square's 8 exits (4 m wide, two on each side, as
:func:`twin.crowds.plazas.default_exits` derives them from the outline of
``data/layers/plazas.geojson``). The concert's 10-min release window is left out on both
sides (all leave at once): JuPedSim would need the still-standing audience modelled as
waiting agents.

- **twin**: :func:`twin.crowds.model.simulate` on the square alone, starting with the
  30,000 as walkers (60-s steps, 4 substeps, the default flow parameters: exit capacity
  1.3 persons/(m·s) × efficiency 0.8, Weidmann walking speed at the plaza density, the
  mean walk to an exit from the default rule). Run twice: as configured (usable area 70 %
  of the outline, walk 0.5·√area) and given JuPedSim's geometry (the whole outline
  usable, the mean straight-line walk from JuPedSim's start positions to their nearest
  exit).
- **JuPedSim**: the collision-free speed model (Tordeux et al. 2016), agents of radius
  0.2 m, time gap 1 s, desired speed Weidmann's free speed (1.34 m/s, as the twin),
  each heading to its nearest exit; the walkable area is the outline (no obstacles: the
  layer has none) plus a 3-m passage 4 m wide at each exit, agents leave at the end of
  the passage. The square is a rectangle with its exits at the quarter points of each
  side, so it is mirror-symmetric about both mid-lines and every agent's nearest exit is
  in its own quadrant: JuPedSim runs one quadrant (7,500 agents, 2 exits, walls on the
  mid-lines) and its egress times, densities and queues stand for the whole square. Its
  wall time is that quadrant's (a quarter of the whole square's agents: in its favour).

Measured: egress time (95 % and 99 % of the crowd out), peak density (over the plaza,
and JuPedSim's highest local density in 2 × 2 m cells), the longest exit queue (twin:
the point queue at an exit; JuPedSim: agents bound for an exit moving slower than
0.5 m/s), and wall time. Target: the twin's egress time (95 %) within 20 % of JuPedSim's.
Run ``python benchmarks/bench_crowds_jupedsim.py --write`` to re-measure and record the
table in ``benchmarks/README.md``.

References
----------
.. [1] A. Tordeux, M. Chraibi, A. Seyfried, "Collision-free speed model for pedestrian
   dynamics", in *Traffic and Granular Flow '15*, Springer, 2016.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from twin.crowds.config import CrowdConfig, FlowModelConfig
from twin.crowds.fundamental import V0
from twin.crowds.model import simulate
from twin.crowds.plazas import load_plazas, make_plazas
from twin.crowds.results import CrowdState
from twin.network.build import data_dir

sys.path.insert(0, os.path.dirname(__file__))
from _peers import require, version
from _report import markdown_table, write_section

PLAZA = "plaza-wulin-square"
ATTENDANCE = 30_000
TARGET = 0.20  # egress time within 20 % of JuPedSim's
DOOR_DEPTH = 3.0  # [m]
SLOW = 0.5  # an agent slower than this is queuing [m/s]
CELL = 2.0  # local density cell [m]
CHECK_CROWD = 4_000  # the small crowd of the step check
STALL = 120.0  # JuPedSim stops when nobody has left for this long [s]


def local_xy(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    """Equirectangular metres about (lon0, lat0)."""
    r = 6_371_000.0
    x = np.radians(np.asarray(lon) - lon0) * r * np.cos(np.radians(lat0))
    y = np.radians(np.asarray(lat) - lat0) * r
    return np.column_stack([x, y])


def square_geometry() -> dict[str, Any]:
    """The square's outline, exits and usable area in local metres (from the layer)."""
    cfg = CrowdConfig()
    plazas = load_plazas(data_dir() / "layers" / "plazas.geojson", geometry=cfg.geometry)
    w = plazas.index(PLAZA)
    poly = plazas.geometry[w]
    c = poly.centroid
    ring = np.asarray(shapely.get_coordinates(shapely.get_exterior_ring(poly)))
    outline = Polygon(local_xy(ring[:, 0], ring[:, 1], c.x, c.y))
    sl = slice(int(plazas.exit_ptr[w]), int(plazas.exit_ptr[w + 1]))
    exits = local_xy(plazas.exit_lon[sl], plazas.exit_lat[sl], c.x, c.y)
    return {"outline": outline, "exits": exits, "widths": np.asarray(plazas.exit_width[sl]),
            "usable_area": float(plazas.usable_area[w]),
            "walk_distance": float(plazas.walk_distance[w]), "params": cfg.model}  # fmt: skip


def door(outline: Polygon, xy: np.ndarray, width: float) -> tuple[Polygon, Polygon]:
    """The passage outside an exit on the outline, and the exit polygon at its far end."""
    ring = np.asarray(outline.exterior.coords)
    seg = np.diff(ring, axis=0)
    # The side the exit lies on: the one nearest to it.
    d = [shapely.distance(shapely.LineString(ring[i : i + 2]), shapely.Point(xy))
         for i in range(len(seg))]  # fmt: skip
    i = int(np.argmin(d))
    t = seg[i] / np.hypot(*seg[i])
    n = np.array([t[1], -t[0]])
    c = np.asarray(outline.centroid.coords[0])
    if np.dot(n, xy - c) < 0:
        n = -n
    a, b = xy - t * width / 2, xy + t * width / 2
    passage = Polygon([a, b, b + n * DOOR_DEPTH, a + n * DOOR_DEPTH])
    end = Polygon([a + n * (DOOR_DEPTH - 1), b + n * (DOOR_DEPTH - 1), b + n * DOOR_DEPTH,
                   a + n * DOOR_DEPTH])  # fmt: skip
    return passage, end


def run_jupedsim(
    geo: dict[str, Any], *, dt: float, attendance: int = ATTENDANCE, seed: int = 0
) -> dict[str, Any]:
    """One quadrant of the square's egress in JuPedSim (see the module docstring)."""
    jps = require("jupedsim")
    outline: Polygon = geo["outline"]
    cx, cy = outline.centroid.x, outline.centroid.y
    minx, miny, _, _ = outline.bounds
    quad = outline.intersection(box(minx - 1, miny - 1, cx, cy))
    inside = [k for k, p in enumerate(geo["exits"]) if p[0] < cx and p[1] < cy]
    doors = [door(outline, geo["exits"][k], float(geo["widths"][k])) for k in inside]
    walkable = shapely.union_all([quad, *(p for p, _ in doors)])
    n = attendance // 4
    # Start positions: n points of a jittered grid over the quadrant, 0.3 m off the walls.
    area = quad.area
    s = np.sqrt(area / (n * 1.1))
    x0, y0, x1, y1 = quad.bounds
    gx, gy = np.meshgrid(np.arange(x0 + 0.3, x1 - 0.3, s), np.arange(y0 + 0.3, y1 - 0.3, s))
    rng = np.random.default_rng(seed)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    pts = pts[shapely.contains_xy(quad.buffer(-0.3), pts[:, 0], pts[:, 1])]
    pts = pts[rng.choice(len(pts), n, replace=False)]
    pts += rng.uniform(-0.1, 0.1, pts.shape) * min(1.0, s - 0.45)
    entry = np.asarray(geo["exits"])[inside]
    near = np.argmin(((pts[:, None, :] - entry[None]) ** 2).sum(-1), axis=1)
    walk = float(np.sqrt(((pts - entry[near]) ** 2).sum(-1)).mean())

    sim = jps.Simulation(model=jps.CollisionFreeSpeedModel(), geometry=walkable, dt=dt)
    stages = [sim.add_exit_stage(e) for _, e in doors]
    journeys = [sim.add_journey(jps.JourneyDescription([st])) for st in stages]
    exit_of: dict[int, int] = {}
    for p, k in zip(pts, near, strict=True):
        aid = sim.add_agent(jps.CollisionFreeSpeedModelAgentParameters(
            position=(float(p[0]), float(p[1])), journey_id=journeys[k], stage_id=stages[k],
            desired_speed=V0, time_gap=1.0, radius=0.2))  # fmt: skip
        exit_of[aid] = int(k)
    every = max(1, round(1.0 / dt))
    prev: dict[int, tuple[float, float]] = {}
    times, left = [0.0], [0]
    peak_local, peak_queue = 0.0, np.zeros(len(doors))
    cells_x = np.arange(x0, cx + CELL, CELL)
    cells_y = np.arange(y0, cy + CELL, CELL)
    t = time.perf_counter()
    it = 0
    last_exit = 0.0
    while sim.agent_count() > 0 and sim.elapsed_time() - last_exit < STALL:
        sim.iterate()
        it += 1
        if it % every:
            continue
        now: dict[int, tuple[float, float]] = {a.id: a.position for a in sim.agents()}
        times.append(sim.elapsed_time())
        left.append(n - len(now))
        if left[-1] > left[-2]:
            last_exit = times[-1]
        if it % (60 * every) == 0:
            print(f"  jupedsim t={times[-1]:.0f} s: {left[-1]:,} of {n:,} out, "
                  f"{time.perf_counter() - t:.0f} s wall", file=sys.stderr, flush=True)  # fmt: skip
        if now:
            xy = np.array(list(now.values()))
            h, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], bins=[cells_x, cells_y])
            peak_local = max(peak_local, float(h.max()) / CELL**2)
            slow = np.zeros(len(doors))
            for aid, p in now.items():
                q = prev.get(aid)
                if q is not None and np.hypot(p[0] - q[0], p[1] - q[1]) < SLOW * every * dt:
                    slow[exit_of[aid]] += 1
            peak_queue = np.maximum(peak_queue, slow)
        prev = now
    wall = time.perf_counter() - t
    return {"time": np.array(times), "left": np.array(left, dtype=float), "n": n,
            "wall": wall, "iterations": it, "peak_local": peak_local,
            "peak_mean": n / quad.area, "longest_queue": float(peak_queue.max()),
            "walk": walk, "area_quadrant": quad.area, "area": outline.area,
            "stuck": sim.agent_count(), "end": float(sim.elapsed_time()),
            "n_exits": len(doors)}  # fmt: skip


def run_twin(usable_area: float, walk: float, widths: np.ndarray, params: FlowModelConfig,
             repeat: int, attendance: int = ATTENDANCE) -> dict[str, Any]:  # fmt: skip
    """The square alone in the zone model, starting with everyone walking out."""
    plazas = make_plazas([usable_area], [widths.tolist()], walk_distance=[walk], ids=[PLAZA])
    initial = CrowdState(time=0.0, plazas=plazas, walking=[float(attendance)])
    steps = 90  # 90 min: far past the egress
    demand = np.zeros((steps, 1))
    simulate(plazas, demand, dt=params.step, params=params, initial=initial)  # warm-up
    walls = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = simulate(plazas, demand, dt=params.step, params=params, initial=initial)
        walls.append(time.perf_counter() - t)
    out = np.r_[0.0, np.cumsum(r.outflow[:, 0])]
    tt = np.r_[0.0, r.time]
    dens = np.r_[attendance, r.occupants[:, 0]] / usable_area
    return {"time": tt, "left": out, "n": attendance, "wall": min(walls), "walls": walls,
            "peak_mean": float(dens.max()), "longest_queue": float(r.queue.max()),
            "usable_area": usable_area, "walk": walk}  # fmt: skip


def egress_time(run: dict[str, Any], share: float) -> float:
    """When ``share`` of the crowd has left [s], linear between records."""
    goal = share * run["n"]
    left, t = run["left"], run["time"]
    k = int(np.searchsorted(left, goal))
    if k >= left.size:
        return float("nan")
    if k == 0:
        return float(t[0])
    f = (goal - left[k - 1]) / (left[k] - left[k - 1])
    return float(t[k - 1] + f * (t[k] - t[k - 1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dt", type=float, default=0.1, help="JuPedSim step [s]")
    parser.add_argument("--no-dt-check", action="store_true",
                        help="skip JuPedSim's step check on a small crowd")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=5, help="twin runs (best)")
    parser.add_argument("--attendance", type=int, default=ATTENDANCE,
                        help="people leaving (a smaller crowd for a quick look)")  # fmt: skip
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    args = parser.parse_args()
    jps = require("jupedsim")

    geo = square_geometry()
    n = args.attendance
    # JuPedSim's step: its default 0.01 s is out of reach for the whole crowd here, so the
    # egress time's sensitivity to the step is measured on a small crowd first.
    check: list[tuple[float, float, float]] = []
    if not args.no_dt_check:
        for dt in (0.01, 0.05, 0.1):
            small = run_jupedsim(geo, dt=dt, attendance=CHECK_CROWD)
            check.append((dt, egress_time(small, 0.95), small["wall"]))
    j = run_jupedsim(geo, dt=args.dt, attendance=n)
    params = geo["params"]
    tw = run_twin(geo["usable_area"], geo["walk_distance"], geo["widths"], params, args.repeat, n)
    tm = run_twin(j["area"], j["walk"], geo["widths"], params, args.repeat, n)

    e95 = {k: egress_time(r, 0.95) for k, r in (("j", j), ("tw", tw), ("tm", tm))}
    e99 = {k: egress_time(r, 0.99) for k, r in (("j", j), ("tw", tw), ("tm", tm))}

    def dev(k: str) -> str:
        return f"{100 * (e95[k] - e95['j']) / e95['j']:+.0f} %"

    header = [f"Wulin Square concert egress: {n:,} leave at once, 8 exits × 4 m",
              "twin, as configured", "twin, JuPedSim's geometry", "JuPedSim"]  # fmt: skip
    rows = [
        ["egress time, 95 % out [min] (vs JuPedSim)", f"{e95['tw'] / 60:.1f} ({dev('tw')})",
         f"{e95['tm'] / 60:.1f} ({dev('tm')})", f"{e95['j'] / 60:.1f}"],
        ["egress time, 99 % out [min]", f"{e99['tw'] / 60:.1f}", f"{e99['tm'] / 60:.1f}",
         f"{e99['j'] / 60:.1f}"],
        ["peak density over the plaza [persons/m²]", f"{tw['peak_mean']:.2f}",
         f"{tm['peak_mean']:.2f}", f"{j['peak_mean']:.2f}"],
        ["peak local density, 2 × 2 m cells [persons/m²]", "– (one zone)", "– (one zone)",
         f"{j['peak_local']:.1f}"],
        ["longest exit queue [persons]", f"{tw['longest_queue']:,.0f}",
         f"{tm['longest_queue']:,.0f}", f"{j['longest_queue']:,.0f}"],
        ["usable area [m²] / mean walk to an exit [m]",
         f"{tw['usable_area']:,.0f} / {tw['walk']:.0f}",
         f"{tm['usable_area']:,.0f} / {tm['walk']:.0f}",
         f"{j['area']:,.0f} / {j['walk']:.0f}"],
        ["wall [s] (ratio JuPedSim / twin)",
         f"{tw['wall']:.4f} (**{j['wall'] / tw['wall']:,.0f}×**)",
         f"{tm['wall']:.4f}", f"{j['wall']:.0f} (one quadrant, {j['n']:,} agents)"],
    ]  # fmt: skip
    table = markdown_table(header, rows)
    mean_rate = n * 0.95 / e95["j"] / float(np.sum(geo["widths"]))
    est = ""
    if check and args.dt in [c[0] for c in check]:
        ref = check[0][1] / next(c[1] for c in check if c[0] == args.dt)
        j01 = e95["j"] * ref
        est = (
            f" Scaled by that small crowd's ratio ({ref:.2f}), JuPedSim at its default step "
            f"would take about {j01 / 60:.1f} min to 95 % out, and the twin as configured "
            f"would be {100 * (e95['tw'] - j01) / j01:+.0f} % from it (an estimate, not a "
            "measurement; the verdicts use the measured figures)."
        )
    notes = [
        f"JuPedSim {version(jps)}: `CollisionFreeSpeedModel`, dt {args.dt:g} s "
        f"({j['iterations']:,} iterations; JuPedSim's default is 0.01 s, "
        f"{args.dt / 0.01:.0f} times the work, which does not fit this benchmark's time "
        "on a 2-core machine shared with other jobs"
        + (
            f"; on a crowd of {CHECK_CROWD:,} its 95 % egress time at dt "
            + ", ".join(f"{dt:g} s is {e / 60:.2f} min ({w:.0f} s wall)" for dt, e, w in check)
            if check
            else ""
        )
        + "), one thread; agents radius 0.2 m, time gap 1 s, desired speed "
        f"{V0:g} m/s; {j['n']:,} agents in one quadrant ({j['area_quadrant']:,.0f} m², "
        f"{j['n_exits']} exits), start positions a jittered grid (seed 0), positions "
        "read every 1 s for the measures. Twin: 60-s steps, 4 substeps, exit capacity "
        f"{params.exit_capacity:g} persons/(m·s) × efficiency "
        f"{params.base_exit_efficiency:g}; best of {args.repeat} runs after a warm-up. "
        f"JuPedSim's mean discharge to 95 % out: {mean_rate:.2f} persons/(m·s) of exit "
        "width. "
        + (
            f"JuPedSim stopped at {j['end'] / 60:.1f} min with {j['stuck']:,} agents still "
            f"in: nobody had left for {STALL:.0f} s (agents deadlocked at a passage)."
            if j["stuck"]
            else f"Every JuPedSim agent was out at {j['end'] / 60:.1f} min."
        )
        + est,
        "The zone model's simplifications, where the answers differ: one density for the "
        "whole plaza (no local crush at the exits: JuPedSim's 2 × 2 m peak is the density "
        "people feel there); a fixed discharge per metre of exit (capacity × efficiency) "
        "where JuPedSim's flow through a door follows from the crowd's own spacing and "
        "speed; walkers reach the exits at a rate set by one mean walk distance (a "
        "bathtub), so the last walkers trickle out exponentially instead of arriving "
        "within the longest walk's time; exits chosen in proportion to width, not by "
        "nearness; and a usable area of 70 % of the outline for density where JuPedSim, "
        "given no obstacles, walks on all of it. Both start from a square standing evenly "
        "full and ignore the concert's release window.",
    ]
    ok = abs(e95["tw"] - e95["j"]) <= TARGET * e95["j"]
    ok_m = abs(e95["tm"] - e95["j"]) <= TARGET * e95["j"]
    verdicts = [
        f"target egress time (95 % out) within {100 * TARGET:.0f} % of JuPedSim, twin as "
        f"configured: {'met' if ok else 'not met'} ({dev('tw')})",
        f"target egress time (95 % out) within {100 * TARGET:.0f} % of JuPedSim, twin given "
        f"JuPedSim's geometry: {'met' if ok_m else 'not met'} ({dev('tm')})",
    ]
    body = "\n\n".join(["## Crowds: Wulin Square concert egress, twin vs JuPedSim", table,
                        *notes, *verdicts])  # fmt: skip
    print(body)
    if args.write and n == ATTENDANCE:
        write_section("bench_crowds_jupedsim", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
