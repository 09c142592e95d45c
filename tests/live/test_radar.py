"""Radar frames and external nowcasts in a real server process, on SQLite and PostgreSQL.

Frames are twelve real FMI frames transposed over Gongshu on a coarse grid
(``radar_frames``, 07:00 … 07:55 on 2024-06-15, +08:00), written as tiny CF NetCDF files
in the tests. Bad files are refused with a 4xx and a reason, and nothing stored is lost;
forecasts after frames say that their future rain is the radar nowcast; a SIGKILL and a
restart keep the frames.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from pyproj import CRS

from tests.live.conftest import RADAR_T0, LiveServer, netcdf_bytes, store_url, wait_until
from twin.live.ingest import iso_ms, parse_time_ms
from twin.live.sensors import load_alert_points

pytestmark = pytest.mark.slow

NC = {"Content-Type": "application/x-netcdf"}
FLOODED = 3  # index of the low point whose gauge shows standing water from 07:40


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def radar_live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, model_dir: Path
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp(f"radar-{request.param}")
    server = LiveServer(
        folder,
        store_url(request.param, request, folder),
        model_dir,
        [],
        overrides={
            "radar": {
                "enabled": True,
                "watch_dir": str(folder / "inbox"),
                "watch_every": "0.2s",
            },
            "server": {"max_body_mb": 0.25},
        },
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _listing(server: LiveServer) -> dict[str, Any]:
    with server.client("read") as c:
        r = c.get("/radar")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _readings(t0_ms: int, t1_ms: int, flood_from_ms: int) -> list[dict[str, Any]]:
    """Every gauge every 5 min in [t0, t1]: dry, one point flooded (0.3 m) from a time."""
    ids = [str(p) for p in load_alert_points().ids.tolist()]
    rows: list[dict[str, Any]] = []
    for t in range(t0_ms, t1_ms + 1, 300_000):
        when = iso_ms(t)
        for j, pid in enumerate(ids):
            depth = 0.3 if j == FLOODED and t >= flood_from_ms else 0.0
            rows.append({"sensor": f"wl-{pid}", "time": when, "value": depth})
        rows.append({"sensor": "rg-gongshu", "time": when, "value": 2.0})
    return rows


def test_frames_upload_listed_and_idempotent(
    radar_live: LiveServer, radar_frames: Any, tmp_path: Path
) -> None:
    body = netcdf_bytes(radar_frames.isel(time=slice(0, 6)), tmp_path)
    with radar_live.client("ingest") as c:
        r = c.post("/radar", content=body, headers=NC)
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["received"] == 6 and report["stored"] == 6
        assert [f["status"] for f in report["frames"]] == ["stored"] * 6
        assert report["grid"]["epsg"] == 32651 and report["grid"]["shape"] == [20, 20]
        again = c.post("/radar", content=body, headers=NC).json()
        assert again["stored"] == 0 and again["duplicate"] == 6
        # Another frame for a stored time is a conflict; the first is kept.
        changed = radar_frames.isel(time=[0]).copy(data=radar_frames.values[[0]] + 1.0)
        clash = c.post("/radar", content=netcdf_bytes(changed, tmp_path, "c.nc"), headers=NC)
        assert clash.json()["frames"][0]["status"] == "conflict"
        assert c.get("/radar").status_code == 403  # ingest may not read
    listing = _listing(radar_live)
    assert listing["enabled"] and listing["method"] == "extrapolation"
    assert listing["count"] == 6
    assert listing["frames"][0]["time"] == RADAR_T0.isoformat()
    assert listing["frames"][0]["source"]["institution"] == "FMI"
    assert listing["frames"][0]["source"]["transposed_over"] == "Gongshu"
    (grid,) = listing["grids"].values()
    assert grid["cell_m"] == 2000.0 and grid["lon"][0] < 120.13 < grid["lon"][1]


def _bad_files(frames: Any, folder: Path) -> dict[str, tuple[bytes, int, str]]:
    """name -> (bytes, expected status, a word of the reason)."""
    from twin.hydro.radar.events import load_event

    good = netcdf_bytes(frames.isel(time=slice(0, 2)), folder, "good.nc")
    ds = xr.open_dataset(folder / "good.nc")
    ds.load()
    ds.close()
    geo = ds.copy()
    geo["crs"].attrs = CRS.from_epsg(4326).to_cf()
    utm50 = ds.copy()
    utm50["crs"].attrs = CRS.from_epsg(32650).to_cf()
    units = ds.copy()
    units["rain_rate"].attrs["units"] = "inch per fortnight"
    notime = ds.assign_coords(time=np.arange(2.0))
    finland = load_event("fmi-20160928").isel(time=slice(10, 12), y=slice(100, 120),
                                              x=slice(100, 120))  # fmt: skip
    return {
        "geographic.nc": (netcdf_bytes(geo, folder, "geographic.nc"), 422, "wrong CRS"),
        "utm50.nc": (netcdf_bytes(utm50, folder, "utm50.nc"), 422, "wrong CRS"),
        "units.nc": (netcdf_bytes(units, folder, "units.nc"), 422, "units"),
        "notime.nc": (netcdf_bytes(notime, folder, "notime.nc"), 422, "date-time"),
        "finland.nc": (netcdf_bytes(finland, folder, "finland.nc"), 422, "misses 53 of 53"),
        "truncated.nc": (good[: len(good) // 2], 422, "cannot be read"),
        "text.nc": (b"time,value\n", 400, "not a NetCDF"),
    }


def test_bad_files_refused_with_the_reason_and_nothing_lost(
    radar_live: LiveServer, radar_frames: Any, tmp_path: Path
) -> None:
    before = _listing(radar_live)
    assert before["count"] >= 6
    with radar_live.client("ingest") as c:
        for name, (data, status, word) in _bad_files(radar_frames, tmp_path).items():
            files = {"file": (name, data, "application/x-netcdf")}
            r = c.post("/radar", files=files)
            assert r.status_code == status, (name, r.text)
            detail = r.json()["detail"]
            assert word in detail and name in detail, (name, detail)
            assert "twin-radar-" not in detail  # no server paths
        r = c.post("/radar", content=b"CDF\x01", headers={"Content-Type": "text/plain"})
        assert r.status_code == 415
        r = c.post("/radar", content=b"CDF\x01" + b"\0" * 300_000, headers=NC)
        assert r.status_code == 413 and "max_body_mb" in r.json()["detail"]
    with radar_live.client("read") as c:
        assert c.post("/radar", content=b"", headers=NC).status_code == 403
    after = _listing(radar_live)
    assert after["frames"] == before["frames"] and after["grids"] == before["grids"]
    with radar_live.client(None) as c:
        metrics = c.get("/metrics").text
    assert 'twin_live_radar_files_refused_total{status="422"}' in metrics


def test_external_nowcast_accepted_and_one_that_misses_refused(
    radar_live: LiveServer, radar_frames: Any, tmp_path: Path
) -> None:
    from twin.hydro.radar.nowcast import nowcast

    issue = np.datetime64(radar_frames["time"].values[6])  # after the first six frames
    nc = nowcast(radar_frames.isel(time=slice(0, 6)), issue, method="eulerian",
                 lead_max_min=60.0)  # fmt: skip
    with radar_live.client("ingest") as c:
        r = c.post("/nowcasts", content=netcdf_bytes(nc, tmp_path, "bureau.nc"), headers=NC)
        assert r.status_code == 200, r.text
        (row,) = r.json()["nowcasts"]
        assert row["status"] == "stored" and row["leads"] == 12 and row["step_s"] == 300.0
        assert row["issue_time"] == "2024-06-15T07:30:00+08:00"
        again = c.post("/nowcasts", content=netcdf_bytes(nc, tmp_path, "bureau.nc"), headers=NC)
        assert again.json()["nowcasts"][0]["status"] == "replaced"  # latest per issue time
        far = nc.assign_coords(x=nc["x"] + 3.0e5)  # 300 km east: over the sea
        far = far.drop_vars(["lon", "lat", "district"])
        r = c.post("/nowcasts", content=netcdf_bytes(far, tmp_path, "far.nc"), headers=NC)
        assert r.status_code == 422 and "misses" in r.json()["detail"]
    listing = _listing(radar_live)
    (held,) = listing["nowcasts"]
    assert held["issue_time"] == "2024-06-15T07:30:00+08:00" and held["source"]["file"]


def _wait_issue(server: LiveServer, iso: str) -> dict[str, Any]:
    got: dict[str, Any] = {}

    def issued() -> bool:
        with server.client("read") as c:
            r = c.get("/forecasts")
        if r.status_code == 200 and r.json()["issue_time"] == iso:
            got.update(r.json())
            return True
        return False

    wait_until(issued, 60, f"the forecast of {iso}")
    return got


def test_forecasts_use_the_radar_nowcast_and_say_so(
    radar_live: LiveServer, radar_frames: Any, tmp_path: Path
) -> None:
    t0 = parse_time_ms(RADAR_T0.isoformat())
    flood = t0 + 40 * 60_000
    with radar_live.client("ingest") as c:
        # The history up to 07:00: no frame has ended yet, so gauge persistence.
        r = c.post("/readings", json=_readings(t0 - 3_600_000, t0, flood))
        assert r.status_code == 200 and r.json()["rejected"] == 0
    first = _wait_issue(radar_live, RADAR_T0.isoformat())
    assert first["rain_source"] == "persistence"
    assert "no radar frame" in first["rain"]["fallback"]
    rest = netcdf_bytes(radar_frames.isel(time=slice(6, 12)), tmp_path, "rest.nc")
    with radar_live.client("ingest") as c:
        r = c.post("/radar", files={"file": ("rest.nc", rest, "application/x-netcdf")})
        assert r.status_code == 200 and r.json()["stored"] == 6
        r = c.post("/readings", json=_readings(t0 + 300_000, t0 + 3_600_000, flood))
        assert r.json()["rejected"] == 0
    last = _wait_issue(radar_live, iso_ms(t0 + 3_600_000, RADAR_T0.tzinfo))
    assert last["rain_source"] == "extrapolation"
    assert "radar extrapolation" in last["rain_source_label"]
    assert last["rain"]["nowcast_issue_time"] == last["issue_time"]
    assert last["rain"]["frames"][-1] == "2024-06-15T07:55:00+08:00"
    future = np.array([p["rain_future_mm_h"] for p in last["points"]])
    assert future.shape == (53, 24) and future.max() > 0.5
    listing = _listing(radar_live)
    assert listing["last_nowcast"]["method"] == "extrapolation"
    assert listing["last_nowcast"]["nowcast_issue_time"] == last["issue_time"]
    # The alert of the flooded point names its rain source (a CAP parameter).
    with radar_live.client("read") as c:
        alerts = c.get("/alerts", params={"state": "all"}).json()["alerts"]
    assert alerts
    params = {
        p["valueName"]: p["value"] for p in alerts[-1]["cap"]["alert"]["info"][0]["parameter"]
    }
    assert params["rain_source"] == "extrapolation"


def test_watched_folder_ingests_good_files_and_sets_bad_ones_aside(
    radar_live: LiveServer, radar_frames: Any, tmp_path: Path
) -> None:
    inbox = radar_live.folder / "inbox"
    assert inbox.is_dir()
    nxt = radar_frames.isel(time=[11]).assign_coords(
        time=radar_frames["time"].values[[11]] + np.timedelta64(5, "m")
    )
    (tmp_path / "w").mkdir()
    good = netcdf_bytes(nxt, tmp_path / "w", "next.nc")
    bad = _bad_files(radar_frames, tmp_path)["units.nc"][0]
    for name, data in (("next.nc", good), ("bad-units.nc", bad)):
        part = inbox / f".{name}.part"
        part.write_bytes(data)
        part.rename(inbox / name)
    wait_until(lambda: (inbox / "ingested" / "next.nc").exists(), 30, "the good file")
    wait_until(lambda: (inbox / "rejected" / "bad-units.nc.rejected").exists(), 30, "the bad")
    reason = (inbox / "rejected" / "bad-units.nc.rejected").read_text()
    assert "units" in reason and (inbox / "rejected" / "bad-units.nc").exists()
    listing = _listing(radar_live)
    assert listing["frames"][-1]["time"] == "2024-06-15T08:00:00+08:00"
    assert listing["frames"][-1]["source"]["via"] == "watch"
    assert listing["watch"]["ingested"] == 1 and listing["watch"]["rejected"] == 1


def test_frames_survive_a_sigkill_and_restart(radar_live: LiveServer) -> None:
    before = _listing(radar_live)
    assert before["count"] == 13 and len(before["nowcasts"]) == 1
    radar_live.kill()
    time.sleep(0.2)
    radar_live.start()
    after = _listing(radar_live)
    assert after["frames"] == before["frames"] and after["nowcasts"] == before["nowcasts"]
    assert after["last_nowcast"]["method"] == "extrapolation"


def test_replay_of_a_radar_storm_posts_frames_in_simulated_time(
    tmp_path: Path, model_dir: Path, live_points: Any
) -> None:
    from twin.live.replay import StepLog, replay
    from twin.live.replay_radar import radar_storm

    sim, feed = radar_storm(
        "fmi-20160928",
        live_points,
        start=RADAR_T0,
        after_s=1200.0,
        seed=0,
        size_km=40.0,
        cell_m=2000.0,
        frames=slice(10, 22),
    )
    server = LiveServer(
        tmp_path, f"sqlite:///{tmp_path / 'live.db'}", model_dir, [],
        overrides={"radar": {"enabled": True}},
    )  # fmt: skip
    frames_seen: list[int] = []

    def on_step(step: StepLog, answer: dict[str, Any]) -> None:
        with server.client("read") as c:
            frames_seen.append(c.get("/radar").json()["count"])

    try:
        server.start()
        report = replay(
            sim.readings,
            server.url,
            server.tokens["ingest"],
            speed=6000.0,
            paced_from_ms=int(sim.times_ms[0]),
            on_step=on_step,
            radar=feed,
        )
        assert report.frames == 12 and report.frames_stored == 12 and report.rejected == 0
        # Step k (history first) is posted with the frames that ended by then.
        assert frames_seen[:4] == [0, 0, 1, 2] and frames_seen[-1] == 12
        end = iso_ms(int(sim.times_ms[-1]), RADAR_T0.tzinfo)
        last = _wait_issue(server, end)
        assert last["rain_source"] == "persistence"  # the radar stopped 20 min ago
        with server.client(None) as c:
            metrics = c.get("/metrics").text
        used = [
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith('twin_live_forecast_rain_source_total{source="extrapolation"}')
        ]
        assert used and used[0] >= 10  # 07:10 … 08:00 and up to 15 min after
    finally:
        server.stop()
