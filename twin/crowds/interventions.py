r"""Interventions at plazas — open exits, hold trains, send staff — and their effect.

The interventions themselves are values (:class:`~twin.crowds.config.OpenExits`,
:class:`~twin.crowds.config.HoldTrains`, :class:`~twin.crowds.config.SendStaff`; times
in seconds on the run clock). :func:`apply_interventions` turns them into what the flow
model reads: extra exits with an opening window, metered timetabled arrivals, and staff
present per step. :func:`intervention_effect` compares two runs.

Staff model (illustrative, stated)
    Staff manage the exits of the plaza they are at (stewarding, lane marking,
    stopping cross-flows). Unmanaged, an exit passes a share :math:`\eta_0`
    (``base_exit_efficiency``, 0.8) of its capacity :math:`c_s w`; each staff member
    adds :math:`g` (``staff_gain``, 0.1) divided by the number of open exits, up to the
    full capacity:

    .. math:: \eta = \min\left(1,\ \eta_0 + g\,\frac{n_{staff}}{n_{open}}\right)

    so with the defaults two staff per exit restore the published specific capacity,
    and each staff member adds :math:`g\, c_s\, w` persons/s at an exit of width
    :math:`w` (0.52 persons/s at a 4-m exit) until then. :func:`staff_efficiency` gives
    :math:`\eta`; :func:`staff_presence` turns crews' arrival and departure times (from
    the case loop) into the staff present per step.
Hold trains
    Timetabled arrivals at the plaza (regular riders and event attendees by metro) pass
    a meter: during the hold at most ``max_per_min`` a minute, every class in proportion
    to what it has waiting; the rest waits upstream and, after the hold, comes out at
    up to ``release_per_min`` a minute on top of new arrivals (all at once when
    ``None``), or, with ``divert``, alights elsewhere and is removed.
Open exits
    New exits at the plaza (at its centroid), open from ``start`` to ``end``; walkers
    share the open exits by width from the moment they open.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import BoolArray, FloatArray, IntArray
from twin.crowds.config import FlowModelConfig, HoldTrains, Intervention, OpenExits, SendStaff
from twin.crowds.demand import Demand
from twin.crowds.kernels import meter_kernel
from twin.crowds.plazas import Plazas

if TYPE_CHECKING:
    from twin.crowds.results import CrowdResult

__all__ = [
    "Applied",
    "apply_interventions",
    "exit_capacity",
    "intervention_effect",
    "staff_efficiency",
    "staff_presence",
]


def staff_efficiency(
    staff: npt.ArrayLike,
    open_exits: npt.ArrayLike,
    *,
    base: float = FlowModelConfig().base_exit_efficiency,
    gain: float = FlowModelConfig().staff_gain,
) -> FloatArray:
    r"""Share of exit capacity a plaza's exits pass with staff managing them [-].

    Parameters
    ----------
    staff
        Staff present [persons] (may be fractional: a mean over a step).
    open_exits
        Number of open exits of the plaza [-].
    base
        Share without staff, :math:`\eta_0` [-].
    gain
        Share added per staff member per open exit, :math:`g` [-].

    Returns
    -------
    ndarray
        :math:`\min(1, \eta_0 + g\, n_{staff} / n_{open})`; :math:`\eta_0` where no
        exit is open.
    """
    n = np.asarray(staff, dtype=np.float64)
    k = np.asarray(open_exits, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        eff = np.where(k > 0, base + gain * n / np.where(k > 0, k, 1.0), base)
    return np.asarray(np.minimum(eff, 1.0), dtype=np.float64)


def exit_capacity(
    plazas: Plazas,
    staff: npt.ArrayLike = 0.0,
    *,
    params: FlowModelConfig | None = None,
    t: float = 0.0,
) -> FloatArray:
    r"""Discharge capacity of each plaza's open exits at time ``t`` [persons/s].

    ``c_s · η · (summed width of open exits)``, with :math:`\eta` from
    :func:`staff_efficiency` for ``staff`` people present per plaza.
    """
    prm = params or FlowModelConfig()
    open_ = plazas.exits_open(t)
    width = np.bincount(
        plazas.exit_plaza, weights=plazas.exit_width * open_, minlength=plazas.n_plazas
    )
    n_open = np.bincount(
        plazas.exit_plaza, weights=open_.astype(np.float64), minlength=plazas.n_plazas
    )
    eff = staff_efficiency(
        np.broadcast_to(np.asarray(staff, dtype=np.float64), (plazas.n_plazas,)),
        n_open, base=prm.base_exit_efficiency, gain=prm.staff_gain,
    )  # fmt: skip
    return np.asarray(prm.exit_capacity * eff * width, dtype=np.float64)


def staff_presence(
    plaza: npt.ArrayLike,
    arrive: npt.ArrayLike,
    leave: npt.ArrayLike,
    *,
    n_plazas: int,
    n_steps: int,
    dt: float,
    t0: float = 0.0,
    count: npt.ArrayLike = 1.0,
) -> FloatArray:
    """Mean staff present at each plaza in each step, from on-site intervals.

    For crews dispatched through the case loop: one interval per crew (or per group of
    ``count`` staff) from its arrival at the plaza to its departure.

    Parameters
    ----------
    plaza
        Plaza position of each interval.
    arrive, leave
        Start and end of each interval on the run clock [s] (``inf``: stays).
    n_plazas, n_steps, dt, t0
        The grid: ``n_steps`` steps of ``dt`` [s] from ``t0`` [s].
    count
        Staff per interval [persons].

    Returns
    -------
    ndarray
        Shape ``(n_steps, n_plazas)``: staff-seconds in each step over ``dt``.
    """
    p = np.atleast_1d(np.asarray(plaza, dtype=np.int64))
    a = np.broadcast_to(np.asarray(arrive, dtype=np.float64), p.shape)
    b = np.broadcast_to(np.asarray(leave, dtype=np.float64), p.shape)
    c = np.broadcast_to(np.asarray(count, dtype=np.float64), p.shape)
    out = np.zeros((n_steps, n_plazas))
    if p.size == 0:
        return out
    if p.min() < 0 or p.max() >= n_plazas:
        raise ValueError(f"plaza positions must lie in [0, {n_plazas})")
    if np.any(b < a):
        raise ValueError("each interval must leave no earlier than it arrives")
    edges = t0 + dt * np.arange(n_steps + 1, dtype=np.float64)
    for q in np.unique(p).tolist():
        m = p == q
        lo, hi, w = a[m], b[m], c[m]
        # Staff-seconds up to each edge: sum of w * (clip(t, lo, hi) - lo).
        cum = (w[:, None] * (np.clip(edges[None, :], lo[:, None], hi[:, None]) - lo[:, None])).sum(
            0
        )
        out[:, q] = np.diff(cum) / dt
    return out


@dataclass(frozen=True, eq=False)
class Applied:
    """What the flow model reads once interventions are applied.

    Attributes
    ----------
    plazas
        The plazas with any extra exits.
    demand
        The demand with metered timetabled arrivals.
    staff
        Staff present per step and plaza [persons], ``(T, P)``.
    held_metro, held_event
        Timetabled arrivals waiting upstream at the end of each step [persons],
        ``(T, P)`` and ``(T, E)``.
    diverted
        Timetabled arrivals sent elsewhere in each step [persons/step], ``(T, P)``.
    """

    plazas: Plazas
    demand: Demand
    staff: FloatArray
    held_metro: FloatArray
    held_event: FloatArray
    diverted: FloatArray


def _overlap(edges: FloatArray, start: float, end: float) -> FloatArray:
    """Share of each step ``[edges[k], edges[k+1])`` inside ``[start, end)`` [-]."""
    lo = np.clip(edges[:-1], start, end)
    hi = np.clip(edges[1:], start, end)
    return np.asarray((hi - lo) / np.diff(edges), dtype=np.float64)


def _hold_caps(edges: FloatArray, total: FloatArray, hold: HoldTrains, dt: float
               ) -> tuple[FloatArray, BoolArray]:  # fmt: skip
    """Cap per step and divert flags of one hold (steps starting within the hold)."""
    t = edges[:-1]
    during = (t >= hold.start) & (t < hold.end)
    after = t >= hold.end
    cap = np.full(t.shape, math.inf)
    cap[during] = hold.max_per_min * dt / 60.0
    if hold.release_per_min is not None and not hold.divert:
        cap[after] = total[after] + hold.release_per_min * dt / 60.0
    return cap, np.asarray(during & hold.divert)


def apply_interventions(
    plazas: Plazas,
    demand: Demand,
    interventions: Sequence[Intervention] = (),
    *,
    staff: npt.ArrayLike | None = None,
    held_metro: npt.ArrayLike | None = None,
    held_event: npt.ArrayLike | None = None,
) -> Applied:
    """Apply interventions to plazas, demand and staff over the demand's steps.

    Parameters
    ----------
    plazas, demand
        The plazas and the planned demand (times of interventions are on the same run
        clock as ``demand.t0``).
    interventions
        Open exits, hold trains, send staff (any order; several per plaza allowed).
    staff
        Staff already present (e.g. crews from the case loop) [persons], ``(T, P)``.
    held_metro, held_event
        Timetabled arrivals already held upstream at the start [persons], ``(P,)`` and
        ``(E,)``; they come out as soon as no hold stops them.

    Returns
    -------
    Applied

    Raises
    ------
    KeyError
        If an intervention names an unknown plaza.
    """
    n, p, e = demand.n_steps, demand.n_plazas, demand.n_events
    edges = demand.t0 + demand.dt * np.arange(n + 1, dtype=np.float64)
    st = np.zeros((n, p)) if staff is None else np.array(staff, dtype=np.float64)
    if st.shape != (n, p) or not np.all(np.isfinite(st)) or np.any(st < 0):
        raise ValueError(f"staff must be finite, >= 0 and of shape {(n, p)}")
    hm0 = np.zeros(p) if held_metro is None else np.asarray(held_metro, dtype=np.float64)
    he0 = np.zeros(e) if held_event is None else np.asarray(held_event, dtype=np.float64)
    holds: dict[int, list[HoldTrains]] = {}
    for iv in interventions:
        q = plazas.index(iv.plaza)
        if isinstance(iv, OpenExits):
            end = math.inf if iv.end is None else iv.end
            ids = [f"{iv.plaza}/opened@{iv.start:g}s-{k + 1}" for k in range(len(iv.widths_m))]
            plazas = plazas.with_exits(q, iv.widths_m, open_from=iv.start, open_until=end, ids=ids)
        elif isinstance(iv, SendStaff):
            end = math.inf if iv.end is None else iv.end
            st[:, q] += iv.staff * _overlap(edges, iv.start, end)
        elif isinstance(iv, HoldTrains):
            holds.setdefault(q, []).append(iv)
    metro = np.array(demand.metro)
    event_metro = np.array(demand.event_metro)
    held_m, held_e = np.zeros((n, p)), np.zeros((n, e))
    diverted = np.zeros((n, p))
    for q in sorted(set(holds) | set(np.flatnonzero(hm0 > 0).tolist())
                    | {int(demand.event_plaza[j]) for j in np.flatnonzero(he0 > 0)}):  # fmt: skip
        evs: IntArray = np.flatnonzero(demand.event_plaza == q)
        arr = np.column_stack([metro[:, q], event_metro[:, evs]])
        backlog = np.r_[hm0[q], he0[evs]].astype(np.float64)
        stages: list[HoldTrains | None] = [*sorted(holds.get(q, []), key=lambda h: h.start)]
        for hold in stages or [None]:
            if hold is None:
                cap, div = np.full(n, math.inf), np.zeros(n, dtype=bool)
            else:
                cap, div = _hold_caps(edges, arr.sum(axis=1), hold, demand.dt)
            passed, gone, held = np.zeros_like(arr), np.zeros_like(arr), np.zeros_like(arr)
            meter_kernel(np.ascontiguousarray(arr), cap, div, backlog, passed, gone, held)
            arr = passed
            backlog = np.zeros_like(backlog)
            held_m[:, q] += held[:, 0]
            held_e[:, evs] += held[:, 1:]
            diverted[:, q] += gone.sum(axis=1)
        metro[:, q] = arr[:, 0]
        event_metro[:, evs] = arr[:, 1:]
    return Applied(
        plazas=plazas, demand=replace(demand, metro=metro, event_metro=event_metro), staff=st,
        held_metro=held_m, held_event=held_e, diverted=diverted,
    )  # fmt: skip


def intervention_effect(base: CrowdResult, alt: CrowdResult) -> pd.DataFrame:
    """Measured effect of interventions: KPIs of two runs side by side, per plaza.

    Parameters
    ----------
    base
        The run without (or with other) interventions.
    alt
        The run with them, over the same plazas and steps.

    Returns
    -------
    pandas.DataFrame
        Index ``(plaza, kpi)``; columns ``base``, ``alt``, ``change`` (alt − base) and
        ``unit``. KPIs as :meth:`~twin.crowds.model.CrowdResult.kpis`.
    """
    if not np.array_equal(base.plazas.id, alt.plazas.id) or base.n_steps != alt.n_steps:
        raise ValueError("the two runs must cover the same plazas and steps")
    a = base.kpis().set_index(["plaza", "kpi"])
    b = alt.kpis().set_index(["plaza", "kpi"])
    out = pd.DataFrame({"base": a["value"], "alt": b["value"]})
    out["change"] = out["alt"] - out["base"]
    out["unit"] = a["unit"]
    return out
