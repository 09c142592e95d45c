"""Line-numbered validation errors for YAML configuration files.

Shared by the scenario loader (:mod:`twin.scenario`) and the live service's config
(:mod:`twin.live.config`): every key path of a YAML document is mapped to its line, and
pydantic errors are rewritten as ``file:line: field: message (got value)``.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

__all__ = ["format_validation_errors", "yaml_line_index"]


def yaml_line_index(
    node: yaml.Node | None,
    path: tuple[Any, ...] = (),
    out: dict[tuple[Any, ...], int] | None = None,
) -> dict[tuple[Any, ...], int]:
    """Map every key path of a composed YAML document to its line (1-based)."""
    out = {} if out is None else out
    if node is None:
        return out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            yaml_line_index(value_node, (*path, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yaml_line_index(item, (*path, i), out)
    return out


def format_validation_errors(
    exc: ValidationError, where: str, lines: dict[tuple[Any, ...], int]
) -> str:
    """One ``where:line: field: message (got value)`` part per error, joined by ``; ``."""
    parts = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        # Walk up to the nearest located ancestor (a missing field has no line of its own).
        line = None
        for cut in range(len(loc), -1, -1):
            if loc[:cut] in lines:
                line = lines[loc[:cut]]
                break
        field = ".".join(str(x) for x in loc) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check its spelling; unknown fields are not allowed)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        got = err.get("input")
        got_txt = "" if err["type"] == "missing" or isinstance(got, dict) else f" (got {got!r})"
        prefix = f"{where}:{line}" if line is not None else where
        parts.append(f"{prefix}: {field}: {msg}{got_txt}")
    return "; ".join(parts)
