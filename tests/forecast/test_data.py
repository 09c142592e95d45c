from __future__ import annotations

import numpy as np
import pytest

from twin.forecast.data import generate_storm_set
from twin.forecast.errors import ForecastError
from twin.forecast.sensors import SensorModel, sensor_readings
from twin.forecast.windows import (
    ENCODER_STEPS,
    HORIZON_STEPS,
    fill_readings,
    make_windows,
    sample_windows,
)


def test_storm_set_layout(tiny_set):
    d = tiny_set
    assert d.n_storms == 6
    assert sorted(set(d.split)) == ["test", "train", "validation"]
    assert d.depth.shape == d.obs.shape == (d.offsets[-1], 53)
    assert d.rain.shape == (d.offsets[-1],)
    for s in range(d.n_storms):
        rows = d.rows(s)
        assert d.rain[rows][0] == 0.0  # nothing fell before the record began
        assert np.all(d.depth[rows][0] == 0.0)  # the physics starts dry
        # The first two hours are the real (dry) record before the storm starts.
        assert d.rows(s).stop - d.rows(s).start > ENCODER_STEPS + HORIZON_STEPS
    assert np.nanmin(d.obs) >= 0.0
    assert 0.0 < np.isnan(d.obs).mean() < 0.1


def test_split_by_storm_never_inside(tiny_set):
    # Every storm has one label; a split's subset has only its storms' rows.
    test = tiny_set.select("test")
    assert set(test.split) == {"test"}
    assert test.offsets[-1] == sum(
        tiny_set.rows(s).stop - tiny_set.rows(s).start
        for s in np.flatnonzero(tiny_set.split == "test")
    )
    assert not set(test.storm_id) & set(tiny_set.select("train").storm_id)


def test_reproducible_with_seed(lowpts, record):
    cat, rain = record
    kw = dict(catalogue=cat, rain=rain, splits=("test",), max_storms=1, include_design=False)
    a = generate_storm_set(lowpts, seed=5, **kw)
    b = generate_storm_set(lowpts, seed=5, **kw)
    np.testing.assert_array_equal(a.obs, b.obs)
    np.testing.assert_array_equal(a.depth, b.depth)


def test_sensor_model_noise_drift_gaps():
    rng = np.random.default_rng(0)
    depth = np.full((5000, 4), 0.3)
    obs = sensor_readings(depth, 300.0, SensorModel(), rng)
    gaps = np.isnan(obs)
    assert 0.01 < gaps.mean() < 0.05
    err = obs[~gaps[:, 0], 0] - 0.3
    assert 0.002 < np.std(np.diff(err)) < 0.02  # white noise of ~5 mm
    clean = sensor_readings(
        depth,
        300.0,
        SensorModel(noise_sd=0, offset_sd=0, drift_sd=0, gap_prob=0, outage_prob=0),
        rng,
    )
    np.testing.assert_array_equal(clean, depth)


def test_fill_readings_last_value():
    obs = np.array([[np.nan], [0.1], [np.nan], [np.nan], [0.3]])
    filled, missing = fill_readings(obs)
    np.testing.assert_array_equal(filled[:, 0], [0.0, 0.1, 0.1, 0.1, 0.3])
    np.testing.assert_array_equal(missing[:, 0], [True, False, True, True, False])


def test_windows_align_with_the_record(tiny_set):
    d = tiny_set
    rows = d.rows(0)
    origins = np.array([ENCODER_STEPS - 1, ENCODER_STEPS + 10])
    w = make_windows(d, 0, origins, points=np.array([4, 7]), future_rain="observed")
    assert len(w) == 4
    # Row order: origin-major, point-minor.
    k, p = origins[1], 7
    np.testing.assert_array_equal(w.target[3], d.depth[rows][k + 1 : k + 1 + HORIZON_STEPS, p])
    np.testing.assert_array_equal(w.rain_future[3], d.rain[rows][k + 1 : k + 1 + HORIZON_STEPS])
    np.testing.assert_array_equal(w.rain_hist[3], d.rain[rows][k - ENCODER_STEPS + 1 : k + 1])
    # The default covariate is the nowcast at the issue time: gauge persistence, the mean
    # of the last 15 minutes held, whatever fell after.
    now = make_windows(d, 0, origins, points=np.array([4, 7]))
    np.testing.assert_array_equal(now.rain_hist, w.rain_hist)
    np.testing.assert_allclose(now.rain_future[3], np.full(24, d.rain[rows][k - 2 : k + 1].mean()))
    with pytest.raises(ForecastError, match="origins must lie"):
        make_windows(d, 0, np.array([3]))


def test_sample_windows_enriched_in_wet(tiny_set):
    w = sample_windows(tiny_set, 500, wet_share=0.8, rng=np.random.default_rng(0))
    assert len(w) == 500
    wet = (w.target.max(axis=1) > 0.02) | (w.rain_future.max(axis=1) > 0)
    assert wet.mean() > 0.6


def test_hidden_drains_one_city_blockages_per_storm(lowpts, record):
    """The gauge storms' water comes from the real drains: one city, blockages per storm."""
    import zlib

    from twin.hydro.truth import DRAIN_CLIMATOLOGY, drain_factors, true_ponding
    from twin.scenario.hydro import TruthConfig

    cat, rain = record
    kw = dict(catalogue=cat, rain=rain, splits=("test",), max_storms=3, include_design=False,
              spatial_sd=0.0)  # fmt: skip
    hidden = generate_storm_set(lowpts, seed=5, **kw)
    nominal = generate_storm_set(lowpts, seed=5, drains=None, **kw)
    assert hidden.drains.startswith("gauge storms: hidden drains")
    assert nominal.drains.startswith("gauge storms: nominal")
    # Same storms, same rain: only the drains differ, and so does the water.
    np.testing.assert_array_equal(hidden.rain, nominal.rain)
    assert not np.array_equal(hidden.depth, nominal.depth)
    # No spread and no blockage: the real drains are the nominal ones, bit for bit.
    none = TruthConfig(capacity_sd=0.0, area_sd=0.0, blockage_share=0.0)
    np.testing.assert_array_equal(
        generate_storm_set(lowpts, seed=5, drains=none, **kw).depth, nominal.depth
    )
    # Rebuilt by hand: one draw of the city's drains for every storm, each storm's
    # blockages from its own id, starting within half an hour of the storm (2 h in).
    n = len(lowpts)
    city = drain_factors(DRAIN_CLIMATOLOGY, n, np.random.default_rng([5, 0x7207]))
    for i, sid in enumerate(hidden.storm_id):
        rows = hidden.rows(i)
        g = hidden.rain[rows][1:]
        rng = np.random.default_rng([5, 0x7207, zlib.crc32(str(sid).encode())])
        want = true_ponding(lowpts.params, g[:, None] * np.ones((1, n)), 300.0,
                            DRAIN_CLIMATOLOGY, rng, rain_start=7200.0,
                            factors=city).water_depth  # fmt: skip
        np.testing.assert_array_equal(hidden.depth[rows], want)


def test_true_ponding_given_factors_is_the_drawn_city(lowpts):
    from twin.hydro.truth import DRAIN_CLIMATOLOGY, drain_factors, true_ponding

    n = len(lowpts)
    rain2d = np.zeros((60, n))
    rain2d[10:30] = 80.0
    drawn = true_ponding(lowpts.params, rain2d, 300.0, DRAIN_CLIMATOLOGY,
                         np.random.default_rng(3), rain_start=3000.0)  # fmt: skip
    rng = np.random.default_rng(3)
    city = drain_factors(DRAIN_CLIMATOLOGY, n, rng)
    given = true_ponding(lowpts.params, rain2d, 300.0, DRAIN_CLIMATOLOGY, rng,
                         rain_start=3000.0, factors=city)  # fmt: skip
    np.testing.assert_array_equal(drawn.water_depth, given.water_depth)
    with pytest.raises(ValueError, match="factors"):
        true_ponding(lowpts.params, rain2d, 300.0, DRAIN_CLIMATOLOGY, rng,
                     factors=(city[0][:3], city[1]))  # fmt: skip
