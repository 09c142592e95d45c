"""Which configured case source (channel) a raw source value of a case file means.

A raw value matches a configured source by name, by a shared word, or through aliases:
words of a raw value that point to a configured source whose name contains the key
(e.g. ``PHONE`` or ``ONLINE`` → ``hotline_12345``: in Chinese practice the 12345
platform takes calls, web and app reports alike). Unmatched values get the source with
the largest share, and every match is written down in the import notes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from twin._types import IntArray
from twin.scenario import CaseSource

__all__ = ["match_source", "source_indices"]

_HOTLINE_WORDS = "phone call hotline 12345 online web mobile app wechat email mail sms text"
_SOURCE_ALIASES: dict[str, frozenset[str]] = {
    "hotline": frozenset(_HOTLINE_WORDS.split(" ")),
    "camera": frozenset({"camera", "video", "cctv", "ai"}),
    "iot": frozenset({"iot", "sensor", "alarm", "device"}),
    "patrol": frozenset({"patrol", "inspector", "inspection", "grid", "worker", "officer"}),
}


def match_source(raw: str, sources: Sequence[CaseSource]) -> int | None:
    """Index of the configured source a raw channel value means, or None."""
    low = raw.strip().lower()
    names = [s.name.lower() for s in sources]
    if low in names:
        return names.index(low)
    tokens = set(re.split(r"[^0-9a-z]+", low)) - {""}
    for i, name in enumerate(names):
        if tokens & (set(re.split(r"[^0-9a-z]+", name)) - {""}):
            return i
    for key, words in _SOURCE_ALIASES.items():
        if tokens & words:
            for i, name in enumerate(names):
                if key in name:
                    return i
    return None


def source_indices(
    raw: Sequence[str] | None, n: int, sources: Sequence[CaseSource], notes: list[str]
) -> IntArray:
    """Configured source index of each case; unmatched values get the largest-share one."""
    default = int(np.argmax([s.share for s in sources]))
    if raw is None:
        notes.append(f"no source column: every case gets source {sources[default].name!r}")
        return np.full(n, default, dtype=np.int64)
    uniq, inverse = np.unique(np.asarray(raw, dtype=np.str_), return_inverse=True)
    counts = np.bincount(inverse, minlength=uniq.size)
    matched = np.empty(uniq.size, dtype=np.int64)
    for j, value in enumerate(uniq.tolist()):  # one pass per distinct value
        m = match_source(value, sources)
        matched[j] = default if m is None else m
        how = "matches no configured source; used" if m is None else "→"
        notes.append(f"source {value!r} {how} {sources[int(matched[j])].name!r} ({counts[j]} rows)")
    out: IntArray = matched[inverse]
    return out
