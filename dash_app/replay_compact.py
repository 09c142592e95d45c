"""A run's replay for the browser: every record time's dynamic traces, compact.

:func:`replay_payload` turns what :func:`dash_app.replay.frame_traces` gives at each
record time into one JSON-ready document that the map page's clientside code
(:mod:`dash_app.replay_js`) replays with no request to the server per frame.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from dash_app.replay import DYNAMIC, RunFrames, frame_label, frame_traces
from twin.network.road_network import RoadNetwork
from twin.run.results import RunResult

__all__ = ["MAX_REPLAY_BYTES", "replay_payload"]

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------- replay in the browser
#: The largest replay sent to the browser at once [bytes of JSON]; a larger run is
#: replayed the old way, one server round trip per record time (:func:`replay_payload`).
MAX_REPLAY_BYTES = 8_000_000


def _flatten(trace: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A trace dict as ``{dotted path: value}`` (lists are values, dicts are walked)."""
    out: dict[str, Any] = {}
    for key, value in trace.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _entities(trace: dict[str, Any]) -> tuple[str, list[int]] | None:
    """``(prefix, indices)`` of a trace whose ``customdata`` are all ``<kind>:<int>``."""
    custom = trace.get("customdata")
    if not isinstance(custom, list):
        return None
    prefix = ""
    out: list[int] = []
    for c in custom:
        kind, _, index = str(c).partition(":")
        if not index.isdigit() or (prefix and prefix != kind + ":"):
            return None
        prefix = kind + ":"
        out.append(int(index))
    return prefix, out


def _compact_trace(per_frame: list[dict[str, Any]]) -> dict[str, Any]:
    """One dynamic trace over every record time, with what changes between them.

    ``static`` holds the dotted paths whose value never changes (sent once, drawn with
    the figure); ``keys`` the others: ``{"ent": table}`` when the value is a list with
    one item per point that only depends on the point (a case's position, a crew's
    hover text), read through the points shown (``ids``/``idx``), else ``{"v":
    distinct values, "f": which one per record time}``.
    """
    flat = [_flatten(t) for t in per_frame]
    paths = sorted({p for f in flat for p in f})
    ents = [_entities(t) for t in per_frame]
    kinds = {e[0] for e in ents if e is not None and e[1]}
    prefix = kinds.pop() if len(kinds) == 1 and all(e is not None for e in ents) else None
    out: dict[str, Any] = {"static": {}, "keys": {}}
    if prefix is not None:
        out["ids"] = prefix
        out["idx"] = _variants([e[1] if e is not None else [] for e in ents])
    for path in paths:
        if prefix is not None and path == "customdata":
            continue
        values = [f.get(path) for f in flat]
        first = _json_key(values[0])
        if all(_json_key(v) == first for v in values[1:]):
            out["static"][path] = values[0]
            continue
        table = _entity_table(values, ents) if prefix is not None else None
        out["keys"][path] = {"ent": table} if table is not None else _variants(values)
    return out


def _json_key(value: Any) -> str:
    """A value as canonical JSON (what two equal values share)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _variants(values: list[Any]) -> dict[str, Any]:
    """``{"v": distinct values, "f": index of each value in v}``."""
    seen: dict[str, int] = {}
    distinct: list[Any] = []
    index: list[int] = []
    for v in values:
        key = _json_key(v)
        if key not in seen:
            seen[key] = len(distinct)
            distinct.append(v)
        index.append(seen[key])
    return {"v": distinct, "f": index}


def _entity_table(values: list[Any], ents: list[tuple[str, list[int]] | None]) -> list[Any] | None:
    """The value per point (by index) when every record time agrees on it, else None."""
    table: dict[int, Any] = {}
    for v, e in zip(values, ents, strict=True):
        if e is None or not isinstance(v, list) or len(v) != len(e[1]):
            return None
        for i, item in zip(e[1], v, strict=True):
            if table.setdefault(i, item) != item:
                return None
    size = max(table, default=-1) + 1
    return [table.get(i) for i in range(size)]


def replay_payload(
    result: RunResult,
    frames: RunFrames,
    *,
    layers: set[str],
    net: RoadNetwork | None,
    n_base: int,
    token: str,
    max_bytes: int = MAX_REPLAY_BYTES,
) -> dict[str, Any] | None:
    """Every record time's dynamic traces, compact, for the browser to replay by itself.

    What :func:`frame_traces` gives at each record time, with what never changes kept
    once and what only depends on the point (a case's place and hover text) kept once
    per point (:func:`_compact_trace`); floats are rounded as in the figure. The map
    page's clientside code (``dash_app/pages/map.py``) rebuilds the traces of a record
    time from it and restyles the figure in place: no request to the server per frame.

    Parameters
    ----------
    result, frames, layers, net
        As for :func:`frame_traces`.
    n_base
        The number of base traces before the dynamic ones in the figure.
    token
        Names the figure this replay belongs to (the figure's ``layout.meta``).
    max_bytes
        The largest replay sent [bytes of JSON]; a larger one gives ``None`` (the map
        then asks the server for each record time).

    Returns
    -------
    dict or None
        ``{"token", "n_base", "n", "labels", "traces"}`` (``traces``: one per name of
        :data:`DYNAMIC`, in order), or ``None`` when the replay is larger than
        ``max_bytes``.
    """
    n = len(frames.labels)
    every = [frame_traces(result, frames, k, layers=layers, net=net) for k in range(n)]
    traces = [_compact_trace([f[j] for f in every]) for j in range(len(DYNAMIC))]
    payload = {
        "token": token,
        "n_base": n_base,
        "n": n,
        "labels": [frame_label(frames, k) for k in range(n)],
        "traces": traces,
    }
    size = len(_json_key(payload))
    if size > max_bytes:
        logger.info("Replay of %d record times is %d bytes: served per frame", n, size)
        return None
    return payload
