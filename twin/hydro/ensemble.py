"""Storm ensembles: catalogued events and design storms, run through the ponding physics.

One :class:`StormSet` holds many storms' hyetographs on one time step, each padded with
time before and after it: real events of the shipped storm catalogue
(:func:`catalogue_storms`) and Chicago design storms over a grid of return periods,
durations and peak positions (:func:`design_storms`). :func:`simulate_ensemble` runs
:func:`twin.hydro.reservoir.simulate_ponding` storm by storm at every low point at once.
Forecasting (:mod:`twin.forecast.data`: training data) and sensor placement
(:mod:`twin.placement.ponding_events`: ponding events) both build on these.

Rain at the low points
    The catalogue's gauges carry no positions, so a storm's hyetograph falls on the whole
    district, times a per-point factor for the convective cells a single gauge cannot
    show. :func:`rain_factors` draws spatially correlated lognormal factors (mean 1); the
    caller may give any factors (one array per storm), or none (uniform rain).
Padding
    ``"dry"``: zeros before and after the storm (the record's own step either side of
    the event is kept). ``"record"``: the gauge record itself around the event (it may
    hold light rain below the catalogue's event threshold, and gaps, read as dry).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from twin._types import FloatArray
from twin.errors import ScenarioError
from twin.hydro.interpolation import haversine_m
from twin.hydro.lowpoints import LowPoints
from twin.hydro.rainfall import rain_interval, resample_rain
from twin.hydro.reservoir import simulate_ponding
from twin.hydro.storms import chicago_hyetograph, load_catalogue, storm_event
from twin.scenario import DesignStormConfig

__all__ = [
    "DESIGN_ID",
    "SPLITS",
    "StormSet",
    "catalogue_storms",
    "design_storms",
    "rain_factors",
    "simulate_ensemble",
]

logger = logging.getLogger(__name__)

#: The catalogue's splits (one label per storm day, see
#: :func:`twin.hydro.storms.storm_catalogue`).
SPLITS = ("train", "validation", "test")
#: Default id of a design storm; fields ``period`` [years], ``minutes`` (duration) [min]
#: and ``peak_pct`` (peak position) [%].
DESIGN_ID = "design-P{period:g}y-{minutes:g}min"

Padding = Literal["dry", "record"]


@dataclass(frozen=True, eq=False)
class StormSet:
    """Storm hyetographs on one time step, each padded before and after the storm.

    Attributes
    ----------
    ids
        Storm ids (catalogue ``event_id``, or a design storm's id).
    kind
        ``"catalogue"`` or ``"design"`` per storm.
    split
        Per storm: the catalogue split (``train``/``validation``/``test``) or the split a
        design storm was given.
    rain
        Rain rate over each step [mm/h], one array per storm (the step starting at row
        ``k`` is ``[k·step, (k+1)·step)``).
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
            raise ScenarioError(
                f"storm sets on different steps ({self.step} s, {other.step} s); build both "
                "with the same step"
            )
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


def _sample(
    cat: pd.DataFrame, splits: Sequence[str], max_storms: int | None, rng: np.random.Generator
) -> pd.DataFrame:
    """The catalogue rows of ``splits``, at most ``max_storms`` per split, in its order."""
    cat = cat[cat["split"].isin(list(splits))]
    if max_storms is None:
        return cat
    keep: list[int] = []
    for name in splits:
        idx = np.flatnonzero(cat["split"].to_numpy() == name)
        if idx.size > max_storms:
            idx = np.sort(rng.choice(idx, size=max_storms, replace=False))
        keep.extend(idx.tolist())
    return cat.iloc[sorted(keep)]


def _naive_utc(value: object) -> pd.Timestamp:
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts


def _event_rain(
    rain: xr.DataArray, row: pd.Series, *, step: float, pad: float, tail: float, padding: Padding
) -> FloatArray:
    """One catalogued event on ``step``, padded before and after [mm/h]."""
    native = rain_interval(rain)
    if padding == "record":
        one = storm_event(rain, row, pad=max(pad, tail))
        first = _naive_utc(row["start"]) - pd.Timedelta(seconds=pad)
        last = _naive_utc(row["end"]) - pd.Timedelta(seconds=native - tail)
        one = one.sel(time=slice(first, last))
        if native != step:
            one = resample_rain(one, step)
        return np.nan_to_num(np.asarray(one.values, dtype=np.float64), nan=0.0)
    # One record step either side (dry by the catalogue's definition); the rest of the
    # padding is zeros.
    one = storm_event(rain, row, pad=native)
    if native != step:
        one = resample_rain(one, step)
    return _padded(np.asarray(one.values, dtype=float), step, pad, tail)


def catalogue_storms(
    *,
    splits: Sequence[str] = ("train",),
    step: float = 300.0,
    pad: float = 3600.0,
    tail: float = 10800.0,
    padding: Padding = "dry",
    max_storms: int | None = None,
    seed: int | np.random.Generator,
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
        Time kept before and after each storm [s] (the tail lets ponds drain).
    padding
        ``"dry"`` (zeros) or ``"record"`` (the gauge record around the event; see the
        module docstring).
    max_storms
        Keep at most this many storms per split, a seeded random sample.
    seed
        Seed of that sample, or the generator to draw it from (a caller's stream: the
        draws continue it).
    catalogue, rain
        The catalogue and the ``(time, station)`` record it was built from (default: the
        shipped ones, :func:`~twin.hydro.storms.load_catalogue` and
        :func:`~twin.hydro.rainfall.default_rain`; the record is read only when a storm
        is kept).

    Returns
    -------
    StormSet
        In catalogue order (by start); missing readings count as dry.

    Raises
    ------
    ScenarioError
        A split other than train, validation or test.
    """
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown:
        raise ScenarioError(
            f"storm split(s) {unknown} not in the catalogue; use train, validation or test"
        )
    rng = np.random.default_rng(seed)
    cat = load_catalogue() if catalogue is None else catalogue
    table = _sample(cat, splits, max_storms, rng)
    series: list[FloatArray] = []
    if len(table):
        if rain is None:
            from twin.hydro.rainfall import default_rain

            rain = default_rain()
        for _, row in table.iterrows():
            series.append(_event_rain(rain, row, step=step, pad=pad, tail=tail, padding=padding))
    logger.info("catalogue storms: %d (%s)", len(series), ", ".join(splits))
    return StormSet(
        ids=tuple(table["event_id"].astype(str)),
        kind=("catalogue",) * len(series),
        split=tuple(table["split"].astype(str)),
        rain=tuple(series),
        step=float(step),
    )


def design_storms(
    formula: DesignStormConfig,
    *,
    return_periods: Sequence[float],
    durations: Sequence[float],
    peak_positions: Sequence[float] | None = None,
    step: float = 300.0,
    pad: float = 3600.0,
    tail: float = 10800.0,
    split: str = "design",
    name: str = DESIGN_ID,
) -> StormSet:
    """Chicago design storms of one storm-intensity formula over a grid.

    Parameters
    ----------
    formula
        The formula (a scenario's ``rain.design_storm``); its own return period and
        duration are replaced by the grid's, and its peak position by
        ``peak_positions`` when given.
    return_periods
        Return periods [years].
    durations
        Durations [s]; each a whole number of steps.
    peak_positions
        Peak positions [-] (default: the formula's).
    step, pad, tail
        As for :func:`catalogue_storms` (the padding is dry).
    split
        The split label of every design storm.
    name
        Id of a storm, formatted with ``period`` [years], ``minutes`` [min] and
        ``peak_pct`` [%] (default :data:`DESIGN_ID`).

    Returns
    -------
    StormSet
        Return period outermost, then duration, then peak position.
    """
    peaks = (formula.peak_position,) if peak_positions is None else tuple(peak_positions)
    ids, series = [], []
    for p in return_periods:
        for d in durations:
            for r in peaks:
                one = chicago_hyetograph(
                    A=formula.A,
                    C=formula.C,
                    n=formula.n,
                    b=formula.b,
                    units=formula.units,
                    return_period=float(p),
                    duration=float(d),
                    peak_position=r,
                    dt=step,
                )
                ids.append(name.format(period=p, minutes=d / 60, peak_pct=round(r * 100)))
                series.append(_padded(np.asarray(one.values, dtype=float), step, pad, tail))
    n = len(ids)
    return StormSet(tuple(ids), ("design",) * n, (split,) * n, tuple(series), float(step))


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
    correlation ``exp(−d / correlation_m)`` between points ``d`` metres apart. Rainfall
    correlation at sub-hourly scales falls off over a few kilometres [1]_ [2]_.

    Parameters
    ----------
    lon, lat
        Positions of the points [deg].
    n_storms
        Number of storms (one independent field each).
    cv
        Coefficient of variation of the factor [-].
    correlation_m
        Correlation length [m].
    rng
        Random stream.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_storms, n_points)`` [-]; all ones when ``cv`` is 0.

    References
    ----------
    .. [1] G. J. Ciach, W. F. Krajewski, "Analysis and modeling of spatial correlation
       structure in small-scale rainfall in Central Oklahoma", *Adv. Water Resour.*
       29(10), 1450–1463, 2006.
    .. [2] G. Villarini, P. V. Mandapaka, W. F. Krajewski, R. J. Moore, "Rainfall and
       sampling uncertainties: a rain gauge perspective", *J. Geophys. Res.* 113,
       D11102, 2008.
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


def simulate_ensemble(
    points: LowPoints, storms: StormSet, factors: Iterable[FloatArray] | None = None
) -> Iterator[FloatArray]:
    """Ponding at every low point through every storm, one storm at a time.

    Parameters
    ----------
    points
        The low points (:func:`twin.hydro.lowpoints.low_points`).
    storms
        The storms.
    factors
        The rain multiplier of every point [-], one array of shape ``(n_points,)`` per
        storm (e.g. the rows of :func:`rain_factors`), or None for the same rain
        everywhere. They are taken one storm at a time, just before that storm runs, so
        a generator drawing them from a stream the caller also draws from between
        storms keeps its order of draws.

    Yields
    ------
    numpy.ndarray
        Water depth [m] of each storm in turn, shape ``(n_steps + 1, n_points)`` (row
        ``k`` at ``k·step``; :attr:`~twin.hydro.reservoir.PondingResult.water_depth`).
    """
    n_points = len(points)
    per_storm = (np.ones(n_points) for _ in storms.rain) if factors is None else factors
    count = 0
    for rain, factor in zip(storms.rain, per_storm, strict=False):
        result = simulate_ponding(points.params, rain[:, None] * factor[None, :], storms.step)
        count += 1
        yield result.water_depth
    if count != len(storms):
        raise ScenarioError(f"{count} rain factor arrays for {len(storms)} storms; give one each")
