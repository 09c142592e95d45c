r"""Compiled kernels of the crowd model (numpy/numba in, numpy out).

:func:`crowd_kernel` advances every plaza through every step and substep. Plazas are
independent: above :data:`PARALLEL_FROM` plazas they are spread over threads
(``numba.prange``), and the result does not depend on the number of threads.
:func:`meter_kernel` meters timetabled arrivals held upstream. The equations, units and
sources are in :mod:`twin.crowds.model`'s docstring.

Arrays are packed by what they index, the rows named by the constants below:
``plaza`` ``(4, P)`` (usable area [m²], mean walk to an exit [m], and for visitors
staying :math:`\tau`, :math:`e^{-y}` and :math:`(1 - e^{-y})/y` with
:math:`y = \Delta t/\tau` [-]); ``exits`` ``(3, X)`` (width [m], open from / until [s]);
``step_in`` ``(3, T, P)`` (through arrivals, visitor arrivals [persons/step], staff
[persons]); ``event_in`` ``(2, T, E)`` (attendee arrivals [persons/step], release share
[-]); ``scalars`` (:data:`SCALARS`). State, updated in place: ``state`` ``(4, P)``,
``event_state`` ``(2, E)``, ``queue`` ``(X,)``. Outputs per step: ``out`` ``(9, T, P)``,
``event_out`` ``(2, T, E)``, ``exit_out`` ``(2, T, X)``.
"""

from __future__ import annotations

import math

import numba

from twin._types import BoolArray, FloatArray, IntArray

__all__ = [
    "EXIT_ROWS",
    "OUT_ROWS",
    "PARALLEL_FROM",
    "PLAZA_ROWS",
    "SCALARS",
    "STATE_ROWS",
    "crowd_kernel",
    "exit_efficiency",
    "meter_kernel",
    "walking_speed",
]

#: Rows of ``plaza``.
PLAZA_ROWS = ("usable_area", "walk_distance", "visit_keep", "visit_gain")
#: Rows of ``exits``.
EXIT_ROWS = ("width", "open_from", "open_until")
#: Entries of ``scalars``.
SCALARS = ("t0", "dt_sub", "exit_capacity", "base_efficiency", "staff_gain",
           "admission_density", "v0", "gamma", "rho_max")  # fmt: skip
#: Rows of ``state`` (per plaza).
STATE_ROWS = ("visiting", "walking", "waiting_through", "waiting_visit")
#: Rows of ``out``.
OUT_ROWS = ("inflow", "outflow", "occupants", "walking", "visiting", "waiting_through",
            "waiting_visit", "speed", "efficiency")  # fmt: skip
#: Plazas from which :func:`crowd_kernel` spreads plazas over threads.
PARALLEL_FROM = 64
#: Plazas per thread task.
CHUNK = 32


@numba.njit(cache=True)
def walking_speed(rho: float, v0: float, gamma: float, rho_max: float) -> float:
    """Weidmann's speed [m/s] at density ``rho`` [persons/m²] (scalar)."""
    if rho >= rho_max:
        return 0.0
    if rho <= 0.0:
        return v0
    return float(-v0 * math.expm1(-gamma * (1.0 / rho - 1.0 / rho_max)))


@numba.njit(cache=True)
def exit_efficiency(staff: float, n_open: int, base: float, gain: float) -> float:
    """Share of exit capacity usable with ``staff`` people managing ``n_open`` exits [-]."""
    if n_open <= 0:
        return base
    eff = base + gain * staff / n_open
    return eff if eff < 1.0 else 1.0


@numba.njit(cache=True, error_model="numpy")
def _run(
    p_lo: int, p_hi: int, plaza: FloatArray, exit_ptr: IntArray, exits: FloatArray,
    ev_ptr: IntArray, ev_idx: IntArray, step_in: FloatArray, event_in: FloatArray,
    scalars: FloatArray, n_sub: int, state: FloatArray, event_state: FloatArray,
    queue: FloatArray, out: FloatArray, event_out: FloatArray, exit_out: FloatArray,
) -> None:  # fmt: skip
    """Advance plazas ``p_lo`` … ``p_hi - 1`` through all steps (see :func:`crowd_kernel`)."""
    t0, dt_sub, capacity = scalars[0], scalars[1], scalars[2]
    base_eff, gain, rho_adm = scalars[3], scalars[4], scalars[5]
    v0, gamma, rho_max = scalars[6], scalars[7], scalars[8]
    inv_sub = 1.0 / n_sub
    for k in range(step_in.shape[1]):
        for p in range(p_lo, p_hi):
            a_p, l_p, keep, gain_v = plaza[0, p], plaza[1, p], plaza[2, p], plaza[3, p]
            x0, x1 = exit_ptr[p], exit_ptr[p + 1]
            e0, e1 = ev_ptr[p], ev_ptr[p + 1]
            visiting, walking, wait_t, wait_v = state[0, p], state[1, p], state[2, p], state[3, p]
            inflow = 0.0
            outflow = 0.0
            eff_sum = 0.0
            a_through = step_in[0, k, p] * inv_sub
            a_visit = step_in[1, k, p] * inv_sub
            staff = step_in[2, k, p]
            for x in range(x0, x1):
                exit_out[1, k, x] = 0.0
            for s in range(n_sub):
                t = t0 + (k * n_sub + s) * dt_sub
                # Open exits. When exits open or close, the queues walk back among the
                # walkers and choose again; a queue at a closed exit always does.
                t_prev = t - dt_sub
                changed = False
                for x in range(x0, x1):
                    is_open = exits[1, x] <= t < exits[2, x]
                    if is_open != (exits[1, x] <= t_prev < exits[2, x]):
                        changed = True
                w_open = 0.0
                n_open = 0
                last = -1
                queued = 0.0
                for x in range(x0, x1):
                    is_open = exits[1, x] <= t < exits[2, x]
                    if changed or not is_open:
                        walking += queue[x]
                        queue[x] = 0.0
                    if is_open:
                        w_open += exits[0, x]
                        n_open += 1
                        last = x
                        queued += queue[x]
                eff = exit_efficiency(staff, n_open, base_eff, gain)
                eff_sum += eff
                present = visiting + walking + queued
                want = wait_t + a_through + wait_v + a_visit
                for j in range(e0, e1):
                    e = ev_idx[j]
                    present += event_state[0, e]
                    want += event_state[1, e] + event_in[0, k, e] * inv_sub
                # 1. Admission below rho_adm, every class in proportion to what waits.
                room = rho_adm * a_p - present
                frac = 1.0
                if want > room:
                    frac = room / want if room > 0.0 else 0.0
                here = wait_t + a_through
                e_through = here * frac
                wait_t = here - e_through
                here = wait_v + a_visit
                e_visit = here * frac
                wait_v = here - e_visit
                entered = e_through + e_visit
                # 2. Release: event attendees at the event's hazard, visitors exponentially.
                released = 0.0
                for j in range(e0, e1):
                    e = ev_idx[j]
                    here = event_state[1, e] + event_in[0, k, e] * inv_sub
                    e_event = here * frac
                    event_state[1, e] = here - e_event
                    entered += e_event
                    h = event_in[1, k, e]
                    h_sub = 1.0 - (1.0 - h) ** inv_sub if h < 1.0 else 1.0
                    here = event_state[0, e] + e_event
                    go = here * h_sub
                    event_state[0, e] = here - go
                    released += go
                inflow += entered
                present += entered
                # Visitors: exponential stay, arrivals even over the substep (exact).
                stay = visiting * keep + e_visit * gain_v
                go = visiting + e_visit - stay
                visiting = stay
                # 3. Walkers reach the exits at the bathtub rate M v(rho) / L; with rho frozen
                # and joiners even over the substep, M(dt) = M e^-x + J (1 - e^-x) / x exactly.
                join = e_through + go + released
                f = 0.0
                if n_open > 0 and walking + join > 0.0:
                    v = walking_speed(present / a_p, v0, gamma, rho_max)
                    xw = v * dt_sub / l_p
                    decay = -math.expm1(-xw)
                    stay = walking * (1.0 - decay) + (join * decay / xw if xw > 1e-12 else join)
                    f = walking + join - stay
                    walking = stay
                else:
                    walking += join
                # 4.-5. Shares of the walkers by width; discharge at most the capacity.
                given = 0.0
                f_per_m = f / w_open if n_open > 0 else 0.0
                for x in range(x0, x1):
                    if not (exits[1, x] <= t < exits[2, x]):
                        continue
                    fx = f - given if x == last else f_per_m * exits[0, x]
                    given += fx
                    qf = queue[x] + fx
                    cap = capacity * eff * exits[0, x] * dt_sub
                    d = qf if qf < cap else cap
                    queue[x] = qf - d
                    outflow += d
                    exit_out[1, k, x] += d
            # End of step: record states and flows.
            queued = 0.0
            for x in range(x0, x1):
                exit_out[0, k, x] = queue[x]
                queued += queue[x]
            present = visiting + walking + queued
            for j in range(e0, e1):
                e = ev_idx[j]
                present += event_state[0, e]
                event_out[0, k, e] = event_state[0, e]
                event_out[1, k, e] = event_state[1, e]
            out[0, k, p] = inflow
            out[1, k, p] = outflow
            out[2, k, p] = present
            out[3, k, p] = walking
            out[4, k, p] = visiting
            out[5, k, p] = wait_t
            out[6, k, p] = wait_v
            out[7, k, p] = walking_speed(present / a_p, v0, gamma, rho_max)
            out[8, k, p] = eff_sum * inv_sub
            state[0, p], state[1, p], state[2, p], state[3, p] = visiting, walking, wait_t, wait_v


@numba.njit(cache=True, parallel=True)
def _parallel(
    plaza: FloatArray, exit_ptr: IntArray, exits: FloatArray, ev_ptr: IntArray,
    ev_idx: IntArray, step_in: FloatArray, event_in: FloatArray, scalars: FloatArray,
    n_sub: int, state: FloatArray, event_state: FloatArray, queue: FloatArray,
    out: FloatArray, event_out: FloatArray, exit_out: FloatArray,
) -> None:  # fmt: skip
    n = plaza.shape[1]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for c in numba.prange(n_chunks):
        _run(c * CHUNK, min(n, (c + 1) * CHUNK), plaza, exit_ptr, exits, ev_ptr, ev_idx,
             step_in, event_in, scalars, n_sub, state, event_state, queue, out, event_out,
             exit_out)  # fmt: skip


def crowd_kernel(
    plaza: FloatArray, exit_ptr: IntArray, exits: FloatArray, ev_ptr: IntArray,
    ev_idx: IntArray, step_in: FloatArray, event_in: FloatArray, scalars: FloatArray,
    n_sub: int, state: FloatArray, event_state: FloatArray, queue: FloatArray,
    out: FloatArray, event_out: FloatArray, exit_out: FloatArray,
) -> None:  # fmt: skip
    """Advance all plazas over all steps; ``state``, ``event_state``, ``queue`` in place.

    Exits of plaza ``p`` are ``exit_ptr[p]:exit_ptr[p + 1]``; its events are
    ``ev_idx[ev_ptr[p]:ev_ptr[p + 1]]``. Step inputs are spread evenly over the
    ``n_sub`` substeps; outputs hold flows summed over each step and states at its end
    (the packing is described in the module docstring).
    """
    args = (plaza, exit_ptr, exits, ev_ptr, ev_idx, step_in, event_in, scalars, n_sub, state,
            event_state, queue, out, event_out, exit_out)  # fmt: skip
    if plaza.shape[1] >= PARALLEL_FROM and numba.get_num_threads() > 1:
        _parallel(*args)
    else:
        _run(0, plaza.shape[1], *args)


@numba.njit(cache=True)
def meter_kernel(
    arrivals: FloatArray, cap: FloatArray, divert: BoolArray, backlog: FloatArray,
    passed: FloatArray, diverted: FloatArray, held: FloatArray,
) -> None:  # fmt: skip
    """Meter arrivals of ``K`` classes through a shared cap per step.

    In step ``k`` at most ``cap[k]`` people pass, every class in proportion to what it
    has waiting (``backlog`` + ``arrivals[k]``); the rest waits (``held``) or, where
    ``divert[k]``, is removed (``diverted``). ``backlog`` is updated in place.
    """
    n_steps, n_cls = arrivals.shape
    for k in range(n_steps):
        total = 0.0
        for c in range(n_cls):
            total += backlog[c] + arrivals[k, c]
        frac = 1.0
        if total > cap[k]:
            frac = cap[k] / total
        for c in range(n_cls):
            here = backlog[c] + arrivals[k, c]
            go = here * frac
            passed[k, c] = go
            backlog[c] = here - go
            if divert[k]:
                diverted[k, c] = backlog[c]
                backlog[c] = 0.0
            held[k, c] = backlog[c]
