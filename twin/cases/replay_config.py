"""Replay settings: find the case file, read a replay block from YAML, check the mapping.

The settings are a :class:`~twin.scenario.ReplayConfig` (see :mod:`twin.cases.replay`
for what each field means); the scenario's ``cases.replay`` may name a YAML file that
holds the block.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from twin.cases.categories import CategoryTable
from twin.errors import ScenarioError
from twin.network.build import data_dir
from twin.scenario import ReplayConfig
from twin.yamlconfig import format_validation_errors, read_yaml

__all__ = [
    "MAPPING_KEYS",
    "MAX_LISTED",
    "check_replay_config",
    "load_replay_config",
    "resolve_path",
]

#: Keys of ``ReplayConfig.mapping``.
MAPPING_KEYS = ("time", "category", "lon", "lat", "source", "id")
#: Most examples listed in one message.
MAX_LISTED = 5


def resolve_path(path: str | Path, *, base_dir: str | Path | None = None) -> Path:
    """Find a replay file.

    An absolute path is taken as is; a relative one is looked for under ``base_dir``,
    the working directory, the repository root and the data folder, in that order.

    Raises
    ------
    ScenarioError
        If no candidate exists; the message lists the places tried.
    """
    p = Path(path)
    if p.is_absolute():
        candidates = [p]
    else:
        roots = [Path(base_dir)] if base_dir is not None else []
        roots += [Path.cwd(), data_dir().parent, data_dir()]
        candidates = [r / p for r in roots]
    for c in candidates:
        if c.is_file():
            return c
    raise ScenarioError(
        f"{path}: no such case file (tried {', '.join(str(c) for c in candidates)}). "
        "Give a path relative to the scenario, the working directory or the repository."
    )


def load_replay_config(path: str | Path) -> ReplayConfig:
    """Read a replay block (``path``, ``mapping``, ``category_map``, ...) from a YAML file.

    A relative ``path`` inside the file that exists beside the YAML file is made
    absolute; otherwise it is resolved later by :func:`resolve_path`.

    Raises
    ------
    ScenarioError
        If the file is missing, is not YAML, or does not follow
        :class:`~twin.scenario.ReplayConfig`.
    """
    path = Path(path)
    data, lines = read_yaml(
        path,
        ScenarioError,
        what="replay mapping",
        missing="give the YAML file that holds the replay block (path, mapping, ...)",
    )
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a replay mapping must be a YAML mapping of fields.")
    csv_path = data.get("path")
    if isinstance(csv_path, str) and not Path(csv_path).is_absolute():
        beside = path.parent / csv_path
        if beside.is_file():
            data["path"] = str(beside.resolve())
    try:
        return ReplayConfig.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_errors(exc, str(path), lines)) from None


def check_replay_config(replay: ReplayConfig, table: CategoryTable) -> None:
    """Check the mapping's keys and that every ``category_map`` value is a known code.

    Raises
    ------
    ScenarioError
        An unknown or missing mapping key, or a category code ``table`` does not have.
    """
    unknown = sorted(set(replay.mapping) - set(MAPPING_KEYS))
    if unknown:
        raise ScenarioError(
            f"replay.mapping: unknown key(s) {', '.join(map(repr, unknown))}; allowed: "
            f"{', '.join(MAPPING_KEYS)} (each mapped to a CSV column name)"
        )
    required = ["time", "category"] + (["lon", "lat"] if replay.relocate != "sample" else [])
    missing = [k for k in required if not replay.mapping.get(k)]
    if missing:
        raise ScenarioError(
            f"replay.mapping: missing key(s) {', '.join(map(repr, missing))}; map each to the "
            f"CSV column that holds it (lon/lat are optional only with relocate: sample)"
        )
    bad = {raw: code for raw, code in replay.category_map.items() if not table.has_code(code)}
    if bad:
        listed = ", ".join(f"{r!r} → {c!r}" for r, c in list(bad.items())[:MAX_LISTED])
        raise ScenarioError(
            f"replay.category_map: {len(bad)} value(s) map to no category of "
            f"{table.source}: {listed}; known codes: {', '.join(table.codes())}"
        )
