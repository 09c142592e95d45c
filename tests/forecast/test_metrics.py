from __future__ import annotations

import numpy as np
import pytest

from twin.forecast.base import exceedance_probability
from twin.forecast.metrics import (
    LeadAccumulator,
    contingency_scores,
    episode_onsets,
    warning_leads,
)


def test_contingency_scores_textbook():
    # Wilks (2011) style table: a=28 hits, b=72 false alarms, c=23 misses.
    s = contingency_scores(28, 72, 23)
    assert s["pod"] == pytest.approx(28 / 51)
    assert s["far"] == pytest.approx(72 / 100)
    assert s["csi"] == pytest.approx(28 / 123)
    assert np.isnan(contingency_scores(0, 0, 0)["csi"])


def test_accumulator_perfect_and_mean_forecasts():
    rng = np.random.default_rng(0)
    truth = rng.random((200, 3)) * 0.4
    acc = LeadAccumulator(3, (0.15,))
    acc.add(truth, truth - 0.01, truth + 0.01, truth)
    s = acc.scores()
    np.testing.assert_allclose(s["mae"], 0.0)
    np.testing.assert_allclose(s["nse"], 1.0)
    np.testing.assert_allclose(s["coverage_80"], 1.0)
    np.testing.assert_allclose(s["csi_0"], 1.0)
    mean = LeadAccumulator(3, (0.15,))
    m = np.broadcast_to(truth.mean(axis=0), truth.shape)
    mean.add(m, m, m, truth)
    np.testing.assert_allclose(mean.scores()["nse"], 0.0, atol=1e-12)


def test_episode_onsets_with_hysteresis():
    d = np.array([0.0, 0.1, 0.16, 0.14, 0.16, 0.10, 0.2, 0.0])
    # 0.14 is within the 2-cm hysteresis: no new episode; 0.10 re-arms.
    np.testing.assert_array_equal(episode_onsets(d, 0.15), [2, 6])


def test_warning_leads():
    issues = np.arange(0, 40, 2)
    warned = np.zeros(issues.size, dtype=bool)
    warned[(issues >= 10) & (issues < 30)] = True
    lead, scored = warning_leads(np.array([20, 38, 1]), issues, warned, horizon=24)
    # Onset at 20: warned since issue 10 → 10 steps. Onset at 38: last issue 36 not
    # warned → missed. Onset at 1: only issue 0 before it, not warned → missed.
    np.testing.assert_array_equal(lead, [10, 0, 0])
    np.testing.assert_array_equal(scored, [True, True, True])
    lead, scored = warning_leads(np.array([0]), issues, warned, horizon=24)
    assert not scored[0]


def test_exceedance_probability_interpolates_quantiles():
    levels = (0.1, 0.5, 0.9)
    q = np.array([[0.0, 0.1, 0.2]])
    assert exceedance_probability(q, 0.15, levels)[0] == pytest.approx(0.3)
    assert exceedance_probability(q, 0.1, levels)[0] == pytest.approx(0.5)
    assert exceedance_probability(q, 0.5, levels)[0] == pytest.approx(0.1)  # tail held
    assert exceedance_probability(q, -1.0, levels)[0] == pytest.approx(0.9)
