"""The future rain of each issue time: a radar nowcast at the low points, or persistence.

With ``radar.enabled``, at issue time ``b`` (:mod:`twin.live.engine`):

- a **pysteps method** (``extrapolation``, ``sprog``, ``linda``, ``eulerian``, ``steps``): the
  newest stored frame whose interval has ended by ``b`` is found; it must have ended at
  most ``radar.max_lag`` before ``b``, and the frames before it that the method needs
  (2, or 3 for S-PROG, LINDA and STEPS) must be stored on the same grid. The nowcast is
  issued at the end of that frame (:func:`twin.hydro.radar.nowcast.nowcast`, cells
  advected in from outside the grid dry), sampled at the low points
  (:func:`~twin.hydro.radar.nowcast.nowcast_at_points`) and averaged to the
  forecasters' 5-minute leads from ``b`` on (:func:`twin.forecast.radar_rain.to_step`,
  offset by the lag, as :func:`twin.forecast.radar_rain.nowcast_rain_at_points` does);
  a STEPS ensemble gives its mean (point forecasters take one series); with
  ``radar.displacement`` a deterministic nowcast also gives ``radar.members`` members
  read at displaced points (:func:`twin.forecast.radar_rain.displaced_at_points`) for
  the physics ensemble, and point forecasters take the nowcast itself;
- ``external``: the latest external nowcast issued at most ``radar.max_lag`` before
  ``b`` (``POST /nowcasts``, stored at the low points), offset the same way.

Otherwise (radar off, no recent frames, a gap, a failed nowcast) the future rain is the
gauge persistence of :func:`twin.forecast.nowcast.future_rain`, and the reason is
recorded with the forecast (``rain.fallback``). The source used is named in the
forecast (``rain_source``) and in every alert (CAP parameter ``rain_source``).

A nowcast is computed once per newest frame (the issue times that share it, when frames
lag, reuse it with a longer offset).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin._types import FloatArray
from twin.alerts import AlertPoints
from twin.forecast.nowcast import rain_source_label
from twin.forecast.radar_rain import to_step
from twin.live.config import LiveConfig
from twin.live.ingest import iso_ms
from twin.live.radar_files import unpack_field
from twin.live.radar_store import FrameRecord
from twin.live.store import Store

__all__ = ["FutureRain", "RadarRain", "external_label"]

logger = logging.getLogger(__name__)

_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")


def external_label(source: dict[str, str] | None = None) -> str:
    """One line naming an external nowcast product."""
    what = (source or {}).get("source") or (source or {}).get("institution") or ""
    return "external nowcast product" + (f" ({what[:120]})" if what else "")


@dataclass(frozen=True)
class FutureRain:
    """The future rain of one issue time.

    Attributes
    ----------
    values
        Rain at the low points over the next steps [mm/h], shape ``(n_points,
        horizon)``; None: use the gauge persistence.
    source
        The rain source: ``persistence``, a pysteps method or ``external``.
    label
        One line describing it.
    info
        JSON-able details (the nowcast's issue time, method, frames, lag; or why the
        radar was not used: ``fallback``).
    members
        The nowcast's members at the points [mm/h], ``(members, horizon, n_points)``
        (one for a deterministic nowcast without displacement); None with ``values``.
        ``values`` is their mean, or member 0 (the nowcast itself) for displaced members.
    """

    values: FloatArray | None
    source: str
    label: str
    info: dict[str, Any] = field(default_factory=dict)
    members: FloatArray | None = None


class RadarRain:
    """Radar nowcast rain at the low points, issue time by issue time.

    Parameters
    ----------
    config
        The service config (``radar``).
    store
        Where frames and external nowcasts are.
    points
        The low points (ids, lon, lat).
    horizon
        Lead steps of the forecaster.
    step_s
        Its step [s].
    """

    def __init__(
        self,
        config: LiveConfig,
        store: Store,
        points: AlertPoints,
        horizon: int,
        *,
        step_s: float = 300.0,
    ) -> None:
        self.config = config
        self.store = store
        self.ids = [str(p) for p in points.ids.tolist()]
        self.lon = np.asarray(points.lon, dtype=float)
        self.lat = np.asarray(points.lat, dtype=float)
        self.horizon = int(horizon)
        self.step_s = float(step_s)
        self.zone = config.zone
        self._cache: tuple[tuple[Any, ...], FloatArray] | None = None
        self._sampled: dict[tuple[str, int], FloatArray] = {}

    def _fallback(self, reason: str | None) -> FutureRain:
        info: dict[str, Any] = {"radar_enabled": self.config.radar.enabled}
        if reason is not None:
            info |= {"fallback": reason, "radar_method": self.config.radar.method}
        return FutureRain(None, "persistence", rain_source_label("persistence"), info)

    def at(self, b_ms: int) -> FutureRain:
        """The future rain of issue time ``b_ms`` [ms] (see the module docstring)."""
        rc = self.config.radar
        if not rc.enabled:
            return self._fallback(None)
        try:
            if rc.method == "external":
                return self._external(b_ms)
            return self._pysteps(b_ms)
        except Exception as exc:  # a failed nowcast must not stop the forecasts
            logger.exception("radar nowcast at %s failed; gauge persistence instead", b_ms)
            return self._fallback(f"the {rc.method} nowcast failed: {type(exc).__name__}: {exc}")

    # ------------------------------------------------------------------ past rain
    def past(self, b_ms: int, steps: int) -> FloatArray:
        """The radar rain at the points over the ``steps`` steps ending at ``b_ms``.

        Rates [mm/h], ``(steps, n_points)``, from the stored frames of one grid and
        interval that end by ``b_ms`` (depth conserved across steps and frames of other
        lengths); NaN for a step no run of consecutive frames covers (no frames, radar
        off, a gap): the caller takes the gauges there.
        """
        out = np.full((steps, len(self.ids)), np.nan)
        start = b_ms - steps * round(self.step_s * 1000)
        if not self.config.radar.enabled:
            return out
        recs = [r for r in self.store.frame_records(start - 3_600_000, b_ms)
                if r.t_ms + round(r.interval_s * 1000) <= b_ms]  # fmt: skip
        if not recs:
            return out
        last = recs[-1]
        step_ms = round(last.interval_s * 1000)
        same = {r.t_ms for r in recs if r.grid == last.grid and r.interval_s == last.interval_s}
        run = [last.t_ms]
        while run[-1] > start and run[-1] - step_ms in same:
            run.append(run[-1] - step_ms)
        run.reverse()
        try:
            values = self._sample(last, run)
        except Exception:  # a frame that cannot be read: the gauges instead
            logger.exception("radar rain at the points over the last steps failed")
            return out
        edges = np.asarray([*run, run[-1] + step_ms], dtype=np.float64)
        cum = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
        cum *= last.interval_s / 3600.0  # depth [mm] at each edge
        s_ms = start + np.arange(steps + 1) * self.step_s * 1000.0
        at = np.stack([np.interp(s_ms, edges, cum[:, j]) for j in range(cum.shape[1])], axis=1)
        rate = np.diff(at, axis=0) / (self.step_s / 3600.0)
        ok = (s_ms[:-1] >= edges[0]) & (s_ms[1:] <= edges[-1])
        out[ok] = rate[ok]
        return out

    def _sample(self, last: FrameRecord, times: list[int]) -> FloatArray:
        """Frames' rain at the points ``(len(times), n_points)`` [mm/h], cached per frame."""
        want = [t for t in times if (last.grid, t) not in self._sampled]
        if want:
            from pyproj import CRS

            from twin.hydro.radar.array import radar_array
            from twin.hydro.radar.transpose import radar_at_points

            grid = self.store.radar_grid(last.grid)
            data = self.store.frame_data(last.grid, want)
            if grid is None or len(data) < len(want):
                raise LookupError("the frames were pruned while they were read")
            vals = np.stack([unpack_field(data[t], grid.shape) for t in want])
            tt = _EPOCH + np.asarray(want, dtype=np.int64).astype("timedelta64[ms]")
            arr = radar_array(vals, tt, grid.x, grid.y, CRS.from_wkt(grid.crs_wkt),
                              interval_s=last.interval_s)  # fmt: skip
            at = np.nan_to_num(np.asarray(radar_at_points(arr, self.lon, self.lat).values))
            for k, t in enumerate(want):
                self._sampled[(last.grid, t)] = at[k]
            while len(self._sampled) > 256:  # oldest first (insertion order)
                self._sampled.pop(next(iter(self._sampled)))
        return np.stack([self._sampled[(last.grid, t)] for t in times])

    # ------------------------------------------------------------------ pysteps
    def _pysteps(self, b_ms: int) -> FutureRain:
        rc = self.config.radar
        method = rc.method
        from twin.hydro.radar.nowcast import THREE_FRAMES

        need = 3 if method in THREE_FRAMES else 2
        lag_max = round(rc.max_lag * 1000)
        span = round((need + 1) * rc.interval * 1000) + lag_max
        recs = [
            r
            for r in self.store.frame_records(b_ms - span, b_ms)
            if r.t_ms + round(r.interval_s * 1000) <= b_ms
        ]
        if not recs:
            return self._fallback(
                f"no radar frame ended in the {rc.max_lag / 60:g} min (radar.max_lag) before "
                "the issue time"
            )
        last = recs[-1]
        step_ms = round(last.interval_s * 1000)
        end = last.t_ms + step_ms
        if b_ms - end > lag_max:
            return self._fallback(
                f"no radar frame ended in the {rc.max_lag / 60:g} min (radar.max_lag) before "
                f"the issue time (the last ended at {iso_ms(end, self.zone)})"
            )
        wanted = [last.t_ms - k * step_ms for k in range(need - 1, -1, -1)]
        same = {r.t_ms: r for r in recs if r.grid == last.grid and r.interval_s == last.interval_s}
        missing = [t for t in wanted if t not in same]
        if missing:
            return self._fallback(
                f"the {method} nowcast needs {need} consecutive frames on one grid; missing "
                + ", ".join(iso_ms(t, self.zone) for t in missing)
            )
        key = (last.grid, tuple(wanted), method, rc.members, rc.seed, rc.displacement)
        if self._cache is not None and self._cache[0] == key:
            at = self._cache[1]
        else:
            at = self._nowcast(last, wanted, end)
            self._cache = (key, at)
        lag_s = (b_ms - end) / 1000.0
        fut = to_step(at, last.interval_s, self.step_s, self.horizon, offset_s=lag_s)
        info = {
            "radar_enabled": True,
            "method": method,
            "nowcast_issue_time": iso_ms(end, self.zone),
            "lag_min": round(lag_s / 60.0, 3),
            "frames": [iso_ms(t, self.zone) for t in wanted],
            "grid": last.grid,
            "members": int(at.shape[0]),
            "radar_source": last.source.get("source") or last.source.get("file", ""),
        }
        displaced = self._displaced(method)
        if displaced:
            info["displacement_m_s"] = rc.displacement
        # Point forecasters take one series: the STEPS mean, or the nowcast itself (member
        # 0 of a displaced nowcast is the undisplaced one).
        point = fut[0] if displaced else fut.mean(axis=0)
        return FutureRain(point.T.copy(), method, rain_source_label(method), info, members=fut)

    def _displaced(self, method: str) -> bool:
        """Whether the nowcast's members are displacements (``radar.displacement``)."""
        return self.config.radar.displacement > 0.0 and method in (
            "eulerian", "extrapolation", "sprog", "linda"
        )  # fmt: skip

    def _nowcast(self, last: FrameRecord, wanted: list[int], end_ms: int) -> FloatArray:
        """The nowcast at the points, ``(member, lead, point)`` [mm/h]."""
        from pyproj import CRS

        from twin.hydro.radar.array import radar_array
        from twin.hydro.radar.nowcast import nowcast, nowcast_at_points

        rc = self.config.radar
        grid = self.store.radar_grid(last.grid)
        data = self.store.frame_data(last.grid, wanted)
        if grid is None or len(data) < len(wanted):
            raise LookupError("the frames were pruned while the nowcast was made")
        values = np.stack([unpack_field(data[t], grid.shape) for t in wanted])
        times = _EPOCH + np.asarray(wanted, dtype=np.int64).astype("timedelta64[ms]")
        radar = radar_array(
            values,
            times,
            grid.x,
            grid.y,
            CRS.from_wkt(grid.crs_wkt),
            interval_s=last.interval_s,
            attrs={k: v for k, v in last.source.items() if k in ("source", "institution")},
        )
        issue = _EPOCH + np.timedelta64(end_ms, "ms")
        lead_max_min = (self.horizon * self.step_s + rc.max_lag) / 60.0
        seed = rc.seed + (end_ms // round(last.interval_s * 1000)) % 1_000_000
        with warnings.catch_warnings():  # LK's outlier check on a few wet cells: harmless
            warnings.filterwarnings("ignore", "Singular matrix", UserWarning)
            nc = nowcast(
                radar,
                issue,
                method=rc.method,
                lead_max_min=lead_max_min,
                n_past=len(wanted),
                n_members=rc.members,
                seed=int(seed),
                outside=0.0,
            )
        if self._displaced(rc.method):
            from twin.forecast.radar_rain import displaced_at_points

            return displaced_at_points(
                nc, self.lon, self.lat, members=rc.members, speed_sd_m_s=rc.displacement,
                rng=np.random.default_rng(int(seed)),
            )  # fmt: skip
        at = nowcast_at_points(nc, self.lon, self.lat).transpose("member", "lead_time", "point")
        return np.asarray(at.values, dtype=np.float64)

    # ------------------------------------------------------------------ external
    def _external(self, b_ms: int) -> FutureRain:
        rc = self.config.radar
        rec = self.store.latest_nowcast(b_ms)
        lag_ms = None if rec is None else b_ms - rec.issue_ms
        if rec is None or lag_ms is None or lag_ms > rc.max_lag * 1000:
            return self._fallback(
                f"no external nowcast issued in the {rc.max_lag / 60:g} min (radar.max_lag) "
                "before the issue time"
            )
        pos = {p: i for i, p in enumerate(rec.points)}
        if any(p not in pos for p in self.ids):
            return self._fallback(
                "the external nowcast was sampled at other low points (the config changed); "
                "send it again"
            )
        vals = unpack_field(rec.data, (rec.members, rec.leads, len(rec.points)))
        vals = vals[:, :, [pos[p] for p in self.ids]]
        fut = to_step(vals, rec.step_s, self.step_s, self.horizon, offset_s=lag_ms / 1000.0)
        info = {
            "radar_enabled": True,
            "method": "external",
            "nowcast_issue_time": iso_ms(rec.issue_ms, self.zone),
            "lag_min": round(lag_ms / 60000.0, 3),
            "members": rec.members,
            "grid": rec.grid.get("id", ""),
            "radar_source": rec.source.get("source") or rec.source.get("file", ""),
        }
        return FutureRain(
            fut.mean(axis=0).T.copy(), "external", external_label(rec.source), info, members=fut
        )
