from __future__ import annotations

import numpy as np
import pytest

from twin.forecast.base import QUANTILES
from twin.forecast.baselines import LinearRainForecaster, PersistenceForecaster
from twin.forecast.errors import ForecastError, ModelFileError
from twin.forecast.io import load_forecaster, load_shipped, save_forecaster
from twin.forecast.nowcast import future_rain
from twin.forecast.sarimax import SarimaxForecaster, _frame, _window_exog
from twin.forecast.windows import ENCODER_STEPS, Windows, make_windows, storm_origins, windows_at


@pytest.fixture(scope="module")
def test_windows(tiny_set):
    test = tiny_set.select("test")
    g, _ = storm_origins(test, stride=6)
    n = len(test.points)
    return windows_at(test, np.repeat(g, n), np.tile(np.arange(n), g.size))


@pytest.fixture(scope="module")
def linear(few_points_set):
    """Trained on the observed future rain (the oracle): it learns to trust the rain."""
    return LinearRainForecaster(future_rain="observed").fit(few_points_set.select("train"), seed=0)


def test_persistence_median_is_last_reading(tiny_set, test_windows):
    model = PersistenceForecaster().fit(tiny_set.select("train"), seed=0)
    q = model.predict(test_windows)
    assert q.shape == (len(test_windows), 24, len(QUANTILES))
    i50 = QUANTILES.index(0.5)
    # The median residual of a dry window is 0: the median is the last reading.
    dry = (test_windows.rain_future.max(axis=1) == 0) & (test_windows.depth_hist[:, -1] < 0.02)
    np.testing.assert_allclose(
        q[dry, :, i50], np.repeat(test_windows.depth_hist[dry, -1:], 24, axis=1), atol=1e-3
    )
    assert np.all(np.diff(q, axis=-1) >= 0)


def test_linear_responds_to_future_rain(linear, few_points_set):
    test = few_points_set.select("test")
    w = make_windows(test, 0, np.array([ENCODER_STEPS - 1]))
    dry = linear.predict(w.with_rain_future(np.zeros_like(w.rain_future)))
    wet = linear.predict(w.with_rain_future(np.full_like(w.rain_future, 80.0)))
    i50 = QUANTILES.index(0.5)
    assert np.all(wet[:, -1, i50] > dry[:, -1, i50] + 0.05)


def test_sarimax_batch_filter_equals_statsmodels(few_points_set):
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    model = SarimaxForecaster(n_storms=4, maxiter=15).fit(few_points_set.select("train"), seed=0)
    test = few_points_set.select("test")
    g, _ = storm_origins(test, stride=4)
    w = windows_at(test, g[:8], np.full(8, 1))
    w = Windows(
        w.depth_hist,
        w.missing_hist | (np.arange(24) % 7 == 3),
        w.rain_hist,
        w.rain_future,
        w.point,
        w.target,
    )  # with gaps
    raw = model._predict(w)
    ex_hist, ex_fut = _window_exog(w)
    for i in range(len(w)):
        y = np.where(w.missing_hist[i], np.nan, w.depth_hist[i])
        res = SARIMAX(y, exog=_frame(ex_hist[i]), order=(2, 0, 1), trend="n").filter(
            model.params[1]
        )
        fc = res.get_forecast(24, exog=_frame(ex_fut[i]))
        np.testing.assert_allclose(
            raw[i, :, QUANTILES.index(0.5)], fc.predicted_mean, rtol=1e-6, atol=1e-9
        )
        sd = (
            raw[i, :, QUANTILES.index(0.9)] - raw[i, :, QUANTILES.index(0.5)]
        ) / 1.2815515655446004
        # Trained on the nowcast: the spread is the state-space one times a lead factor.
        np.testing.assert_allclose(sd, np.sqrt(fc.var_pred_mean) * model.lead_scale, rtol=1e-6)


def test_save_load_identical_predictions(linear, few_points_set, tmp_path):
    test = few_points_set.select("test")
    w = make_windows(test, 0, np.arange(ENCODER_STEPS - 1, ENCODER_STEPS + 20))
    save_forecaster(linear, tmp_path / "m", card="# card\n")
    back = load_forecaster(tmp_path / "m")
    np.testing.assert_array_equal(back.predict(w), linear.predict(w))
    assert (tmp_path / "m" / "MODEL_CARD.md").is_file()


def test_shipped_nhits_save_load_identical(tmp_path, test_windows):
    model = load_shipped("nhits")
    q = model.predict(test_windows)
    assert q.shape == (len(test_windows), 24, len(QUANTILES))
    assert np.all(np.diff(q, axis=-1) >= 0) and np.all(q >= 0)
    save_forecaster(model, tmp_path / "nhits")
    again = load_forecaster(tmp_path / "nhits").predict(test_windows)
    np.testing.assert_array_equal(again, q)


@pytest.mark.parametrize("points", [False, True])
def test_nhits_fast_inputs_equal_pytorch_forecasting(tiny_set, points):
    import pandas as pd
    from pytorch_forecasting import TimeSeriesDataSet
    from pytorch_forecasting.data import TorchNormalizer

    from twin.forecast.neural import _dataset, _rain_features, network_inputs, point_category

    test = tiny_set.select("test")
    k = ENCODER_STEPS + 5
    w = make_windows(test, 0, np.array([k]), points=np.array([3]), target="depth")
    rain = _rain_features(w.rain_hist, w.rain_future)[0]
    n = ENCODER_STEPS + 24
    frames = []
    # With the point embedding, four series (points 0-3, the same values): the category
    # codes pytorch-forecasting gives them must be the point indices.
    for p in range(4) if points else [3]:
        frame = pd.DataFrame(
            {
                "series": [point_category(p)] * n,
                "time_idx": np.arange(n),
                "rain": rain[:, 0],
                "rain_60min": rain[:, 1],
                "depth_dm": np.r_[w.depth_hist[0], w.target[0]] * 10.0,
                "missing": np.r_[w.missing_hist[0], np.zeros(24)].astype(float),
            }
        )
        for j, name in enumerate(
            ("log_area_ha", "drain_mm_h", "log_area_per_pond", "is_underpass")
        ):
            frame[name] = test.points.static[3, j]
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    ds = _dataset(
        frame.astype({c: "float32" for c in frame.columns[2:]}),
        ENCODER_STEPS,
        24,
        TimeSeriesDataSet,
        TorchNormalizer,
        points=points,
    )
    refs = [ds._collate_fn([ds[i]])[0] for i in range(len(ds))]
    x_ref = refs[-1]
    x = network_inputs(w, test.points.static, points=points)
    keys = ["encoder_cont", "decoder_cont", "encoder_target", "encoder_lengths",
            "decoder_lengths", "target_scale", "encoder_cat"]  # fmt: skip
    if points:
        assert [int(r["encoder_cat"][0, 0, 0]) for r in refs] == [0, 1, 2, 3]
        keys.append("decoder_cat")
    for key in keys:
        np.testing.assert_allclose(
            x[key].numpy(), x_ref[key].numpy(), rtol=1e-6, atol=1e-6, err_msg=key
        )
    # decoder_cont also carries the (unused) future target and missing flag; compare the
    # static and known columns only.
    np.testing.assert_allclose(
        x["decoder_cont"][..., :6].numpy(), x_ref["decoder_cont"][..., :6].numpy(), rtol=1e-6
    )


def test_bad_inputs_give_clear_errors(test_windows):
    model = load_shipped("linear")
    w = test_windows.take(np.arange(5))
    bad = w.rain_future.copy()
    bad[2, 7] = np.nan
    with pytest.raises(ForecastError, match=r"future rain .* missing"):
        model.predict(w.with_rain_future(bad))
    with pytest.raises(ForecastError, match="shape"):
        model.predict(w.with_rain_future(w.rain_future[:, :10]))
    with pytest.raises(ForecastError, match="negative"):
        model.predict(w.with_rain_future(-w.rain_future - 1))
    with pytest.raises(ForecastError, match="outside the model's 53"):
        model.predict(
            Windows(w.depth_hist, w.missing_hist, w.rain_hist, w.rain_future, np.full(5, 99))
        )
    with pytest.raises(ForecastError, match="no forecast windows"):
        model.predict(w.take(np.arange(0)))
    with pytest.raises(ForecastError, match="unknown low point"):
        model.points.index_of(["lp-nowhere"])
    with pytest.raises(ForecastError, match="not fitted"):
        PersistenceForecaster().predict(w)
    with pytest.raises(ForecastError, match="needs the observed future rain"):
        future_rain(w.rain_hist, None, "perturbed", horizon=24)
    with pytest.raises(ForecastError, match="rain source"):
        future_rain(w.rain_hist, None, "radar", horizon=24)


def test_load_errors(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        load_forecaster(tmp_path)
    with pytest.raises(ModelFileError, match="unknown forecaster"):
        load_shipped("prophet")


def test_nhits_point_embedding_saved_and_legacy_files_load(tmp_path, few_points_set):
    """The point embedding survives save/load; a file from before it loads without one."""
    import json

    from twin.forecast.neural import NHiTSForecaster

    small = {"n_windows": 600, "n_val_windows": 200, "max_epochs": 1, "n_threads": 1}
    test = few_points_set.select("test")
    g, _ = storm_origins(test, stride=12)
    n = len(test.points)
    w = windows_at(test, np.repeat(g, n), np.tile(np.arange(n), g.size))
    for size in (4, 0):
        model = NHiTSForecaster(settings={**small, "point_embedding": size}).fit(
            few_points_set, seed=0
        )
        assert model.embedded_points == (n if size else 0)
        q = model.predict(w)
        folder = save_forecaster(model, tmp_path / f"nhits-{size}")
        np.testing.assert_array_equal(load_forecaster(folder).predict(w), q)
    # A model saved before the embedding existed: no setting, no embedded points.
    doc = json.loads((folder / "model.json").read_text())
    del doc["config"]["settings"]["point_embedding"]
    del doc["config"]["embedded_points"]
    (folder / "model.json").write_text(json.dumps(doc))
    legacy = load_forecaster(folder)
    assert legacy.settings["point_embedding"] == 0 and legacy.embedded_points == 0
    np.testing.assert_array_equal(legacy.predict(w), q)
