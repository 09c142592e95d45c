"""Calibrated live bands: split conformal from the model folder, steered online by ACI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twin.forecast.base import QUANTILES
from twin.forecast.conformal import ConformalCalibrator
from twin.live.bands import LiveBands

H, N = 4, 6
STEP = 300_000
Z = np.array([-1.64, -1.28, -0.67, 0.0, 0.67, 1.28, 1.64])


@pytest.fixture(scope="module")
def calibrator() -> ConformalCalibrator:
    rng = np.random.default_rng(3)
    mu = 0.2 + 0.1 * rng.random((400, 1))
    q = np.broadcast_to(mu[:, :, None] + 0.02 * Z, (400, H, len(Z))).copy()
    y = mu + 0.05 * rng.standard_normal((400, H))  # wider than the raw band
    return ConformalCalibrator().fit(q, y)


def _raw(level: float = 0.25) -> np.ndarray:
    return np.broadcast_to(level + 0.02 * Z, (N, H, len(Z))).copy()


def test_split_bands_without_aci(calibrator: ConformalCalibrator) -> None:
    bands = LiveBands(calibrator, gamma=0.0, step_ms=STEP)
    raw = _raw()
    out = bands.issue(0, raw, np.full(N, np.nan))
    np.testing.assert_array_equal(out, calibrator.apply(raw))
    width = out[:, :, QUANTILES.index(0.9)] - out[:, :, QUANTILES.index(0.1)]
    assert (width > 0.1).all()  # widened from the raw 0.051 m to the noise (sd 0.05 m)
    summary = bands.summary()
    assert summary["method"] == "split conformal (radar storms)" and "alpha_t" not in summary
    assert summary["outcomes"] == 0 and summary["coverage_10_90"] is None
    assert json.loads(bands.dumps())["streams"] == {}
    # The split bands still count how they cover the readings, lead by lead.
    bands.issue(STEP, raw, np.full(N, 0.25))  # the median: inside
    bands.issue(2 * STEP, raw, np.full(N, 5.0))  # far above: outside
    summary = bands.summary()
    assert summary["outcomes"] == 3 * N
    assert summary["coverage_10_90"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["coverage_by_lead"][:3] == [0.5, 0.0, None]


def test_one_alpha_for_all_leads_and_the_model_folders_choice(
    calibrator: ConformalCalibrator,
) -> None:
    from twin.forecast.band_methods import BandMethod
    from twin.forecast.physics_model import load_physics_model
    from twin.live.config import ForecastConfig

    bands = LiveBands(calibrator, gamma=0.05, step_ms=STEP, per_lead=False)
    bands.issue(0, _raw(), np.full(N, np.nan))
    bands.issue(STEP, _raw(), np.full(N, 1.0))  # misses at lead 1 widen every lead
    assert bands.summary()["alpha_t"] < 0.2 and "alpha_t_by_lead" not in bands.summary()
    out = bands.issue(2 * STEP, _raw(), np.full(N, np.nan))
    base = calibrator.apply(_raw())
    lo, hi = QUANTILES.index(0.1), QUANTILES.index(0.9)
    assert (out[:, -1, hi] - out[:, -1, lo] > base[:, -1, hi] - base[:, -1, lo]).all()
    per_lead = LiveBands(calibrator, gamma=0.05, step_ms=STEP, per_lead=True)
    per_lead.restore(bands.dumps())  # another mode starts afresh
    assert per_lead.summary()["outcomes"] == 0
    # The live service follows the model folder's choice unless the config says otherwise.
    model = load_physics_model()
    assert model.band_method is not None
    chosen = LiveBands.for_model(model, ForecastConfig(), step_ms=STEP)
    assert chosen.gamma == (model.band_method.gamma or 0.0)
    assert chosen.per_lead == model.band_method.per_lead
    mine = LiveBands.for_model(
        model, ForecastConfig(aci_gamma=0.0, aci_per_lead=True), step_ms=STEP
    )
    assert mine.aci is None and mine.per_lead
    assert str(BandMethod()) == "split conformal"


def test_aci_feeds_each_reading_to_the_issue_at_its_lead(calibrator: ConformalCalibrator) -> None:
    bands = LiveBands(calibrator, gamma=0.05, step_ms=STEP)
    raw = _raw()
    first = bands.issue(0, raw, np.full(N, np.nan))
    np.testing.assert_allclose(first, calibrator.apply(raw))  # no outcome yet
    # The water rises far above every band: each reading is a miss, at lead 1 of the
    # issue before, lead 2 of the one before that, and so on.
    issued = [first] + [bands.issue(k * STEP, raw, np.full(N, 1.0)) for k in range(1, 3)]
    streams = {lead: st.n for (_, lead), st in bands.aci.streams.items()}  # type: ignore[union-attr]
    assert streams[0] == 2 * N and streams[1] == N and streams.get(2, 0) == 0
    summary = bands.summary()
    assert summary["outcomes"] == 3 * N and summary["coverage_10_90"] == 0.0
    assert summary["coverage_by_lead"][:3] == [0.0, 0.0, None]
    w = [b[:, :, QUANTILES.index(0.9)] - b[:, :, QUANTILES.index(0.1)] for b in issued]
    fed = np.r_[w[0][:, 0], w[0][:, 1], w[1][:, 0]]  # the bands whose outcomes came
    assert summary["mean_width_10_90_m"] == pytest.approx(fed.mean(), abs=1e-4)
    assert summary["alpha_t_by_lead"][0] < 0.2 < summary["alpha_t_by_lead"][3] + 1e-9
    wider = bands.issue(3 * STEP, raw, np.full(N, np.nan))
    lo, hi = QUANTILES.index(0.1), QUANTILES.index(0.9)
    base = calibrator.apply(raw)
    assert (wider[:, 0, hi] - wider[:, 0, lo] > base[:, 0, hi] - base[:, 0, lo]).all()
    np.testing.assert_allclose(wider[:, 3], base[:, 3])  # lead 4 has seen nothing
    # A reading off the 5-minute grid, or older than the horizon, feeds nothing.
    n_before = summary["outcomes"]
    bands.issue(3 * STEP + 1000, raw, np.full(N, 1.0))
    assert bands.summary()["outcomes"] == n_before


def test_state_survives_a_restart_but_not_another_gamma(calibrator: ConformalCalibrator) -> None:
    bands = LiveBands(calibrator, gamma=0.05, step_ms=STEP)
    for k in range(4):
        bands.issue(k * STEP, _raw(), np.full(N, 1.0))
    saved = bands.dumps()
    again = LiveBands(calibrator, gamma=0.05, step_ms=STEP)
    again.restore(saved)
    assert again.summary() == bands.summary()
    np.testing.assert_array_equal(
        again.issue(9 * STEP, _raw(), np.full(N, np.nan)),
        bands.issue(9 * STEP, _raw(), np.full(N, np.nan)),
    )
    other = LiveBands(calibrator, gamma=0.01, step_ms=STEP)
    other.restore(saved)
    assert other.summary()["outcomes"] == 0  # another step size starts afresh
    for bad in ("not json", '{"version": 1, "gamma": 0.05, "streams": {"0": [1]}}', None):
        fresh = LiveBands(calibrator, gamma=0.05, step_ms=STEP)
        fresh.restore(bad)
        assert fresh.summary()["outcomes"] == 0
