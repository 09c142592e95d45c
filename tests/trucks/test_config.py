"""TrucksConfig: defaults, and every validation error names what is wrong."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from twin.trucks.config import Ban, Company, TrucksConfig


def test_defaults_are_valid_and_disabled() -> None:
    cfg = TrucksConfig()
    assert cfg.enabled is False
    assert cfg.sites == "layer" and cfg.docks == "layer"
    assert sum(c.trucks for c in cfg.companies) > 200
    assert all("illustrative" in c.name for c in cfg.companies)
    assert all("illustrative" in b.name for b in cfg.bans)


def test_durations_with_units() -> None:
    cfg = TrucksConfig.model_validate(
        {"truck": {"loading_time": "5min"}, "record_interval": "2min"}
    )
    assert cfg.truck.loading_time == 300.0 and cfg.record_interval == 120.0


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"unknown": 1}, "Extra inputs"),
        ({"site_hours": "25:00-06:00"}, "impossible time"),
        ({"bans": [{"name": "x"}]}, "selects nothing"),
        ({"bans": [{"name": "x", "area": [[120.1, 30.3], [120.2, 30.3]]}]}, "at least 3"),
        ({"companies": []}, "at least one"),
        ({"companies": [{"name": "a", "trucks": 1}, {"name": "a", "trucks": 2}]}, "unique"),
        ({"companies": [{"name": "a", "trucks": 1, "sites": ["s"]},
                        {"name": "b", "trucks": 1, "sites": ["s"]}]}, "served by both"),
        ({"cases": {"categories": {"litter": "x"}}}, "unknown violation kind"),
        ({"cases": {"sources": {"drone": "x"}}}, "unknown detector"),
        ({"companies": [{"name": "a", "trucks": 1, "profile": {"spillage": 2}}]}, "less than"),
    ],
)  # fmt: skip
def test_bad_values_are_rejected(data: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        TrucksConfig.model_validate(data)


def test_models_are_frozen() -> None:
    ban = Ban(name="b", road_classes=("arterial",))
    with pytest.raises(ValidationError):
        ban.hours = "01:00-02:00"  # type: ignore[misc]
    assert Company(name="c", trucks=3).profile.as_tuple()[0] == pytest.approx(0.03)
