"""Storm records: gauge rain, true depth and readings of many storms on one 5-minute grid.

Row ``k`` of a storm is the time boundary ``t_k = k·Δt`` since the start of its record
(``Δt`` = :data:`STEP_S`, 300 s). ``depth[k]`` and ``obs[k]`` are the depth and the
reading at ``t_k``; ``rain[k]`` is the gauge's mean rain rate over the step **ending**
at ``t_k`` (``[t_{k-1}, t_k)``; 0 at ``k = 0``). So everything in row ``k`` is known at
``t_k``, and a forecast issued at ``t_k`` for lead ``h`` steps targets ``depth[k + h]``
with the future rain ``rain[k + 1 .. k + h]``. The train / validation / test label is
one per storm, never per time step. Built by :func:`twin.forecast.data.generate_storm_set`
(one gauge for the district) and :func:`twin.forecast.radar_storms.radar_storm_set`
(radar rain at each point, with the radar nowcast issued at every row).

Rain is one series for the district, shape ``(n_rows,)``, or one per point, shape
``(n_rows, n_points)`` (radar storms; :func:`combine_records` of both kinds gives the
district series at every point).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from twin._types import BoolArray, FloatArray, IntArray, StrArray
from twin.forecast.errors import ForecastError
from twin.forecast.features import PointFeatures

__all__ = ["STEP_S", "StormRecords", "combine_records"]

#: Forecast time step [s] (the gauges' 5 minutes).
STEP_S = 300.0


@dataclass(frozen=True)
class StormRecords:
    """Storm records at every low point on one 5-minute grid (see the module docstring).

    Attributes
    ----------
    storm_id, source, split
        Per storm: id, ``"catalogue"``, ``"design"`` or ``"radar"``, and ``"train"`` /
        ``"validation"`` / ``"test"``.
    offsets
        Row ranges: storm ``i`` is rows ``offsets[i]:offsets[i+1]``.
    rain
        Rain rate over the step ending at each row [mm/h]: the district gauge, shape
        ``(n_rows,)``, or the rain at each point, shape ``(n_rows, n_points)``.
    depth
        True water depth [m], shape ``(n_rows, n_points)``.
    obs
        Gauge readings [m], NaN where missing, same shape.
    points
        The low points.
    step_s
        Row spacing [s].
    nowcast
        Radar nowcasts, by storm id: the future rain at each point issued at each row of
        that storm [mm/h], shape ``(n_rows_of_storm, horizon, n_points)``; storms
        without one (gauge storms) have none.
    nowcast_label
        What made the radar nowcasts (e.g. the pysteps method), for model cards.
    drains
        How the drains of the true water differ from the nominal ones, in words (model
        cards; :func:`twin.forecast.data.drains_label`); empty where not said.
    """

    storm_id: StrArray
    source: StrArray
    split: StrArray
    offsets: IntArray
    rain: FloatArray
    depth: FloatArray
    obs: FloatArray
    points: PointFeatures
    step_s: float = STEP_S
    nowcast: Mapping[str, FloatArray] = field(default_factory=dict)
    nowcast_label: str = ""
    drains: str = ""

    @property
    def n_storms(self) -> int:
        """Number of storms."""
        return int(self.storm_id.shape[0])

    def rows(self, i: int) -> slice:
        """Row slice of storm ``i``."""
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def rain_at(self, rows: IntArray, points: IntArray) -> FloatArray:
        """Rain [mm/h] at rows and point positions (broadcast against each other)."""
        r = np.asarray(rows)
        if self.rain.ndim == 1:
            return np.asarray(np.broadcast_to(self.rain[r], np.broadcast(r, points).shape))
        return np.asarray(self.rain[r, np.asarray(points)], dtype=np.float64)

    def point_rain(self, i: int, p: int) -> FloatArray:
        """Rain series of storm ``i`` at point position ``p`` [mm/h]."""
        rain = self.rain[self.rows(i)]
        return np.asarray(rain if rain.ndim == 1 else rain[:, p], dtype=np.float64)

    def subset(self, storms: Sequence[int] | IntArray | BoolArray) -> StormRecords:
        """The storms at the given positions (or boolean mask)."""
        idx = np.arange(self.n_storms)[np.asarray(storms)]
        parts = [np.arange(self.offsets[i], self.offsets[i + 1]) for i in idx.tolist()]
        rows = np.concatenate(parts) if parts else np.empty(0, np.int64)
        lengths = np.diff(self.offsets)[idx]
        kept = {str(s) for s in self.storm_id[idx].tolist()}
        return StormRecords(
            storm_id=self.storm_id[idx],
            source=self.source[idx],
            split=self.split[idx],
            offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64),
            rain=self.rain[rows],
            depth=self.depth[rows],
            obs=self.obs[rows],
            points=self.points,
            step_s=self.step_s,
            nowcast={k: v for k, v in self.nowcast.items() if k in kept},
            nowcast_label=self.nowcast_label,
            drains=self.drains,
        )

    def select(self, split: str) -> StormRecords:
        """The storms of one split (``"train"``, ``"validation"`` or ``"test"``)."""
        if split not in ("train", "validation", "test"):
            raise ForecastError(f"split {split!r}: use 'train', 'validation' or 'test'.")
        return self.subset(self.split == split)


def combine_records(*sets: StormRecords) -> StormRecords:
    """Several storm sets as one (storms in the given order).

    The sets must share their low points and step, and storm ids must be unique. When
    one set has rain per point, the district rain of the others is repeated at every
    point.

    Raises
    ------
    ForecastError
        No set; other points or step; a storm id twice.
    """
    if not sets:
        raise ForecastError("combine_records needs at least one storm set.")
    first = sets[0]
    for s in sets[1:]:
        if list(s.points.ids) != list(first.points.ids) or s.step_s != first.step_s:
            raise ForecastError(
                "storm sets of other low points or another step cannot be combined; "
                "generate them for the same points."
            )
    ids = np.concatenate([s.storm_id for s in sets])
    if np.unique(ids).size != ids.size:
        raise ForecastError("a storm id appears in two storm sets; give each storm once.")
    n_pts = len(first.points)
    per_point = any(s.rain.ndim == 2 for s in sets)
    rains = [
        np.repeat(s.rain[:, None], n_pts, axis=1) if per_point and s.rain.ndim == 1 else s.rain
        for s in sets
    ]
    lengths = np.concatenate([np.diff(s.offsets) for s in sets])
    labels = [s.nowcast_label for s in sets if s.nowcast_label]
    drains = [s.drains for s in sets if s.drains]
    return StormRecords(
        storm_id=ids,
        source=np.concatenate([s.source for s in sets]),
        split=np.concatenate([s.split for s in sets]),
        offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64),
        rain=np.concatenate(rains).astype(np.float64),
        depth=np.concatenate([s.depth for s in sets]),
        obs=np.concatenate([s.obs for s in sets]),
        points=first.points,
        step_s=first.step_s,
        nowcast={k: v for s in sets for k, v in s.nowcast.items()},
        nowcast_label="; ".join(dict.fromkeys(labels)),
        drains="; ".join(dict.fromkeys(drains)),
    )
