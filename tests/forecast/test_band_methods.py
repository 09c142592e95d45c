"""Choosing how a band is calibrated online: coverage by lead, or the interval score."""

from __future__ import annotations

import numpy as np
import pytest

from twin.forecast.band_methods import (
    BandMethod,
    band_methods,
    choose_band_method,
    interval_score,
    method_bands,
)
from twin.forecast.base import QUANTILES

Z = np.array([-1.64, -1.28, -0.67, 0.0, 0.67, 1.28, 1.64])


def _run(seed: int, sd: float, k: int = 30, n: int = 10, h: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    mu = 0.2 + 0.1 * rng.random((k * n, 1))
    q = np.broadcast_to(mu[:, :, None] + 0.02 * Z, (k * n, h, len(Z))).copy()
    y = mu + sd * rng.standard_normal((k * n, h))
    return {"q": q, "y": y, "issues": k, "points": n, "rows": np.arange(k)}


def test_interval_score_by_hand() -> None:
    q = np.zeros((1, 3, len(QUANTILES)))
    q[:, :, QUANTILES.index(0.1)], q[:, :, QUANTILES.index(0.9)] = 0.1, 0.3
    y = np.array([[0.2, 0.35, 0.05]])  # inside, 0.05 above, 0.05 below
    # width 0.2 each; misses cost 2/0.2 × 0.05 = 0.5
    assert interval_score(q, q, y) == pytest.approx((0.2 + 0.7 + 0.7) / 3)


def test_choose_by_coverage_or_by_interval_score() -> None:
    train = [_run(1, 0.05), _run(2, 0.05)]
    valid = [_run(3, 0.10)]  # noisier than the calibration: the split band undercovers
    methods = [BandMethod(), BandMethod(0.05, per_lead=True, carried=True)]
    choice, best = choose_band_method(train, valid, methods)
    (split, _), (aci, _) = choice
    assert len(split) == 5 and split[0] < 0.75  # coverage, least, most, width, score
    assert aci[0] > split[0] and aci[3] > split[3]  # ACI covers more with wider bands
    assert best == methods[1]  # nearer 0.8 at every lead
    by_score = choose_band_method(train, valid, methods, criterion="interval")[1]
    want = methods[int(np.argmin([split[4], aci[4]]))]
    assert by_score == want
    with pytest.raises(ValueError, match="criterion"):
        choose_band_method(train, valid, methods, criterion="sharpest")  # type: ignore[arg-type]


def test_methods_and_their_bands() -> None:
    assert band_methods()[0] == BandMethod() and len(band_methods()) == 17
    assert all(m.carried for m in band_methods(carried_only=True)[1:])
    assert str(BandMethod(0.01, True, True)) == (
        "online ACI, gamma 0.01, an α_t per lead, carried from storm to storm"
    )
    assert BandMethod(0.01, False, True).short() == "γ 0.01, carried"
    from twin.forecast.conformal import ConformalCalibrator

    runs = [_run(1, 0.05)]
    cal = ConformalCalibrator().fit(runs[0]["q"], runs[0]["y"])
    np.testing.assert_array_equal(method_bands(cal, runs, BandMethod()), cal.apply(runs[0]["q"]))
    carried = method_bands(cal, runs, BandMethod(0.05, carried=True), warm=[_run(5, 0.2)])
    fresh = method_bands(cal, runs, BandMethod(0.05))
    assert not np.array_equal(carried, fresh)  # the warm storm's state carried over
