"""``twin rain radar`` commands (the typer app, before it is registered under twin rain)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from twin.hydro.radar.cli import app
from twin.hydro.radar.errors import RadarError

runner = CliRunner()


def test_events_lists_the_shipped_events() -> None:
    result = runner.invoke(app, ["events"])
    assert result.exit_code == 0, result.output
    for name in ("knmi-20100826", "fmi-20160928", "fmi-20170509", "mrms-20190610"):
        assert name in result.output
    assert "none from Hangzhou" in result.output


def test_show_says_transposed() -> None:
    result = runner.invoke(app, ["show", "fmi-20160928", "--dx", "10", "--size-km", "64"])
    assert result.exit_code == 0, result.output
    assert "transposed over Gongshu" in result.output
    assert "areal-mean depth" in result.output


def test_plot_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "frames.png"
    result = runner.invoke(app, ["plot", "knmi-20100826", "--out", str(out), "--frames", "3"])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000


def test_nowcast_writes_netcdf_and_png(tmp_path: Path) -> None:
    result = runner.invoke(app, ["nowcast", "mrms-20190610", "--method", "extrapolation",
                                 "--lead", "20", "--out", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.glob("*.nc"))) == 1 and len(list(tmp_path.glob("*.png"))) == 1


def test_verify_writes_a_csv(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, ["verify", "--events", "fmi-20170509", "--methods",
                                 "eulerian,extrapolation", "--issues", "1", "--out", str(out),
                                 "--size-km", "64"])  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert set(table["method"]) == {"eulerian", "extrapolation"}
    assert "CSI at 5 mm/h" in result.output


def test_bad_method_is_a_radar_error() -> None:
    result = runner.invoke(app, ["nowcast", "knmi-20100826", "--method", "magic"])
    assert isinstance(result.exception, RadarError)
    assert "choose from eulerian" in str(result.exception)
