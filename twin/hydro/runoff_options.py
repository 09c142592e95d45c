"""Optional SWMM runoff features of the ponding model (:mod:`twin.hydro.reservoir`).

Each is off by default, and then a run is bit for bit the model without them: subarea
routing (impervious runoff onto the pervious part), Horton recovery in dry weather,
Green–Ampt infiltration instead of Horton, and spilled water routed to a downstream
low point. The equations are in :mod:`twin.hydro.reservoir`'s docstring; the
verification against SWMM is ``tests/verification/test_swmm_options.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twin._types import FloatArray, IntArray

__all__ = ["GreenAmptParams", "RunoffOptions"]

#: 1 ft [m]: SWMM's Green–Ampt constants are empirical in feet.
_FT = 0.3048
#: 1 in [m].
_IN = 0.0254


@dataclass(frozen=True)
class GreenAmptParams:
    """Green–Ampt infiltration on the pervious part (SWMM's ``GREEN_AMPT``).

    Each value is one number for every point or an array with one per point.

    Attributes
    ----------
    suction
        Capillary suction head at the wetting front [m] (SWMM: mm).
    conductivity
        Saturated hydraulic conductivity [m/s] (SWMM: mm/h).
    deficit
        Initial moisture deficit, porosity minus initial moisture content [-].
    """

    suction: float | FloatArray
    conductivity: float | FloatArray
    deficit: float | FloatArray

    def arrays(self, n_points: int) -> FloatArray:
        """The parameters as the kernel takes them, shape ``(7, n_points)``.

        Rows: suction [m], conductivity [m/s], deficit [-], upper-zone depth [m],
        saturated upper-zone water [m], recovery rate [1/s] and recovery time [s]. The
        upper soil zone is Mein's ``Lu = 4 √Ks`` (inches, Ks in in/h); recovery in
        dry weather drains ``Lu / 90000`` [1/s, Lu in ft] of the saturated upper zone's
        water per second; a new event starts after ``5400 / Lu`` [s, Lu in ft] without
        water above Ks, as in SWMM's ``infil.c``.

        Raises
        ------
        ValueError
            A negative suction or deficit, or a conductivity that is not positive.
        """
        s, k, d = (np.broadcast_to(np.asarray(v, dtype=np.float64), (n_points,))
                   for v in (self.suction, self.conductivity, self.deficit))  # fmt: skip
        if np.any(s < 0.0) or np.any(d < 0.0) or not np.all(k > 0.0):
            raise ValueError(
                "GreenAmptParams: suction and deficit must be >= 0 and conductivity > 0"
            )
        lu = 4.0 * np.sqrt(k * 3600.0 / _IN) * _IN
        lu_ft = lu / _FT
        return np.ascontiguousarray(np.vstack([s, k, d, lu, d * lu, lu_ft / 90000.0,
                                               5400.0 / lu_ft]))  # fmt: skip


@dataclass(frozen=True)
class RunoffOptions:
    """SWMM runoff features beyond the default model; each is off by default.

    With the defaults a run is bit for bit the model described in the module docstring.
    A value is one number for every point or an array with one per point.

    Attributes
    ----------
    route_to_pervious
        Fraction of the impervious part's runoff that runs onto the pervious part
        instead of the outlet [-], SWMM's ``[SUBAREAS]`` ``RouteTo PERVIOUS`` with
        ``PctRouted`` = 100 × this. The routed water joins the rain on the pervious
        part in the same substep (SWMM adds the previous runoff step's outflow), where
        it can infiltrate. 0: all runoff to the outlet (``RouteTo OUTLET``).
    dry_time
        Horton drying time [s]: how long a saturated soil takes to recover 98 % of its
        capacity in dry weather (SWMM's ``DryTime``, in days there). In every substep
        with no water on the pervious part the equivalent time moves back as in SWMM's
        ``horton_getInfil``, with rate ``-ln(0.02) / dry_time`` [1/s]. ``inf``: the
        capacity never regenerates (the default).
    spill_to
        For each point, the point whose pond receives the water it spills above
        ``max_depth`` (the downstream low point), or -1 where it leaves the network at
        its edge (``None``: every point, the default). The spill of a rain step reaches
        the receiving pond spread evenly over that step (SWMM: an overflow link).
    green_ampt
        Green–Ampt infiltration on the pervious part instead of Horton (whose
        parameters are then unused; ``None``: Horton, the default). Its state (five
        rows: moisture deficit, cumulative and upper-zone infiltration [m], saturation
        flag, time to the next event [s]) extends :class:`~twin.hydro.reservoir.PondState`
        to 11 rows.
    """

    route_to_pervious: float | FloatArray = 0.0
    dry_time: float | FloatArray = math.inf
    spill_to: IntArray | list[int] | None = None
    green_ampt: GreenAmptParams | None = None

    def spill_order(self, n_points: int) -> tuple[IntArray, IntArray]:
        """Where each point spills (-1: away) and an order with upstream points first.

        Raises
        ------
        ValueError
            Wrong length, an index out of range, or points that spill into each other
            in a loop.
        """
        if self.spill_to is None:
            return np.full(n_points, -1, dtype=np.int64), np.arange(n_points, dtype=np.int64)
        to = np.asarray(self.spill_to, dtype=np.int64).ravel()
        if to.shape != (n_points,) or np.any((to < -1) | (to >= n_points)):
            raise ValueError(
                f"RunoffOptions.spill_to: give one index per point ({n_points}), each a "
                "point index or -1 (the water leaves)"
            )
        order: list[int] = []
        indegree = np.bincount(to[to >= 0], minlength=n_points)
        ready = [j for j in range(n_points) if indegree[j] == 0]
        while ready:
            j = ready.pop()
            order.append(j)
            if to[j] >= 0:
                indegree[to[j]] -= 1
                if indegree[to[j]] == 0:
                    ready.append(int(to[j]))
        if len(order) != n_points:
            raise ValueError("RunoffOptions.spill_to: points spill into each other in a loop")
        return to, np.array(order, dtype=np.int64)

    def arrays(self, n_points: int) -> tuple[FloatArray, FloatArray]:
        """Per-point routed fraction [-] and Horton regeneration rate [1/s].

        Raises
        ------
        ValueError
            A fraction outside [0, 1], a drying time that is not positive, or arrays
            of the wrong length.
        """
        route = np.broadcast_to(np.asarray(self.route_to_pervious, dtype=np.float64), (n_points,))
        dry = np.broadcast_to(np.asarray(self.dry_time, dtype=np.float64), (n_points,))
        if not np.all((route >= 0.0) & (route <= 1.0)):
            raise ValueError("RunoffOptions.route_to_pervious: fractions must lie in [0, 1]")
        if not np.all(dry > 0.0):
            raise ValueError("RunoffOptions.dry_time: must be > 0 [s] (inf: no recovery)")
        with np.errstate(divide="ignore"):
            regen = np.where(np.isfinite(dry), -math.log(0.02) / dry, 0.0)
        return np.ascontiguousarray(route), np.ascontiguousarray(regen, dtype=np.float64)
