"""Page 3a, results of one run: KPI cards, time series, targets, water, crowds, all KPIs."""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Dash, Input, Output, State, dcc, html

from dash_app.components import GRAPH_CONFIG, added_values, labelled, page_header, same_values
from dash_app.context import AppContext
from dash_app.figures import histogram_figure, local_times, series_figure
from dash_app.files import file_links
from dash_app.jobs import Job
from dash_app.kpis import kpi_cards, kpi_table
from twin.report.page import fmt_duration

__all__ = ["PATH", "TITLE", "files_panel", "layout", "register", "run_view"]

PATH = "/results"
TITLE = "Results"
#: Said on the page: one run library for the whole server, not one per tab.
SHARED_NOTE = (
    "The run library is shared by every browser tab and every user of this server: runs "
    "started elsewhere appear here too, and renaming or deleting a run changes it for "
    "everyone."
)


def layout(ctx: AppContext) -> html.Div:
    """The results page."""
    return html.Div(
        [
            *page_header(
                TITLE,
                "The headline numbers and time series of a run. Runs are made in the "
                "builder; the newest is shown when it finishes.",
            ),
            html.Div(
                [
                    labelled(
                        "Run",
                        dcc.Dropdown(
                            id="results-run",
                            options=[],
                            value=None,
                            clearable=False,
                            placeholder="no runs yet: run a scenario in the builder",
                        ),
                        kind="grow",
                    ),
                    dcc.Input(
                        id="results-name",
                        type="text",
                        placeholder="a new name for this run",
                        className="text-input",
                        debounce=False,
                    ),
                    html.Button(
                        "Rename", id="results-rename", n_clicks=0, className="btn secondary"
                    ),
                    dcc.ConfirmDialogProvider(
                        html.Button("Delete run", className="btn secondary"),
                        id="results-delete",
                        message="Delete this run and its files from the run library?",
                    ),
                ],
                className="panel row",
                style={"alignItems": "flex-end"},
            ),
            html.Div(
                [
                    html.Strong("Shared run library"),
                    html.Span(": ", className="no-i18n"),
                    html.Span(SHARED_NOTE),
                ],
                className="alert alert-info",
                id="results-shared-note",
            ),
            html.Div(id="results-library-message"),
            html.Div(id="results-body", children=_no_run()),
        ]
    )


def _no_run() -> html.Div:
    return html.Div(
        ["No run yet. ", dcc.Link("Build and run a scenario", href="/builder"), " first."],
        className="empty panel",
    )


def _facts(job: Job) -> html.Dl:
    result = job.result
    assert result is not None
    sc = result.scenario
    tz = sc.timezone
    start = pd.Timestamp(sc.start).tz_convert(tz)
    facts = [
        ("scenario", sc.name),
        ("start", f"{start:%Y-%m-%d %H:%M} ({tz})"),
        ("horizon", fmt_duration(sc.horizon)),
        ("seed", str(sc.seed)),
        ("dispatch policy", sc.dispatch.policy),
        ("crews", f"{sc.crews.count:,}"),
        (
            "rain",
            sc.rain.kind
            if sc.rain.kind != "design_storm"
            else f"design storm, {sc.rain.design_storm.return_period:g}-year, "
            f"{fmt_duration(sc.rain.design_storm.duration)}",
        ),
        ("wall time", f"{job.wall_s or 0.0:.1f} s"),
    ]
    if sc.rain.kind == "event":
        facts[6] = ("rain", f"catalogue storm {sc.rain.event}")
    elif sc.rain.kind == "radar" and sc.rain.radar is not None:
        facts[6] = ("rain", f"radar storm {sc.rain.radar.event} (transposed)")
    if sc.crowds.enabled and sc.crowds.events:
        text = "; ".join(
            f"{e.name} ({e.plaza}), {e.start:%Y-%m-%d %H:%M}–{e.end:%H:%M}, "
            f"{e.attendance:,.0f} people"
            for e in sc.crowds.events
        )
        facts.insert(-1, ("crowd events", text))
    if sc.trucks.enabled:
        fleet = sum(c.trucks for c in sc.trucks.companies)
        hours = f", sites open {sc.trucks.site_hours}" if sc.trucks.site_hours else ""
        facts.insert(-1, ("muck trucks", f"on: {fleet:,} trucks{hours}"))
    items: list[Any] = []
    for key, value in facts:
        # Names are shown as they are; the other values are translated with the page.
        named = key in ("scenario", "crowd events")
        items += [html.Dt(key), html.Dd(value, className="no-i18n" if named else None)]
    return html.Dl(items, className="facts")


def run_view(job: Job) -> list[Any]:
    """Everything the results page shows of one finished run."""
    result = job.result
    assert result is not None
    body: list[Any] = [
        html.Div([html.H2(job.label, className="no-i18n"), _facts(job)], className="panel"),
        html.Div(kpi_cards(result), id="results-kpis"),
        html.Div(
            [
                html.H2("Open cases and crews over time"),
                dcc.Graph(figure=series_figure(result), config=GRAPH_CONFIG),
            ],
            className="panel",
        ),
    ]
    if len(result.cases):
        body.append(
            html.Div(
                [
                    html.H2("Time from report to dispatch, arrival and resolution"),
                    dcc.Graph(figure=histogram_figure(result), config=GRAPH_CONFIG),
                ],
                className="panel",
            )
        )
    if "water_depth" in result.dataset:
        from twin.hydro.plots import water_figure

        hy = result.scenario.hydro
        fig = water_figure(
            result.dataset, local_times(result), impeded=hy.impeded_depth, closed=hy.closed_depth
        )
        body.append(
            html.Div(
                [
                    html.H2("Rain and water at the low points"),
                    dcc.Graph(figure=fig, config=GRAPH_CONFIG),
                ],
                className="panel",
            )
        )
    if result.crowds is not None:
        from twin.crowds.plots import crowd_figure

        fig = crowd_figure(result.crowds, result.scenario.timezone)
        body.append(
            html.Div(
                [html.H2("Crowds at the plazas"), dcc.Graph(figure=fig, config=GRAPH_CONFIG)],
                className="panel",
            )
        )
    body.append(html.Div([html.H2("All KPIs"), kpi_table(result.kpis)], className="panel"))
    body.append(files_panel(job))
    return body


def files_panel(job: Job) -> html.Div:
    """Links to download every file of the run's folder (``results-files``)."""
    if job.folder is None or not job.folder.is_dir():
        content: Any = html.Div(
            "This run's files could not be written (see the server log).", className="muted"
        )
    else:
        content = html.Ul(
            [
                html.Li(html.A(name, href=url, target="_blank", rel="noopener"))
                for name, url in file_links(job.id, job.folder)
            ],
            className="file-list",
        )
    return html.Div(
        [
            html.H2("Files of this run"),
            html.Div(
                [
                    "What `twin run` writes for this scenario: the data (NetCDF, Parquet, "
                    "CSV), the HTML report, CAP alerts. Kept in ",
                    html.Code(str(job.folder.parent) if job.folder else "–"),
                    ".",
                ],
                className="muted",
            ),
            content,
        ],
        className="panel",
        id="results-files",
    )


def register(app: Dash, ctx: AppContext) -> None:
    """Register the results page's callbacks on ``app``."""

    @app.callback(
        Output("results-run", "options"),
        Output("results-run", "value"),
        Input("runs-version", "data"),
        State("results-run", "value"),
        State("results-run", "options"),
    )
    def runs(_: Any, value: str | None, old: list[dict[str, Any]] | None) -> tuple[Any, Any]:
        options = ctx.run_options()
        if same_values(old, options):
            raise dash.exceptions.PreventUpdate
        new = added_values(old, options)
        if new:
            value = new[0]  # newest first: show the run that just finished
        elif value not in {o["value"] for o in options}:
            value = options[0]["value"] if options else None
        return options, value

    @app.callback(
        Output("results-library-message", "children"),
        Input("results-rename", "n_clicks"),
        Input("results-delete", "submit_n_clicks"),
        State("results-run", "value"),
        State("results-name", "value"),
        prevent_initial_call=True,
    )
    def manage(_: Any, __: Any, run_id: str | None, name: str | None) -> Any:
        job = ctx.runner.get(run_id)
        if job is None:
            return html.Div("Pick a run first.", className="alert alert-error")
        if dash.ctx.triggered_id == "results-delete":
            ctx.runner.delete(job.id)
            return html.Div(f"Deleted {job.label}.", className="alert alert-ok")
        new = (name or "").strip()
        if not new:
            return html.Div("Type the run's new name first.", className="alert alert-error")
        ctx.runner.rename(job.id, new)
        return html.Div(f"Renamed {job.id} to {new}.", className="alert alert-ok")

    @app.callback(Output("results-body", "children"), Input("results-run", "value"))
    def show(run_id: str | None) -> Any:
        job = ctx.runner.get(run_id)
        if job is None or job.result is None:
            return _no_run()
        return run_view(job)
