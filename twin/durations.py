"""Durations in configuration files: seconds, or a number with a unit (``"5min"``).

One syntax for every frozen config model (scenarios, crowds): a number of seconds, or a
string such as ``"45s"``, ``"5min"``, ``"2h"``, ``"1d"``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

__all__ = ["Duration", "PositiveDuration", "parse_duration"]

_UNITS = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "hr": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)?\s*$", re.IGNORECASE)


def parse_duration(value: Any) -> float:
    """Seconds from a number [s] or a string such as ``"90s"``, ``"5min"``, ``"2h"``."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of seconds or a string like '5min'")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            unit = (m.group(2) or "s").lower()
            if unit in _UNITS:
                return float(m.group(1)) * _UNITS[unit]
    raise ValueError(
        f"{value!r} is not a duration; write seconds (e.g. 90) or a number with a unit "
        "s, min, h or d (e.g. '5min', '2h')"
    )


def _non_negative(v: float) -> float:
    if not (v >= 0.0 and math.isfinite(v)):
        raise ValueError(f"must be a finite number ≥ 0, got {v}")
    return v


def _positive(v: float) -> float:
    if not (v > 0.0 and math.isfinite(v)):
        raise ValueError(f"must be a finite number > 0, got {v}")
    return v


#: A duration [s] ≥ 0, written as seconds or with a unit.
Duration = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_non_negative)]
#: A duration [s] > 0.
PositiveDuration = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_positive)]
