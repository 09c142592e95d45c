"""Builder fields generated from the scenario schema, and validation mapped to them.

The scenario builder offers a curated set of the :class:`~twin.scenario.Scenario` fields
(:data:`FIELD_GROUPS`). Everything else about a field comes from the pydantic models
themselves: its kind (whole number, number, duration, text, choice from a ``Literal``
or a known list, yes/no), its bounds (``gt``/``ge``/``lt``/``le``), its default and its
description (shown as a tooltip).

Values typed into the builder are read the way a YAML file would read them
(:func:`parse_value`), put into the scenario file's own mapping (:func:`apply_edits`)
and validated by :func:`twin.scenario.validate_scenario`, so the messages are the CLI's
own. :func:`errors_by_field` splits such a message into one message per field.
"""

from __future__ import annotations

import copy
import math
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import annotated_types
import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator
from pydantic.fields import FieldInfo

from dash_app.builder_fields import FIELD_GROUPS
from dash_app.scenario_files import read_raw, safe_file_name, scenario_yaml
from twin.durations import PositiveDuration, parse_duration
from twin.errors import ScenarioError
from twin.hydro.radar.events import EVENT_NAMES
from twin.scenario import POLICIES, Scenario, validate_scenario
from twin.trucks.config import TrucksConfig

__all__ = [
    "DERIVED",
    "FIELD_GROUPS",
    "WHERE",
    "FieldSpec",
    "add_crowd_events",
    "applies",
    "apply_edits",
    "builder_fields",
    "errors_by_field",
    "field_spec",
    "format_value",
    "initial_text",
    "input_problems",
    "parse_value",
    "read_raw",
    "safe_file_name",
    "scaled_fleets",
    "scenario_yaml",
    "validate_edits",
]

#: The ``where`` given to :func:`~twin.scenario.validate_scenario` for builder input.
WHERE = "<builder>"

Kind = Literal["int", "float", "duration", "text", "choice", "bool"]

#: Choices of ``str`` fields that are checked by a validator rather than a ``Literal``.
CHOICES: dict[str, tuple[str, ...]] = {
    "dispatch.policy": POLICIES,
    "rain.radar.event": tuple(EVENT_NAMES),
}

#: Builder fields that are not one field of the schema: each is written into the
#: scenario by :func:`apply_edits` (``trucks.fleet``: the haulage companies' fleets,
#: scaled to that many trucks in all).
DERIVED = ("trucks.fleet",)


@dataclass(frozen=True)
class FieldSpec:
    """One builder field, described from the schema.

    Attributes
    ----------
    path
        Dotted path in the scenario; list items by index (``crowds.events.0.attendance``).
    label
        What the builder calls it.
    group
        The builder section it belongs to.
    kind
        ``int``, ``float``, ``duration`` [s], ``text``, ``choice`` or ``bool``.
    description
        The schema's description (the tooltip).
    options
        Allowed values of a ``choice``.
    lower, upper
        Bounds from the schema, or ``None``.
    lower_strict, upper_strict
        Whether a bound is strict (``gt``/``lt``) or not (``ge``/``le``).
    default
        The schema's default, or ``None`` when the field is required.
    """

    path: str
    label: str
    group: str
    kind: Kind
    description: str = ""
    options: tuple[str, ...] = ()
    lower: float | None = None
    upper: float | None = None
    lower_strict: bool = False
    upper_strict: bool = False
    default: Any = None

    @property
    def bounds_text(self) -> str:
        """The bounds as text, e.g. ``> 0``, ``≥ 1``, ``0 … 1``."""
        lo, hi = self.lower, self.upper
        if lo is not None and hi is not None:
            left = "<" if self.lower_strict else "≤"
            right = "<" if self.upper_strict else "≤"
            return f"{lo:g} {left} value {right} {hi:g}"
        if lo is not None:
            return f"{'>' if self.lower_strict else '≥'} {lo:g}"
        if hi is not None:
            return f"{'<' if self.upper_strict else '≤'} {hi:g}"
        return ""

    @property
    def hint(self) -> str:
        """A short line under the field: the format and the bounds."""
        parts = []
        if self.kind == "duration":
            parts.append("seconds, or e.g. 45s, 5min, 2h")
        elif self.kind == "int":
            parts.append("whole number")
        elif self.kind == "float":
            parts.append("number")
        elif self.path == "start":
            parts.append("YYYY-MM-DDTHH:MM:SS")
        elif self.path.endswith("_hours"):
            parts.append("hours HH:MM-HH:MM, e.g. 20:00-06:00 for the night")
        if self.bounds_text:
            parts.append(self.bounds_text)
        return " · ".join(parts)


# ---------------------------------------------------------------------------- schema walk
def _strip_optional(annotation: Any) -> Any:
    """``X | None`` → ``X``; anything else unchanged."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _field_info(path: str) -> FieldInfo:
    """The pydantic field at a dotted path of :class:`Scenario` (indices step into tuples)."""
    model: Any = Scenario
    info: FieldInfo | None = None
    for part in path.split("."):
        if part.isdigit():
            if info is None:
                raise KeyError(path)
            args = typing.get_args(_strip_optional(info.annotation))
            if not args:
                raise KeyError(f"{path}: {part} indexes something that is not a list")
            model = args[0]
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise KeyError(f"{path}: {part!r} is below a field that has no fields")
        fields = model.model_fields
        if part not in fields:
            raise KeyError(f"{path}: no field {part!r}")
        info = fields[part]
        model = _strip_optional(info.annotation)
    if info is None:
        raise KeyError(path)
    return info


def _is_duration(info: FieldInfo) -> bool:
    return any(isinstance(m, BeforeValidator) and m.func is parse_duration for m in info.metadata)


def field_spec(path: str, label: str, group: str) -> FieldSpec:
    """Describe one field from the schema.

    Parameters
    ----------
    path
        Dotted path in :class:`~twin.scenario.Scenario` (list items by index).
    label
        The label to show.
    group
        The builder section.

    Raises
    ------
    KeyError
        ``path`` is not a field of the schema (nor one of :data:`DERIVED`).
    """
    if path == "trucks.fleet":
        return FieldSpec(
            path=path,
            label=label,
            group=group,
            kind="int",
            description="muck trucks of all the haulage companies together; each company "
            "keeps its share of the fleet [trucks]",
            lower=1.0,
        )
    info = _field_info(path)
    annotation = _strip_optional(info.annotation)
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    kind: Kind
    options: tuple[str, ...] = ()
    generic = re.sub(r"\.\d+\.", ".{i}.", path)
    if path in CHOICES or generic in CHOICES:
        kind, options = "choice", CHOICES.get(path, CHOICES.get(generic, ()))
    elif typing.get_origin(annotation) is Literal:
        kind, options = "choice", tuple(str(a) for a in typing.get_args(annotation))
    elif _is_duration(info):
        kind = "duration"
    elif annotation is bool:
        kind = "bool"
    elif annotation is int:
        kind = "int"
    elif annotation is float:
        kind = "float"
    else:
        kind = "text"
    lower = upper = None
    lower_strict = upper_strict = False
    for m in info.metadata:
        if isinstance(m, annotated_types.Gt):
            lower, lower_strict = float(m.gt), True  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Ge):
            lower, lower_strict = float(m.ge), False  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Lt):
            upper, upper_strict = float(m.lt), True  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Le):
            upper, upper_strict = float(m.le), False  # type: ignore[arg-type]
    if kind == "duration":
        positive = [
            m for m in typing.get_args(PositiveDuration)[1:] if isinstance(m, AfterValidator)
        ]
        lower, lower_strict = 0.0, any(m in positive for m in info.metadata)
    return FieldSpec(
        path=path,
        label=label,
        group=group,
        kind=kind,
        description=info.description or "",
        options=options,
        lower=lower,
        upper=upper,
        lower_strict=lower_strict,
        upper_strict=upper_strict,
        default=default,
    )


def builder_fields(scenario: Scenario) -> list[FieldSpec]:
    """The builder's fields for a scenario, in display order.

    Crowd fields appear only when the scenario has crowds; event fields once per event.
    """
    out: list[FieldSpec] = []
    for group, fields in FIELD_GROUPS:
        if group == "Crowd events" and not scenario.crowds.enabled:
            continue
        for path, label in fields:
            if "{i}" in path:
                for i, event in enumerate(scenario.crowds.events):
                    out.append(field_spec(path.format(i=i), f"{label} ({event.name})", group))
            else:
                try:
                    out.append(field_spec(path, label, group))
                except KeyError:  # not in this version of the schema
                    continue
    return out


# ---------------------------------------------------------------------------- values
def _lookup(data: Any, path: str) -> Any:
    """The value at a dotted path of nested mappings and lists; ``KeyError`` if absent."""
    node = data
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list | tuple) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(path)
    return node


def applies(path: str, values: dict[str, Any]) -> bool:
    """Whether a builder field applies, given the form's values (by dotted path).

    Storm fields apply to their kind of rain (``rain.kind``): a design storm's fields, the
    catalogue event, the radar event; the rain's start and multiplier to any rain. Truck
    fields apply when ``trucks.enabled`` is on. A field whose switch is not in the form
    always applies.
    """
    kind = values.get("rain.kind")
    if kind is not None and path.startswith("rain.") and path != "rain.kind":
        if path.startswith("rain.design_storm."):
            return bool(kind == "design_storm")
        if path == "rain.event":
            return bool(kind == "event")
        if path.startswith("rain.radar."):
            return bool(kind == "radar")
        return bool(kind != "none")
    if "trucks.enabled" in values and path.startswith("trucks.") and path != "trucks.enabled":
        return bool(values["trucks.enabled"])
    return True


def format_duration(seconds: float) -> str:
    """Seconds as the shortest exact duration text: ``45s``, ``5min``, ``2h``, ``1d``."""
    if not math.isfinite(seconds):
        return str(seconds)
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{seconds:g}s"


def format_value(spec: FieldSpec, value: Any) -> Any:
    """A validated value as the builder shows it (text, a choice, a checklist value)."""
    if value is None:
        return "" if spec.kind not in ("choice", "bool") else value
    if spec.kind == "bool":
        return ["on"] if value else []  # a checklist's value
    if spec.kind == "choice":
        return str(value)
    if spec.kind == "duration":
        return format_duration(float(value))
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def initial_text(spec: FieldSpec, raw: dict[str, Any], scenario: Scenario) -> Any:
    """What a field shows first: the file's own text when it has the field, else the value."""
    if spec.path == "trucks.fleet":
        return str(sum(c.trucks for c in scenario.trucks.companies))
    try:
        value = _lookup(raw, spec.path)
    except KeyError:
        try:
            value = _lookup(scenario.model_dump(mode="python"), spec.path)
        except KeyError:  # below an optional section the scenario does not have
            value = None
        return format_value(spec, value)
    if spec.kind in ("choice", "bool"):
        return format_value(spec, value)
    if isinstance(value, str):
        return value
    if spec.kind == "duration" and isinstance(value, int | float) and not isinstance(value, bool):
        return format_duration(float(value))
    return format_value(spec, value)


def parse_value(spec: FieldSpec, value: Any) -> Any:
    """A builder value as the YAML file would hold it.

    Numbers and durations are read as YAML scalars (``12`` → 12, ``2h`` stays text,
    empty → ``None``), so that validation gives the CLI's messages for the same text;
    free text stays text.
    """
    if spec.kind == "bool":
        return bool(value)  # a checklist's value: ["on"] or []
    if spec.kind == "choice":
        return value
    if value is None:
        return None
    text = str(value).strip()
    if spec.kind == "text":
        return text
    if text == "":
        return None
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(parsed, dict | list):
        return text
    return parsed


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path in nested mappings (missing sections are created)."""
    node: Any = data
    parts = path.split(".")
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(node, list):
            node = node[int(part)]
            continue
        child = node.get(part)
        if not isinstance(child, dict | list):
            child = [] if nxt.isdigit() else {}
            node[part] = child
        node = child
    leaf = parts[-1]
    if isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value


def scaled_fleets(fleets: Sequence[int], total: int) -> list[int]:
    """Fleet sizes scaled to ``total`` trucks in all, in proportion (largest remainders).

    Every company keeps at least one truck, so ``total`` must be at least the number of
    companies.
    """
    n = len(fleets)
    if total < n:
        raise ValueError(f"needs at least {n} trucks (one per haulage company), got {total}")
    whole = sum(fleets)
    spare = total - n  # one each first, the rest in proportion
    shares = [spare * f / whole for f in fleets]
    out = [1 + int(s) for s in shares]
    order = sorted(range(n), key=lambda i: shares[i] - int(shares[i]), reverse=True)
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _apply_fleet(data: dict[str, Any], value: Any) -> str | None:
    """Write ``trucks.fleet`` into ``data`` as companies' fleets; a message when it is bad."""
    if isinstance(value, bool) or not isinstance(value, int):
        shown = "the field is empty" if value is None else f"got {value!r}"
        return f"{WHERE}: trucks.fleet: give a whole number of trucks ({shown})"
    trucks = data.get("trucks")
    trucks = trucks if isinstance(trucks, dict) else {}
    companies = trucks.get("companies")
    if not isinstance(companies, list) or not companies:
        companies = [c.model_dump(mode="json") for c in TrucksConfig().companies]
    try:
        sizes = [int(c["trucks"]) for c in companies]
        new = scaled_fleets(sizes, value)
    except (KeyError, TypeError, ValueError) as exc:
        return f"{WHERE}: trucks.fleet: {exc}"
    trucks["companies"] = [{**c, "trucks": n} for c, n in zip(companies, new, strict=True)]
    data["trucks"] = trucks
    return None


def apply_edits(raw: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a scenario file's mapping with dotted-path edits applied.

    A :data:`DERIVED` edit that cannot be written is left out (:func:`validate_edits`
    says why).
    """
    data = copy.deepcopy(raw)
    for path, value in edits.items():
        if path == "trucks.fleet":
            _apply_fleet(data, value)
        else:
            _set_path(data, path, value)
    return data


def add_crowd_events(data: dict[str, Any], events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``data`` with crowd events added after the scenario's own (crowds turned on)."""
    if not events:
        return data
    out = copy.deepcopy(data)
    crowds = out.get("crowds")
    crowds = crowds if isinstance(crowds, dict) else {}
    crowds["enabled"] = True
    crowds["events"] = [*(crowds.get("events") or []), *copy.deepcopy(list(events))]
    out["crowds"] = crowds
    return out


def input_problems(scenario: Scenario, *, events: Sequence[str] | None = None) -> list[str]:
    """What the schema lets through but a run would refuse, as builder messages.

    Checked here so that the builder marks it next to its field instead of the run
    failing: a storm event (``rain.event``) that is not in the storm catalogue.

    Parameters
    ----------
    scenario
        A scenario the schema accepted.
    events
        The event ids of the storm catalogue, deepest first (``None``: not checked).
    """
    problems = []
    rain = scenario.rain
    if events is not None and rain.kind == "event" and rain.event not in set(events):
        problems.append(
            f"{WHERE}: rain.event: no event {rain.event!r} in the storm catalogue; list them "
            f"with `twin rain events` (the deepest are {', '.join(list(events)[:3])})"
        )
    return problems


def validate_edits(
    raw: dict[str, Any],
    edits: dict[str, Any],
    *,
    events: Sequence[str] | None = None,
    crowd_events: Sequence[dict[str, Any]] = (),
) -> tuple[Scenario | None, dict[str, Any], str | None]:
    """Apply edits and validate (with :func:`input_problems` of ``events``).

    ``crowd_events``: crowd events added in the builder (:func:`add_crowd_events`).

    Returns
    -------
    scenario
        The validated scenario, or ``None`` when it is not valid.
    data
        The edited mapping (what a saved file would hold).
    message
        The :class:`~twin.errors.ScenarioError` message (the CLI's text), or ``None``.
    """
    data = add_crowd_events(apply_edits(raw, edits), crowd_events)
    if "trucks.fleet" in edits:
        problem = _apply_fleet(copy.deepcopy(data), edits["trucks.fleet"])
        if problem is not None:
            return None, data, problem
    try:
        scenario = validate_scenario(data, where=WHERE)
    except ScenarioError as exc:
        return None, data, str(exc)
    problems = input_problems(scenario, events=events)
    if problems:
        return None, data, "; ".join(problems)
    return scenario, data, None


def errors_by_field(message: str, where: str = WHERE) -> dict[str, list[str]]:
    """Split a :class:`~twin.errors.ScenarioError` message into messages per field.

    ``"<builder>: cases.daily_total: Input should be greater than 0 (got -3)"`` gives
    ``{"cases.daily_total": ["Input should be greater than 0 (got -3)"]}``. Parts that
    name no field are kept under ``""``. An empty field (which the schema reads as
    ``None``) is said to be empty, not ``(got None)``.
    """
    prefix = re.escape(where) + r"(?::\d+)?: "
    parts = re.split(r"; (?=" + prefix + ")", message)
    out: dict[str, list[str]] = {}
    for part in parts:
        body = re.sub("^" + prefix, "", part, count=1)
        field, sep, text = body.partition(": ")
        text = text.replace(" (got None)", " (the field is empty)")
        if not sep or " " in field:
            out.setdefault("", []).append(body)
        else:
            out.setdefault(field, []).append(text)
    return out
