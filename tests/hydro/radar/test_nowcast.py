"""Nowcasts with pysteps: a moving blob lands where it should; ensembles are reproducible."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from numpy.testing import assert_allclose

from tests.hydro.radar.conftest import gaussian_blobs, synthetic_radar
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.nowcast import (
    NOWCAST_METHODS,
    ensemble_mean,
    motion_field,
    nowcast,
    nowcast_at_points,
    nowcast_to_rain,
    past_frames,
)

#: The blob's velocity: 1.5 cells east and 0.8 cells north (rows up) per 5-min step.
VELOCITY = (1.5, -0.8)


@pytest.fixture(scope="module")
def moving_blob() -> xr.DataArray:
    return synthetic_radar(gaussian_blobs((4, 96, 96), (20.0, 60.0), VELOCITY))


def _issue(radar: xr.DataArray) -> np.datetime64:
    last: np.datetime64 = radar["time"].values[-1]
    return last + np.timedelta64(300, "s")


def _centroid(field: np.ndarray) -> tuple[float, float]:
    f = np.nan_to_num(field)
    rows, cols = np.mgrid[0 : f.shape[0], 0 : f.shape[1]]
    return float((f * cols).sum() / f.sum()), float((f * rows).sum() / f.sum())


def test_methods_tuple() -> None:
    assert NOWCAST_METHODS == (
        "eulerian", "extrapolation", "sprog", "linda", "steps", "external"
    )  # fmt: skip


def test_lucas_kanade_finds_the_velocity(moving_blob: xr.DataArray) -> None:
    v = motion_field(past_frames(moving_blob, _issue(moving_blob), 3))
    wet = moving_blob.values[-1] > 1.0
    assert v[0][wet].mean() == pytest.approx(VELOCITY[0], abs=0.1)
    assert v[1][wet].mean() == pytest.approx(VELOCITY[1], abs=0.1)


def test_extrapolation_puts_the_blob_where_it_should_be(moving_blob: xr.DataArray) -> None:
    nc = nowcast(moving_blob, _issue(moving_blob), method="extrapolation", lead_max_min=60)
    assert nc.dims == ("member", "lead_time", "y", "x") and nc.shape == (1, 12, 96, 96)
    assert nc.attrs["method"] == "extrapolation"
    assert pd.Timestamp(str(nc["issue_time"].values)) == pd.Timestamp("2024-06-01T00:20")
    last = _centroid(moving_blob.values[-1])
    for lead_min in (30, 60):
        k = lead_min // 5  # steps after the last frame
        expected = (last[0] + VELOCITY[0] * k, last[1] + VELOCITY[1] * k)
        got = _centroid(nc.sel(lead_time=np.timedelta64(lead_min, "m")).values[0])
        assert np.hypot(got[0] - expected[0], got[1] - expected[1]) < 1.0  # within a cell
    assert nc.attrs["motion_mean_m_s"] > 0


def test_eulerian_persistence_repeats_the_last_frame(moving_blob: xr.DataArray) -> None:
    nc = nowcast(moving_blob, _issue(moving_blob), method="eulerian", lead_max_min=20)
    assert nc.sizes["lead_time"] == 4
    for k in range(4):
        assert_allclose(nc.values[0, k], moving_blob.values[-1])


def test_all_dry_input_gives_zeros() -> None:
    dry = synthetic_radar(np.zeros((3, 32, 32)))
    issue = dry["time"].values[-1] + np.timedelta64(300, "s")
    for method in ("eulerian", "extrapolation", "sprog", "linda", "steps"):
        nc = nowcast(dry, issue, method=method, n_members=3, lead_max_min=15)
        assert float(np.abs(nc).max()) == 0.0 and nc.attrs["dry_input"] == 1


@pytest.fixture(scope="module")
def rainy_field() -> xr.DataArray:
    rng = np.random.default_rng(3)
    base = gaussian_blobs((4, 64, 64), (15.0, 40.0), (1.0, -0.5), peak=25.0, sigma=7.0)
    noise = rng.lognormal(0.0, 0.3, size=base.shape)
    return synthetic_radar(base * noise)


def test_sprog_runs(rainy_field: xr.DataArray) -> None:
    nc = nowcast(rainy_field, _issue(rainy_field), method="sprog", lead_max_min=30)
    assert nc.shape == (1, 6, 64, 64)
    values = nc.values[np.isfinite(nc.values)]
    assert values.min() >= 0 and 1.0 < values.max() < 100


def test_steps_is_reproducible_with_a_seed(rainy_field: xr.DataArray) -> None:
    issue = _issue(rainy_field)
    a = nowcast(rainy_field, issue, method="steps", n_members=3, seed=11, lead_max_min=15)
    b = nowcast(rainy_field, issue, method="steps", n_members=3, seed=11, lead_max_min=15)
    c = nowcast(rainy_field, issue, method="steps", n_members=3, seed=12, lead_max_min=15)
    assert a.shape == (3, 3, 64, 64) and a.attrs["seed"] == 11
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(np.nan_to_num(a.values), np.nan_to_num(c.values))
    assert not np.array_equal(np.nan_to_num(a.values[0]), np.nan_to_num(a.values[1]))
    mean = ensemble_mean(a)
    assert mean.sizes["member"] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells NaN in every member
        expected = np.nanmean(a.values, axis=0)  # members left out where they are NaN
    assert_allclose(mean.values[0], expected)


def test_too_few_frames_names_the_valid_issue_times(moving_blob: xr.DataArray) -> None:
    with pytest.raises(RadarError, match=r"no 3 frames before issue time.*issue between"):
        nowcast(moving_blob, moving_blob["time"].values[1], method="extrapolation")
    with pytest.raises(RadarError, match="choose from eulerian"):
        nowcast(moving_blob, _issue(moving_blob), method="magic")  # type: ignore[arg-type]


def test_at_points_and_as_rain(moving_blob: xr.DataArray) -> None:
    nc = nowcast(moving_blob, _issue(moving_blob), method="extrapolation", lead_max_min=15,
                 outside=0.0)  # fmt: skip
    assert not np.isnan(nc.values).any()
    iy, ix = np.array([10, 50]), np.array([40, 60])
    lon, lat = nc["lon"].values[iy, ix], nc["lat"].values[iy, ix]
    at = nowcast_at_points(nc, lon, lat)
    assert at.dims == ("member", "lead_time", "point") and at.shape == (1, 3, 2)
    assert_allclose(at.values[0], nc.values[0][:, iy, ix])
    rain = nowcast_to_rain(nc)
    assert rain.dims == ("time", "y", "x")
    # Lead 5 min is the interval starting at the issue time.
    assert rain["time"].values[0] == _issue(moving_blob)


def test_linda_moves_the_cell_and_carries_on_its_growth() -> None:
    """A cell that grew by 30 % per step: LINDA keeps growing it, extrapolation does not."""
    base = gaussian_blobs((4, 64, 64), (16.0, 40.0), (1.0, -0.5), peak=10.0, sigma=5.0)
    growing = synthetic_radar(base * (1.3 ** np.arange(4))[:, None, None])
    issue = _issue(growing)
    li = nowcast(growing, issue, method="linda", lead_max_min=15)
    ex = nowcast(growing, issue, method="extrapolation", lead_max_min=15)
    assert li.shape == (1, 3, 64, 64) and li.attrs["method"] == "linda"
    last_peak = float(growing.values[-1].max())
    assert float(np.nanmax(li.values[0, -1])) > 1.2 * last_peak
    assert float(np.nanmax(ex.values[0, -1])) <= 1.05 * last_peak
    # It moves with the motion field, as extrapolation does.
    got, want = _centroid(li.values[0, -1]), _centroid(ex.values[0, -1])
    assert np.hypot(got[0] - want[0], got[1] - want[1]) < 1.5
    again = nowcast(growing, issue, method="linda", lead_max_min=15)
    np.testing.assert_array_equal(li.values, again.values)  # deterministic
