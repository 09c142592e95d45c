"""A watched folder of radar files (``radar.watch_dir``), polled every ``radar.watch_every``.

Each new ``*.nc`` file in the folder is ingested as ``POST /radar`` would (or as
``POST /nowcasts`` when it has a ``lead_time`` dimension), then moved:

- to ``ingested/`` when it was read (whatever each frame's outcome; files there older
  than ``radar.keep`` are deleted);
- to ``rejected/``, beside a ``<name>.rejected`` text file with the reason, when it was
  refused.

A file is taken once it has not changed for a second, so a producer should write it
under another name (``.part``, or a dot-file) and rename it into place, which is
atomic. Hidden files and other extensions are left alone. A crash between the store's
commit and the move ingests the file again after the restart, which changes nothing
(frames are idempotent by time).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

from twin.live.errors import LiveError
from twin.live.ingest import BatchError
from twin.live.radar_ingest import RadarIngest

__all__ = ["RadarWatcher", "is_nowcast_file"]

logger = logging.getLogger(__name__)

_SETTLED_S = 1.0


def is_nowcast_file(path: Path) -> bool:
    """Whether a NetCDF file holds a nowcast (a ``lead_time`` dimension)."""
    import xarray as xr

    try:
        with xr.open_dataset(path, decode_timedelta=False) as ds:
            return "lead_time" in ds.dims
    except (OSError, ValueError, RuntimeError):
        return False  # the frame reader says what is wrong


class RadarWatcher:
    """Poll a folder for radar files (see the module docstring).

    Parameters
    ----------
    folder
        The watched folder (created if missing, with ``ingested/`` and ``rejected/``).
    ingest
        Where the files go.
    every
        Polling period [s].
    keep
        How long ingested files stay in ``ingested/`` [s].
    """

    def __init__(self, folder: str | Path, ingest: RadarIngest, *, every: float, keep: float):
        self.folder = Path(folder)
        self.ingest = ingest
        self.every = float(every)
        self.keep = float(keep)
        self.done = self.folder / "ingested"
        self.rejected = self.folder / "rejected"
        try:
            for d in (self.folder, self.done, self.rejected):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LiveError(
                f"radar.watch_dir {self.folder}: cannot create the folder ({exc}); give a "
                "writable folder."
            ) from None

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            try:
                await asyncio.to_thread(self.scan)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("scanning %s failed; trying again", self.folder)
            await asyncio.sleep(self.every)

    def scan(self, *, now: float | None = None) -> list[tuple[str, str]]:
        """Ingest the settled files once; ``(name, "ingested" | "rejected")`` of each."""
        wall = time.time() if now is None else now
        out: list[tuple[str, str]] = []
        for path in sorted(self.folder.glob("*.nc")):
            if path.name.startswith(".") or not path.is_file():
                continue
            try:
                if wall - path.stat().st_mtime < _SETTLED_S:
                    continue  # still being written
                data = path.read_bytes()
            except OSError:
                continue  # moved away meanwhile
            out.append((path.name, self._one(path, data)))
        self._clean(wall)
        return out

    def _one(self, path: Path, data: bytes) -> str:
        counts = self.ingest.watch_counts
        try:
            if is_nowcast_file(path):
                self.ingest.nowcasts_file(data, path.name, via="watch")
            else:
                self.ingest.frames_file(data, path.name, via="watch")
        except BatchError as exc:
            logger.warning("radar file %s rejected: %s", path.name, exc)
            self.ingest.metrics.radar_refused.labels(str(exc.status)).inc()
            target = self.rejected / path.name
            (self.rejected / f"{path.name}.rejected").write_text(
                f"{exc}\n(HTTP {exc.status}; the file is in {target})\n", encoding="utf-8"
            )
            os.replace(path, target)
            counts["rejected"] += 1
            return "rejected"
        os.replace(path, self.done / path.name)
        os.utime(self.done / path.name)  # kept radar.keep from now
        counts["ingested"] += 1
        return "ingested"

    def _clean(self, wall: float) -> None:
        for old in self.done.glob("*.nc"):
            try:
                if wall - old.stat().st_mtime > self.keep:
                    old.unlink()
            except OSError:
                continue
