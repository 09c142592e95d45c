"""The flow model: steady states, admission, exits opening and closing, restarts, outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from twin.crowds.config import FlowModelConfig
from twin.crowds.demand import Demand
from twin.crowds.fundamental import V0
from twin.crowds.kernels import PARALLEL_FROM
from twin.crowds.model import simulate
from twin.crowds.plazas import Plazas, make_plazas
from twin.crowds.results import CrowdState


def test_empty_plazas_stay_empty(plazas: Plazas) -> None:
    r = simulate(plazas, np.zeros((30, plazas.n_plazas)))
    assert r.occupants.sum() == 0.0 and r.outflow.sum() == 0.0
    assert np.all(r.los == "A") and np.all(r.speed == V0)


def test_walkers_obey_littles_law() -> None:
    # 1 person/s walking 50 m at free speed: 50 / 1.34 ≈ 37 on the plaza at any time.
    pl = make_plazas([10_000.0], [[4.0, 4.0]])
    r = simulate(pl, np.full((120, 1), 60.0))
    assert_allclose(r.occupants[-1, 0], 1.0 * 50.0 / V0, rtol=1e-6)
    assert r.plaza_queue[-1, 0] == 0.0
    assert_allclose(r.outflow[-1, 0], 60.0, rtol=1e-9)


def test_visitors_stay_their_dwell_time() -> None:
    pl = make_plazas([10_000.0], [[4.0]])
    dem = Demand.from_arrivals(np.zeros((480, 1)), 60.0)
    dem = Demand(**{**dem.__dict__, "visit": np.full((480, 1), 30.0), "through": np.zeros((480, 1)),
                    "visit_dwell": np.array([1200.0])})  # fmt: skip
    r = simulate(pl, dem)
    assert_allclose(r.visiting[-1, 0], 0.5 * 1200.0, rtol=1e-6)  # rate × dwell


def test_admission_limit_keeps_arrivals_outside() -> None:
    pl = make_plazas([100.0], [[1.0]])
    prm = FlowModelConfig(admission_density=4.0)
    r = simulate(pl, np.full((30, 1), 1000.0), params=prm)
    assert r.density.max() <= 4.0 + 1e-12
    assert r.waiting[-1, 0] > 25_000
    assert r.balance()["relative_error"].max() < 1e-12


def test_exit_closing_sends_its_queue_back() -> None:
    pl = make_plazas([2_000.0], [[2.0]]).with_exits(0, [2.0], open_from=-np.inf, open_until=600.0)
    init = CrowdState(time=0.0, plazas=pl, walking=[4_000.0])
    prm = FlowModelConfig(base_exit_efficiency=1.0)
    r = simulate(pl, np.zeros((40, 1)), params=prm, initial=init)
    assert_allclose(r.outflow[2:10, 0], 2 * 1.3 * 2.0 * 60.0)  # both exits saturated
    assert r.queue[10, 1] == 0.0 and r.exit_flow[10:, 1].sum() == 0.0
    assert_allclose(r.outflow[11:15, 0], 1.3 * 2.0 * 60.0)  # one exit left
    assert r.balance()["relative_error"].max() < 1e-12


def test_restart_from_a_state_gives_the_same_run(plazas: Plazas, day: Demand) -> None:
    full = simulate(plazas, day)
    first = simulate(plazas, day.window(0, 1230))
    second = simulate(plazas, day.window(1230), initial=first.state_at(-1))
    assert_allclose(np.r_[first.occupants, second.occupants], full.occupants, rtol=1e-12, atol=1e-9)
    assert_allclose(np.r_[first.queue, second.queue], full.queue, rtol=1e-12, atol=1e-9)
    with pytest.raises(ValueError, match=r"take demand\.window"):
        simulate(plazas, day, initial=first.state_at(-1))


def test_threads_do_not_change_results(plazas: Plazas, day: Demand) -> None:
    copies = -(-PARALLEL_FROM // plazas.n_plazas) + 1
    one = simulate(plazas, day)
    many = simulate(plazas.tile(copies), day.tile(copies))
    for c in range(copies):
        sl = slice(c * plazas.n_plazas, (c + 1) * plazas.n_plazas)
        assert_array_equal(many.occupants[:, sl], one.occupants)


def test_deterministic(plazas: Plazas, day: Demand) -> None:
    assert_array_equal(simulate(plazas, day).density, simulate(plazas, day).density)


def test_event_day_outputs(plazas: Plazas, day: Demand) -> None:
    r = simulate(plazas, day)
    wulin = plazas.index("plaza-wulin-square")
    assert r.density[:, wulin].max() > 1.1  # 30,000 on about 24,000 m²
    assert "E" in set(r.los[:, wulin].tolist())
    assert r.attending[:, wulin].max() > 25_000
    assert r.plaza_queue[:, wulin].max() > 1_000  # the egress wave queues at the exits
    assert r.balance()["relative_error"].max() < 1e-12
    ds = r.to_dataset()
    assert ds.sizes == {"time": 1440, "plaza": 5, "exit": plazas.n_exits}
    assert ds["time"].values[0] == np.datetime64("2024-05-31T16:01:00")
    assert ds["density"].attrs["units"] == "persons m-2"
    assert ds["los"].dtype.kind == "U"
    assert ds["exit_plaza"].values[0] == "plaza-wulin-square"
    assert_allclose(ds["exit_queue"].sum("plaza"), ds["queue"].sum("exit"))
    k = r.kpis()
    assert set(k.columns) == {"plaza", "kpi", "value", "unit", "description"}
    peak = k.query("kpi == 'peak_density' and plaza == 'plaza-wulin-square'")["value"].item()
    assert peak == pytest.approx(r.density[:, wulin].max())
    worst = k.query("kpi == 'worst_los' and plaza == 'plaza-wulin-square'")["value"].item()
    assert worst == 4.0  # E
    labelled = r.to_dataset(times=pd.RangeIndex(1440))
    assert labelled["time"].values[-1] == 1439


def test_input_errors(plazas: Plazas, day: Demand) -> None:
    with pytest.raises(ValueError, match="differs from the demand's step"):
        simulate(plazas, day, 30.0)
    with pytest.raises(ValueError, match="plaza ids differ"):
        simulate(plazas.tile(2), day)
    with pytest.raises(ValueError, match="staff must be"):
        simulate(plazas, day, staff=np.ones((3, 5)))
    with pytest.raises(ValueError, match="expected 5 finite values"):
        CrowdState(time=0.0, plazas=plazas, walking=[-1.0] * 5)
