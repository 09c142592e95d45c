"""Parse and validate batches of readings (JSON or CSV), row by row.

A batch is checked row by row: good rows go on to the store, bad rows come back in the
response with their position, the field at fault and what to do; nothing is dropped
without a word. Only a body that cannot be read as a batch at all (not JSON, a CSV
without the required header, too many rows) is refused as a whole
(:class:`BatchError`).

Formats
-------
JSON (``Content-Type: application/json``)
    ``{"readings": [{"sensor": "wl-lp-tunnel-001", "time": "2024-06-15T08:05:00+08:00",
    "value": 0.012}, …]}``, a bare list of such objects, or the columnar form
    ``{"sensor": [...], "time": [...], "value": [...]}``. ``time`` is ISO 8601 with a
    UTC offset (or ``Z``), or a number of seconds since 1970-01-01 UTC, in the years
    1–9999 (milliseconds are refused with a message that says so; see
    :mod:`twin.live.times`). An optional ``kind`` must match the registered kind of
    the sensor.
CSV (``Content-Type: text/csv``)
    A header line naming ``sensor``, ``time`` and ``value`` (in any order; ``kind``
    optional), then one reading per line. Rejections give the line number.

A bad value is a bad row, never a failed batch: an integer of hundreds of digits, a
lone-surrogate sensor id, a value nested deeper than :data:`MAX_DEPTH` (read again with
the deep values cut when the JSON parser runs out of recursion), a CSV field over
128 KiB. The response echoes ids and text with lone surrogates escaped.

Units: water level [m] above the road surface, rain rate [mm/h] over the interval
ending at ``time``, crowd count [persons].
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from twin._types import FloatArray, IntArray
from twin.live.config import IngestConfig
from twin.live.errors import LiveError
from twin.live.sensors import CROWD_COUNTER, KINDS, RAIN_GAUGE, WATER_LEVEL, SensorRegistry
from twin.live.times import TooManyDigits, iso_ms, parse_time_ms

__all__ = [
    "BatchError",
    "ParsedBatch",
    "Rejection",
    "iso_ms",
    "parse_batch",
    "parse_csv",
    "parse_json",
    "parse_time_ms",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_COLUMNS = ("sensor", "time", "value")
_NUM = "send a number (e.g. 0.25)"
#: JSON nesting the batch reader keeps; deeper values are replaced by a marker (the row
#: that holds one is rejected) when the parser runs out of recursion.
MAX_DEPTH = 32
_TOO_DEEP = "\x00twin:nested-too-deep\x00"
#: A JSON string (its escapes included) or a bracket: what the depth cut looks at.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)


class BatchError(LiveError):
    """A whole batch cannot be read (the HTTP status to answer with is ``status``)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Rejection:
    """One rejected row: where it is, which field is wrong, and why.

    Attributes
    ----------
    row
        Position of the row in the batch (0-based).
    line
        Line of a CSV body (1-based, the header is line 1); None for JSON.
    field
        ``sensor``, ``time``, ``value``, ``kind`` or ``row``.
    reason
        What is wrong and what to do.
    sensor
        The row's sensor id, when it has one.
    """

    row: int
    line: int | None
    field: str
    reason: str
    sensor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out: dict[str, Any] = {"row": self.row, "field": self.field, "reason": _safe(self.reason)}
        if self.line is not None:
            out["line"] = self.line
        if self.sensor is not None:
            out["sensor"] = _safe(self.sensor[:200])
        return out


@dataclass
class ParsedBatch:
    """The good rows of a batch as arrays, and the rejected rows.

    Attributes
    ----------
    n_rows
        Rows in the batch.
    row
        Batch position of each good row.
    sensor
        Sensor id of each good row.
    kind
        Kind code of each good row (see :data:`twin.live.sensors.KINDS`).
    t_ms
        Reading time [ms since 1970-01-01 UTC].
    value
        Reading [m, mm/h or persons].
    rejected
        The bad rows.
    """

    n_rows: int
    row: IntArray
    sensor: list[str]
    kind: IntArray
    t_ms: IntArray
    value: FloatArray
    rejected: list[Rejection] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sensor)


class _NotObject(str):
    """Marker for a JSON row that is not an object."""


_NOT_OBJECT = _NotObject("-")


class _RowError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _safe(text: str) -> str:
    """Text that encodes as UTF-8: lone surrogates written as backslash escapes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _shown(value: Any) -> str:
    """A value for a message: its repr, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:36]}…"


def _number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        raise _RowError("value", "value is missing; send no row for a missing reading")
    if value == _TOO_DEEP:
        raise _RowError("value", f"value is JSON nested more than {MAX_DEPTH} levels deep; {_NUM}")
    if isinstance(value, TooManyDigits):
        raise _RowError("value", f"value is {value.describe()}; {_NUM}")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _RowError("value", f"value {_shown(value)} is not a number; {_NUM}") from None
    if not isinstance(value, (int, float)):
        raise _RowError("value", f"value must be a number, not {type(value).__name__}; {_NUM}")
    try:
        v = float(value)
    except OverflowError:
        raise _RowError("value", f"value is too large for a float; {_NUM}") from None
    if not math.isfinite(v):
        raise _RowError("value", f"value {value!r} is not finite; send no row for a gap")
    return v


class _Validator:
    """Row checks against the registry and the limits (one per batch; caches times)."""

    def __init__(self, registry: SensorRegistry, limits: IngestConfig, now_ms: int) -> None:
        self.index = registry.index
        self.kinds = registry.kinds.tolist()
        self.lo_ms = (limits.earliest - _EPOCH) // _MS
        self.hi_ms = now_ms + round(limits.max_future * 1000)
        self.limits = limits
        self.times: dict[Any, int] = {}
        self.example = ", ".join(registry.ids[:3])

    def time(self, value: Any) -> int:
        key = value if isinstance(value, str) else None
        if key is not None and key in self.times:
            return self.times[key]
        if value == _TOO_DEEP:
            raise _RowError("time", f"time is JSON nested more than {MAX_DEPTH} levels deep")
        try:
            t = parse_time_ms(value)
        except ValueError as exc:
            raise _RowError("time", str(exc)) from None
        if t < self.lo_ms:
            raise _RowError(
                "time",
                f"time {iso_ms(t)} is before the earliest accepted reading "
                f"({self.limits.earliest.isoformat()}); check the clock or the unit (seconds)",
            )
        if t > self.hi_ms:
            raise _RowError(
                "time",
                f"time {iso_ms(t)} lies more than {self.limits.max_future:g} s ahead of the "
                "server's clock; check the sensor's clock and time zone",
            )
        if key is not None:
            self.times[key] = t
        return t

    def check(self, sensor: Any, time: Any, value: Any, kind: Any) -> tuple[int, int, float]:
        if isinstance(sensor, _NotObject):
            raise _RowError("row", 'the row is not an object; give {"sensor", "time", "value"}')
        if sensor == _TOO_DEEP:
            raise _RowError("sensor", f"sensor is JSON nested more than {MAX_DEPTH} levels deep")
        if not isinstance(sensor, str) or not sensor:
            raise _RowError("sensor", "sensor is missing; give the sensor id as text")
        pos = self.index.get(sensor)
        if pos is None:
            if _safe(sensor) != sensor:
                raise _RowError(
                    "sensor",
                    f"sensor id {_shown(sensor)} is not valid Unicode text (a lone surrogate); "
                    "send the id as UTF-8",
                )
            raise _RowError(
                "sensor",
                f"unknown sensor {sensor[:60]!r}; register it under sensors in the service "
                f"config (known ids look like {self.example})",
            )
        k = self.kinds[pos]
        if kind is not None and kind != "" and kind != KINDS[k]:
            raise _RowError("kind", f"sensor {sensor} is a {KINDS[k]}, not {_shown(kind)}")
        t = self.time(time)
        v = _number(value)
        lim = self.limits
        if k == WATER_LEVEL and not 0.0 <= v <= lim.max_water_level:
            raise _RowError(
                "value",
                f"water level {v:g} m is outside [0, {lim.max_water_level:g}] m; send the "
                "depth of water above the road surface in metres",
            )
        if k == RAIN_GAUGE and not 0.0 <= v <= lim.max_rain_rate:
            raise _RowError(
                "value",
                f"rain rate {v:g} mm/h is outside [0, {lim.max_rain_rate:g}] mm/h; send the "
                "mean rate over the interval ending at time, in mm/h",
            )
        if k == CROWD_COUNTER and not (0.0 <= v <= lim.max_crowd_count and v == int(v)):
            raise _RowError(
                "value",
                f"crowd count {v:g} must be a whole number in [0, {lim.max_crowd_count:g}]",
            )
        return pos, t, v


def _collect(
    rows: Iterable[tuple[int, int | None, Any, Any, Any, Any]],
    validator: _Validator,
    n_rows: int,
) -> ParsedBatch:
    pos_l: list[int] = []
    sensor_l: list[str] = []
    kind_l: list[int] = []
    t_l: list[int] = []
    v_l: list[float] = []
    rejected: list[Rejection] = []
    kinds = validator.kinds
    for row, line, sensor, time, value, kind in rows:
        try:
            s_pos, t, v = validator.check(sensor, time, value, kind)
        except _RowError as err:
            rejected.append(
                Rejection(
                    row,
                    line,
                    err.field,
                    err.reason,
                    sensor
                    if isinstance(sensor, str) and sensor and sensor is not _NOT_OBJECT
                    else None,
                )
            )
            continue
        pos_l.append(row)
        sensor_l.append(sensor)
        kind_l.append(kinds[s_pos])
        t_l.append(t)
        v_l.append(v)
    return ParsedBatch(
        n_rows=n_rows,
        row=np.asarray(pos_l, dtype=np.int64),
        sensor=sensor_l,
        kind=np.asarray(kind_l, dtype=np.int64),
        t_ms=np.asarray(t_l, dtype=np.int64),
        value=np.asarray(v_l, dtype=np.float64),
        rejected=rejected,
    )


def _check_size(n: int, limits: IngestConfig) -> None:
    if n > limits.max_rows:
        raise BatchError(
            f"the batch has {n:,} rows; the limit is {limits.max_rows:,} (ingest.max_rows); "
            "split it into smaller batches.",
            status=413,
        )


def _not_json(reason: str) -> BatchError:
    return BatchError(
        f'the body is not valid JSON ({reason}); send {{"readings": [{{"sensor": …, '
        '"time": …, "value": …}, …]}.'
    )


def _cut_deep(text: str, max_depth: int) -> str:
    """JSON text with every value nested deeper than ``max_depth`` replaced by a marker."""
    out: list[str] = []
    pos = depth = 0
    cut = -1
    for m in _JSON_TOKEN.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth == max_depth + 1:
                cut = m.start()
        elif tok in "]}":
            if depth == max_depth + 1 and cut >= 0:
                out += [text[pos:cut], json.dumps(_TOO_DEEP)]
                pos, cut = m.end(), -1
            depth -= 1
    out.append(text[pos:])
    return "".join(out)


def _load_json(body: bytes, limits: IngestConfig) -> Any:
    """The JSON document of a body; values nested too deep become a marker.

    When the body holds an integer Python refuses to read (over 4,300 digits), long
    integers are read as :class:`~twin.live.times.TooManyDigits` (their row is
    rejected, not the batch).
    """
    try:
        return json.loads(body)
    except RecursionError:
        pass
    except UnicodeDecodeError as exc:
        raise _not_json(f"not UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        raise _not_json(str(exc)[:200]) from None
    except ValueError:  # an integer over Python's 4,300 digits: read those apart
        try:
            return json.loads(body, parse_int=TooManyDigits.parse_int)
        except RecursionError:
            pass
        except ValueError as exc:
            raise _not_json(str(exc)[:200]) from None
    # Nested deeper than the parser's recursion allows: cut the deep values (bounded:
    # a batch has about one bracket pair per row) and read it again.
    text = body.decode("utf-8", "replace")
    if text.count("[") + text.count("{") > 2 * limits.max_rows + 1000:
        raise _not_json(f"nested too deeply, with more brackets than {limits.max_rows:,} rows need")
    try:
        return json.loads(_cut_deep(text, MAX_DEPTH), parse_int=TooManyDigits.parse_int)
    except (ValueError, RecursionError) as exc:
        raise _not_json(str(exc)[:200]) from None


def parse_json(
    body: bytes, registry: SensorRegistry, limits: IngestConfig, *, now_ms: int
) -> ParsedBatch:
    """Parse and validate a JSON batch (see the module docstring for its forms).

    Raises
    ------
    BatchError
        The body is not JSON, not one of the accepted forms, or has too many rows.
    """
    doc = _load_json(body, limits)
    validator = _Validator(registry, limits, now_ms)
    if isinstance(doc, dict) and isinstance(doc.get("sensor"), list):
        cols: list[Any] = [doc.get(c) for c in (*_COLUMNS, "kind")]
        n = len(cols[0] or [])
        for name, col in zip((*_COLUMNS, "kind"), cols, strict=True):
            if name == "kind" and col is None:
                continue
            if not isinstance(col, list) or len(col) != n:
                raise BatchError(
                    f"columnar batch: {name!r} must be a list of {n} values (one per sensor)."
                )
        _check_size(n, limits)
        kinds = cols[3] if cols[3] is not None else [None] * n
        rows = (
            (i, None, s, t, v, k)
            for i, (s, t, v, k) in enumerate(zip(cols[0], cols[1], cols[2], kinds, strict=True))
        )
        return _collect(rows, validator, n)
    items = doc.get("readings") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise BatchError(
            'a JSON batch is {"readings": [...]}, a list of readings, or columns '
            '{"sensor": [...], "time": [...], "value": [...]}.'
        )
    _check_size(len(items), limits)

    def gen() -> Iterator[tuple[int, int | None, Any, Any, Any, Any]]:
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield (
                    i,
                    None,
                    item.get("sensor"),
                    item.get("time"),
                    item.get("value"),
                    item.get("kind"),
                )
            else:
                yield i, None, _NOT_OBJECT, None, None, None

    return _collect(gen(), validator, len(items))


def _csv_problem(exc: csv.Error) -> str:
    if "field limit" in str(exc):
        return (
            f"a field is longer than {csv.field_size_limit():,} characters (128 KiB); sensor "
            "ids, times and values are short: check the quoting"
        )
    return f"the line cannot be read as CSV ({exc})"


def _csv_records(reader: Any) -> list[tuple[int, list[str] | str]]:
    """The non-blank records after the header: ``(line, fields)`` or ``(line, problem)``.

    A line the CSV reader refuses gets its problem; the reader goes on with the next.
    """
    records: list[tuple[int, list[str] | str]] = []
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            records.append((reader.line_num, _csv_problem(exc)))
            continue
        if rec and any(c.strip() for c in rec):
            records.append((reader.line_num, rec))


def parse_csv(
    body: bytes, registry: SensorRegistry, limits: IngestConfig, *, now_ms: int
) -> ParsedBatch:
    """Parse and validate a CSV batch with a ``sensor,time,value[,kind]`` header.

    Raises
    ------
    BatchError
        The body is not UTF-8 text, has no header with the required columns, names
        unknown columns, or has too many rows.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchError(f"the CSV body is not UTF-8 text ({exc}).") from None
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    header_line = 0
    try:
        for rec in reader:
            if rec and any(c.strip() for c in rec):
                header = [c.strip().lower() for c in rec]
                header_line = reader.line_num
                break
    except csv.Error as exc:
        raise BatchError(
            f"CSV line {reader.line_num}: {_csv_problem(exc)}; the first line must be "
            "sensor,time,value."
        ) from None
    if header is None:
        raise BatchError("the CSV body is empty; the first line must be sensor,time,value.")
    missing = [c for c in _COLUMNS if c not in header]
    unknown = [_shown(c) for c in header if c not in (*_COLUMNS, "kind")][:5]
    if missing or unknown:
        what = (
            f"missing column(s) {', '.join(missing)}"
            if missing
            else f"unknown column(s) {', '.join(unknown)}"
        )
        raise BatchError(
            f"CSV header line {header_line}: {what}; the header is sensor,time,value "
            "(any order) with an optional kind."
        )
    col = {c: header.index(c) for c in header}
    width = len(header)
    records = _csv_records(reader)
    _check_size(len(records), limits)
    validator = _Validator(registry, limits, now_ms)
    bad_width: list[Rejection] = []

    def gen() -> Iterator[tuple[int, int | None, Any, Any, Any, Any]]:
        i_s, i_t, i_v, i_k = col["sensor"], col["time"], col["value"], col.get("kind")
        for i, (line_no, rec) in enumerate(records):
            if isinstance(rec, str):
                bad_width.append(Rejection(i, line_no, "row", rec))
                continue
            if len(rec) != width:
                bad_width.append(
                    Rejection(
                        i,
                        line_no,
                        "row",
                        f"the line has {len(rec)} fields; the header has {width} "
                        f"({','.join(header or [])[:200]})",
                    )
                )
                continue
            kind = rec[i_k].strip() if i_k is not None else None
            yield i, line_no, rec[i_s].strip(), rec[i_t], rec[i_v].strip(), kind

    out = _collect(gen(), validator, len(records))
    if bad_width:
        out.rejected = sorted([*out.rejected, *bad_width], key=lambda r: r.row)
    return out


def parse_batch(
    body: bytes,
    content_type: str,
    registry: SensorRegistry,
    limits: IngestConfig,
    *,
    now_ms: int,
) -> ParsedBatch:
    """Parse a batch by its content type (JSON or CSV).

    Raises
    ------
    BatchError
        An unsupported content type (status 415) or an unreadable body.
    """
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype in ("application/json", "") or ctype.endswith("+json"):
        return parse_json(body, registry, limits, now_ms=now_ms)
    if ctype in ("text/csv", "application/csv"):
        return parse_csv(body, registry, limits, now_ms=now_ms)
    raise BatchError(
        f"content type {ctype!r} is not accepted; send application/json or text/csv.",
        status=415,
    )
