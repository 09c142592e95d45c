"""Verification: a perfect nowcast scores CSI = FSS = 1; scores come as a tidy table."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tests.hydro.radar.conftest import gaussian_blobs, synthetic_radar
from twin.hydro.radar.nowcast import nowcast
from twin.hydro.radar.verify import VERIFY_COLUMNS, verify_nowcast


@pytest.fixture(scope="module")
def radar() -> xr.DataArray:
    return synthetic_radar(gaussian_blobs((10, 48, 48), (10.0, 30.0), (1.0, -0.5), peak=40.0))


def _perfect(radar: xr.DataArray, n_past: int = 3) -> xr.DataArray:
    """A nowcast at the 4th frame whose values are the frames that followed."""
    nc = nowcast(radar, radar["time"].values[n_past], method="eulerian", lead_max_min=30)
    return nc.copy(data=radar.values[n_past : n_past + 6][None])


def test_perfect_nowcast_scores_one(radar: xr.DataArray) -> None:
    table = verify_nowcast(_perfect(radar), radar)
    assert tuple(table.columns) == VERIFY_COLUMNS
    assert set(table["lead_min"]) == {5.0, 10.0, 15.0, 20.0, 25.0, 30.0}
    csi = table[table["metric"] == "CSI"]
    assert set(csi["threshold"]) == {1.0, 5.0, 10.0}
    np.testing.assert_allclose(csi["value"], 1.0)
    fss = table[table["metric"] == "FSS"]
    assert set(fss["scale_km"]) == {1.0, 4.0, 16.0}
    np.testing.assert_allclose(fss["value"], 1.0)
    assert (table["event"] == "synthetic").all() and (table["method"] == "eulerian").all()


def test_persistence_of_a_moving_storm_scores_less(radar: xr.DataArray) -> None:
    nc = nowcast(radar, radar["time"].values[3], method="eulerian", lead_max_min=30)
    table = verify_nowcast(nc, radar, leads_min=[10, 30])
    csi5 = table[(table["metric"] == "CSI") & (table["threshold"] == 5.0)]
    csi = dict(zip(csi5["lead_min"], csi5["value"], strict=True))
    assert 0 < csi[30.0] < csi[10.0] < 1
    fss30 = table[(table["metric"] == "FSS") & (table["lead_min"] == 30.0)]
    fss = dict(zip(fss30["scale_km"], fss30["value"], strict=True))
    assert fss[16.0] > fss[1.0]  # kinder at larger scales


def test_no_rain_at_a_threshold_is_nan_not_one() -> None:
    dry = synthetic_radar(np.full((6, 16, 16), 0.5))
    nc = nowcast(dry, dry["time"].values[3], method="eulerian", lead_max_min=10)
    table = verify_nowcast(nc, dry)
    assert table[(table["metric"] == "CSI") & (table["threshold"] == 10.0)]["value"].isna().all()
