r"""Zone-level crowd flow at plazas: one zone per plaza, a point queue at each exit.

All plazas advance together in a compiled kernel (:mod:`twin.crowds.kernels`), at
substeps :math:`\Delta t` = step / ``substeps``; nothing loops in Python per plaza or
per step.

State of a plaza
    Visitors :math:`S_v` and attendees :math:`S_e` of each event held there (staying),
    walkers :math:`M` (heading for an exit), a queue :math:`Q_x` at each exit :math:`x`,
    and, outside, arrivals waiting to get in :math:`B`. Occupants
    :math:`N = S_v + \sum_e S_e + M + \sum_x Q_x`; density :math:`\rho = N / A` over the
    usable area :math:`A` [m²]; level of service from :math:`\rho`
    (:mod:`twin.crowds.los`).

Each substep
    1. *Admission.* Arrivals (spread evenly over the substeps) and those waiting enter
       while there is room below the admission density :math:`\rho_{adm}`
       (``admission_density``): all classes in proportion to what is waiting when
       :math:`B + a > \rho_{adm} A - N`. A plaza at standstill density takes nobody in.
    2. *Release.* Visitors leave their spot at rate :math:`1/\tau` (exponential stay,
       exact over :math:`\Delta t`: a share :math:`1 - e^{-\Delta t/\tau}`); event
       attendees at the event's release hazard (:mod:`twin.crowds.demand`). Both join
       the walkers, as do arrivals heading straight for an exit.
    3. *Walking* (a bathtub model): walkers reach the exits at rate
       :math:`M\, v(\rho) / L`, with :math:`v` Weidmann's speed at the plaza density
       (:mod:`twin.crowds.fundamental`) and :math:`L` the mean walk to an exit; with
       :math:`\rho` frozen over the substep the exact solution gives
       :math:`f = M (1 - e^{-v(\rho)\Delta t / L})`. The rate equals
       :math:`q(\rho)\, A_M / L` for the walkers' share of the plaza, i.e. the walking
       flow at the plaza density limits how fast people reach the exits.
    4. *Exit choice.* Walkers split over the open exits in proportion to width. When
       an exit opens or closes, the plaza's queues rejoin the walkers and choose again
       (people see the new exit, or are turned away from a closed one).
    5. *Discharge.* :math:`D_x = \min(Q_x + f_x,\ c_s\, \eta\, w_x\, \Delta t)`,
       :math:`Q_x \leftarrow Q_x + f_x - D_x`, with the specific capacity :math:`c_s`
       (1.3 persons/(m·s), SFPE) and the exit efficiency :math:`\eta` set by staff
       (:mod:`twin.crowds.interventions`).

Conservation
    Every transfer is subtracted from one state and added to another, so per plaza
    :math:`\sum \text{inflow} = \sum \text{outflow} + N(T) - N(0)` and
    :math:`\sum \text{arrivals} = \sum \text{inflow} + B(T) - B(0)` hold to round-off
    (:meth:`CrowdResult.balance`).

Outputs per plaza and step: occupants, density [persons/m²], arrivals, inflow, outflow
[persons/step], walkers, visitors, attendees, people waiting outside, queue at the
exits [persons], walking speed [m/s], exit efficiency [-], level of service; per exit:
queue and discharge. States are at the end of each step, flows summed over it.

References
----------
.. [1] R. Arnott, "A bathtub model of downtown traffic congestion", *Journal of Urban
   Economics* 76, 110–121, 2013 (zone outflow = accumulation × speed / trip length).
.. [2] U. Weidmann, *Transporttechnik der Fussgänger*, Schriftenreihe des IVT Nr. 90,
   ETH Zürich, 1993.
.. [3] S. M. V. Gwynne, E. R. Rosenbaum, "Employing the hydraulic model in assessing
   emergency movement", *SFPE Handbook of Fire Protection Engineering*, 5th ed., 2016.
.. [4] J. J. Fruin, *Pedestrian Planning and Design*, 1971.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from twin._types import FloatArray
from twin.crowds.config import FlowModelConfig, Intervention
from twin.crowds.demand import Demand
from twin.crowds.fundamental import GAMMA, RHO_MAX, V0
from twin.crowds.interventions import apply_interventions
from twin.crowds.kernels import OUT_ROWS, STATE_ROWS, crowd_kernel
from twin.crowds.los import LEVELS, los_index
from twin.crowds.plazas import Plazas
from twin.crowds.results import CrowdResult, CrowdState

__all__ = ["BALANCE_TOLERANCE", "CrowdResult", "CrowdState", "simulate"]

logger = logging.getLogger(__name__)

#: Largest relative conservation error (over the people handled) before a warning.
BALANCE_TOLERANCE = 1e-9


# ---------------------------------------------------------------------------- simulate


def _map_queue(state: CrowdState, plazas: Plazas) -> FloatArray:
    """The state's exit queues on the simulated plazas' exits (matched by exit id)."""
    if not np.array_equal(state.plazas.id, plazas.id):
        raise ValueError("the initial state refers to other plazas (ids differ)")
    pos = {x: i for i, x in enumerate(plazas.exit_id.tolist())}
    queue = np.zeros(plazas.n_exits)
    for x, q in zip(state.plazas.exit_id.tolist(), state.queue.tolist(), strict=True):
        if x in pos:
            queue[pos[x]] = q
        elif q > 0.0:
            raise ValueError(
                f"the initial state has {q:g} people queuing at exit {x!r}, which the "
                "plazas simulated do not have"
            )
    return queue


def _map_events(state: CrowdState, demand: Demand) -> dict[str, FloatArray]:
    """The state's per-event arrays on the demand's events (matched by name)."""
    names = {n: i for i, n in enumerate(demand.event_name.tolist())}
    out = {k: np.zeros(demand.n_events) for k in ("event_present", "event_waiting", "held_event")}
    for j, name in enumerate(state.event_name.tolist()):
        vals = {k: float(getattr(state, k)[j]) for k in out}
        if name in names:
            for k, v in vals.items():
                out[k][names[name]] = v
        elif any(v > 0.0 for v in vals.values()):
            raise ValueError(
                f"the initial state holds attendees of event {name!r}, which the demand "
                "does not have"
            )
    return out


def _worst_balance(result: CrowdResult) -> float:
    """Largest relative people-balance error over the plazas (as :meth:`balance`)."""
    if result.plazas.n_plazas == 0:
        return 0.0
    p0, w0 = result.initial.occupants, result.initial.waiting
    inflow, outflow, arrivals = result.inflow.sum(0), result.outflow.sum(0), result.arrivals.sum(0)
    err = inflow - outflow - (result.occupants[-1] - p0)
    err_a = arrivals - inflow - (result.waiting[-1] - w0)
    scale = np.maximum(np.maximum(inflow + p0, arrivals + w0), 1.0)
    return float((np.maximum(np.abs(err), np.abs(err_a)) / scale).max())


def simulate(
    plazas: Plazas,
    demand: Demand | npt.ArrayLike,
    dt: float | None = None,
    *,
    params: FlowModelConfig | None = None,
    interventions: Sequence[Intervention] = (),
    staff: npt.ArrayLike | None = None,
    initial: CrowdState | None = None,
) -> CrowdResult:
    """Simulate crowds at every plaza over the demand's steps.

    Parameters
    ----------
    plazas
        The plazas and exits.
    demand
        A :class:`~twin.crowds.demand.Demand`, or an array ``(n_steps, n_plazas)`` of
        people arriving per step who all head straight for an exit [persons/step].
    dt
        Step [s]; needed with an array (default ``params.step``), checked against a
        Demand's.
    params
        Flow model parameters (defaults when ``None``).
    interventions
        Open exits, hold trains, send staff; times on the run clock [s].
    staff
        Staff present per step and plaza [persons], ``(n_steps, n_plazas)``, e.g. crews
        dispatched through the case loop (:func:`~twin.crowds.interventions.staff_presence`).
    initial
        The state to start from (its ``time`` must be the demand's ``t0``); empty
        plazas by default.

    Returns
    -------
    CrowdResult

    Raises
    ------
    ValueError
        If shapes, plazas or times do not match, or a value is negative or not finite.
    KeyError
        If an intervention names an unknown plaza.
    """
    prm = params or FlowModelConfig()
    if not isinstance(demand, Demand):
        step = float(prm.step if dt is None else dt)
        t_start = 0.0 if initial is None else initial.time
        demand = Demand.from_arrivals(demand, step, t0=t_start, plaza_ids=plazas.id)
    elif dt is not None and not math.isclose(dt, demand.dt):
        raise ValueError(f"dt {dt:g} s differs from the demand's step {demand.dt:g} s")
    if not np.array_equal(demand.plaza_ids, plazas.id):
        raise ValueError("the demand's plaza ids differ from the plazas' (same ids, same order)")
    if initial is not None and not math.isclose(initial.time, demand.t0, abs_tol=1e-6):
        raise ValueError(
            f"the initial state is at {initial.time:g} s but the demand starts at "
            f"{demand.t0:g} s; take demand.window(...) from the state's step"
        )
    base = initial or CrowdState(time=demand.t0, plazas=plazas)
    events = _map_events(base, demand)
    applied = apply_interventions(
        plazas, demand, interventions, staff=staff,
        held_metro=base.held_metro, held_event=events["held_event"],
    )  # fmt: skip
    pl, dm = applied.plazas, applied.demand
    s = {
        "visiting": np.array(base.visiting), "walking": np.array(base.walking),
        "queue": _map_queue(base, pl), "waiting_through": np.array(base.waiting_through),
        "waiting_visit": np.array(base.waiting_visit), "held_metro": np.array(base.held_metro),
        **events,
    }  # fmt: skip
    n, p, x, e = dm.n_steps, pl.n_plazas, pl.n_exits, dm.n_events
    dt_sub = dm.dt / prm.substeps
    dwell = dm.visit_dwell
    y = dt_sub / np.where(dwell > 0.0, dwell, 1.0)
    keep = np.where(dwell > 0.0, np.exp(-y), 0.0)
    gain_v = np.where(dwell > 0.0, -np.expm1(-y) / y, 0.0)
    ev_idx = np.argsort(dm.event_plaza, kind="stable").astype(np.int64)
    ev_ptr = np.zeros(p + 1, dtype=np.int64)
    np.cumsum(np.bincount(dm.event_plaza, minlength=p), out=ev_ptr[1:])
    scalars = np.array([dm.t0, dt_sub, prm.exit_capacity, prm.base_exit_efficiency,
                        prm.staff_gain, prm.admission_density, V0, GAMMA, RHO_MAX])  # fmt: skip
    # The kernel updates these in place.
    state = np.array([s[k] for k in STATE_ROWS], dtype=np.float64).reshape(len(STATE_ROWS), p)
    event_state = np.array([s["event_present"], s["event_waiting"]]).reshape(2, e)
    queue = np.array(s["queue"], dtype=np.float64)
    out, event_out, exit_out = (
        np.zeros((len(OUT_ROWS), n, p)),
        np.zeros((2, n, e)),
        np.zeros((2, n, x)),
    )
    crowd_kernel(
        np.array([pl.usable_area, pl.walk_distance, keep, gain_v]).reshape(4, p), pl.exit_ptr,
        np.array([pl.exit_width, pl.exit_open_from, pl.exit_open_until]).reshape(3, x),
        ev_ptr, ev_idx, np.array([dm.through + dm.metro, dm.visit, applied.staff]),
        np.array([dm.event + dm.event_metro, dm.event_release]).reshape(2, n, e), scalars,
        int(prm.substeps), state, event_state, queue, out, event_out, exit_out,
    )  # fmt: skip
    o = dict(zip(OUT_ROWS, out, strict=True))
    o_ev = {"event_present": event_out[0], "event_waiting": event_out[1]}
    o_x = {"queue": exit_out[0], "exit_flow": exit_out[1]}
    start_state = CrowdState(
        time=dm.t0, plazas=pl, event_name=dm.event_name, event_plaza=dm.event_plaza,
        **{k: v for k, v in s.items()},
    )  # fmt: skip
    result = CrowdResult(
        plazas=pl, demand=dm, params=prm, initial=start_state, arrivals=dm.arrivals,
        held_metro=applied.held_metro, held_event=applied.held_event,
        diverted=applied.diverted, staff=applied.staff, **o, **o_ev, **o_x,
    )  # fmt: skip
    worst = _worst_balance(result)
    if worst > BALANCE_TOLERANCE:
        logger.warning("crowds: people balance off by %.3g (relative) at worst", worst)
    if p and n:
        rho = result.density
        k, q = np.unravel_index(int(rho.argmax()), rho.shape)
        logger.debug(
            "crowds: %d plazas x %d steps of %g s; peak %.2f persons/m² (%s) at %s, t=%g s",
            p, n, dm.dt, float(rho[k, q]), LEVELS[int(los_index(rho[k, q], prm.los_table))],
            pl.id[q], float(result.time[k]),
        )  # fmt: skip
    return result
