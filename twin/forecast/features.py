"""Static features of the low points a forecaster knows (its identity and catchment).

One row per low point: ``log_area_ha`` (ln of the catchment area [ha]), ``drain_mm_h``
(the drain capacity over the catchment, as a rain rate [mm/h] / 50),
``log_area_per_pond`` (ln of catchment area over flat pond area: how fast inflow raises
the water) and ``is_underpass`` (0 or 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twin._types import FloatArray, IntArray, StrArray
from twin.forecast.errors import ForecastError
from twin.hydro.lowpoints import LowPoints

__all__ = ["STATIC_FEATURES", "PointFeatures", "point_features"]

#: Names of the static features of a low point (see :func:`point_features`).
STATIC_FEATURES = ("log_area_ha", "drain_mm_h", "log_area_per_pond", "is_underpass")


@dataclass(frozen=True)
class PointFeatures:
    """Identity and static features of the low points a forecaster knows.

    Attributes
    ----------
    ids
        Low-point ids, shape ``(n_points,)``.
    static
        Static features, shape ``(n_points, len(STATIC_FEATURES))`` (see
        :func:`point_features`).
    """

    ids: StrArray
    static: FloatArray

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def index_of(self, ids: Sequence[str]) -> IntArray:
        """Positions of point ids; a clear error names any unknown id."""
        lookup = {str(p): i for i, p in enumerate(self.ids.tolist())}
        unknown = [str(p) for p in ids if str(p) not in lookup]
        if unknown:
            known = ", ".join(list(lookup)[:5])
            raise ForecastError(
                f"unknown low point(s) {', '.join(unknown[:5])}: the model knows "
                f"{len(lookup)} points ({known}, …); use ids of the points it was trained "
                "on, or retrain with `twin forecast train`."
            )
        return np.array([lookup[str(p)] for p in ids], dtype=np.int64)


def point_features(points: LowPoints) -> PointFeatures:
    """Static features of low points from their catchment parameters.

    ``log_area_ha`` = ln(catchment area [ha]); ``drain_mm_h`` = drain capacity over
    the catchment area, as a rain rate [mm/h] / 50; ``log_area_per_pond`` = ln(catchment
    area / flat pond area) (how fast inflow raises the water); ``is_underpass`` 0 or 1.

    Parameters
    ----------
    points
        Low points with parameters (:func:`twin.hydro.lowpoints.low_points`).

    Returns
    -------
    PointFeatures
    """
    p = points.params
    static = np.column_stack(
        [
            np.log(p.area / 1e4),
            p.drain_capacity / p.area * 3.6e6 / 50.0,
            np.log(p.area / p.pond_c),
            (points.kinds == "underpass").astype(np.float64),
        ]
    )
    return PointFeatures(ids=points.ids.astype(str), static=static.astype(np.float64))
