"""Scenario files of the builder: read a file's own mapping, name and write a saved one."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from twin.errors import ScenarioError

__all__ = ["read_raw", "safe_file_name", "scenario_yaml"]


def read_raw(path: Path) -> dict[str, Any]:
    """A scenario file's own mapping (as YAML reads it), for editing and saving."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario must be a mapping of fields")
    return data


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")


def safe_file_name(name: str) -> str:
    """A scenario file name from user input: letters, digits, ``_ - .``; ends in ``.yaml``.

    Raises
    ------
    ScenarioError
        The name is empty, has a path separator or other characters.
    """
    stem = name.strip().removesuffix(".yaml").removesuffix(".yml")
    if not _NAME.match(stem) or ".." in stem:
        raise ScenarioError(
            f"file name {name!r}: use letters, digits, '_', '-' or '.', e.g. my_storm_day"
        )
    return f"{stem}.yaml"


def scenario_yaml(data: dict[str, Any], *, based_on: str, changed: dict[str, Any]) -> str:
    """The text of a saved scenario: a header comment and the mapping as block YAML."""
    lines = [
        f"# Saved from the twin app on {datetime.now():%Y-%m-%d %H:%M}, based on {based_on}.",
    ]
    if changed:
        lines.append("# Changed: " + ", ".join(f"{k} = {v!r}" for k, v in changed.items()))
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return "\n".join(lines) + "\n" + body
