r"""Arrivals at plazas per step: timetabled trains, buses, walk-in visitors and events.

:func:`build_demand` turns a :class:`~twin.crowds.config.CrowdConfig` into a
:class:`Demand`: arrays of people arriving at each plaza in each step, split by what
they do there, which is what the flow model (:mod:`twin.crowds.model`) needs:

- **through** — walk straight to an exit (bus passengers, visitors with no dwell,
  attendees crossing the plaza to or from an adjacent venue);
- **metro** — the same, but brought by timetabled trains (or boats), so that holding
  trains (:class:`~twin.crowds.config.HoldTrains`) can meter them;
- **visit** — walk-in visitors who stay an exponentially distributed time (mean
  ``dwell_s``) before heading for an exit;
- **event** / **event_metro** — attendees of an event held on the plaza, who stay until
  its egress wave releases them (per event, since two events may share a plaza).

Profiles by hour of day follow the local clock of ``start``. Every amount is integrated
exactly over each step (piecewise-constant hourly rates; uniform pulses per train;
ramp or uniform event arrival curves), so no person is created or lost by the
discretisation: the sum over steps equals the integral over the horizon.

Timetabled arrivals
    Trains come at a regular headway within each hour: train *j* stops when the
    cumulative count :math:`C(t) = \int_0^t n_h(s)/3600\,ds` (trains per hour
    :math:`n_h`, counted from local midnight of the start day) reaches :math:`j + 1/2`.
    Train *j* brings :math:`L_j` = ``alighting_per_train`` of its hour; they reach the
    plaza from ``walk_s`` after the stop, evenly over ``spread_s``.
Events
    Arrival curve :math:`F(t) = ((t - t_a)/W)^p` on :math:`[t_a, t_s]`,
    :math:`t_a = t_s - W` (``ramp``: :math:`p = 2`, a rate rising linearly to the start
    :math:`t_s`; ``uniform``: :math:`p = 1`). Attendees by metro (``metro_share``) who
    would arrive between two trains of the plaza's feed take the later train. At the end
    :math:`t_e`, attendees begin to leave evenly over ``egress_window_s``
    (:math:`W_g`); on the plaza this is a release hazard: in step
    :math:`[a, b)` the share :math:`\min(b, t_e + W_g) - \max(a, t_e)` over
    :math:`t_e + W_g - \max(a, t_e)` of those still present starts to leave.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from twin._types import FloatArray, IntArray, StrArray
from twin.crowds.config import CrowdConfig, CrowdEvent, MetroFeed
from twin.crowds.plazas import Plazas
from twin.errors import ScenarioError

__all__ = ["SOURCES", "Demand", "build_demand", "demand_profile", "train_times"]

logger = logging.getLogger(__name__)

#: Sources of arrivals, as keys of :attr:`Demand.by_source`.
SOURCES = ("metro", "bus", "background", "event")
_STEP_FIELDS = ("through", "metro", "visit")
_EVENT_FIELDS = ("event", "event_metro", "event_release")


def _ro(a: npt.ArrayLike, dtype: Any = np.float64) -> npt.NDArray[Any]:
    arr = np.array(a, dtype=dtype)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Demand:
    """People arriving at each plaza in each step, by what they do there.

    ``T`` steps of ``dt`` starting at ``t0`` on the run clock; ``P`` plazas; ``E`` events
    held on plazas. All arrays are read-only.

    Attributes
    ----------
    dt
        Step [s].
    t0
        Start of step 0 on the run clock [s].
    start
        Wall-clock time of run-clock 0 (``None`` when unknown).
    plaza_ids
        Plaza ids, shape ``(P,)``.
    through
        Arrivals who walk straight to an exit, not by timetabled train [persons/step],
        shape ``(T, P)``.
    metro
        Arrivals by timetabled train who walk straight to an exit [persons/step].
    visit
        Walk-in visitors who stay a while [persons/step].
    visit_dwell
        Mean stay of visitors at each plaza [s], shape ``(P,)`` (0: no visitors).
    event, event_metro
        Attendees of each event on a plaza arriving otherwise / by timetabled train
        [persons/step], shape ``(T, E)``.
    event_release
        Share of each event's attendees present who start to leave in each step [-],
        shape ``(T, E)``.
    event_plaza
        Plaza (position) of each event, shape ``(E,)``.
    event_name
        Event names, shape ``(E,)``.
    by_source
        Arrivals by source (:data:`SOURCES`), each ``(T, P)`` [persons/step]; they add up
        to :attr:`arrivals`.
    """

    dt: float
    t0: float
    start: datetime | None
    plaza_ids: StrArray
    through: FloatArray
    metro: FloatArray
    visit: FloatArray
    visit_dwell: FloatArray
    event: FloatArray
    event_metro: FloatArray
    event_release: FloatArray
    event_plaza: IntArray
    event_name: StrArray
    by_source: Mapping[str, FloatArray]

    def __post_init__(self) -> None:
        if not (self.dt > 0.0 and math.isfinite(self.dt)):
            raise ValueError(f"Demand.dt must be a positive number of seconds, got {self.dt!r}")
        object.__setattr__(self, "plaza_ids", _ro(self.plaza_ids, str))
        object.__setattr__(self, "event_name", _ro(self.event_name, str))
        object.__setattr__(self, "event_plaza", _ro(self.event_plaza, np.int64))
        for f in fields(self):
            if f.name in (*_STEP_FIELDS, *_EVENT_FIELDS, "visit_dwell"):
                object.__setattr__(self, f.name, _ro(getattr(self, f.name)))
        t, p = self.through.shape if self.through.ndim == 2 else (-1, -1)
        e = self.event_plaza.shape[0]
        if p != self.plaza_ids.shape[0]:
            raise ValueError(f"Demand.through: expected shape (n_steps, {self.plaza_ids.shape[0]})")
        for name in _STEP_FIELDS:
            self._check(name, (t, p))
        for name in _EVENT_FIELDS:
            self._check(name, (t, e))
        self._check("visit_dwell", (p,))
        if self.event_name.shape != (e,):
            raise ValueError(f"Demand.event_name: expected {e} names")
        if e and (self.event_plaza.min() < 0 or self.event_plaza.max() >= p):
            raise ValueError("Demand.event_plaza: positions must lie in [0, n_plazas)")
        if np.any(self.event_release > 1.0):
            raise ValueError("Demand.event_release: shares must lie in [0, 1]")
        src = {k: _ro(v) for k, v in self.by_source.items()}
        for k, v in src.items():
            if v.shape != (t, p):
                raise ValueError(f"Demand.by_source[{k!r}]: expected shape {(t, p)}, got {v.shape}")
        object.__setattr__(self, "by_source", src)

    def _check(self, name: str, shape: tuple[int, ...]) -> None:
        arr = getattr(self, name)
        if arr.shape != shape:
            raise ValueError(f"Demand.{name}: expected shape {shape}, got {arr.shape}")
        if not np.all(np.isfinite(arr)) or np.any(arr < 0.0):
            raise ValueError(f"Demand.{name}: values must be finite and >= 0")

    # ------------------------------------------------------------------ sizes
    @property
    def n_steps(self) -> int:
        """Number of steps."""
        return int(self.through.shape[0])

    @property
    def n_plazas(self) -> int:
        """Number of plazas."""
        return int(self.through.shape[1])

    @property
    def n_events(self) -> int:
        """Number of events held on plazas."""
        return int(self.event_plaza.shape[0])

    @property
    def horizon(self) -> float:
        """Length covered [s]."""
        return self.n_steps * self.dt

    @property
    def time(self) -> FloatArray:
        """Start of each step on the run clock [s], shape ``(T,)``."""
        return self.t0 + self.dt * np.arange(self.n_steps, dtype=np.float64)

    def event_by_plaza(self, values: FloatArray) -> FloatArray:
        """Sum a ``(T, E)`` array of events onto their plazas, giving ``(T, P)``."""
        out = np.zeros((values.shape[0], self.n_plazas))
        for j, q in enumerate(self.event_plaza.tolist()):
            out[:, q] += values[:, j]
        return out

    @property
    def arrivals(self) -> FloatArray:
        """All arrivals at each plaza [persons/step], shape ``(T, P)``."""
        return np.asarray(
            self.through + self.metro + self.visit
            + self.event_by_plaza(self.event + self.event_metro),
            dtype=np.float64,
        )  # fmt: skip

    # ------------------------------------------------------------------ derived demands
    def window(self, first: int, stop: int | None = None) -> Demand:
        """Steps ``first`` … ``stop - 1`` (``t0`` moved to the first one's start)."""
        stop = self.n_steps if stop is None else min(stop, self.n_steps)
        if not 0 <= first <= stop:
            raise ValueError(f"window [{first}, {stop}) is outside 0 … {self.n_steps}")
        cut = slice(first, stop)
        arrays = {f: getattr(self, f)[cut] for f in (*_STEP_FIELDS, *_EVENT_FIELDS)}
        return replace(
            self, t0=self.t0 + first * self.dt,
            by_source={k: v[cut] for k, v in self.by_source.items()}, **arrays,
        )  # fmt: skip

    def tile(self, copies: int) -> Demand:
        """The same demand at ``copies`` copies of every plaza (see :meth:`Plazas.tile`)."""
        if copies < 1:
            raise ValueError(f"copies must be >= 1, got {copies}")
        if copies == 1:
            return self
        rep = np.repeat(np.arange(copies), self.n_plazas).astype(str)
        erep = np.repeat(np.arange(copies), self.n_events)
        return replace(
            self,
            plaza_ids=np.char.add(np.char.add(np.tile(self.plaza_ids, copies), "#"), rep),
            through=np.tile(self.through, (1, copies)),
            metro=np.tile(self.metro, (1, copies)),
            visit=np.tile(self.visit, (1, copies)),
            visit_dwell=np.tile(self.visit_dwell, copies),
            event=np.tile(self.event, (1, copies)),
            event_metro=np.tile(self.event_metro, (1, copies)),
            event_release=np.tile(self.event_release, (1, copies)),
            event_plaza=np.tile(self.event_plaza, copies) + erep * self.n_plazas,
            event_name=np.char.add(
                np.char.add(np.tile(self.event_name, copies), "#"), erep.astype(str)
            ),
            by_source={k: np.tile(v, (1, copies)) for k, v in self.by_source.items()},
        )

    @classmethod
    def from_arrivals(
        cls,
        arrivals: npt.ArrayLike,
        dt: float,
        *,
        t0: float = 0.0,
        plaza_ids: npt.ArrayLike | None = None,
        start: datetime | None = None,
    ) -> Demand:
        """A demand of walkers only: everyone heads straight for an exit.

        Parameters
        ----------
        arrivals
            People arriving at each plaza in each step [persons/step], shape ``(T, P)``.
        dt
            Step [s].
        t0
            Start of step 0 on the run clock [s].
        plaza_ids
            Plaza ids (``plaza-<k>`` by default).
        start
            Wall-clock time of run-clock 0.
        """
        a = np.asarray(arrivals, dtype=np.float64)
        if a.ndim != 2:
            raise ValueError(f"arrivals must have shape (n_steps, n_plazas), got {a.shape}")
        t, p = a.shape
        ids = [f"plaza-{k + 1}" for k in range(p)] if plaza_ids is None else plaza_ids
        zeros, ev = np.zeros((t, p)), np.zeros((t, 0))
        return cls(
            dt=float(dt), t0=float(t0), start=start, plaza_ids=np.asarray(ids, dtype=str),
            through=a, metro=zeros, visit=zeros, visit_dwell=np.zeros(p), event=ev,
            event_metro=ev, event_release=ev, event_plaza=np.zeros(0, np.int64),
            event_name=np.zeros(0, dtype=str),
            by_source={"metro": zeros, "bus": zeros, "background": a, "event": zeros},
        )  # fmt: skip


# ---------------------------------------------------------------------------- helpers


def _local_seconds(when: datetime) -> float:
    """Seconds since local midnight of ``when``'s day (its own clock)."""
    return when.hour * 3600.0 + when.minute * 60.0 + when.second + when.microsecond * 1e-6


def _hourly_amounts(rate: FloatArray, s0: float, dt: float, n: int) -> FloatArray:
    """People per step from a rate by hour of day [persons/h], integrated exactly.

    ``s0`` is the start of step 0 in seconds since local midnight (may exceed a day).
    """
    edges = (s0 + dt * np.arange(n + 1)) / 3600.0
    h_lo, h_hi = math.floor(edges[0]), math.floor(edges[-1]) + 1
    hours = np.arange(h_lo, h_hi + 1, dtype=np.float64)
    knots = np.concatenate([[0.0], np.cumsum(rate[np.arange(h_lo, h_hi) % 24])])
    return np.diff(np.interp(edges, hours, knots))


def train_times(trains_per_hour: FloatArray, s_lo: float, s_hi: float) -> FloatArray:
    """Stop times of a timetabled feed in ``(s_lo, s_hi]`` [s since local midnight].

    Train *j* stops when the trains counted since local midnight reach ``j + 1/2`` (a
    regular headway within each hour, carried smoothly across hours).

    Parameters
    ----------
    trains_per_hour
        Trains per hour, hours 0 … 23 [1/h].
    s_lo, s_hi
        Time window [s since local midnight of the start day]; may be negative or span
        days.

    Returns
    -------
    ndarray
        Increasing stop times [s since local midnight].
    """
    h_lo = min(math.floor(s_lo / 3600.0), 0)
    h_hi = max(math.floor(s_hi / 3600.0) + 1, 1)
    hours = np.arange(h_lo, h_hi + 1, dtype=np.float64)
    knots = np.concatenate([[0.0], np.cumsum(trains_per_hour[np.arange(h_lo, h_hi) % 24])])
    knots -= knots[-h_lo]  # count from local midnight
    c_lo, c_hi = np.interp([s_lo / 3600.0, s_hi / 3600.0], hours, knots)
    j = np.arange(math.floor(c_lo - 0.5), math.floor(c_hi - 0.5) + 1, dtype=np.float64) + 0.5
    j = j[(j > c_lo) & (j <= c_hi)]
    idx = np.searchsorted(knots, j, side="left")
    c0, c1 = knots[idx - 1], knots[idx]
    return np.asarray((hours[idx - 1] + (j - c0) / (c1 - c0)) * 3600.0, dtype=np.float64)


def _spread(t_start: FloatArray, loads: FloatArray, width: float, dt: float, n: int) -> FloatArray:
    """Pulses of ``loads`` people, each even over ``[t_start, t_start + width]``, per step."""
    out = np.zeros(n)
    if t_start.size == 0:
        return out
    if width <= 0.0:
        k = np.floor(t_start / dt).astype(np.int64)
        ok = (k >= 0) & (k < n)
        np.add.at(out, k[ok], loads[ok])
        return out
    k0 = np.floor(t_start / dt).astype(np.int64)
    ks = k0[:, None] + np.arange(math.ceil(width / dt) + 2)[None, :]
    lo = ks * dt
    share = np.clip((lo + dt - t_start[:, None]) / width, 0.0, 1.0) - np.clip(
        (lo - t_start[:, None]) / width, 0.0, 1.0
    )
    ok = (ks >= 0) & (ks < n) & (share > 0.0)
    np.add.at(out, ks[ok], (loads[:, None] * share)[ok])
    return out


def _curve(edges: FloatArray, t_a: float, width: float, power: float) -> FloatArray:
    """Cumulative share ``((t - t_a) / width)^power`` clipped to [0, 1] at ``edges``."""
    if width <= 0.0:
        return np.asarray(edges >= t_a, dtype=np.float64)
    return np.asarray(np.clip((edges - t_a) / width, 0.0, 1.0) ** power, dtype=np.float64)


def _release_hazard(edges: FloatArray, t_end: float, window: float) -> FloatArray:
    """Share of those present who start to leave in each step (see module docstring)."""
    a, b = edges[:-1], edges[1:]
    h = np.zeros(a.shape)
    started = b > t_end
    if window <= 0.0:
        h[started] = 1.0
        return h
    w_end = t_end + window
    begin = np.maximum(a, t_end)
    remaining = w_end - begin
    inside = started & (remaining > 0.0)
    h[inside] = (np.minimum(b, w_end)[inside] - begin[inside]) / remaining[inside]
    h[started & (remaining <= 0.0)] = 1.0
    return np.clip(h, 0.0, 1.0)


def _resolve(plazas: Plazas, selector: str, where: str) -> IntArray:
    try:
        return plazas.select(selector)
    except KeyError as exc:
        raise ScenarioError(f"{where}: {exc.args[0]}") from None


def _aware(when: datetime, start: datetime, where: str) -> datetime:
    if when.tzinfo is None:
        return when.replace(tzinfo=start.tzinfo)
    if start.tzinfo is None:
        raise ScenarioError(
            f"{where}: times carry a time zone but the run's start ({start}) does not; "
            "give the start a time zone"
        )
    return when


# ---------------------------------------------------------------------------- building


def _metro_feed_amounts(
    feed: MetroFeed, s0: float, horizon: float, dt: float, n: int
) -> FloatArray:
    """People per step a timetabled feed brings onto one of its plazas."""
    tph = np.asarray(feed.trains_per_hour)
    lead = feed.walk_s + feed.spread_s + dt
    stops = train_times(tph, s0 - lead, s0 + horizon)
    loads = np.asarray(feed.alighting_per_train)[np.floor(stops / 3600.0).astype(np.int64) % 24]
    return _spread(stops - s0 + feed.walk_s, loads, feed.spread_s, dt, n)


def _event_metro(
    ev: CrowdEvent, feed: MetroFeed, s0: float, t_a: float, t_s: float, power: float,
    dt: float, n: int, where: str,
) -> tuple[FloatArray, float]:  # fmt: skip
    """Attendees by train, per step, and the share no train in service carries."""
    stops = train_times(np.asarray(feed.trains_per_hour), s0 + t_a - 1.0, s0 + t_s + 6 * 3600.0)
    t_rel = stops - s0
    if t_rel.size == 0:
        return np.zeros(n), 1.0
    cum = _curve(t_rel, t_a, t_s - t_a, power)
    mass = np.diff(np.concatenate([[0.0], cum])) * ev.attendance * ev.metro_share
    left = 1.0 - float(cum[-1])
    if left > 1e-9:
        logger.warning(
            "%s: %.1f%% of the attendees by metro find no train of %r in service; they "
            "arrive on foot instead", where, 100 * left, feed.name,
        )  # fmt: skip
    return _spread(t_rel + feed.walk_s, mass, feed.spread_s, dt, n), max(left, 0.0)


def build_demand(
    plazas: Plazas,
    cfg: CrowdConfig,
    start: datetime,
    horizon: float,
    dt: float | None = None,
) -> Demand:
    """Arrivals at every plaza over a horizon, from the configured sources.

    Parameters
    ----------
    plazas
        The plazas.
    cfg
        Crowd configuration (feeds, flows, events).
    start
        Wall-clock time of the run's start (run-clock 0); hourly profiles follow its
        local clock. Naive event times are taken in its time zone.
    horizon
        Length [s]; a whole number of steps.
    dt
        Step [s]; ``cfg.model.step`` by default.

    Returns
    -------
    Demand

    Raises
    ------
    ScenarioError
        If a selector names no known plaza, two background flows with different dwell
        times meet at one plaza, an event with ``metro_share > 0`` has no timetabled
        feed at its plaza, or the horizon is not a whole number of steps.
    """
    dt = float(cfg.model.step if dt is None else dt)
    n = round(horizon / dt)
    if n < 1 or abs(n * dt - horizon) > 1e-6 * dt:
        raise ScenarioError(
            f"crowds: horizon {horizon:g} s is not a whole number of {dt:g}-s steps"
        )
    p = plazas.n_plazas
    s0 = _local_seconds(start)
    edges = dt * np.arange(n + 1, dtype=np.float64)

    metro = np.zeros((n, p))
    feed_of: dict[int, MetroFeed] = {}
    for i, feed in enumerate(cfg.metro):
        where = f"crowds.metro[{i}] ({feed.name})"
        cols = _resolve(plazas, feed.plaza, where)
        if cols.size:
            metro[:, cols] += _metro_feed_amounts(feed, s0, horizon, dt, n)[:, None]
        for c in cols.tolist():
            feed_of.setdefault(c, feed)

    regular_metro = metro.copy()
    bus = np.zeros((n, p))
    for i, bf in enumerate(cfg.buses):
        cols = _resolve(plazas, bf.plaza, f"crowds.buses[{i}] ({bf.name})")
        rate = np.asarray(bf.buses_per_hour) * bf.alighting_per_bus
        bus[:, cols] += _hourly_amounts(rate, s0, dt, n)[:, None]

    visit = np.zeros((n, p))
    walk_in = np.zeros((n, p))
    dwell = np.zeros(p)
    dwell_from: dict[int, str] = {}
    for i, bg in enumerate(cfg.background):
        where = f"crowds.background[{i}] ({bg.name})"
        cols = _resolve(plazas, bg.plaza, where)
        base = _hourly_amounts(np.asarray(bg.per_hour), s0, dt, n)[:, None]
        scale = plazas.area[cols] / 1e4 if bg.per_hectare else np.ones(cols.size)
        if bg.dwell_s == 0.0:
            walk_in[:, cols] += base * scale
            continue
        for c in cols.tolist():
            if c in dwell_from and dwell[c] != bg.dwell_s:
                raise ScenarioError(
                    f"{where}: dwell_s {bg.dwell_s:g} s differs from {dwell[c]:g} s of "
                    f"{dwell_from[c]} at plaza {plazas.id[c]!r}; flows staying at one plaza "
                    "must share their dwell time"
                )
            dwell[c], dwell_from[c] = bg.dwell_s, where
        visit[:, cols] += base * scale

    through = bus + walk_in
    from_events = np.zeros((n, p))
    ev_cols: list[FloatArray] = []
    ev_metro_cols: list[FloatArray] = []
    ev_release: list[FloatArray] = []
    ev_plaza: list[int] = []
    ev_name: list[str] = []
    for i, ev in enumerate(cfg.events):
        where = f"crowds.events[{i}] ({ev.name})"
        c = int(_resolve(plazas, ev.plaza, where)[0])
        t_s = (_aware(ev.start, start, where) - start).total_seconds()
        t_e = (_aware(ev.end, start, where) - start).total_seconds()
        t_a = t_s - ev.arrival_window_s
        power = 2.0 if ev.arrival_shape == "ramp" else 1.0
        by_metro = np.zeros(n)
        walk_share = 1.0 - ev.metro_share
        if ev.metro_share > 0.0:
            if c not in feed_of:
                raise ScenarioError(
                    f"{where}: metro_share is {ev.metro_share:g} but no timetabled feed "
                    f"(crowds.metro) serves plaza {ev.plaza!r}; add one or set metro_share: 0"
                )
            by_metro, left = _event_metro(ev, feed_of[c], s0, t_a, t_s, power, dt, n, where)
            walk_share += ev.metro_share * left
        on_foot = (
            np.diff(_curve(edges, t_a, ev.arrival_window_s, power)) * ev.attendance * walk_share
        )
        from_events[:, c] += on_foot + by_metro
        if ev.venue == "adjacent":
            egress = np.diff(_curve(edges, t_e, ev.egress_window_s, 1.0)) * ev.attendance
            through[:, c] += on_foot + egress
            metro[:, c] += by_metro
            from_events[:, c] += egress
        else:
            ev_cols.append(on_foot)
            ev_metro_cols.append(by_metro)
            ev_release.append(_release_hazard(edges, t_e, ev.egress_window_s))
            ev_plaza.append(c)
            ev_name.append(ev.name)
        logger.debug("crowds: event %s at %s, %g attendees", ev.name, ev.plaza, ev.attendance)

    def stack(cols: list[FloatArray]) -> FloatArray:
        return np.column_stack(cols) if cols else np.zeros((n, 0))

    demand = Demand(
        dt=dt, t0=0.0, start=start, plaza_ids=plazas.id, through=through, metro=metro,
        visit=visit, visit_dwell=dwell, event=stack(ev_cols), event_metro=stack(ev_metro_cols),
        event_release=stack(ev_release), event_plaza=np.asarray(ev_plaza, dtype=np.int64),
        event_name=np.asarray(ev_name, dtype=str),
        by_source={"metro": regular_metro, "bus": bus, "background": visit + walk_in,
                   "event": from_events},
    )  # fmt: skip
    logger.info(
        "crowds demand: %d plazas x %d steps of %g s, %.0f arrivals (%s)",
        p, n, dt, float(demand.arrivals.sum()),
        ", ".join(f"{k} {float(v.sum()):.0f}" for k, v in demand.by_source.items()),
    )  # fmt: skip
    return demand


def demand_profile(
    plazas: Plazas,
    cfg: CrowdConfig,
    start: datetime,
    horizon: float,
    dt: float | None = None,
) -> FloatArray:
    """All arrivals at each plaza per step [persons/step], shape ``(n_steps, n_plazas)``.

    The sum over what :func:`build_demand` splits by purpose; see there for parameters.
    """
    return build_demand(plazas, cfg, start, horizon, dt).arrivals
