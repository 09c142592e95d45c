"""Radar in process (no server): packing, uploads, pruning, the nowcast rain of each
issue time, the watched folder, and the radar storm of the replay."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.live.conftest import RADAR_T0, netcdf_bytes
from twin.live.backends import open_store
from twin.live.config import LiveConfig, validate_live_config
from twin.live.errors import LiveError
from twin.live.future_rain import RadarRain
from twin.live.ingest import BatchError, parse_time_ms
from twin.live.metrics import LiveMetrics
from twin.live.radar_files import netcdf_body, pack_field, unpack_field
from twin.live.radar_ingest import RadarIngest
from twin.live.sensors import load_alert_points
from twin.live.store import Store

T0 = parse_time_ms(RADAR_T0.isoformat())  # label of the first frame [ms]
STEP = 300_000


def _setup(tmp_path: Path, **radar: Any) -> tuple[LiveConfig, Store, RadarIngest]:
    cfg = validate_live_config({"radar": {"enabled": True, **radar}})
    store = open_store(f"sqlite:///{tmp_path / 'live.db'}", synchronous="normal")
    return cfg, store, RadarIngest(cfg, store, load_alert_points(), LiveMetrics())


def test_pack_round_trip_and_same_bytes() -> None:
    v = np.array([[0.0, 1.234567, np.nan], [250.5, 0.004, 3.0]])
    back = unpack_field(pack_field(v), v.shape)
    np.testing.assert_allclose(back, np.round(v, 2), atol=1e-4)
    assert np.isnan(back[0, 2])
    assert pack_field(v) == pack_field(v.copy())


def test_body_raw_multipart_and_refusals() -> None:
    data = b"\x89HDF\r\n\x1a\n" + b"x" * 10
    assert netcdf_body(data, "application/x-netcdf") == (data, "upload.nc")
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a b.nc"\r\n'
            "Content-Type: application/x-netcdf\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    got, name = netcdf_body(body, f"multipart/form-data; boundary={boundary}")
    assert got == data and name == "a_b.nc"
    for ctype, status in (("text/csv", 415), ("application/json", 415)):
        with pytest.raises(BatchError) as err:
            netcdf_body(data, ctype)
        assert err.value.status == status
    with pytest.raises(BatchError, match="not a NetCDF"):
        netcdf_body(b"hello", "application/x-netcdf")
    with pytest.raises(BatchError, match="empty"):
        netcdf_body(b"", "application/octet-stream")


def test_config_radar_section() -> None:
    cfg = validate_live_config({"radar": {"method": "steps", "keep": "90min", "crs": "EPSG:32651"}})
    assert cfg.radar.keep == 5400.0 and not cfg.radar.enabled
    with pytest.raises(LiveError, match="not a projected CRS"):
        validate_live_config({"radar": {"crs": "EPSG:4326"}})
    with pytest.raises(LiveError, match=r"radar\.method"):
        validate_live_config({"radar": {"method": "magic"}})


def test_expected_crs_and_step_are_enforced(tmp_path: Path, radar_frames: Any) -> None:
    body = netcdf_bytes(radar_frames.isel(time=slice(0, 2)), tmp_path)
    _, _, ing = _setup(tmp_path, crs="EPSG:32650")
    with pytest.raises(BatchError, match=r"wrong CRS.*EPSG:32650") as err:
        ing.frames_file(body, "f.nc", via="test")
    assert err.value.status == 422
    _, _, ing = _setup(tmp_path, interval="10min")
    with pytest.raises(BatchError, match="expects 600 s"):
        ing.frames_file(body, "f.nc", via="test")
    _, store, ing = _setup(tmp_path, max_cell_m=1000)
    with pytest.raises(BatchError, match="coarser"):
        ing.frames_file(body, "f.nc", via="test")
    assert store.count_frames() == 0


def test_window_pruned_late_frames_kept_old_ones_expired(tmp_path: Path, radar_frames: Any) -> None:
    _, store, ing = _setup(tmp_path, keep="30min")
    first = ing.frames_file(netcdf_bytes(radar_frames.isel(time=slice(0, 6)), tmp_path), "a.nc",
                            via="test")  # fmt: skip
    assert first["stored"] == 6
    rest = ing.frames_file(netcdf_bytes(radar_frames.isel(time=slice(6, 12)), tmp_path), "b.nc",
                           via="test")  # fmt: skip
    assert rest["stored"] == 6 and rest["pruned"] == 5  # 07:00 … 07:20 are out of 30 min
    times = [f.t_ms for f in store.frame_records()]
    assert times[0] == T0 + 5 * STEP and times[-1] == T0 + 11 * STEP
    late = ing.frames_file(netcdf_bytes(radar_frames.isel(time=[1]), tmp_path), "l.nc",
                           via="test")  # fmt: skip
    assert late["frames"][0]["status"] == "expired"
    store.close()


def _rain(tmp_path: Path, radar_frames: Any, upto: int, **radar: Any) -> RadarRain:
    cfg, store, ing = _setup(tmp_path, **radar)
    ing.frames_file(netcdf_bytes(radar_frames.isel(time=slice(0, upto)), tmp_path), "f.nc",
                    via="test")  # fmt: skip
    return RadarRain(cfg, store, load_alert_points(), 24)


def test_eulerian_nowcast_holds_the_last_frame_at_each_point(
    tmp_path: Path, radar_frames: Any
) -> None:
    from twin.hydro.radar.transpose import radar_at_points

    rr = _rain(tmp_path, radar_frames, 6, method="eulerian")
    pts = load_alert_points()
    last = radar_at_points(radar_frames.isel(time=[5]), pts.lon, pts.lat).values[0]
    for lag in (0, 2):  # on time, and two steps late (the same nowcast, offset)
        got = rr.at(T0 + (6 + lag) * STEP)
        assert got.source == "eulerian" and got.values is not None
        assert got.info["lag_min"] == 5 * lag and got.info["frames"][-1].endswith("07:25:00+08:00")
        np.testing.assert_allclose(got.values, np.repeat(np.round(last, 2)[:, None], 24, 1),
                                   atol=1e-3)  # fmt: skip
    too_late = rr.at(T0 + (6 + 4) * STEP)  # the last frame ended 20 min before
    assert too_late.values is None and "max_lag" in too_late.info["fallback"]


def test_gap_in_frames_falls_back_with_the_reason(tmp_path: Path, radar_frames: Any) -> None:
    rr = _rain(tmp_path, radar_frames, 1)
    got = rr.at(T0 + 2 * STEP)
    assert got.source == "persistence" and got.values is None
    assert "needs 2 consecutive frames" in got.info["fallback"] and "06:55" in got.info["fallback"]
    off = RadarRain(LiveConfig(), rr.store, load_alert_points(), 24).at(T0 + 2 * STEP)
    assert off.values is None and off.info == {"radar_enabled": False}


def test_extrapolation_moves_the_rain(tmp_path: Path, radar_frames: Any) -> None:
    rr = _rain(tmp_path, radar_frames, 6)
    got = rr.at(T0 + 6 * STEP)
    assert got.source == "extrapolation" and got.values is not None
    assert got.values.shape == (53, 24) and got.values.max() > 0.5
    assert not np.allclose(got.values[:, 0], got.values[:, 11])  # not persistence


def test_displaced_members_for_the_physics_ensemble(tmp_path: Path, radar_frames: Any) -> None:
    plain = _rain(tmp_path / "a", radar_frames, 6).at(T0 + 6 * STEP)
    moved = _rain(tmp_path / "b", radar_frames, 6, displacement=3.0, members=8).at(T0 + 6 * STEP)
    assert plain.values is not None and moved.values is not None and moved.members is not None
    assert moved.members.shape == (8, 24, 53) and moved.info["displacement_m_s"] == 3.0
    # Point forecasters still get the nowcast itself; the members spread around it.
    np.testing.assert_allclose(moved.values, plain.values)
    assert moved.members.std(axis=0).max() > 0.0


def test_external_nowcast_offset_to_the_issue_time(tmp_path: Path, radar_frames: Any) -> None:
    from twin.hydro.radar.nowcast import nowcast

    cfg, store, ing = _setup(tmp_path, method="external")
    issue = np.datetime64(radar_frames["time"].values[6])
    nc = nowcast(radar_frames.isel(time=slice(0, 6)), issue, method="extrapolation",
                 lead_max_min=120.0, outside=0.0)  # fmt: skip
    rep = ing.nowcasts_file(netcdf_bytes(nc, tmp_path, "n.nc"), "n.nc", via="test")
    assert rep["stored"] == 1
    rr = RadarRain(cfg, store, load_alert_points(), 24)
    on_time = rr.at(T0 + 6 * STEP)
    later = rr.at(T0 + 7 * STEP)
    assert on_time.source == "external" and on_time.values is not None
    assert later.values is not None and later.info["lag_min"] == 5.0
    np.testing.assert_allclose(later.values[:, :-1], on_time.values[:, 1:], atol=1e-3)
    assert rr.at(T0 + 5 * STEP).values is None  # not issued yet


def test_watcher_moves_files_and_writes_the_reason(tmp_path: Path, radar_frames: Any) -> None:
    from twin.live.watch import RadarWatcher

    _, store, ing = _setup(tmp_path)
    w = RadarWatcher(tmp_path / "inbox", ing, every=1.0, keep=3600.0)
    good = netcdf_bytes(radar_frames.isel(time=slice(0, 2)), tmp_path, "g.nc")
    (tmp_path / "inbox" / "g.nc").write_bytes(good)
    (tmp_path / "inbox" / "bad.nc").write_bytes(good[:100])
    (tmp_path / "inbox" / ".hidden.nc").write_bytes(good)
    just = max(f.stat().st_mtime for f in (tmp_path / "inbox").iterdir() if f.is_file())
    assert w.scan(now=just) == []  # just written: not settled yet (the clock is passed in)
    later = just + 2.0
    assert sorted(w.scan(now=later)) == [("bad.nc", "rejected"), ("g.nc", "ingested")]
    assert (tmp_path / "inbox" / "ingested" / "g.nc").exists()
    assert "cannot be read" in (tmp_path / "inbox" / "rejected" / "bad.nc.rejected").read_text()
    assert (tmp_path / "inbox" / ".hidden.nc").exists() and store.count_frames() == 2
    old = tmp_path / "inbox" / "ingested" / "g.nc"
    os.utime(old, (later - 7200, later - 7200))
    w.scan(now=later)
    assert not old.exists()


def test_radar_storm_drives_the_gauges_and_feeds_frames(tmp_path: Path, live_points: Any) -> None:
    from twin.hydro.radar.netcdf import read_radar_netcdf
    from twin.hydro.radar.transpose import radar_at_points
    from twin.live.replay_radar import radar_storm

    sim, feed = radar_storm(
        "fmi-20160928",
        live_points,
        start=RADAR_T0,
        after_s=1800.0,
        seed=0,
        size_km=40.0,
        cell_m=2000.0,
        scale=2.0,
        frames=slice(10, 16),
    )
    assert len(feed) == 6 and feed.t_ms[0] == T0 and feed.ends_ms[0] == T0 + STEP
    assert sim.depth.shape == (6 + 6 + 1, 53) and sim.storm == "fmi-20160928"
    _, store, ing = _setup(tmp_path)
    rep = ing.frames_file(feed.bodies[2], "f2.nc", via="test")
    assert rep["stored"] == 1 and rep["frames"][0]["time"] == "2024-06-15T07:10:00+08:00"
    # The gauge reads, at 07:15, the rain of its cell over 07:10-07:15: the frame's.
    (tmp_path / "f2.nc").write_bytes(feed.bodies[2])
    frame = read_radar_netcdf(tmp_path / "f2.nc")
    assert "Finland" in frame.attrs["origin"] and frame.attrs["radar_begin"]
    assert "multiplied by 2" in frame.attrs["intensity_scale"]
    assert ing.describe(None)["frames"][0]["source"]["radar_begin"].startswith("2016-09-28")
    gauge = sim.readings.value[(sim.readings.sensor == "rg-gongshu")
                               & (sim.readings.t_ms == T0 + 3 * STEP)]  # fmt: skip
    at = radar_at_points(frame, [120.160], [30.300]).values[0]
    np.testing.assert_allclose(gauge, at, atol=0.01)
    store.close()
