"""The radar part of the store: grids, frames and external nowcasts.

:class:`RadarTables` holds the SQL of the ``radar_grids``, ``radar_frames`` and
``nowcasts`` tables (:mod:`twin.live.schema`) that both back-ends share;
:class:`twin.live.store.Store` inherits it. Frames are keyed by their time: a frame sent
again changes nothing (``duplicate``), a different frame for a stored time is refused
(``conflict``: frames, like readings, are immutable). Each insert prunes, in the same
transaction, the frames and nowcasts older than the kept window, so an acknowledged
frame is on disk and the tables stay small.

The records returned are :class:`RadarGrid`, :class:`FrameRecord` and
:class:`NowcastRecord`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin._types import FloatArray
from twin.live.database import Database

__all__ = ["FrameRecord", "NowcastRecord", "RadarGrid", "RadarTables"]


@dataclass(frozen=True)
class RadarGrid:
    """A projected radar grid: CRS and cell-centre axes.

    Attributes
    ----------
    crs_wkt
        The grid's CRS as WKT.
    x, y
        Cell centres [m].
    id
        A digest of the three (equal grids, equal ids).
    """

    crs_wkt: str
    x: FloatArray
    y: FloatArray
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            h = hashlib.sha256(self.crs_wkt.encode("utf-8"))
            h.update(np.ascontiguousarray(self.x, dtype="<f8").tobytes())
            h.update(np.ascontiguousarray(self.y, dtype="<f8").tobytes())
            object.__setattr__(self, "id", h.hexdigest()[:16])

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``."""
        return int(self.y.size), int(self.x.size)

    def describe(self) -> dict[str, Any]:
        """JSON-able summary: CRS name and EPSG code, shape, cell [m], lon/lat bounds."""
        from pyproj import CRS, Transformer

        crs = CRS.from_wkt(self.crs_wkt)
        to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        xs = [float(self.x[0]), float(self.x[-1])]
        ys = [float(self.y[0]), float(self.y[-1])]
        lon, lat = to_ll.transform([xs[0], xs[1], xs[0], xs[1]], [ys[0], ys[0], ys[1], ys[1]])
        return {
            "id": self.id,
            "crs": crs.name,
            "epsg": crs.to_epsg(),
            "shape": list(self.shape),
            "cell_m": round(abs(float(self.x[1] - self.x[0])), 3),
            "lon": [round(float(min(lon)), 5), round(float(max(lon)), 5)],
            "lat": [round(float(min(lat)), 5), round(float(max(lat)), 5)],
        }


@dataclass(frozen=True)
class FrameRecord:
    """A stored frame without its values.

    Attributes
    ----------
    t_ms
        Label: start of the interval [ms since the epoch].
    grid
        Id of its :class:`RadarGrid`.
    interval_s
        Its interval [s].
    received_ms
        When it was stored [ms].
    source
        Provenance (file attributes, file name, ``via``).
    """

    t_ms: int
    grid: str
    interval_s: float
    received_ms: int
    source: dict[str, str]


@dataclass(frozen=True)
class NowcastRecord:
    """A stored external nowcast at the low points.

    Attributes
    ----------
    issue_ms
        Issue time [ms].
    step_s
        Lead step [s].
    members, leads
        Its shape with ``points``.
    points
        The low-point ids of the last axis.
    data
        Packed values (:func:`twin.live.radar_files.unpack_field`), or empty bytes when
        only the metadata was asked for.
    grid
        Summary of the product's grid.
    received_ms
        When it was stored [ms].
    source
        Provenance.
    """

    issue_ms: int
    step_s: float
    members: int
    leads: int
    points: list[str]
    data: bytes
    grid: dict[str, Any]
    received_ms: int
    source: dict[str, str]


def _frame(row: Sequence[Any]) -> FrameRecord:
    return FrameRecord(int(row[0]), str(row[1]), float(row[2]), int(row[3]), json.loads(row[4]))


def _nowcast(row: Sequence[Any], data: bytes = b"") -> NowcastRecord:
    return NowcastRecord(
        issue_ms=int(row[0]),
        step_s=float(row[1]),
        members=int(row[2]),
        leads=int(row[3]),
        points=list(json.loads(row[4])),
        data=data,
        grid=dict(json.loads(row[5])),
        received_ms=int(row[6]),
        source=dict(json.loads(row[7])),
    )


_NOWCAST_META = "issue_ms, step_s, members, leads, points, grid, received, source"


class RadarTables(Database):
    """SQL of the radar tables (see the module docstring); blocking and thread-safe."""

    def _prune(self, conn: Any, cutoff_ms: int) -> int:
        cur = conn.execute(self._q("DELETE FROM radar_frames WHERE t < ?"), (cutoff_ms,))
        n = max(0, int(cur.rowcount))
        cur = conn.execute(self._q("DELETE FROM nowcasts WHERE issue_ms < ?"), (cutoff_ms,))
        n += max(0, int(cur.rowcount))
        conn.execute(
            "DELETE FROM radar_grids WHERE id NOT IN (SELECT DISTINCT grid FROM radar_frames)"
        )
        return n

    def _cutoff(self, conn: Any, newest_ms: int, keep_ms: int, hold_ms: int | None) -> int:
        row = conn.execute("SELECT MAX(t) FROM radar_frames").fetchone()
        newest = max(newest_ms, int(row[0])) if row and row[0] is not None else newest_ms
        held = min(newest, hold_ms if hold_ms is not None else newest) - keep_ms
        return max(newest - 2 * keep_ms, held)  # an idle forecast holds at most 2 windows

    def insert_frames(
        self,
        grid: RadarGrid,
        frames: Sequence[tuple[int, bytes]],
        *,
        interval_s: float,
        source: dict[str, str],
        received_ms: int,
        keep_ms: int,
        hold_ms: int | None = None,
    ) -> tuple[list[str], int]:
        """Store frames on a grid in one transaction and prune the old ones.

        Parameters
        ----------
        grid
            Their grid.
        frames
            ``(time [ms], packed values)`` of each frame.
        interval_s
            Their interval [s].
        source
            Provenance (stored as JSON).
        received_ms
            Now [ms].
        keep_ms
            The window kept back from the newest frame [ms].
        hold_ms
            Keep also the window back from this time (the next issue time, so that a
            forecast catching up finds its frames) [ms]; at most ``2 · keep_ms`` back
            from the newest frame is kept in all.

        Returns
        -------
        (list of str, int)
            The outcome of each frame (``stored``, ``duplicate``, ``conflict`` or
            ``expired``: older than the window) and the rows pruned.
        """
        out: list[str] = []
        src = json.dumps(source, ensure_ascii=False)
        newest = max(t for t, _ in frames) if frames else 0
        with self._tx() as conn:
            cutoff = self._cutoff(conn, newest, keep_ms, hold_ms)
            conn.execute(
                self._q(
                    "INSERT INTO radar_grids (id, crs, x, y) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (id) DO NOTHING"
                ),
                (
                    grid.id,
                    grid.crs_wkt,
                    np.ascontiguousarray(grid.x, dtype="<f8").tobytes(),
                    np.ascontiguousarray(grid.y, dtype="<f8").tobytes(),
                ),
            )
            for t, data in frames:
                if t < cutoff:
                    out.append("expired")
                    continue
                row = conn.execute(
                    self._q(
                        "INSERT INTO radar_frames (t, grid, interval_s, data, received, source) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (t) DO NOTHING RETURNING t"
                    ),
                    (int(t), grid.id, float(interval_s), data, received_ms, src),
                ).fetchone()
                if row is not None:
                    out.append("stored")
                    continue
                old = conn.execute(
                    self._q("SELECT grid, data FROM radar_frames WHERE t = ?"), (int(t),)
                ).fetchone()
                same = str(old[0]) == grid.id and bytes(old[1]) == bytes(data)
                out.append("duplicate" if same else "conflict")
            pruned = self._prune(conn, cutoff)
        return out, pruned

    def frame_records(self, start_ms: int = -(2**62), end_ms: int = 2**62) -> list[FrameRecord]:
        """Frames with ``start_ms <= t <= end_ms`` (without values), by time."""
        rows = self._all(
            "SELECT t, grid, interval_s, received, source FROM radar_frames "
            "WHERE t >= ? AND t <= ? ORDER BY t",
            (int(start_ms), int(end_ms)),
        )
        return [_frame(r) for r in rows]

    def frame_data(self, grid: str, times_ms: Sequence[int]) -> dict[int, bytes]:
        """Packed values of the frames at some times on a grid (those stored)."""
        if not times_ms:
            return {}
        marks = ", ".join("?" * len(times_ms))
        rows = self._all(
            f"SELECT t, data FROM radar_frames WHERE grid = ? AND t IN ({marks})",
            [grid, *[int(t) for t in times_ms]],
        )
        return {int(r[0]): bytes(r[1]) for r in rows}

    def radar_grid(self, grid_id: str) -> RadarGrid | None:
        """A stored grid by id."""
        row = self._one("SELECT id, crs, x, y FROM radar_grids WHERE id = ?", (grid_id,))
        if row is None:
            return None
        x = np.frombuffer(bytes(row[2]), dtype="<f8").astype(np.float64)
        y = np.frombuffer(bytes(row[3]), dtype="<f8").astype(np.float64)
        return RadarGrid(str(row[1]), x, y, str(row[0]))

    def count_frames(self) -> int:
        """Number of stored frames."""
        row = self._one("SELECT COUNT(*) FROM radar_frames")
        return int(row[0])

    def put_nowcast(
        self,
        issue_ms: int,
        *,
        step_s: float,
        shape: tuple[int, int],
        points: Sequence[str],
        data: bytes,
        grid: dict[str, Any],
        source: dict[str, str],
        received_ms: int,
        keep_ms: int,
        hold_ms: int | None = None,
    ) -> tuple[str, int]:
        """Store an external nowcast (replacing one of the same issue time); prune.

        Returns
        -------
        (str, int)
            ``stored``, ``replaced`` or ``expired``, and the rows pruned.
        """
        with self._tx() as conn:
            cutoff = self._cutoff(conn, issue_ms, keep_ms, hold_ms)
            if issue_ms < cutoff:
                return "expired", self._prune(conn, cutoff)
            old = conn.execute(
                self._q("SELECT 1 FROM nowcasts WHERE issue_ms = ?"), (issue_ms,)
            ).fetchone()
            conn.execute(
                self._q(
                    "INSERT INTO nowcasts (issue_ms, step_s, members, leads, points, data, grid, "
                    "received, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (issue_ms) "
                    "DO UPDATE SET step_s = excluded.step_s, members = excluded.members, "
                    "leads = excluded.leads, points = excluded.points, data = excluded.data, "
                    "grid = excluded.grid, received = excluded.received, source = excluded.source"
                ),
                (
                    int(issue_ms),
                    float(step_s),
                    int(shape[0]),
                    int(shape[1]),
                    json.dumps(list(points)),
                    data,
                    json.dumps(grid),
                    received_ms,
                    json.dumps(source, ensure_ascii=False),
                ),
            )
            pruned = self._prune(conn, cutoff)
        return ("replaced" if old is not None else "stored"), pruned

    def nowcast_records(self) -> list[NowcastRecord]:
        """Stored external nowcasts (without values), by issue time."""
        rows = self._all(f"SELECT {_NOWCAST_META} FROM nowcasts ORDER BY issue_ms")
        return [_nowcast(r) for r in rows]

    def latest_nowcast(self, at_ms: int) -> NowcastRecord | None:
        """The external nowcast issued last at or before ``at_ms``, with its values."""
        row = self._one(
            f"SELECT {_NOWCAST_META}, data FROM nowcasts WHERE issue_ms <= ? "
            "ORDER BY issue_ms DESC LIMIT 1",
            (int(at_ms),),
        )
        return None if row is None else _nowcast(row[:8], bytes(row[8]))
