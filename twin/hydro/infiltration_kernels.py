"""Compiled infiltration kernels of :mod:`twin.hydro.reservoir` (Horton, Green–Ampt).

Horton's cumulative form with its recovery in dry weather, and Green–Ampt with its
upper-zone recovery, each over one runoff substep, as SWMM's ``infil.c`` computes them
(in metres and seconds; SWMM's empirical Green–Ampt constants, given in feet, are
converted in :class:`twin.hydro.runoff_options.GreenAmptParams`).
"""

from __future__ import annotations

import math

import numba

from twin._types import FloatArray

__all__ = ["ZERO_RATE", "green_ampt", "horton", "horton_regen"]

#: Rates below this count as no water (SWMM's ZERO, 1e-10 ft/s) [m/s].
ZERO_RATE = 3.048e-11


@numba.njit(cache=True)
def horton(tp: float, h: float, fa: float, f0: float, fc: float, kd: float) -> tuple[float, float]:
    """Horton infiltration over a substep, as SWMM's ``horton_getInfil``.

    Returns the rate [m/s] and the new equivalent time [s]. ``fa`` is the water available
    [m/s] (rain + ponded depth / substep).
    """
    if fa <= ZERO_RATE:
        return 0.0, tp
    df = f0 - fc
    if df <= 0.0 or kd <= 0.0:
        return min(f0, fa), tp
    t1 = tp + h
    tlim = 16.0 / kd
    if tp >= tlim:
        fp_cum = fc * tp + df / kd
        f1_cum = fp_cum + fc * h
    else:
        fp_cum = fc * tp + df / kd * (1.0 - math.exp(-kd * tp))
        f1_cum = fc * t1 + df / kd * (1.0 - math.exp(-kd * t1))
    fp = max((f1_cum - fp_cum) / h, fc)
    if fp > fa:
        fp = fa
    if t1 > tlim or fp < fa:
        tp = t1
    else:
        # Infiltration limited by the water available: find tp' with F(tp') = F(tp) + fp h.
        target = fp_cum + fp * h
        t = tp + 0.5 * h
        for _ in range(50):
            ex = math.exp(-min(60.0, kd * t))
            r = (fc * t + df / kd * (1.0 - ex) - target) / (fc + df * ex)
            t -= r
            if abs(r) <= 1e-9 * h:
                break
        tp = t
    return fp, tp


@numba.njit(cache=True)
def horton_regen(tp: float, h: float, kd: float, kr: float) -> float:
    """Horton capacity regenerating over a dry substep, as SWMM's ``horton_getInfil``.

    The equivalent time ``tp`` [s] moves back so that the capacity recovers towards
    ``f0`` exponentially with rate ``kr`` [1/s] (SWMM: ``-ln(0.02) / DryTime``).
    """
    if kd <= 0.0 or tp <= 0.0:
        return tp
    r = math.exp(-kr * h)
    x = 1.0 - math.exp(-kd * tp)
    return float(-math.log(1.0 - r * x) / kd)


#: Convergence of the Green–Ampt F2 iteration (SWMM: 1e-5 ft) [m].
_GA_TOL = 1e-5 * 0.3048


@numba.njit(cache=True)
def _ga_f2(f1: float, c1: float, ks: float, ts: float) -> float:
    """Cumulative infiltration after ``ts`` [s] on a saturated surface (Green–Ampt) [m].

    Solves ``F2 - F1 - c1 ln((F2 + c1) / (F1 + c1)) = ks ts`` (Newton, as SWMM's
    ``grnampt_getF2``); ``c1`` is suction head × moisture deficit [m].
    """
    f2min = f1 + ks * ts
    if c1 == 0.0:
        return f2min
    if ts < 10.0 and f1 > 0.01 * c1:
        return max(f1 + ks * (1.0 + c1 / f1) * ts, f2min)
    c2 = c1 * math.log(f1 + c1) - ks * ts
    f2 = f1
    for _ in range(20):
        den = 1.0 - c1 / (f2 + c1)
        if den <= 0.0:
            f2 = f2min
            continue
        df2 = (f2 - f1 - c1 * math.log(f2 + c1) + c2) / den
        if abs(df2) < _GA_TOL:
            return max(f2, f2min)
        f2 -= df2
    return f2min


@numba.njit(cache=True)
def green_ampt(
    h: float, irate: float, depth: float, ga: FloatArray, j: int, st: FloatArray
) -> float:
    """Green–Ampt infiltration rate over a substep [m/s], as SWMM's ``grnampt_getInfil``.

    ``irate`` is the water falling on the pervious part [m/s], ``depth`` its ponded
    depth [m], ``ga[:, j]`` the point's parameters
    (:meth:`~twin.hydro.runoff_options.GreenAmptParams.arrays`) and ``st[6:11, j]`` its
    state (moisture deficit, cumulative and upper-zone infiltration [m], saturated flag,
    time to the next event [s]), updated in place.
    """
    s, ks, imdmax, lu = ga[0, j], ga[1, j], ga[2, j], ga[3, j]
    fumax, kr, t_new = ga[4, j], ga[5, j], ga[6, j]
    imd, f_cum, fu, sat, t_left = st[6, j], st[7, j], st[8, j], st[9, j], st[10, j]
    t_left -= h
    ia = irate + depth / h
    rate = 0.0
    if sat > 0.0 and ia < ZERO_RATE:
        pass
    elif sat <= 0.0 and ia < ZERO_RATE:  # dry: the upper zone recovers
        if fu > 0.0:
            dF = kr * fumax * h
            f_cum -= dF
            fu -= dF
            if fu <= 0.0:
                fu, f_cum, imd = 0.0, 0.0, imdmax
            elif t_left <= 0.0:
                imd = (fumax - fu) / lu
                f_cum = 0.0
    elif sat <= 0.0 and ia <= ks:  # all of it infiltrates
        f_cum += ia * h
        fu = min(fu + ia * h, fumax)
        if t_left <= 0.0:
            imd = (fumax - fu) / lu
            f_cum = 0.0
        rate = ia
    else:
        t_left = t_new
        c1 = (s + depth) * imd
        if sat <= 0.0:
            fs = ks * (s + depth) * imd / (ia - ks)  # volume that saturates the surface
            if f_cum <= fs and f_cum + ia * h < fs:  # stays unsaturated
                f_cum += ia * h
                fu = min(fu + ia * h, fumax)
                rate = ia
            elif f_cum <= fs:  # saturates within the substep
                ts = max(h - (fs - f_cum) / ia, 0.0)
                f2 = min(_ga_f2(fs, c1, ks, ts), fs + ia * ts)
                fu = min(fu + f2 - f_cum, fumax)
                rate = (f2 - f_cum) / h
                f_cum = f2
                sat = 1.0
            else:
                sat = 1.0
        if sat > 0.0 and rate == 0.0:  # saturated surface
            dF = _ga_f2(f_cum, c1, ks, h) - f_cum
            if dF > ia * h:
                dF = ia * h
                sat = 0.0
            f_cum += dF
            fu = min(fu + dF, fumax)
            rate = dF / h
    st[6, j], st[7, j], st[8, j], st[9, j], st[10, j] = imd, f_cum, fu, sat, t_left
    return rate
