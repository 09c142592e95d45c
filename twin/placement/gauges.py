"""Water-level gauges at low points: storm ensembles, detection model, forecast skill.

Ensemble
    Each storm (a real event of the shipped catalogue, :func:`catalogue_storms`, or a
    Chicago design storm, :func:`design_storms`) drives
    :func:`twin.hydro.reservoir.simulate_ponding` at every low point of
    :func:`twin.hydro.lowpoints.low_points`. The catalogue's gauges carry no positions, so
    a storm's hyetograph falls on the whole district (as in :mod:`twin.hydro.sources`),
    scaled per point by a spatially correlated factor: lognormal with mean 1 and
    coefficient of variation ``rain_cv``, and exponential correlation
    ``exp(−d / rain_correlation_m)`` between points ``d`` metres apart, drawn once per
    storm and held through it. The factor stands for the convective cells a single
    gauge cannot show; rainfall correlation at sub-hourly scales falls off over a few
    kilometres [1]_ [2]_, but the defaults (0.25, 3 km) are **illustrative**, not fitted
    to Hangzhou.
Events
    An event is the *onset* of waterlogging at one point in one storm: the first time
    its depth reaches ``event_depth`` (by default the scenario's impeded depth, 0.15 m,
    at which traffic slows). Its lifetime runs from there to the last time the depth is
    at or above it; its impact is the road impeded meanwhile, ``affected road length
    [km] × time above event_depth [h]`` [km·h], with the point's affected edges from
    :class:`~twin.hydro.lowpoints.LowPoints`. Weight: 1 / number of storms, so the
    objectives are per storm.
Detection (the decision: a gauge sees its own point, and sends a crew to neighbours)
    - A gauge at point ``p`` detects ``p``'s onset at once (delay 0): it measures the
      depth there, read at every hydrology step.
    - A gauge at ``q`` raises an alarm when *its own* depth first reaches
      ``alarm_depth`` (by default the onset depth: ``q`` itself floods). The
      operations centre then sends a crew to check the low points within
      ``proxy_max_travel`` of ``q`` by road (free-flow travel time on the network;
      default 5 min, illustrative). The
      crew finds ``p``'s ponding at ``max(onset_p, alarm_q + travel(q → p))``; it counts
      when that falls within ``p``'s lifetime. So a gauge covers its neighbours through
      the rain they share (the correlated factor above) and the road between them.
      Alternatives rejected: "any point exceeding" as one event per storm hides which
      point floods and how long it stays hidden; a purely statistical proxy would
      detect without anyone looking.
    Impact before detection accrues linearly over the lifetime (see
    :mod:`twin.placement.impact`).
Forecast skill (objective ``skill``)
    The neural forecaster is not used here. The proxy: how much of the variance of an
    ungauged point's peak depth over the training storms the best single gauge explains,
    ``ρ²(p, q)`` (squared Pearson correlation of peak depths across storms); a gauged
    point explains itself fully. As a facility-location objective it fits the same
    solvers. The variance explained by a linear regression on *all* gauges is at least
    this (so the proxy is a lower bound on that regression's in-sample R²);
    :func:`forecast_skill` scores both out of sample on held-out storms.

References
----------
.. [1] G. J. Ciach, W. F. Krajewski, "Analysis and modeling of spatial correlation
   structure in small-scale rainfall in Central Oklahoma", *Adv. Water Resour.* 29(10),
   1450–1463, 2006.
.. [2] G. Villarini, P. V. Mandapaka, W. F. Krajewski, R. J. Moore, "Rainfall and
   sampling uncertainties: a rain gauge perspective", *J. Geophys. Res.* 113, D11102, 2008.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from twin._types import FloatArray, IntArray, StrArray
from twin.hydro.interpolation import haversine_m
from twin.hydro.lowpoints import LowPoints
from twin.hydro.rainfall import rain_interval, resample_rain
from twin.hydro.reservoir import simulate_ponding
from twin.hydro.storms import chicago_hyetograph, load_catalogue, storm_event
from twin.network.road_network import RoadNetwork
from twin.placement.errors import PlacementError
from twin.placement.impact import ImpactMatrix
from twin.scenario import DesignStormConfig

__all__ = [
    "PondingEnsemble",
    "StormSet",
    "catalogue_storms",
    "design_storms",
    "forecast_skill",
    "forecast_skill_impact",
    "gauge_candidates",
    "gauge_impact",
    "rain_factors",
    "simulate_storms",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class StormSet:
    """Storm hyetographs on one time step, each padded with dry time.

    Attributes
    ----------
    ids
        Storm ids (catalogue ``event_id`` or ``design-P<years>y-<minutes>min``).
    kind
        ``"catalogue"`` or ``"design"`` per storm.
    split
        The catalogue split (``train``/``validation``/``test``) or ``"design"``.
    rain
        Rain rate over each step [mm/h], one array per storm.
    step
        Time step [s].
    """

    ids: tuple[str, ...]
    kind: tuple[str, ...]
    split: tuple[str, ...]
    rain: tuple[FloatArray, ...]
    step: float

    def __len__(self) -> int:
        return len(self.ids)

    def __add__(self, other: StormSet) -> StormSet:
        if other.step != self.step:
            raise PlacementError(f"storm sets on different steps ({self.step} s, {other.step} s)")
        return StormSet(
            self.ids + other.ids,
            self.kind + other.kind,
            self.split + other.split,
            self.rain + other.rain,
            self.step,
        )


def _padded(values: FloatArray, step: float, pad: float, tail: float) -> FloatArray:
    head = np.zeros(round(pad / step))
    return np.concatenate([head, np.nan_to_num(values, nan=0.0), np.zeros(round(tail / step))])


def catalogue_storms(
    *,
    splits: Sequence[str] = ("train",),
    step: float = 300.0,
    pad: float = 3600.0,
    tail: float = 10800.0,
    max_storms: int | None = None,
    seed: int = 0,
    catalogue: pd.DataFrame | None = None,
    rain: xr.DataArray | None = None,
) -> StormSet:
    """Real storms of the shipped catalogue, by split (train / validation / test).

    Parameters
    ----------
    splits
        Which splits of :func:`twin.hydro.storms.load_catalogue` to take.
    step
        Time step of the returned series [s] (the record's is 300 s; others resample,
        conserving depth).
    pad, tail
        Dry time before and after each storm [s] (the tail lets ponds drain).
    max_storms
        Keep at most this many storms per split, a seeded random sample.
    seed
        Seed of that sample.
    catalogue, rain
        The catalogue and the ``(time, station)`` record it was built from (default: the
        shipped ones, :func:`~twin.hydro.storms.load_catalogue` and
        :func:`~twin.hydro.rainfall.default_rain`).

    Returns
    -------
    StormSet
        Missing readings inside a storm count as dry.
    """
    cat = load_catalogue() if catalogue is None else catalogue
    unknown = sorted(set(splits) - set(cat["split"].astype(str)))
    if unknown:
        raise PlacementError(
            f"storm split(s) {unknown} not in the catalogue; use train, validation or test"
        )
    rng = np.random.default_rng(seed)
    rows = []
    for split in splits:
        part = cat[cat["split"] == split]
        if max_storms is not None and len(part) > max_storms:
            keep = np.sort(rng.choice(len(part), size=max_storms, replace=False))
            part = part.iloc[keep]
        rows.append(part)
    table = pd.concat(rows).sort_values("start", kind="stable")
    if rain is None:
        from twin.hydro.rainfall import default_rain

        rain = default_rain()
    native = rain_interval(rain)
    series: list[FloatArray] = []
    for _, row in table.iterrows():
        # One record step either side (dry by the catalogue's definition); the rest
        # of the padding is added below.
        one = storm_event(rain, row, pad=native)
        if native != step:
            one = resample_rain(one, step)
        series.append(_padded(np.asarray(one.values, dtype=float), step, pad, tail))
    logger.info("catalogue storms: %d (%s)", len(series), ", ".join(splits))
    return StormSet(
        ids=tuple(table["event_id"].astype(str)),
        kind=("catalogue",) * len(series),
        split=tuple(table["split"].astype(str)),
        rain=tuple(series),
        step=float(step),
    )


def design_storms(
    design: DesignStormConfig,
    *,
    return_periods: Sequence[float],
    durations: Sequence[float],
    step: float = 300.0,
    pad: float = 3600.0,
    tail: float = 10800.0,
) -> StormSet:
    """Chicago design storms of one storm-intensity formula over a grid.

    Parameters
    ----------
    design
        The formula and peak position (a scenario's ``rain.design_storm``); its own
        return period and duration are replaced by the grid's.
    return_periods
        Return periods [years].
    durations
        Durations [s]; each a whole number of steps.
    step, pad, tail
        As for :func:`catalogue_storms`.
    """
    ids, series = [], []
    for p in return_periods:
        for d in durations:
            one = chicago_hyetograph(
                A=design.A,
                C=design.C,
                n=design.n,
                b=design.b,
                units=design.units,
                return_period=float(p),
                duration=float(d),
                peak_position=design.peak_position,
                dt=step,
            )
            ids.append(f"design-P{p:g}y-{d / 60:g}min")
            series.append(_padded(np.asarray(one.values, dtype=float), step, pad, tail))
    return StormSet(
        tuple(ids), ("design",) * len(ids), ("design",) * len(ids), tuple(series), float(step)
    )


def rain_factors(
    lon: FloatArray,
    lat: FloatArray,
    n_storms: int,
    *,
    cv: float,
    correlation_m: float,
    rng: np.random.Generator,
) -> FloatArray:
    """Per-storm, per-point rain multipliers: correlated lognormal, mean 1.

    ``f = exp(σ z − σ²/2)`` with ``σ² = ln(1 + cv²)`` and ``z`` Gaussian with
    correlation ``exp(−d / correlation_m)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_storms, n_points)`` [-]; all ones when ``cv`` is 0.
    """
    n = lon.shape[0]
    if cv <= 0.0 or n == 0:
        return np.ones((n_storms, n))
    d = haversine_m(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    corr = np.exp(-d / correlation_m)
    chol = np.linalg.cholesky(corr + 1e-9 * np.eye(n))
    z = rng.standard_normal((n_storms, n)) @ chol.T
    s2 = np.log1p(cv * cv)
    return np.asarray(np.exp(np.sqrt(s2) * z - s2 / 2.0), dtype=float)


@dataclass(frozen=True, eq=False)
class PondingEnsemble:
    """Waterlogging at every low point in every storm of a :class:`StormSet`.

    Times are seconds since the start of the storm's (padded) series; NaN where the
    point never reaches the depth in that storm. Arrays have shape
    ``(n_storms, n_points)``.

    Attributes
    ----------
    storms
        The storms.
    point_ids
        Low point ids.
    peak_depth
        Largest depth [m].
    onset, end
        First and last time at or above ``event_depth`` [s].
    exceed
        Total time at or above ``event_depth`` [s].
    alarm
        First time at or above ``alarm_depth`` [s].
    rain_factor
        The point's rain multiplier in the storm [-].
    event_depth, alarm_depth
        The two depths [m].
    """

    storms: StormSet
    point_ids: StrArray
    peak_depth: FloatArray
    onset: FloatArray
    end: FloatArray
    exceed: FloatArray
    alarm: FloatArray
    rain_factor: FloatArray
    event_depth: float
    alarm_depth: float


def _first_crossing(depth: FloatArray, level: float, step: float) -> FloatArray:
    """First time each column reaches ``level``, linear between step boundaries [s]."""
    above = depth >= level
    has = above.any(axis=0)
    k = np.argmax(above, axis=0)
    prev = np.maximum(k - 1, 0)
    cols = np.arange(depth.shape[1])
    d0, d1 = depth[prev, cols], depth[k, cols]
    frac = np.where(d1 > d0, (level - d0) / np.where(d1 > d0, d1 - d0, 1.0), 0.0)
    t = np.where(k > 0, (prev + np.clip(frac, 0.0, 1.0)) * step, 0.0)
    return np.where(has, t, np.nan)


def _last_crossing(depth: FloatArray, level: float, step: float) -> FloatArray:
    """Last time each column is at or above ``level``, linear to the next boundary [s]."""
    rev = depth[::-1]
    above = rev >= level
    has = above.any(axis=0)
    k = depth.shape[0] - 1 - np.argmax(above, axis=0)
    nxt = np.minimum(k + 1, depth.shape[0] - 1)
    cols = np.arange(depth.shape[1])
    d0, d1 = depth[k, cols], depth[nxt, cols]
    frac = np.where(d0 > d1, (d0 - level) / np.where(d0 > d1, d0 - d1, 1.0), 0.0)
    t = (k + np.where(nxt > k, np.clip(frac, 0.0, 1.0), 0.0)) * step
    return np.where(has, t, np.nan)


def simulate_storms(
    points: LowPoints,
    storms: StormSet,
    *,
    event_depth: float = 0.15,
    alarm_depth: float | None = None,
    rain_cv: float = 0.25,
    rain_correlation_m: float = 3000.0,
    seed: int = 0,
) -> PondingEnsemble:
    """Ponding at every low point through every storm (one ponding run per storm).

    Parameters
    ----------
    points
        The low points (:func:`twin.hydro.lowpoints.low_points`).
    storms
        The storms.
    event_depth
        Onset depth of an event [m].
    alarm_depth
        A gauge's alarm depth [m] (default: ``event_depth``).
    rain_cv, rain_correlation_m
        Spatial rain variability (see the module docstring) [-], [m].
    seed
        Seed of the rain factors.

    Returns
    -------
    PondingEnsemble
    """
    if len(storms) == 0:
        raise PlacementError("no storms to simulate; choose catalogue splits or design storms")
    alarm_depth = event_depth if alarm_depth is None else alarm_depth
    if not event_depth > 0 or not alarm_depth > 0:
        raise PlacementError(
            f"event_depth ({event_depth}) and alarm_depth ({alarm_depth}) must be > 0 [m]"
        )
    rng = np.random.default_rng(seed)
    factors = rain_factors(
        points.lon, points.lat, len(storms), cv=rain_cv, correlation_m=rain_correlation_m, rng=rng
    )
    n_s, n_p = len(storms), len(points)
    out = {k: np.full((n_s, n_p), np.nan) for k in ("peak", "onset", "end", "alarm")}
    exceed = np.zeros((n_s, n_p))
    for i, rain in enumerate(storms.rain):
        result = simulate_ponding(points.params, rain[:, None] * factors[i][None, :], storms.step)
        depth = result.water_depth
        out["peak"][i] = depth.max(axis=0)
        out["onset"][i] = _first_crossing(depth, event_depth, storms.step)
        out["end"][i] = _last_crossing(depth, event_depth, storms.step)
        out["alarm"][i] = _first_crossing(depth, alarm_depth, storms.step)
        exceed[i] = (depth[1:] >= event_depth).sum(axis=0) * storms.step
    logger.info(
        "ponding ensemble: %d storms x %d points, %d onsets",
        n_s,
        n_p,
        int(np.isfinite(out["onset"]).sum()),
    )
    return PondingEnsemble(
        storms=storms,
        point_ids=points.ids,
        peak_depth=out["peak"],
        onset=out["onset"],
        end=out["end"],
        exceed=exceed,
        alarm=out["alarm"],
        rain_factor=factors,
        event_depth=float(event_depth),
        alarm_depth=float(alarm_depth),
    )


def gauge_candidates(points: LowPoints, *, cost: float = 1.0) -> pd.DataFrame:
    """One candidate gauge per low point (``candidate_id`` ``"gauge:<point id>"``)."""
    return pd.DataFrame(
        {
            "candidate_id": [f"gauge:{p}" for p in points.ids],
            "technology": "gauge",
            "cost": float(cost),
            "lon": points.lon,
            "lat": points.lat,
            "point": np.arange(len(points)),
            "node": points.node,
            "name": points.names,
            "kind": points.kinds,
        }
    )


def _affected_km(points: LowPoints, net: RoadNetwork) -> FloatArray:
    return np.array([float(net.length[e].sum()) / 1000.0 for e in points.edges])


def gauge_impact(
    ensemble: PondingEnsemble,
    points: LowPoints,
    net: RoadNetwork,
    *,
    proxy_max_travel: float = 300.0,
    cost: float = 1.0,
) -> ImpactMatrix:
    """The impact matrix of gauges at low points over a ponding ensemble.

    Parameters
    ----------
    ensemble
        From :func:`simulate_storms` on the same ``points``.
    points
        The low points (candidates: one gauge each).
    net
        The network: crews' free-flow travel times between points, affected lengths.
    proxy_max_travel
        Farthest a crew is sent from an alarming gauge [s] (0: gauges see only their
        own point).
    cost
        Cost of one gauge [budget unit].

    Returns
    -------
    ImpactMatrix
        Events ``"<storm id>|<point id>"`` with columns ``storm``, ``point``, ``onset``
        [s], ``peak_depth`` [m]; impact in km·h of impeded road.
    """
    if ensemble.point_ids.shape[0] != len(points) or not np.array_equal(
        ensemble.point_ids, points.ids
    ):
        raise PlacementError("the ensemble was simulated on other low points than `points`")
    s_idx, p_idx = np.nonzero(np.isfinite(ensemble.onset))
    onset = ensemble.onset[s_idx, p_idx]
    end = ensemble.end[s_idx, p_idx]
    life = np.maximum(end - onset, ensemble.storms.step * 1e-3)
    km = _affected_km(points, net)
    impact = km[p_idx] * ensemble.exceed[s_idx, p_idx] / 3600.0
    n_storms = len(ensemble.storms)
    storm_ids = np.asarray(ensemble.storms.ids, dtype=object)
    events = pd.DataFrame(
        {
            "event_id": [
                f"{s}|{p}" for s, p in zip(storm_ids[s_idx], points.ids[p_idx], strict=True)
            ],
            "technology": "gauge",
            "weight": 1.0 / n_storms,
            "lifetime": life,
            "impact": impact,
            "storm": storm_ids[s_idx],
            "point": p_idx,
            "onset": onset,
            "peak_depth": ensemble.peak_depth[s_idx, p_idx],
        }
    )
    n_e = s_idx.size
    rec_e = [np.arange(n_e)]
    rec_c = [p_idx]
    rec_t = [np.zeros(n_e)]
    if proxy_max_travel > 0 and n_e:
        tt = net.travel_time_matrix(points.node, points.node, by_position=True)
        q_of, p_of = np.nonzero((tt <= proxy_max_travel) & ~np.eye(len(points), dtype=bool))
        # pairs (event, proxy q) for every event at p with a neighbour q
        order = np.argsort(p_of, kind="stable")
        q_of, p_of = q_of[order], p_of[order]
        first = np.searchsorted(p_of, np.arange(len(points) + 1))
        counts = first[p_idx + 1] - first[p_idx]
        ev_rep = np.repeat(np.arange(n_e), counts)
        offs = np.arange(ev_rep.size) - np.repeat(np.cumsum(counts) - counts, counts)
        pair = np.repeat(first[p_idx], counts) + offs
        q = q_of[pair]
        alarm = ensemble.alarm[s_idx[ev_rep], q]
        found = np.maximum(onset[ev_rep], alarm + tt[q, p_idx[ev_rep]])
        delay = found - onset[ev_rep]
        ok = np.isfinite(delay) & (delay <= life[ev_rep])
        rec_e.append(ev_rep[ok])
        rec_c.append(q[ok])
        rec_t.append(delay[ok])
    e = np.concatenate(rec_e)
    t = np.concatenate(rec_t)
    return ImpactMatrix(
        events=events,
        candidates=gauge_candidates(points, cost=cost),
        event=e,
        candidate=np.concatenate(rec_c),
        time=t,
        impact=impact[e] * t / life[e],
        meta={
            "builder": "gauge_impact",
            "storms": n_storms,
            "event_depth_m": ensemble.event_depth,
            "alarm_depth_m": ensemble.alarm_depth,
            "proxy_max_travel_s": proxy_max_travel,
            "impact_unit": "km·h of impeded road",
            "weight": "1 / storms",
        },
    )


def _r2_matrix(peak: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Squared correlation of peak depths between points, and which points vary."""
    sd = peak.std(axis=0)
    varies = sd > 1e-9
    r2 = np.zeros((peak.shape[1], peak.shape[1]))
    if varies.sum() >= 1:
        sub = peak[:, varies]
        c = np.corrcoef(sub, rowvar=False) if sub.shape[1] > 1 else np.ones((1, 1))
        r2[np.ix_(varies, varies)] = np.nan_to_num(np.atleast_2d(c)) ** 2
    np.fill_diagonal(r2, 1.0)
    return r2, varies


def forecast_skill_impact(
    ensemble: PondingEnsemble, points: LowPoints, *, cost: float = 1.0
) -> ImpactMatrix:
    """Impact matrix of the forecast-skill proxy (objective ``"skill"``).

    Events are the low points whose peak depth varies across the ensemble's storms
    (weight 1 / their number); a gauge at ``q`` "detects" point ``p`` with impact
    ``1 − ρ²(p, q)``, the share of ``p``'s peak-depth variance it leaves unexplained;
    undetected impact 1. Time and lifetime are nominal (0 and 1 s).
    """
    if ensemble.point_ids.shape[0] != len(points):
        raise PlacementError("the ensemble was simulated on other low points than `points`")
    r2, varies = _r2_matrix(ensemble.peak_depth)
    targets = np.flatnonzero(varies)
    if targets.size == 0:
        raise PlacementError(
            "empty impact matrix: no low point's peak depth varies across the storms, so "
            "there is nothing to forecast; use more storms"
        )
    sub = r2[targets]  # (event, candidate)
    e, c = np.nonzero(sub > 1e-12)
    events = pd.DataFrame(
        {
            "event_id": [f"skill|{p}" for p in points.ids[targets]],
            "technology": "gauge",
            "weight": 1.0 / targets.size,
            "lifetime": 1.0,
            "impact": 1.0,
            "point": targets,
        }
    )
    return ImpactMatrix(
        events=events,
        candidates=gauge_candidates(points, cost=cost),
        event=e,
        candidate=c,
        time=np.zeros(e.size),
        impact=np.clip(1.0 - sub[e, c], 0.0, 1.0),
        meta={
            "builder": "forecast_skill_impact",
            "storms": len(ensemble.storms),
            "impact_unit": "unexplained share of peak-depth variance",
        },
    )


def forecast_skill(
    train: PondingEnsemble, test: PondingEnsemble, gauged: Sequence[int] | IntArray
) -> dict[str, float]:
    """Out-of-sample skill of gauged points at predicting the ungauged ones' peak depth.

    For each ungauged point whose peak depth varies in the test storms: a linear
    regression (with intercept) of its peak depth on the gauged points' peak depths,
    fitted on ``train`` and scored on ``test`` (R² against the test mean), and the
    best single gauge's squared correlation on ``test`` (the proxy the optimiser used).

    Returns
    -------
    dict
        ``regression_r2`` and ``proxy_r2`` (means over the scored points) [-],
        ``points_scored``.
    """
    g = np.asarray(gauged, dtype=np.int64)
    n = train.peak_depth.shape[1]
    others = np.setdiff1d(np.arange(n), g)
    y_test_all = test.peak_depth
    varies = y_test_all.std(axis=0) > 1e-9
    targets = others[varies[others]]
    if targets.size == 0:
        return {"regression_r2": float("nan"), "proxy_r2": float("nan"), "points_scored": 0}
    if g.size == 0:
        return {"regression_r2": 0.0, "proxy_r2": 0.0, "points_scored": int(targets.size)}
    x_tr = np.column_stack([np.ones(train.peak_depth.shape[0]), train.peak_depth[:, g]])
    x_te = np.column_stack([np.ones(test.peak_depth.shape[0]), test.peak_depth[:, g]])
    coef, *_ = np.linalg.lstsq(x_tr, train.peak_depth[:, targets], rcond=None)
    pred = x_te @ coef
    y = y_test_all[:, targets]
    sse = ((y - pred) ** 2).sum(axis=0)
    sst = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    r2_reg = 1.0 - sse / sst
    r2, _ = _r2_matrix(test.peak_depth)
    proxy = r2[np.ix_(targets, g)].max(axis=1)
    return {
        "regression_r2": float(np.mean(r2_reg)),
        "proxy_r2": float(np.mean(proxy)),
        "points_scored": int(targets.size),
    }
