"""The builder's fields come from the scenario schema; its messages are the CLI's."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dash_app import schema
from twin.errors import ScenarioError
from twin.scenario import POLICIES, Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BASELINE = SCENARIOS / "gongshu_baseline_day.yaml"
EVENT = SCENARIOS / "gongshu_event_night.yaml"


def test_field_specs_come_from_the_schema() -> None:
    daily = schema.field_spec("cases.daily_total", "Cases per day", "Cases")
    assert daily.kind == "float"
    assert daily.lower == 0.0 and daily.lower_strict and daily.upper is None
    assert daily.description == "expected cases per day"
    assert daily.bounds_text == "> 0"

    crews = schema.field_spec("crews.count", "Crew members", "Fleet")
    assert (crews.kind, crews.lower, crews.lower_strict, crews.default) == ("int", 1.0, False, 150)

    share = schema.field_spec("cases.hotspots.share", "Share", "Cases")
    assert (share.lower, share.upper) == (0.0, 1.0)
    assert share.bounds_text == "0 ≤ value ≤ 1"

    horizon = schema.field_spec("horizon", "Horizon", "Scenario")
    assert horizon.kind == "duration" and horizon.lower_strict  # PositiveDuration
    start = schema.field_spec("rain.start", "Rain starts after", "Storm")
    assert start.kind == "duration" and not start.lower_strict  # Duration (≥ 0)

    kind = schema.field_spec("rain.kind", "Rain", "Storm")
    assert kind.kind == "choice"
    assert kind.options == ("none", "design_storm", "event", "file", "radar")
    policy = schema.field_spec("dispatch.policy", "Policy", "Dispatch")
    assert policy.kind == "choice" and policy.options == POLICIES

    period = schema.field_spec("rain.design_storm.return_period", "P", "Storm")
    assert "[years]" in period.description

    attendance = schema.field_spec("crowds.events.0.attendance", "Attendance", "Crowds")
    assert attendance.kind == "float" and attendance.lower_strict

    with pytest.raises(KeyError):
        schema.field_spec("cases.no_such_field", "x", "y")


def test_builder_fields_follow_the_scenario() -> None:
    baseline = load_scenario(BASELINE)
    paths = [s.path for s in schema.builder_fields(baseline)]
    assert "crews.count" in paths and "dispatch.policy" in paths
    assert "rain.design_storm.return_period" in paths
    assert not any(p.startswith("crowds.") for p in paths)  # no crowds in this scenario

    event = load_scenario(EVENT)
    specs = schema.builder_fields(event)
    crowd = [s for s in specs if s.path.startswith("crowds.events.")]
    assert [s.path for s in crowd] == ["crowds.events.0.attendance", "crowds.events.0.metro_share"]
    assert "concert on Wulin Square" in crowd[0].label
    every = {path for _, fields in schema.FIELD_GROUPS for path, _ in fields}
    for path in every:  # every curated path is a real field of the schema
        if path.startswith("trucks.") and "trucks" not in Scenario.model_fields:
            continue  # the muck-truck section is newer than this schema
        schema.field_spec(path.replace("{i}", "0"), path, "")


def test_initial_text_keeps_what_the_file_says() -> None:
    scenario, raw = load_scenario(BASELINE), schema.read_raw(BASELINE)
    horizon = schema.field_spec("horizon", "", "")
    assert schema.initial_text(horizon, raw, scenario) == "24h"
    arrive = schema.field_spec("targets.arrive", "", "")
    assert schema.initial_text(arrive, raw, scenario) == "5min"
    rain_start = schema.field_spec("rain.start", "", "")  # not in the file: the default
    assert schema.initial_text(rain_start, raw, scenario) == "8h"
    policy = schema.field_spec("dispatch.policy", "", "")
    assert schema.initial_text(policy, raw, scenario) == "nearest_idle"
    assert schema.format_duration(90.0) == "90s"
    assert schema.format_duration(5400.0) == "90min"


def test_values_are_read_as_yaml_reads_them() -> None:
    number = schema.field_spec("cases.daily_total", "", "")
    assert schema.parse_value(number, "12") == 12
    assert schema.parse_value(number, " 1.5 ") == 1.5
    assert schema.parse_value(number, "") is None
    assert schema.parse_value(number, "abc") == "abc"
    duration = schema.field_spec("horizon", "", "")
    assert schema.parse_value(duration, "2h") == "2h"
    assert schema.parse_value(duration, "7200") == 7200
    text = schema.field_spec("name", "", "")
    assert schema.parse_value(text, "123") == "123"  # free text stays text


def test_messages_are_the_clis_and_land_on_their_field(tmp_path: Path) -> None:
    raw = schema.read_raw(BASELINE)
    edits = {"cases.daily_total": -3, "crews.count": 0, "horizon": "2h"}
    scenario, data, message = schema.validate_edits(raw, edits)
    assert scenario is None and message is not None
    assert raw["cases"]["daily_total"] == 1500  # the file's mapping is not changed
    by_field = schema.errors_by_field(message)
    assert by_field == {
        "cases.daily_total": ["Input should be greater than 0 (got -3)"],
        "crews.count": ["Input should be greater than or equal to 1 (got 0)"],
    }
    # The same edits in a file give the same messages from the CLI's loader.
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    for field, messages in by_field.items():
        assert f": {field}: {messages[0]}" in str(err.value)


def test_section_and_choice_messages() -> None:
    raw = schema.read_raw(BASELINE)
    _, _, message = schema.validate_edits(
        raw, {"hydro.impeded_depth": 0.3, "hydro.closed_depth": 0.2, "dispatch.policy": "fastest"}
    )
    assert message is not None
    by_field = schema.errors_by_field(message)
    assert by_field["hydro"] == ["closed_depth (0.2 m) must exceed impeded_depth (0.3 m)"]
    assert by_field["dispatch.policy"][0].startswith("unknown policy 'fastest'; choose one of")
    # a message without a field is kept whole
    assert schema.errors_by_field("<builder>: a scenario must be a mapping") == {
        "": ["a scenario must be a mapping"]
    }


def test_edits_add_missing_sections_and_list_items() -> None:
    raw = schema.read_raw(BASELINE)
    data = schema.apply_edits(raw, {"rain.design_storm.return_period": 50, "rain.kind": "x"})
    assert data["rain"] == {"design_storm": {"return_period": 50}, "kind": "x"}
    assert "rain" not in raw
    event = schema.read_raw(EVENT)
    data = schema.apply_edits(event, {"crowds.events.0.attendance": 5000})
    assert data["crowds"]["events"][0]["attendance"] == 5000
    assert event["crowds"]["events"][0]["attendance"] == 30000


def test_saved_yaml_loads_back(tmp_path: Path) -> None:
    raw = schema.read_raw(BASELINE)
    edits = {"crews.count": 120, "dispatch.policy": "fixed_zones", "name": "fewer_crews"}
    scenario, data, message = schema.validate_edits(raw, edits)
    assert message is None and scenario is not None
    text = schema.scenario_yaml(data, based_on=BASELINE.name, changed=edits)
    assert text.startswith("# Saved from the twin app")
    path = tmp_path / schema.safe_file_name("fewer_crews")
    path.write_text(text, encoding="utf-8")
    assert load_scenario(path) == scenario
    assert load_scenario(path).crews.count == 120


@pytest.mark.parametrize("name", ["", "../evil", "a/b", "bad name", ".hidden"])
def test_unsafe_file_names_are_refused(name: str) -> None:
    with pytest.raises(ScenarioError, match="file name"):
        schema.safe_file_name(name)


def test_file_names_get_yaml_suffix() -> None:
    assert schema.safe_file_name("my_storm-day") == "my_storm-day.yaml"
    assert schema.safe_file_name("storm.yaml") == "storm.yaml"


def test_an_empty_field_is_said_to_be_empty() -> None:
    raw = schema.read_raw(BASELINE)
    _, _, message = schema.validate_edits(raw, {"crews.count": None})
    assert message is not None
    by_field = schema.errors_by_field(message)
    assert by_field["crews.count"] == ["Input should be a valid integer (the field is empty)"]
    assert "got None" not in str(by_field)


def test_a_made_up_storm_event_is_marked_before_running() -> None:
    raw = schema.read_raw(BASELINE)
    events = ["S40-20170618T0045Z", "S113-20170122T1400Z", "S77-20170122T0250Z", "S1-x"]
    edits = {"rain.kind": "event", "rain.event": "no-such-storm"}
    scenario, _, message = schema.validate_edits(raw, edits, events=events)
    assert scenario is None and message is not None
    (text,) = schema.errors_by_field(message)["rain.event"]
    assert text.startswith("no event 'no-such-storm' in the storm catalogue")
    assert "S40-20170618T0045Z" in text and "S1-x" not in text  # the three deepest
    good = {"rain.kind": "event", "rain.event": "S77-20170122T0250Z"}
    scenario, _, message = schema.validate_edits(raw, good, events=events)
    assert message is None and scenario is not None and scenario.rain.event == good["rain.event"]
    # not checked without the catalogue (the schema alone lets any name through)
    assert schema.validate_edits(raw, edits)[2] is None
