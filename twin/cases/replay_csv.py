"""Reading a case CSV: the mapped columns of every well-formed row, times and numbers.

Text is read as UTF-8 (with or without a byte-order mark), else as GB18030. A row with
another number of values than the header is *malformed* and reported by its CSV line
number, never dropped silently. Times are parsed as ISO 8601 first and any
pandas-readable format second; times with an offset are converted, naive ones are read
in the scenario's time zone.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin._types import FloatArray, IntArray
from twin.errors import ScenarioError

__all__ = ["parse_floats", "parse_times", "read_columns"]

logger = logging.getLogger(__name__)

_AWARE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror}); check the path") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        logger.info("%s is not UTF-8; reading it as GB18030", path)
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise ScenarioError(
                f"{path}:{line}: not a text file, neither UTF-8 nor GB18030 (byte "
                f"0x{data[exc.start]:02x} at offset {exc.start}); give a CSV saved as UTF-8."
            ) from None
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise ScenarioError(
            f"{path}:{line}: not a text file (a NUL byte); give a CSV saved as UTF-8."
        )
    return text


def read_columns(
    path: Path, columns: dict[str, str]
) -> tuple[IntArray, dict[str, list[str]], list[tuple[int, str]]]:
    """Line numbers and the mapped columns (as strings) of every well-formed data row."""
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    header: list[str] | None = None
    lines: list[int] = []
    values: dict[str, list[str]] = {key: [] for key in columns}
    malformed: list[tuple[int, str]] = []
    idx: dict[str, int] = {}
    line = 1
    for record in reader:
        start, line = line, reader.line_num + 1
        if not record or not "".join(record).strip():
            continue
        if header is None:
            header = [h.strip() for h in record]
            absent = [(k, c) for k, c in columns.items() if c not in header]
            if absent:
                listed = ", ".join(f"{c!r} (mapped as {k})" for k, c in absent)
                raise ScenarioError(
                    f"{path}:{start}: column(s) {listed} not in the CSV header; available "
                    f"columns: {', '.join(header)}"
                )
            idx = {k: header.index(c) for k, c in columns.items()}
            continue
        while len(record) > len(header) and not record[-1].strip():
            record.pop()  # trailing empty cells (a spreadsheet artefact)
        if len(record) != len(header):
            malformed.append(
                (start, f"malformed row: {len(record)} values for {len(header)} columns")
            )
            continue
        lines.append(start)
        for k, i in idx.items():
            values[k].append(record[i].strip())
    if header is None:
        raise ScenarioError(f"{path}: empty CSV (no header row).")
    return np.array(lines, dtype=np.int64), values, malformed


def parse_times(raw: Sequence[str], tz: tzinfo | None) -> FloatArray:
    """Seconds since the Unix epoch of each time string [s]; NaN where unparseable.

    ISO 8601 first, any pandas-readable format second. Times with an offset (``Z``,
    ``+08:00``) are converted; naive times are read in ``tz`` (a local time that is
    ambiguous or does not exist there is unparseable).
    """
    s = pd.Series(list(raw), dtype=object)
    out = np.full(len(s), np.nan)
    aware = s.str.contains(_AWARE.pattern, case=False, regex=True).to_numpy(dtype=bool)
    for group, utc in ((aware, True), (~aware, False)):
        if group.any():
            out[group] = _group_seconds(s[group], tz, utc=utc)
    return out


def _group_seconds(part: pd.Series[Any], tz: tzinfo | None, *, utc: bool) -> FloatArray:
    """Vectorised parse of one group of time strings (all with an offset, or none)."""
    try:
        parsed = pd.to_datetime(part, format="ISO8601", errors="coerce", utc=utc)
        retry = parsed.isna().to_numpy() & (part.str.len() > 0).to_numpy()
        if retry.any():
            parsed[retry] = pd.to_datetime(part[retry], format="mixed", errors="coerce", utc=utc)
        if parsed.dt.tz is None:
            parsed = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        seconds = (parsed - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
        return np.asarray(seconds.to_numpy(dtype=float, na_value=np.nan), dtype=np.float64)
    except (ValueError, TypeError):  # e.g. naive and zone-named times mixed in one group
        return _slow_seconds(part, tz)


def _slow_seconds(part: pd.Series[Any], tz: tzinfo | None) -> FloatArray:
    """One parse per distinct string: the fallback when the vectorised parse fails."""
    uniq, inverse = np.unique(part.to_numpy(dtype=str), return_inverse=True)
    values = np.full(uniq.size, np.nan)
    for j, text in enumerate(uniq.tolist()):
        try:
            ts = pd.Timestamp(text)
            if pd.isna(ts):
                continue
            if ts.tzinfo is None:
                ts = ts.tz_localize(tz)
            values[j] = ts.timestamp()
        except (ValueError, TypeError, OverflowError):
            continue
    out: FloatArray = values[inverse]
    return out


def parse_floats(raw: Sequence[str]) -> FloatArray:
    """Numbers of strings; NaN where a string is not a number."""
    out: FloatArray = pd.to_numeric(pd.Series(list(raw), dtype=object), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    return out
