"""Scenario schema and YAML loading: good files load, bad files say where and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.errors import ScenarioError
from twin.scenario import POLICIES, load_scenario, parse_duration, validate_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))

GOOD = """\
name: tiny
start: "2026-06-01T08:00:00"
horizon: 2h
seed: 3
cases:
  daily_total: 200
crews:
  count: 12
dispatch:
  policy: nearest_idle
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_shipped_scenario_loads() -> None:
    assert SCENARIOS, "scenarios/ holds no YAML file"
    for path in SCENARIOS:
        s = load_scenario(path)
        assert s.start.tzinfo is not None
        assert s.horizon > 0


def test_naive_start_is_local_time(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, GOOD))
    assert s.start.utcoffset().total_seconds() == 8 * 3600  # Asia/Shanghai
    assert s.horizon == 7200.0
    assert s.crews.count == 12


def test_scenario_is_frozen(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, GOOD))
    with pytest.raises(Exception, match="frozen"):
        s.seed = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("90", 90.0),
        ("45s", 45.0),
        ("5min", 300.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1.5h", 5400.0),
    ],
)
def test_parse_duration(text: str, unit: float) -> None:
    assert parse_duration(text if not text.isdigit() else int(text)) == unit


@pytest.mark.parametrize("bad", ["5 weeks", "soon", "-3min", True])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("patch", "line", "field", "words"),
    [
        ("crews:\n  count: 12\n  colour: red\n", 9, "crews.colour", "unknown field"),
        ("crews:\n  count: twelve\n", 8, "crews.count", "integer"),
        ("cases:\n  daily_total: -50\n", 6, "cases.daily_total", "greater than 0"),
        ("dispatch:\n  policy: teleport\n", 10, "dispatch.policy", "choose one of"),
        ("crews:\n  count: 12\n  skills: {enforcement: 0.5}\n", 9, "crews.skills", "add up to 1"),
    ],
)
def test_bad_fields_point_at_file_line_field(
    tmp_path: Path, patch: str, line: int, field: str, words: str
) -> None:
    section = patch.split(":")[0]
    # Replace the section of GOOD that the patch redefines.
    lines = GOOD.splitlines(keepends=True)
    start = next(i for i, x in enumerate(lines) if x.startswith(section + ":"))
    end = start + 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    text = "".join(lines[:start]) + patch + "".join(lines[end:])
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert str(path) in msg
    assert field in msg
    assert words in msg
    reported = int(msg.split(f"{path}:")[1].split(":")[0])
    assert text.splitlines()[reported - 1].strip().startswith(field.split(".")[-1])


def test_missing_required_field(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="start: required field is missing"):
        load_scenario(write(tmp_path, "name: x\n"))


def test_not_yaml_and_not_mapping(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"s\.yaml:2: not valid YAML"):
        load_scenario(write(tmp_path, "name: x\n  - : [\n"))
    with pytest.raises(ScenarioError, match="must be a mapping"):
        load_scenario(write(tmp_path, "- a\n- b\n"))


def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario("does/not/exist.yaml")


def test_unknown_timezone_and_bad_clock() -> None:
    with pytest.raises(ScenarioError, match="unknown time zone"):
        validate_scenario({"name": "x", "start": "2026-06-01T00:00:00", "timezone": "Mars/Olympus"})
    shifts = [{"name": "a", "start": "25:00", "hours": 8, "share": 1.0}]
    with pytest.raises(ScenarioError, match="clock time"):
        validate_scenario({"name": "x", "start": "2026-06-01", "crews": {"shifts": shifts}})


def test_with_updates_validates() -> None:
    s = validate_scenario({"name": "x", "start": "2026-06-01T00:00:00"})
    for policy in POLICIES:
        assert s.with_updates(**{"dispatch.policy": policy}).dispatch.policy == policy
    with pytest.raises(ScenarioError, match="unknown policy"):
        s.with_updates(**{"dispatch.policy": "random"})
    with pytest.raises(ScenarioError, match="no such field"):
        s.with_updates(**{"dispatch.colour": 1})
    assert s.dispatch.policy == "nearest_idle"  # the original is unchanged
