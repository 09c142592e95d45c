"""Trips are valid paths on the network and avoid every edge banned when driven."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from tests.trucks.conftest import NOON, TZ, busy_config
from twin.network import RoadNetwork
from twin.trucks import TruckError, TruckResult, simulate_trucks
from twin.trucks.config import Ban, TrucksConfig
from twin.trucks.routing import BanSchedule, Clock, in_window


def test_every_leg_is_a_connected_path(day: TruckResult, gongshu: RoadNetwork) -> None:
    tr = day.track
    assert len(tr) > 50_000
    same = (tr["trip"].to_numpy()[1:] == tr["trip"].to_numpy()[:-1]) & (
        tr["leg"].to_numpy()[1:] == tr["leg"].to_numpy()[:-1]
    )
    e = tr["edge"].to_numpy()
    assert np.all(gongshu.edge_v[e[:-1]][same] == gongshu.edge_u[e[1:]][same])
    # Times run forward and each edge takes its time.
    assert np.all(tr["leave"].to_numpy() >= tr["enter"].to_numpy())
    assert np.all(
        tr["enter"].to_numpy()[1:][same] == pytest.approx(tr["leave"].to_numpy()[:-1][same])
    )


def test_legs_start_at_the_site_and_end_at_the_dock(day: TruckResult, gongshu: RoadNetwork) -> None:
    tr, trips = day.track, day.trips.set_index("trip")
    first = tr.groupby(["trip", "leg"]).head(1)
    last = tr.groupby(["trip", "leg"]).tail(1)
    site_node = dict(zip(day.sites.id, day.sites.node, strict=True))
    dock_node = dict(zip(day.docks.id, day.docks.node, strict=True))
    loaded = first[first["leg"] == 0]
    sites = trips.loc[loaded["trip"], "site"].map(site_node).to_numpy()
    assert np.all(gongshu.edge_u[loaded["edge"].to_numpy()] == sites)
    end = last[(last["leg"] == 0)]
    delivered = trips.loc[end["trip"], "fate"].to_numpy() == "delivered"
    docks = trips.loc[end["trip"], "dock"].map(dock_node).to_numpy()
    assert np.all(gongshu.edge_v[end["edge"].to_numpy()][delivered] == docks[delivered])


def test_compliant_trips_never_drive_a_banned_edge(day: TruckResult, gongshu: RoadNetwork) -> None:
    cfg = day.config
    exempt = np.concatenate([day.sites.node, day.docks.node])
    sched = BanSchedule.from_bans(gongshu, cfg.bans, Clock(NOON), exempt_nodes=exempt)
    tr = day.track
    banned = sched.banned_at(tr["edge"].to_numpy(), tr["enter"].to_numpy())
    deviant = day.trips.set_index("trip").loc[tr["trip"], "deviation"].to_numpy()
    assert banned.sum() > 0  # deviating drivers do break bans ...
    assert not np.any(banned & ~deviant)  # ... and nobody else does
    assert (day.trips.loc[~day.trips["deviation"], "banned_edges_used"] == 0).all()
    n_dev = int((day.trips["banned_edges_used"] > 0).sum())
    assert n_dev == int((day.violations["kind"] == "deviation").sum()) > 0


def test_a_ban_changes_the_routes(gongshu: RoadNetwork) -> None:
    cfg = TrucksConfig(enabled=True, trips_per_day=200, bans=())
    start = datetime(2024, 6, 1, 22, tzinfo=TZ)
    free = simulate_trucks(gongshu, cfg, start=start, horizon=3600.0, seed=2)
    used = np.unique(free.track["edge"].to_numpy())
    count = np.bincount(free.track["edge"].to_numpy(), minlength=gongshu.n_edges)
    ends = np.isin(gongshu.edge_u, free.docks.node) | np.isin(gongshu.edge_v, free.docks.node)
    ends |= np.isin(gongshu.edge_u, free.sites.node) | np.isin(gongshu.edge_v, free.sites.node)
    busiest = int(np.where(ends, 0, count).argmax())  # edges at sites and docks are exempt
    u, v = (
        int(gongshu.node_ids[gongshu.edge_u[busiest]]),
        int(gongshu.node_ids[gongshu.edge_v[busiest]]),
    )
    ban = Ban(name="one edge", edges=((u, v),))
    banned = simulate_trucks(gongshu, cfg.model_copy(update={"bans": (ban,)}), start=start,
                             horizon=3600.0, seed=2)  # fmt: skip
    assert busiest in used
    honest = ~banned.trips.set_index("trip").loc[banned.track["trip"], "deviation"].to_numpy()
    assert busiest not in set(banned.track["edge"].to_numpy()[honest].tolist())


def test_windows_and_schedule_wrap_midnight() -> None:
    assert in_window(23.5, (22.0, 6.0)) and in_window(1.0, (22.0, 6.0))
    assert not in_window(12.0, (22.0, 6.0))
    clock = Clock(NOON)
    masks = [np.array([True, False]), np.array([False, True])]
    sched = BanSchedule(masks, [(22.0, 6.0), (13.0, 14.0)], clock)
    assert sched.active_during(0.0, 0.0) == frozenset()  # 12:00
    assert sched.active_during(0.0, 2 * 3600.0) == frozenset({1})  # 12:00-14:00
    assert sched.active_during(11 * 3600.0, 12 * 3600.0) == frozenset({0})  # 23:00-00:00
    assert sched.active_during(3600.0, 11 * 3600.0) == frozenset({0, 1})
    assert clock.until_open((22.0, 6.0), 0.0) == 10 * 3600.0


@pytest.mark.parametrize(
    ("ban", "match"),
    [
        (Ban(name="far", area=((121.0, 31.0), (121.1, 31.0), (121.1, 31.1))), r"bans\[0\].*area"),
        (Ban(name="edge", edges=((1, 2),)), r"bans\[0\].*edges\[0\].*not in the network"),
        (Ban(name="name", name_contains=("no such road",)), r"name_contains"),
    ],
)
def test_bad_bans_raise_clear_errors(gongshu: RoadNetwork, ban: Ban, match: str) -> None:
    cfg = TrucksConfig(enabled=True, bans=(ban,))
    with pytest.raises(TruckError, match=match):
        simulate_trucks(gongshu, cfg, start=NOON, horizon=60.0, seed=0)


def test_missing_edge_between_real_nodes(gongshu: RoadNetwork) -> None:
    a, b = int(gongshu.node_ids[0]), int(gongshu.node_ids[-1])
    cfg = busy_config(bans=(Ban(name="x", edges=((a, b),)),))
    with pytest.raises(TruckError, match="no edge runs from"):
        simulate_trucks(gongshu, cfg, start=NOON, horizon=60.0, seed=0)
