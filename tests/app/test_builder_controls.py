"""The builder's crowd events, storms (catalogue, design, radar) and muck trucks.

Each is written into the scenario file's own mapping, validated with the CLI's messages,
and runs: a radar storm built this way is run here; crowds, a catalogue storm and trucks
are run from the browser in ``test_browser_i18n.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dash_app import schema
from dash_app.crowd_events import new_event, plazas
from dash_app.jobs import JobRunner
from twin.hydro.radar.events import EVENT_NAMES
from twin.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "gongshu_baseline_day.yaml"


@pytest.fixture(scope="module")
def raw() -> dict[str, object]:
    return schema.read_raw(BASELINE)


def test_fleets_scale_in_proportion_and_keep_one_truck_each() -> None:
    assert schema.scaled_fleets([100, 90, 80, 50], 320) == [100, 90, 80, 50]
    scaled = schema.scaled_fleets([100, 90, 80, 50], 40)
    assert sum(scaled) == 40 and scaled == sorted(scaled, reverse=True) and min(scaled) >= 1
    assert schema.scaled_fleets([100, 1], 3) == [2, 1]
    with pytest.raises(ValueError, match="at least 4 trucks"):
        schema.scaled_fleets([100, 90, 80, 50], 3)


def test_the_truck_fields(raw: dict[str, object]) -> None:
    edits = {"trucks.enabled": True, "trucks.fleet": 40, "trucks.site_hours": "20:00-06:00"}
    scenario, data, message = schema.validate_edits(raw, edits)
    assert message is None and scenario is not None
    assert scenario.trucks.enabled and scenario.trucks.site_hours == "20:00-06:00"
    assert sum(c.trucks for c in scenario.trucks.companies) == 40
    assert "fleet" not in data["trucks"]  # written as the companies' fleets
    for bad, needle in ((0, "at least 4 trucks"), ("many", "whole number"), (None, "empty")):
        _, _, message = schema.validate_edits(raw, {"trucks.fleet": bad})
        assert message is not None and needle in schema.errors_by_field(message)["trucks.fleet"][0]
    _, _, message = schema.validate_edits(raw, {"trucks.site_hours": "25:00-06:00"})
    assert message is not None and "trucks.site_hours" in schema.errors_by_field(message)
    fleet = next(s for s in schema.builder_fields(load_scenario(BASELINE))
                 if s.path == "trucks.fleet")  # fmt: skip
    assert fleet.kind == "int" and fleet.lower == 1.0
    assert schema.initial_text(fleet, raw, load_scenario(BASELINE)) == "320"


def test_the_radar_event_is_a_choice_of_the_shipped_events(raw: dict[str, object]) -> None:
    spec = schema.field_spec("rain.radar.event", "Radar event", "Storm")
    assert spec.kind == "choice" and spec.options == tuple(EVENT_NAMES)
    assert schema.initial_text(spec, raw, load_scenario(BASELINE)) is None
    _, _, message = schema.validate_edits(raw, {"rain.kind": "radar"})
    assert message is not None and "radar" in message  # kind radar needs an event
    edits = {"rain.kind": "radar", "rain.radar.event": EVENT_NAMES[0]}
    scenario, _, message = schema.validate_edits(raw, edits)
    assert message is None and scenario is not None
    assert scenario.rain.radar is not None and scenario.rain.radar.event == EVENT_NAMES[0]


def test_a_crowd_event_from_the_form(raw: dict[str, object]) -> None:
    ids = [p for p, _ in plazas()]
    assert "plaza-wulin-square" in ids
    event, errors = new_event(
        "plaza-wulin-square", "2026-06-01T19:30", "150min", "30000", raw=raw, added=0
    )
    assert errors == {} and event is not None
    assert event["end"] == "2026-06-01T22:00:00" and event["attendance"] == 30000
    scenario, _, message = schema.validate_edits(raw, {}, crowd_events=[event])
    assert message is None and scenario is not None and scenario.crowds.enabled
    assert [e.plaza for e in scenario.crowds.events] == ["plaza-wulin-square"]
    assert "crowds" not in raw  # the file's own mapping is not changed
    # Each bad value is marked on its own field.
    _, errors = new_event(None, "tomorrow", "-1h", "-5", raw=raw)
    assert set(errors) == {"plaza", "start", "duration", "attendance"}
    assert "2026-06-01T19:30" in errors["start"]
    _, errors = new_event("plaza-nowhere", "2026-06-01T19:30", "2h", "", raw=raw)
    assert "no plaza" in errors["plaza"] and "empty" in errors["attendance"]
    _, errors = new_event("plaza-wulin-square", "2026-06-01T19:30", "2h", "-5", raw=raw)
    assert list(errors) == ["attendance"] and "greater than 0" in errors["attendance"]


def test_a_radar_storm_built_in_the_builder_runs(raw: dict[str, object]) -> None:
    edits = {
        "horizon": "2h",
        "start": "2026-06-01T08:00:00",
        "cases.daily_total": 1200,
        "rain.kind": "radar",
        "rain.radar.event": "mrms-20190610",
        "rain.start": "30min",
    }
    scenario, _, message = schema.validate_edits(raw, edits)
    assert message is None and scenario is not None
    runner = JobRunner(keep=2)
    try:
        job = runner.submit_run(scenario, base_dir=BASELINE.parent)
        done = runner.wait(job.id, timeout=600)
        assert done.status == "done", done.error
        assert done.result is not None and done.result.kpi("rain_depth") > 0
        assert "water_depth" in done.result.dataset
    finally:
        runner.shutdown()


def test_storm_and_truck_fields_apply_to_their_kind() -> None:
    design = {"rain.kind": "design_storm", "trucks.enabled": []}
    assert schema.applies("rain.design_storm.return_period", design)
    assert not schema.applies("rain.event", design)
    assert not schema.applies("rain.radar.event", design)
    assert schema.applies("rain.start", design)
    assert not schema.applies("trucks.fleet", design)
    assert schema.applies("trucks.enabled", design)
    radar = {"rain.kind": "radar", "trucks.enabled": ["on"]}
    assert schema.applies("rain.radar.event", radar)
    assert not schema.applies("rain.design_storm.duration", radar)
    assert schema.applies("trucks.site_hours", radar)
    assert not schema.applies("rain.start", {"rain.kind": "none"})
    assert schema.applies("crews.count", {"rain.kind": "none"})
    assert schema.applies("rain.event", {})  # no switch in the form: shown
