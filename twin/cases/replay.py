"""Replay historical cases from a CSV, through a documented column mapping.

A :class:`~twin.scenario.ReplayConfig` names the CSV and maps its columns:

``mapping``
    ``time`` (report time) and ``category`` are required; ``lon`` and ``lat`` (WGS84
    degrees) are required unless ``relocate`` is ``"sample"``; ``source`` (the channel
    the case came through) and ``id`` are optional. Keys are these six names, values are
    CSV column names.
``category_map``
    Raw category value → category code of the run's
    :class:`~twin.cases.categories.CategoryTable`. A raw value that is already a code is
    accepted as is.
``relocate``
    ``"none"``: use the coordinates as they are. ``"bbox"``: map the bounding box of the
    CSV's coordinates affinely (each axis stretched on its own) onto the network's
    bounding box, a way to reuse another city's case mix and rough spatial pattern;
    **the result is not geographically real**. ``"sample"``: ignore the coordinates and
    draw the locations from the scenario's spatial intensity (hot spots over a uniform
    background, see :mod:`twin.cases.arrivals`).
``time_shift``
    ``"align_start"``: shift all times so that the first usable case is reported at the
    scenario start, gaps kept. ``"none"``: take the times as they are (naive times are
    read in the scenario's time zone).

Rows that cannot be used are never dropped silently: each is skipped with its CSV line
number and the reason in the :class:`ImportReport`, a warning names the first few (line
and reason) and the count, and the good rows stay; with ``strict: true`` (``twin run
--strict``) any such row is an error instead. Reasons:
malformed row, unparseable time, unknown category, missing or invalid coordinates,
location farther than 500 m from every node, duplicate id, reported before the start
or at/after the horizon. Only a missing file, a mapped column absent from the CSV, a bad
mapping, a file without a single usable row, or (with ``strict``) any skipped row raise
:class:`~twin.errors.ScenarioError`.

Replayed cases have no detection delay: the CSV time is the report time, and
``occur_time = report_time``. Filing, on-site work and verification times are drawn as
for generated cases (:func:`twin.cases.arrivals.draw_service_times`).

The bundled example, ``data/cases/nyc_311_sample.csv`` with
``data/cases/nyc_311_mapping.yaml``, is 1,000 real NYC 311 requests (about 3 hours of
New York, not Hangzhou): a schema and category-mix example only.
"""

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import FloatArray, IntArray, StrArray
from twin.cases.arrivals import NodeIndex, draw_service_times, hotspot_centres, sample_case_nodes
from twin.cases.categories import CategoryTable
from twin.cases.replay_config import (
    MAPPING_KEYS,
    MAX_LISTED,
    check_replay_config,
    load_replay_config,
    resolve_path,
)
from twin.cases.replay_csv import parse_floats, parse_times, read_columns
from twin.cases.replay_sources import source_indices
from twin.cases.stream import CaseStream
from twin.errors import ScenarioError
from twin.network.road_network import RoadNetwork
from twin.scenario import CasesConfig, OperationsConfig, ReplayConfig

__all__ = [
    "MAPPING_KEYS",
    "MAX_DISTANCE_M",
    "ImportReport",
    "ReplayResult",
    "load_replay_config",
    "replay_cases",
    "resolve_path",
]

logger = logging.getLogger(__name__)

#: A row whose location lies farther than this from every node is skipped [m].
MAX_DISTANCE_M = 500.0


@dataclass(frozen=True)
class ImportReport:
    """What happened to each row of a replayed CSV.

    Attributes
    ----------
    path
        The CSV read.
    rows_read
        Data rows in the file (blank lines not counted).
    rows_accepted
        Rows that became cases.
    rejected
        ``(line, reason)`` of every skipped row, ``line`` being the CSV line number
        (1-based, the header is line 1 in a file without comments), ``reason`` of the
        form ``"kind: details"``.
    notes
        How raw source values were matched to the configured sources, and other
        remarks that did not reject a row.
    """

    path: str
    rows_read: int
    rows_accepted: int
    rejected: tuple[tuple[int, str], ...]
    notes: tuple[str, ...] = ()

    @property
    def rows_rejected(self) -> int:
        """Number of skipped rows."""
        return len(self.rejected)

    def reason_counts(self) -> dict[str, int]:
        """Skipped rows per kind of reason (the text before the first colon)."""
        return dict(Counter(r.split(":", 1)[0] for _, r in self.rejected).most_common())

    def to_frame(self) -> pd.DataFrame:
        """One row per skipped CSV row: ``line``, ``reason``."""
        return pd.DataFrame(list(self.rejected), columns=["line", "reason"])

    def examples(self, limit: int = MAX_LISTED) -> str:
        """The first ``limit`` skipped rows as ``line N: reason``, and how many more."""
        shown = "; ".join(f"line {ln}: {r}" for ln, r in self.rejected[:limit])
        more = self.rows_rejected - limit
        return shown + (f"; and {more} more" if more > 0 else "")

    def summary(self) -> str:
        """One line: rows read, accepted, and skipped by reason."""
        skipped = ", ".join(f"{k} {v}" for k, v in self.reason_counts().items())
        return (
            f"{self.path}: {self.rows_read} rows read, {self.rows_accepted} accepted, "
            f"{self.rows_rejected} skipped" + (f" ({skipped})" if skipped else "")
        )


@dataclass(frozen=True, eq=False)
class ReplayResult:
    """The output of :func:`replay_cases`.

    Attributes
    ----------
    stream
        The replayed cases, sorted by report time (ties in file order).
    report
        Rows read, accepted and skipped (with line numbers and reasons).
    hotspot_nodes
        Hot-spot centres drawn for ``relocate="sample"``; empty otherwise (the replayed
        locations are then the demand: ``np.bincount(stream.node, minlength=n_nodes)``).
    line
        CSV line number of each case, in stream order.
    case_id
        Value of the ``id`` column of each case, in stream order (``""`` without one).
    """

    stream: CaseStream
    report: ImportReport
    hotspot_nodes: IntArray
    line: IntArray
    case_id: StrArray


def _bbox_map(
    lon: FloatArray, lat: FloatArray, ok: npt.NDArray[np.bool_], net: RoadNetwork
) -> tuple[FloatArray, FloatArray]:
    """Map the bounding box of the valid points affinely onto the network's [deg]."""

    def axis(v: FloatArray, target: FloatArray) -> FloatArray:
        lo, hi = float(v[ok].min()), float(v[ok].max())
        t_lo, t_hi = float(target.min()), float(target.max())
        if hi - lo <= 0.0:
            return np.full(v.shape, (t_lo + t_hi) / 2.0)
        out: FloatArray = t_lo + (v - lo) * (t_hi - t_lo) / (hi - lo)
        return out

    return axis(lon, net.node_lon), axis(lat, net.node_lat)


class _Reasons:
    """The first reason each row is skipped for ("" while the row is still good)."""

    def __init__(self, n: int) -> None:
        self.text = np.full(n, "", dtype=object)

    @property
    def good(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.text == "", dtype=bool)

    def add(self, mask: npt.NDArray[np.bool_], why: str | Callable[[IntArray], list[str]]) -> None:
        """Skip the still-good rows of ``mask``; ``why`` is a text or makes one per row."""
        idx = np.flatnonzero(mask & self.good)
        if idx.size:
            self.text[idx] = why if isinstance(why, str) else np.array(why(idx), dtype=object)


# ---------------------------------------------------------------------------- replay


def replay_cases(
    net: RoadNetwork,
    cfg: CasesConfig,
    table: CategoryTable,
    *,
    start: datetime,
    horizon: float,
    rng: np.random.Generator,
    operations: OperationsConfig,
    replay: ReplayConfig | None = None,
    base_dir: str | Path | None = None,
) -> ReplayResult:
    """Turn a CSV of historical cases into a case stream.

    Parameters
    ----------
    net
        The road network (cases are snapped to its nodes).
    cfg
        Case settings: ``cfg.replay`` (unless ``replay`` is given), ``cfg.sources``
        (channel names), ``cfg.hotspots`` (for ``relocate="sample"``).
    table
        Case categories; ``category_map`` values must be its codes.
    start
        Scenario start (timezone-aware); naive CSV times are read in its time zone.
    horizon
        Length of the run [s]; rows reported before the start or at/after the horizon
        are skipped and reported.
    rng
        Random stream (service times; locations for ``relocate="sample"``).
    operations
        Operations-centre settings (filing and verification times).
    replay
        The replay settings; defaults to ``cfg.replay``.
    base_dir
        Folder to resolve a relative CSV path against first (the scenario's folder).

    Returns
    -------
    ReplayResult
        The stream, the import report, the CSV line and id of each case.

    Raises
    ------
    ScenarioError
        No replay settings, the file is missing, the mapping is incomplete or names a
        column the CSV lacks (the message lists the available columns), the category map
        names unknown codes, or no row is usable (the message gives the reasons).
    """
    replay = replay or cfg.replay
    if replay is None:
        raise ScenarioError("cases.replay is not set; give a path and a column mapping")
    if start.tzinfo is None or start.utcoffset() is None:
        raise ScenarioError(f"start {start.isoformat()} has no time zone; pass an aware one")
    if not horizon > 0:
        raise ScenarioError(f"horizon must be > 0 s, got {horizon}")
    check_replay_config(replay, table)
    path = resolve_path(replay.path, base_dir=base_dir)
    used = {k: c for k, c in replay.mapping.items() if c}
    if replay.relocate == "sample":
        used = {k: c for k, c in used.items() if k not in ("lon", "lat")}
    lines, values, malformed = read_columns(path, used)
    n = int(lines.size)
    why = _Reasons(n)

    # Time.
    raw_time = values["time"]
    when = parse_times(raw_time, start.tzinfo)
    empty_time = np.array([v == "" for v in raw_time], dtype=bool)
    why.add(~np.isfinite(when) & empty_time, "unparseable time: empty")
    why.add(~np.isfinite(when), lambda idx: [f"unparseable time: {raw_time[i]!r}" for i in idx])

    # Category: one lookup per distinct raw value.
    uniq, inverse = np.unique(np.asarray(values["category"], dtype=np.str_), return_inverse=True)
    code_of = np.array(
        [_category_index(str(v), replay, table) for v in uniq.tolist()], dtype=np.int64
    )
    category = code_of[inverse] if n else np.zeros(0, dtype=np.int64)
    why.add(
        category < 0,
        lambda idx: [
            f"unknown category: {str(uniq[inverse[i]])!r} is not in category_map nor a "
            "category code"
            for i in idx
        ],
    )

    # Location.
    index = NodeIndex(net)
    node = np.zeros(n, dtype=np.int64)
    if replay.relocate != "sample":
        lon, lat = parse_floats(values["lon"]), parse_floats(values["lat"])
        missing = ~(np.isfinite(lon) & np.isfinite(lat))
        invalid = ~missing & ((np.abs(lon) > 180.0) | (np.abs(lat) > 90.0))
        why.add(missing, "missing coordinates: lon/lat empty or not numbers")
        why.add(invalid, "invalid coordinates: lon/lat out of range")
        ok = ~missing & ~invalid
        if replay.relocate == "bbox" and ok.any():
            lon, lat = _bbox_map(lon, lat, ok, net)
        x, y = net.projector.forward(np.where(ok, lon, 0.0), np.where(ok, lat, 0.0))
        xy = np.column_stack([x, y])
        ok &= np.isfinite(xy).all(axis=1)
        dist = np.full(n, np.inf)
        if ok.any():
            d, i = index.tree.query(xy[ok])
            dist[ok], node[ok] = d, i
        why.add(
            ok & (dist > MAX_DISTANCE_M),
            lambda idx: [
                f"outside the network: {dist[i]:.0f} m from the nearest node "
                f"(more than {MAX_DISTANCE_M:.0f} m)"
                for i in idx
            ],
        )

    # Duplicate ids: every repeat after the first in the file.
    case_id = np.asarray(values["id"], dtype=np.str_) if "id" in values else np.full(n, "")
    if "id" in values and n:
        _, first, inv = np.unique(case_id, return_index=True, return_inverse=True)
        dup = (np.arange(n) != first[inv]) & (case_id != "")
        why.add(
            dup,
            lambda idx: [
                f"duplicate id: {str(case_id[i])!r} (first on line {lines[first[inv[i]]]})"
                for i in idx
            ],
        )

    # Time frame.
    good = why.good
    if replay.time_shift == "align_start" and good.any():
        t = when - float(np.min(when[good]))
    else:
        t = when - start.timestamp()
    why.add(t < 0.0, lambda idx: [f"before the start: {-t[i]:.0f} s before it" for i in idx])
    why.add(t >= horizon, lambda idx: [f"after the horizon: at {t[i]:.0f} s" for i in idx])

    good = why.good
    rejected = sorted(
        [*malformed, *((int(lines[i]), str(why.text[i])) for i in np.flatnonzero(~good))]
    )
    keep = np.flatnonzero(good)
    if keep.size == 0:
        counts = Counter(r.split(":", 1)[0] for _, r in rejected).most_common()
        examples = "; ".join(f"line {ln}: {r}" for ln, r in rejected[:MAX_LISTED])
        raise ScenarioError(
            f"{path}: no usable row among {n + len(malformed)} "
            f"({', '.join(f'{k}: {v}' for k, v in counts) or 'no data rows'}). "
            f"First: {examples or '-'}. Check the mapping, category_map, relocate "
            f"({replay.relocate}) and time_shift ({replay.time_shift})."
        )

    # Stream, in report-time order (ties keep the file order).
    order = keep[np.argsort(t[keep], kind="stable")]
    notes: list[str] = []
    src_raw = [values["source"][i] for i in order.tolist()] if "source" in values else None
    source = source_indices(src_raw, order.size, cfg.sources, notes)
    centres = np.zeros(0, dtype=np.int64)
    if replay.relocate == "sample":
        centres = hotspot_centres(net, cfg.hotspots, rng)
        node[order] = sample_case_nodes(net, cfg.hotspots, centres, order.size, rng, index=index)
    cat = category[order]
    file_time, work_time, verify_time = draw_service_times(cat, table, operations, rng)
    report_time = t[order]
    stream = CaseStream(
        occur_time=report_time.copy(),
        report_time=report_time,
        category=cat,
        source=source,
        node=node[order],
        file_time=file_time,
        work_time=work_time,
        verify_time=verify_time,
    )
    report = ImportReport(
        path=str(path),
        rows_read=n + len(malformed),
        rows_accepted=int(order.size),
        rejected=tuple(rejected),
        notes=tuple(notes),
    )
    _check_bad_rows(report, strict=replay.strict)
    logger.info("%s", report.summary())
    return ReplayResult(
        stream=stream,
        report=report,
        hotspot_nodes=centres,
        line=lines[order],
        case_id=case_id[order],
    )


#: Reasons that skip a good row because it falls outside the run's time window.
OUT_OF_WINDOW = ("before the start", "after the horizon")


def _check_bad_rows(report: ImportReport, *, strict: bool) -> None:
    """Warn about the rows that cannot be used (raise, when ``strict``).

    Rows outside the run's time window are not bad rows: they are counted in the report
    (and logged at info level) but neither warned about nor an error.
    """
    bad = tuple(r for r in report.rejected if r[1].split(":", 1)[0] not in OUT_OF_WINDOW)
    if not bad:
        return
    listed = ImportReport(report.path, report.rows_read, report.rows_accepted, bad)
    share = len(bad) / max(report.rows_read, 1)
    if strict:
        raise ScenarioError(
            f"{report.path}: {len(bad)} of {report.rows_read} rows ({share:.0%}) cannot be "
            f"used (strict replay): {listed.examples()}. Fix or remove these rows, or "
            "replay without --strict (cases.replay.strict: false) to skip them."
        )
    kinds = ", ".join(f"{k} {n}" for k, n in listed.reason_counts().items())
    logger.warning(
        "%s: skipped %d of %d rows (%.0f%%: %s) that cannot be used, kept the rest: %s. "
        "Use --strict (or cases.replay.strict: true) to make this an error.",
        report.path, len(bad), report.rows_read, 100 * share, kinds, listed.examples(),
    )  # fmt: skip


def _category_index(raw: str, replay: ReplayConfig, table: CategoryTable) -> int:
    """Table index of a raw category value, or -1 when it maps to nothing."""
    if raw in replay.category_map:
        return table.index_of(replay.category_map[raw])
    return table.index_of(raw) if table.has_code(raw) else -1
