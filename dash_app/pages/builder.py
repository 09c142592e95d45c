"""Page 1, the scenario builder: pick a scenario, edit it, validate, run, save as YAML.

The form is generated from the schema (:mod:`dash_app.schema`). Every change is
validated at once by :func:`twin.scenario.validate_scenario` and each message is shown
next to its field; nothing typed is ever reset by a message. *Run* queues the edited
scenario on the background runner (progress bar, then the run's KPI cards); *Save as*
writes the edited scenario to a new YAML file that ``twin run`` can load.

Besides the scenario's own fields, the form adds crowd events (*Add a crowd event*:
plaza, start, duration, attendance; :mod:`dash_app.crowd_events`), a storm from the
catalogue, a design storm or a shipped radar event (*Storm*), and muck trucks (*Muck
trucks*: on, the fleet, the sites' working hours), each checked next to its field.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dash
from dash import ALL, Dash, Input, Output, State, dcc, html

from dash_app import schema
from dash_app.components import labelled, page_header, scenario_menu
from dash_app.context import AppContext
from dash_app.crowd_events import crowd_panel, register_crowd_events
from dash_app.jobs import Job
from dash_app.kpis import kpi_cards
from dash_app.progress import job_stores, progress_bar, queue_outputs, queued, register_progress
from dash_app.schema import FieldSpec
from dash_app.upload import save_upload
from twin.errors import ScenarioError
from twin.scenario import Scenario, load_scenario

__all__ = ["PATH", "TITLE", "collect", "field_component", "form", "layout", "register"]

logger = logging.getLogger(__name__)

PATH = "/builder"
TITLE = "Scenario builder"
DEFAULT_FILE = "gongshu_baseline_day.yaml"
#: The status line of *Run* while the form has problems (cleared once it has none).
NOT_RUN = "Not run: fix the marked fields first."
#: The crowd events added with *Add a crowd event* (scenario-file mappings).
CROWD_STORE = "builder-crowd-events"
#: The form's values, their ids, what the form was built from and the crowd events
#: added in the builder (callbacks' states).
_FORM = (
    State({"type": "field", "path": ALL}, "value"),
    State({"type": "field", "path": ALL}, "id"),
    State("builder-base", "data"),
    State(CROWD_STORE, "data"),
)


# ---------------------------------------------------------------------------- the form
#: Paths of text fields that suggest values from a list (the storm catalogue's events).
SUGGEST = {"rain.event": "builder-storm-events"}


def field_component(
    spec: FieldSpec, value: Any, suggestions: list[tuple[str, str]] | None = None
) -> html.Div:
    """One field: label with its description as a tooltip, the control, hint, message.

    ``suggestions``: ``(value, description)`` offered as the field is typed in (a
    ``<datalist>``), for a text field of :data:`SUGGEST`.
    """
    fid = {"type": "field", "path": spec.path}
    control: Any
    listed = SUGGEST.get(spec.path) if suggestions else None
    if spec.kind == "choice":
        control = dcc.Dropdown(
            id=fid,
            options=[{"label": o, "value": o} for o in spec.options],
            value=value,
            clearable=False,
            searchable=False,
        )
    elif spec.kind == "bool":
        control = dcc.Checklist(id=fid, options=[{"label": " yes", "value": "on"}], value=value)
    else:
        control = dcc.Input(
            id=fid,
            type="text",
            value=value,
            debounce=True,
            autoComplete="off",
            list=listed,
        )
        if listed and suggestions:
            options = [html.Option(value=v, label=text) for v, text in suggestions]
            control = html.Div([control, html.Datalist(options, id=listed)])
    label: list[Any] = [spec.label]
    if spec.description:
        label.append(html.Span("i", className="info", title=spec.description))
    return html.Div(
        [
            html.Label(label),
            control,
            html.Div(spec.hint, className="hint") if spec.hint else None,
            html.Div(id={"type": "field-error", "path": spec.path}, className="field-error"),
        ],
        className="field",
        id={"type": "field-box", "path": spec.path},
        title=spec.description or None,
    )


def form(
    scenario: Scenario,
    raw: dict[str, Any],
    *,
    storms: list[tuple[str, str]] | None = None,
) -> tuple[list[Any], dict[str, Any]]:
    """The builder's fieldsets for a scenario, and the value each field starts with.

    ``storms``: the storm catalogue's ``(event id, description)``, suggested in the
    ``rain.event`` field.
    """
    specs = schema.builder_fields(scenario)
    initial = {s.path: schema.initial_text(s, raw, scenario) for s in specs}
    groups: dict[str, list[FieldSpec]] = {}
    for s in specs:
        groups.setdefault(s.group, []).append(s)
    fieldsets = [
        html.Fieldset(
            [
                html.Legend(group),
                html.Div(
                    [field_component(s, initial[s.path], storms) for s in members],
                    className="fields",
                ),
                html.Div(id={"type": "group-error", "group": group}, className="group-error"),
            ],
            className="group",
        )
        for group, members in groups.items()
    ]
    return fieldsets, initial


def collect(
    paths: list[str],
    values: list[Any],
    initial: dict[str, Any],
    raw: dict[str, Any],
    *,
    events: Sequence[str] | None = None,
    crowd_events: Sequence[dict[str, Any]] = (),
) -> tuple[Scenario | None, dict[str, Any], dict[str, Any], str | None]:
    """Validate the form: the scenario (or ``None``), the edits, the data and the message.

    Only fields whose value differs from what they started with are edits, so a
    scenario file is changed only where the planner changed it. ``events``: the storm
    catalogue's event ids (a ``rain.event`` not among them is marked; ``None``: not
    checked). ``crowd_events``: crowd events added in the builder.
    """
    edits: dict[str, Any] = {}
    for path, value in zip(paths, values, strict=True):
        if value == initial.get(path):
            continue
        spec = schema.field_spec(path, path, "")
        edits[path] = schema.parse_value(spec, value)
    scenario, data, message = schema.validate_edits(
        raw, edits, events=events, crowd_events=crowd_events
    )
    return scenario, edits, data, message


def _collect_form(
    ctx: AppContext,
    values: list[Any],
    ids: list[dict[str, str]],
    base: dict[str, Any],
    added: list[dict[str, Any]] | None,
) -> tuple[Scenario | None, dict[str, Any], dict[str, Any], str | None]:
    """:func:`collect` of the form's values and ids (the states in :data:`_FORM`)."""
    paths = [i["path"] for i in ids]
    return collect(
        paths,
        values,
        base["initial"],
        base["raw"],
        events=_events(ctx, paths, values),
        crowd_events=added or (),
    )


def _storms(ctx: AppContext) -> list[tuple[str, str]] | None:
    """The storm catalogue for the ``rain.event`` field (``None`` when it cannot be read)."""
    try:
        return ctx.storm_catalogue()
    except Exception:  # the form works without suggestions
        logger.exception("Could not read the storm catalogue")
        return None


def _events(ctx: AppContext, paths: list[str], values: list[Any]) -> Sequence[str] | None:
    """The storm catalogue's events when the form asks for a catalogue event, else None."""
    kind = dict(zip(paths, values, strict=True)).get("rain.kind")
    return ctx.storm_events() if kind == "event" else None


def _status(message: str | None, n_edits: int, unplaced: list[str]) -> html.Div:
    if message is None:
        text = "Valid scenario" + (f" · {n_edits} field(s) changed" if n_edits else "")
        return html.Div(text, className="alert alert-ok", id="builder-valid")
    n = message.count("; <builder>") + 1
    items = [html.Li(m) for m in unplaced]
    return html.Div(
        [
            html.Strong(f"{n} problem{'s' if n > 1 else ''} to fix"),
            html.Span(" (marked next to the field)" if len(unplaced) < n else ""),
            html.Ul(items) if items else None,
        ],
        className="alert alert-error",
        id="builder-invalid",
    )


# ---------------------------------------------------------------------------- layout
def layout(ctx: AppContext) -> html.Div:
    """The builder page."""
    return html.Div(
        [
            *page_header(
                TITLE,
                "Pick a scenario, change what you want to test, run it, and save it as a new "
                "YAML file. Every change is checked against the scenario schema, with the "
                "same messages as `twin run`.",
            ),
            dcc.Store(id="builder-base"),
            dcc.Store(id=CROWD_STORE, data=[]),
            *job_stores("builder"),
            html.Div(
                [
                    html.Div(
                        [
                            labelled(
                                "Scenario file",
                                scenario_menu("builder-file", ctx, DEFAULT_FILE),
                                html.Div(id="builder-description", className="hint"),
                                dcc.Upload(
                                    html.Div(
                                        [
                                            "Or upload a scenario YAML: drop it here or ",
                                            html.A("choose a file"),
                                        ]
                                    ),
                                    id="builder-upload",
                                    accept=".yaml,.yml",
                                    multiple=False,
                                    className="upload hint",
                                ),
                                html.Div(id="builder-upload-message"),
                                kind="panel",
                            ),
                            html.Div(id="builder-form"),
                            crowd_panel(),
                        ]
                    ),
                    html.Div(
                        [
                            html.Div(
                                [
                                    html.H2("Check and run"),
                                    html.Div(id="builder-status"),
                                    html.Button(
                                        "Run scenario",
                                        id="builder-run",
                                        className="btn",
                                        n_clicks=0,
                                    ),
                                    *progress_bar("builder"),
                                    html.Div(id="builder-kpis"),
                                ],
                                className="panel",
                            ),
                            html.Div(
                                [
                                    html.H2("Save as a new scenario"),
                                    html.Div(
                                        [
                                            dcc.Input(
                                                id="builder-save-name",
                                                type="text",
                                                placeholder="file name, e.g. my_storm_day",
                                                className="text-input grow",
                                                debounce=False,
                                            ),
                                            html.Button(
                                                "Save as YAML",
                                                id="builder-save",
                                                className="btn secondary",
                                                n_clicks=0,
                                            ),
                                        ],
                                        className="row",
                                    ),
                                    html.Div(id="builder-save-message"),
                                ],
                                className="panel",
                            ),
                        ],
                        className="side",
                    ),
                ],
                className="builder",
            ),
        ]
    )


# ---------------------------------------------------------------------------- callbacks
def _load(ctx: AppContext, name: str | None) -> tuple[Scenario, dict[str, Any], Path]:
    path = ctx.scenario_path(name)
    if path is None:
        raise ScenarioError(f"{name}: no such scenario in {ctx.scenarios_dir}")
    scenario = load_scenario(path)  # the CLI's own checks and messages
    return scenario, schema.read_raw(path), path


def register(app: Dash, ctx: AppContext) -> None:
    """Register the builder's callbacks on ``app``."""

    @app.callback(
        Output("builder-form", "children"),
        Output("builder-base", "data"),
        Output("builder-description", "children"),
        Output(CROWD_STORE, "data"),
        Input("builder-file", "value"),
    )
    def load_file(name: str | None) -> tuple[Any, Any, Any, Any]:
        if not name:
            return html.Div("No scenarios found.", className="empty"), None, "", []
        try:
            scenario, raw, _ = _load(ctx, name)
        except ScenarioError as exc:
            return html.Div(str(exc), className="alert alert-error"), None, "", []
        fieldsets, initial = form(scenario, raw, storms=_storms(ctx))
        base = {"file": name, "raw": raw, "initial": initial}
        return fieldsets, base, scenario.description.strip(), []

    @app.callback(
        Output({"type": "field-error", "path": ALL}, "children"),
        Output({"type": "field-box", "path": ALL}, "className"),
        Output({"type": "group-error", "group": ALL}, "children"),
        Output("builder-status", "children"),
        Input({"type": "field", "path": ALL}, "value"),
        Input(CROWD_STORE, "data"),
        State({"type": "field", "path": ALL}, "id"),
        State({"type": "group-error", "group": ALL}, "id"),
        State("builder-base", "data"),
    )
    def validate(
        values: list[Any],
        added: list[dict[str, Any]] | None,
        ids: list[dict[str, str]],
        group_ids: list[dict[str, str]],
        base: dict[str, Any] | None,
    ) -> tuple[Any, Any, Any, Any]:
        paths = [i["path"] for i in ids]
        if base is None or not paths:
            return [""] * len(paths), ["field"] * len(paths), [""] * len(group_ids), None
        _, edits, _, message = _collect_form(ctx, values, ids, base, added)
        values_by_path = dict(zip(paths, values, strict=True))
        by_field = schema.errors_by_field(message) if message else {}
        field_msgs = {p: "; ".join(by_field.get(p, [])) for p in paths}
        placed = {p for p in paths if by_field.get(p)}
        group_of = _groups(paths)
        group_msgs: dict[str, list[str]] = {}
        unplaced: list[str] = []
        for where, msgs in by_field.items():
            if where in placed:
                continue
            # A section-level message (e.g. 'hydro: closed_depth must exceed ...') goes to
            # the group holding that section's fields.
            group = next((group_of[p] for p in paths if where and p.startswith(where + ".")), None)
            if group is not None:
                group_msgs.setdefault(group, []).extend(f"{where}: {m}" for m in msgs)
            else:
                unplaced.extend(f"{where}: {m}" if where else m for m in msgs)
        return (
            [field_msgs[p] for p in paths],
            [_field_class(p, field_msgs[p], values_by_path) for p in paths],
            ["; ".join(group_msgs.get(g["group"], [])) for g in group_ids],
            _status(message, len(edits), unplaced),
        )

    @app.callback(
        *queue_outputs("builder"),
        Input("builder-run", "n_clicks"),
        *_FORM,
        prevent_initial_call=True,
    )
    def run(
        n_clicks: int,
        values: list[Any],
        ids: list[dict[str, str]],
        base: dict[str, Any] | None,
        added: list[dict[str, Any]] | None,
    ) -> tuple[Any, Any]:
        if not n_clicks or base is None:
            raise dash.exceptions.PreventUpdate
        scenario, _, _, _message = _collect_form(ctx, values, ids, base, added)
        if scenario is None:
            return dash.no_update, html.Span(NOT_RUN, className="field-error")
        path = ctx.scenario_path(base["file"])
        return queued(ctx.runner.submit_run(scenario, base_dir=path.parent if path else None))

    @app.callback(
        Output("builder-job-text", "children", allow_duplicate=True),
        Input("builder-status", "children"),
        State("builder-job-text", "children"),
        prevent_initial_call=True,
    )
    def clear_not_run(status: Any, text: Any) -> Any:
        # "Not run: fix the marked fields first." is about the form as it was: once the
        # form is valid again it is stale, and goes.
        valid = isinstance(status, dict) and status.get("props", {}).get("id") == "builder-valid"
        if valid and NOT_RUN in str(text):
            return None
        raise dash.exceptions.PreventUpdate

    register_progress(
        app,
        ctx,
        "builder",
        failed="The run failed: ",
        done=_finished,
        outputs=[Output("builder-kpis", "children")],
        on_failure=[None],
        running=lambda snap: (
            f"{snap['label']}: {snap['stage']} ({100 * snap['progress']:.0f}% of horizon)"
        ),
        error_id="builder-run-error",
    )

    _register_upload(app, ctx)
    register_crowd_events(app, CROWD_STORE)

    @app.callback(
        Output("builder-save-message", "children"),
        Output("builder-file", "options"),
        Input("builder-save", "n_clicks"),
        State("builder-save-name", "value"),
        *_FORM,
        prevent_initial_call=True,
    )
    def save(
        n_clicks: int,
        name: str | None,
        values: list[Any],
        ids: list[dict[str, str]],
        base: dict[str, Any] | None,
        added: list[dict[str, Any]] | None,
    ) -> tuple[Any, Any]:
        if not n_clicks or base is None:
            raise dash.exceptions.PreventUpdate
        try:
            file_name = schema.safe_file_name(name or "")
        except ScenarioError as exc:
            return html.Div(str(exc), className="alert alert-error"), dash.no_update
        scenario, edits, data, _message = _collect_form(ctx, values, ids, base, added)
        if scenario is None:
            return html.Div(
                "Not saved: fix the marked fields first.", className="alert alert-error"
            ), dash.no_update
        target = ctx.save_dir / file_name
        if target.exists():
            return html.Div(
                f"{file_name} already exists; choose another name.", className="alert alert-error"
            ), dash.no_update
        changed = dict(edits)
        if added:
            changed["crowds.events"] = f"{len(added)} event(s) added"
        text = schema.scenario_yaml(data, based_on=base["file"], changed=changed)
        try:
            ctx.save_dir.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            load_scenario(target)  # what `twin run` will read back
        except (OSError, ScenarioError) as exc:
            return html.Div(f"Not saved: {exc}", className="alert alert-error"), dash.no_update
        files = ctx.scenario_names()
        return (
            html.Div(
                f"Saved {target}. Run it with: twin run {target}",
                className="alert alert-ok",
                id="builder-saved",
            ),
            files,
        )


def _register_upload(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("builder-upload-message", "children"),
        Output("builder-file", "options", allow_duplicate=True),
        Output("builder-file", "value"),
        Input("builder-upload", "contents"),
        State("builder-upload", "filename"),
        prevent_initial_call=True,
    )
    def upload(contents: str | None, filename: str | None) -> tuple[Any, Any, Any]:
        if not contents:
            raise dash.exceptions.PreventUpdate
        try:
            path = save_upload(contents, filename or "", ctx.save_dir)
        except ScenarioError as exc:
            return (
                html.Div(f"Not uploaded: {exc}", className="alert alert-error"),
                dash.no_update,
                dash.no_update,
            )
        message = html.Div(f"Uploaded as {path}.", className="alert alert-ok")
        return message, ctx.scenario_names(), path.name


def _finished(job: Job) -> tuple[Any, Any]:
    """The status line of a finished run (links to its results and map), its KPI cards."""
    assert job.result is not None
    text = [
        html.Strong("Finished "),
        f"{job.label} in {job.wall_s or 0.0:.1f} s. ",
        dcc.Link("Results", href="/results"),
        " · ",
        dcc.Link("Map", href="/map"),
    ]
    return text, kpi_cards(job.result)


def _field_class(path: str, message: str, values: dict[str, Any]) -> str:
    """A field's classes: ``invalid`` with a message, ``off`` when it does not apply.

    Storm fields apply to their kind of rain only (a design storm's return period, a
    catalogue event, a radar event), truck fields only with the trucks on. A field with
    a message is always shown.
    """
    if message:
        return "field invalid"
    return "field off" if not schema.applies(path, values) else "field"


def _groups(paths: list[str]) -> dict[str, str]:
    """The group of each field path (from the curated groups)."""
    out: dict[str, str] = {}
    for path in paths:
        generic = ".".join("{i}" if part.isdigit() else part for part in path.split("."))
        for group, fields in schema.FIELD_GROUPS:
            if any(p == generic for p, _ in fields):
                out[path] = group
                break
    return out
