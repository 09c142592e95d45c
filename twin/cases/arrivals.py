"""Synthetic case arrivals: a non-homogeneous Poisson process in time and space.

Time
    Cases of category ``c`` occur in local hour ``h`` (the scenario's time zone) at the
    rate ``daily_total · share[c] · hourly_weight[c, h] / 24`` [cases/h] (see
    :class:`~twin.cases.categories.CategoryTable`). The horizon is cut into blocks at the
    local hour boundaries (the first and last blocks may be partial); every (category,
    block) pair gets a Poisson count, and its cases are spread uniformly inside the block.
Space
    ``hotspots.count`` hot-spot centres are drawn at random among the nodes. A share
    ``hotspots.share`` of the cases falls near a centre (chosen with equal weight): a
    Gaussian offset with standard deviation ``hotspots.radius_m`` in projected metres,
    snapped to the nearest node. The rest fall on nodes drawn uniformly. With no hot
    spots every case is background.
Discovery
    Each case gets a source (patrol, camera AI, hotline, IoT…) by the configured shares,
    and is reported after the source's detection delay. Occurrences are generated in
    ``[0, horizon)``; cases reported at or after the horizon are dropped, and nothing
    that occurred before the start is carried in (the first hour under-counts reports by
    the cases still undetected at the start).

Every random draw comes from the one ``rng`` passed in, in a fixed order (hot-spot
centres first), so the same seed gives the same stream, and policies compared on the
same seed see the same cases.

:func:`demand_weights`, :func:`hourly_rate`, :func:`expected_count` and
:func:`expected_demand` give the *expected* demand that produced the stream, for
policies (such as pre-positioning) that plan ahead without peeking at the cases.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from twin._types import FloatArray, IntArray
from twin.cases.categories import WORK_KINDS, CategoryTable
from twin.cases.distributions import sample, sample_params
from twin.cases.stream import CaseStream
from twin.errors import ScenarioError
from twin.network.road_network import RoadNetwork
from twin.scenario import CasesConfig, HotspotConfig, OperationsConfig

__all__ = [
    "CaseGeneration",
    "NodeIndex",
    "demand_weights",
    "draw_service_times",
    "empty_stream",
    "expected_count",
    "expected_demand",
    "generate_cases",
    "hotspot_centres",
    "hourly_rate",
    "sample_case_nodes",
]

logger = logging.getLogger(__name__)

_HOUR = 3600.0
#: The hot-spot kernel of :func:`demand_weights` is integrated on a square grid of
#: ±_KERNEL_SD standard deviations, with at most _KERNEL_GRID points a side.
_KERNEL_SD = 4.0
_KERNEL_GRID = 161
_KERNEL_STEP_M = 25.0


@dataclass(frozen=True, eq=False)
class CaseGeneration:
    """The output of :func:`generate_cases`.

    Attributes
    ----------
    stream
        The cases, sorted by report time.
    hotspot_nodes
        Node positions of the hot-spot centres drawn for this run (sorted). Pass them to
        :func:`demand_weights` / :func:`expected_demand` to get the spatial intensity
        that produced the stream.
    """

    stream: CaseStream
    hotspot_nodes: IntArray


# ---------------------------------------------------------------------------- space
class NodeIndex:
    """Projected node coordinates and a k-d tree over them, to snap points to nodes.

    Attributes
    ----------
    xy
        Node coordinates in the network's projected CRS [m], shape (n_nodes, 2).
    tree
        :class:`scipy.spatial.cKDTree` over ``xy``.
    """

    def __init__(self, net: RoadNetwork) -> None:
        x, y = net.projector.forward(net.node_lon, net.node_lat)
        self.xy = np.column_stack([x, y])
        self.tree = cKDTree(self.xy)

    def snap(self, xy: FloatArray) -> IntArray:
        """Nearest node (position) of each projected point [m], shape (n, 2)."""
        if xy.shape[0] == 0:
            return np.zeros(0, dtype=np.int64)
        _, idx = self.tree.query(xy)
        return np.asarray(idx, dtype=np.int64)


def hotspot_centres(
    net: RoadNetwork, hotspots: HotspotConfig, rng: np.random.Generator
) -> IntArray:
    """Draw the hot-spot centres: ``hotspots.count`` distinct nodes, uniformly at random.

    Parameters
    ----------
    net
        The road network.
    hotspots
        The spatial-intensity settings.
    rng
        Random stream.

    Returns
    -------
    numpy.ndarray
        Sorted node positions of the centres (at most ``net.n_nodes`` of them).
    """
    count = min(hotspots.count, net.n_nodes)
    if count < hotspots.count:
        logger.warning(
            "hotspots.count = %d exceeds the %d nodes; using every node", hotspots.count, count
        )
    centres = rng.choice(net.n_nodes, size=count, replace=False)
    return np.sort(np.asarray(centres, dtype=np.int64))


def _hot_share(hotspots: HotspotConfig, centres: IntArray) -> float:
    return float(hotspots.share) if centres.size else 0.0


def sample_case_nodes(
    net: RoadNetwork,
    hotspots: HotspotConfig,
    centres: IntArray,
    size: int,
    rng: np.random.Generator,
    *,
    index: NodeIndex | None = None,
) -> IntArray:
    """Draw the nodes of ``size`` cases from the spatial intensity.

    Parameters
    ----------
    net
        The road network.
    hotspots
        Share of cases in hot spots and the hot-spot radius [m].
    centres
        Node positions of the hot-spot centres (from :func:`hotspot_centres`).
    size
        Number of cases.
    rng
        Random stream.
    index
        Prebuilt node index of ``net`` (built when omitted).

    Returns
    -------
    numpy.ndarray
        Node position of each case, shape (size,).
    """
    if index is None:
        index = NodeIndex(net)
    hot = rng.random(size) < _hot_share(hotspots, centres)
    nodes = rng.integers(0, net.n_nodes, size=size, dtype=np.int64)
    n_hot = int(hot.sum())
    if n_hot:
        which = rng.integers(0, centres.size, size=n_hot)
        offset = rng.normal(0.0, hotspots.radius_m, size=(n_hot, 2))
        nodes[hot] = index.snap(index.xy[centres[which]] + offset)
    return nodes


def demand_weights(net: RoadNetwork, cfg: CasesConfig, centres: IntArray) -> FloatArray:
    """Probability that a case falls on each node [-], shape (n_nodes,), summing to 1.

    The mixture used by :func:`generate_cases`: ``1 - share`` spread evenly over the
    nodes, plus ``share`` split evenly among the hot spots, where each hot spot's part
    is the mass of its Gaussian kernel (standard deviation ``radius_m`` [m]) that snaps
    to each node. The kernel is integrated deterministically on a square grid of
    ±4 standard deviations (spacing at most 25 m, at most 161 points a side), so the
    result is exact up to that discretisation. Compute it once per run (it takes a
    fraction of a second) and reuse it.

    Parameters
    ----------
    net
        The road network.
    cfg
        Case settings (``cfg.hotspots`` is used).
    centres
        Node positions of the hot-spot centres (:attr:`CaseGeneration.hotspot_nodes`).

    Returns
    -------
    numpy.ndarray
        Spatial probability of each node [-].
    """
    n = net.n_nodes
    centres = np.asarray(centres, dtype=np.int64)
    share = _hot_share(cfg.hotspots, centres)
    weights = np.full(n, (1.0 - share) / n)
    if share == 0.0:
        return weights
    r = cfg.hotspots.radius_m
    step = min(r / 8.0, _KERNEL_STEP_M)
    m = min(_KERNEL_GRID, 2 * math.ceil(_KERNEL_SD * r / step) + 1)
    g = np.linspace(-_KERNEL_SD * r, _KERNEL_SD * r, m)
    gx, gy = np.meshgrid(g, g)
    kernel = np.exp(-(gx.ravel() ** 2 + gy.ravel() ** 2) / (2.0 * r * r))
    kernel /= kernel.sum()
    index = NodeIndex(net)
    offsets = np.column_stack([gx.ravel(), gy.ravel()])
    points = (index.xy[centres][:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    snapped = index.snap(points)
    mass = np.bincount(snapped, weights=np.tile(kernel, centres.size), minlength=n)
    weights += share * mass / centres.size
    return weights


# ---------------------------------------------------------------------------- time
def _check_start(start: datetime) -> None:
    if start.tzinfo is None or start.utcoffset() is None:
        raise ScenarioError(
            f"start {start.isoformat()} has no time zone; pass a timezone-aware datetime "
            "(a Scenario's start always is)"
        )


def _hour_blocks(start: datetime, t0: float, t1: float) -> tuple[FloatArray, FloatArray, IntArray]:
    """Cut ``[t0, t1)`` [s since start] at local hour boundaries.

    Returns the block starts and ends [s since start] and each block's local hour (0-23).
    Boundaries follow the local hour of ``t0`` and then every 3,600 s, which stays on
    the local hour through daylight-saving changes of whole hours.
    """
    _check_start(start)
    if not t1 > t0:
        empty = np.zeros(0)
        return empty, empty, np.zeros(0, dtype=np.int64)
    tz = start.tzinfo
    first = (start.astimezone(UTC) + timedelta(seconds=t0)).astimezone(tz)
    into = first.minute * 60 + first.second + first.microsecond / 1e6
    b1 = t0 + (_HOUR - into)
    inner = b1 + _HOUR * np.arange(max(0, math.ceil((t1 - b1) / _HOUR)))
    edges = np.concatenate([[t0], inner[inner < t1], [t1]])
    lo, hi = edges[:-1], edges[1:]
    keep = hi > lo
    lo, hi = lo[keep], hi[keep]
    mid = pd.Timestamp(start).tz_convert("UTC") + pd.to_timedelta((lo + hi) / 2.0, unit="s")
    hour = np.asarray(mid.tz_convert(tz).hour, dtype=np.int64)
    return lo, hi, hour


def _block_rates(cfg: CasesConfig, table: CategoryTable, hour: IntArray) -> FloatArray:
    """Expected cases per hour of each category in each block [1/h], shape (blocks, n)."""
    rates: FloatArray = (
        cfg.daily_total / 24.0 * table.share[None, :] * table.hourly_weight[:, hour].T
    )
    return rates


def hourly_rate(cfg: CasesConfig, table: CategoryTable, *, start: datetime, t: float) -> float:
    """Expected cases per hour, all categories together, at a time of the run [1/h].

    Parameters
    ----------
    cfg
        Case settings (``daily_total``).
    table
        Case categories (shares and hour-of-day weights).
    start
        Scenario start (timezone-aware); local hours are taken in its time zone.
    t
        Time [s since start].

    Returns
    -------
    float
        ``daily_total / 24 · Σ_c share[c] · hourly_weight[c, h]`` for the local hour h
        of ``t``.
    """
    _check_start(start)
    when = (start.astimezone(UTC) + timedelta(seconds=float(t))).astimezone(start.tzinfo)
    return float(cfg.daily_total / 24.0 * (table.share @ table.hourly_weight[:, when.hour]))


def expected_count(
    cfg: CasesConfig, table: CategoryTable, *, start: datetime, at: float, window: float
) -> float:
    """Expected number of cases occurring in ``[at, at + window)`` [-].

    Parameters
    ----------
    cfg
        Case settings (``daily_total``).
    table
        Case categories.
    start
        Scenario start (timezone-aware).
    at
        Window start [s since start].
    window
        Window length [s].

    Returns
    -------
    float
        The integral of :func:`hourly_rate` over the window.
    """
    lo, hi, hour = _hour_blocks(start, at, at + window)
    rates = _block_rates(cfg, table, hour).sum(axis=1)
    return float(np.sum(rates * (hi - lo) / _HOUR))


def expected_demand(
    net: RoadNetwork,
    cfg: CasesConfig,
    table: CategoryTable,
    *,
    centres: IntArray,
    start: datetime,
    at: float,
    window: float,
    weights: FloatArray | None = None,
) -> FloatArray:
    """Expected cases per node occurring in ``[at, at + window)`` [-], shape (n_nodes,).

    ``demand_weights(net, cfg, centres) · expected_count(...)``; pass ``weights`` (from
    :func:`demand_weights`) to avoid recomputing the spatial part at every call.
    """
    if weights is None:
        weights = demand_weights(net, cfg, centres)
    out: FloatArray = weights * expected_count(cfg, table, start=start, at=at, window=window)
    return out


# ---------------------------------------------------------------------------- durations
def draw_service_times(
    category: IntArray,
    table: CategoryTable,
    operations: OperationsConfig,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Pre-draw the filing, on-site work and verification times of cases [s].

    Work times follow each case's category (``work_kind``, ``work_mean``, ``work_cv``),
    drawn kind by kind (lognormal, gamma, exponential, fixed), each group vectorised.

    Parameters
    ----------
    category
        Category index of each case.
    table
        Case categories.
    operations
        Operations-centre settings (``file_time``, ``verify_time``).
    rng
        Random stream.

    Returns
    -------
    tuple of numpy.ndarray
        ``file_time``, ``work_time``, ``verify_time`` [s], one entry per case.
    """
    n = category.shape[0]
    file_time = sample(operations.file_time, n, rng)
    work_time = np.zeros(n)
    kinds = table.work_kind[category]
    for kind in WORK_KINDS:
        idx = np.flatnonzero(kinds == kind)
        if idx.size:
            cat = category[idx]
            work_time[idx] = sample_params(kind, table.work_mean[cat], table.work_cv[cat], rng)
    verify_time = sample(operations.verify_time, n, rng)
    return file_time, work_time, verify_time


def empty_stream() -> CaseStream:
    """A case stream without cases."""
    f, i = np.zeros(0), np.zeros(0, dtype=np.int64)
    return CaseStream(f, f.copy(), i, i.copy(), i.copy(), f.copy(), f.copy(), f.copy())


# ---------------------------------------------------------------------------- generation
def generate_cases(
    net: RoadNetwork,
    cfg: CasesConfig,
    table: CategoryTable,
    *,
    start: datetime,
    horizon: float,
    rng: np.random.Generator,
    operations: OperationsConfig,
) -> CaseGeneration:
    """Draw every case of a run from the non-homogeneous Poisson process.

    Parameters
    ----------
    net
        The road network (cases fall on its nodes).
    cfg
        Case settings: ``daily_total``, ``hotspots``, ``sources``. ``cfg.replay`` is not
        read here (see :func:`twin.cases.replay.replay_cases`).
    table
        Case categories (shares, hour-of-day weights, work-time distributions).
    start
        Scenario start, timezone-aware; hours of day are local to its time zone.
    horizon
        Length of the run [s]; occurrences are drawn in ``[0, horizon)`` and cases
        reported at or after ``horizon`` are dropped.
    rng
        Random stream; the same seed gives an identical stream.
    operations
        Operations-centre settings (filing and verification times).

    Returns
    -------
    CaseGeneration
        The case stream (sorted by report time, stable) and the hot-spot centres.

    Raises
    ------
    ScenarioError
        If ``start`` is naive or ``horizon`` is not positive.
    """
    _check_start(start)
    if not horizon > 0:
        raise ScenarioError(f"horizon must be > 0 s, got {horizon}")
    centres = hotspot_centres(net, cfg.hotspots, rng)
    if not cfg.enabled:
        return CaseGeneration(empty_stream(), centres)

    # Time: Poisson counts per (block, category), uniform times inside each block.
    lo, hi, hour = _hour_blocks(start, 0.0, float(horizon))
    lam = _block_rates(cfg, table, hour) * ((hi - lo) / _HOUR)[:, None]
    counts = rng.poisson(lam).ravel()
    n_cat = len(table)
    pair = np.repeat(np.arange(counts.size), counts)
    block, category = pair // n_cat, (pair % n_cat).astype(np.int64)
    n = int(pair.size)
    occur = lo[block] + rng.random(n) * (hi - lo)[block]

    # Space, source, detection delay, service times.
    node = sample_case_nodes(net, cfg.hotspots, centres, n, rng)
    shares = np.array([s.share for s in cfg.sources])
    source = rng.choice(len(cfg.sources), size=n, p=shares / shares.sum()).astype(np.int64)
    delay = np.zeros(n)
    for k, src in enumerate(cfg.sources):
        idx = np.flatnonzero(source == k)
        delay[idx] = sample(src.delay, idx.size, rng)
    file_time, work_time, verify_time = draw_service_times(category, table, operations, rng)

    report = occur + delay
    keep = report < horizon
    order = np.flatnonzero(keep)[np.argsort(report[keep], kind="stable")]
    stream = CaseStream(
        occur_time=occur[order],
        report_time=report[order],
        category=category[order],
        source=source[order],
        node=node[order],
        file_time=file_time[order],
        work_time=work_time[order],
        verify_time=verify_time[order],
    )
    logger.info(
        "generated %d cases (%d occurred, %d reported after the horizon) over %.1f h",
        len(stream),
        n,
        n - len(stream),
        horizon / _HOUR,
    )
    return CaseGeneration(stream, centres)
