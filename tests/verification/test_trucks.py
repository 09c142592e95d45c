"""Muck trucks against analytical answers.

- A dock is a deterministic multi-server queue (D/D/c): c trucks arriving together at a
  dock with c berths and unloading time u wait 0, the next c wait u, the next 2u, ...
- A saturated dock unloads exactly ``berths × 3600 / u`` trucks an hour.
- A truck's drive takes the textbook time: the sum of its edges' travel times divided by
  the truck speed factor, on the fastest path (Dijkstra) of the departure hour.
- Spoil is conserved: loaded = delivered + dumped + spilled + in transit, at any horizon.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.network import RoadNetwork
from twin.trucks import TruckResult, TrucksConfig, simulate_trucks

TZ = ZoneInfo("Asia/Shanghai")
SITE = (120.153304, 30.306357)  # site-01 of the bundled layer
DOCK = (120.1337, 30.33)  # dock-a


def _layers(tmp: Path, *, spoil: float, berths: int, unload_min: float) -> tuple[str, str]:
    common = {"illustrative": True, "source": "test fixture"}
    site = {"id": "s", "name": "s", "spoil_m3_per_day": spoil, "working_hours": "00:00-24:00"}
    dock = {"id": "d", "name": "d", "berths": berths, "unload_minutes": unload_min,
            "opening_hours": "00:00-24:00"}  # fmt: skip
    for name, props, xy in (("sites", site, SITE), ("docks", dock, DOCK)):
        fc = {"type": "FeatureCollection", "features": [{
            "type": "Feature", "properties": {**props, **common},
            "geometry": {"type": "Point", "coordinates": list(xy)}}]}  # fmt: skip
        (tmp / f"{name}.geojson").write_text(json.dumps(fc), encoding="utf-8")
    return str(tmp / "sites.geojson"), str(tmp / "docks.geojson")


def _config(
    tmp: Path, *, trucks: int, spoil: float, berths: int, unload_min: float
) -> TrucksConfig:
    sites, docks = _layers(tmp, spoil=spoil, berths=berths, unload_min=unload_min)
    clean = {k: 0.0 for k in ("spillage", "dumping", "deviation", "speeding", "overloading")}
    return TrucksConfig.model_validate({
        "enabled": True, "sites": sites, "docks": docks, "bans": [],
        "truck": {"site_loaders": trucks, "loading_time": 360},
        "companies": [{"name": "c", "trucks": trucks, "profile": clean}],
        "sensors": {"cameras": {"count": 0}, "probes": {"count": 0}},
    })  # fmt: skip


def _run(net: RoadNetwork, cfg: TrucksConfig, hours: float) -> TruckResult:
    start = datetime(2024, 6, 1, 1, 0, tzinfo=TZ)  # free-flow hours (index 1.00)
    return simulate_trucks(net, cfg, start=start, horizon=hours * 3600.0, seed=0)


def test_dock_is_a_deterministic_multiserver_queue(gongshu: RoadNetwork, tmp_path: Path) -> None:
    u = 10.0 * 60.0
    cfg = _config(tmp_path, trucks=6, spoil=6 * 12.0, berths=2, unload_min=u / 60.0)
    r = _run(gongshu, cfg, 2.0)
    tr = r.trips
    assert len(tr) == 6 and (tr["fate"] == "delivered").all()
    assert tr["arrive"].nunique() == 1  # they travel together
    np.testing.assert_allclose(np.sort(tr["queue_time"]), [0, 0, u, u, 2 * u, 2 * u], atol=1e-9)
    np.testing.assert_allclose(r.kpis["dock_queue_mean_s"], u)  # (0 + u + 2u) / 3


def test_saturated_dock_throughput(gongshu: RoadNetwork, tmp_path: Path) -> None:
    u = 10.0 * 60.0
    cfg = _config(tmp_path, trucks=40, spoil=12.0 * 1000, berths=2, unload_min=u / 60.0)
    r = _run(gongshu, cfg, 6.0)
    end = r.trips["unload_end"].dropna().to_numpy()
    counts = np.histogram(end, bins=np.arange(3600.0, 6 * 3600.0 + 1, 3600.0))[0]
    assert np.all(counts == 2 * 3600 / u)  # 12 trucks an hour, every full hour


def test_drive_takes_the_textbook_time(gongshu: RoadNetwork, tmp_path: Path) -> None:
    cfg = _config(tmp_path, trucks=2, spoil=24.0, berths=2, unload_min=5.0)
    r = _run(gongshu, cfg, 2.0)
    trip = r.trips.iloc[0]
    legs = r.track[(r.track["trip"] == trip["trip"]) & (r.track["leg"] == 0)]
    edges = legs["edge"].to_numpy()
    hour = int(r.local_hour(np.array([trip["depart"]]))[0])
    t_edges = gongshu.travel_times(hour)[edges] / cfg.truck.speed_factor
    assert trip["arrive"] - trip["depart"] == pytest.approx(t_edges.sum(), rel=1e-12)
    o, d = r.sites.node[0], r.docks.node[0]
    best = gongshu.shortest_path(o, d, when=hour, by_position=True)
    assert t_edges.sum() == pytest.approx(best.travel_time / cfg.truck.speed_factor, rel=1e-9)
    assert trip["route_length_km"] * 1000 == pytest.approx(gongshu.length[edges].sum())


@pytest.mark.parametrize("hours", [2.5, 7.0])
def test_spoil_is_conserved_at_any_horizon(gongshu: RoadNetwork, hours: float) -> None:
    cfg = TrucksConfig.model_validate({
        "enabled": True, "trips_per_day": 800,
        "companies": [{"name": "sloppy", "trucks": 120, "profile": {
            "spillage": 0.3, "dumping": 0.1, "overloading": 0.3}}],
    })  # fmt: skip
    start = datetime(2024, 6, 1, 19, 0, tzinfo=TZ)
    r = simulate_trucks(gongshu, cfg, start=start, horizon=hours * 3600.0, seed=3)
    b = r.balance
    assert b["in_transit"] > 0 and b["dumped"] > 0 and b["spilled"] > 0
    lhs = b["loaded"]
    rhs = b["delivered"] + b["dumped"] + b["spilled"] + b["in_transit"]
    assert lhs == pytest.approx(rhs, abs=1e-9)
    tr = r.trips
    moving = tr[tr["fate"] == "in_transit"]
    carried = (moving["spoil_m3"] - moving["spilled_m3"] - moving["dumped_m3"].fillna(0)).sum()
    assert carried == pytest.approx(b["in_transit"], abs=1e-9)
