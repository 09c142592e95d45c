"""The crowd configuration: defaults, validation messages, YAML-style values."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from twin.crowds.config import (
    BackgroundFlow,
    CrowdConfig,
    CrowdEvent,
    HoldTrains,
    Intervention,
    MetroFeed,
    OpenExits,
    SendStaff,
    hour_profile,
    parse_duration,
)
from twin.crowds.los import density_threshold


def test_defaults_are_valid_and_frozen() -> None:
    cfg = CrowdConfig()
    assert cfg.model.substeps >= 1 and cfg.model.exit_capacity == 1.3
    assert len(cfg.metro[0].trains_per_hour) == 24
    assert "illustrative" in cfg.metro[0].name
    with pytest.raises(ValidationError):
        cfg.model.__setattr__("step", 30.0)


def test_unknown_fields_are_errors() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        CrowdConfig.model_validate({"modle": {}})
    with pytest.raises(ValidationError):
        CrowdConfig.model_validate({"model": {"substep": 3}})


def test_hour_profiles() -> None:
    assert hour_profile(3) == (3.0,) * 24
    assert hour_profile(list(range(24)))[23] == 23.0
    with pytest.raises(ValueError, match="needs 24 values"):
        hour_profile([1, 2, 3])
    with pytest.raises(ValueError, match="hour 2"):
        hour_profile([1, 1, -1] + [1] * 21)
    with pytest.raises(ValidationError, match="24 values"):
        MetroFeed(name="x", plaza="*", trains_per_hour=[10] * 12)


def test_durations_and_selectors() -> None:
    assert parse_duration("5min") == 300.0 and parse_duration("2h") == 7200.0
    feed = MetroFeed(name="x", plaza="kind:square", walk_s="2min")
    assert feed.walk_s == 120.0
    with pytest.raises(ValidationError, match="unknown plaza kind"):
        MetroFeed(name="x", plaza="kind:stadium")
    with pytest.raises(ValidationError, match="not a duration"):
        BackgroundFlow(name="x", dwell_s="ten minutes")


def test_event_validation() -> None:
    ok = {"name": "e", "plaza": "p", "start": "2024-06-01T19:00", "end": "2024-06-01T21:00",
          "attendance": 100}  # fmt: skip
    assert CrowdEvent.model_validate(ok).arrival_window_s == 7200.0
    with pytest.raises(ValidationError, match="must come after start"):
        CrowdEvent.model_validate({**ok, "end": "2024-06-01T18:00"})
    with pytest.raises(ValidationError, match="not a selector"):
        CrowdEvent.model_validate({**ok, "plaza": "*"})
    with pytest.raises(ValidationError, match="greater than 0"):
        CrowdEvent.model_validate({**ok, "attendance": 0})


def test_unique_names() -> None:
    feed = MetroFeed(name="L1", plaza="*")
    with pytest.raises(ValidationError, match="repeated: L1"):
        CrowdConfig(metro=(feed, feed))


def test_interventions_by_kind() -> None:
    adapter: TypeAdapter[Intervention] = TypeAdapter(Intervention)
    iv = adapter.validate_python(
        {"kind": "open_exits", "plaza": "p", "start": "1h", "widths_m": [3]}
    )
    assert isinstance(iv, OpenExits) and iv.start == 3600.0 and iv.end is None
    hold = adapter.validate_python(
        {"kind": "hold_trains", "plaza": "p", "start": 0, "end": "10min", "max_per_min": 50}
    )
    assert isinstance(hold, HoldTrains) and hold.release_per_min is None
    staff = adapter.validate_python({"kind": "send_staff", "plaza": "p", "start": 60, "staff": 4})
    assert isinstance(staff, SendStaff)
    with pytest.raises(ValidationError, match="must come after start"):
        adapter.validate_python({"kind": "hold_trains", "plaza": "p", "start": 60, "end": 60,
                                 "max_per_min": 1})  # fmt: skip
    with pytest.raises(ValidationError, match="finite and > 0"):
        adapter.validate_python({"kind": "open_exits", "plaza": "p", "start": 0, "widths_m": [0]})
    cfg = CrowdConfig.model_validate({"interventions": [{"kind": "send_staff", "plaza": "p",
                                                         "start": 0, "staff": 2}]})  # fmt: skip
    assert isinstance(cfg.interventions[0], SendStaff)


def test_alert_threshold_default_is_fruin_walkway_e() -> None:
    assert CrowdConfig().alerts.density_threshold == pytest.approx(density_threshold("E"), abs=1e-3)
