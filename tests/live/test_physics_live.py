"""The physics ensemble in the live service: state carried across issue times and
restarts, radar rain for its past steps, and the same alerts from the server process.

The storm is a real radar event held out of every fitting (FMI 2016-09-28, the test
event of the radar benchmark; Finland, transposed over Gongshu at its heaviest
placement on a 40-km grid and intensified ×2.7), falling on drains that differ from
their design (``hydro.truth`` style: capacity and area off per point, a fifth
clogging), read by noisy gauges.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.live.conftest import RADAR_T0, LiveServer, wait_until
from twin.forecast.physics_model import load_physics_model, shipped_physics_folder
from twin.live.config import LiveConfig
from twin.live.engine import load_model
from twin.live.ingest import iso_ms
from twin.live.inprocess import InProcessService, crossing_scores
from twin.live.sensors import load_alert_points

EVENT = "fmi-20160928"


@pytest.fixture(scope="module")
def radar_truth_storm(live_points: Any) -> Any:
    from twin.forecast.sensors import SensorModel
    from twin.live.replay_radar import radar_storm
    from twin.scenario.hydro import TruthConfig

    truth = TruthConfig(capacity_sd=0.35, area_sd=0.25, blockage_share=0.2)
    return radar_storm(
        EVENT, live_points, start=RADAR_T0, seed=0, size_km=40.0, cell_m=1000.0, dy_km=-10.0,
        frames=slice(4, 34), scale=2.7, truth=truth, sensor=SensorModel(), after_s=1800.0,
    )  # fmt: skip


def _config(**forecast: Any) -> LiveConfig:
    return LiveConfig(
        forecast={"model": "shipped:physics_ensemble", "max_reading_age": "1h", **forecast},
        radar={"enabled": True},
    )


class _Run(InProcessService):
    """An in-process service on the storm (``step(k)`` issues the storm's step ``k``)."""

    def __init__(self, folder: Path, storm: Any, cfg: LiveConfig | None = None) -> None:
        super().__init__(cfg or _config(), folder, storm[0], storm[1])
        self.sim = storm[0]
        self.cfg = self.config
        self.run_alerts: list[Any] = []

    def step(self, k: int, *, at_ms: int | None = None) -> list[Any]:
        return self.issue(int(self.sim.times_ms[k]) if at_ms is None else at_ms)


def test_shipped_model_knows_the_layer_points_and_loads_by_name() -> None:
    model = load_model("shipped:physics_ensemble")
    assert model.kind == "physics_ensemble"
    assert list(load_physics_model().ids) == [str(p) for p in load_alert_points().ids]
    assert load_model(str(shipped_physics_folder())).kind == "physics_ensemble"


def test_radar_rain_of_the_past_steps_is_the_frames_at_the_points(
    tmp_path: Path, radar_truth_storm: Any
) -> None:
    from twin.hydro.radar.netcdf import read_radar_netcdf
    from twin.hydro.radar.transpose import radar_at_points

    run = _Run(tmp_path, radar_truth_storm)
    sim, feed = radar_truth_storm
    k = 14
    run.step(k)  # posts the frames that ended by then
    b = int(sim.times_ms[k])
    past = run.engine.radar_rain.past(b, 6)
    ends = feed.ends_ms[feed.ends_ms <= b]
    assert past.shape == (6, len(run.points))
    for j in range(6):  # 5-minute frames: each step is one frame's rain at the points
        body = feed.bodies[int(np.flatnonzero(feed.ends_ms == b - (5 - j) * 300_000)[0])]
        path = tmp_path / f"frame{j}.nc"
        path.write_bytes(body)
        at = radar_at_points(read_radar_netcdf(path), run.points.lon, run.points.lat)
        np.testing.assert_allclose(past[j], np.nan_to_num(at.values[0]), rtol=1e-6, atol=1e-9)
    # Steps before the first frame have no radar rain: NaN (the gauges are used there).
    early = run.engine.radar_rain.past(int(ends[0]), 6)
    assert np.isnan(early[:-1]).all() and np.isfinite(early[-1]).all()
    run.store.close()


def test_a_restart_or_a_failed_commit_continues_the_ensemble_bit_for_bit(
    tmp_path: Path, radar_truth_storm: Any
) -> None:
    sim = radar_truth_storm[0]
    steps = range(1, sim.depth.shape[0])
    ref = _Run(tmp_path / "a", radar_truth_storm)
    ref.run_alerts = [m for k in steps for m in ref.step(k)]
    want = [m.identifier for m in ref.run_alerts]
    assert len(want) > 5  # the storm raises alerts
    latest = ref.engine.latest or {}
    assert latest["model"] == "physics_ensemble"
    physics = latest["physics_ensemble"]
    assert physics["members"] == 24 and not physics["spin_up"]

    other = _Run(tmp_path / "b", radar_truth_storm)
    got: list[str] = []
    seen_radar = 0
    for k in steps:
        if k == 12:  # a restart mid-storm: a new engine from what the store holds
            other.engine = other.new_engine()
        if k == 16:  # the commit fails once: nothing recorded, the ensemble rolled back
            real = other.store.record_cycle

            def boom(*a: Any, real: Any = real, **kw: Any) -> Any:
                other.store.record_cycle = real  # type: ignore[method-assign]
                raise OSError("disk full")

            other.store.record_cycle = boom  # type: ignore[method-assign]
            with pytest.raises(OSError):
                other.step(k)
        got += [m.identifier for m in other.step(k)]
        info = (other.engine.latest or {}).get("physics_ensemble", {})
        seen_radar += int(info.get("past_rain_radar_steps", 0))
        if k > 1:
            assert not info.get("spin_up"), k  # the restart continued the saved ensemble
    assert got == want
    assert seen_radar > 10  # the past rain came from the radar frames
    scores = crossing_scores(sim, ref.run_alerts, {"impeded": 0.15, "closed": 0.27})
    assert scores.crossings > 0 and 0 <= scores.ahead <= scores.crossings
    assert len(scores.leads_min) == scores.ahead and all(
        x > 0 for x in scores.leads_min
    )  # the past rain came from the radar frames
    assert json.loads(ref.store.get_meta("forecast.physics_ensemble") or "{}") == json.loads(
        other.store.get_meta("forecast.physics_ensemble") or "{}"
    )
    ref.store.close()
    other.store.close()


def test_a_gap_longer_than_the_lookback_spins_up_a_new_ensemble(
    tmp_path: Path, radar_truth_storm: Any
) -> None:
    run = _Run(tmp_path, radar_truth_storm)
    sim = radar_truth_storm[0]
    run.step(1)
    assert (run.engine.latest or {})["physics_ensemble"]["spin_up"]  # a fresh store
    run.step(2)
    assert not (run.engine.latest or {})["physics_ensemble"]["spin_up"]
    assert sim.depth.shape[0] > 28
    run.step(28)  # 130 min later: more than the 2 h of readings looked back on
    assert (run.engine.latest or {})["physics_ensemble"]["spin_up"]
    run.store.close()


@pytest.mark.slow
def test_server_replay_issues_what_the_engine_issues(
    tmp_path: Path, radar_truth_storm: Any
) -> None:
    """The server, fed by the replay over HTTP in simulated time, issues exactly the
    messages of the in-process engine fed the same readings and frames."""
    from twin.live.replay import replay

    sim, feed = radar_truth_storm
    ref = _Run(tmp_path / "ref", radar_truth_storm, _config(max_reading_age="6h"))
    # The server's first issue time is the newest history reading (a fresh store).
    want = [m.identifier for m in ref.step(0, at_ms=int(sim.times_ms[0]) - 300_000)]
    want += [m.identifier for k in range(sim.depth.shape[0]) for m in ref.step(k)]
    ref.store.close()
    server = LiveServer(
        tmp_path, f"sqlite:///{tmp_path / 'live.db'}", shipped_physics_folder(), [],
        overrides={"radar": {"enabled": True}},
    )  # fmt: skip
    try:
        server.start()
        report = replay(sim.readings, server.url, server.tokens["ingest"], speed=6000.0,
                        paced_from_ms=int(sim.times_ms[0]), radar=feed)  # fmt: skip
        assert report.rejected == 0 and report.frames_stored == len(feed)

        def listed() -> list[str]:
            with server.client("read") as c:
                alerts = c.get("/alerts", params={"state": "all"}).json()["alerts"]
            return [a["identifier"] for a in alerts]

        end = int(sim.times_ms[-1])

        def done() -> bool:
            with server.client("read") as c:
                fc = c.get("/forecasts")
            return fc.status_code == 200 and fc.json()["issue_time"] == iso_ms(end, RADAR_T0.tzinfo)

        wait_until(done, 60, "the last issue time of the replay")
        got = listed()
        assert got == want, (len(got), len(want), got[:3], want[:3])
        with server.client("read") as c:
            fc = c.get("/forecasts").json()
        assert fc["model"] == "physics_ensemble" and "physics_ensemble" in fc
    finally:
        server.stop()


def test_the_service_publishes_calibrated_bands_steered_by_the_readings(
    tmp_path: Path, radar_truth_storm: Any
) -> None:
    sim = radar_truth_storm[0]
    # By default the bands are steered as the model folder chose (twin forecast calibrate).
    default = _Run(tmp_path / "default", radar_truth_storm).engine.bands
    chosen = load_physics_model().band_method
    assert default is not None and chosen is not None
    assert default.gamma == (chosen.gamma or 0.0) and default.per_lead == chosen.per_lead
    # Here with ACI, an α per lead (the config overrides the folder's choice).
    cal = _Run(tmp_path / "cal", radar_truth_storm, _config(aci_gamma=0.01, aci_per_lead=True))
    raw = _Run(tmp_path / "raw", radar_truth_storm, _config(calibrate=False))
    widths: dict[str, list[np.ndarray]] = {"cal": [], "raw": []}
    for k in range(1, sim.depth.shape[0]):
        got, want = cal.step(k), raw.step(k)
        # The alerts come from the members: the bands do not change them.
        assert [m.identifier for m in got] == [m.identifier for m in want]
        for name, run in (("cal", cal), ("raw", raw)):
            q = np.array([p["water_depth_m"] for p in (run.engine.latest or {})["points"]])
            widths[name].append(q[:, :, 5] - q[:, :, 1])  # the 10–90 % band
    assert np.mean(widths["cal"]) > 2 * np.mean(widths["raw"])
    bands = (cal.engine.latest or {})["physics_ensemble"]["bands"]
    assert "ACI with an α per lead" in bands["method"] and bands["outcomes"] > 50
    assert 0.0 <= bands["coverage_10_90"] <= 1.0 and len(bands["alpha_t_by_lead"]) == 24
    assert "bands" not in (raw.engine.latest or {})["physics_ensemble"]
    # A restart carries the α_t of every lead on.
    saved = cal.store.get_meta("forecast.bands")
    assert saved is not None and json.loads(saved)["streams"]
    again = cal.new_engine()
    assert again.bands is not None and again.bands.dumps() == saved
    cal.store.close()
    raw.store.close()
