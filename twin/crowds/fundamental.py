r"""Pedestrian fundamental diagram (Weidmann 1993) and the specific capacity of exits.

Walking speed against density (Weidmann's fit, after Kladek, of the literature he
reviewed for unidirectional walkways):

.. math::

    v(\rho) = v_0 \left[1 - \exp\!\left(-\gamma \left(\frac{1}{\rho} -
    \frac{1}{\rho_{max}}\right)\right)\right], \qquad 0 < \rho < \rho_{max}

with :math:`v_0` = 1.34 m/s (free walking speed), :math:`\gamma` = 1.913 persons/m²
and :math:`\rho_{max}` = 5.4 persons/m² (standstill); :math:`v(0) = v_0` and
:math:`v = 0` at and above :math:`\rho_{max}`. The specific flow (persons per metre of
width per second) is :math:`q(\rho) = \rho\, v(\rho)`; it peaks at
:math:`q_{max} \approx 1.225` persons/(m·s) at :math:`\rho \approx 1.75` persons/m²
(:func:`weidmann_capacity`), the values Weidmann reports.

The discharge of an exit at capacity is :math:`C = c_s\, w` [persons/s] for an effective
width :math:`w` [m], with the specific capacity :math:`c_s` = :data:`EXIT_CAPACITY` =
1.3 persons/(m·s): the SFPE Handbook's *maximum specific flow* for corridors, aisles,
ramps and doorways (24 persons/min per foot of effective width). It is used for exits,
rather than Weidmann's walkway maximum of 1.22, because an exit is a short bottleneck
where the crowd presses into the opening, and design guidance for the capacity of
openings (SFPE; the hydraulic model of Nelson & Mowrer) is stated at this value;
measured bottleneck flows are of the same order or higher (Seyfried et al. 2009).

References
----------
.. [1] U. Weidmann, *Transporttechnik der Fussgänger*, Schriftenreihe des IVT Nr. 90,
   ETH Zürich, 2nd ed., 1993, sect. 3 (speed–density relation, eq. 3.5; maximum flow).
.. [2] S. M. V. Gwynne, E. R. Rosenbaum, "Employing the hydraulic model in assessing
   emergency movement", in *SFPE Handbook of Fire Protection Engineering*, 5th ed.,
   Springer, 2016, ch. 59 (maximum specific flow, table 59.2).
.. [3] A. Seyfried, O. Passon, B. Steffen, M. Boltes, T. Rupprecht, W. Klingsch,
   "New insights into pedestrian flow through bottlenecks", *Transportation Science*
   43(3), 395–406, 2009.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from twin._types import FloatArray

__all__ = [
    "EXIT_CAPACITY",
    "GAMMA",
    "RHO_MAX",
    "V0",
    "exit_discharge",
    "weidmann_capacity",
    "weidmann_flow",
    "weidmann_speed",
]

#: Free walking speed [m/s] (Weidmann 1993).
V0 = 1.34
#: Shape constant of the speed–density relation [persons/m²] (Weidmann 1993).
GAMMA = 1.913
#: Density at which walking stops [persons/m²] (Weidmann 1993).
RHO_MAX = 5.4
#: Specific capacity of an exit [persons/(m·s)] (SFPE maximum specific flow, doorways).
EXIT_CAPACITY = 1.3


def weidmann_speed(
    density: npt.ArrayLike, *, v0: float = V0, gamma: float = GAMMA, rho_max: float = RHO_MAX
) -> FloatArray:
    """Walking speed at a density, Weidmann's fundamental diagram.

    Parameters
    ----------
    density
        Crowd density [persons/m²], ≥ 0.
    v0
        Free walking speed [m/s].
    gamma
        Shape constant [persons/m²].
    rho_max
        Density at which walking stops [persons/m²].

    Returns
    -------
    ndarray
        Speed [m/s]: ``v0`` at density 0, 0 at and above ``rho_max``.
    """
    rho = np.asarray(density, dtype=np.float64)
    with np.errstate(divide="ignore"):
        inv = np.where(rho > 0.0, 1.0 / np.where(rho > 0.0, rho, 1.0), np.inf)
    v = -v0 * np.expm1(-gamma * (inv - 1.0 / rho_max))
    return np.asarray(np.where(rho >= rho_max, 0.0, v), dtype=np.float64)


def weidmann_flow(
    density: npt.ArrayLike, *, v0: float = V0, gamma: float = GAMMA, rho_max: float = RHO_MAX
) -> FloatArray:
    """Specific flow ``q = ρ v(ρ)`` [persons/(m·s)] at a density [persons/m²]."""
    rho = np.asarray(density, dtype=np.float64)
    return np.asarray(rho * weidmann_speed(rho, v0=v0, gamma=gamma, rho_max=rho_max))


def weidmann_capacity(
    *, v0: float = V0, gamma: float = GAMMA, rho_max: float = RHO_MAX
) -> tuple[float, float]:
    """Density and value of the largest specific flow of the fundamental diagram.

    Returns
    -------
    density : float
        Density of the maximum [persons/m²] (about 1.75 with Weidmann's constants).
    flow : float
        Maximum specific flow [persons/(m·s)] (about 1.225).
    """
    from scipy.optimize import minimize_scalar  # only here: it takes ~0.4 s to import

    res = minimize_scalar(
        lambda r: -float(weidmann_flow(r, v0=v0, gamma=gamma, rho_max=rho_max)),
        bounds=(1e-3, rho_max - 1e-9),
        method="bounded",
        options={"xatol": 1e-10},
    )
    rho = float(res.x)
    return rho, float(weidmann_flow(rho, v0=v0, gamma=gamma, rho_max=rho_max))


def exit_discharge(
    queue: npt.ArrayLike, width: npt.ArrayLike, dt: float, *, capacity: float = EXIT_CAPACITY
) -> FloatArray:
    """People through an exit in ``dt``: ``min(queue, capacity · width · dt)`` [persons].

    Parameters
    ----------
    queue
        People waiting at the exit, including those reaching it within ``dt`` [persons].
    width
        Effective width of the exit [m].
    dt
        Time [s].
    capacity
        Specific capacity [persons/(m·s)].

    Returns
    -------
    ndarray
        People discharged [persons].
    """
    q = np.asarray(queue, dtype=np.float64)
    cap = capacity * np.asarray(width, dtype=np.float64) * dt
    return np.asarray(np.minimum(q, cap), dtype=np.float64)
