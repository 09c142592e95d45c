r"""Hour-of-day congestion: travel-time multipliers on top of free-flow travel times.

Model (a simplification, stated as such): the travel time of edge ``e`` at hour ``h`` is

.. math::

    t_e(h) = t_e^{0} \left(1 + s_{c(e)} \, (m(h) - 1)\right)

where :math:`t_e^0` is the free-flow travel time [s], :math:`m(h) \ge 1` the city-wide
congestion index at hour ``h`` (travel time over free-flow travel time on main roads),
and :math:`s_c \in [0, 1]` the sensitivity of road class ``c``: arterials carry the
peaks, local streets much less. Because the multiplier differs by class, the fastest
route can change with the hour.

The default profile has morning and evening peaks of 1.55 and 1.65 at 08:00 and 18:00.
That is the order of the peak-hour congestion delay index that navigation providers
publish for Hangzhou (about 1.5 to 1.8); the hourly shape is illustrative, not measured.
Replace it with a measured profile where one is available.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["DEFAULT_HOURLY_INDEX", "CongestionProfile"]

#: Default congestion index by hour of day, 00:00 to 23:00 [-] (illustrative shape).
DEFAULT_HOURLY_INDEX: tuple[float, ...] = (
    1.00, 1.00, 1.00, 1.00, 1.00, 1.02,  # 00-05
    1.12, 1.40, 1.55, 1.35, 1.22, 1.20,  # 06-11
    1.18, 1.18, 1.20, 1.24, 1.35, 1.55,  # 12-17
    1.65, 1.40, 1.25, 1.15, 1.08, 1.03,  # 18-23
)  # fmt: skip


class CongestionProfile(BaseModel):
    """Hour-of-day travel-time multipliers, by road class.

    Parameters
    ----------
    hourly_index
        24 values, the congestion index at each hour of day (≥ 1) [-].
    sensitivity
        Share of the index felt by each road class (``arterial``, ``collector``,
        ``local``) [-], in [0, 1].
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    hourly_index: tuple[float, ...] = Field(default=DEFAULT_HOURLY_INDEX)
    sensitivity: dict[str, float] = Field(
        default_factory=lambda: {"arterial": 1.0, "collector": 0.7, "local": 0.4}
    )

    @field_validator("hourly_index")
    @classmethod
    def _check_index(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) != 24:
            raise ValueError(f"needs 24 values (one per hour of day), got {len(value)}")
        if min(value) < 1.0:
            raise ValueError("values must be ≥ 1 (1 = free flow); got a value below 1")
        return value

    @field_validator("sensitivity")
    @classmethod
    def _check_sensitivity(cls, value: dict[str, float]) -> dict[str, float]:
        missing = {"arterial", "collector", "local"} - set(value)
        if missing:
            raise ValueError(f"missing road classes {sorted(missing)}")
        if any(not 0.0 <= s <= 1.0 for s in value.values()):
            raise ValueError("sensitivities must lie in [0, 1]")
        return value

    @classmethod
    def free_flow(cls) -> CongestionProfile:
        """A profile with no congestion at any hour."""
        return cls(hourly_index=(1.0,) * 24)

    def index_at(self, hour: float) -> float:
        """Congestion index during the hour of day that contains ``hour`` [-].

        The profile is a step function: 08:59 is in the 08:00 hour.
        """
        return self.hourly_index[int(float(hour) % 24.0)]

    def multipliers(
        self, road_class: npt.NDArray[np.str_] | npt.NDArray[np.object_], hour: float
    ) -> npt.NDArray[np.float64]:
        """Travel-time multiplier of every edge at ``hour`` [-]."""
        m = self.index_at(hour)
        sens = np.zeros(road_class.shape[0], dtype=np.float64)
        for cls_name, s in self.sensitivity.items():
            sens[road_class == cls_name] = s
        return 1.0 + sens * (m - 1.0)


def hour_of(when: float | datetime | None) -> float | None:
    """Fractional hour of day of a time, or ``None`` for free flow."""
    if when is None or isinstance(when, (int, float)):
        return None if when is None else float(when) % 24.0
    return when.hour + when.minute / 60.0 + when.second / 3600.0
