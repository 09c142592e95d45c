"""The physics ensemble's conformal bands: fitted on radar storms, saved with the model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from twin.forecast.band_methods import BandMethod
from twin.forecast.base import QUANTILES
from twin.forecast.conformal import ConformalCalibrator
from twin.forecast.coverage import coverage, wet_mask
from twin.forecast.errors import ForecastError, ModelFileError
from twin.forecast.physics_calibration import (
    CALIBRATION_EVENTS,
    CONFORMAL_FILES,
    calibration_runs,
    read_calibrator,
    save_calibrator,
)
from twin.forecast.physics_model import load_physics_model, shipped_physics_folder
from twin.forecast.radar_storms import RADAR_EVENT_SPLIT


def test_shipped_model_carries_its_calibration_never_fitted_on_the_test_event() -> None:
    model = load_physics_model()
    cal = model.calibrator
    assert cal is not None and cal.horizon == model.horizon
    assert "fmi-20160928" not in CALIBRATION_EVENTS
    assert RADAR_EVENT_SPLIT["fmi-20160928"] == "test"
    # The 10–90 % band is widened at every lead, more at the longer leads.
    c = cal.corrections_frame().query("band == '0.1-0.9' and group == '*pooled*'")
    assert (c["correction"] > 0).all()
    assert c["correction"].iloc[-1] > c["correction"].iloc[0]
    assert model.subset(list(model.ids[:3])).calibrator is cal
    # How a service steers it online was chosen with it (on the validation storms).
    assert model.band_method is not None and model.band_method.carried
    assert model.subset(list(model.ids[:3])).band_method == model.band_method


def test_save_and_read_round_trip_and_clear_errors(tmp_path: Path) -> None:
    cal = load_physics_model().calibrator
    assert cal is not None
    online = BandMethod(0.02, per_lead=True, carried=True)
    out = save_calibrator(cal, tmp_path / "m", online, events=["x"])
    back = read_calibrator(out)
    assert back is not None and back[1] == online
    q = np.broadcast_to(np.linspace(0, 0.3, len(QUANTILES)), (5, cal.horizon, len(QUANTILES)))
    np.testing.assert_array_equal(back[0].apply(q), cal.apply(q))
    split = read_calibrator(save_calibrator(cal, tmp_path / "s"))
    assert split is not None and split[1].gamma is None  # split conformal alone
    assert read_calibrator(tmp_path) is None  # no calibration: raw quantiles
    (out / CONFORMAL_FILES[1]).unlink()
    with pytest.raises(ModelFileError, match=r"is missing beside conformal\.json"):
        read_calibrator(out)
    (out / CONFORMAL_FILES[1]).write_bytes(b"not an npz")
    with pytest.raises(ModelFileError, match="cannot be read"):
        read_calibrator(out)
    # A model folder with a broken calibration fails to load with the same message.
    folder = tmp_path / "physics"
    shutil.copytree(shipped_physics_folder(), folder)
    (folder / CONFORMAL_FILES[0]).write_text("{}", encoding="utf-8")
    with pytest.raises(ModelFileError, match="twin forecast calibrate"):
        load_physics_model(folder)


def test_runs_of_a_radar_storm_calibrate_the_ensemble() -> None:
    (run,) = calibration_runs(events=("mrms-20190610",), placements=1, seed=4)
    q, y = run["q"], run["y"]
    assert q.shape[:2] == y.shape and q.shape[2] == len(QUANTILES)
    assert y.shape[0] == run["issues"] * run["points"] and run["rows"].shape == (run["issues"],)
    assert run["storm"] == "radar:mrms-20190610/-60+40km" and run["split"] == "validation"
    assert np.isfinite(y).all() and y.max() > 0.15  # the storm ponds the roads
    m = wet_mask(q, y)
    raw = coverage(q, y, mask=m)
    cal = ConformalCalibrator().fit(q, y)
    assert raw < 0.7  # the raw ensemble is overconfident on a radar storm...
    assert coverage(cal.apply(q), y, mask=m) >= 0.8  # ...in-sample CQR covers at least 0.8
    with pytest.raises(ForecastError, match="shipped radar events"):
        calibration_runs(events=("nowhere",), placements=1)
    with pytest.raises(ForecastError, match="nowcast method"):
        calibration_runs(source="magic")
