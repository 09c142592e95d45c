"""Interventions: staff, extra exits, held trains, and their measured effect."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from numpy.testing import assert_allclose

from twin.crowds.config import CrowdConfig, FlowModelConfig, HoldTrains, OpenExits, SendStaff
from twin.crowds.demand import Demand, build_demand
from twin.crowds.interventions import (
    apply_interventions,
    exit_capacity,
    intervention_effect,
    staff_efficiency,
    staff_presence,
)
from twin.crowds.kernels import exit_efficiency
from twin.crowds.model import simulate
from twin.crowds.plazas import Plazas, make_plazas
from twin.crowds.results import CrowdState

CAP = 1.3  # persons/(m·s)
START = datetime(2024, 6, 1, tzinfo=ZoneInfo("Asia/Shanghai"))


def bottleneck(width: float = 2.0, crowd: float = 6_000.0) -> tuple[Plazas, CrowdState]:
    pl = make_plazas([2_000.0], [[width]])
    return pl, CrowdState(time=0.0, plazas=pl, walking=[crowd])


def test_staff_efficiency() -> None:
    assert_allclose(staff_efficiency([0, 1, 2, 4, 100], 2), [0.8, 0.85, 0.9, 1.0, 1.0])
    assert_allclose(staff_efficiency(3, 0), 0.8)
    for n in (0.0, 0.5, 3.0, 17.0):
        for k in (0, 1, 4):
            assert exit_efficiency(n, k, 0.8, 0.1) == pytest.approx(float(staff_efficiency(n, k)))


def test_staff_presence() -> None:
    st = staff_presence([0, 1], [90.0, 0.0], [200.0, np.inf], n_plazas=2, n_steps=5, dt=60.0,
                        count=[1.0, 3.0])  # fmt: skip
    assert_allclose(st[:, 0], [0.0, 0.5, 1.0, 1.0 / 3.0, 0.0])
    assert_allclose(st[:, 1], 3.0)
    with pytest.raises(ValueError, match="no earlier"):
        staff_presence([0], [10.0], [5.0], n_plazas=1, n_steps=2, dt=60.0)


def test_exit_capacity(plazas: Plazas) -> None:
    assert_allclose(exit_capacity(plazas), CAP * 0.8 * plazas.total_exit_width)
    assert_allclose(exit_capacity(plazas, 100.0), CAP * plazas.total_exit_width)


def test_staff_raise_the_discharge() -> None:
    pl, init = bottleneck()
    send = SendStaff(plaza="plaza-1", start=600.0, staff=1)
    r = simulate(pl, np.zeros((30, 1)), interventions=[send], initial=init)
    assert_allclose(r.outflow[2:10, 0], 0.8 * CAP * 2.0 * 60.0)
    assert_allclose(r.outflow[10:20, 0], 0.9 * CAP * 2.0 * 60.0)
    assert_allclose(r.efficiency[:10, 0], 0.8)
    assert_allclose(r.staff[10:, 0], 1.0)
    # The same through a staff array, as from crews of the case loop.
    staff = staff_presence([0], [600.0], [np.inf], n_plazas=1, n_steps=30, dt=60.0)
    assert_allclose(simulate(pl, np.zeros((30, 1)), staff=staff, initial=init).outflow, r.outflow)


def test_open_exits() -> None:
    pl, init = bottleneck()
    opened = OpenExits(plaza="plaza-1", start=600.0, end=1200.0, widths_m=(2.0, 4.0))
    r = simulate(pl, np.zeros((40, 1)), params=FlowModelConfig(base_exit_efficiency=1.0),
                 interventions=[opened], initial=init)  # fmt: skip
    assert r.plazas.n_exits == 3
    assert_allclose(r.outflow[2:10, 0], CAP * 2.0 * 60.0)
    assert_allclose(r.outflow[11:16, 0], CAP * 8.0 * 60.0)  # the queue re-chooses
    assert r.exit_flow[20:, 1:].sum() == 0.0
    assert r.balance()["relative_error"].max() < 1e-12
    # Forecasting on from a state of that run re-applies the same exits without doubling them.
    again = simulate(r.plazas, np.zeros((5, 1)), interventions=[opened],
                     initial=r.state_at(14))  # fmt: skip
    assert again.plazas.n_exits == 3


def test_hold_trains_meter_and_release(plazas: Plazas, concert: CrowdConfig) -> None:
    d = build_demand(plazas, concert, START, 86_400.0)
    q = plazas.index("plaza-fengqilu-station")
    hold = HoldTrains(plaza="plaza-fengqilu-station", start=7.5 * 3600, end=8 * 3600, max_per_min=5)
    a = apply_interventions(plazas, d, [hold])
    during = slice(450, 480)
    assert np.all(a.demand.metro[during, q] <= 5.0 + 1e-12)
    assert a.held_metro[479, q] > 100
    assert a.held_metro[480, q] == 0.0  # all out in the first step after (release_per_min None)
    assert a.demand.metro[:, q].sum() == pytest.approx(d.metro[:, q].sum(), rel=1e-12)
    others = [c for c in range(5) if c != q]
    assert np.array_equal(a.demand.metro[:, others], d.metro[:, others])
    slow = hold.model_copy(update={"release_per_min": 10.0})
    b = apply_interventions(plazas, d, [slow])
    assert b.held_metro[480, q] > 0.0 and b.held_metro[-1, q] == 0.0
    assert b.demand.metro[:, q].sum() == pytest.approx(d.metro[:, q].sum(), rel=1e-12)
    skip = hold.model_copy(update={"divert": True, "max_per_min": 0.0})
    c = apply_interventions(plazas, d, [skip])
    assert c.demand.metro[during, q].sum() == 0.0 and c.held_metro.sum() == 0.0
    assert c.diverted[:, q].sum() + c.demand.metro[:, q].sum() == pytest.approx(d.metro[:, q].sum())


def test_hold_trains_meter_event_attendees(plazas: Plazas, day: Demand) -> None:
    w = plazas.index("plaza-wulin-square")
    hold = HoldTrains(plaza="plaza-wulin-square", start=18 * 3600, end=19 * 3600, max_per_min=20)
    r = simulate(plazas, day, interventions=[hold])
    passed = r.demand.metro[1080:1140, w] + r.demand.event_metro[1080:1140, 0]
    assert passed.max() <= 20.0 + 1e-9
    assert r.held[1139, w] > 1_000
    planned = day.metro[:, w].sum() + day.event_metro.sum()
    assert r.demand.metro[:, w].sum() + r.demand.event_metro.sum() == pytest.approx(planned)
    assert r.balance()["relative_error"].max() < 1e-12


def test_measured_effect(plazas: Plazas, day: Demand) -> None:
    base = simulate(plazas, day)
    more = [OpenExits(plaza="plaza-wulin-square", start=21.5 * 3600, widths_m=(6.0, 6.0)),
            SendStaff(plaza="plaza-wulin-square", start=21.5 * 3600, staff=20)]  # fmt: skip
    alt = simulate(plazas, day, interventions=more)
    eff = intervention_effect(base, alt)
    q = eff.loc[("plaza-wulin-square", "max_exit_queue")]
    assert q["alt"] < 0.6 * q["base"] and q["unit"] == "persons"
    assert eff.loc[("plaza-fengqilu-station", "max_exit_queue"), "change"] == 0.0
    with pytest.raises(ValueError, match="same plazas"):
        intervention_effect(base, simulate(plazas, day.window(0, 10)))
    with pytest.raises(KeyError, match="no plaza"):
        simulate(plazas, day, interventions=[SendStaff(plaza="nowhere", start=0, staff=1)])
