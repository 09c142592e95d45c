"""Verification of the ponding model against EPA SWMM 5 (run through pyswmm).

The twin's parameters of four realistic low points are written to a SWMM input file
(:func:`twin.hydro.swmm_inp.write_inp`) and run by the SWMM engine; the pond depth
hydrographs of both must agree at every reporting step (60 s) through a 2-h design
storm and the 4 h after it:

- Nash–Sutcliffe efficiency of the twin against SWMM >= 0.98,
- peak depth within 5 %,
- time of the peak within one reporting step.

The storm is a Chicago (Keifer & Chu 1957) hyetograph built by the alternating-block
method from an intensity–duration curve i(t) = A / (t + b)^n [mm/h], t in minutes, with
the peak 40 % into the storm: 2 h, about 105 mm/h at the peak minute, 47 mm in all.

The cases (one subcatchment and one pond each; parameter ranges from the SWMM user's
manual, appendix A):

- ``underpass``: 3.5 ha, 90 % impervious, 2 % ramps, a sag whose surface grows with
  depth (2,500 m²/m + 250 m²), a pump-limited drain of 0.25 m³/s that the storm
  overwhelms; 1.8 m deep before it spills.
- ``road_section``: 1.2 ha of road and verge, 75 % impervious, 0.5 % slope, a long
  shallow dip (area ∝ h^0.5), street inlets taking at most 0.06 m³/s.
- ``intersection``: 2 ha, 85 % impervious, a flat crossing (area 3,000 h^0.7 + 150 m²,
  a TABULAR curve in SWMM, see :func:`twin.hydro.swmm_inp.write_inp`), inlets of
  0.12 m³/s, and spills above 0.25 m.
- ``park_road``: 2.5 ha, 40 % impervious beside a park: Horton infiltration matters.

References
----------
.. [1] C. J. Keifer, H. H. Chu, "Synthetic storm pattern for drainage design",
   *J. Hydraulics Division ASCE* 83(4), 1957.
.. [2] J. E. Nash, J. V. Sutcliffe, "River flow forecasting through conceptual models
   part I", *J. Hydrology* 10(3), 282–290, 1970.
.. [3] L. A. Rossman, *Storm Water Management Model User's Manual Version 5.2*,
   EPA/600/R-22/030, U.S. EPA, 2022.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from twin.hydro.reservoir import MM_PER_H, CatchmentParams, PondingResult, simulate_ponding
from twin.hydro.swmm_inp import rating_curve, storage_curve, write_inp

DT = 60.0  # rain and reporting step [s]

CASES: dict[str, dict[str, float]] = {
    "underpass": {
        "area": 3.5e4, "imperv": 0.90, "width": 350.0, "slope": 0.02,
        "n_imperv": 0.013, "n_perv": 0.15, "dstore_imperv": 1.5e-3, "dstore_perv": 5e-3,
        "f0": 76.0 * MM_PER_H, "fc": 6.0 * MM_PER_H, "decay": 4.0 / 3600,
        "pond_a": 2500.0, "pond_b": 1.0, "pond_c": 250.0,
        "drain_capacity": 0.25, "drain_coeff": 0.8, "drain_exp": 0.5, "max_depth": 1.8,
    },
    "road_section": {
        "area": 1.2e4, "imperv": 0.75, "width": 400.0, "slope": 0.005,
        "n_imperv": 0.014, "n_perv": 0.2, "dstore_imperv": 2e-3, "dstore_perv": 6e-3,
        "f0": 100.0 * MM_PER_H, "fc": 10.0 * MM_PER_H, "decay": 3.0 / 3600,
        "pond_a": 2500.0, "pond_b": 0.5, "pond_c": 0.0,
        "drain_capacity": 0.06, "drain_coeff": 0.15, "drain_exp": 1.5, "max_depth": 0.4,
    },
    "intersection": {
        "area": 2.0e4, "imperv": 0.85, "width": 250.0, "slope": 0.01,
        "n_imperv": 0.013, "n_perv": 0.18, "dstore_imperv": 1.8e-3, "dstore_perv": 5e-3,
        "f0": 90.0 * MM_PER_H, "fc": 8.0 * MM_PER_H, "decay": 4.0 / 3600,
        "pond_a": 3000.0, "pond_b": 0.7, "pond_c": 150.0,
        "drain_capacity": 0.12, "drain_coeff": 0.5, "drain_exp": 0.8, "max_depth": 0.25,
    },
    "park_road": {
        "area": 2.5e4, "imperv": 0.40, "width": 200.0, "slope": 0.015,
        "n_imperv": 0.013, "n_perv": 0.25, "dstore_imperv": 2e-3, "dstore_perv": 6e-3,
        "f0": 120.0 * MM_PER_H, "fc": 12.0 * MM_PER_H, "decay": 3.0 / 3600,
        "pond_a": 1500.0, "pond_b": 1.2, "pond_c": 80.0,
        "drain_capacity": 0.05, "drain_coeff": 0.3, "drain_exp": 0.7, "max_depth": 0.6,
    },
}  # fmt: skip
NAMES = list(CASES)


def chicago_storm(
    duration: float = 7200.0,
    dt: float = DT,
    *,
    a: float = 730.0,
    b: float = 15.0,
    n: float = 0.7,
    peak_at: float = 0.4,
) -> np.ndarray:
    """Chicago hyetograph [mm/h] on steps of ``dt`` [s] by the alternating-block method."""
    m = round(duration / dt)
    t_min = np.arange(1, m + 1) * dt / 60.0
    depth = a / (t_min + b) ** n * t_min / 60.0  # [mm] deepest burst of each length
    blocks = np.diff(depth, prepend=0.0) / (dt / 3600.0)  # [mm/h], decreasing
    out = np.zeros(m)
    peak = round(peak_at * (m - 1))
    left, right = peak - 1, peak + 1
    out[peak] = blocks[0]
    n_left = n_right = 0
    for value in blocks[1:]:
        go_left = left >= 0 and (
            right >= m or (n_left + 1) * (1 - peak_at) <= (n_right + 1) * peak_at
        )
        if go_left:
            out[left] = value
            left -= 1
            n_left += 1
        else:
            out[right] = value
            right += 1
            n_right += 1
    return out


def storm_series() -> np.ndarray:
    """30 min dry, the 2-h storm, 4 h of drainage: rain [mm/h] per 60-s step."""
    return np.concatenate([np.zeros(30), chicago_storm(), np.zeros(240)])


def case_params(names: list[str] = NAMES) -> CatchmentParams:
    keys = CASES[names[0]].keys()
    return CatchmentParams(**{k: np.array([CASES[c][k] for c in names]) for k in keys})


def nse(sim: np.ndarray, obs: np.ndarray) -> float:
    """Nash–Sutcliffe efficiency of ``sim`` against ``obs`` [-]."""
    return float(1.0 - np.sum((sim - obs) ** 2) / np.sum((obs - obs.mean()) ** 2))


@pytest.fixture(scope="module")
def pyswmm_installed() -> Any:
    return pytest.importorskip(
        "pyswmm", reason="pyswmm is not installed (pip install pyswmm, in the test extra)"
    )


@pytest.fixture(scope="module")
def twin_and_swmm(
    pyswmm_installed: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PondingResult, pd.DataFrame, Path]:
    from twin.hydro.swmm_inp import run_swmm

    params = case_params()
    rain = storm_series()
    result = simulate_ponding(params, rain, DT)
    path = write_inp(params, rain, DT, tmp_path_factory.mktemp("swmm") / "cases.inp",
                     names=NAMES)  # fmt: skip
    return result, run_swmm(path), path


def test_storm_is_a_design_storm() -> None:
    storm = chicago_storm()
    assert storm.shape == (120,)
    assert 95.0 < storm.max() < 115.0
    assert int(np.argmax(storm)) == 48
    assert 40.0 < storm.sum() * DT / 3600.0 < 55.0  # total depth [mm]


@pytest.mark.parametrize("case", NAMES)
def test_depth_hydrograph_matches_swmm(
    case: str, twin_and_swmm: tuple[PondingResult, pd.DataFrame, Path]
) -> None:
    result, swmm, _ = twin_and_swmm
    j = NAMES.index(case)
    obs = swmm[("water_depth", case)].to_numpy()
    sim = result.water_depth[:, j]
    assert_allclose(swmm.index.to_numpy(), result.time)
    assert obs.max() > 0.1  # the storm makes a real pond
    assert nse(sim, obs) >= 0.98
    assert abs(sim.max() - obs.max()) <= 0.05 * obs.max()
    assert abs(int(np.argmax(sim)) - int(np.argmax(obs))) <= 1


def test_agreement_is_much_tighter_than_required(
    twin_and_swmm: tuple[PondingResult, pd.DataFrame, Path],
) -> None:
    """Same model, same steps: the two agree to a few millimetres at every step."""
    result, swmm, _ = twin_and_swmm
    obs = swmm["water_depth"][NAMES].to_numpy()
    assert np.max(np.abs(result.water_depth - obs)) < 5e-3
    for j in range(len(NAMES)):
        assert nse(result.water_depth[:, j], obs[:, j]) > 0.999


def test_drain_outflow_and_spill_match_swmm(
    twin_and_swmm: tuple[PondingResult, pd.DataFrame, Path],
) -> None:
    result, swmm, path = twin_and_swmm
    for j, case in enumerate(NAMES):
        q = swmm[("drain_outflow", case)].to_numpy()
        # SWMM reports rates at the step ends; the twin step means: compare volumes.
        v_swmm = np.sum(0.5 * (q[1:] + q[:-1])) * DT
        assert_allclose(result.mass_balance["drain_outflow"][j], v_swmm, rtol=0.01)
    assert result.mass_balance["overflow"][NAMES.index("intersection")] > 1.0
    assert result.max_relative_error < 1e-3
    report = path.with_suffix(".rpt").read_text()
    assert "ERROR" not in report


def test_per_point_rain_gages(pyswmm_installed: Any, tmp_path: Path) -> None:
    from twin.hydro.swmm_inp import run_swmm

    names = ["underpass", "road_section"]
    params = case_params(names)
    storm = storm_series()
    rain = np.stack([storm, 0.7 * storm], axis=1)
    result = simulate_ponding(params, rain, DT)
    path = write_inp(params, rain, DT, tmp_path / "two.inp", names=["u 1", "r/2"])
    text = path.read_text()
    assert "G_u_1" in text and "G_r_2" in text
    swmm = run_swmm(path)
    for j, name in enumerate(["u_1", "r_2"]):
        assert nse(result.water_depth[:, j], swmm[("water_depth", name)].to_numpy()) > 0.999


def test_inp_units_and_curves(tmp_path: Path) -> None:
    params = case_params()
    path = write_inp(params, storm_series(), DT, tmp_path / "c.inp", names=NAMES)
    lines = path.read_text().splitlines()
    sub = next(x.split() for x in lines if x.startswith("S_underpass G0 "))
    assert sub[3] == "3.5"  # ha
    assert sub[4] == "90"  # %
    assert float(sub[6]) == pytest.approx(2.0)  # % slope
    infil = next(x.split() for x in lines if x.startswith("S_road_section 100"))
    assert [float(v) for v in infil[1:4]] == pytest.approx([100.0, 10.0, 3.0])
    storage = {x.split()[0]: x.split() for x in lines if x.startswith("ST_")}
    assert storage["ST_underpass"][4] == "FUNCTIONAL"  # exponent 1: exact in SWMM
    assert storage["ST_road_section"][4] == "FUNCTIONAL"  # no constant: exact in SWMM
    assert storage["ST_intersection"][4] == "TABULAR"  # would hit SWMM's Newton bug
    assert "FLOW_UNITS           CMS" in lines
    assert "FLOW_ROUTING         KINWAVE" in lines


def test_sampled_curves_follow_the_twin() -> None:
    h, q = rating_curve(0.5, 0.8, 0.12, 0.25)
    assert h[0] == 0.0 and h[-1] == 0.25
    assert np.all(np.diff(h) > 0)
    mid = np.sqrt(h[1:-1] * h[2:])  # geometric midpoints: worst case for interpolation
    exact = np.minimum(0.5 * mid**0.8, 0.12)
    interp = np.interp(mid, h, q)
    assert np.max(np.abs(interp / exact - 1.0)) < 2e-3
    assert q[-1] == 0.12
    h, a = storage_curve(3000.0, 0.7, 150.0, 0.25)
    vol_exact = 3000.0 * 0.25**1.7 / 1.7 + 150.0 * 0.25
    vol_trapezoid = float(np.sum(0.5 * (a[1:] + a[:-1]) * np.diff(h)))
    assert vol_trapezoid == pytest.approx(vol_exact, rel=1e-3)


def test_write_inp_rejects_bad_input(tmp_path: Path) -> None:
    params = case_params()
    with pytest.raises(ValueError, match="rain_rate"):
        write_inp(params, np.zeros((10, 3)), DT, tmp_path / "x.inp")
    with pytest.raises(ValueError, match="whole seconds"):
        write_inp(params, np.zeros(10), 60.5, tmp_path / "x.inp")
    with pytest.raises(ValueError, match="names"):
        write_inp(params, np.zeros(10), DT, tmp_path / "x.inp", names=["a", "a", "b", "c"])
