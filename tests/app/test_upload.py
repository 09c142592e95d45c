"""A scenario uploaded in the builder is checked as ``twin run`` checks it, then saved."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from dash_app.upload import save_upload
from twin.errors import ScenarioError
from twin.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "gongshu_baseline_day.yaml"


def _contents(raw: bytes) -> str:
    return "data:application/x-yaml;base64," + base64.b64encode(raw).decode()


def test_a_valid_scenario_is_saved_under_its_name(tmp_path: Path) -> None:
    raw = BASELINE.read_bytes()
    path = save_upload(_contents(raw), "my_day.yml", tmp_path)
    assert path == tmp_path / "my_day.yaml" and path.read_bytes() == raw
    assert load_scenario(path).name == load_scenario(BASELINE).name
    with pytest.raises(ScenarioError, match="already exists"):
        save_upload(_contents(raw), "my_day.yaml", tmp_path)  # never overwritten


def test_an_invalid_scenario_gets_the_cli_message_and_is_not_saved(tmp_path: Path) -> None:
    data = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    data["cases"]["daily_total"] = -3
    raw = yaml.safe_dump(data).encode()
    with pytest.raises(ScenarioError) as err:
        save_upload(_contents(raw), "bad_day.yaml", tmp_path)
    message = str(err.value)
    assert message.startswith("bad_day.yaml:") and "cases.daily_total" in message
    assert "(got -3)" in message
    assert not (tmp_path / "bad_day.yaml").exists()
    with pytest.raises(ScenarioError, match="file name"):
        save_upload(_contents(raw), "bad day!.yaml", tmp_path)
    with pytest.raises(ScenarioError, match="could not be read"):
        save_upload("data:,@@not base64@@", "x.yaml", tmp_path)
