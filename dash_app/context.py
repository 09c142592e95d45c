"""What every page of one app shares: the scenarios folder, the job runner, caches.

One :class:`AppContext` per app (never module-level state), so tests can run several
apps in one process.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from dash_app.basemap import base_traces, point_names
from dash_app.jobs import Job, JobRunner
from dash_app.replay import RunFrames
from dash_app.replay_compact import MAX_REPLAY_BYTES, replay_payload
from twin.network.road_network import RoadNetwork
from twin.scenario import NetworkConfig

__all__ = ["AppContext"]

logger = logging.getLogger(__name__)


@dataclass
class AppContext:
    """Shared state of one app.

    Attributes
    ----------
    scenarios_dir
        Folder the builder lists ``*.yaml`` scenarios from.
    save_dir
        Folder the builder saves new scenarios to.
    runner
        The background job runner.
    max_replay_bytes
        The largest replay the map sends to the browser at once [bytes of JSON]
        (:data:`dash_app.replay_compact.MAX_REPLAY_BYTES`); a larger run is replayed by the
        server, one round trip per record time.
    """

    scenarios_dir: Path
    save_dir: Path
    runner: JobRunner
    max_replay_bytes: int = MAX_REPLAY_BYTES
    _network: RoadNetwork | None = None
    _network_error: str | None = None
    _frames: dict[str, RunFrames] = field(default_factory=dict)
    _base: dict[tuple[int, bool, bool], list[go.Scatter]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _events: list[tuple[str, str]] | None = None
    scratch: Any = None
    _point_names: dict[int, dict[str, str]] = field(default_factory=dict)
    _replays: dict[tuple[str, frozenset[str], int, int, int], dict[str, Any] | None] = field(
        default_factory=dict
    )

    # ------------------------------------------------------------------ scenarios
    def scenario_files(self) -> list[Path]:
        """The scenario files offered by the builder (scenarios and save folders), by name."""
        found: dict[str, Path] = {}
        for folder in (self.save_dir, self.scenarios_dir):
            if folder.is_dir():
                found.update({p.name: p for p in folder.glob("*.yaml")})
        return [found[name] for name in sorted(found)]

    def scenario_names(self) -> list[str]:
        """The names of :meth:`scenario_files` (a page's menu of scenarios)."""
        return [p.name for p in self.scenario_files()]

    def default_scenario(self, preferred: str) -> str | None:
        """``preferred`` when offered, else the first scenario offered, else ``None``."""
        names = self.scenario_names()
        return preferred if preferred in names else (names[0] if names else None)

    def scenario_path(self, name: str | None) -> Path | None:
        """The file of that name in the scenarios (or save) folder, or ``None``."""
        if not name:
            return None
        for folder in (self.scenarios_dir, self.save_dir):
            path = folder / name
            if path.parent == folder and path.is_file():
                return path
        return None

    def storm_events(self) -> list[str]:
        """The event ids of the shipped storm catalogue, deepest first (read once)."""
        return [e for e, _ in self.storm_catalogue()]

    def storm_catalogue(self) -> list[tuple[str, str]]:
        """``(event id, description)`` of every catalogue storm, deepest first (read once).

        The description: depth [mm], duration [h] and peak hourly rate [mm/h].
        """
        if self._events is None:
            from twin.hydro.storms import load_catalogue

            cat = load_catalogue().sort_values("depth_mm", ascending=False, kind="stable")
            self._events = [
                (str(e), f"{d:.0f} mm in {h:.1f} h, peak {p:.0f} mm/h")
                for e, d, h, p in zip(
                    cat["event_id"], cat["depth_mm"], cat["duration_h"], cat["peak_60min_mm_h"],
                    strict=True,
                )
            ]  # fmt: skip
        return self._events

    # ------------------------------------------------------------------ the network
    def load_network(self) -> None:
        """Load the default network on the runner's thread (the map's base map)."""

        def load() -> None:
            from twin.run.runner import load_scenario_network

            try:
                net = load_scenario_network(NetworkConfig())
            except Exception as exc:  # the map then says why it has no base map
                logger.exception("Could not load the default network")
                self._network_error = str(exc) or type(exc).__name__
            else:
                self._network = net

        self.runner.call_soon(load)

    @property
    def network(self) -> RoadNetwork | None:
        """The default network, once loaded (``None`` before)."""
        return self._network

    @property
    def network_error(self) -> str | None:
        """Why the default network could not be loaded, if it could not."""
        return self._network_error

    def point_names(self, net: RoadNetwork) -> dict[str, str]:
        """Unique, readable low-point names of ``net`` by id (cached per network)."""
        with self._lock:
            cached = self._point_names.get(id(net))
        if cached is None:
            cached = point_names(net)
            with self._lock:
                self._point_names[id(net)] = cached
        return cached

    def base_traces(self, net: RoadNetwork, *, local: bool, city: bool) -> list[go.Scatter]:
        """The base map of ``net`` (cached per network and switches)."""
        key = (id(net), local, city)
        with self._lock:
            cached = self._base.get(key)
        if cached is None:
            cached = base_traces(net, local=local, city=city, names_by_id=self.point_names(net))
            with self._lock:
                self._base[key] = cached
        return cached

    def frames(self, job: Job) -> RunFrames | None:
        """The map frames of a finished run (cached per run)."""
        if job.result is None:
            return None
        with self._lock:
            cached = self._frames.get(job.id)
        if cached is None:
            net = job.result.network
            if net is None and job.scenario.network == NetworkConfig():
                net = self.network  # a run read from its folder, on the default network
            cached = RunFrames.of(job.result, net)
            with self._lock:
                self._frames[job.id] = cached
                for old in [k for k in self._frames if self.runner.get(k) is None]:
                    del self._frames[old]
        return cached

    def replay(
        self, job: Job, layers: set[str], *, net: RoadNetwork | None, n_base: int
    ) -> dict[str, Any] | None:
        """The frames of a finished run for the browser to replay (cached, newest few).

        :func:`dash_app.replay_compact.replay_payload` of the run with these layers; ``None``
        when the run is not finished or its replay is too large to send.
        """
        frames = self.frames(job)
        if job.result is None or frames is None:
            return None
        key = (job.id, frozenset(layers), id(net), n_base, self.max_replay_bytes)
        with self._lock:
            if key in self._replays:
                return self._replays[key]
        token = f"{job.id}|{','.join(sorted(layers))}|{n_base}"
        payload = replay_payload(
            job.result,
            frames,
            layers=layers,
            net=net,
            n_base=n_base,
            token=token,
            max_bytes=self.max_replay_bytes,
        )
        with self._lock:
            self._replays[key] = payload
            while len(self._replays) > 4:  # a few runs and layer switches
                del self._replays[next(iter(self._replays))]
        return payload

    def run_options(self) -> list[dict[str, Any]]:
        """Finished runs as dropdown options, newest first."""
        return [{"label": j.label, "value": j.id} for j in reversed(self.runner.finished_runs())]
