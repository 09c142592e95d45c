"""Bad input gives a PlacementError that says what, where and what to do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.placement.conftest import random_matrix
from twin.errors import TwinError
from twin.network import RoadNetwork
from twin.placement import PlacementConfig, PlacementError
from twin.placement.cameras import camera_impact
from twin.placement.cli import load_placement_config
from twin.placement.impact import ImpactMatrix
from twin.placement.objectives import objective_data
from twin.placement.solvers import solve, solve_greedy, solve_milp


def test_error_class_follows_the_twin_rule() -> None:
    assert issubclass(PlacementError, TwinError) and issubclass(PlacementError, ValueError)


@pytest.mark.parametrize("budget", [-1.0, float("nan"), float("inf")])
def test_negative_or_non_finite_budget(budget: float) -> None:
    m = random_matrix(0)
    for s in ("milp", "greedy", "brute_force"):
        with pytest.raises(PlacementError, match="budget must be a finite number >= 0"):
            solve(m, budget, solver=s)


def test_unknown_technology_objective_and_solver() -> None:
    m = random_matrix(0)
    with pytest.raises(PlacementError, match="unknown technology 'drone'"):
        solve_greedy(m, 2, max_per_technology={"drone": 1})
    with pytest.raises(PlacementError, match="unknown objective 'speed'"):
        objective_data(m, "speed")
    with pytest.raises(PlacementError, match="unknown solver"):
        solve(m, 2, solver="annealing")
    cands = m.candidates.assign(technology="drone")
    with pytest.raises(PlacementError, match="unknown technology"):
        ImpactMatrix(m.events, cands, m.event, m.candidate, m.time, m.impact)
    with pytest.raises(PlacementError, match=r"technologies.*drone|drone.*technolog"):
        load_placement_config(None, technologies=("gauge", "drone"))


def test_empty_impact_matrix() -> None:
    m = random_matrix(0)
    with pytest.raises(PlacementError, match="empty impact matrix: no events"):
        ImpactMatrix(m.events.iloc[:0], m.candidates, [], [], [], [])
    none = ImpactMatrix(m.events, m.candidates, [], [], [], [])
    with pytest.raises(PlacementError, match="none of the 9 candidates detects any"):
        solve_milp(none, 3)


def test_records_out_of_range_are_named() -> None:
    m = random_matrix(0)
    with pytest.raises(PlacementError, match="outside the candidates"):
        ImpactMatrix(m.events, m.candidates, m.event, m.candidate + 100, m.time, m.impact)
    late = np.asarray(m.time).copy()
    late[0] = 1e9
    with pytest.raises(PlacementError, match="record 0 has delay"):
        ImpactMatrix(m.events, m.candidates, m.event, m.candidate, late, m.impact)
    with pytest.raises(PlacementError, match="appears twice"):
        ImpactMatrix(
            m.events,
            m.candidates,
            np.r_[m.event, m.event[:1]],
            np.r_[m.candidate, m.candidate[:1]],
            np.r_[m.time, m.time[:1]],
            np.r_[m.impact, m.impact[:1]],
        )
    with pytest.raises(PlacementError, match=r"events\.weight must be finite and > 0; row 1"):
        ImpactMatrix(
            m.events.assign(weight=[1.0, -1.0, *[1.0] * 28]),
            m.candidates,
            m.event,
            m.candidate,
            m.time,
            m.impact,
        )


def test_candidate_not_on_the_network(gongshu: RoadNetwork) -> None:
    events = pd.DataFrame({"event_id": ["a"], "time": [0.0], "edges": [[0, 1, 2]], "impact": [1.0]})
    with pytest.raises(PlacementError, match=r"candidate cameras: edge position\(s\) \[99999999\]"):
        camera_impact(gongshu, events, candidate_edges=[1, 99999999])
    bad = events.assign(edges=[[0, -5]])
    with pytest.raises(PlacementError, match=r"camera events: edge position.*not on the network"):
        camera_impact(gongshu, bad)
    with pytest.raises(PlacementError, match=r"miss column\(s\) \['impact'\]"):
        camera_impact(gongshu, events.drop(columns=["impact"]))
    with pytest.raises(PlacementError, match="are not candidates of this impact matrix"):
        random_matrix(0).positions(["c1", "camera:e5"])


def test_config_rejects_typos_and_mixes() -> None:
    with pytest.raises(PlacementError, match="budgte"):
        load_placement_config(None, budgte=3)
    with pytest.raises(PlacementError, match="budget"):
        load_placement_config(None, budget=-2)
    with pytest.raises(ValueError, match="skill"):
        PlacementConfig(technologies=("gauge", "probe"), objective="skill")
    with pytest.raises(ValueError, match="overlap"):
        PlacementConfig.model_validate({"gauge": {"train_splits": ["train", "test"]}})
    cfg = load_placement_config(None, budget=7, technologies=("probe",))
    assert cfg.budget == 7 and cfg.technologies == ("probe",) and cfg.objective == "impact"
