"""Violations → cases; risk profiles; figures; the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from twin.cases.categories import load_categories
from twin.coupling.trucks import violation_cases
from twin.network import RoadNetwork
from twin.scenario import OperationsConfig
from twin.trucks import TruckError, TruckResult
from twin.trucks.plots import dock_queue_figure, on_road_figure, violation_map

SOURCES = ["patrol", "camera_ai", "hotline_12345", "iot_alarm"]


def test_violation_cases(day: TruckResult) -> None:
    table = load_categories()
    cases = violation_cases(day, table, sources=SOURCES, operations=OperationsConfig(),
                            rng=np.random.default_rng(0))  # fmt: skip
    v = day.violations
    expect = v[v["detected"] & v["kind"].isin(["spillage", "dumping"])]
    expect = expect[expect["detection_time"] + 60.0 < day.horizon]
    assert len(cases) == len(expect) > 0
    assert set(table.code[cases.category]) == {"muck_spillage"}
    np.testing.assert_allclose(np.sort(cases.report_time), np.sort(expect["detection_time"] + 60.0))
    assert np.all(cases.report_time >= cases.occur_time)
    assert np.all(np.diff(cases.report_time) >= 0)
    assert set(np.array(SOURCES)[cases.source]) <= {"camera_ai", "iot_alarm"}


def test_violation_cases_errors(day: TruckResult) -> None:
    table = load_categories()
    cfg = day.config.model_copy(update={"cases": day.config.cases.model_copy(
        update={"categories": {"overloading": "muck_overload"}})})  # fmt: skip
    bad = TruckResult(**{**day.__dict__, "config": cfg})
    with pytest.raises(TruckError, match=r"categories\.overloading.*'muck_overload'"):
        violation_cases(bad, table, sources=SOURCES, operations=OperationsConfig(),
                        rng=np.random.default_rng(0))  # fmt: skip
    with pytest.raises(TruckError, match=r"sources\.camera: 'camera_ai' is not a case source"):
        violation_cases(day, table, sources=["patrol", "iot_alarm"], operations=OperationsConfig(),
                        rng=np.random.default_rng(0))  # fmt: skip


def test_risk_profiles_flag_the_risky_company(day: TruckResult) -> None:
    comp = day.company_profile()
    assert len(comp) == 4
    assert "high-risk" in comp["company"].iloc[0]  # riskiest first
    assert "compliant" in comp["company"].iloc[-1]
    site = day.site_profile()
    assert len(site) == 30 and site["trips"].sum() == len(day.trips)
    flagged = site[site["flagged"]]
    assert len(flagged) >= 1
    assert flagged["first_flag_time"].notna().all()
    # Flagged sites are truly worse than the rest.
    assert (
        flagged["true_per_100_trips"].mean()
        > site.loc[~site["flagged"], "true_per_100_trips"].mean()
    )


def test_figures(day: TruckResult) -> None:
    assert len(on_road_figure(day).data) == 4
    fig = violation_map(day)
    names = {t.name for t in fig.data}
    assert {"roads", "cameras", "sites", "docks"} <= names
    assert len(dock_queue_figure(day).data) == 3


def test_cli_run(tmp_path: Path, gongshu: RoadNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    import twin.network
    from twin.trucks.cli import app

    monkeypatch.setattr(twin.network, "default_network", lambda **_: gongshu)
    cfg = tmp_path / "s.yaml"
    cfg.write_text("name: x\ntrucks:\n  trips_per_day: 300\n", encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["run", str(cfg), "--start", "2024-06-01T20:00",
                                   "--hours", "2", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (out / "trips.parquet").exists() and (out / "violations_map.html").exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("trucks:\n  trips_per_day: -1\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["run", str(bad), "--out", str(out)])
    assert isinstance(res.exception, TruckError)
    assert "trucks.trips_per_day" in str(res.exception)
