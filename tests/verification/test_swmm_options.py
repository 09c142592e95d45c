"""Verification of the optional SWMM runoff features against EPA SWMM 5 (pyswmm).

The four low points of :mod:`tests.verification.test_swmm`, run by the twin with
:class:`twin.hydro.reservoir.RunoffOptions` and by SWMM with the same features in the
input file (:func:`twin.hydro.swmm_inp.write_inp`):

- **subarea routing** (``[SUBAREAS] RouteTo PERVIOUS`` with ``PctRouted`` 100 and 60),
  in light rain (the 2-h Chicago storm × 0.3, 14 mm) and heavy rain (47 mm);
- **Horton recovery** (``DryTime`` 0.25 day) between two storms 12 h apart;
- **Green–Ampt infiltration** (``INFILTRATION GREEN_AMPT``) on a clay loam in light and
  heavy rain, and a sandy loam through two storms (its upper zone recovering between);
- **spill routing**: the intersection's pond spills into the park road's (in SWMM an
  outlet link from its maximum depth to the other storage node), heavy rain.

Each must match SWMM's outlet runoff hydrograph with a Nash–Sutcliffe efficiency of at
least 0.99 and its runoff volume within 1 %, and the pond depth with NSE ≥ 0.99 where a
pond forms (peak above 1 cm). Each feature must also matter: without it, the twin is
farther from SWMM. The defaults leave every result bit for bit unchanged.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.verification.test_swmm import DT, NAMES, case_params, chicago_storm, nse
from twin.hydro.infiltration_kernels import horton_regen
from twin.hydro.reservoir import GreenAmptParams, PondingResult, RunoffOptions, simulate_ponding
from twin.hydro.swmm_inp import write_inp

LIGHT = np.concatenate([np.zeros(30), 0.3 * chicago_storm(), np.zeros(240)])
HEAVY = np.concatenate([np.zeros(30), chicago_storm(), np.zeros(240)])
TWO_STORMS = np.concatenate(
    [np.zeros(30), 0.5 * chicago_storm(), np.zeros(12 * 60), 0.5 * chicago_storm(), np.zeros(240)]
)
#: Green–Ampt soils (SWMM user's manual, table A.2): suction [m], Ks [m/s], deficit [-].
CLAY_LOAM = GreenAmptParams(suction=0.2083, conductivity=1.0 / 3.6e6, deficit=0.155)
SANDY_LOAM = GreenAmptParams(suction=0.1102, conductivity=10.92 / 3.6e6, deficit=0.30)
RUNS: dict[str, tuple[np.ndarray, RunoffOptions]] = {
    "routed_all_light": (LIGHT, RunoffOptions(route_to_pervious=1.0)),
    "routed_all_heavy": (HEAVY, RunoffOptions(route_to_pervious=1.0)),
    "routed_60_light": (LIGHT, RunoffOptions(route_to_pervious=0.6)),
    "routed_60_heavy": (HEAVY, RunoffOptions(route_to_pervious=0.6)),
    "recovery_6h": (TWO_STORMS, RunoffOptions(dry_time=0.25 * 86400.0)),
    "green_ampt_light": (LIGHT, RunoffOptions(green_ampt=CLAY_LOAM)),
    "green_ampt_heavy": (HEAVY, RunoffOptions(green_ampt=CLAY_LOAM)),
    "green_ampt_two_storms": (TWO_STORMS, RunoffOptions(green_ampt=SANDY_LOAM)),
}


def volume(q: np.ndarray) -> float:
    """Volume of a flow series reported at step ends (trapezoid) [m³]."""
    return float(np.sum(0.5 * (q[1:] + q[:-1])) * DT)


@pytest.fixture(scope="module")
def swmm_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    pytest.importorskip("pyswmm", reason="pyswmm is not installed (the test extra)")
    from twin.hydro.swmm_inp import run_swmm

    folder = tmp_path_factory.mktemp("swmm_options")
    params = case_params()
    out = {}
    for name, (rain, opts) in RUNS.items():
        path = write_inp(params, rain, DT, folder / f"{name}.inp", names=NAMES, options=opts)
        out[name] = run_swmm(path)
    return out


def twin_run(name: str, *, with_options: bool = True) -> PondingResult:
    rain, opts = RUNS[name]
    return simulate_ponding(case_params(), rain, DT, options=opts if with_options else None)


def runoff_metrics(result: PondingResult, swmm: pd.DataFrame, j: int) -> tuple[float, float]:
    """NSE of the runoff hydrograph and the relative runoff volume error [-]."""
    q = swmm[("runoff", NAMES[j])].to_numpy()
    # The twin's step means sit between SWMM's step-end rates.
    q_mid = 0.5 * (q[1:] + q[:-1])
    sim = result.runoff[:, j]
    return nse(sim, q_mid), float(sim.sum() * DT / volume(q) - 1.0)


@pytest.mark.parametrize("name", list(RUNS))
def test_runoff_and_pond_match_swmm(name: str, swmm_runs: dict[str, pd.DataFrame]) -> None:
    result, swmm = twin_run(name), swmm_runs[name]
    for j, case in enumerate(NAMES):
        q = swmm[("runoff", case)].to_numpy()
        if volume(q) < 1.0:  # all of it infiltrated in both (light rain, all routed)
            assert result.runoff[:, j].sum() * DT < 1.0, case
            continue
        skill, error = runoff_metrics(result, swmm, j)
        assert skill >= 0.99, (case, skill)
        assert abs(error) <= 0.01, (case, error)
        obs = swmm[("water_depth", case)].to_numpy()
        if obs.max() > 0.01:
            assert nse(result.water_depth[:, j], obs) >= 0.99, case
    assert result.max_relative_error < 1e-6


@pytest.mark.parametrize(
    "name", ["routed_all_light", "routed_60_heavy", "recovery_6h", "green_ampt_heavy"]
)
def test_each_feature_matters(name: str, swmm_runs: dict[str, pd.DataFrame]) -> None:
    """Without the feature the twin is farther from SWMM (runoff volume)."""
    swmm = swmm_runs[name]
    with_it, without = twin_run(name), twin_run(name, with_options=False)
    v_swmm = sum(volume(swmm[("runoff", c)].to_numpy()) for c in NAMES)
    err_with = abs(with_it.runoff.sum() * DT - v_swmm)
    err_without = abs(without.runoff.sum() * DT - v_swmm)
    assert err_without > 5.0 * err_with + 1.0


def test_routing_lets_light_rain_infiltrate(swmm_runs: dict[str, pd.DataFrame]) -> None:
    """The issue's case: without routing, light-rain runoff is several times SWMM's."""
    swmm = swmm_runs["routed_60_light"]
    v_swmm = sum(volume(swmm[("runoff", c)].to_numpy()) for c in NAMES)
    without = twin_run("routed_60_light", with_options=False).runoff.sum() * DT
    assert without > 1.5 * v_swmm


def test_defaults_are_bit_for_bit_the_plain_model() -> None:
    plain = simulate_ponding(case_params(), HEAVY, DT)
    same = simulate_ponding(case_params(), HEAVY, DT, options=RunoffOptions())
    for field in ("water_depth", "volume", "runoff", "drain_outflow", "overflow", "infiltration"):
        assert np.array_equal(getattr(plain, field), getattr(same, field)), field
    assert plain.final_state is not None and same.final_state is not None
    assert np.array_equal(plain.final_state.values, same.final_state.values)


def test_recovery_is_swmms_exponential_law() -> None:
    """Recovery over many substeps equals one step of their sum (an exponential law), and
    after the drying time 98 % of the used capacity is back."""
    kd, dry = 4.0 / 3600.0, 6 * 3600.0
    kr = -math.log(0.02) / dry
    tp0 = 5000.0
    tp = tp0
    for _ in range(360):
        tp = horton_regen(tp, 60.0, kd, kr)
    assert tp == pytest.approx(horton_regen(tp0, 360 * 60.0, kd, kr), rel=1e-9)
    used0, used = 1.0 - math.exp(-kd * tp0), 1.0 - math.exp(-kd * tp)
    assert used == pytest.approx(0.02 * used0, rel=1e-9)


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="route_to_pervious: fractions must lie in"):
        RunoffOptions(route_to_pervious=1.5).arrays(2)
    with pytest.raises(ValueError, match="dry_time: must be > 0"):
        RunoffOptions(dry_time=0.0).arrays(2)
    route, regen = RunoffOptions(route_to_pervious=[0.0, 0.5]).arrays(2)
    assert route.tolist() == [0.0, 0.5] and regen.tolist() == [0.0, 0.0]


def test_inp_has_the_swmm_features(tmp_path: Path) -> None:
    opts: Any = RunoffOptions(route_to_pervious=0.6, dry_time=0.25 * 86400.0)
    path = write_inp(case_params(), HEAVY, DT, tmp_path / "o.inp", names=NAMES, options=opts)
    text = path.read_text()
    assert "0 PERVIOUS 60" in text
    assert " 0.25 0\n" in text  # DryTime [days]


def test_spilled_water_reaches_the_downstream_pond_as_in_swmm(tmp_path: Path) -> None:
    """The intersection (spills above 0.25 m) spills into the park road's pond."""
    pyswmm = pytest.importorskip("pyswmm", reason="pyswmm is not installed (the test extra)")
    from twin.hydro.swmm_inp import run_swmm

    opts = RunoffOptions(spill_to=[-1, -1, NAMES.index("park_road"), -1])
    params = case_params()
    result = simulate_ponding(params, HEAVY, DT, options=opts)
    path = write_inp(params, HEAVY, DT, tmp_path / "spill.inp", names=NAMES, options=opts)
    swmm = run_swmm(path)
    for j, case in enumerate(NAMES):
        obs = swmm[("water_depth", case)].to_numpy()
        assert nse(result.water_depth[:, j], obs) >= 0.99, case
    # The volume passed on: in SWMM the flow of the spill link, sampled every routing
    # step (5 s; the spill comes in bursts shorter than a reporting step).
    flows = [0.0]
    with pyswmm.Simulation(str(path)) as sim:
        link = pyswmm.Links(sim)["SP_intersection"]
        sim.step_advance(5)
        for _ in sim:
            flows.append(link.flow)
    v_swmm = float(np.sum(0.5 * (np.array(flows[1:]) + np.array(flows[:-1]))) * 5.0)
    received = result.mass_balance["spill_received"][NAMES.index("park_road")]
    assert received > 10.0
    assert abs(received / v_swmm - 1.0) <= 0.01
    assert received == pytest.approx(result.mass_balance["overflow"][NAMES.index("intersection")])
    assert result.max_relative_error < 1e-9
    # Without it the water is lost and the downstream pond is shallower than SWMM's.
    alone = simulate_ponding(params, HEAVY, DT)
    park = NAMES.index("park_road")
    assert alone.water_depth[:, park].max() < 0.9 * result.water_depth[:, park].max()
    report = path.with_suffix(".rpt").read_text()
    assert re.search(r"Flooding Loss \.+\s+0\.000\s", report)  # nothing lost in SWMM


def test_spill_loops_are_refused() -> None:
    with pytest.raises(ValueError, match="spill into each other in a loop"):
        RunoffOptions(spill_to=[1, 0]).spill_order(2)
    with pytest.raises(ValueError, match="one index per point"):
        RunoffOptions(spill_to=[5]).spill_order(1)
    to, order = RunoffOptions(spill_to=[2, 2, -1]).spill_order(3)
    assert to.tolist() == [2, 2, -1]
    assert order.tolist().index(2) == 2  # the receiver after both senders


def test_green_ampt_state_continues_bit_for_bit() -> None:
    """A Green–Ampt run stopped and continued from its 11-row state is the whole run."""
    opts = RunoffOptions(green_ampt=SANDY_LOAM)
    whole = simulate_ponding(case_params(), TWO_STORMS, DT, options=opts)
    cut = 500
    first = simulate_ponding(case_params(), TWO_STORMS[:cut], DT, options=opts)
    assert first.final_state is not None and first.final_state.values.shape == (11, 4)
    second = simulate_ponding(case_params(), TWO_STORMS[cut:], DT, options=opts,
                              state=first.final_state)  # fmt: skip
    assert np.array_equal(second.water_depth, whole.water_depth[cut:])
    horton_state = simulate_ponding(case_params(), HEAVY[:5], DT).final_state
    with pytest.raises(ValueError, match="Green–Ampt run continues only from a Green–Ampt"):
        simulate_ponding(case_params(), HEAVY, DT, options=opts, state=horton_state)
    with pytest.raises(ValueError, match="conductivity > 0"):
        GreenAmptParams(suction=0.1, conductivity=0.0, deficit=0.3).arrays(1)
