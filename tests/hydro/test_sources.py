"""Rain sources of a scenario: design storm, catalogued real event, gauge file."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from twin.errors import ScenarioError
from twin.hydro.sources import event_series, file_series, scenario_storm, series_from_values
from twin.hydro.storms import chicago_hyetograph, load_catalogue
from twin.scenario import RainConfig


def test_design_storm_matches_the_hyetograph() -> None:
    cfg = RainConfig(kind="design_storm", scale=1.0)
    values = scenario_storm(cfg, 60.0)
    ds = cfg.design_storm
    ref = chicago_hyetograph(A=ds.A, C=ds.C, n=ds.n, b=ds.b, units=ds.units,
                             return_period=ds.return_period, duration=ds.duration,
                             peak_position=ds.peak_position, dt=60.0)  # fmt: skip
    np.testing.assert_allclose(values, ref.values)
    doubled = scenario_storm(cfg.model_copy(update={"scale": 2.0}), 60.0)
    np.testing.assert_allclose(doubled, 2 * values)


def test_event_from_the_catalogue_keeps_its_depth() -> None:
    cat = load_catalogue()
    row = cat.sort_values("depth_mm", ascending=False).iloc[0]
    series = event_series(str(row["event_id"]))
    depth = float(np.nansum(series.values) * series.attrs["interval_s"] / 3600.0)
    assert depth == pytest.approx(row["depth_mm"], rel=1e-6)
    values = scenario_storm(RainConfig(kind="event", event=str(row["event_id"])), 60.0)
    assert values.sum() * 60 / 3600 == pytest.approx(row["depth_mm"], rel=1e-6)


def test_unknown_event_lists_real_ones() -> None:
    with pytest.raises(ScenarioError, match=r"no event 'nope'.*twin rain events"):
        event_series("nope")


def test_gauge_file_is_an_areal_mean(tmp_path: Path) -> None:
    path = tmp_path / "two.csv.gz"
    rows = ["station_id,value,timestamp_sgt"]
    for k in range(12):
        t = f"2017-01-01 00:{5 * k:02d}:00"
        rows += [f"A,{0.2 * k},{t}", f"B,{0.4 * k},{t}"]
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(rows) + "\n")
    series = file_series(path)
    assert "station" not in series.dims
    np.testing.assert_allclose(series.values[:3], [0.0, 0.3 * 12, 0.6 * 12])  # mm/5min → mm/h


def test_series_from_values_describes_itself() -> None:
    s = series_from_values(np.array([0.0, 60.0, 0.0]), 300.0)
    assert s.attrs["interval_s"] == 300.0
    assert s["elapsed"].values.tolist() == [0.0, 300.0, 600.0]
