"""The builder's *Add a crowd event* form: a plaza, a start, a duration and an attendance.

An event typed here becomes one entry of the scenario's ``crowds.events`` (what a
scenario file would hold, :class:`twin.crowds.config.CrowdEvent`), added after the
file's own events, with crowds turned on (:func:`dash_app.schema.add_crowd_events`).
It is checked by :func:`twin.scenario.validate_scenario` like every other field, and
each message is shown next to its field.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import dash
import yaml
from dash import Dash, Input, Output, State, dcc, html

from dash_app import schema
from twin.durations import parse_duration
from twin.errors import ScenarioError
from twin.network.build import data_dir
from twin.scenario import validate_scenario

__all__ = [
    "CROWD_FIELDS",
    "added_list",
    "crowd_panel",
    "new_event",
    "plazas",
    "register_crowd_events",
]

#: The form's fields: (id suffix, label).
CROWD_FIELDS: tuple[tuple[str, str], ...] = (
    ("plaza", "Plaza"),
    ("start", "Event start (local time)"),
    ("duration", "Duration"),
    ("attendance", "Attendance [people]"),
)

#: Which form field a message about each part of an event belongs to.
_FIELD_OF = {
    "plaza": "plaza",
    "start": "start",
    "end": "duration",
    "attendance": "attendance",
    "name": "plaza",
}


@cache
def plazas() -> tuple[tuple[str, str], ...]:
    """``(plaza id, name)`` of the shipped plaza layer (``data/layers/plazas.geojson``)."""
    try:
        text = (data_dir() / "layers" / "plazas.geojson").read_text(encoding="utf-8")
    except OSError:
        return ()
    out = []
    for feature in json.loads(text).get("features", []):
        props = feature.get("properties") or {}
        if props.get("id"):
            out.append((str(props["id"]), str(props.get("name") or props["id"])))
    return tuple(out)


def _parse_start(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"give a local date and time, e.g. 2026-06-01T19:30 (got {text.strip()!r})"
        ) from None


def new_event(
    plaza: str | None,
    start: str | None,
    duration: str | None,
    attendance: str | None,
    *,
    raw: dict[str, Any],
    added: int = 0,
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The crowd event the form describes, or ``None`` and a message per field.

    Parameters
    ----------
    plaza
        A plaza id of the shipped plaza layer.
    start
        The event's start, local time (``2026-06-01T19:30``).
    duration
        How long it lasts (``2h``, ``90min``, seconds).
    attendance
        People [-].
    raw
        The scenario file's mapping the event is checked against.
    added
        Events added in the builder so far (names the new one).

    Returns
    -------
    event
        The event as a scenario file holds it (``name``, ``plaza``, ``start``, ``end``,
        ``attendance``).
    errors
        Messages by field (``plaza``, ``start``, ``duration``, ``attendance``).
    """
    errors: dict[str, str] = {}
    ids = {p for p, _ in plazas()}
    if not plaza:
        errors["plaza"] = "Pick a plaza."
    elif ids and plaza not in ids:
        errors["plaza"] = f"no plaza {plaza!r} in the plaza layer"
    begin: datetime | None = None
    if not (start or "").strip():
        errors["start"] = "give a local date and time, e.g. 2026-06-01T19:30 (the field is empty)"
    else:
        try:
            begin = _parse_start(start or "")
        except ValueError as exc:
            errors["start"] = str(exc)
    seconds: float | None = None
    if not (duration or "").strip():
        errors["duration"] = "give a duration, e.g. 2h or 90min (the field is empty)"
    else:
        try:
            seconds = float(parse_duration(yaml.safe_load((duration or "").strip())))
        except (ValueError, TypeError, yaml.YAMLError) as exc:
            errors["duration"] = str(exc)
        else:
            if seconds <= 0:
                errors["duration"] = f"must be longer than 0 s (got {duration})"
    people: Any = None
    if not (attendance or "").strip():
        errors["attendance"] = "give the number of people (the field is empty)"
    else:
        try:
            people = yaml.safe_load((attendance or "").strip())
        except yaml.YAMLError:
            people = (attendance or "").strip()
    if errors or begin is None or seconds is None:
        # The scenario cannot be checked yet: check the attendance on its own (as the
        # schema would), so that every bad field is marked at once.
        if "attendance" not in errors:
            if isinstance(people, bool) or not isinstance(people, int | float):
                errors["attendance"] = f"Input should be a valid number (got {people!r})"
            elif people <= 0:
                errors["attendance"] = f"Input should be greater than 0 (got {people})"
        return None, errors
    event = {
        "name": f"event {added + 1} at {dict(plazas()).get(plaza or '', plaza)}",
        "plaza": plaza,
        "start": begin.isoformat(),
        "end": (begin + timedelta(seconds=seconds)).isoformat(),
        "attendance": people,
    }
    scratch = schema.add_crowd_events(raw, [event])
    index = len(scratch["crowds"]["events"]) - 1
    try:
        validate_scenario(scratch, where=schema.WHERE)
    except ScenarioError as exc:
        prefix = f"crowds.events.{index}"
        for where, msgs in schema.errors_by_field(str(exc)).items():
            if where == prefix:
                field = "start"
            elif where.startswith(prefix + "."):
                field = _FIELD_OF.get(where[len(prefix) + 1 :].split(".")[0], "start")
            else:
                continue  # about the rest of the scenario: marked on its own fields
            errors[field] = "; ".join([*filter(None, [errors.get(field)]), *msgs])
    return (None, errors) if errors else (event, errors)


def _field(key: str, label: str, control: Any, hint: str = "") -> html.Div:
    return html.Div(
        [
            html.Label(label, htmlFor=f"builder-crowd-{key}"),
            control,
            html.Div(hint, className="hint") if hint else None,
            html.Div(id=f"builder-crowd-{key}-error", className="field-error"),
        ],
        className="field",
        id=f"builder-crowd-{key}-box",
    )


def _text(input_id: str, value: str | None = None) -> dcc.Input:
    return dcc.Input(id=input_id, type="text", value=value, debounce=True, autoComplete="off")


def crowd_panel() -> html.Fieldset:
    """The *Add a crowd event* fieldset (its callbacks are the builder's)."""
    return html.Fieldset(
        [
            html.Legend("Add a crowd event"),
            html.Div(
                [
                    _field(
                        "plaza",
                        "Plaza",
                        dcc.Dropdown(
                            id="builder-crowd-plaza",
                            options=[{"label": n, "value": p} for p, n in plazas()],
                            placeholder="pick a plaza",
                            clearable=False,
                            className="no-i18n",
                        ),
                    ),
                    _field(
                        "start",
                        "Event start (local time)",
                        _text("builder-crowd-start"),
                        "YYYY-MM-DDTHH:MM:SS",
                    ),
                    _field(
                        "duration",
                        "Duration",
                        _text("builder-crowd-duration", "2h"),
                        "seconds, or e.g. 45s, 5min, 2h",
                    ),
                    _field(
                        "attendance",
                        "Attendance [people]",
                        _text("builder-crowd-attendance"),
                        "number",
                    ),
                ],
                className="fields",
            ),
            html.Div(
                [
                    html.Button(
                        "Add crowd event",
                        id="builder-crowd-add",
                        n_clicks=0,
                        className="btn small",
                    ),
                    html.Button(
                        "Remove added events",
                        id="builder-crowd-clear",
                        n_clicks=0,
                        className="btn small secondary",
                    ),
                ],
                className="row",
                style={"marginTop": ".6rem"},
            ),
            html.Div(id="builder-crowd-message"),
            html.Div(id="builder-crowd-list"),
        ],
        className="group",
        id="builder-crowd-panel",
    )


def added_list(events: list[dict[str, Any]]) -> Any:
    """The events added so far, one line each (``None`` when there are none)."""
    if not events:
        return None
    return html.Div(
        [
            html.Div("Events added here (run with the scenario):", className="hint"),
            html.Ul(
                [
                    html.Li(
                        f"{e['name']} ({e['plaza']}): {e['start']} – {e['end']}, "
                        f"{float(e['attendance']):,.0f}",
                        className="no-i18n",
                    )
                    for e in events
                ],
                id="builder-crowd-added",
            ),
        ]
    )


def register_crowd_events(app: Dash, store: str) -> None:
    """The builder's callbacks of the crowd-event form; ``store`` holds the added events."""
    keys = [k for k, _ in CROWD_FIELDS]
    controls = [Input(f"builder-crowd-{k}", "value") for k in keys]

    @app.callback(
        [Output(f"builder-crowd-{k}-error", "children") for k in keys],
        [Output(f"builder-crowd-{k}-box", "className") for k in keys],
        *controls,
        State("builder-base", "data"),
        State(store, "data"),
        prevent_initial_call=True,
    )
    def check(*args: Any) -> tuple[Any, ...]:
        # Marks each field as it is typed in, like the scenario's own fields (an empty
        # field is marked only once something else of the event has been typed).
        *values, base, added = args
        plaza, start, _duration, attendance = values
        if base is None or not (plaza or start or attendance):
            return (*[""] * len(keys), *["field"] * len(keys))
        _, errors = new_event(*values, raw=base["raw"], added=len(added or []))
        return (
            *[errors.get(k, "") for k in keys],
            *["field invalid" if errors.get(k) else "field" for k in keys],
        )

    @app.callback(
        Output(store, "data", allow_duplicate=True),
        Output("builder-crowd-message", "children"),
        Input("builder-crowd-add", "n_clicks"),
        Input("builder-crowd-clear", "n_clicks"),
        [State(f"builder-crowd-{k}", "value") for k in keys],
        State("builder-base", "data"),
        State(store, "data"),
        prevent_initial_call=True,
    )
    def add(_add: int, _clear: int, *args: Any) -> tuple[Any, Any]:
        *values, base, added = args
        added = list(added or [])
        if dash.ctx.triggered_id == "builder-crowd-clear":
            return [], None
        if base is None:
            raise dash.exceptions.PreventUpdate
        event, _ = new_event(*values, raw=base["raw"], added=len(added))
        if event is None:
            return dash.no_update, html.Span(
                "Not added: fix the marked fields first.", className="field-error"
            )
        return [*added, event], html.Span("Event added.", className="hint", id="builder-crowd-ok")

    @app.callback(Output("builder-crowd-list", "children"), Input(store, "data"))
    def show(added: list[dict[str, Any]] | None) -> Any:
        return added_list(added or [])
