from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import norm

from twin.forecast.adaptive import AdaptiveAlpha, AdaptiveConformal
from twin.forecast.base import QUANTILES
from twin.forecast.conformal import (
    SOURCES,
    ConformalCalibrator,
    ConformalSettings,
    point_class,
    split_events,
)
from twin.forecast.coverage import coverage, coverage_table, wet_mask
from twin.forecast.errors import ForecastError
from twin.forecast.features import STATIC_FEATURES, PointFeatures

Z = norm.ppf(QUANTILES)
PAIRS = ((0.25, 0.75), (0.1, 0.9), (0.05, 0.95))


def synthetic(
    n_events: int,
    per_event: int,
    *,
    seed: int,
    horizon: int = 24,
    dry_share: float = 0.2,
    shrink: float = 0.5,
    log: bool = False,
):
    """Forecasts with known heteroscedastic noise, their quantiles ``shrink`` × too narrow.

    The noise grows with depth, lead and point class (underpasses twice as noisy) and
    has a storm-level factor (windows of one event are correlated). A share of windows
    is dry: nothing observed, nothing forecast.
    """
    rng = np.random.default_rng(seed)
    n = n_events * per_event
    events = np.repeat(np.arange(n_events), per_event)
    groups = np.where(rng.random(n) < 0.4, "underpass", "street")
    lead = (np.arange(horizon) + 1) / horizon
    mu = rng.lognormal(np.log(0.08), 0.7, (n, 1)) * (1.0 + 0.5 * lead)
    g_scale = np.where(groups == "underpass", 2.0, 1.0)[:, None]
    storm = rng.lognormal(0.0, 0.15, n_events)[events][:, None]
    eps = rng.standard_normal((n, horizon))
    if log:
        s = 0.3 * g_scale * (0.5 + lead)
        y = mu * np.exp(s * storm * eps)
        q = mu[..., None] * np.exp(shrink * s[..., None] * Z)
    else:
        sd = g_scale * (0.005 + 0.25 * mu) * (0.5 + lead)
        y = np.maximum(mu + sd * storm * eps, 0.0)
        q = np.maximum(mu[..., None] + shrink * sd[..., None] * Z, 0.0)
    dry = rng.random(n) < dry_share
    y[dry], q[dry] = 0.0, 0.0
    return q, y, groups, events


@pytest.fixture(scope="module")
def additive_sets():
    return synthetic(300, 20, seed=11), synthetic(300, 20, seed=12)


def assert_sorted_nonnegative(q):
    assert np.all(np.diff(q, axis=-1) >= 0.0)
    assert np.all(q >= 0.0)


@pytest.mark.parametrize("scale", ["additive", "log"])
def test_split_cqr_covers_nominal_on_held_out_events(scale):
    log = scale == "log"
    q_cal, y_cal, g_cal, e_cal = synthetic(300, 20, seed=1, log=log)
    q_test, y_test, g_test, _ = synthetic(300, 20, seed=2, log=log)
    cal = ConformalCalibrator(ConformalSettings(scale=scale)).fit(q_cal, y_cal, g_cal, events=e_cal)
    out = cal.apply(q_test, g_test)
    assert_sorted_nonnegative(out)
    wet = wet_mask(q_test, y_test)
    assert coverage(q_test, y_test, mask=wet) < 0.6  # raw quantiles are too narrow
    for lo, hi in PAIRS:
        assert coverage(out, y_test, lo, hi, mask=wet) == pytest.approx(hi - lo, abs=0.03)
    for g in ("underpass", "street"):
        m = wet & (g_test == g)[:, None]
        assert coverage(out, y_test, mask=m) == pytest.approx(0.8, abs=0.03)
    table = coverage_table(out, y_test, g_test, wet=wet)
    per_lead = table[(table["subset"] == "wet") & (table["group"] == "all")]
    assert len(per_lead) == 24
    np.testing.assert_allclose(per_lead["coverage"], 0.8, atol=0.05)
    # Dry windows are covered by any band: coverage over all windows is inflated.
    assert coverage(out, y_test) > coverage(out, y_test, mask=wet) + 0.02
    assert (cal.source[:2] == 0).all()  # every cell had enough entries


def test_calibrating_on_all_windows_undercovers_wet_ones(additive_sets):
    (q_cal, y_cal, g_cal, _), (q_test, y_test, g_test, _) = additive_sets
    cal = ConformalCalibrator(ConformalSettings(wet_depth=None)).fit(q_cal, y_cal, g_cal)
    out = cal.apply(q_test, g_test)
    assert coverage(out, y_test) == pytest.approx(0.8, abs=0.03)
    assert coverage(out, y_test, mask=wet_mask(q_test, y_test)) < 0.78


def test_finite_sample_quantile_matches_hand_computation():
    # One group, one lead, band 0.1–0.9 at 0 m: the score is the observed depth, and
    # the correction is its ceil((n+1)(1-α))-th smallest = 8th of 9 for α = 0.2.
    levels = (0.1, 0.5, 0.9)
    y = np.array([3, 1, 4, 9, 5, 2, 6, 8, 7], dtype=float)[:, None] / 100
    q = np.zeros((9, 1, 3))
    settings = ConformalSettings(levels=levels, wet_depth=None, min_count=1)
    cal = ConformalCalibrator(settings).fit(q, y)
    assert cal.corrections[0, 0, 0] == pytest.approx(0.08)
    np.testing.assert_allclose(cal.apply(np.zeros((1, 1, 3)))[0, 0], [0.0, 0.0, 0.08])
    with pytest.raises(ForecastError, match="give at least 4 entries"):
        ConformalCalibrator(settings).fit(q[:3], y[:3])


@pytest.mark.parametrize("scale", ["additive", "log"])
@pytest.mark.parametrize("median", ["keep", "shift", "centre"])
def test_output_sorted_and_nonnegative_when_bands_shrink(scale, median):
    # Raw bands 3× too wide: negative corrections, crossings to repair.
    q_cal, y_cal, g_cal, _ = synthetic(100, 20, seed=3, shrink=3.0, log=scale == "log")
    q_test, y_test, g_test, _ = synthetic(100, 20, seed=4, shrink=3.0, log=scale == "log")
    cal = ConformalCalibrator(ConformalSettings(scale=scale, median=median))
    cal.fit(q_cal, y_cal, g_cal)
    assert (cal.corrections < 0).any()
    noisy = q_test * np.random.default_rng(0).uniform(0.5, 1.5, q_test.shape)
    for raw in (q_test, np.sort(noisy, axis=-1), noisy):
        assert_sorted_nonnegative(cal.apply(raw, g_test))
    out = cal.apply(q_test, g_test)
    wet = wet_mask(q_test, y_test)
    assert coverage(out, y_test, mask=wet) == pytest.approx(0.8, abs=0.04)


def test_median_modes(additive_sets):
    (q_cal, y_cal, g_cal, _), (q_test, y_test, g_test, _) = additive_sets
    q_cal, q_test = 0.8 * q_cal, 0.8 * q_test  # a forecaster biased low
    fits = {
        m: ConformalCalibrator(ConformalSettings(median=m)).fit(q_cal, y_cal, g_cal)
        for m in ("keep", "shift", "centre")
    }
    keep = fits["keep"].apply(q_test, g_test)
    np.testing.assert_array_equal(keep[..., 3], q_test[..., 3])  # inside its band here
    centre = fits["centre"].apply(q_test, g_test)
    pos = centre[..., 2] > 0
    np.testing.assert_allclose(
        centre[..., 3][pos], 0.5 * (centre[..., 2] + centre[..., 4])[pos], atol=1e-12
    )
    shift = fits["shift"].apply(q_test, g_test)
    wet = wet_mask(q_test, y_test)
    assert np.mean(y_test[wet] <= q_test[..., 3][wet]) < 0.4
    assert np.mean(y_test[wet] <= shift[..., 3][wet]) == pytest.approx(0.5, abs=0.03)


def test_small_groups_fall_back_to_pooled(additive_sets):
    (q, y, g, e), _ = additive_sets
    g = g.astype(object)
    g[:30] = "rare"  # 30 windows, some dry: fewer than min_count wet entries per lead
    cal = ConformalCalibrator(ConformalSettings(min_count=50)).fit(q, y, g, events=e)
    rare = cal.groups.index("rare")
    pooled = len(cal.groups)
    assert (cal.counts[rare] < 50).all()
    assert (cal.source[rare] == SOURCES.index("pooled_groups")).all()
    np.testing.assert_array_equal(cal.corrections[rare], cal.corrections[pooled])
    # Unknown groups at prediction time use the pooled corrections.
    np.testing.assert_array_equal(cal.apply(q[:5], ["new"] * 5), cal.apply(q[:5], ["rare"] * 5))
    # Too few at every lead: pooled over groups and leads.
    big = ConformalCalibrator(ConformalSettings(min_count=10_000)).fit(q, y, g)
    assert (big.source == SOURCES.index("pooled_all")).all()
    assert np.ptp(big.corrections, axis=(0, 1)).max() == 0.0
    # Too few events per cell: a group seen in two storms only falls back.
    g2 = np.where(np.isin(e, [0, 1]), "two_storms", g).astype(object)
    ev = ConformalCalibrator(ConformalSettings(min_events=5)).fit(q, y, g2, events=e)
    assert (ev.source[ev.groups.index("two_storms")] > 0).all()
    assert (ev.source[ev.groups.index("street")] == 0).all()
    with pytest.raises(ForecastError, match="usable calibration entries"):
        ConformalCalibrator(ConformalSettings(min_count=10**7)).fit(q, y, g)


def test_nan_observations_are_masked(additive_sets):
    (q, y, g, _), _ = additive_sets
    y_nan = y.copy()
    y_nan[:100] = np.nan
    a = ConformalCalibrator().fit(q, y_nan, g)
    b = ConformalCalibrator().fit(q[100:], y[100:], g[100:])
    np.testing.assert_array_equal(a.corrections, b.corrections)
    np.testing.assert_array_equal(a.counts, b.counts)
    assert coverage(q, y_nan) == coverage(q[100:], y[100:])


def test_adaptive_alpha_update_rule():
    a = AdaptiveAlpha(0.2, gamma=0.1)
    assert a.update(True) == pytest.approx(0.2 + 0.1 * 0.2)
    assert a.update(False) == pytest.approx(0.22 + 0.1 * (0.2 - 1.0))
    b = AdaptiveAlpha(0.2, gamma=0.1)
    b.update_many([True, False])
    assert b.alpha_t == pytest.approx(a.alpha_t)
    assert (b.n, b.coverage) == (2, 0.5)
    with pytest.raises(ForecastError):
        AdaptiveAlpha(1.2)


def test_aci_drives_running_coverage_to_target_under_drift():
    rng = np.random.default_rng(5)

    def windows(sd):
        mu = 0.5 + 0.1 * rng.random((sd.size, 1))
        y = mu + sd[:, None] * rng.standard_normal((sd.size, 1))
        return mu[..., None] + 0.025 * Z, y  # raw quantiles assume sd = 2.5 cm

    q_cal, y_cal = windows(np.full(2000, 0.05))
    cal = ConformalCalibrator(ConformalSettings(wet_depth=None)).fit(q_cal, y_cal)
    steps, gamma = 3000, 0.01
    sd = 0.05 * (1.0 + np.arange(steps) / steps)  # the noise doubles over the stream
    q, y = windows(sd)
    static = coverage(cal.apply(q), y)
    aci = AdaptiveConformal(cal, gamma=gamma)
    covered = [aci.observe(aci.apply(q[t : t + 1]), y[t : t + 1])[0, 0] for t in range(steps)]
    running = float(np.mean(covered))
    assert static < 0.7
    assert running == pytest.approx(0.8, abs=0.025)
    # Gibbs & Candès (2021), Prop. 4.1: |mean error - α| ≤ (max(α, 1-α) + γ) / (γ T).
    assert abs((1 - running) - 0.2) <= (0.8 + gamma) / (gamma * steps)
    assert aci.stream("all").coverage == running
    assert aci.stream("all").alpha_t < 0.2  # it widened the band


def test_aci_replay_learns_only_from_outcomes_already_observed():
    rng = np.random.default_rng(9)
    k, n, h = 60, 8, 4
    mu = 0.5 + 0.1 * rng.random((k, n, 1))
    q = np.broadcast_to(mu[..., None] + 0.025 * Z, (k, n, h, len(Z))).copy()
    sd = 0.05 * (1.0 + np.arange(k) / k)[:, None, None]  # the noise doubles over the event
    y = mu + sd * rng.standard_normal((k, n, h))
    q_cal = mu[:40, :, :1, None] + 0.025 * Z
    y_cal = mu[:40, :, :1] + 0.05 * rng.standard_normal((40, n, 1))
    cal = ConformalCalibrator(ConformalSettings(wet_depth=None)).fit(
        np.repeat(q_cal.reshape(-1, 1, len(Z)), h, axis=1),
        np.repeat(y_cal.reshape(-1, 1), h, axis=1),
    )
    steps = np.arange(k) * 2  # an issue every 2 steps
    issued = AdaptiveConformal(cal, gamma=0.02).replay(q, y, steps)
    # Before any outcome is known (lead 1 of the first issue arrives at step 1), the
    # bands are the split ones; afterwards they widen with the growing noise.
    np.testing.assert_allclose(issued[0], cal.apply(q[0]))
    later = AdaptiveConformal(cal, gamma=0.02).replay(q, y, steps)
    np.testing.assert_array_equal(issued, later)  # deterministic
    # Causality: changing what is observed at or after an issue's own outcomes arrive
    # changes nothing issued before those outcomes are known.
    y2 = y.copy()
    y2[30:] = 10.0  # outcomes of issues 30.. are known from step 61 on (issue 31 at 62)
    changed = AdaptiveConformal(cal, gamma=0.02).replay(q, y2, steps)
    np.testing.assert_array_equal(changed[:31], issued[:31])
    assert not np.array_equal(changed[31:], issued[31:])
    # It steers towards the band's coverage where the split band undercovers.
    flat = issued.reshape(k * n, h, -1)
    assert coverage(flat, y.reshape(k * n, h)) > coverage(
        cal.apply(q.reshape(k * n, h, -1)), y.reshape(k * n, h)
    )
    # flush: every outcome is fed once the replay ends, and the streams carry over.
    carried = AdaptiveConformal(cal, gamma=0.02)
    np.testing.assert_array_equal(carried.replay(q, y, steps, flush=True), issued)
    assert carried.stream("all", 0).n == k * n and carried.stream("all", h - 1).n == k * n
    fresh = AdaptiveConformal(cal, gamma=0.02)
    fresh.replay(q, y, steps)
    assert fresh.stream("all", h - 1).n < k * n  # the last issues' outcomes came after
    nxt = carried.replay(q, y, steps)
    assert carried.stream("all", 0).alpha_t != 0.2
    assert not np.array_equal(nxt[0], issued[0])  # the next storm starts where this ended
    with pytest.raises(ForecastError, match="do not fit"):
        AdaptiveConformal(cal).replay(q, y[:, :, :2], steps)
    with pytest.raises(ForecastError, match="increase"):
        AdaptiveConformal(cal).replay(q, y, steps[::-1])


def test_aci_keeps_streams_per_group_and_lead(additive_sets):
    (q, y, g, _), _ = additive_sets
    cal = ConformalCalibrator().fit(q, y, g)
    aci = AdaptiveConformal(cal, gamma=0.05)
    np.testing.assert_array_equal(aci.apply(q[:50], g[:50]), cal.apply(q[:50], g[:50]))
    aci.update(False, group="street", lead=3)
    assert aci.stream("street", 3).alpha_t < 0.2
    street = np.flatnonzero(g == "street")[:50]
    wider = aci.apply(q[street], g[street]) - cal.apply(q[street], g[street])
    assert (wider[:, 3, 5] >= 0).all() and (wider[:, 3, 5] > 0).any()
    np.testing.assert_array_equal(wider[:, [0, 4]], 0.0)
    assert aci.stream("street", 4).alpha_t == 0.2
    assert aci.stream("underpass", 3).alpha_t == 0.2
    shared = AdaptiveConformal(cal, per_lead=False)
    shared.update(False, group="street", lead=3)
    assert shared.stream("street", 7).alpha_t < 0.2
    with pytest.raises(ForecastError, match="symmetric pair"):
        AdaptiveConformal(cal, lower=0.1, upper=0.95)


def test_state_round_trip(additive_sets, tmp_path):
    (q, y, g, e), (q_test, _, g_test, _) = additive_sets
    cal = ConformalCalibrator(ConformalSettings(scale="log", median="shift")).fit(q, y, g, events=e)
    config, arrays = cal.get_state()
    (tmp_path / "calibration.json").write_text(json.dumps(config))
    np.savez_compressed(tmp_path / "calibration.npz", **arrays)
    with np.load(tmp_path / "calibration.npz") as npz:
        loaded = ConformalCalibrator.from_state(
            json.loads((tmp_path / "calibration.json").read_text()),
            {k: npz[k] for k in npz.files},
        )
    assert loaded.settings == cal.settings
    assert loaded.groups == cal.groups
    np.testing.assert_array_equal(loaded.apply(q_test, g_test), cal.apply(q_test, g_test))
    frame = loaded.corrections_frame()
    assert len(frame) == (len(cal.groups) + 1) * 24 * 3
    assert set(frame["source"]) <= set(SOURCES)
    with pytest.raises(ForecastError, match="format"):
        ConformalCalibrator.from_state({**config, "format": "other"}, arrays)
    with pytest.raises(ForecastError, match="lacks"):
        ConformalCalibrator.from_state(config, {"corrections": arrays["corrections"]})
    tuples = ConformalCalibrator().fit(q[:600], y[:600], [(1, "a")] * 600)
    with pytest.raises(ForecastError, match="cannot be saved"):
        tuples.get_state()


def test_bad_inputs_raise_clear_errors(additive_sets):
    (q, y, g, _), _ = additive_sets
    cal = ConformalCalibrator()
    with pytest.raises(ForecastError, match="not fitted"):
        cal.apply(q)
    with pytest.raises(ForecastError, match="observed depths have shape"):
        cal.fit(q, y[:, :-1], g)
    with pytest.raises(ForecastError, match="quantiles have shape"):
        cal.fit(q[..., :5], y, g)
    with pytest.raises(ForecastError, match="quantiles have shape"):
        cal.fit(q[:, 0], y, g)
    with pytest.raises(ForecastError, match="labels for"):
        cal.fit(q, y, g[:-1])
    bad = q.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ForecastError, match="non-finite"):
        cal.fit(bad, y, g)
    with pytest.raises(ForecastError, match="not symmetric"):
        ConformalSettings(levels=(0.1, 0.5, 0.8))
    with pytest.raises(ForecastError, match=r"with 0\.5"):
        ConformalSettings(levels=(0.1, 0.9))
    with pytest.raises(ForecastError, match="not among the quantile levels"):
        coverage(q, y, lower=0.2)
    with pytest.raises(ForecastError, match="scale"):
        ConformalSettings(scale="square")  # type: ignore[arg-type]
    cal.fit(q, y, g)
    with pytest.raises(ForecastError, match="fitted on 24"):
        cal.apply(q[:, :12], g)


def test_coverage_helpers_by_hand():
    q = np.zeros((2, 2, 7))
    q[..., 1], q[..., 5] = 0.1, 0.3  # band 0.1–0.3 m
    y = np.array([[0.2, 0.5], [0.05, np.nan]])
    assert coverage(q, y) == pytest.approx(1 / 3)
    assert coverage(q, y, mask=[[True, False], [False, False]]) == 1.0
    assert np.isnan(coverage(q, y, mask=np.zeros((2, 2), bool)))
    table = coverage_table(q, y, ["a", "b"], wet=[[True, True], [False, False]])
    assert list(table.columns) == [
        "subset", "group", "lead", "lead_min", "n", "coverage", "mean_width"
    ]  # fmt: skip
    row = table.query("subset == 'all' and group == 'all' and lead == 1").iloc[0]
    assert (row["n"], row["coverage"], row["lead_min"]) == (2, 0.5, 5.0)
    assert row["mean_width"] == pytest.approx(0.2)
    wet = table.query("subset == 'wet' and group == 'a'")
    assert wet["coverage"].tolist() == [1.0, 0.0]


def test_split_events_and_point_class():
    events = np.repeat(["s1", "s2", "s3", "s4"], 3)
    mask = split_events(events, share=0.5, seed=0)
    assert mask.sum() == 6
    for s in np.unique(events):
        assert len(set(mask[events == s])) == 1  # whole storms on one side
    np.testing.assert_array_equal(mask, split_events(events, share=0.5, seed=0))
    static = np.zeros((3, len(STATIC_FEATURES)))
    static[1, STATIC_FEATURES.index("is_underpass")] = 1.0
    pts = PointFeatures(ids=np.array(["a", "b", "c"]), static=static)
    assert point_class(pts).tolist() == ["street", "underpass", "street"]
