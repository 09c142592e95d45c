"""A catalogue of transposed radar storms over the district, to draw heavy storms from.

A storm here is one shipped radar event (:mod:`.events`) placed over the district at one
window position (an offset on a grid of offsets, :mod:`.transpose`) from one start time,
for a fixed duration (2 h by default). Each is scored by what it puts on the district:

``depth_mm``
    areal-mean rain depth over the district in the duration [mm];
``peak_mm_h``
    the largest areal-mean rate over the district in one radar step [mm/h];
``cell_peak_mm_h``
    the largest rate in any cell touching the district [mm/h].

Scores are computed at once for every position and start (sub-samples of the district's
cells gathered from the radar field for every offset, then moving-window sums of the
cumulative areal depth over time), and equal exactly what :func:`transpose_radar`
followed by :func:`district_rain` gives for the same placement. Positions that put a
district cell outside the radar's grid or reach at any time of the window are left out.

Windows of one event overlap in space and time, so they are far from independent
samples: split training, validation and test **by event** (the ``split`` column, one
split per event), never inside one. An event shorter than the duration (MRMS:
72 minutes) contributes windows over its whole span, marked ``complete = False``.

References
----------
Wright, D. B., Smith, J. A. and Baeck, M. L. (2014). Flood frequency analysis using
radar rainfall fields and stochastic storm transposition. *Water Resour. Res.* 50,
1592–1615.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from twin._types import FloatArray
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.grid import nearest_cells
from twin.hydro.radar.transpose import (
    Anchor,
    Placement,
    TargetGrid,
    anchor_point,
    source_points,
    target_grid,
    transpose_radar,
)

__all__ = [
    "CATALOGUE_COLUMNS",
    "DEFAULT_OFFSETS_KM",
    "DEFAULT_SPLITS",
    "RadarCatalogue",
    "storm_catalogue",
]

logger = logging.getLogger(__name__)

#: Offsets of window positions along each axis [km].
DEFAULT_OFFSETS_KM: tuple[float, ...] = tuple(float(v) for v in range(-60, 61, 10))
#: Split of each shipped event (by event, never inside one).
DEFAULT_SPLITS: dict[str, str] = {
    "knmi-20100826": "train",
    "fmi-20170509": "train",
    "mrms-20190610": "validation",
    "fmi-20160928": "test",
}
CATALOGUE_COLUMNS = (
    "storm_id", "event", "split", "institution", "origin", "dx_km", "dy_km", "rotation_deg",
    "anchor", "start", "end", "duration_min", "complete", "depth_mm", "peak_mm_h",
    "cell_peak_mm_h",
)  # fmt: skip


def _scores(
    radar: xr.DataArray,
    grid: TargetGrid,
    offsets: FloatArray,
    rotation_deg: float,
    anchor: Anchor,
) -> tuple[FloatArray, FloatArray]:
    """Areal-mean rate and cell peak over the district per (time, offset) [mm/h]."""
    rows, cols = np.nonzero(grid.district > 0)
    w = grid.district[rows, cols]
    base = Placement(0.0, 0.0, rotation_deg, anchor)
    a = anchor_point(radar, base)
    x = np.asarray(radar["x"].values, dtype=float)
    y = np.asarray(radar["y"].values, dtype=float)
    index = np.empty((offsets.shape[0], rows.size, 0), dtype=np.int64)
    parts = []
    for dx, dy in offsets:
        pl = Placement(float(dx), float(dy), rotation_deg, anchor)
        sx, sy = source_points(radar, grid, pl, cells=(rows, cols), anchor_xy=a)
        parts.append(nearest_cells(sx, sy, x, y))
    index = np.stack(parts)  # (offset, cell, sub-sample)
    values = np.asarray(radar.transpose("time", "y", "x").values, dtype=np.float32)
    flat = values.reshape(values.shape[0], -1)
    outside = index < 0
    safe = np.where(outside, 0, index)
    n_t = values.shape[0]
    mean = np.empty((n_t, offsets.shape[0]))
    peak = np.empty((n_t, offsets.shape[0]))
    for t0 in range(0, n_t, 8):
        block = flat[t0 : t0 + 8][:, safe]  # (t, offset, cell, sub)
        block[:, outside] = np.nan
        cell = block.mean(axis=-1, dtype=np.float64)
        mean[t0 : t0 + 8] = (cell * w).sum(axis=-1) / w.sum()
        peak[t0 : t0 + 8] = cell.max(axis=-1)
    return mean, peak


@dataclass(frozen=True)
class RadarCatalogue:
    """Transposed radar storms over a district, scored (see the module docstring).

    Attributes
    ----------
    table
        One row per storm, columns :data:`CATALOGUE_COLUMNS`, heaviest first.
    district
        The district's name.
    size_km, cell_m
        The target grid the storms were scored on [km, m].
    """

    table: pd.DataFrame
    district: str
    size_km: float
    cell_m: float

    def __len__(self) -> int:
        return len(self.table)

    def select(self, split: str | Sequence[str]) -> RadarCatalogue:
        """The storms of one split (``"train"``, ``"validation"``, ``"test"``) or several."""
        names = [split] if isinstance(split, str) else list(split)
        unknown = set(names) - set(self.table["split"])
        if unknown:
            raise RadarError(f"split(s) {sorted(unknown)} not in the catalogue "
                             f"(has {sorted(set(self.table['split']))}).")  # fmt: skip
        table = self.table[self.table["split"].isin(names)].reset_index(drop=True)
        return RadarCatalogue(table, self.district, self.size_km, self.cell_m)

    def heaviest(
        self, n: int = 10, *, split: str | None = None, by: str = "depth_mm"
    ) -> pd.DataFrame:
        """The ``n`` storms with the most rain on the district.

        Parameters
        ----------
        n
            How many.
        split
            Only this split.
        by
            ``depth_mm``, ``peak_mm_h`` or ``cell_peak_mm_h``.
        """
        if by not in ("depth_mm", "peak_mm_h", "cell_peak_mm_h"):
            raise RadarError(f"by={by!r}: choose depth_mm, peak_mm_h or cell_peak_mm_h.")
        table = self.select(split).table if split else self.table
        return table.sort_values([by, "storm_id"], ascending=[False, True]).head(n)

    def draw(
        self,
        rng: np.random.Generator | int,
        n: int = 1,
        *,
        split: str | None = None,
        weight: str | None = "depth_mm",
        min_depth_mm: float = 0.0,
        replace: bool = False,
    ) -> pd.DataFrame:
        """Draw storms at random, by default in proportion to their depth.

        Parameters
        ----------
        rng
            A numpy Generator or a seed.
        n
            How many.
        split
            Only this split.
        weight
            Column the chance is proportional to (``None``: all alike).
        min_depth_mm
            Leave out storms with less depth [mm].
        replace
            Draw with replacement.
        """
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        table = self.select(split).table if split else self.table
        table = table[table["depth_mm"] >= min_depth_mm]
        if table.empty or (n > len(table) and not replace):
            raise RadarError(
                f"cannot draw {n} storm(s) from {len(table)} (split {split}, depth ≥ "
                f"{min_depth_mm} mm); lower min_depth_mm or allow replace."
            )
        p = None
        if weight is not None:
            w = table[weight].to_numpy(dtype=float)
            if not w.sum() > 0:
                raise RadarError(f"no storm has a positive {weight}; use weight=None.")
            p = w / w.sum()
        pick = gen.choice(len(table), size=n, replace=replace, p=p)
        return table.iloc[pick]

    def storm(
        self,
        row: pd.Series | str,
        *,
        target: Any = None,
        radar: xr.DataArray | None = None,
        size_km: float | None = None,
        cell_m: float | None = None,
        pad_before_min: float = 0.0,
    ) -> xr.DataArray:
        """The transposed rain of one storm over its window (and before, if asked).

        Parameters
        ----------
        row
            A row of :attr:`table` or a ``storm_id``.
        target
            The district (default Gongshu; give the one the catalogue was built for).
        radar
            The event's radar (default: the shipped event).
        size_km, cell_m
            The target grid (default: the catalogue's).
        pad_before_min
            Also keep this much radar before the start (e.g. for nowcasts) [min].

        Returns
        -------
        xarray.DataArray
            ``rain_rate`` [mm/h], dims ``(time, y, x)``, over ``[start - pad, end)``.
        """
        from twin.hydro.radar.events import load_event

        if isinstance(row, str):
            hit = self.table[self.table["storm_id"] == row]
            if hit.empty:
                raise RadarError(f"no storm {row!r} in the catalogue.")
            row = hit.iloc[0]
        radar = radar if radar is not None else load_event(str(row["event"]))
        rain = transpose_radar(
            radar,
            target,
            dx_km=float(row["dx_km"]),
            dy_km=float(row["dy_km"]),
            rotation_deg=float(row["rotation_deg"]),
            anchor=row["anchor"],
            size_km=size_km or self.size_km,
            cell_m=cell_m or self.cell_m,
        )
        start = pd.Timestamp(row["start"]) - pd.Timedelta(minutes=pad_before_min)
        end = pd.Timestamp(row["end"]) - pd.Timedelta(seconds=1)
        out = rain.sel(time=slice(start, end))
        out.attrs["storm_id"] = str(row["storm_id"])
        return out


def storm_catalogue(
    events: Sequence[str] | Mapping[str, xr.DataArray] | None = None,
    *,
    target: Any = None,
    offsets_km: Sequence[float] = DEFAULT_OFFSETS_KM,
    rotation_deg: float = 0.0,
    anchor: Anchor = "crop",
    duration_min: float = 120.0,
    start_every: int = 1,
    splits: Mapping[str, str] | None = None,
    size_km: float = 128.0,
    cell_m: float = 1000.0,
) -> RadarCatalogue:
    """Enumerate and score transposed storms: event × window position × start time.

    Parameters
    ----------
    events
        Shipped event names (default all), or a mapping name → radar array.
    target
        The district (see :func:`twin.hydro.radar.transpose.as_district`; default
        Gongshu).
    offsets_km
        Offsets along each axis [km]: positions are their grid (13 × 13 by default,
        -60 to 60 km every 10 km).
    rotation_deg, anchor
        The placement's rotation [deg] and anchor (see :class:`Placement`).
    duration_min
        The window over which a storm is scored [min].
    start_every
        Start a window every this many radar steps.
    splits
        Event → split (default :data:`DEFAULT_SPLITS`; other events ``"train"``).
    size_km, cell_m
        The target grid (for :meth:`RadarCatalogue.storm`) [km, m].

    Returns
    -------
    RadarCatalogue
        The storms, heaviest first.
    """
    from twin.hydro.radar.events import EVENT_NAMES, EVENTS, load_event

    if isinstance(events, Mapping):
        radars = dict(events)
    else:
        radars = {name: load_event(name) for name in (events or EVENT_NAMES)}
    if start_every < 1 or not duration_min > 0:
        raise RadarError("start_every must be ≥ 1 and duration_min positive.")
    split_of = dict(DEFAULT_SPLITS if splits is None else splits)
    grid = target_grid(target, size_km=size_km, cell_m=cell_m)
    off = np.array([(dx, dy) for dy in offsets_km for dx in offsets_km], dtype=float)
    frames = []
    for name, radar in radars.items():
        step_s = float(radar.attrs["interval_s"])
        mean, peak = _scores(radar, grid, off, rotation_deg, anchor)
        n_t = mean.shape[0]
        n = max(1, round(duration_min * 60.0 / step_s))
        complete = n <= n_t
        n = min(n, n_t)
        starts = np.arange(0, n_t - n + 1, start_every)
        cum = np.concatenate([np.zeros((1, off.shape[0])), np.cumsum(mean, axis=0)])
        depth = (cum[starts + n] - cum[starts]) * step_s / 3600.0
        win_peak = np.lib.stride_tricks.sliding_window_view(mean, n, axis=0).max(axis=-1)
        win_cell = np.lib.stride_tricks.sliding_window_view(peak, n, axis=0).max(axis=-1)
        t = pd.DatetimeIndex(radar["time"].values)
        s_grid, o_grid = np.meshgrid(starts, np.arange(off.shape[0]), indexing="ij")
        s_idx, o_idx = s_grid.ravel(), o_grid.ravel()
        start = t[s_idx]
        ok = np.isfinite(depth.ravel())
        if (~ok).any():
            logger.info("%s: %d of %d windows leave the radar's reach and are left out",
                        name, int((~ok).sum()), ok.size)  # fmt: skip
        ev = EVENTS.get(name)
        frame = pd.DataFrame(
            {
                "event": name,
                "split": split_of.get(name, "train"),
                "institution": ev.institution if ev else str(radar.attrs.get("institution", "")),
                "origin": ev.origin if ev else str(radar.attrs.get("origin", "")),
                "dx_km": off[o_idx, 0],
                "dy_km": off[o_idx, 1],
                "rotation_deg": float(rotation_deg),
                "anchor": anchor,
                "start": start,
                "end": start + pd.Timedelta(seconds=n * step_s),
                "duration_min": n * step_s / 60.0,
                "complete": complete,
                "depth_mm": depth.ravel(),
                "peak_mm_h": win_peak[s_idx, o_idx],
                "cell_peak_mm_h": win_cell[s_idx, o_idx],
            }
        )[ok]
        frame.insert(0, "storm_id", [
            f"{name}/{dx:+.0f}{dy:+.0f}km/r{rotation_deg:g}/{s:%Y%m%dT%H%M}"
            for dx, dy, s in zip(frame["dx_km"], frame["dy_km"], frame["start"], strict=True)
        ])  # fmt: skip
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=list(CATALOGUE_COLUMNS))  # fmt: skip
    table = table.sort_values(["depth_mm", "storm_id"], ascending=[False, True])
    table = table.reset_index(drop=True)[list(CATALOGUE_COLUMNS)]
    return RadarCatalogue(table, grid.name, size_km, cell_m)
