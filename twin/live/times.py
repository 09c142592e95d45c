"""Reading times of the live API: parse them, bound them, write them back.

Times travel as ISO 8601 text with a UTC offset (``2024-06-15T08:05:00+08:00``) or as a
number of seconds since 1970-01-01 UTC, and are kept as integers [ms since the epoch].
Every time the service accepts lies in the years 1–9999 (what ISO 8601 and Python's
``datetime`` can write), so it fits a 64-bit integer and can always be written back.
A number that only makes sense as milliseconds (or micro-, nanoseconds) since the epoch
is refused with a message that says so.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["MAX_MS", "MIN_MS", "TooManyDigits", "iso_ms", "parse_time_ms"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
#: The first and last millisecond the service accepts (0001-01-01 to 9999-12-31, UTC).
MIN_MS = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // _MS
MAX_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH) // _MS
_UNITS = ((1e3, "milliseconds"), (1e6, "microseconds"), (1e9, "nanoseconds"))
_HOW = "send seconds since the epoch or ISO 8601 (e.g. 2024-06-15T08:05:00+08:00)"


class TooManyDigits(str):
    """A JSON integer with more digits than any reading needs (its digits, as text).

    The JSON reader of a batch gives this instead of an :class:`int` for integers of
    more than :data:`MAX_DIGITS` digits, so a row with one is rejected on its own
    rather than the whole batch failing (Python refuses to convert integers of more
    than 4,300 digits).
    """

    MAX_DIGITS = 300

    @classmethod
    def parse_int(cls, text: str) -> int | TooManyDigits:
        """``int(text)``, or a :class:`TooManyDigits` for a very long integer."""
        return cls(text) if len(text) > cls.MAX_DIGITS else int(text)

    def describe(self) -> str:
        """``an integer of N digits`` (never the digits themselves)."""
        return f"an integer of {len(self.lstrip('-')):,} digits"


def _shown(value: float | int) -> str:
    """A number as text for a message, cut short when it is long."""
    if isinstance(value, int) and value.bit_length() > 996:  # over ~300 digits
        return f"(an integer of about {value.bit_length() * 0.30103:,.0f} digits)"
    text = repr(value) if isinstance(value, float) else str(value)
    return text if len(text) <= 40 else f"{text[:20]}… ({len(text):,} characters)"


def _from_seconds(value: float | int, shown: str) -> int:
    """Milliseconds of a number of epoch seconds in the accepted range (or ValueError)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"time {shown} is not a finite number; {_HOW}")
    lo, hi = MIN_MS / 1000, MAX_MS / 1000
    if lo <= value <= hi and abs(value) < 1e11:
        return round(value * 1000)
    mag = abs(value)
    for scale, unit in _UNITS:
        if 1e8 * scale <= mag < 1e11 * scale:
            raise ValueError(f"time {shown} looks like {unit} since the epoch; {_HOW}")
    raise ValueError(f"time {shown} as epoch seconds is outside the years 1–9999; {_HOW}")


def parse_time_ms(value: Any) -> int:
    """A reading time as milliseconds since 1970-01-01 UTC, in the years 1–9999.

    Parameters
    ----------
    value
        ISO 8601 text with a UTC offset or ``Z`` (``2024-06-15T08:05:00+08:00``), or a
        number of seconds since the epoch (a number or its text).

    Raises
    ------
    ValueError
        With a message that says what is wrong and how to write the time: no offset,
        not ISO 8601, not finite, milliseconds (or a finer unit) instead of seconds,
        outside the years 1–9999.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"time is missing; {_HOW}")
    if isinstance(value, TooManyDigits):
        raise ValueError(f"time is {value.describe()}; {_HOW}")
    if isinstance(value, (int, float)):
        return _from_seconds(value, _shown(value))
    if not isinstance(value, str):
        raise ValueError(f"time must be text or a number, not {type(value).__name__}")
    text = value.strip()
    shown = repr(value[:40])
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        try:
            secs = float(text)
        except ValueError:
            raise ValueError(
                f"time {shown} is not ISO 8601; write e.g. 2024-06-15T08:05:00+08:00"
            ) from None
        return _from_seconds(secs, shown)
    if dt.tzinfo is None:
        raise ValueError(f"time {shown} has no UTC offset; add one (e.g. +08:00 for Hangzhou or Z)")
    t = (dt - _EPOCH) // _MS
    if not MIN_MS <= t <= MAX_MS:
        raise ValueError(f"time {shown} is outside the years 1–9999 in UTC; {_HOW}")
    return t


def iso_ms(t_ms: int, tz: Any = UTC) -> str:
    """ISO 8601 text of a time [ms since the epoch] in a zone (with its offset).

    A time whose local date falls outside the years 1–9999 is written in UTC; one
    outside them in UTC too, as ``<t_ms> ms since the epoch``.
    """
    try:
        utc = _EPOCH + timedelta(milliseconds=int(t_ms))
    except OverflowError:
        return f"{int(t_ms)} ms since the epoch"
    try:
        return utc.astimezone(tz).isoformat()
    except OverflowError:
        return utc.isoformat()
