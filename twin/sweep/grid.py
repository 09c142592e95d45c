"""Parameter grids: which scenario fields a sweep varies, and over which values.

A grid is a list of *axes*, one per swept field, each named by the field's dotted path in
the scenario (``dispatch.policy``, ``crews.count``, ``rain.scale``) with the values to try.
Values are typed by validating them through the :class:`~twin.scenario.Scenario` schema,
so ``crews.count=100`` becomes the integer 100 and ``horizon=6h`` becomes 21,600.0 [s],
and a wrong path or value is a :class:`~twin.errors.ScenarioError` that names the
parameter and what is allowed, before any run starts.

The grid's points are the Cartesian product of its axes. Replication ``r`` of every point
runs with seed ``scenario.seed + r``, so all points share their random numbers (common
random numbers), as in :mod:`twin.run.compare`.

Each run has a *key*: a readable slug of its parameters and replication plus a short
hash of the exact scenario it runs (after the grid's changes, with its seed). The key
names its result folder, and a sweep rerun into the same folder reuses a finished run
only when the key matches, that is, when the run would be the very same.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from twin.errors import ScenarioError
from twin.scenario import Scenario

__all__ = [
    "Grid",
    "GridAxis",
    "GridPoint",
    "make_grid",
    "parse_grid",
    "parse_grid_option",
    "run_key",
    "scenario_hash",
]

#: Fields that a grid may not sweep, with the reason.
FORBIDDEN: dict[str, str] = {
    "seed": "seeds are set per replication (seed + replication); use --replications instead",
    "name": "the name labels the sweep; sweep the fields that change the model instead",
}
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")
_SCALARS = (bool, int, float, str, type(None))


@dataclass(frozen=True)
class GridAxis:
    """One swept scenario field and its values.

    Attributes
    ----------
    path
        The field's dotted path in the scenario, e.g. ``"dispatch.policy"``.
    values
        The values as the scenario holds them after validation (``int``, ``float``
        [the field's unit, durations in s], ``str``, ``bool`` or ``None``).
    labels
        The values as text, as written on the command line where they came from there.
    """

    path: str
    values: tuple[Any, ...]
    labels: tuple[str, ...]

    @property
    def name(self) -> str:
        """The field's own name: the last part of ``path``."""
        return self.path.rsplit(".", 1)[-1]

    @property
    def numeric(self) -> bool:
        """Whether every value is a number (``bool`` and ``None`` are not)."""
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)

    def coordinate(self) -> list[Any]:
        """Values for an xarray coordinate: numbers or strings, one type per axis."""
        if self.numeric or all(isinstance(v, str) for v in self.values):
            return list(self.values)
        return list(self.labels)


@dataclass(frozen=True)
class GridPoint:
    """One point of a grid: a value for each axis.

    Attributes
    ----------
    index
        Position along each axis.
    params
        ``path → value`` (typed), in axis order.
    labels
        ``path → value as text``, in axis order.
    """

    index: tuple[int, ...]
    params: dict[str, Any]
    labels: dict[str, str]

    def label(self) -> str:
        """A short readable label, e.g. ``policy=fixed_zones, count=100``."""
        if not self.labels:
            return "all runs"
        return ", ".join(f"{p.rsplit('.', 1)[-1]}={v}" for p, v in self.labels.items())


@dataclass(frozen=True)
class Grid:
    """Swept fields and values; its points are the product of its axes.

    A grid with no axes has one point (an ensemble of replications of one scenario).
    """

    axes: tuple[GridAxis, ...] = ()

    @property
    def dims(self) -> tuple[str, ...]:
        """The axes' dotted paths: the dataset dimensions of a sweep, in order."""
        return tuple(a.path for a in self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of values on each axis."""
        return tuple(len(a.values) for a in self.axes)

    @property
    def size(self) -> int:
        """Number of grid points."""
        n = 1
        for k in self.shape:
            n *= k
        return n

    def points(self) -> list[GridPoint]:
        """Every point, the last axis varying fastest."""
        out = []
        for index in itertools.product(*(range(len(a.values)) for a in self.axes)):
            out.append(
                GridPoint(
                    index=tuple(index),
                    params={a.path: a.values[i] for a, i in zip(self.axes, index, strict=True)},
                    labels={a.path: a.labels[i] for a, i in zip(self.axes, index, strict=True)},
                )
            )
        return out

    def to_json(self) -> list[dict[str, Any]]:
        """A JSON-ready description (see :meth:`from_json`)."""
        return [
            {"path": a.path, "values": list(a.values), "labels": list(a.labels)} for a in self.axes
        ]

    @classmethod
    def from_json(cls, data: Sequence[Mapping[str, Any]]) -> Grid:
        """The grid described by :meth:`to_json`'s output."""
        return cls(
            tuple(
                GridAxis(str(a["path"]), tuple(a["values"]), tuple(str(x) for x in a["labels"]))
                for a in data
            )
        )


def parse_grid_option(text: str) -> tuple[str, list[str]]:
    """Split a ``--grid`` option ``PATH=V1,V2,...`` into the path and the values as text.

    Raises
    ------
    ScenarioError
        The text has no ``=``, no path, or no values.
    """
    path, sep, values = text.partition("=")
    path = path.strip()
    items = [v.strip() for v in values.split(",")] if sep else []
    if not sep or not path or not items or any(not v for v in items):
        raise ScenarioError(
            f"--grid {text!r}: write PARAMETER=VALUE1,VALUE2,... with the parameter's dotted "
            "path in the scenario, e.g. --grid dispatch.policy=nearest_idle,fixed_zones"
        )
    return path, items


def _field(scenario: BaseModel, path: str) -> Any:
    node: Any = scenario
    for part in path.split("."):
        node = getattr(node, part)
    return node


def _check_path(scenario: Scenario, path: str) -> None:
    """Raise a :class:`ScenarioError` unless ``path`` names one field of the scenario."""
    if path in FORBIDDEN:
        raise ScenarioError(f"grid parameter {path}: cannot be swept; {FORBIDDEN[path]}")
    node: Any = scenario
    done: list[str] = []
    for part in path.split("."):
        names = sorted(type(node).model_fields) if isinstance(node, BaseModel) else []
        if part not in names:
            where = ".".join(done) or "the scenario"
            known = ", ".join(names) if names else "(none: not a section)"
            raise ScenarioError(
                f"grid parameter {path}: {where} has no field {part!r}; known: {known}"
            )
        node = getattr(node, part)
        done.append(part)
    if isinstance(node, BaseModel):
        fields = ", ".join(
            f"{path}.{f}" for f in sorted(type(node).model_fields)
            if isinstance(getattr(node, f), _SCALARS)
        )  # fmt: skip
        raise ScenarioError(
            f"grid parameter {path}: is a section, not a single field; sweep one of: {fields}"
        )
    if not isinstance(node, _SCALARS):
        raise ScenarioError(
            f"grid parameter {path}: holds a {type(node).__name__}; only single values "
            "(numbers, text, true/false) can be swept"
        )


def _typed(scenario: Scenario, path: str, value: Any) -> Any:
    """``value`` as the scenario holds it once validated, or a ScenarioError."""
    try:
        updated = scenario.with_updates(**{path: value})
    except ScenarioError as exc:
        reason = str(exc).removeprefix("<updates>: ").removeprefix(f"{path}: ")
        raise ScenarioError(f"grid parameter {path}={value}: {reason}") from None
    typed = _field(updated, path)
    if not isinstance(typed, _SCALARS):
        raise ScenarioError(
            f"grid parameter {path}={value}: becomes a {type(typed).__name__}; only single "
            "values (numbers, text, true/false) can be swept"
        )
    return typed


def make_grid(params: Mapping[str, Sequence[Any]], *, scenario: Scenario) -> Grid:
    """A grid from ``{dotted path: values}``, each value validated through the scenario.

    Parameters
    ----------
    params
        Swept fields, in order, each with its values (as Python values or as text; text
        is converted by the schema, e.g. ``"100"`` → 100, ``"5min"`` → 300.0 [s]).
    scenario
        The base scenario whose schema types and checks the values.

    Returns
    -------
    Grid
        Its axes hold the validated values and their text labels.

    Raises
    ------
    ScenarioError
        A path is not a single field of the scenario (or is ``seed``), a value is not
        allowed there, an axis has no values, or a value is given twice.
    """
    axes = []
    for path, raw in params.items():
        _check_path(scenario, path)
        if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
            raise ScenarioError(f"grid parameter {path}: give a list of values")
        if not raw:
            raise ScenarioError(f"grid parameter {path}: give at least one value")
        values = [_typed(scenario, path, v) for v in raw]
        seen: dict[str, Any] = {}
        for text, v in zip(raw, values, strict=True):
            marker = json.dumps(v, sort_keys=True)
            if marker in seen:
                raise ScenarioError(
                    f"grid parameter {path}: value {text!r} is given twice "
                    f"(the same as {seen[marker]!r})"
                )
            seen[marker] = text
        labels = [r if isinstance(r, str) else _label(v) for r, v in zip(raw, values, strict=True)]
        axes.append(GridAxis(path, tuple(values), tuple(labels)))
    return Grid(tuple(axes))


def _label(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_grid(specs: Sequence[str], *, scenario: Scenario) -> Grid:
    """A grid from ``--grid`` options such as ``dispatch.policy=nearest_idle,fixed_zones``.

    Parameters
    ----------
    specs
        One ``PATH=V1,V2,...`` string per swept field; a path may appear once.
    scenario
        The base scenario whose schema types and checks the values.

    Raises
    ------
    ScenarioError
        As :func:`make_grid`, or a malformed option, or a path given twice.
    """
    params: dict[str, list[str]] = {}
    for spec in specs:
        path, values = parse_grid_option(spec)
        if path in params:
            raise ScenarioError(
                f"grid parameter {path}: given in two --grid options; list all its values "
                "in one, separated by commas"
            )
        params[path] = values
    return make_grid(params, scenario=scenario)


def scenario_hash(scenario: Scenario) -> str:
    """A short, stable hash of a scenario's full content (10 hex digits)."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def run_key(point: GridPoint, replication: int, scenario: Scenario) -> str:
    """The key of one run: readable parameters, replication and the scenario's hash.

    Parameters
    ----------
    point
        The grid point.
    replication
        The replication number (its seed is ``scenario.seed``).
    scenario
        The exact scenario of the run (grid changes and seed applied).

    Returns
    -------
    str
        A folder-safe name such as ``policy=fixed_zones_count=100_r001_3f9a0c12de``.
    """
    parts = [f"{p.rsplit('.', 1)[-1]}={v}" for p, v in point.labels.items()]
    slug = _SLUG_UNSAFE.sub("-", "_".join(parts)).strip("-_")[:80]
    head = f"{slug}_" if slug else ""
    return f"{head}r{replication:03d}_{scenario_hash(scenario)}"
