"""`twin place` checks its budget before any work (issue 22: --budget 0 failed after 70 s)."""

from __future__ import annotations

import pytest

from twin.placement import PlacementError
from twin.placement.cli import check_budget, load_placement_config


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"budget": 0.0}, "--budget 0: buys no sensor (the cheapest, a gauge, costs 1)"),
        ({"budget": 2.5, "technologies": ("camera", "probe"),
          "costs": {"camera": 3.0, "probe": 4.0}}, "the cheapest, a camera, costs 3"),
        ({"budget": float("inf")}, "give a finite budget"),
    ],
)  # fmt: skip
def test_budget_that_buys_nothing(settings: dict[str, object], words: str) -> None:
    cfg = load_placement_config(None, **settings)
    with pytest.raises(PlacementError) as info:
        check_budget(cfg)
    assert words in str(info.value)


def test_budget_that_buys_one_sensor() -> None:
    check_budget(load_placement_config(None, budget=1.0))
    cfg = load_placement_config(
        None, budget=3.0, technologies=("camera", "probe"), costs={"camera": 3.0, "probe": 4.0}
    )
    check_budget(cfg)
