"""Compiled kernels of :mod:`twin.hydro.reservoir` (numpy/numba in, numpy out).

The nonlinear-reservoir runoff of the impervious and pervious sub-areas, Horton
infiltration and the pond balance, looped over points, steps and substeps. The
equations, units and sources are in :mod:`twin.hydro.reservoir`'s docstring.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from twin._types import FloatArray
from twin.hydro.infiltration_kernels import green_ampt as ga_infiltration
from twin.hydro.infiltration_kernels import horton, horton_regen

__all__ = ["MM_PER_H", "STIFF_LIMIT", "ponding_kernel"]

#: A runoff reservoir whose time scale is shorter than this fraction of a substep
#: (``dt * dq/dd`` above it) is integrated by backward Euler instead of Runge–Kutta: it
#: reaches equilibrium within the substep, and explicit steps would be tiny [-].
STIFF_LIMIT = 50.0
#: Rain rate conversion [m/s per mm/h].
MM_PER_H = 1.0 / 3.6e6

# Cash–Karp embedded Runge–Kutta tableau (Cash & Karp 1990).
_B21 = 0.2
_B31, _B32 = 3.0 / 40.0, 9.0 / 40.0
_B41, _B42, _B43 = 0.3, -0.9, 1.2
_B51, _B52, _B53, _B54 = -11.0 / 54.0, 2.5, -70.0 / 27.0, 35.0 / 27.0
_B61, _B62, _B63, _B64, _B65 = (
    1631.0 / 55296.0,
    175.0 / 512.0,
    575.0 / 13824.0,
    44275.0 / 110592.0,
    253.0 / 4096.0,
)
_C1, _C3, _C4, _C6 = 37.0 / 378.0, 250.0 / 621.0, 125.0 / 594.0, 512.0 / 1771.0
_DC1 = _C1 - 2825.0 / 27648.0
_DC3 = _C3 - 18575.0 / 48384.0
_DC4 = _C4 - 13525.0 / 55296.0
_DC5 = -277.0 / 14336.0
_DC6 = _C6 - 0.25


# ------------------------------------------------------------------------- parameters


#: Fields that must be > 0 (the rest must be >= 0 unless checked otherwise).


@numba.njit(cache=True)
def _ddt(y: float, ix: float, alpha: float, ds: float) -> float:
    """Rate of change of a subarea's ponded depth [m/s]."""
    x = y - ds
    if x <= 0.0:
        return ix
    return float(ix - alpha * x * np.cbrt(x * x))


@numba.njit(cache=True)
def _rkck(y: float, ix: float, alpha: float, ds: float, T: float, tol: float) -> float:
    """Integrate ``dy/dt = ix - alpha (y - ds)_+^(5/3)`` over ``T`` [s] (Cash–Karp RK45)."""
    t = 0.0
    h = T
    for _ in range(100000):
        k1 = _ddt(y, ix, alpha, ds)
        yscal = abs(y) + abs(k1 * h) + 1e-30
        if t + h > T:
            h = T - t
        while True:
            k2 = _ddt(y + h * _B21 * k1, ix, alpha, ds)
            k3 = _ddt(y + h * (_B31 * k1 + _B32 * k2), ix, alpha, ds)
            k4 = _ddt(y + h * (_B41 * k1 + _B42 * k2 + _B43 * k3), ix, alpha, ds)
            k5 = _ddt(y + h * (_B51 * k1 + _B52 * k2 + _B53 * k3 + _B54 * k4), ix, alpha, ds)
            k6 = _ddt(
                y + h * (_B61 * k1 + _B62 * k2 + _B63 * k3 + _B64 * k4 + _B65 * k5),
                ix,
                alpha,
                ds,
            )
            ynew = y + h * (_C1 * k1 + _C3 * k3 + _C4 * k4 + _C6 * k6)
            yerr = h * (_DC1 * k1 + _DC3 * k3 + _DC4 * k4 + _DC5 * k5 + _DC6 * k6)
            errmax = abs(yerr / yscal) / tol
            if errmax <= 1.0:
                break
            htemp = 0.9 * h * errmax**-0.25
            h = max(htemp, 0.1 * h)
            if t + h == t:
                break
        t += h
        y = ynew
        if t >= T * (1.0 - 1e-12):
            return y
        h = 0.9 * h * errmax**-0.2 if errmax > 1.89e-4 else 5.0 * h
    return y


@numba.njit(cache=True)
def _subarea_implicit(x0: float, ix: float, alpha: float, tx: float) -> float:
    """Depth above depression storage after ``tx`` [s] by backward Euler (stiff case).

    Solves ``x + tx alpha x^(5/3) = x0 + ix tx`` (Newton from above; the left side is
    convex and increasing). A negative right side means the water drops below depression
    storage without running off.
    """
    r = x0 + ix * tx
    if r <= 0.0:
        return r
    c = tx * alpha
    x = min(r, (r / c) ** 0.6)
    for _ in range(100):
        cb = np.cbrt(x * x)
        step = (x + c * x * cb - r) / (1.0 + (5.0 / 3.0) * c * cb)
        x -= step
        if abs(step) <= 1e-13 * x + 1e-300:
            break
    return float(max(x, 0.0))


@numba.njit(cache=True)
def _subarea(d: float, ix: float, alpha: float, ds: float, h: float, tol: float) -> float:
    """New ponded depth of a subarea after a substep, as SWMM's ``updatePondedDepth``.

    The result may be slightly negative (water lost by infiltration exceeding what was
    there); the caller clamps it and books the deficit.
    """
    if d + ix * h <= ds:
        return d + ix * h
    tx = h
    dx = ds - d
    if dx > 0.0 and ix > 0.0:
        tx -= dx / ix
        d = ds
    if alpha > 0.0 and tx > 0.0:
        x0 = d - ds
        x_eq = (ix / alpha) ** 0.6 if ix > 0.0 else 0.0
        x_big = max(x0, x_eq)
        if (5.0 / 3.0) * alpha * np.cbrt(x_big * x_big) * tx > STIFF_LIMIT:
            return ds + _subarea_implicit(x0, ix, alpha, tx)
        if ix == 0.0:
            # Recession without inflow has a closed form: with x = d - ds,
            # dx/dt = -alpha x^(5/3) gives x(t) = (x0^(-2/3) + 2/3 alpha t)^(-3/2).
            x = d - ds
            y = 1.0 / np.cbrt(x * x) + (2.0 / 3.0) * alpha * tx
            return float(ds + 1.0 / (y * math.sqrt(y)))
        return _rkck(d, ix, alpha, ds, tx, tol)
    return d + ix * max(tx, 0.0)


@numba.njit(cache=True)
def _power(x: float, p: float) -> float:
    """``x**p`` for x >= 0, without ``pow`` for the common exponents 0, 0.5, 1, 1.5, 2."""
    if p == 1.0:
        return x
    if p == 0.5:
        return math.sqrt(x)
    if p == 0.0:
        return 1.0
    if p == 1.5:
        return x * math.sqrt(x)
    if p == 2.0:
        return x * x
    return float(x**p)


@numba.njit(cache=True)
def _pond_volume(h: float, a: float, b: float, c: float) -> float:
    """Pond volume at depth ``h`` [m³]."""
    if h <= 0.0:
        return 0.0
    return h * (a * _power(h, b) / (b + 1.0) + c)


@numba.njit(cache=True)
def _drain(h: float, k: float, e: float, cap: float) -> float:
    """Drain outflow at depth ``h`` [m³/s]."""
    if h <= 0.0:
        return 0.0
    return min(k * _power(h, e), cap)


@numba.njit(cache=True)
def _pond_solve(
    h_guess: float,
    rhs: float,
    half_dt: float,
    a: float,
    b: float,
    c: float,
    k: float,
    e: float,
    cap: float,
    hmax: float,
) -> float:
    """Depth h in (0, hmax) with ``V(h) + half_dt * Q(h) = rhs`` (safeguarded Newton).

    ``half_dt`` is half the substep (trapezoidal rule) or all of it (backward Euler).
    ``V(0) = 0 < rhs < V(hmax) + half_dt Q(hmax)`` must hold; the residual is increasing
    in h, so the root is bracketed and bisection takes over when a Newton step leaves
    the bracket.
    """
    b1 = b + 1.0
    # Each term of the residual alone bounds the root from above.
    hi = hmax
    if c > 0.0:
        hi = min(hi, rhs / c)
    if a > 0.0:
        hi = min(hi, (b1 * rhs / a) ** (1.0 / b1))
    if k > 0.0 and 2.0 * rhs < half_dt * 2.0 * cap:
        hi = min(hi, (rhs / (half_dt * k)) ** (1.0 / e))
    if hi <= 0.0:  # a trace of water (underflow): the pond stays empty
        return 0.0
    lo = 0.0
    h = h_guess
    if h <= 0.0 or h >= hi:
        h = hi
    for _ in range(200):
        hb = _power(h, b)
        he = k * _power(h, e)
        if he >= cap:
            q = cap
            dq = 0.0
        else:
            q = he
            dq = e * he / h if h > 0.0 else 0.0
        g = h * (a * hb / b1 + c) + half_dt * q - rhs
        if g > 0.0:
            hi = h
        else:
            lo = h
        dg = a * hb + c + half_dt * dq
        h_new = h - g / dg if dg > 0.0 else 0.5 * (lo + hi)
        if h_new <= lo or h_new >= hi:
            h_new = 0.5 * (lo + hi)
        if abs(h_new - h) <= 1e-14 + 1e-9 * h_new or hi - lo <= 1e-14 + 1e-9 * hi:
            return h_new
        h = h_new
    return h


@numba.njit(cache=True)
def ponding_kernel(
    area: FloatArray,
    imperv: FloatArray,
    width: FloatArray,
    slope: FloatArray,
    n_imperv: FloatArray,
    n_perv: FloatArray,
    ds_imperv: FloatArray,
    ds_perv: FloatArray,
    f0: FloatArray,
    fc: FloatArray,
    decay: FloatArray,
    pond_a: FloatArray,
    pond_b: FloatArray,
    pond_c: FloatArray,
    cap: FloatArray,
    coeff: FloatArray,
    expo: FloatArray,
    hmax: FloatArray,
    route: FloatArray,
    regen: FloatArray,
    spill_to: npt.NDArray[np.int64],
    order: npt.NDArray[np.int64],
    spill_in: FloatArray,
    ga: FloatArray,
    green_ampt: bool,
    rain: FloatArray,
    dt: float,
    substeps: int,
    tol: float,
    depth_out: FloatArray,
    volume_out: FloatArray,
    runoff_out: FloatArray,
    drain_out: FloatArray,
    over_out: FloatArray,
    infil_out: FloatArray,
    totals: FloatArray,
    state: FloatArray,
) -> None:
    """March every point through the rain series (see the module docstring).

    ``rain`` is [m/s], shape ``(n_steps, n_points)``. Outputs are filled in place:
    depths/volumes at step boundaries, step-mean rates [m³/s], and per-point totals
    ``totals[:, j] = (rain, infiltration, surface change, pond change, drain, overflow)``
    [m³]. ``route`` is the fraction of impervious runoff routed onto the pervious part
    [-] and ``regen`` the Horton regeneration rate in dry weather [1/s] (zeros: neither,
    the defaults). Points are simulated in ``order`` (upstream first); a point's spill
    goes to the pond of point ``spill_to[j]`` (-1: it leaves), added to ``spill_in``
    ``(n_steps, n_points)`` [m³ per step] and spread evenly over the receiver's
    substeps; ``totals[6]`` is the volume received. With ``green_ampt`` the pervious
    part infiltrates by Green–Ampt (parameters ``ga``, state rows 6–10) instead of
    Horton. ``state`` ``(6, n_points)`` holds
    each point's state at the start and is overwritten with the state at the end:
    ponded depth on the impervious and pervious parts [m], Horton equivalent time [s],
    pond depth [m], pond volume [m³] and drain outflow [m³/s] (zeros: a dry start).
    """
    n_steps, n_points = rain.shape
    h = dt / substeps
    half = 0.5 * h
    for jj in range(n_points):
        j = order[jj]
        a_imp = area[j] * imperv[j]
        a_per = area[j] - a_imp
        sq = math.sqrt(slope[j])
        alpha_i = width[j] * sq / (a_imp * n_imperv[j]) if a_imp > 0.0 else 0.0
        alpha_p = width[j] * sq / (a_per * n_perv[j]) if a_per > 0.0 else 0.0
        pa, pb, pc = pond_a[j], pond_b[j], pond_c[j]
        qk, qe, qcap, hm = coeff[j], expo[j], cap[j], hmax[j]
        pct = route[j] if a_per > 0.0 else 0.0
        kr = regen[j]
        vmax = _pond_volume(hm, pa, pb, pc)
        d_i = state[0, j]
        d_p = state[1, j]
        tp = state[2, j]
        hs = state[3, j]
        vs = state[4, j]
        q0 = state[5, j]
        surf0 = d_i * a_imp + d_p * a_per
        vs0 = vs
        v_rain = 0.0
        v_inf = 0.0
        v_drain = 0.0
        v_over = 0.0
        v_up = 0.0
        down = spill_to[j]
        depth_out[0, j] = hs
        volume_out[0, j] = vs
        for k in range(n_steps):
            i = rain[k, j]
            q_up = spill_in[k, j] / substeps  # spill of upstream points [m³ per substep]
            s_run = 0.0
            s_drain = 0.0
            s_over = 0.0
            s_inf = 0.0
            for _ in range(substeps):
                if i <= 0.0 and d_i <= 0.0 and d_p <= 0.0 and vs <= 0.0 and q_up <= 0.0:
                    if green_ampt:
                        ga_infiltration(h, 0.0, 0.0, ga, j, state)
                    elif kr > 0.0:
                        tp = horton_regen(tp, h, decay[j], kr)
                    continue
                r_vol = 0.0
                i_p = i  # water falling on the pervious part [m/s]
                # Impervious part: no infiltration.
                if a_imp > 0.0 and (i > 0.0 or d_i > ds_imperv[j]):
                    d_new = _subarea(d_i, i, alpha_i, ds_imperv[j], h, tol)
                    ri = d_i + i * h - d_new
                    if ri < 0.0:  # round-off
                        d_new += ri
                        ri = 0.0
                    if pct > 0.0:  # SWMM's RouteTo PERVIOUS: part runs onto the pervious
                        i_p = i + pct * ri * a_imp / (a_per * h)
                        r_vol += (1.0 - pct) * ri * a_imp
                    else:
                        r_vol += ri * a_imp
                    d_i = d_new
                # Pervious part: Horton infiltration, constant over the substep.
                if a_per > 0.0 and (i_p > 0.0 or d_p > 0.0):
                    fa = i_p + d_p / h
                    if green_ampt:
                        f = ga_infiltration(h, i_p, d_p, ga, j, state)
                    else:
                        f, tp = horton(tp, h, fa, f0[j], fc[j], decay[j])
                    if f >= fa:
                        inf = d_p + i_p * h
                        d_new = 0.0
                    else:
                        inf = f * h
                        d_new = _subarea(d_p, i_p - f, alpha_p, ds_perv[j], h, tol)
                        if d_new < 0.0:
                            inf += d_new
                            d_new = 0.0
                    rp = d_p + i_p * h - inf - d_new
                    if rp < 0.0:  # round-off
                        d_new += rp
                        rp = 0.0
                    r_vol += rp * a_per
                    s_inf += inf * a_per
                    d_p = d_new
                elif green_ampt:  # nothing to infiltrate: the upper zone recovers
                    ga_infiltration(h, 0.0, 0.0, ga, j, state)
                elif kr > 0.0:  # nothing to infiltrate: the capacity regenerates
                    tp = horton_regen(tp, h, decay[j], kr)
                v_in = r_vol + q_up  # (+ 0.0 without upstream spill: bit for bit)
                # Storage node: trapezoidal balance with the exact runoff volume. Where
                # the drain is stiff (dt dQ/dV > 2: a nearly empty pond with a steep
                # outflow curve) the trapezoidal rule oscillates, and backward Euler
                # (L-stable) takes the step instead.
                if hs <= 0.0 or (q0 < qcap and h * qe * q0 > 2.0 * hs * (pa * _power(hs, pb) + pc)):
                    w = h
                    rhs = vs + v_in
                else:
                    w = half
                    rhs = vs + v_in - half * q0
                if rhs <= 0.0:
                    out = vs + v_in
                    hs = 0.0
                    vs = 0.0
                    q0 = 0.0
                    spill = 0.0
                else:
                    qfull = _drain(hm, qk, qe, qcap)
                    if vmax + w * qfull <= rhs:
                        spill = rhs - vmax - w * qfull
                        hs = hm
                        vs_new = vmax
                        q0 = qfull
                    else:
                        spill = 0.0
                        hs = _pond_solve(hs, rhs, w, pa, pb, pc, qk, qe, qcap, hm)
                        q0 = _drain(hs, qk, qe, qcap)
                        vs_new = _pond_volume(hs, pa, pb, pc)
                    out = vs + v_in - vs_new - spill
                    if out < 0.0:  # round-off: keep the balance in the pond
                        vs_new += out
                        out = 0.0
                    vs = vs_new
                s_run += r_vol
                s_drain += out
                s_over += spill
            v_rain += i * dt * area[j]
            v_inf += s_inf
            v_drain += s_drain
            v_over += s_over
            v_up += spill_in[k, j]
            if down >= 0:
                spill_in[k, down] += s_over
            depth_out[k + 1, j] = hs
            volume_out[k + 1, j] = vs
            runoff_out[k, j] = s_run / dt
            drain_out[k, j] = s_drain / dt
            over_out[k, j] = s_over / dt
            infil_out[k, j] = s_inf / dt
        totals[0, j] = v_rain
        totals[1, j] = v_inf
        totals[2, j] = d_i * a_imp + d_p * a_per - surf0
        totals[3, j] = vs - vs0
        totals[4, j] = v_drain
        totals[5, j] = v_over
        totals[6, j] = v_up
        state[0, j] = d_i
        state[1, j] = d_p
        state[2, j] = tp
        state[3, j] = hs
        state[4, j] = vs
        state[5, j] = q0


# ------------------------------------------------------------------------- public API
