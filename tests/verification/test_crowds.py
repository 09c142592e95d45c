r"""Verification of the crowd model against the literature and against conservation.

1. **Bottleneck at capacity.** A plaza holds a large crowd heading for one exit of
   width :math:`w` [m], with no inflow and the exit fully managed (:math:`\eta = 1`).
   While the queue at the exit is not empty, the exit must discharge at the specific
   capacity :math:`c_s` = 1.3 persons/(m·s) (SFPE Handbook's maximum specific flow for
   doorways and corridors [1]_): the flow measured over the saturated period,
   :math:`\sum D / (w\, T_{sat})`, within 2 % of :math:`c_s`, for several widths,
   steps and substeps; and the crowd must be gone after :math:`N / (c_s w)` plus the
   walk to the exit. An unmanaged exit passes :math:`\eta_0 c_s w`.
2. **Fundamental diagram.** The walking speed the model uses is Weidmann's [2]_
   :math:`v(\rho) = v_0 [1 - e^{-\gamma (1/\rho - 1/\rho_{max})}]` with
   :math:`v_0` = 1.34 m/s, :math:`\gamma` = 1.913 persons/m², :math:`\rho_{max}` =
   5.4 persons/m². Checked (a) on the formula written out here, at sample densities; (b)
   inside the model: the walkers who reach the exits in one substep imply the speed
   :math:`v = -\ln(1 - f/M)\, L / \Delta t`, which must equal :math:`v(\rho)`; (c) the
   flow–density curve :math:`q = \rho v` peaks where Weidmann reports it, at
   :math:`\rho \approx 1.75` persons/m² (within 1.7–2.0) with :math:`q_{max} \approx
   1.22` persons/(m·s) (within 0.01).
3. **Conservation.** Over a full day at every bundled plaza (timetabled surges, buses,
   visitors, a 30,000-person concert, an admission limit reached, exits opened, trains
   held, staff sent), per plaza: arrivals = inflow + change of people waiting outside,
   inflow = outflow + change of people present, to round-off (relative 1e-12); and
   timetabled arrivals held upstream are conserved too.

References
----------
.. [1] S. M. V. Gwynne, E. R. Rosenbaum, "Employing the hydraulic model in assessing
   emergency movement", *SFPE Handbook of Fire Protection Engineering*, 5th ed., 2016,
   table 59.2.
.. [2] U. Weidmann, *Transporttechnik der Fussgänger*, Schriftenreihe des IVT Nr. 90,
   ETH Zürich, 1993.
"""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from numpy.testing import assert_allclose

from twin.crowds.config import (
    CrowdConfig,
    CrowdEvent,
    FlowModelConfig,
    HoldTrains,
    MetroFeed,
    OpenExits,
    SendStaff,
)
from twin.crowds.demand import build_demand
from twin.crowds.fundamental import weidmann_capacity, weidmann_flow, weidmann_speed
from twin.crowds.model import simulate
from twin.crowds.plazas import load_plazas, make_plazas
from twin.crowds.results import CrowdState
from twin.network.build import data_dir

C_S = 1.3  # SFPE maximum specific flow [persons/(m·s)]
V0, GAMMA, RHO_MAX = 1.34, 1.913, 5.4  # Weidmann 1993


def weidmann(rho: np.ndarray) -> np.ndarray:
    """Weidmann's formula, written out independently of the twin."""
    return V0 * (1.0 - np.exp(-GAMMA * (1.0 / rho - 1.0 / RHO_MAX)))


# ---------------------------------------------------------------------------- 1


@pytest.mark.parametrize(
    ("width", "dt", "substeps"), [(1.0, 60.0, 4), (2.0, 60.0, 1), (3.5, 10.0, 2), (6.0, 30.0, 6)]
)
def test_bottleneck_discharges_at_capacity(width: float, dt: float, substeps: int) -> None:
    area, crowd = 1_500.0, 4_500.0  # 3 persons/m² at the start
    pl = make_plazas([area], [[width]])
    init = CrowdState(time=0.0, plazas=pl, walking=[crowd])
    prm = FlowModelConfig(step=dt, substeps=substeps, base_exit_efficiency=1.0)
    n = math.ceil(crowd / (C_S * width * dt)) + 30
    r = simulate(pl, np.zeros((n, 1)), dt, params=prm, initial=init)
    saturated = r.queue[:, 0] > 0.0  # a queue left at the end of the step
    t_sat = saturated.sum() * dt
    flow = r.outflow[saturated, 0].sum() / (width * t_sat)
    assert abs(flow / C_S - 1.0) < 0.02
    assert_allclose(r.exit_flow[saturated, 0], C_S * width * dt, rtol=1e-12)
    # Everyone is out by N / (c_s w) plus the first walk to the exit.
    walk = pl.walk_distance[0] / weidmann(np.array([crowd / area]))[0]
    t_out = r.time[np.flatnonzero(r.occupants[:, 0] < 1e-6)[0]]
    assert crowd / (C_S * width) <= t_out <= crowd / (C_S * width) + walk + dt
    assert r.outflow[:, 0].sum() == pytest.approx(crowd, rel=1e-12)


def test_unmanaged_exit_passes_a_share_of_capacity() -> None:
    pl = make_plazas([1_500.0], [[2.0]])
    init = CrowdState(time=0.0, plazas=pl, walking=[4_500.0])
    r = simulate(pl, np.zeros((20, 1)), initial=init)  # default: no staff, eta_0 = 0.8
    assert_allclose(r.outflow[2:15, 0], 0.8 * C_S * 2.0 * 60.0, rtol=1e-12)


# ---------------------------------------------------------------------------- 2


def test_speed_is_weidmanns_formula() -> None:
    rho = np.array([0.25, 0.5, 1.0, 1.75, 2.0, 3.0, 4.0, 5.0, 5.3])
    assert_allclose(weidmann_speed(rho), weidmann(rho), rtol=1e-12)
    assert_allclose(weidmann_speed([0.0, 5.4, 6.0]), [V0, 0.0, 0.0])
    # Published values: free speed at low density; about 1.06 m/s at 1 person/m².
    assert weidmann_speed(0.01) == pytest.approx(V0, rel=1e-12)
    assert weidmann_speed(1.0) == pytest.approx(1.058, abs=1e-3)


@pytest.mark.parametrize("rho", [0.1, 0.5, 1.0, 1.75, 2.5, 3.5, 4.5, 5.2])
def test_model_walks_at_weidmann_speed(rho: float) -> None:
    area, dt = 2_000.0, 5.0
    pl = make_plazas([area], [[1000.0]])  # exits too wide to queue
    m = rho * area
    init = CrowdState(time=0.0, plazas=pl, walking=[m])
    prm = FlowModelConfig(step=dt, substeps=1, base_exit_efficiency=1.0)
    r = simulate(pl, np.zeros((1, 1)), dt, params=prm, initial=init)
    f = r.outflow[0, 0]
    implied = -math.log1p(-f / m) * pl.walk_distance[0] / dt
    assert implied == pytest.approx(weidmann(np.array([rho]))[0], rel=1e-9)
    assert r.speed[0, 0] == pytest.approx(weidmann(np.array([(m - f) / area]))[0], rel=1e-12)


def test_flow_density_curve_peaks_where_weidmann_says() -> None:
    grid = np.linspace(0.05, 5.35, 10_601)
    q = grid * weidmann(grid)
    rho_star, q_max = weidmann_capacity()
    assert 1.7 <= rho_star <= 2.0 and q_max == pytest.approx(1.22, abs=0.01)
    assert rho_star == pytest.approx(grid[q.argmax()], abs=1e-3)
    assert q_max == pytest.approx(q.max(), abs=1e-6)
    assert_allclose(weidmann_flow(grid), q, rtol=1e-12)
    # The exit capacity used (SFPE) is above the walkway maximum, as a bottleneck's is.
    assert q_max < C_S


# ---------------------------------------------------------------------------- 3


def test_people_are_conserved_over_a_full_day() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    start = datetime(2024, 6, 1, tzinfo=tz)
    plazas = load_plazas(data_dir() / "layers" / "plazas.geojson")
    concert = CrowdEvent(name="concert", plaza="plaza-wulin-square", attendance=30_000,
                         start=datetime(2024, 6, 1, 19, 30), end=datetime(2024, 6, 1, 22, 0),
                         egress_window_s=300, metro_share=0.5)  # fmt: skip
    crush = CrowdEvent(name="crush", plaza="plaza-fengqilu-station", attendance=20_000,
                       start=datetime(2024, 6, 1, 12, 0), end=datetime(2024, 6, 1, 13, 0),
                       arrival_window_s=600)  # fmt: skip
    cfg = CrowdConfig(
        metro=(MetroFeed(name="stations", plaza="kind:station_plaza"),
               MetroFeed(name="Wulin", plaza="plaza-wulin-square")),
        events=(concert, crush),
    )  # fmt: skip
    demand = build_demand(plazas, cfg, start, 86_400.0)
    actions = [
        OpenExits(plaza="plaza-wulin-square", start=21.9 * 3600, end=23 * 3600, widths_m=(6.0,)),
        HoldTrains(plaza="plaza-wulin-square", start=19 * 3600, end=19.5 * 3600, max_per_min=30),
        HoldTrains(plaza="plaza-fengqilu-station", start=12 * 3600, end=12.5 * 3600,
                   max_per_min=0, divert=True),
        SendStaff(plaza="plaza-fengqilu-station", start=11.5 * 3600, end=14 * 3600, staff=6),
    ]  # fmt: skip
    r = simulate(plazas, demand, interventions=actions)
    fengqi = plazas.index("plaza-fengqilu-station")
    assert r.waiting[:, fengqi].max() > 1_000  # the admission limit was reached
    assert 4.9 < r.density[:, fengqi].max() <= 5.0 + 1e-12  # admission density
    b = r.balance()
    assert b["relative_error"].max() < 1e-12
    assert_allclose(b["inflow"], b["outflow"] + b["present_end"] - b["present_start"],
                    rtol=1e-12, atol=1e-9)  # fmt: skip
    # Timetabled arrivals: planned = arrived + still held + diverted.
    planned = demand.metro.sum(0) + demand.event_by_plaza(demand.event_metro).sum(0)
    arrived = r.demand.metro.sum(0) + r.demand.event_by_plaza(r.demand.event_metro).sum(0)
    assert_allclose(planned, arrived + r.held[-1] + r.diverted.sum(0), rtol=1e-12)
    assert r.diverted[:, fengqi].sum() > 0.0
