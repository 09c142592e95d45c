"""Parameter grids: values typed by the scenario schema, errors before any run."""

from __future__ import annotations

import re

import pytest

from twin.errors import ScenarioError
from twin.scenario import Scenario
from twin.sweep.grid import Grid, make_grid, parse_grid, parse_grid_option, run_key


def test_values_are_typed_by_the_schema(short: Scenario) -> None:
    grid = parse_grid(
        ["dispatch.policy=nearest_idle,fixed_zones", "crews.count=100,150",
         "horizon=1h,90min", "escalation.enabled=true,false"],
        scenario=short,
    )  # fmt: skip
    policy, count, horizon, esc = grid.axes
    assert policy.values == ("nearest_idle", "fixed_zones") and not policy.numeric
    assert count.values == (100, 150) and all(type(v) is int for v in count.values)
    assert horizon.values == (3600.0, 5400.0) and horizon.labels == ("1h", "90min")
    assert esc.values == (True, False) and not esc.numeric
    assert esc.coordinate() == ["true", "false"]
    assert grid.dims == ("dispatch.policy", "crews.count", "horizon", "escalation.enabled")
    assert grid.shape == (2, 2, 2, 2) and grid.size == 16


def test_points_are_the_product_last_axis_fastest(short: Scenario) -> None:
    grid = make_grid({"dispatch.policy": ["nearest_idle", "fixed_zones"],
                      "crews.count": [60, 80, 100]}, scenario=short)  # fmt: skip
    points = grid.points()
    assert [p.index for p in points] == [(i, j) for i in range(2) for j in range(3)]
    assert points[4].params == {"dispatch.policy": "fixed_zones", "crews.count": 80}
    assert points[4].label() == "policy=fixed_zones, count=80"
    assert Grid().points()[0].label() == "all runs"  # an ensemble: one point, no axes


def test_grid_round_trips_through_json(short: Scenario) -> None:
    grid = parse_grid(["crews.count=60,80", "rain.scale=0.5,1"], scenario=short)
    assert Grid.from_json(grid.to_json()) == grid


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("dispatch.polcy=a,b", ["dispatch.polcy", "no field 'polcy'", "policy", "zone_size_m"]),
        ("dispatc.policy=a", ["dispatc.policy", "the scenario has no field 'dispatc'",
                              "dispatch"]),
        ("dispatch.policy=nearest_idle,teleport",
         ["dispatch.policy=teleport", "unknown policy", "fixed_zones"]),
        ("crews.count=100,0", ["crews.count=0", "greater than or equal to 1"]),
        ("crews.count=100,many", ["crews.count=many", "valid integer"]),
        ("crews=1", ["crews", "is a section", "crews.count"]),
        ("crews.shifts=day", ["crews.shifts", "only single values"]),
        ("seed=1,2", ["seed", "cannot be swept", "--replications"]),
        ("crews.count=100,100.0", ["crews.count", "given twice"]),
        ("crews.count", ["PARAMETER=VALUE1,VALUE2"]),
        ("crews.count=", ["PARAMETER=VALUE1,VALUE2"]),
        ("crews.count=1,,2", ["PARAMETER=VALUE1,VALUE2"]),
    ],
)  # fmt: skip
def test_bad_parameters_name_the_parameter_and_what_is_allowed(
    short: Scenario, spec: str, words: list[str]
) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_grid([spec], scenario=short)
    for w in words:
        assert w in str(info.value), str(info.value)


def test_a_parameter_given_twice_is_an_error(short: Scenario) -> None:
    with pytest.raises(ScenarioError, match="two --grid options"):
        parse_grid(["crews.count=60", "crews.count=80"], scenario=short)


def test_parse_option() -> None:
    assert parse_grid_option(" crews.count = 1, 2 ") == ("crews.count", ["1", "2"])


def test_run_keys_are_readable_safe_and_follow_the_scenario(short: Scenario) -> None:
    grid = parse_grid(["crews.depots=layer,data/my depots.geojson"], scenario=short)
    p0, p1 = grid.points()
    run = short.with_updates(**p1.params, seed=short.seed + 3)
    key = run_key(p1, 3, run)
    assert re.fullmatch(r"depots=data-my-depots\.geojson_r003_[0-9a-f]{10}", key), key
    assert run_key(p1, 3, run) == key  # stable
    assert run_key(p1, 3, run.with_updates(horizon=7200.0 + 60)) != key  # another scenario
    assert run_key(p0, 3, short.with_updates(**p0.params)) != key
