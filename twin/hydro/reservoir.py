r"""Ponding at low points: SWMM's runoff reservoirs draining into a storage node.

Each low point is one EPA SWMM subcatchment routed to one storage node (the sag where
water stands), emptied by the drainage (inlets + pipe) and spilling above a maximum
depth. All points are simulated at once by a numba kernel that loops over points and
time; nothing here loops in Python per point or per step.

Runoff (SWMM 5 reference manual, vol. I, ch. 3)
    The catchment of area :math:`A` [m²] has an impervious part :math:`A_i = f_{imp} A`
    without infiltration and a pervious part :math:`A_p = (1 - f_{imp}) A`. SWMM's
    ``PctZero`` (impervious area without depression storage) is 0. Each part is a
    nonlinear reservoir of ponded depth :math:`d` [m]:

    .. math::

        \frac{dd}{dt} = i - f - q, \qquad
        q = \frac{W \sqrt{S}}{A_x n_x} \, (d - d_s)_+^{5/3}

    with :math:`i` the rain rate [m/s], :math:`f` the infiltration rate [m/s] (0 on the
    impervious part), :math:`W` the overland flow width [m] (the full width for both
    parts, as in SWMM), :math:`S` the slope [-], :math:`A_x` and :math:`n_x`
    [s m^-1/3] the part's area and Manning's n, and :math:`d_s` [m] its depression
    storage. Runoff :math:`q A_x` [m³/s] flows to the storage node. Evaporation is 0.

    As in SWMM (``subcatch.c``), within a runoff substep of length :math:`\Delta t`
    the net inflow :math:`i - f` is constant; depression storage fills first, then the
    ODE is integrated by the adaptive 5th-order Runge–Kutta–Cash–Karp method with
    relative tolerance :data:`ODE_TOL`. Two cases are solved otherwise: a recession
    without inflow by its closed form
    :math:`x(t) = (x_0^{-2/3} + \tfrac{2}{3} \alpha t)^{-3/2}` (:math:`x = d - d_s`),
    and a reservoir far faster than the substep (:data:`STIFF_LIMIT`, e.g. the sliver of
    pervious area of a nearly paved catchment) by backward Euler.

Infiltration (Horton, cumulative form, SWMM ``infil.c``)
    Capacity :math:`f_p(t) = f_c + (f_0 - f_c) e^{-k t}` [m/s] on an *equivalent time*
    :math:`t_p` [s] whose cumulative infiltration is
    :math:`F(t_p) = f_c t_p + (f_0 - f_c)(1 - e^{-k t_p})/k` [m]. Over a substep the
    rate is :math:`f = \max(f_c, (F(t_p + \Delta t) - F(t_p))/\Delta t)`, limited to
    the water available :math:`i + d/\Delta t`; when it is so limited, :math:`t_p` is
    advanced to where :math:`F(t_p') = F(t_p) + f\,\Delta t` (Newton), otherwise by
    :math:`\Delta t`. By default capacity does not regenerate in dry weather (SWMM's
    drying time is infinite); with :attr:`RunoffOptions.dry_time` it does, as in SWMM:
    over a substep with no water on the pervious part,
    :math:`t_p \leftarrow -\ln(1 - e^{-k_r \Delta t}(1 - e^{-k t_p}))/k` with
    :math:`k_r = -\ln(0.02)/T_{dry}`.

Green–Ampt (optional, SWMM ``GREEN_AMPT``, ``infil.c``)
    With :attr:`RunoffOptions.green_ampt` the pervious part infiltrates by Green–Ampt
    instead of Horton: all water while it is below the saturated conductivity
    :math:`K_s`; above it, once the cumulative infiltration reaches
    :math:`F_s = K_s (\psi + d)\,\theta_d / (i - K_s)` the surface is saturated and
    :math:`F` follows :math:`F_2 - F_1 - c\ln\frac{F_2 + c}{F_1 + c} = K_s\Delta t`
    with :math:`c = (\psi + d)\theta_d` (suction :math:`\psi`, ponded depth
    :math:`d`, moisture deficit :math:`\theta_d`). Between events the upper soil zone
    (Mein's depth) recovers, and a new event starts with the deficit it has regained,
    as in SWMM (:class:`~twin.hydro.runoff_options.GreenAmptParams`).

Subarea routing (optional, SWMM ``[SUBAREAS]`` ``RouteTo PERVIOUS``)
    By default both parts drain to the outlet. With
    :attr:`RunoffOptions.route_to_pervious` = :math:`p`, a share :math:`p` of the
    impervious runoff volume of a substep falls on the pervious part in that substep
    (as a rate :math:`p\,q_i A_i / A_p` added to the rain there), where it can
    infiltrate; SWMM adds it one runoff step later.

Storage node (SWMM FUNCTIONAL storage curve)
    Surface area :math:`A_s(h) = a h^b + c` [m²], volume
    :math:`V(h) = a h^{b+1}/(b+1) + c h` [m³]. Outflow through the drainage is
    :math:`Q(h) = \min(k h^e, Q_{cap})` [m³/s]. The balance

    .. math:: \frac{dV}{dt} = Q_{in}(t) - Q(h)

    is integrated over each substep by the trapezoidal rule (SWMM's kinematic-wave
    storage update, ``flowrout.c``) with the substep's runoff volume taken exactly,
    solved for the new depth by safeguarded Newton iteration; where the drain is stiff
    (:math:`\Delta t\, Q'(h) / A_s(h) > 2`, only in a nearly empty pond with a steep
    outflow curve, where the trapezoidal rule would oscillate) backward Euler takes the
    step. Water above
    ``max_depth`` spills away (SWMM's flooding with ponding off) and is counted as
    overflow.

Spill routing (optional)
    By default water above ``max_depth`` leaves (SWMM's flooding with ponding off).
    With :attr:`RunoffOptions.spill_to` it flows to a downstream point's pond (or
    leaves at the network's edge): points are simulated upstream first, and a step's
    spill enters the receiving pond spread evenly over that step.

What of SWMM is not here
    One subcatchment drains to one storage node per point: no conduits between points
    (only the optional spill from a pond to another), no pipe network or surcharge (the
    drain is a rating curve), no dual drainage (street and pipe systems exchanging
    flow), no modified Horton, modified Green–Ampt or curve-number infiltration, no
    maximum infiltration volume (``MaxInfil``), no evaporation, snow, groundwater or
    LID controls, no monthly conductivity patterns, and no ``PctZero`` share of
    impervious area without depression storage.

Mass balance
    Per point, the rain volume equals infiltration + evaporation (0) + the change of
    water on the catchment surface + the change of the pond's volume + the drain
    outflow + the overflow. Runoff volumes are taken from the change of depth (not
    from end-of-step rates as SWMM does), so the balance closes to round-off.

References
----------
.. [1] L. A. Rossman, W. C. Huber, *Storm Water Management Model Reference Manual,
   Volume I – Hydrology (Revised)*, EPA/600/R-15/162A, U.S. EPA, 2016, ch. 3 (runoff),
   ch. 4 (infiltration, Horton).
.. [2] L. A. Rossman, *Storm Water Management Model Reference Manual, Volume II –
   Hydraulics*, EPA/600/R-17/111, U.S. EPA, 2017 (storage units, outlets).
.. [3] J. R. Cash, A. H. Karp, "A variable order Runge–Kutta method for initial value
   problems with rapidly varying right-hand sides", *ACM Trans. Math. Softw.* 16(3),
   201–222, 1990.
.. [4] EPA SWMM 5.2 source, ``subcatch.c``, ``infil.c``, ``flowrout.c``, ``odesolve.c``,
   https://github.com/USEPA/Stormwater-Management-Model
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from twin._types import BoolArray, FloatArray, IntArray
from twin.hydro.reservoir_kernels import MM_PER_H, STIFF_LIMIT, ponding_kernel
from twin.hydro.runoff_options import GreenAmptParams, RunoffOptions

__all__ = [
    "MASS_BALANCE_TOLERANCE",
    "MAX_SUBSTEP_S",
    "MM_PER_H",
    "ODE_TOL",
    "STIFF_LIMIT",
    "CatchmentParams",
    "GreenAmptParams",
    "PondState",
    "PondingResult",
    "RunoffOptions",
    "default_substeps",
    "simulate_ponding",
]

logger = logging.getLogger(__name__)

#: Relative tolerance of the Runge–Kutta–Cash–Karp runoff integration (SWMM's ODETOL).
ODE_TOL = 1e-4
#: Largest relative mass-balance error a run may have.
MASS_BALANCE_TOLERANCE = 1e-3
#: Longest runoff substep chosen by :func:`default_substeps` [s].
MAX_SUBSTEP_S = 60.0
_POSITIVE = ("area", "width", "slope", "n_imperv", "n_perv", "drain_exp", "max_depth")


@dataclass(frozen=True)
class CatchmentParams:
    """Runoff, storage and drainage parameters of low points, one entry per point.

    Every field is a read-only float64 array of shape ``(n_points,)``.

    Attributes
    ----------
    area
        Contributing catchment area [m²].
    imperv
        Impervious fraction of the catchment [-], in [0, 1].
    width
        Overland flow width [m].
    slope
        Overland flow slope [-].
    n_imperv, n_perv
        Manning's n of the impervious and pervious parts [s m^-1/3].
    dstore_imperv, dstore_perv
        Depression storage of the impervious and pervious parts [m].
    f0, fc
        Horton maximum and minimum infiltration rates [m/s] (``f0 >= fc``).
    decay
        Horton decay constant [1/s] (0: constant infiltration at ``f0``).
    pond_a, pond_b, pond_c
        Stage–storage as SWMM's FUNCTIONAL storage curve [-]: surface area
        ``A(h) = pond_a * h**pond_b + pond_c`` [m²] with ``h`` in metres, so volume
        ``V(h) = pond_a * h**(pond_b + 1) / (pond_b + 1) + pond_c * h`` [m³].
    drain_capacity
        Most the drainage (inlets + pipe) takes [m³/s].
    drain_coeff, drain_exp
        Outflow curve below capacity, ``Q = min(drain_coeff * h**drain_exp,
        drain_capacity)``: coefficient [m^(3-e)/s] and exponent ``e`` [-].
    max_depth
        Depth above which water spills away from the point [m] (lost, counted as
        overflow).

    Raises
    ------
    ValueError
        If a field is not one-dimensional, the shapes differ, or a value is not finite
        or out of range; the message names the field.
    """

    area: FloatArray
    imperv: FloatArray
    width: FloatArray
    slope: FloatArray
    n_imperv: FloatArray
    n_perv: FloatArray
    dstore_imperv: FloatArray
    dstore_perv: FloatArray
    f0: FloatArray
    fc: FloatArray
    decay: FloatArray
    pond_a: FloatArray
    pond_b: FloatArray
    pond_c: FloatArray
    drain_capacity: FloatArray
    drain_coeff: FloatArray
    drain_exp: FloatArray
    max_depth: FloatArray

    def __post_init__(self) -> None:
        shape: tuple[int, ...] | None = None
        for f in fields(self):
            raw = getattr(self, f.name)
            try:
                arr = np.array(raw, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"CatchmentParams.{f.name}: not numeric ({exc})") from exc
            if arr.ndim != 1:
                raise ValueError(
                    f"CatchmentParams.{f.name}: expected a 1-D array (one value per "
                    f"point), got shape {arr.shape}"
                )
            if shape is None:
                shape = arr.shape
            elif arr.shape != shape:
                raise ValueError(
                    f"CatchmentParams.{f.name}: shape {arr.shape} differs from {shape} "
                    "(every field needs one value per point)"
                )
            bad = ~np.isfinite(arr)
            rule = "finite"
            if not bad.any():
                bad = arr <= 0.0 if f.name in _POSITIVE else arr < 0.0
                rule = "> 0" if f.name in _POSITIVE else ">= 0"
            if bad.any():
                j = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"CatchmentParams.{f.name}: values must be {rule}; point {j} has "
                    f"{float(arr[j])!r} ({int(bad.sum())} point(s) in all)"
                )
            arr.setflags(write=False)
            object.__setattr__(self, f.name, arr)
        if np.any(self.imperv > 1.0):
            raise ValueError("CatchmentParams.imperv: fractions must lie in [0, 1]")
        if np.any(self.f0 < self.fc):
            raise ValueError("CatchmentParams.f0: must be >= fc (Horton max >= min rate)")
        if np.any(self.pond_a + self.pond_c <= 0.0):
            raise ValueError(
                "CatchmentParams.pond_a: pond_a + pond_c must be > 0 (the pond needs a "
                "surface area)"
            )

    @property
    def n_points(self) -> int:
        """Number of points."""
        return int(self.area.shape[0])

    def select(self, mask: BoolArray | IntArray | slice) -> CatchmentParams:
        """The parameters of a subset of points.

        Parameters
        ----------
        mask
            Boolean mask of length ``n_points``, integer positions, or a slice.

        Returns
        -------
        CatchmentParams
        """
        return CatchmentParams(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})

    def as_dict(self) -> dict[str, FloatArray]:
        """The fields as a dict of arrays (for tables and serialisation)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ---------------------------------------------------------------------------- state

#: Rows of a state array (:attr:`PondState.values`).
STATE_ROWS = ("d_imperv", "d_perv", "horton_time", "pond_depth", "pond_volume", "drain_outflow")
#: Rows a Green–Ampt run adds (:attr:`RunoffOptions.green_ampt`).
GA_STATE_ROWS = ("ga_deficit", "ga_infiltrated", "ga_upper_zone", "ga_saturated", "ga_time_left")


@dataclass(frozen=True)
class PondState:
    """The state of every low point between two rain steps.

    A run can stop and continue from it bit for bit (``simulate_ponding(..., state=s)``),
    which the physics-ensemble forecaster does from each member's assimilated state.

    Attributes
    ----------
    values
        Shape ``(6, n_points)``: ponded depth on the impervious and pervious parts of the
        catchment [m], Horton equivalent time [s], pond depth [m], pond volume [m³] and
        drain outflow [m³/s] (rows :data:`STATE_ROWS`); a Green–Ampt run's state has the
        five rows :data:`GA_STATE_ROWS` more.
    """

    values: FloatArray

    @classmethod
    def dry(cls, n_points: int) -> PondState:
        """Every point dry, with no infiltration history (the start of every run)."""
        return cls(np.zeros((len(STATE_ROWS), n_points)))

    @property
    def pond_depth(self) -> FloatArray:
        """Pond depth of every point [m]."""
        return np.asarray(self.values[3], dtype=np.float64)

    @property
    def n_points(self) -> int:
        """Number of points."""
        return int(self.values.shape[1])


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class PondingResult:
    """Ponding at low points over a rain series.

    Attributes
    ----------
    time
        Step boundaries from the start [s], shape ``(n_steps + 1,)``.
    water_depth
        Depth of the pond at the step boundaries [m], shape ``(n_steps + 1, n_points)``;
        row 0 is the (dry) initial state.
    volume
        Volume of the pond at the step boundaries [m³], same shape.
    runoff
        Mean runoff inflow to the pond over each step [m³/s], shape
        ``(n_steps, n_points)``.
    drain_outflow
        Mean outflow through the drainage over each step [m³/s], same shape.
    overflow
        Mean spill above ``max_depth`` over each step [m³/s], same shape.
    infiltration
        Mean infiltration over each step [m³/s], same shape.
    mass_balance
        Totals per point over the run [m³], each of shape ``(n_points,)``: ``rain``,
        ``infiltration``, ``evaporation`` (0), ``surface_storage_change`` (water on the
        catchment surface, incl. depression storage), ``pond_storage_change``,
        ``drain_outflow``, ``overflow`` (incl. water spilled to a downstream point),
        ``spill_received`` (from upstream points), ``error`` (rain plus water received
        minus the rest) and ``relative_error`` [-] (``error`` over the rain volume; 0 when it is 0).
    final_state
        The state at the end of the run (continue from it with ``state=``).
    """

    time: FloatArray
    water_depth: FloatArray
    volume: FloatArray
    runoff: FloatArray
    drain_outflow: FloatArray
    overflow: FloatArray
    infiltration: FloatArray
    mass_balance: dict[str, FloatArray]
    final_state: PondState | None = None

    @property
    def n_steps(self) -> int:
        """Number of rain steps."""
        return int(self.runoff.shape[0])

    @property
    def peak_depth(self) -> FloatArray:
        """Largest pond depth of each point over the run [m]."""
        return np.asarray(self.water_depth.max(axis=0), dtype=np.float64)

    @property
    def max_relative_error(self) -> float:
        """Largest absolute relative mass-balance error over the points [-]."""
        rel = self.mass_balance["relative_error"]
        return float(np.max(np.abs(rel))) if rel.size else 0.0


def default_substeps(dt: float) -> int:
    """Runoff substeps per rain step: the fewest that keep a substep <= 60 s.

    Parameters
    ----------
    dt
        Rain step [s].

    Returns
    -------
    int
    """
    return max(1, math.ceil(dt / MAX_SUBSTEP_S - 1e-9))


def simulate_ponding(
    params: CatchmentParams,
    rain_rate: npt.ArrayLike,
    dt: float,
    *,
    substeps: int | None = None,
    state: PondState | None = None,
    options: RunoffOptions | None = None,
) -> PondingResult:
    """Simulate runoff and ponding at every low point through a rain series.

    Parameters
    ----------
    params
        Catchment, pond and drainage parameters, one entry per point.
    rain_rate
        Rain rate [mm/h], constant over each step: shape ``(n_steps, n_points)``, or
        ``(n_steps,)`` for the same rain on every point.
    dt
        Length of a rain step [s].
    substeps
        Runoff substeps per rain step (the step of the Horton update and of the pond
        balance, like SWMM's wet and routing steps); by default
        :func:`default_substeps`, i.e. substeps of at most 60 s.
    state
        The state to start from (default: dry, no infiltration history); the result's
        ``final_state`` continues the run.
    options
        SWMM runoff features beyond the default model (subarea routing, Horton
        recovery); by default none, and results are those of the model as documented.

    Returns
    -------
    PondingResult
        Depths and volumes at the ``n_steps + 1`` step boundaries (dry at time 0),
        step-mean flows and the per-point mass balance.

    Raises
    ------
    ValueError
        If ``dt`` or ``substeps`` is not positive, or ``rain_rate`` has the wrong shape
        or negative or non-finite values.

    Notes
    -----
    The method and its sources are in the module docstring. Points start dry (no ponded
    water, no infiltration history) unless a ``state`` is given.
    """
    if not (dt > 0.0 and math.isfinite(dt)):
        raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
    n_sub = default_substeps(dt) if substeps is None else int(substeps)
    if n_sub < 1:
        raise ValueError(f"substeps must be >= 1, got {substeps!r}")
    rain = np.asarray(rain_rate, dtype=np.float64)
    n = params.n_points
    if rain.ndim == 1:
        rain = np.repeat(rain[:, None], n, axis=1)
    if rain.ndim != 2 or rain.shape[1] != n:
        raise ValueError(
            f"rain_rate must have shape (n_steps,) or (n_steps, {n}) [mm/h], got {rain.shape}"
        )
    if not np.all(np.isfinite(rain)) or np.any(rain < 0.0):
        raise ValueError("rain_rate must be finite and >= 0 [mm/h]")
    rain_ms = np.ascontiguousarray(rain * MM_PER_H)
    n_steps = rain.shape[0]

    depth = np.zeros((n_steps + 1, n))
    volume = np.zeros((n_steps + 1, n))
    runoff = np.zeros((n_steps, n))
    drain = np.zeros((n_steps, n))
    over = np.zeros((n_steps, n))
    infil = np.zeros((n_steps, n))
    totals = np.zeros((7, n))
    opts = options or RunoffOptions()
    ga = np.zeros((7, n)) if opts.green_ampt is None else opts.green_ampt.arrays(n)
    rows = len(STATE_ROWS) + (0 if opts.green_ampt is None else len(GA_STATE_ROWS))
    start = PondState.dry(n) if state is None else state
    if state is None and opts.green_ampt is not None:
        start = PondState(np.vstack([start.values, ga[2], np.zeros((4, n))]))
    if start.values.shape != (rows, n):
        raise ValueError(
            f"state has shape {start.values.shape}; give ({rows}, {n}) (one column per "
            "point; a Green–Ampt run continues only from a Green–Ampt state)"
        )
    work = np.array(start.values, dtype=np.float64, order="C")
    route, regen = opts.arrays(n)
    spill_to, order = opts.spill_order(n)
    spill_in = np.zeros((n_steps, n))
    p = params
    ponding_kernel(
        p.area, p.imperv, p.width, p.slope, p.n_imperv, p.n_perv,
        p.dstore_imperv, p.dstore_perv, p.f0, p.fc, p.decay,
        p.pond_a, p.pond_b, p.pond_c, p.drain_capacity, p.drain_coeff, p.drain_exp,
        p.max_depth, route, regen, spill_to, order, spill_in, ga, opts.green_ampt is not None,
        rain_ms, float(dt), n_sub, ODE_TOL,
        depth, volume, runoff, drain, over, infil, totals, work,
    )  # fmt: skip

    v_rain, v_inf, d_surf, d_pond, v_drain, v_over, v_up = totals
    error = v_rain + v_up - (v_inf + d_surf + d_pond + v_drain + v_over)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(v_rain > 0.0, error / np.where(v_rain > 0.0, v_rain, 1.0), 0.0)
    balance = {
        "rain": v_rain,
        "infiltration": v_inf,
        "evaporation": np.zeros(n),
        "surface_storage_change": d_surf,
        "pond_storage_change": d_pond,
        "drain_outflow": v_drain,
        "overflow": v_over,
        "spill_received": v_up,
        "error": error,
        "relative_error": rel,
    }
    worst = float(np.max(np.abs(rel))) if n else 0.0
    if worst > MASS_BALANCE_TOLERANCE:
        logger.warning("ponding mass balance off by %.3g (relative) at worst", worst)
    logger.debug(
        "ponding: %d points x %d steps of %g s (%d substeps), worst mass error %.2g",
        n, n_steps, dt, n_sub, worst,
    )  # fmt: skip
    time = np.arange(n_steps + 1, dtype=np.float64) * dt
    return PondingResult(time, depth, volume, runoff, drain, over, infil, balance, PondState(work))
