"""The catalogue of transposed storms: scores equal the transposition, splits by event."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from twin.hydro.radar.catalogue import DEFAULT_SPLITS, RadarCatalogue, storm_catalogue
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.transpose import district_rain


@pytest.fixture(scope="module")
def catalogue(knmi_event: xr.DataArray) -> RadarCatalogue:
    radar = knmi_event.isel(time=slice(0, 48))
    return storm_catalogue({"knmi-20100826": radar}, offsets_km=(-40, 0, 40),
                           duration_min=60, start_every=3, rotation_deg=20.0)  # fmt: skip


def test_scores_equal_the_transposed_district_rain(
    catalogue: RadarCatalogue, knmi_event: xr.DataArray
) -> None:
    table = catalogue.table
    assert len(table) == 9 * 13  # 3 × 3 positions × starts 0, 3, …, 36 (48 frames, 12 a window)
    for _, row in table.iloc[[0, 5, 40]].iterrows():
        rain = catalogue.storm(row, radar=knmi_event)
        areal = district_rain(rain)
        assert rain.sizes["time"] == 12
        depth = float(areal.sum()) * 300.0 / 3600.0
        assert depth == pytest.approx(row["depth_mm"], rel=1e-6)
        assert float(areal.max()) == pytest.approx(row["peak_mm_h"], rel=1e-6)
        assert float(rain.where(rain["district"] > 0).max()) == pytest.approx(
            row["cell_peak_mm_h"], rel=1e-6)  # fmt: skip


def test_heaviest_and_draws(catalogue: RadarCatalogue) -> None:
    top = catalogue.heaviest(5)
    assert list(top["depth_mm"]) == sorted(top["depth_mm"], reverse=True)
    assert top["depth_mm"].iloc[0] == catalogue.table["depth_mm"].max()
    a = catalogue.draw(np.random.default_rng(7), 4)
    b = catalogue.draw(np.random.default_rng(7), 4)
    assert list(a["storm_id"]) == list(b["storm_id"]) and a["storm_id"].is_unique
    with pytest.raises(RadarError, match="cannot draw"):
        catalogue.draw(0, 10_000)


@pytest.mark.slow
def test_all_events_split_by_event() -> None:
    cat = storm_catalogue()
    assert set(cat.table["event"]) == set(DEFAULT_SPLITS)
    assert (cat.table.groupby("event")["split"].nunique() == 1).all()
    assert set(cat.table["split"]) == {"train", "validation", "test"}
    short = cat.table[cat.table["event"] == "mrms-20190610"]
    assert (~short["complete"]).all() and (short["duration_min"] == 72).all()
    assert cat.select("test").table["event"].unique().tolist() == ["fmi-20160928"]
    assert len(cat.heaviest(3, split="train")) == 3
