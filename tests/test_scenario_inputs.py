"""Bad scenario inputs: files that are not UTF-8 text, seeds, start offsets vs timezone."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.errors import ArgumentError, ScenarioError
from twin.scenario import load_scenario, validate_scenario
from twin.seeds import MAX_SEED, check_seed

GOOD = 'name: x\nstart: "2026-06-01T08:00:00"\nhorizon: 1h\n'


def test_binary_file(tmp_path: Path) -> None:
    f = tmp_path / "photo.yaml"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xd8 binary")
    with pytest.raises(
        ScenarioError, match=r"photo\.yaml:1: not a text file \(byte 0x89 at offset 0\)"
    ):
        load_scenario(f)


def test_gbk_file_says_to_save_as_utf8(tmp_path: Path) -> None:
    f = tmp_path / "gbk.yaml"
    f.write_bytes('name: x\nstart: "2026-06-01"\ndescription: 拱墅区\n'.encode("gbk"))
    with pytest.raises(ScenarioError, match=r"gbk\.yaml:3: .*not UTF-8.*GBK.*save it as UTF-8"):
        load_scenario(f)


def test_control_characters(tmp_path: Path) -> None:
    f = tmp_path / "nul.yaml"
    f.write_bytes(b"name: x\n\x00\x01\n")
    with pytest.raises(ScenarioError, match=r"nul\.yaml:2: not a text file \(control character"):
        load_scenario(f)


def test_utf8_with_bom_and_chinese_is_fine(tmp_path: Path) -> None:
    f = tmp_path / "ok.yaml"
    f.write_bytes("\ufeff".encode() + (GOOD + "description: 拱墅区\n").encode("utf-8"))
    assert load_scenario(f).description == "拱墅区"


def test_seed_out_of_range_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(GOOD + "seed: 99999999999999999999\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml:4: seed: .*less than or equal to"):
        load_scenario(f)
    assert validate_scenario({"name": "x", "start": "2026-06-01", "seed": MAX_SEED}).seed


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 99999999999999999999])
def test_check_seed(seed: int) -> None:
    with pytest.raises(ArgumentError, match=r"--seed .*from 0 to 9223372036854775807"):
        check_seed(seed, "--seed")


def test_check_seed_counts_the_replications() -> None:
    assert check_seed(MAX_SEED) == MAX_SEED
    with pytest.raises(ArgumentError, match=r"seed \+ 4 for the replications"):
        check_seed(MAX_SEED, runs=5)


def test_start_offset_conflicting_with_timezone(tmp_path: Path) -> None:
    f = tmp_path / "tz.yaml"
    f.write_text('name: x\ntimezone: Asia/Shanghai\nstart: "2026-06-01T08:00:00+00:00"\n')
    with pytest.raises(
        ScenarioError, match=r"tz\.yaml:3: start: .*UTC offset \+00:00, but timezone Asia/"
        r"Shanghai is at \+08:00"
    ):  # fmt: skip
        load_scenario(f)


def test_start_offset_conflicting_with_the_default_timezone() -> None:
    with pytest.raises(ScenarioError, match="set timezone to the zone you meant"):
        validate_scenario({"name": "x", "start": "2026-06-01T00:00:00Z"})


def test_start_offset_of_the_zone_is_kept_in_the_zone() -> None:
    s = validate_scenario({"name": "x", "start": "2026-06-01T08:00:00+08:00"})
    assert str(s.start.tzinfo) == "Asia/Shanghai" and s.start.hour == 8
    utc = validate_scenario({"name": "x", "start": "2026-06-01T00:00Z", "timezone": "UTC"})
    assert utc.start.isoformat() == "2026-06-01T00:00:00+00:00"


def test_start_offset_follows_daylight_saving() -> None:
    summer = {"name": "x", "timezone": "Europe/Berlin", "start": "2026-07-01T08:00:00+02:00"}
    assert validate_scenario(summer).start.hour == 8
    with pytest.raises(ScenarioError, match=r"\+02:00, but timezone Europe/Berlin is at \+01:00"):
        validate_scenario(summer | {"start": "2026-01-15T08:00:00+02:00"})


def test_naive_start_is_local_time() -> None:
    s = validate_scenario({"name": "x", "start": "2026-06-01T08:00:00", "timezone": "UTC"})
    assert s.start.isoformat() == "2026-06-01T08:00:00+00:00"
    assert s.with_updates(seed=3).start == s.start


def test_replay_strict_is_a_field() -> None:
    s = validate_scenario(
        {"name": "x", "start": "2026-06-01", "cases": {"replay": {"path": "a.csv"}}}
    )
    assert s.cases.replay is not None and s.cases.replay.strict is False
    assert s.with_updates(**{"cases.replay.strict": True}).cases.replay.strict  # type: ignore[union-attr]
