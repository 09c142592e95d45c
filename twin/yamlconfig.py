"""YAML configuration files: one reader, one frozen base model, line-numbered errors.

Shared by the scenario loader (:mod:`twin.scenario`) and the live service's config
(:mod:`twin.live.config`): :func:`read_yaml` parses a file and maps every key path of the
document to its line; pydantic errors are rewritten as
``file:line: field: message (got value)``; every configuration section derives from
:class:`Frozen` (immutable, unknown fields rejected).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ["Frozen", "format_validation_errors", "read_yaml", "validate_model", "yaml_line_index"]


M = TypeVar("M", bound=BaseModel)


class Frozen(BaseModel):
    """Base of every configuration section: immutable, and unknown fields are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def read_yaml(
    path: Path, error: type[Exception], *, what: str, missing: str
) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse a YAML file into its data and the line of every key path.

    Parameters
    ----------
    path
        The file.
    error
        The exception class raised (a :class:`~twin.errors.TwinError` subclass).
    what
        What the file is, for the message (``"scenario"``, ``"config"``).
    missing
        What to do when the file does not exist (appended to the message).

    Raises
    ------
    error
        The file is missing or is not YAML (with the line of the problem).
    """
    if not path.is_file():
        raise error(f"{path}: no such {what} file; {missing}")
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise error(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)}).") from None
    return data, yaml_line_index(node)


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


def validate_model(
    model: type[M],
    data: Any,
    error: type[Exception],
    *,
    where: str,
    what: str,
    lines: dict[tuple[Any, ...], int] | None = None,
) -> M:
    """Validate a mapping as ``model``, raising ``error`` with line-numbered messages.

    Parameters
    ----------
    model
        The pydantic model.
    data
        The parsed document.
    error
        The exception class raised.
    where
        The file (or a label) the data came from.
    what
        What the document is, for the message ("a scenario").
    lines
        Line of every key path (:func:`read_yaml`).
    """
    if not isinstance(data, dict):
        raise error(f"{where}: {what} must be a mapping of fields, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(format_validation_errors(exc, where, lines or {})) from None
