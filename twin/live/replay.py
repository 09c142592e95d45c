"""Replay recorded or simulated readings into a running live service, faster than real time.

Two sources of readings:

- a **simulated storm**: a design storm (``design-P10-D120-r40``) or a real event of the
  storm catalogue (``twin rain events``) run through the ponding physics at every low
  point (:func:`twin.hydro.reservoir.simulate_ponding`), the depth read through the
  gauge model (:mod:`twin.forecast.sensors`: noise, drift, lost readings), the rain
  read by the district gauge, all on the 5-minute grid; before the storm, a dry
  history (zero readings) as long as the forecasters' history (:func:`simulated_storm`);
- a **radar storm** (:mod:`twin.live.replay_radar`): a shipped radar event transposed
  over the district drives the physics point by point (each low point under its own
  cell), and its frames are posted to ``/radar`` as the replay goes, so the service
  nowcasts them;
- a **recorded** CSV of ``sensor,time,value`` rows (:func:`load_readings_csv`; the
  simulated readings can be written as one with :func:`write_readings_csv`).

:func:`replay` posts them in time order: readings before ``paced_from`` at once (the
history), the rest at ``speed`` times real time, every batch retried on connection
errors and 5xx answers (ingest is idempotent, so a retry is harmless) until the service
answers; it logs, per time step, when the step was posted and acknowledged.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt

from twin._types import FloatArray, IntArray
from twin.forecast.data import ENCODER_STEPS, STEP_S
from twin.live.errors import LiveConnectionError, LiveError
from twin.live.ingest import iso_ms, parse_time_ms

__all__ = [
    "RadarFeed",
    "Readings",
    "ReplayReport",
    "SimulatedStorm",
    "StepLog",
    "load_readings_csv",
    "replay",
    "simulate_readings",
    "simulated_storm",
    "write_readings_csv",
]

logger = logging.getLogger(__name__)
_STEP_MS = round(STEP_S * 1000)


@dataclass(frozen=True)
class Readings:
    """Readings as arrays, ordered by time.

    Attributes
    ----------
    sensor
        Sensor ids (object array of str).
    t_ms
        Times [ms since 1970-01-01 UTC].
    value
        Values [m, mm/h or persons].
    """

    sensor: npt.NDArray[np.object_]
    t_ms: IntArray
    value: FloatArray

    def __len__(self) -> int:
        return int(self.t_ms.shape[0])

    @classmethod
    def build(cls, sensor: Sequence[str], t_ms: npt.ArrayLike, value: npt.ArrayLike) -> Readings:
        """Readings from lists, sorted by time (stable)."""
        s = np.asarray(list(sensor), dtype=object)
        t = np.asarray(t_ms, dtype=np.int64)
        v = np.asarray(value, dtype=np.float64)
        order = np.argsort(t, kind="stable")
        return cls(s[order], t[order], v[order])

    def shifted(self, start_ms: int) -> Readings:
        """The same readings moved in time so that the first is at ``start_ms``."""
        if not len(self):
            return self
        return Readings(self.sensor, self.t_ms + (int(start_ms) - int(self.t_ms[0])), self.value)


@dataclass(frozen=True)
class SimulatedStorm:
    """A storm run through the physics and read by the gauges.

    Attributes
    ----------
    storm
        Storm id.
    readings
        What the gauges report (history, storm and after).
    times_ms
        The 5-minute boundaries of the run, from the storm's start [ms].
    depth
        True water depth at each boundary [m], shape ``(n_times, n_points)``.
    observed
        Gauge readings at each boundary [m] (NaN: lost), same shape.
    rain
        Rain over each step of the run [mm/h], shape ``(n_times - 1,)``.
    point_ids
        Low-point ids of the columns.
    """

    storm: str
    readings: Readings
    times_ms: IntArray
    depth: FloatArray
    observed: FloatArray
    rain: FloatArray
    point_ids: list[str]

    def crossing_ms(self, threshold: float) -> dict[str, int]:
        """First time the true depth reaches ``threshold`` [m], per point that does."""
        out: dict[str, int] = {}
        for j, pid in enumerate(self.point_ids):
            above = np.flatnonzero(self.depth[:, j] >= threshold)
            if above.size:
                out[pid] = int(self.times_ms[above[0]])
        return out


def _storm_rain(storm: str) -> FloatArray:
    from twin.forecast.data import design_storms

    design = dict(design_storms())
    if storm in design:
        return np.asarray(design[storm], dtype=np.float64)
    from twin.hydro.rainfall import default_rain
    from twin.hydro.storms import load_catalogue, storm_event

    cat = load_catalogue()
    row = cat[cat["event_id"] == storm]
    if row.empty:
        raise LiveError(
            f"unknown storm {storm!r}: give a design storm such as {next(iter(design))} or a "
            "catalogue event id (`twin rain events`)."
        )
    ev = storm_event(default_rain(), row.iloc[0], pad="0s")
    return np.nan_to_num(np.asarray(ev.values, dtype=np.float64))


def simulated_storm(
    storm: str,
    points: Any,
    *,
    start: datetime,
    after_s: float = 7200.0,
    preroll_steps: int = ENCODER_STEPS - 1,
    level_ids: Sequence[str] | None = None,
    rain_gauges: Sequence[str] = ("rg-gongshu",),
    sensor: Any = None,
    seed: int,
) -> SimulatedStorm:
    """Simulate a storm at every low point and the gauge readings of it.

    Parameters
    ----------
    storm
        A design storm id (:func:`twin.forecast.data.design_storms`) or a catalogue
        event id.
    points
        Low points with parameters (:func:`twin.hydro.lowpoints.low_points`).
    start
        Time the storm starts (timezone-aware; on the 5-minute grid).
    after_s
        Dry time simulated after the storm [s] (the water drains, alerts cancel).
    preroll_steps
        Dry 5-minute steps of history before the start (zero readings).
    level_ids
        Water-level sensor id of each point (default ``wl-<point id>``).
    rain_gauges
        Rain gauges that report the storm's rain (the same everywhere).
    sensor
        A :class:`twin.forecast.sensors.SensorModel` (noise, drift, gaps), or None
        for exact readings.
    seed
        Seed of the gauge model.

    Returns
    -------
    SimulatedStorm
    """
    rain = _storm_rain(storm)
    return simulate_readings(
        storm,
        np.repeat(rain[:, None], len(np.asarray(points.ids)), axis=1),
        {g: rain for g in rain_gauges},
        points,
        start=start,
        after_s=after_s,
        preroll_steps=preroll_steps,
        level_ids=level_ids,
        sensor=sensor,
        seed=seed,
    )


def simulate_readings(
    storm: str,
    rain: FloatArray,
    gauge_rain: dict[str, FloatArray],
    points: Any,
    *,
    start: datetime,
    after_s: float = 7200.0,
    preroll_steps: int = ENCODER_STEPS - 1,
    level_ids: Sequence[str] | None = None,
    sensor: Any = None,
    seed: int,
    truth: Any = None,
) -> SimulatedStorm:
    """Simulate the ponding of a rain field at the low points and the gauge readings.

    Parameters
    ----------
    storm
        A name for the storm.
    rain
        Rain over each 5-minute step from ``start`` at each point [mm/h], shape
        ``(n_steps, n_points)`` (dry steps of ``after_s`` are added).
    gauge_rain
        Rain over the same steps read by each rain gauge [mm/h] (id → ``(n_steps,)``).
    points, start, after_s, preroll_steps, level_ids, sensor, seed
        As for :func:`simulated_storm`.
    truth
        A :class:`twin.scenario.hydro.TruthConfig`: the water comes from the real drains
        (:func:`twin.hydro.truth.true_ponding`, drawn from the ``hydro_truth`` stream of
        ``seed``; blockages after the first wet step), not from ``points.params``; None:
        the nominal drains.

    Returns
    -------
    SimulatedStorm
        ``rain`` is the points' mean.
    """
    from twin.forecast.sensors import sensor_readings
    from twin.hydro.reservoir import simulate_ponding

    if start.tzinfo is None:
        raise LiveError("start must be timezone-aware, e.g. 2024-06-15T08:00:00+08:00.")
    start_ms = parse_time_ms(start.isoformat())
    if start_ms % _STEP_MS:
        raise LiveError(f"start {start.isoformat()} is not on the 5-minute grid; round it.")
    ids = [str(p) for p in np.asarray(points.ids).tolist()]
    levels = list(level_ids) if level_ids is not None else [f"wl-{p}" for p in ids]
    if len(levels) != len(ids):
        raise LiveError(f"level_ids has {len(levels)} ids for {len(ids)} points.")
    dry = round(after_s / STEP_S)
    field = np.r_[np.asarray(rain, dtype=np.float64), np.zeros((dry, len(ids)))]
    if truth is not None and truth.active:
        from twin.hydro.truth import true_ponding
        from twin.seeds import stream_rng

        wet = np.flatnonzero(field.max(axis=1) > 0)
        first = float(wet[0]) * STEP_S if wet.size else 0.0
        ponding = true_ponding(points.params, field, STEP_S, truth,
                               stream_rng(seed, "hydro_truth"), rain_start=first)  # fmt: skip
    else:
        ponding = simulate_ponding(points.params, field, STEP_S)
    depth = np.asarray(ponding.water_depth, dtype=np.float64)
    obs = (
        depth
        if sensor is None
        else sensor_readings(depth, STEP_S, sensor, np.random.default_rng(seed))
    )
    n_t = depth.shape[0]
    times = start_ms + np.arange(n_t, dtype=np.int64) * _STEP_MS
    pre = start_ms + np.arange(-preroll_steps, 0, dtype=np.int64) * _STEP_MS
    sensors: list[str] = []
    t_all: list[npt.NDArray[np.int64]] = []
    v_all: list[FloatArray] = []
    for j, sid in enumerate(levels):
        ok = np.isfinite(obs[:, j])
        sensors += [sid] * (pre.size + int(ok.sum()))
        t_all += [pre, times[ok]]
        v_all += [np.zeros(pre.size), obs[ok, j]]
    for gid, g in gauge_rain.items():
        rain_at = np.r_[0.0, np.asarray(g, dtype=np.float64), np.zeros(dry)]  # step ending at t
        sensors += [gid] * (pre.size + n_t)
        t_all += [pre, times]
        v_all += [np.zeros(pre.size), rain_at[:n_t]]
    readings = Readings.build(sensors, np.concatenate(t_all), np.concatenate(v_all))
    mean = field.mean(axis=1)
    return SimulatedStorm(
        storm, readings, times, depth, np.asarray(obs, dtype=np.float64), mean, ids
    )


def load_readings_csv(path: str | Path) -> Readings:
    """Read a ``sensor,time,value`` CSV (time ISO 8601 with offset, or epoch seconds).

    Raises
    ------
    LiveError
        A missing file or column, or a row whose time or value cannot be read (named
        by its line).
    """
    path = Path(path)
    if not path.is_file():
        raise LiveError(f"{path}: no such readings file.")
    sensors: list[str] = []
    times: list[int] = []
    values: list[float] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("sensor", "time", "value") if c not in (reader.fieldnames or [])]
        if missing:
            raise LiveError(
                f"{path}: missing column(s) {', '.join(missing)}; need sensor,time,value."
            )
        for line, row in enumerate(reader, start=2):
            try:
                times.append(parse_time_ms(row["time"]))
                values.append(float(row["value"]))
            except (ValueError, TypeError) as exc:
                raise LiveError(f"{path}:{line}: {exc}") from None
            sensors.append(str(row["sensor"]).strip())
    return Readings.build(sensors, times, values)


def write_readings_csv(readings: Readings, path: str | Path, *, tz: Any = None) -> Path:
    """Write readings as a ``sensor,time,value`` CSV (ISO times in zone ``tz``)."""
    from datetime import UTC

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    zone = tz or UTC
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sensor", "time", "value"])
        for s, t, v in zip(
            readings.sensor.tolist(), readings.t_ms.tolist(), readings.value.tolist(), strict=True
        ):
            w.writerow([s, iso_ms(t, zone), repr(v)])
    return path


@dataclass(frozen=True)
class RadarFeed:
    """Radar frames to post during a replay, one CF NetCDF body each.

    Attributes
    ----------
    t_ms
        Frame labels: starts of the intervals [ms since the epoch].
    interval_s
        The frames' interval [s].
    bodies
        The NetCDF bytes of each frame.
    """

    t_ms: IntArray
    interval_s: float
    bodies: list[bytes]

    def __len__(self) -> int:
        return len(self.bodies)

    @property
    def ends_ms(self) -> IntArray:
        """When each frame's interval ends (when a radar would send it) [ms]."""
        return self.t_ms + round(self.interval_s * 1000)


@dataclass(frozen=True)
class StepLog:
    """One posted time step: when it was sent and acknowledged (``time.time()`` [s])."""

    t_ms: int
    rows: int
    sent_wall: float
    acked_wall: float


@dataclass
class ReplayReport:
    """What a replay sent and what the service answered."""

    rows: int = 0
    batches: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    steps: list[StepLog] = field(default_factory=list)
    wall_s: float = 0.0
    frames: int = 0
    frames_stored: int = 0


def _post(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str], retry_for: float
) -> dict[str, Any]:
    deadline = time.monotonic() + retry_for
    delay = 0.1
    while True:
        try:
            r = client.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if r.status_code == 200:
                return dict(r.json())
            detail = r.text[:300]
            with contextlib.suppress(ValueError):
                detail = str(r.json().get("detail", detail))
            if r.status_code in (401, 403):
                raise LiveError(f"the service refused the token (HTTP {r.status_code}): {detail}")
            if r.status_code < 500 and r.status_code != 429:
                raise LiveError(f"the service refused a batch (HTTP {r.status_code}): {detail}")
            problem = f"HTTP {r.status_code}: {detail}"
        if time.monotonic() > deadline:
            raise LiveConnectionError(
                f"{url}: no answer after {retry_for:g} s of retries ({problem}); is `twin live` "
                "running there?"
            )
        logger.info("retrying a batch in %.1f s (%s)", delay, problem)
        time.sleep(delay)
        delay = min(2.0, delay * 2)


def replay(
    readings: Readings,
    url: str,
    token: str,
    *,
    speed: float = 60.0,
    paced_from_ms: int | None = None,
    batch_rows: int = 5000,
    retry_for: float = 60.0,
    timeout: float = 30.0,
    tz: Any = None,
    on_step: Callable[[StepLog, dict[str, Any]], None] | None = None,
    stop: threading.Event | None = None,
    radar: RadarFeed | None = None,
) -> ReplayReport:
    """Post readings to a live service in time order, ``speed`` times real time.

    Parameters
    ----------
    readings
        What to send (ordered by time).
    url
        The service's base URL (``http://127.0.0.1:8765``).
    token
        An API token with the ``ingest`` scope.
    speed
        Simulated seconds per wall-clock second (60: an hour in a minute).
    paced_from_ms
        Readings before this time are sent at once, as history (default: none).
    batch_rows
        Largest batch [rows].
    retry_for
        How long to keep retrying a batch the service does not answer [s].
    timeout
        Per request [s].
    tz
        Zone of the ISO times sent (default UTC).
    on_step
        Called after each time step is acknowledged, with its log and the service's
        answer to its last batch.
    stop
        Set it to stop early (between batches).
    radar
        Radar frames (:class:`RadarFeed`, e.g. of :func:`twin.live.replay_radar.radar_storm`)
        posted to ``/radar``
        in simulated time: each frame as soon as its interval has ended, before the
        readings of that time.

    Returns
    -------
    ReplayReport

    Raises
    ------
    LiveError
        The token is refused or a batch is refused as a whole.
    LiveConnectionError
        The service did not answer for ``retry_for`` seconds.
    """
    from datetime import UTC

    if speed <= 0:
        raise LiveError(f"speed {speed}: give a positive speed-up (e.g. 60).")
    zone = tz or UTC
    target = url.rstrip("/") + "/readings"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    report = ReplayReport()
    t0 = time.time()
    if not len(readings):
        return report
    t_ms = readings.t_ms
    paced = int(paced_from_ms) if paced_from_ms is not None else int(t_ms[0])
    # Time steps: the history as one step (sent at once), then one per distinct time.
    cuts = np.flatnonzero(np.diff(t_ms)) + 1
    bounds = np.r_[0, cuts, len(readings)]
    groups: list[tuple[int, int, int]] = []  # (time, lo, hi)
    hist_end = int(np.searchsorted(t_ms, paced, side="left"))
    if hist_end > 0:
        groups.append((int(t_ms[hist_end - 1]), 0, hist_end))
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if lo >= hist_end:
            groups.append((int(t_ms[lo]), lo, hi))
    times_iso: dict[int, str] = {}
    wall0: float | None = None
    radar_url = url.rstrip("/") + "/radar"
    radar_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-netcdf"}
    frame = 0
    with httpx.Client(timeout=timeout) as client:

        def post_frames(upto_ms: int) -> None:
            nonlocal frame
            while radar is not None and frame < len(radar) and radar.ends_ms[frame] <= upto_ms:
                ans = _post(client, radar_url, radar.bodies[frame], radar_headers, retry_for)
                report.frames += 1
                report.frames_stored += int(ans.get("stored", 0))
                frame += 1

        for t, lo, hi in groups:
            if stop is not None and stop.is_set():
                break
            if t >= paced:
                if wall0 is None:
                    wall0 = time.time() - (t - paced) / 1000.0 / speed
                wait = wall0 + (t - paced) / 1000.0 / speed - time.time()
                if wait > 0:
                    time.sleep(wait)
            sent = time.time()
            post_frames(t)
            answer: dict[str, Any] = {}
            for a in range(lo, hi, batch_rows):
                b = min(hi, a + batch_rows)
                rows = []
                for s, tt, v in zip(
                    readings.sensor[a:b].tolist(),
                    t_ms[a:b].tolist(),
                    readings.value[a:b].tolist(),
                    strict=True,
                ):
                    iso = times_iso.get(tt)
                    if iso is None:
                        iso = times_iso[tt] = iso_ms(tt, zone)
                    rows.append({"sensor": s, "time": iso, "value": v})
                body = json.dumps({"readings": rows}).encode("utf-8")
                answer = _post(client, target, body, headers, retry_for)
                report.batches += 1
                report.rows += b - a
                report.stored += int(answer.get("stored", 0))
                report.duplicates += int(answer.get("duplicates", 0))
                report.rejected += int(answer.get("rejected", 0))
                for err in answer.get("errors", []):
                    report.errors.append({**err, "row": int(err.get("row", 0)) + a})
            step = StepLog(t, hi - lo, sent, time.time())
            report.steps.append(step)
            if on_step is not None:
                on_step(step, answer)
        if stop is None or not stop.is_set():
            post_frames(2**62)  # frames after the last reading
    report.wall_s = time.time() - t0
    return report


def start_of(text: str, zone: Any) -> datetime:
    """A replay start time from text (ISO 8601; a naive time is taken in ``zone``)."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise LiveError(f"start {text!r}: give ISO 8601, e.g. 2024-06-15T08:00:00+08:00.") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    minute = dt.minute - dt.minute % 5
    rounded = dt.replace(minute=minute, second=0, microsecond=0)
    return rounded if rounded == dt else rounded + timedelta(minutes=5)
