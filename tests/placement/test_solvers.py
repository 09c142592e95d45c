"""Solvers: the MILP matches brute force; the greedy keeps its (1 − 1/e) guarantee."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.placement.conftest import random_matrix
from twin.placement.objectives import loss, objective_data, summary
from twin.placement.pareto import curve_budgets, pareto_curve
from twin.placement.solvers import (
    GREEDY_FACTOR,
    solve_brute_force,
    solve_greedy,
    solve_milp,
)

OBJECTIVES = ("coverage", "time", "impact")


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_milp_matches_brute_force_and_greedy_keeps_its_bound(seed: int, objective: str) -> None:
    m = random_matrix(seed, n_events=35, n_candidates=10)
    for budget in (1, 2, 3):
        exact = solve_brute_force(m, budget, objective=objective)
        greedy = solve_greedy(m, budget, objective=objective)
        for form in ("assignment", "sorted"):
            milp = solve_milp(m, budget, objective=objective, formulation=form)
            assert milp.status == "optimal"
            assert milp.loss == pytest.approx(exact.loss, rel=1e-9, abs=1e-12)
            assert len(milp.selected) <= budget
        assert greedy.factor == pytest.approx(1 - 1 / math.e)
        assert greedy.reduction >= GREEDY_FACTOR * exact.reduction - 1e-9
        assert greedy.loss >= exact.loss - 1e-9  # never better than the optimum
        assert greedy.upper_bound >= exact.reduction - 1e-9  # the online bound is valid
        assert loss(objective_data(m, objective), greedy.selected) == pytest.approx(greedy.loss)


def test_unequal_costs_use_celf_and_its_half_bound() -> None:
    costs = np.random.default_rng(5).uniform(0.5, 2.5, 10)
    m = random_matrix(11, n_events=40, n_candidates=10, costs=costs)
    for budget in (1.5, 3.0, 4.5):
        exact = solve_brute_force(m, budget)
        milp = solve_milp(m, budget)
        greedy = solve_greedy(m, budget)
        assert milp.loss == pytest.approx(exact.loss, rel=1e-9)
        assert milp.cost <= budget + 1e-9 and greedy.cost <= budget + 1e-9
        assert greedy.factor == pytest.approx(0.5 * (1 - 1 / math.e))
        assert greedy.reduction >= greedy.factor * exact.reduction - 1e-9
        assert greedy.info["passes"] == 2


def test_caps_per_technology_hold_in_every_solver() -> None:
    m = random_matrix(3, n_events=40, n_candidates=10, technologies=("gauge", "probe"))
    caps = {"gauge": 1}
    for solve in (solve_brute_force, solve_milp, solve_greedy):
        p = solve(m, 3, max_per_technology=caps)
        techs = m.technology[p.selected].tolist()
        assert techs.count("gauge") <= 1
    exact = solve_brute_force(m, 3, max_per_technology=caps)
    assert solve_milp(m, 3, max_per_technology=caps).loss == pytest.approx(exact.loss)
    assert solve_greedy(m, 3, max_per_technology=caps).factor == 0.5


def test_greedy_picks_the_textbook_answer_on_a_hand_made_instance() -> None:
    # c0 detects e0, e1 late; c1 detects e0 early; c2 detects e2. Impact objective.
    import pandas as pd

    from twin.placement.impact import ImpactMatrix

    events = pd.DataFrame(
        {
            "event_id": ["e0", "e1", "e2"],
            "technology": "gauge",
            "weight": 1.0,
            "lifetime": 100.0,
            "impact": [10.0, 10.0, 4.0],
        }
    )
    cands = pd.DataFrame(
        {
            "candidate_id": ["c0", "c1", "c2"],
            "technology": "gauge",
            "cost": 1.0,
            "lon": np.nan,
            "lat": np.nan,
        }
    )
    m = ImpactMatrix(
        events,
        cands,
        np.array([0, 1, 0, 2]),
        np.array([0, 0, 1, 2]),
        np.array([50.0, 50.0, 0.0, 0.0]),
        np.array([5.0, 5.0, 0.0, 0.0]),
    )
    g1 = solve_greedy(m, 1)
    assert g1.candidate_ids == ("c0",)  # reduces 5 + 5 = 10 (c1: 10, tie → first)
    assert g1.loss == pytest.approx(5 + 5 + 4)
    g2 = solve_milp(m, 2)
    assert set(g2.candidate_ids) == {"c0", "c1"}  # 0 + 5 + 4 = 9 beats {c0, c2}: 5 + 5 = 10
    assert g2.loss == pytest.approx(9.0)
    s = summary(m, [0])
    assert s["coverage"] == pytest.approx(2 / 3)
    assert s["mean_time"] == pytest.approx((50 + 50 + 100) / 3)


def test_pareto_curve_is_monotone_and_milp_dominates() -> None:
    m = random_matrix(2, n_events=40, n_candidates=12)
    budgets = curve_budgets(5, m.cost, 5)
    assert budgets.tolist() == [0, 1, 2, 3, 4, 5]
    curve = pareto_curve(m, budgets, objective="impact")
    milp = curve[curve["solver"] == "milp"]["loss"].to_numpy()
    greedy = curve[curve["solver"] == "greedy"]["loss"].to_numpy()
    assert np.all(np.diff(milp) <= 1e-12)
    assert np.all(milp <= greedy + 1e-9)
