"""Radar ingest: frames and external nowcasts in, validated and kept; what is held, out.

:class:`RadarIngest` is what ``POST /radar``, ``POST /nowcasts``, ``GET /radar`` and the
watched folder (:mod:`twin.live.watch`) call (blocking: from a worker thread). A file is
validated as a whole (:mod:`twin.live.radar_files`; a bad one is refused with 4xx and
nothing stored changes), then each frame is judged on its own: ``stored``,
``duplicate`` (sent before), ``conflict`` (another frame is stored for that time; the
first is kept), ``expired`` (older than the kept window) or ``rejected`` (a time before
``ingest.earliest`` or ahead of the server's clock). The response lists every frame with
its outcome, like the per-row report of ``POST /readings``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from twin.alerts import AlertPoints
from twin.live.config import LiveConfig
from twin.live.ingest import iso_ms, parse_time_ms
from twin.live.metrics import LiveMetrics
from twin.live.radar_files import netcdf_body, pack_field, read_frames, read_nowcasts
from twin.live.records import now_ms
from twin.live.store import Store

__all__ = ["RadarIngest"]

logger = logging.getLogger(__name__)

_STATUS_REASON = {
    "duplicate": "this frame is already stored",
    "conflict": "a different frame is stored for this time; frames are immutable, the first "
    "is kept",
    "expired": "older than the kept window (radar.keep back from the newest frame)",
}


class RadarIngest:
    """Validate and keep radar frames and external nowcasts (see the module docstring).

    Parameters
    ----------
    config
        The service config.
    store
        The open store.
    points
        The low points (the grid must cover them).
    metrics
        The service's metrics.
    hold
        Returns the next issue time [ms] (frames it still needs are not pruned), or None.
    """

    def __init__(
        self,
        config: LiveConfig,
        store: Store,
        points: AlertPoints,
        metrics: LiveMetrics,
        hold: Callable[[], int | None] = lambda: None,
    ) -> None:
        self.config = config
        self.store = store
        self.ids = [str(p) for p in points.ids.tolist()]
        self.lon = np.asarray(points.lon, dtype=float)
        self.lat = np.asarray(points.lat, dtype=float)
        self.metrics = metrics
        self.hold = hold
        self.watch_counts = {"ingested": 0, "rejected": 0}

    def _time_problem(self, t_ms: int, now: int) -> str | None:
        lim = self.config.ingest
        if t_ms < parse_time_ms(lim.earliest.isoformat()):
            return f"before the earliest accepted time ({lim.earliest.isoformat()})"
        if t_ms > now + round(lim.max_future * 1000):
            return (
                f"more than {lim.max_future:g} s ahead of the server's clock; check the "
                "product's time stamps"
            )
        return None

    # ------------------------------------------------------------------ frames
    def frames(self, body: bytes, content_type: str) -> dict[str, Any]:
        """``POST /radar``: a request body of frames (raises BatchError with the status)."""
        data, name = netcdf_body(body, content_type)
        return self.frames_file(data, name, via="upload")

    def frames_file(self, data: bytes, name: str, *, via: str) -> dict[str, Any]:
        """Validate and store the frames of one CF NetCDF file; the per-frame report."""
        t0 = time.perf_counter()
        rc = self.config.radar
        up = read_frames(data, name, self.config, self.lon, self.lat, via=via)
        now = now_ms()
        zone = self.config.zone
        report: list[dict[str, Any]] = []
        keep: list[tuple[int, bytes]] = []
        for i, t in enumerate(up.t_ms.tolist()):
            problem = self._time_problem(t, now)
            report.append({"time": iso_ms(t, zone), "status": "rejected" if problem else ""})
            if problem:
                report[-1]["reason"] = problem
            else:
                keep.append((t, pack_field(up.values[i])))
        outcome, pruned = self.store.insert_frames(
            up.grid,
            keep,
            interval_s=up.interval_s,
            source=up.source,
            received_ms=now,
            keep_ms=round(rc.keep * 1000),
            hold_ms=self.hold(),
        )
        it = iter(outcome)
        for row in report:
            if not row["status"]:
                row["status"] = next(it)
                if row["status"] in _STATUS_REASON:
                    row["reason"] = _STATUS_REASON[row["status"]]
        counts = {s: sum(r["status"] == s for r in report) for s in _OUTCOMES}
        for s, n in counts.items():
            if n:
                self.metrics.radar_frames.labels(s).inc(n)
        self.metrics.radar_seconds.observe(time.perf_counter() - t0)
        logger.info("radar %s (%s): %s", name, via, counts)
        return {
            "file": name,
            "received": len(report),
            **counts,
            "pruned": pruned,
            "interval_s": up.interval_s,
            "grid": up.grid.describe(),
            "frames": report,
        }

    # ------------------------------------------------------------------ nowcasts
    def nowcasts(self, body: bytes, content_type: str) -> dict[str, Any]:
        """``POST /nowcasts``: an external nowcast file (raises BatchError with the status)."""
        data, name = netcdf_body(body, content_type)
        return self.nowcasts_file(data, name, via="upload")

    def nowcasts_file(self, data: bytes, name: str, *, via: str) -> dict[str, Any]:
        """Validate and store the nowcasts of one file; the report of each issue time."""
        rc = self.config.radar
        ups = read_nowcasts(data, name, self.config, self.lon, self.lat, via=via)
        now = now_ms()
        zone = self.config.zone
        out: list[dict[str, Any]] = []
        pruned = 0
        for up in ups:
            row: dict[str, Any] = {
                "issue_time": iso_ms(up.issue_ms, zone),
                "members": int(up.values.shape[0]),
                "leads": int(up.values.shape[1]),
                "step_s": up.step_s,
            }
            problem = self._time_problem(up.issue_ms, now)
            if problem:
                row |= {"status": "rejected", "reason": problem}
            else:
                status, n = self.store.put_nowcast(
                    up.issue_ms,
                    step_s=up.step_s,
                    shape=(int(up.values.shape[0]), int(up.values.shape[1])),
                    points=self.ids,
                    data=pack_field(up.values),
                    grid=up.grid,
                    source=up.source,
                    received_ms=now,
                    keep_ms=round(rc.keep * 1000),
                    hold_ms=self.hold(),
                )
                pruned += n
                row["status"] = status
                if status == "expired":
                    row["reason"] = _STATUS_REASON["expired"]
            self.metrics.external_nowcasts.labels(row["status"]).inc()
            out.append(row)
        return {
            "file": name,
            "received": len(out),
            "stored": sum(r["status"] in ("stored", "replaced") for r in out),
            "pruned": pruned,
            "grid": ups[0].grid if ups else None,
            "nowcasts": out,
        }

    # ------------------------------------------------------------------ listing
    def describe(self, latest: dict[str, Any] | None) -> dict[str, Any]:
        """``GET /radar``: the frames and nowcasts held and the last forecast's rain."""
        rc = self.config.radar
        zone = self.config.zone
        frames = self.store.frame_records()
        grids: dict[str, Any] = {}
        for gid in sorted({f.grid for f in frames}):
            g = self.store.radar_grid(gid)
            if g is not None:
                grids[gid] = g.describe()
        nowcasts = self.store.nowcast_records()
        last = None
        if latest is not None:
            last = {
                "forecast_issue_time": latest.get("issue_time"),
                "rain_source": latest.get("rain_source"),
                "rain_source_label": latest.get("rain_source_label"),
                **dict(latest.get("rain") or {}),
            }
        return {
            "enabled": rc.enabled,
            "method": rc.method,
            "keep_s": rc.keep,
            "max_lag_s": rc.max_lag,
            "interval_s": rc.interval,
            "count": len(frames),
            "frames": [
                {
                    "time": iso_ms(f.t_ms, zone),
                    "end": iso_ms(f.t_ms + round(f.interval_s * 1000), zone),
                    "grid": f.grid,
                    "received": iso_ms(f.received_ms, zone),
                    "source": f.source,
                }
                for f in frames
            ],
            "grids": grids,
            "nowcasts": [
                {
                    "issue_time": iso_ms(n.issue_ms, zone),
                    "step_s": n.step_s,
                    "members": n.members,
                    "leads": n.leads,
                    "received": iso_ms(n.received_ms, zone),
                    "grid": n.grid,
                    "source": n.source,
                }
                for n in nowcasts
            ],
            "last_nowcast": last,
            "watch": None
            if rc.watch_dir is None
            else {"dir": rc.watch_dir, "every_s": rc.watch_every, **self.watch_counts},
        }


_OUTCOMES = ("stored", "duplicate", "conflict", "expired", "rejected")
