from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from twin.alerts import validate_cap
from twin.forecast.cli import app
from twin.forecast.errors import ForecastError, ModelFileError

runner = CliRunner()


def test_predict_writes_valid_cap_alerts(tmp_path):
    out = tmp_path / "alerts"
    result = runner.invoke(app, ["predict", "--storm", "design-P20-D120-r40", "--out", str(out)])
    assert result.exit_code == 0, result.output
    xml = sorted(out.glob("*.xml"))
    assert xml and len(xml) == len(list(out.glob("*.json")))
    for path in xml[:10]:
        validate_cap(path.read_text(encoding="utf-8"))
    doc = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    assert doc["alert"]["info"][0]["area"][0]["circle"]
    assert "persistence nowcast" in result.output


def test_predict_with_the_physics_ensemble(tmp_path):
    out = tmp_path / "alerts"
    result = runner.invoke(
        app, ["predict", "--kind", "physics_ensemble", "--storm", "design-P20-D120-r40",
              "--rain-source", "observed", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "physics ensemble" in result.output
    xml = sorted(out.glob("*.xml"))
    assert xml
    validate_cap(xml[0].read_text(encoding="utf-8"))


def test_bad_options_are_clear_errors(tmp_path):
    result = runner.invoke(app, ["train", "--kinds", "prophet", "--out", str(tmp_path)])
    assert isinstance(result.exception, ForecastError)
    assert "choose from" in str(result.exception)
    result = runner.invoke(app, ["predict", "--storm", "no-such-storm", "--out", str(tmp_path)])
    assert isinstance(result.exception, ForecastError)
    assert "unknown storm" in str(result.exception)


@pytest.mark.parametrize("cmd", ["train", "evaluate", "predict", "calibrate"])
def test_help(cmd):
    assert runner.invoke(app, [cmd, "--help"]).exit_code == 0


@pytest.mark.slow
def test_evaluate_scores_the_physics_ensemble_beside_the_others(tmp_path):
    out = tmp_path / "report"
    result = runner.invoke(
        app, ["evaluate", "--kinds", "persistence,physics_ensemble", "--max-storms", "2",
              "--rain-source", "persistence", "--no-radar", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    alerts = pd.read_csv(out / "alerts.csv")
    assert set(alerts["forecaster"]) == {"persistence", "physics ensemble (EnKF)"}
    assert set(alerts["threshold"]) == {"impeded", "closed"}
    skill = pd.read_csv(out / "catalogue-test" / "skill.csv")
    assert set(skill["kind"]) == {"persistence", "physics_ensemble"}
    assert skill["coverage_80"].between(0, 1).all()
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "physics ensemble" in report
    assert "10–90 % band: conformal (model folder)" in report  # the published bands
    bad = runner.invoke(app, ["evaluate", "--kinds", "prophet", "--out", str(out)])
    assert isinstance(bad.exception, ModelFileError)
    assert "unknown forecaster" in str(bad.exception)


@pytest.mark.slow
def test_calibrate_writes_the_bands_into_a_physics_model_folder(tmp_path):
    import shutil

    from twin.forecast.physics_model import load_physics_model, shipped_physics_folder

    folder = tmp_path / "physics"
    shutil.copytree(shipped_physics_folder(), folder)
    for name in ("conformal.json", "conformal.npz"):
        (folder / name).unlink()
    assert load_physics_model(folder).calibrator is None  # raw bands
    result = runner.invoke(app, ["calibrate", "--out", str(folder), "--placements", "2"])
    assert result.exit_code == 0, result.output
    assert "widened" in result.output and "conformal.npz" in result.output
    cal = load_physics_model(folder).calibrator
    assert cal is not None and cal.horizon == 24
    doc = json.loads((folder / "conformal.json").read_text(encoding="utf-8"))
    assert doc["about"]["placements"] == 2 and "fmi-20160928" not in doc["about"]["events"]
    assert "split" in doc["about"]["validation_coverage"]  # every online method was scored
    assert set(doc["online"]) == {"gamma", "per_lead"}
    assert "Online methods on the validation storms" in result.output
    bad = runner.invoke(app, ["calibrate", "--out", str(tmp_path)])
    assert isinstance(bad.exception, ForecastError)
    assert "not a physics-ensemble model folder" in str(bad.exception)
