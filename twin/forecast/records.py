"""Storm records: gauge rain, true depth and readings of many storms on one 5-minute grid.

Row ``k`` of a storm is the time boundary ``t_k = k·Δt`` since the start of its record
(``Δt`` = :data:`STEP_S`, 300 s). ``depth[k]`` and ``obs[k]`` are the depth and the
reading at ``t_k``; ``rain[k]`` is the gauge's mean rain rate over the step **ending**
at ``t_k`` (``[t_{k-1}, t_k)``; 0 at ``k = 0``). So everything in row ``k`` is known at
``t_k``, and a forecast issued at ``t_k`` for lead ``h`` steps targets ``depth[k + h]``
with the future rain ``rain[k + 1 .. k + h]``. The train / validation / test label is
one per storm, never per time step. Built by :func:`twin.forecast.data.generate_storm_set`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twin._types import BoolArray, FloatArray, IntArray, StrArray
from twin.forecast.errors import ForecastError
from twin.forecast.features import PointFeatures

__all__ = ["STEP_S", "StormRecords"]

#: Forecast time step [s] (the gauges' 5 minutes).
STEP_S = 300.0


@dataclass(frozen=True)
class StormRecords:
    """Storm records at every low point on one 5-minute grid (see the module docstring).

    Attributes
    ----------
    storm_id, source, split
        Per storm: id, ``"catalogue"`` or ``"design"``, and ``"train"`` /
        ``"validation"`` / ``"test"``.
    offsets
        Row ranges: storm ``i`` is rows ``offsets[i]:offsets[i+1]``.
    rain
        Gauge rain rate over the step ending at each row [mm/h], shape ``(n_rows,)``.
    depth
        True water depth [m], shape ``(n_rows, n_points)``.
    obs
        Gauge readings [m], NaN where missing, same shape.
    points
        The low points.
    step_s
        Row spacing [s].
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

    @property
    def n_storms(self) -> int:
        """Number of storms."""
        return int(self.storm_id.shape[0])

    def rows(self, i: int) -> slice:
        """Row slice of storm ``i``."""
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def subset(self, storms: Sequence[int] | IntArray | BoolArray) -> StormRecords:
        """The storms at the given positions (or boolean mask)."""
        idx = np.arange(self.n_storms)[np.asarray(storms)]
        parts = [np.arange(self.offsets[i], self.offsets[i + 1]) for i in idx.tolist()]
        rows = np.concatenate(parts) if parts else np.empty(0, np.int64)
        lengths = np.diff(self.offsets)[idx]
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
        )

    def select(self, split: str) -> StormRecords:
        """The storms of one split (``"train"``, ``"validation"`` or ``"test"``)."""
        if split not in ("train", "validation", "test"):
            raise ForecastError(f"split {split!r}: use 'train', 'validation' or 'test'.")
        return self.subset(self.split == split)
