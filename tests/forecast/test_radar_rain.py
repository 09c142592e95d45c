"""Radar nowcasts as the forecasts' future rain: steps, conservation, issue-time alignment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from twin.forecast.errors import ForecastError
from twin.forecast.radar_rain import nowcast_rain_at_points, to_step


def test_to_step_conserves_depth_and_shifts_by_the_offset() -> None:
    rng = np.random.default_rng(1)
    two_min = rng.uniform(0, 50, size=(2, 60, 3))  # 2 members, 60 two-minute leads, 3 points
    five = to_step(two_min, 120.0, 300.0, 24)
    assert five.shape == (2, 24, 3)
    np.testing.assert_allclose(five.sum(axis=1) * 300.0, two_min.sum(axis=1) * 120.0)
    shifted = to_step(two_min, 120.0, 300.0, 23, offset_s=60.0)
    # The first new step covers [60, 360) s: half of lead 1, leads 2 and 3 (60+120+120 s).
    want = (two_min[:, 0] * 60 + two_min[:, 1] * 120 + two_min[:, 2] * 120) / 300.0
    np.testing.assert_allclose(shifted[:, 0], want)
    beyond = to_step(two_min[:, :5], 120.0, 300.0, 4)
    assert np.all(beyond[:, 2:] == 0.0)  # leads past the nowcast are dry


def _moving_blob(n_frames: int = 12, step_s: float = 300.0) -> xr.DataArray:
    """A Gaussian rain cell moving east at 10 m/s on a 1-km grid (UTM 51N near Hangzhou)."""
    from pyproj import Transformer

    n = 64
    x = 200_000.0 + np.arange(n) * 1000.0
    y = 3_370_000.0 - np.arange(n) * 1000.0
    xx, yy = np.meshgrid(x, y)
    frames = []
    for k in range(n_frames):
        cx = x[10] + 10.0 * step_s * k
        frames.append(40.0 * np.exp(-(((xx - cx) ** 2 + (yy - y[32]) ** 2) / (2 * 6000.0**2))))
    lon, lat = Transformer.from_crs("EPSG:32651", "EPSG:4326", always_xy=True).transform(xx, yy)
    time = pd.date_range("2026-06-01T00:00", periods=n_frames, freq=f"{int(step_s)}s")
    return xr.DataArray(
        np.array(frames), dims=("time", "y", "x"),
        coords={"time": time.values, "y": y, "x": x, "lon": (("y", "x"), lon),
                "lat": (("y", "x"), lat)},
        name="rain_rate",
        attrs={"units": "mm h-1", "interval_s": step_s, "crs": "EPSG:32651",
               "institution": "synthetic"},
    )  # fmt: skip


def test_nowcast_brings_the_cell_to_a_point_downstream() -> None:
    radar = _moving_blob()
    from pyproj import Transformer

    to_ll = Transformer.from_crs("EPSG:32651", "EPSG:4326", always_xy=True)
    # A point 30 km downstream of where the cell is at the issue time (frame 6).
    px, py = float(radar.x[10]) + 10.0 * 300 * 6 + 30_000.0, float(radar.y[32])
    lon, lat = to_ll.transform(px, py)
    issue = pd.DatetimeIndex([radar["time"].values[6]])
    rain = nowcast_rain_at_points(
        radar, issue, np.array([lon]), np.array([lat]), method="extrapolation",
        horizon_steps=24, seed=0,
    )  # fmt: skip
    series = rain[0, 0, :, 0]
    # At 10 m/s the 30 km take 50 min: the peak arrives within the 10 lead steps around it.
    peak_lead_min = (int(np.argmax(series)) + 1) * 5
    assert 35 <= peak_lead_min <= 65, series.round(1)
    assert series.max() > 10.0
    # Before the radar has frames, the future rain is zero.
    early = nowcast_rain_at_points(
        radar, pd.DatetimeIndex([radar["time"].values[0]]), np.array([lon]), np.array([lat]),
        method="extrapolation", horizon_steps=24, seed=0,
    )  # fmt: skip
    assert np.all(early == 0.0)


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ForecastError, match="radar nowcast method"):
        nowcast_rain_at_points(
            _moving_blob(3), pd.DatetimeIndex([]), np.zeros(1), np.zeros(1), method="oracle",
            horizon_steps=24, seed=0,
        )  # fmt: skip


def test_displaced_members_spread_with_lead_and_keep_the_nowcast_as_member_zero() -> None:
    from pyproj import Transformer

    from twin.forecast.radar_rain import displaced_at_points
    from twin.hydro.radar.nowcast import nowcast, nowcast_at_points

    radar = _moving_blob()
    to_ll = Transformer.from_crs("EPSG:32651", "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(float(radar.x[40]), float(radar.y[32]))
    nc = nowcast(radar, radar["time"].values[6], method="extrapolation", lead_max_min=60.0)
    plain = nowcast_at_points(nc, [lon], [lat]).values[0]  # (lead, point)
    rng = np.random.default_rng(3)
    members = displaced_at_points(nc, [lon], [lat], members=40, speed_sd_m_s=3.0, rng=rng)
    assert members.shape == (40, plain.shape[0], 1)
    np.testing.assert_allclose(members[0], np.nan_to_num(plain))  # member 0: no displacement
    # The spread across members grows with lead: displacements are velocity × lead.
    spread = members[:, :, 0].std(axis=0)
    assert spread[-1] > spread[0]
    # No spread without a velocity error; a point moved off the grid reads no rain.
    still = displaced_at_points(nc, [lon], [lat], members=5, speed_sd_m_s=0.0, rng=rng)
    np.testing.assert_allclose(still, np.repeat(still[:1], 5, axis=0))
    far = displaced_at_points(nc, [lon], [lat], members=20, speed_sd_m_s=500.0, rng=rng)
    assert np.all(far[1:, -1] == 0.0)
    with pytest.raises(ForecastError, match="displacement"):
        displaced_at_points(nc, [lon], [lat], members=0, speed_sd_m_s=1.0, rng=rng)


def test_a_displaced_nowcast_gives_members_at_each_issue_time() -> None:
    radar = _moving_blob()
    from pyproj import Transformer

    to_ll = Transformer.from_crs("EPSG:32651", "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(float(radar.x[40]), float(radar.y[32]))
    issue = pd.DatetimeIndex(radar["time"].values[5:7])
    args = dict(method="extrapolation", horizon_steps=12, seed=4, members=8)
    one = nowcast_rain_at_points(radar, issue, np.array([lon]), np.array([lat]), **args)
    many = nowcast_rain_at_points(
        radar, issue, np.array([lon]), np.array([lat]), displacement_m_s=2.0, **args
    )
    assert one.shape == (2, 1, 12, 1) and many.shape == (2, 8, 12, 1)
    np.testing.assert_allclose(many[:, 0], one[:, 0])
    again = nowcast_rain_at_points(
        radar, issue, np.array([lon]), np.array([lat]), displacement_m_s=2.0, **args
    )
    np.testing.assert_array_equal(many, again)  # reproducible from the seed
