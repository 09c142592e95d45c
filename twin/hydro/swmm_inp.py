"""EPA SWMM 5 input files from the twin's low-point parameters, and running them.

:func:`write_inp` writes one SWMM model holding every low point of a
:class:`~twin.hydro.reservoir.CatchmentParams`: per point a subcatchment (Horton
infiltration with an endless drying time so capacity never regenerates, ``PctZero`` 0)
routed to a storage node, an OUTLET link whose TABULAR/DEPTH rating curve samples the
twin's drainage curve ``min(coeff * h**exp, capacity)`` (:func:`rating_curve`), and a
free outfall. Flow units are CMS, routing is kinematic wave (which updates a storage node
by the same trapezoidal balance as the twin), ponding is off so water above the maximum
depth is lost as flooding, and there is no evaporation, groundwater, snow or quality.

The storage node is SWMM's FUNCTIONAL curve ``A = a h^b + c`` wherever SWMM 5.2.4 turns
its volume back into a depth in closed form (``c = 0`` or ``b`` in {0, 1}). Otherwise
SWMM iterates with a callback that mixes node and storage indices and unit systems
(USEPA/Stormwater-Management-Model issue #227) and reports wrong depths, so those points
get a finely sampled TABULAR area curve (:func:`storage_curve`) instead.

:func:`run_swmm` runs a file with pyswmm and returns the pond depths (and runoff, drain
outflow and flooding) per reporting step. The twin uses SI units; SWMM's CMS units want
hectares, percent, mm, mm/h and 1/h, which :func:`write_inp` converts. pyswmm is a test
and benchmark dependency, imported only inside :func:`run_swmm`.

References
----------
.. [1] L. A. Rossman, *Storm Water Management Model User's Manual Version 5.2*,
   EPA/600/R-22/030, U.S. EPA, 2022, appendix D (input file format).
.. [2] B. E. McDonnell et al., "PySWMM: The Python Interface to Stormwater Management
   Model (SWMM)", *Journal of Open Source Software* 5(52), 2292, 2020.
.. [3] "storage_getDepth Newton callback mixes node/storage indices and unit systems",
   https://github.com/USEPA/Stormwater-Management-Model/issues/227
"""

from __future__ import annotations

import importlib
import logging
import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from twin._types import FloatArray
from twin.hydro.reservoir import CatchmentParams, RunoffOptions, default_substeps

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DRY_TIME_DAYS",
    "rating_curve",
    "run_swmm",
    "storage_curve",
    "write_inp",
]

logger = logging.getLogger(__name__)

#: Horton drying time written to SWMM [days]: so long that capacity never regenerates,
#: as in the twin.
DRY_TIME_DAYS = 1.0e6
#: Points per decade of depth in the sampled rating curve (linear interpolation error of
#: a power law below 0.1 %).
_CURVE_PER_DECADE = 24
#: Decades of depth sampled below the depth where the drain reaches capacity.
_CURVE_DECADES = 4
#: A spilling pond: SWMM's node is this much deeper than ``max_depth`` [m], and its
#: spill link (an outlet from ``max_depth`` to the receiving pond) passes
#: :data:`SPILL_COEFF` × head [m³/s per m], so the head above ``max_depth`` stays small.
SPILL_HEAD_M = 0.5
SPILL_COEFF = 200.0
_NAME_OK = re.compile(r"[^A-Za-z0-9_.\-]")


def rating_curve(
    coeff: float, exponent: float, capacity: float, max_depth: float
) -> tuple[FloatArray, FloatArray]:
    """Depth–outflow points reproducing ``min(coeff * h**exponent, capacity)``.

    Depths are spaced geometrically (so linear interpolation of the power law is within
    about 0.1 %), the point where the capacity is reached is included exactly, and the
    curve ends flat at ``max_depth``.

    Parameters
    ----------
    coeff, exponent
        Outflow curve ``coeff * h**exponent`` [m^(3-e)/s], [-].
    capacity
        Largest outflow [m³/s].
    max_depth
        Last depth of the curve [m].

    Returns
    -------
    depth, outflow
        Ascending depths from 0 [m] and outflows [m³/s].
    """
    if coeff <= 0.0 or capacity <= 0.0:
        return np.array([0.0, max_depth]), np.zeros(2)
    h_cap = (capacity / coeff) ** (1.0 / exponent)
    h_top = min(h_cap, max_depth)
    n = _CURVE_DECADES * _CURVE_PER_DECADE
    depth = h_top * np.logspace(-_CURVE_DECADES, 0.0, n + 1)
    depth = np.concatenate([[0.0], depth])
    if h_cap < max_depth:
        depth = np.concatenate([depth, [max_depth]])
    outflow = np.minimum(coeff * depth**exponent, capacity)
    return depth, outflow


def storage_curve(a: float, b: float, c: float, max_depth: float) -> tuple[FloatArray, FloatArray]:
    """Depth–area points of the pond ``A(h) = a * h**b + c`` for a TABULAR storage curve.

    Depths are spaced geometrically up to ``max_depth`` (SWMM interpolates the area
    linearly, so the volume is then within about 0.1 % of the exact one).

    Parameters
    ----------
    a, b, c
        Stage–storage coefficients of :class:`~twin.hydro.reservoir.CatchmentParams`.
    max_depth
        Last depth of the curve [m].

    Returns
    -------
    depth, surface_area
        Ascending depths from 0 [m] and surface areas [m²].
    """
    n = _CURVE_DECADES * _CURVE_PER_DECADE
    depth = np.concatenate([[0.0], max_depth * np.logspace(-_CURVE_DECADES, 0.0, n + 1)])
    surf = a * depth**b + c
    if b > 0.0:
        surf[0] = c
    return depth, surf


def _functional_exact(p: CatchmentParams, j: int) -> bool:
    """Whether SWMM 5.2.4 inverts point j's FUNCTIONAL storage curve exactly.

    SWMM finds the depth of a FUNCTIONAL storage from its volume in closed form when the
    constant is 0 or the exponent is 0 or 1; otherwise it uses a Newton iteration whose
    callback mixes node and storage indices and unit systems (USEPA/Stormwater-Management-
    Model issue #227), which gives wrong depths. Those points are written as TABULAR.
    """
    return bool(p.pond_c[j] == 0.0 or p.pond_b[j] == 0.0 or p.pond_b[j] == 1.0)


def _hhmmss(seconds: float) -> str:
    s = round(seconds)
    if abs(seconds - s) > 1e-6:
        raise ValueError(f"SWMM time steps must be whole seconds, got {seconds!r}")
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}:{s % 60:02d}"


def _names(names: Sequence[str] | None, n: int) -> list[str]:
    if names is None:
        return [f"P{j}" for j in range(n)]
    if len(names) != n:
        raise ValueError(f"names: expected {n} names (one per point), got {len(names)}")
    out = [_NAME_OK.sub("_", str(x)) for x in names]
    if len(set(out)) != n:
        raise ValueError("names: point names must be unique (after replacing odd characters)")
    return out


def write_inp(
    params: CatchmentParams,
    rain_rate: npt.ArrayLike,
    dt: float,
    path: str | Path,
    *,
    start: datetime = datetime(2024, 7, 1),
    report_step: float | None = None,
    wet_step: float | None = None,
    routing_step: float | None = None,
    names: Sequence[str] | None = None,
    title: str = "city-twin low points",
    options: RunoffOptions | None = None,
) -> Path:
    """Write a SWMM 5 input file reproducing the twin's ponding model.

    Parameters
    ----------
    params
        Low-point parameters; one subcatchment, storage node, outlet and outfall each.
    rain_rate
        Rain rate [mm/h], constant over each step: shape ``(n_steps,)`` (one rain gage
        for all points) or ``(n_steps, n_points)`` (one gage per point).
    dt
        Rain step [s], a whole number of seconds.
    path
        File to write (``.inp``).
    start
        Start of the simulation; its wall-clock date and time are written (SWMM has no
        time zones).
    report_step
        Reporting step [s]; ``dt`` by default.
    wet_step
        SWMM's wet-weather runoff step [s]; by default the twin's default substep
        (:func:`~twin.hydro.reservoir.default_substeps`), so both update infiltration
        on the same steps.
    routing_step
        SWMM's routing step [s]; by default ``min(wet_step, 5)``.
    names
        Point names (ids); ``P0``, ``P1``, ... by default. Characters SWMM cannot take
        are replaced by ``_``.
    title
        The ``[TITLE]`` line.
    options
        The twin's optional runoff features, written as SWMM's: subarea routing as
        ``RouteTo PERVIOUS`` with ``PctRouted``, Horton recovery as ``DryTime`` [days]
        (default :data:`DRY_TIME_DAYS`: no recovery), spill routing as an outlet
        ``SP_<name>`` from ``max_depth`` to the receiving storage node (whose node is
        :data:`SPILL_HEAD_M` deeper than ``max_depth`` to let the head build), and
        Green–Ampt infiltration as ``INFILTRATION GREEN_AMPT``.

    Returns
    -------
    pathlib.Path
        The file written. Object names: subcatchment ``S_<name>``, storage ``ST_<name>``,
        outlet ``O_<name>``, outfall ``OUT_<name>``, rating curve ``C_<name>``, storage
        curve ``A_<name>``, gage ``G0`` / ``G_<name>``.

    Raises
    ------
    ValueError
        If the rain has the wrong shape or the steps are not whole seconds.
    """
    n = params.n_points
    rain = np.asarray(rain_rate, dtype=np.float64)
    if rain.ndim not in (1, 2) or (rain.ndim == 2 and rain.shape[1] != n):
        raise ValueError(
            f"rain_rate must have shape (n_steps,) or (n_steps, {n}) [mm/h], got {rain.shape}"
        )
    if rain.ndim == 2 and np.all(rain == rain[:, :1]):
        rain = rain[:, 0]
    n_steps = rain.shape[0]
    report = dt if report_step is None else report_step
    wet = dt / default_substeps(dt) if wet_step is None else wet_step
    route = min(wet, 5.0) if routing_step is None else routing_step
    ids = _names(names, n)
    end = start + timedelta(seconds=n_steps * dt)
    fmt_d = "%m/%d/%Y"
    fmt_t = "%H:%M:%S"
    p = params
    routed, regen = (options or RunoffOptions()).arrays(n)
    spill_to, _ = (options or RunoffOptions()).spill_order(n)
    ga = None if options is None or options.green_ampt is None else options.green_ampt.arrays(n)
    node_max = p.max_depth + np.where(spill_to >= 0, SPILL_HEAD_M, 0.0)

    out: list[str] = []
    add = out.append
    add("[TITLE]")
    add(title)
    add("")
    add("[OPTIONS]")
    swmm_options = [
        ("FLOW_UNITS", "CMS"),
        ("INFILTRATION", "HORTON" if ga is None else "GREEN_AMPT"),
        ("FLOW_ROUTING", "KINWAVE"),
        ("LINK_OFFSETS", "DEPTH"),
        ("MIN_SLOPE", "0"),
        ("ALLOW_PONDING", "NO"),
        ("SKIP_STEADY_STATE", "NO"),
        ("IGNORE_SNOWMELT", "YES"),
        ("IGNORE_GROUNDWATER", "YES"),
        ("IGNORE_RDII", "YES"),
        ("IGNORE_QUALITY", "YES"),
        ("START_DATE", start.strftime(fmt_d)),
        ("START_TIME", start.strftime(fmt_t)),
        ("REPORT_START_DATE", start.strftime(fmt_d)),
        ("REPORT_START_TIME", start.strftime(fmt_t)),
        ("END_DATE", end.strftime(fmt_d)),
        ("END_TIME", end.strftime(fmt_t)),
        ("SWEEP_START", "01/01"),
        ("SWEEP_END", "12/31"),
        ("DRY_DAYS", "0"),
        ("REPORT_STEP", _hhmmss(report)),
        ("WET_STEP", _hhmmss(wet)),
        ("DRY_STEP", _hhmmss(wet)),
        ("ROUTING_STEP", f"{route:g}"),
        ("THREADS", "1"),
    ]
    out += [f"{k:<20} {v}" for k, v in swmm_options]
    add("")
    add("[EVAPORATION]")
    add("CONSTANT         0.0")
    add("DRY_ONLY         NO")
    add("")

    gage_of = ["G0"] * n if rain.ndim == 1 else [f"G_{x}" for x in ids]
    series_of = ["TS0"] * n if rain.ndim == 1 else [f"TS_{x}" for x in ids]
    add("[RAINGAGES]")
    add(";;Name Format Interval SCF Source")
    for g, ts in dict(zip(gage_of, series_of, strict=True)).items():
        add(f"{g} INTENSITY {_hhmmss(dt)} 1.0 TIMESERIES {ts}")
    add("")

    add("[SUBCATCHMENTS]")
    add(";;Name RainGage Outlet Area[ha] %Imperv Width[m] %Slope CurbLen")
    for j, x in enumerate(ids):
        add(
            f"S_{x} {gage_of[j]} ST_{x} {p.area[j] / 1e4:.10g} {p.imperv[j] * 100:.10g} "
            f"{p.width[j]:.10g} {p.slope[j] * 100:.10g} 0"
        )
    add("")
    add("[SUBAREAS]")
    add(";;Subcatchment N-Imperv N-Perv S-Imperv[mm] S-Perv[mm] PctZero RouteTo")
    for j, x in enumerate(ids):
        to = f"PERVIOUS {routed[j] * 100:.10g}" if routed[j] > 0 else "OUTLET"
        add(
            f"S_{x} {p.n_imperv[j]:.10g} {p.n_perv[j]:.10g} {p.dstore_imperv[j] * 1e3:.10g} "
            f"{p.dstore_perv[j] * 1e3:.10g} 0 {to}"
        )
    add("")
    add("[INFILTRATION]")
    if ga is not None:
        add(";;Subcatchment Suction[mm] Ksat[mm/h] IMD")
    else:
        add(";;Subcatchment MaxRate[mm/h] MinRate[mm/h] Decay[1/h] DryTime[d] MaxInfil")
    for j, x in enumerate(ids):
        if ga is not None:
            add(f"S_{x} {ga[0, j] * 1e3:.10g} {ga[1, j] * 3.6e6:.10g} {ga[2, j]:.10g}")
            continue
        add(
            f"S_{x} {p.f0[j] * 3.6e6:.10g} {p.fc[j] * 3.6e6:.10g} {p.decay[j] * 3600:.10g} "
            f"{-math.log(0.02) / regen[j] / 86400 if regen[j] > 0 else DRY_TIME_DAYS:.10g} 0"
        )
    add("")

    add("[OUTFALLS]")
    add(";;Name Elevation Type StageData Gated")
    for x in ids:
        add(f"OUT_{x} -1 FREE NO")
    add("")
    add("[STORAGE]")
    add(";;Name Elev MaxDepth InitDepth Shape Coeff/Curve Expon Const SurDepth Fevap")
    tabular = [not _functional_exact(p, j) for j in range(n)]
    for j, x in enumerate(ids):
        if tabular[j]:
            add(f"ST_{x} 0 {node_max[j]:.10g} 0 TABULAR A_{x} 0 0")
        else:
            add(
                f"ST_{x} 0 {node_max[j]:.10g} 0 FUNCTIONAL {p.pond_a[j]:.10g} "
                f"{p.pond_b[j]:.10g} {p.pond_c[j]:.10g} 0 0"
            )
    add("")
    add("[OUTLETS]")
    add(";;Name FromNode ToNode Offset Type QTable Gated")
    for x in ids:
        add(f"O_{x} ST_{x} OUT_{x} 0 TABULAR/DEPTH C_{x} NO")
    for j, x in enumerate(ids):  # spill to the downstream pond, from max_depth up
        if spill_to[j] >= 0:
            add(f"SP_{x} ST_{x} ST_{ids[spill_to[j]]} {p.max_depth[j]:.10g} TABULAR/DEPTH "
                f"CS_{x} NO")  # fmt: skip
    add("")
    add("[CURVES]")
    add(";;Name Type Depth[m] Outflow[m3/s]")
    for j, x in enumerate(ids):
        depth, flow = rating_curve(
            float(p.drain_coeff[j]),
            float(p.drain_exp[j]),
            float(p.drain_capacity[j]),
            float(node_max[j]),
        )
        for m, (hh, qq) in enumerate(zip(depth, flow, strict=True)):
            add(f"C_{x} {'Rating' if m == 0 else ''} {hh:.10g} {qq:.10g}")
        if spill_to[j] >= 0:
            add(f"CS_{x} Rating 0 0")
            add(f"CS_{x} {SPILL_HEAD_M:.10g} {SPILL_COEFF * SPILL_HEAD_M:.10g}")
    for j, x in enumerate(ids):
        if not tabular[j]:
            continue
        depth, surf = storage_curve(
            float(p.pond_a[j]), float(p.pond_b[j]), float(p.pond_c[j]), float(node_max[j])
        )
        for m, (hh, aa) in enumerate(zip(depth, surf, strict=True)):
            add(f"A_{x} {'Storage' if m == 0 else ''} {hh:.10g} {aa:.10g}")
    add("")

    add("[TIMESERIES]")
    add(";;Name Date Time Value[mm/h]")
    series = rain[:, None] if rain.ndim == 1 else rain
    for c, ts in enumerate(dict.fromkeys(series_of)):
        col = series[:, c]
        for k in range(n_steps):
            t = start + timedelta(seconds=k * dt)
            add(f"{ts} {t.strftime(fmt_d)} {t.strftime(fmt_t)} {col[k]:.10g}")
        # A closing zero so the gage's record ends at the end of the series.
        t = start + timedelta(seconds=n_steps * dt)
        add(f"{ts} {t.strftime(fmt_d)} {t.strftime(fmt_t)} 0")
    add("")
    add("[REPORT]")
    add("INPUT NO")
    add("CONTROLS NO")
    add("SUBCATCHMENTS NONE")
    add("NODES NONE")
    add("LINKS NONE")
    add("")

    path = Path(path)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    logger.debug("wrote SWMM model of %d points, %d rain steps to %s", n, n_steps, path)
    return path


def run_swmm(path: str | Path, *, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Run a SWMM input file written by :func:`write_inp` with pyswmm.

    The simulation advances one reporting step at a time; after each, the depth and
    flooding of every storage node, the runoff of every subcatchment and the flow of every
    outlet are read.

    Parameters
    ----------
    path
        The ``.inp`` file (``.rpt`` and ``.out`` are written beside it).
    names
        Point names as given to :func:`write_inp`; by default every storage node
        ``ST_*`` in the model.

    Returns
    -------
    pandas.DataFrame
        Index ``time``: elapsed time from the start [s], from 0 (dry initial state) to
        the end, one row per reporting step. Columns: a MultiIndex ``(variable, point)``
        with variables ``water_depth`` [m] (storage node depth), ``runoff`` [m³/s]
        (subcatchment runoff), ``drain_outflow`` [m³/s] (outlet flow) and ``overflow``
        [m³/s] (node flooding).

    Raises
    ------
    ModuleNotFoundError
        If pyswmm is not installed (``pip install pyswmm``).
    """
    import pandas as pd

    pyswmm = importlib.import_module("pyswmm")  # optional: a test/benchmark dependency

    path = Path(path)
    with pyswmm.Simulation(str(path)) as sim:
        nodes = pyswmm.Nodes(sim)
        subs = pyswmm.Subcatchments(sim)
        links = pyswmm.Links(sim)
        node_ids = [nd.nodeid for nd in nodes if nd.nodeid.startswith("ST_")]
        ids = [i[3:] for i in node_ids] if names is None else _names(names, len(names))
        st = [nodes[f"ST_{x}"] for x in ids]
        sc = [subs[f"S_{x}"] for x in ids]
        ol = [links[f"O_{x}"] for x in ids]
        report = _report_step_s(path)
        sim.step_advance(report)
        start = sim.start_time
        times = [0.0]
        rows = [np.zeros(4 * len(ids))]

        def state() -> FloatArray:
            return np.array(
                [s.depth for s in st]
                + [s.runoff for s in sc]
                + [lk.flow for lk in ol]
                + [s.flooding for s in st]
            )

        for _ in sim:
            times.append((sim.current_time - start).total_seconds())
            rows.append(state())
        # The stride that reaches the end stops the iteration before yielding: the state
        # left is the one at the end time.
        end = (sim.end_time - start).total_seconds()
        if end - times[-1] > 0.5:
            times.append(end)
            rows.append(state())
    variables = ["water_depth", "runoff", "drain_outflow", "overflow"]
    columns = pd.MultiIndex.from_product([variables, ids], names=["variable", "point"])
    frame = pd.DataFrame(np.vstack(rows), index=pd.Index(times, name="time"), columns=columns)
    logger.debug("ran SWMM on %s: %d points, %d reports", path, len(ids), len(times) - 1)
    return frame


def _report_step_s(path: Path) -> int:
    """The REPORT_STEP of an input file [s]."""
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].upper() == "REPORT_STEP":
            h, m, s = (int(v) for v in parts[1].split(":"))
            return 3600 * h + 60 * m + s
    return 900
