"""Synthetic case arrivals: counts, hour-of-day shape, hot spots, sources, reproducibility.

Statistical tests use fixed seeds and bounds of about 4 standard deviations, so they
pass reliably yet fail when a rate, a profile or a share is off by a few per cent.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import cKDTree

from twin.cases.arrivals import (
    CaseGeneration,
    demand_weights,
    expected_count,
    expected_demand,
    generate_cases,
    hotspot_centres,
    hourly_rate,
)
from twin.cases.categories import CategoryTable, load_categories
from twin.errors import ScenarioError
from twin.network import RoadNetwork
from twin.scenario import CasesConfig, CaseSource, DurationDist, HotspotConfig, OperationsConfig

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 5, 27, 6, 30, tzinfo=SHANGHAI)  # a Monday, mid-hour on purpose
DAY = 86400.0
OPS = OperationsConfig()
#: One source without detection delay: every occurrence is reported inside the horizon.
INSTANT = (CaseSource(name="camera_ai", share=1.0, delay=DurationDist(kind="fixed", mean=0)),)


@pytest.fixture(scope="module")
def table() -> CategoryTable:
    return load_categories()


def _gen(
    net: RoadNetwork,
    table: CategoryTable,
    cfg: CasesConfig,
    seed: int,
    *,
    horizon: float = DAY,
    start: datetime = START,
) -> CaseGeneration:
    return generate_cases(
        net, cfg, table, start=start, horizon=horizon, rng=np.random.default_rng(seed),
        operations=OPS,
    )  # fmt: skip


def _local_hour(t: np.ndarray, start: datetime) -> np.ndarray:
    """Local hour of times [s since start] for a zone without DST changes."""
    offset = start.hour * 3600 + start.minute * 60 + start.second
    return ((t + offset) // 3600 % 24).astype(int)


@pytest.fixture(scope="module")
def big(gongshu: RoadNetwork, table: CategoryTable) -> CaseGeneration:
    """A large day of cases (about 60,000) without detection delay."""
    cfg = CasesConfig(daily_total=60000, sources=INSTANT)
    return _gen(gongshu, table, cfg, seed=7)


# ---------------------------------------------------------------------------- time
def test_daily_total_within_poisson_bound(gongshu: RoadNetwork, table: CategoryTable) -> None:
    cfg = CasesConfig(daily_total=1500, sources=INSTANT)
    counts = np.array([len(_gen(gongshu, table, cfg, seed).stream) for seed in range(20)])
    expected = 20 * 1500
    z = (counts.sum() - expected) / np.sqrt(expected)
    assert abs(z) < 4, (counts.sum(), expected)
    # Poisson: variance equals the mean (a dispersion check, generous).
    assert 0.3 < counts.var(ddof=1) / counts.mean() < 2.5


def test_partial_hours_match_expected_count(gongshu: RoadNetwork, table: CategoryTable) -> None:
    # 06:30 to 14:15 local: partial first and last hours.
    horizon = 7.75 * 3600
    cfg = CasesConfig(daily_total=5000, sources=INSTANT)
    expected = expected_count(cfg, table, start=START, at=0.0, window=horizon)
    by_hand = (
        5000
        / 24
        * sum(
            frac * float(table.share @ table.hourly_weight[:, h])
            for h, frac in [(6, 0.5), *((h, 1.0) for h in range(7, 14)), (14, 0.25)]
        )
    )
    assert expected == pytest.approx(by_hand, rel=1e-12)
    counts = [len(_gen(gongshu, table, cfg, seed, horizon=horizon).stream) for seed in range(10)]
    z = (sum(counts) - 10 * expected) / np.sqrt(10 * expected)
    assert abs(z) < 4


def test_hourly_counts_follow_the_profile(big: CaseGeneration, table: CategoryTable) -> None:
    s = big.stream
    hour = _local_hour(s.occur_time, START)
    observed = np.bincount(hour, minlength=24)
    rate = 60000 / 24 * (table.share @ table.hourly_weight)  # [cases/h] per local hour
    # The day starts at 06:30: hour 6 is seen twice, half an hour each time.
    chi2 = float(((observed - rate) ** 2 / rate).sum())
    assert stats.chi2.sf(chi2, df=23) > 1e-4, chi2
    # A wrong profile (flat) is rejected by the same test.
    flat = np.full(24, 60000 / 24)
    assert stats.chi2.sf(float(((observed - flat) ** 2 / flat).sum()), df=23) < 1e-10


def test_night_categories_occur_at_night(big: CaseGeneration, table: CategoryTable) -> None:
    s = big.stream
    hour = _local_hour(s.occur_time, START)
    night_hours = np.isin(hour, [21, 22, 23, 0, 1, 2, 3, 4, 5])
    night_cat = table.profile[s.category] == "night"
    day_cat = table.profile[s.category] == "day"
    assert night_hours[night_cat].mean() > 0.7
    assert night_hours[day_cat].mean() < 0.2
    night_weight = table.hourly_weight[table.profile == "night"][0]
    profile_share = night_weight[[21, 22, 23, 0, 1, 2, 3, 4, 5]].sum() / 24
    assert night_hours[night_cat].mean() == pytest.approx(profile_share, abs=0.02)


def test_category_shares(big: CaseGeneration, table: CategoryTable) -> None:
    counts = np.bincount(big.stream.category, minlength=len(table))
    drawn = table.share > 0
    assert counts[~drawn].sum() == 0  # categories raised only by events never occur here
    expected = table.share[drawn] * len(big.stream)
    chi2 = float(((counts[drawn] - expected) ** 2 / expected).sum())
    assert stats.chi2.sf(chi2, df=int(drawn.sum()) - 1) > 1e-4


def test_hourly_rate(table: CategoryTable) -> None:
    cfg = CasesConfig(daily_total=2400)
    # t = 0 is 06:30 local; t = 2 h is 08:30.
    for t, h in [(0.0, 6), (1800.0, 7), (7200.0, 8), (DAY - 1, 6)]:
        assert hourly_rate(cfg, table, start=START, t=t) == pytest.approx(
            100 * float(table.share @ table.hourly_weight[:, h])
        )
    # The mean over a day is daily_total / 24.
    day = [hourly_rate(cfg, table, start=START, t=3600.0 * k) for k in range(24)]
    assert np.mean(day) == pytest.approx(100.0)
    assert expected_count(cfg, table, start=START, at=0, window=DAY) == pytest.approx(2400)


def test_local_hours_follow_the_time_zone(table: CategoryTable) -> None:
    # The same instant, in UTC and in Shanghai: rates follow each start's own zone.
    cfg = CasesConfig(daily_total=2400)
    utc = START.astimezone(UTC)  # 22:30 UTC the day before
    assert hourly_rate(cfg, table, start=utc, t=0) == pytest.approx(
        100 * float(table.share @ table.hourly_weight[:, 22])
    )


def test_daylight_saving_day(table: CategoryTable) -> None:
    # 2024-03-10 in New York has 23 hours: 02:00-03:00 does not exist.
    ny = datetime(2024, 3, 10, 0, 0, tzinfo=ZoneInfo("America/New_York"))
    cfg = CasesConfig(daily_total=2400)
    rate = 100 * (table.share @ table.hourly_weight)
    assert hourly_rate(cfg, table, start=ny, t=2.5 * 3600) == pytest.approx(rate[3])
    assert expected_count(cfg, table, start=ny, at=0, window=23 * 3600) == pytest.approx(
        2400 - rate[2]
    )


# ---------------------------------------------------------------------------- space
def _near_centres(net: RoadNetwork, centres: np.ndarray, radius: float) -> np.ndarray:
    x, y = net.projector.forward(net.node_lon, net.node_lat)
    xy = np.column_stack([x, y])
    d, _ = cKDTree(xy[centres]).query(xy)
    return np.asarray(d <= radius)


def test_hotspot_share(gongshu: RoadNetwork, big: CaseGeneration) -> None:
    cfg = CasesConfig()  # 12 hot spots, share 0.6, radius 400 m
    centres = big.hotspot_nodes
    assert centres.size == 12
    near = _near_centres(gongshu, centres, 3 * cfg.hotspots.radius_m)
    observed = near[big.stream.node].mean()
    # A hot case lies within 3 sd of its centre with probability 1 - exp(-4.5) (2-D
    # Gaussian); a background case falls on a near node with the near nodes' share.
    analytic = 0.6 * (1 - np.exp(-4.5)) + 0.4 * near.mean()
    assert observed == pytest.approx(analytic, abs=0.02)
    # The same figure from the expected spatial intensity.
    w = demand_weights(gongshu, cfg, centres)
    assert observed == pytest.approx(w[near].sum(), abs=0.01)


def test_no_hotspots_is_uniform(gongshu: RoadNetwork, table: CategoryTable) -> None:
    cfg = CasesConfig(daily_total=50000, sources=INSTANT, hotspots=HotspotConfig(count=0))
    g = _gen(gongshu, table, cfg, seed=3)
    assert g.hotspot_nodes.size == 0
    counts = np.bincount(g.stream.node, minlength=gongshu.n_nodes)
    # Uniform over ~9,200 nodes: counts are Poisson-like with mean ~5.4.
    assert counts.var() / counts.mean() == pytest.approx(1.0, abs=0.1)
    w = demand_weights(gongshu, cfg, g.hotspot_nodes)
    np.testing.assert_allclose(w, 1.0 / gongshu.n_nodes)


def test_demand_weights(gongshu: RoadNetwork) -> None:
    cfg = CasesConfig()
    centres = hotspot_centres(gongshu, cfg.hotspots, np.random.default_rng(0))
    w = demand_weights(gongshu, cfg, centres)
    assert w.shape == (gongshu.n_nodes,)
    assert w.sum() == pytest.approx(1.0)
    assert w.min() == pytest.approx(0.4 / gongshu.n_nodes)
    near = _near_centres(gongshu, centres, 1200.0)
    assert w[near].sum() == pytest.approx(0.6 * (1 - np.exp(-4.5)) + 0.4 * near.mean(), abs=0.01)
    # Deterministic.
    np.testing.assert_array_equal(w, demand_weights(gongshu, cfg, centres))


def test_expected_demand_sums_to_expected_count(gongshu: RoadNetwork, table: CategoryTable) -> None:
    cfg = CasesConfig()
    centres = hotspot_centres(gongshu, cfg.hotspots, np.random.default_rng(0))
    d = expected_demand(gongshu, cfg, table, centres=centres, start=START, at=3600.0, window=1800.0)
    assert d.sum() == pytest.approx(
        expected_count(cfg, table, start=START, at=3600.0, window=1800.0)
    )
    assert d.sum() == pytest.approx(hourly_rate(cfg, table, start=START, t=3600.0) / 2)


def test_hotspot_centres_distinct(gongshu: RoadNetwork) -> None:
    c = hotspot_centres(gongshu, HotspotConfig(count=50), np.random.default_rng(1))
    assert c.size == 50 == np.unique(c).size
    assert np.all(np.diff(c) > 0)


# ---------------------------------------------------------------------------- stream
def test_stream_invariants(gongshu: RoadNetwork, table: CategoryTable) -> None:
    cfg = CasesConfig()
    s = _gen(gongshu, table, cfg, seed=11).stream
    assert len(s) > 1000
    assert np.all(np.diff(s.report_time) >= 0)
    assert np.all(s.report_time >= s.occur_time)
    assert np.all((s.occur_time >= 0) & (s.report_time < DAY))
    assert np.all((s.node >= 0) & (s.node < gongshu.n_nodes))
    assert np.all((s.category >= 0) & (s.category < len(table)))
    assert np.all((s.source >= 0) & (s.source < len(cfg.sources)))
    for name in ("file_time", "work_time", "verify_time"):
        assert np.all(getattr(s, name) > 0), name
    assert s.category.dtype == s.node.dtype == s.source.dtype == np.int64


def test_sources_and_detection_delays(big: CaseGeneration, gongshu: RoadNetwork) -> None:
    cfg = CasesConfig(daily_total=60000)
    s = _gen(gongshu, load_categories(), cfg, seed=5).stream
    frac = np.bincount(s.source, minlength=4) / len(s)
    np.testing.assert_allclose(frac, [src.share for src in cfg.sources], atol=0.01)
    delay = s.report_time - s.occur_time
    for k, src in enumerate(cfg.sources):
        assert delay[s.source == k].mean() == pytest.approx(src.delay.mean, rel=0.1), src.name
    # The instant source reports at once.
    np.testing.assert_array_equal(big.stream.report_time, big.stream.occur_time)


def test_work_times_follow_categories(big: CaseGeneration, table: CategoryTable) -> None:
    s = big.stream
    for c in (table.index_of("illegal_parking"), table.index_of("road_pothole")):
        w = s.work_time[s.category == c]
        assert w.mean() == pytest.approx(table.work_mean[c], rel=0.05)
        assert w.std() / w.mean() == pytest.approx(table.work_cv[c], rel=0.15)
    assert s.file_time.mean() == pytest.approx(OPS.file_time.mean, rel=0.02)
    assert s.verify_time.mean() == pytest.approx(OPS.verify_time.mean, rel=0.02)


def test_cases_reported_after_the_horizon_are_dropped(
    gongshu: RoadNetwork, table: CategoryTable
) -> None:
    slow = (CaseSource(name="patrol", share=1.0, delay=DurationDist(kind="fixed", mean=1800)),)
    cfg = CasesConfig(daily_total=24000, sources=slow)
    s = _gen(gongshu, table, cfg, seed=2, horizon=7200.0).stream
    assert np.all(s.occur_time < 5400.0)
    assert s.report_time.max() < 7200.0


def test_same_seed_same_stream(gongshu: RoadNetwork, table: CategoryTable) -> None:
    cfg = CasesConfig()
    a, b, c = (_gen(gongshu, table, cfg, seed) for seed in (42, 42, 43))
    for f in fields(a.stream):
        np.testing.assert_array_equal(getattr(a.stream, f.name), getattr(b.stream, f.name))
    np.testing.assert_array_equal(a.hotspot_nodes, b.hotspot_nodes)
    assert len(a.stream) != len(c.stream) or not np.array_equal(
        a.stream.report_time, c.stream.report_time
    )
    assert not np.array_equal(a.hotspot_nodes, c.hotspot_nodes)


def test_disabled_gives_no_cases(gongshu: RoadNetwork, table: CategoryTable) -> None:
    g = _gen(gongshu, table, CasesConfig(enabled=False), seed=0)
    assert len(g.stream) == 0


def test_bad_arguments(gongshu: RoadNetwork, table: CategoryTable) -> None:
    with pytest.raises(ScenarioError, match="no time zone"):
        _gen(gongshu, table, CasesConfig(), 0, start=datetime(2024, 5, 27))
    with pytest.raises(ScenarioError, match="horizon must be > 0"):
        _gen(gongshu, table, CasesConfig(), 0, horizon=0.0)
