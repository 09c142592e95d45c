"""A radar storm for the replay: a shipped radar event over the district, frame by frame.

:func:`radar_storm` takes a real radar event (:func:`twin.hydro.radar.events.load_event`;
none fell on Hangzhou), transposes it over the district
(:func:`twin.hydro.radar.transpose.transpose_radar`), moves it onto the replay's clock
(the first frame starts at ``start``; the real date stays in the ``radar_begin``
attribute), and

- drives the ponding physics at every low point with the rain of its own cell
  (:func:`twin.hydro.radar.transpose.radar_at_points`, averaged to the 5-minute steps
  by :func:`twin.forecast.radar_rain.to_step`) and reads it through the gauges
  (:func:`twin.live.replay.simulate_readings`; each rain gauge reads its cell);
- writes every frame as a small CF NetCDF file (:class:`RadarFeed`), which
  :func:`twin.live.replay.replay` posts to ``/radar`` as soon as the frame's interval
  has ended in simulated time, before the gauge readings of that time.

So the service sees the storm twice, as a radar would and as the gauges would, and its
radar nowcasts can be compared with the water that follows.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from twin._types import FloatArray
from twin.forecast.data import ENCODER_STEPS, STEP_S
from twin.live.errors import LiveError
from twin.live.ingest import parse_time_ms
from twin.live.replay import RadarFeed, SimulatedStorm, simulate_readings

__all__ = ["RadarFeed", "frame_bodies", "radar_storm"]

_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")


def frame_bodies(radar: Any) -> list[bytes]:
    """Each frame of a radar array ``(time, y, x)`` as a CF NetCDF file's bytes."""
    from twin.hydro.radar.netcdf import write_radar_netcdf

    out: list[bytes] = []
    with tempfile.TemporaryDirectory(prefix="twin-replay-radar-") as tmp:
        for k in range(radar.sizes["time"]):
            path = write_radar_netcdf(radar.isel(time=[k]), Path(tmp) / f"frame-{k}.nc")
            out.append(path.read_bytes())
    return out


def _five_minutes(values: FloatArray, interval_s: float) -> FloatArray:
    """Rates ``(time, point)`` at the radar's step as 5-minute steps (depth kept)."""
    from twin.forecast.radar_rain import to_step

    v = np.nan_to_num(np.asarray(values, dtype=np.float64))
    if abs(interval_s - STEP_S) < 1e-6:
        return v
    n = int(v.shape[0] * interval_s // STEP_S)
    return to_step(v, interval_s, STEP_S, n)


def radar_storm(
    event: str,
    points: Any,
    *,
    start: datetime,
    gauges: Sequence[tuple[str, float, float]] = (("rg-gongshu", 120.160, 30.300),),
    after_s: float = 7200.0,
    preroll_steps: int = ENCODER_STEPS - 1,
    level_ids: Sequence[str] | None = None,
    sensor: Any = None,
    seed: int,
    target: Any = None,
    size_km: float = 128.0,
    cell_m: float = 1000.0,
    dx_km: float = 0.0,
    dy_km: float = 0.0,
    rotation_deg: float = 0.0,
    scale: float = 1.0,
    frames: slice | None = None,
    truth: Any = None,
) -> tuple[SimulatedStorm, RadarFeed]:
    """A radar event over the district: gauge readings of its ponding, and its frames.

    Parameters
    ----------
    event
        A shipped radar event (:data:`twin.hydro.radar.events.EVENT_NAMES`).
    points
        Low points with parameters (:func:`twin.hydro.lowpoints.low_points`).
    start
        When the first frame's interval starts (timezone-aware, on the 5-minute grid).
    gauges
        ``(id, lon, lat)`` of each rain gauge; each reads the rain of its cell.
    after_s, preroll_steps, level_ids, sensor, seed
        As for :func:`twin.live.replay.simulated_storm`.
    target
        The district (default Gongshu; see :func:`twin.hydro.radar.transpose.as_district`).
    size_km, cell_m
        The transposed grid: side [km] and cell [m]. The default 128 km (a radar's view
        about 60 km upwind of the district, as in scenarios) warns ahead of more
        crossings than 64 km (``benchmarks/bench_live_radar.py``).
    dx_km, dy_km, rotation_deg
        The placement (:func:`twin.hydro.radar.transpose.transpose_radar`).
    scale
        Multiplier on the rain rate [-] (≠ 1: the storm is intensified, and the frames
        say so in ``intensity_scale``; :func:`twin.hydro.sources.transposed_storm`).
    frames
        A slice of the event's frames (default: all).
    truth
        The real drains (:func:`twin.live.replay.simulate_readings`); None: nominal.

    Returns
    -------
    (SimulatedStorm, RadarFeed)
        The readings (``storm`` is the event's name) and the frames on the replay's
        clock.
    """
    from twin.hydro.radar.events import load_event
    from twin.hydro.radar.transpose import radar_at_points
    from twin.hydro.sources import transposed_storm

    if start.tzinfo is None:
        raise LiveError("start must be timezone-aware, e.g. 2024-06-15T08:00:00+08:00.")
    ev = load_event(event)
    if frames is not None:
        ev = ev.isel(time=frames)
    if scale < 0:
        raise LiveError(f"scale {scale}: give a non-negative multiplier of the rain rate.")
    interval = float(ev.attrs["interval_s"])
    start_ms = parse_time_ms(start.isoformat())
    tr = transposed_storm(
        ev, rain_start=_EPOCH + np.timedelta64(start_ms, "ms"), target=target, dx_km=dx_km,
        dy_km=dy_km, rotation_deg=rotation_deg, size_km=size_km, cell_m=cell_m, scale=scale,
    )  # fmt: skip
    t_ms = (tr["time"].values - _EPOCH) // np.timedelta64(1, "ms")
    lon = np.asarray(points.lon, dtype=float)
    lat = np.asarray(points.lat, dtype=float)
    rain = _five_minutes(radar_at_points(tr, lon, lat).values, interval)
    g_rain = {}
    if gauges:
        g_lon = np.array([g[1] for g in gauges], dtype=float)
        g_lat = np.array([g[2] for g in gauges], dtype=float)
        at_g = _five_minutes(radar_at_points(tr, g_lon, g_lat).values, interval)
        g_rain = {g[0]: at_g[:, i] for i, g in enumerate(gauges)}
    sim = simulate_readings(
        event,
        rain,
        g_rain,
        points,
        start=start,
        after_s=after_s,
        preroll_steps=preroll_steps,
        level_ids=level_ids,
        sensor=sensor,
        seed=seed,
        truth=truth,
    )
    return sim, RadarFeed(t_ms, interval, frame_bodies(tr))
