"""The live service's forecast loop in one process, fed a replayed storm, and its scores.

:class:`InProcessService` holds the same store, radar ingest and forecast engine as
``twin live serve``, without HTTP: the readings of a replayed storm are stored at once,
radar frames are stored as their intervals end, and the issue times are issued one by
one in simulated time. The engine reads only what a live service would have had at
each issue time (readings up to it, frames that ended by it), so the messages are those
the server issues when the same storm is replayed to it over HTTP (tested). Benchmarks
use it to score the live chain on a storm without running a server.

:func:`crossing_scores` scores the messages against the water: for every low point and
level whose true depth crosses the level, whether an alert for it was issued strictly
before the crossing (on the 5-minute grid of the readings), and how long before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twin.live.backends import open_store
from twin.live.config import LiveConfig
from twin.live.engine import ForecastEngine, load_model
from twin.live.ingest import ParsedBatch
from twin.live.metrics import LiveMetrics
from twin.live.radar_ingest import RadarIngest
from twin.live.records import AlertRecord
from twin.live.replay import RadarFeed, SimulatedStorm
from twin.live.sensors import build_registry, load_alert_points, load_plaza_ids

__all__ = ["CrossingScores", "InProcessService", "crossing_scores"]


class InProcessService:
    """A store, radar ingest and engine fed a storm (see the module docstring).

    Parameters
    ----------
    config
        The service config (its ``store`` is ignored: a SQLite file in ``folder``).
    folder
        Where the store is written.
    storm
        The readings to replay.
    feed
        Radar frames, stored as their intervals end (None: no radar).
    """

    def __init__(
        self,
        config: LiveConfig,
        folder: str | Path,
        storm: SimulatedStorm,
        feed: RadarFeed | None = None,
    ) -> None:
        self.config = config
        self.storm = storm
        self.feed = feed
        Path(folder).mkdir(parents=True, exist_ok=True)
        self.store = open_store(f"sqlite:///{Path(folder) / 'live.db'}")
        self.points = load_alert_points(config.forecast.low_points)
        self.registry = build_registry(config.sensors, self.points, load_plaza_ids())
        self.radar = RadarIngest(config, self.store, self.points, LiveMetrics())
        r = storm.readings
        n = len(r.sensor)
        batch = ParsedBatch(n, np.arange(n), list(r.sensor), np.zeros(n, dtype=np.int64),
                            np.asarray(r.t_ms), np.asarray(r.value))  # fmt: skip
        self.store.insert_readings(batch, received_ms=0)
        self.posted = 0
        self.engine = self.new_engine()

    def new_engine(self) -> ForecastEngine:
        """A new engine on the store (as after a restart)."""
        model = load_model(self.config.forecast.model)
        return ForecastEngine(self.config, self.store, model, self.points, self.registry)

    def issue(self, b_ms: int) -> list[AlertRecord]:
        """Store the frames that ended by ``b_ms``, then issue it; its messages."""
        feed = self.feed
        while feed is not None and self.posted < len(feed) and feed.ends_ms[self.posted] <= b_ms:
            self.radar.frames_file(feed.bodies[self.posted], "frame.nc", via="upload")
            self.posted += 1
        return list(self.engine.issue(b_ms, trigger_ms=0))

    def run(self) -> list[AlertRecord]:
        """Issue every time step of the storm after its first; all messages."""
        out: list[AlertRecord] = []
        for t in self.storm.times_ms[1:].tolist():
            out += self.issue(int(t))
        return out

    def close(self) -> None:
        """Close the store."""
        self.store.close()


@dataclass
class CrossingScores:
    """Alerts against threshold crossings, by level and in all.

    Attributes
    ----------
    crossings, ahead
        Crossings (point, level), and those with an alert issued strictly before.
    leads_min
        Lead of each warned crossing [min].
    false_alarms
        (point, level) alerted whose depth never crossed the level.
    by_level
        The same counts per level: ``{level: {"crossings", "ahead", "median_lead_min",
        "false_alarms"}}``.
    """

    crossings: int = 0
    ahead: int = 0
    leads_min: list[float] = field(default_factory=list)
    false_alarms: int = 0
    by_level: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def share_ahead(self) -> float:
        """Share of the crossings warned ahead [-] (NaN without crossings)."""
        return self.ahead / self.crossings if self.crossings else float("nan")

    @property
    def median_lead_min(self) -> float:
        """Median lead of the warned crossings [min] (NaN if none)."""
        return float(np.median(self.leads_min)) if self.leads_min else float("nan")


def crossing_scores(
    storm: SimulatedStorm, alerts: list[AlertRecord], levels: dict[str, float]
) -> CrossingScores:
    """Score the ``Alert`` messages against the storm's true depth (module docstring)."""
    first: dict[tuple[str, str], int] = {}
    for a in alerts:
        if a.msg_type == "Alert":
            first.setdefault((a.point, a.level), a.issue_ms)
    out = CrossingScores()
    for level, threshold in levels.items():
        crossed = storm.crossing_ms(threshold)
        leads = [
            (t - first[(p, level)]) / 60000.0
            for p, t in crossed.items()
            if (p, level) in first and first[(p, level)] < t
        ]
        false = sum(1 for (p, lv) in first if lv == level and p not in crossed)
        out.crossings += len(crossed)
        out.ahead += len(leads)
        out.leads_min += leads
        out.false_alarms += false
        out.by_level[level] = {
            "crossings": len(crossed),
            "ahead": len(leads),
            "median_lead_min": float(np.median(leads)) if leads else float("nan"),
            "false_alarms": false,
        }
    return out
