"""Arrivals per plaza and step: exact integrals, timetables, events, errors."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from twin.crowds.config import BackgroundFlow, BusFeed, CrowdConfig, CrowdEvent, MetroFeed
from twin.crowds.demand import Demand, build_demand, demand_profile, train_times
from twin.crowds.plazas import Plazas
from twin.errors import ScenarioError

QUIET = {"metro": (), "buses": (), "background": ()}
TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 6, 1, tzinfo=TZ)


def test_sources_add_up(day: Demand) -> None:
    assert day.n_steps == 1440 and day.n_plazas == 5 and day.n_events == 1
    total = sum(day.by_source.values())
    assert_allclose(total, day.arrivals, rtol=1e-12, atol=1e-9)
    assert np.all(day.arrivals >= 0.0)


def test_hourly_profiles_integrate_exactly(plazas: Plazas) -> None:
    per_hour = np.arange(24.0) * 10
    bus = BusFeed(name="b", plaza="*", buses_per_hour=list(per_hour), alighting_per_bus=2.0)
    cfg = CrowdConfig(**{**QUIET, "buses": (bus,)})
    # Start at 06:20, a 90-s step: steps straddle hour boundaries.
    d = build_demand(plazas, cfg, START + timedelta(hours=6, minutes=20), 5 * 3600.0, dt=90.0)
    expected = 2.0 * (per_hour[6] * 40 / 60 + per_hour[7:11].sum() + per_hour[11] * 20 / 60)
    assert_allclose(d.through.sum(axis=0), expected, rtol=1e-12)
    bg = CrowdConfig(**{**QUIET, "background": (BackgroundFlow(name="v", per_hour=100.0),)})
    d = build_demand(plazas, bg, START, 86_400.0)
    assert_allclose(d.visit.sum(axis=0), 100.0 * 24 * plazas.area / 1e4, rtol=1e-12)
    assert_allclose(d.visit_dwell, 900.0)


def test_train_times() -> None:
    tph = np.full(24, 12.0)
    t = train_times(tph, 0.0, 3600.0)
    assert_allclose(t, 150.0 + 300.0 * np.arange(12))
    tph = np.zeros(24)
    tph[7] = 4.0
    assert_allclose(train_times(tph, -3600.0, 86_400.0), 7 * 3600 + 450.0 + 900.0 * np.arange(4))
    # Across midnight into the next day, and before midnight.
    assert train_times(tph, 86_400.0, 2 * 86_400.0).size == 4
    assert train_times(tph, -86_400.0, 0.0)[0] == pytest.approx(7 * 3600 + 450.0 - 86_400.0)


def test_metro_feed_total(plazas: Plazas) -> None:
    feed = MetroFeed(name="m", plaza="plaza-fengqilu-station")
    cfg = CrowdConfig(**{**QUIET, "metro": (feed,)})
    d = build_demand(plazas, cfg, START, 86_400.0)
    expected = np.dot(feed.trains_per_hour, feed.alighting_per_train)
    assert d.metro[:, 3].sum() == pytest.approx(expected, rel=1e-12)
    assert d.metro[:, [0, 1, 2, 4]].sum() == 0.0
    # A train's load arrives over spread_s = 90 s: at 60-s steps pulses span 2–3 steps.
    first = np.flatnonzero(d.metro[:, 3])[:3]
    assert first[0] >= 6 * 60


def test_event_in_plaza(plazas: Plazas, day: Demand) -> None:
    c = plazas.index("plaza-wulin-square")
    assert day.event_plaza.tolist() == [c]
    assert day.event.sum() + day.event_metro.sum() == pytest.approx(30_000, rel=1e-12)
    assert day.event_metro.sum() == pytest.approx(0.4 * 30_000, rel=1e-9)
    k = np.arange(day.n_steps)
    walking_in = day.event[:, 0]
    window = (k >= 17 * 60 + 30) & (k < 19 * 60 + 30)
    assert walking_in[~window].sum() == 0.0
    assert np.all(np.diff(walking_in[window]) > 0)  # a ramp up to the start
    h = day.event_release[:, 0]
    assert np.all(h[: 22 * 60] == 0.0) and np.all(h[22 * 60 + 9 :] == 1.0)
    # Uniform release over 10 min: 1/10, 1/9, ..., 1 of those still there.
    assert_allclose(h[22 * 60 : 22 * 60 + 10], 1.0 / np.arange(10, 0, -1))
    assert day.by_source["event"][:, c].sum() == pytest.approx(30_000, rel=1e-12)


def test_event_adjacent_venue(plazas: Plazas) -> None:
    ev = CrowdEvent(name="game", plaza="plaza-canal-cultural-square", venue="adjacent",
                    start=datetime(2024, 6, 1, 15, 0), end=datetime(2024, 6, 1, 17, 0),
                    attendance=10_000, arrival_shape="uniform")  # fmt: skip
    d = build_demand(plazas, CrowdConfig(**QUIET, events=(ev,)), START, 86_400.0)
    assert d.n_events == 0
    assert d.through[:, 2].sum() == pytest.approx(20_000, rel=1e-12)  # in and out again
    inbound = d.through[13 * 60 : 15 * 60, 2]
    assert_allclose(inbound, 10_000 / 120)
    assert_allclose(d.through[17 * 60 : 17 * 60 + 30, 2], 10_000 / 30)


def test_naive_event_times_take_the_start_zone(plazas: Plazas, concert: CrowdConfig) -> None:
    naive = concert
    aware_event = naive.events[0].model_copy(
        update={
            "start": datetime(2024, 6, 1, 19, 30, tzinfo=TZ),
            "end": datetime(2024, 6, 1, 22, 0, tzinfo=TZ),
        }
    )
    aware = naive.model_copy(update={"events": (aware_event,)})
    a = build_demand(plazas, naive, START, 86_400.0)
    b = build_demand(plazas, aware, START, 86_400.0)
    assert_array_equal(a.arrivals, b.arrivals)


def test_errors(plazas: Plazas, concert: CrowdConfig) -> None:
    with pytest.raises(ScenarioError, match=r"crowds.metro\[0\] \(m\): no plaza 'nowhere'"):
        build_demand(
            plazas, CrowdConfig(metro=(MetroFeed(name="m", plaza="nowhere"),)), START, 3600
        )
    two = (BackgroundFlow(name="a", dwell_s=600), BackgroundFlow(name="b", dwell_s=60))
    with pytest.raises(ScenarioError, match="must share their dwell time"):
        build_demand(plazas, CrowdConfig(background=two), START, 3600)
    cfg = concert.model_copy(update={"metro": ()})
    with pytest.raises(ScenarioError, match="no timetabled feed"):
        build_demand(plazas, cfg, START, 86_400)
    with pytest.raises(ScenarioError, match="whole number"):
        build_demand(plazas, CrowdConfig(), START, 3601)
    ev = concert.events[0]
    aware = ev.model_copy(
        update={"start": ev.start.replace(tzinfo=TZ), "end": ev.end.replace(tzinfo=TZ)}
    )
    with pytest.raises(ScenarioError, match="time zone"):
        build_demand(
            plazas,
            concert.model_copy(update={"events": (aware,)}),
            START.replace(tzinfo=None),
            3600,
        )


def test_window_tile_and_plain_arrays(plazas: Plazas, day: Demand, concert: CrowdConfig) -> None:
    w = day.window(600, 660)
    assert w.n_steps == 60 and w.t0 == 600 * 60.0
    assert_array_equal(w.arrivals, day.arrivals[600:660])
    big = day.tile(4)
    assert big.n_plazas == 20 and big.n_events == 4
    assert_array_equal(big.event_plaza, [0, 5, 10, 15])
    assert_allclose(big.arrivals[:, 5:10], day.arrivals)
    plain = Demand.from_arrivals(np.ones((3, 2)), 60.0)
    assert plain.plaza_ids.tolist() == ["plaza-1", "plaza-2"] and plain.arrivals.sum() == 6.0
    assert_array_equal(demand_profile(plazas, concert, START, 86_400.0), day.arrivals)
    with pytest.raises(ValueError, match=r"Demand.visit: expected shape \(60, 5\)"):
        replace(w, visit=np.ones((2, 2)))
