"""The app factory: the page shell, routing between pages, polling and error handling.

All pages are in the page at once and the address only chooses which one is shown, so
nothing typed on one page is lost by visiting another. A ``dcc.Interval`` polls the job
runner once a second with one request; ``jobs-state`` changes only when a job is
queued, moves on or ends (the pages' progress bars listen to it) and ``runs-version``
when the set of jobs changes (the pages' menus of runs listen to it).

Errors: callbacks turn the errors they expect into messages next to what caused them;
anything else is caught by the app's ``on_error`` handler, logged with its traceback on
the server, and shown on the page as one line in a banner. The page never shows a
traceback (unless the app was started with ``debug=True``).
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import dash
from dash import Dash, Input, Output, State, dcc, html

from dash_app.context import AppContext
from dash_app.files import register_files
from dash_app.i18n import LANGUAGES, script
from dash_app.jobs import JobRunner, failure_message
from dash_app.library import RunLibrary
from dash_app.pages import builder, compare, map, results
from dash_app.progress import JOBS_STATE
from dash_app.theme import INDEX_STRING

__all__ = ["DEFAULT_SCENARIOS_DIR", "create_app", "pages"]

logger = logging.getLogger(__name__)

#: How often the page asks the runner for news [ms].
POLL_MS = 1000

#: The repository's scenarios folder (the builder's default).
DEFAULT_SCENARIOS_DIR = Path(__file__).resolve().parents[1] / "scenarios"


def pages() -> list[ModuleType]:
    """The page modules, in menu order (pages whose twin modules are missing left out)."""
    found: list[ModuleType] = [builder, map, results, compare]
    from dash_app.pages import optional_pages

    found.extend(optional_pages())
    return found


def _shell(ctx: AppContext, modules: list[ModuleType]) -> html.Div:
    nav = [dcc.Link(m.TITLE, href=m.PATH, id=f"nav-{m.PATH.strip('/')}") for m in modules]
    return html.Div(
        [
            dcc.Location(id="url"),
            dcc.Interval(id="poll", interval=POLL_MS),
            dcc.Store(id="runs-version", data=-1),
            dcc.Store(id=JOBS_STATE, data=None),
            dcc.Store(id="lang", storage_type="local"),
            html.Header(
                [
                    html.Div(
                        ["city-twin", html.Small("Gongshu what-if planner")], className="brand"
                    ),
                    html.Nav(nav, className="pages"),
                    html.Div(id="queue-status", className="queue"),
                    html.Div(
                        [
                            html.Button(
                                name,
                                id=f"lang-{code}",
                                n_clicks=0,
                                lang=code,
                                title="Interface language",
                            )
                            for code, name in LANGUAGES
                        ],
                        className="lang-switch",
                        id="lang-switch",
                    ),
                ],
                className="topbar",
            ),
            html.Main(
                [
                    html.Div(
                        [
                            html.Span(id="app-error-text"),
                            html.Button(
                                "dismiss",
                                id="app-error-close",
                                className="btn small secondary",
                                n_clicks=0,
                                style={"marginLeft": "1rem"},
                            ),
                        ],
                        id="app-error",
                        className="alert alert-error",
                        hidden=True,
                    ),
                    *[
                        html.Div(m.layout(ctx), id=f"page-{m.PATH.strip('/')}", hidden=True)
                        for m in modules
                    ],
                    html.Div(
                        ["No such page. ", dcc.Link("Go to the builder", href=builder.PATH)],
                        id="page-not-found",
                        className="empty panel",
                        hidden=True,
                    ),
                ],
                className="content",
            ),
        ]
    )


def create_app(
    *,
    scenarios_dir: str | Path | None = None,
    save_dir: str | Path | None = None,
    keep_runs: int = 30,
    preload_network: bool = True,
    debug: bool = False,
    runs_dir: str | Path | None = None,
) -> Dash:
    """Build the planners' what-if app.

    Parameters
    ----------
    scenarios_dir
        Folder of scenario YAML files offered by the builder (default: the repository's
        ``scenarios/``).
    save_dir
        Folder where *Save as YAML* writes new scenarios (default: ``scenarios_dir``).
    keep_runs
        Finished runs kept in memory for the map, results and comparison pages.
    preload_network
        Load the default road network in the background at once (the map's base map,
        and a quick first run).
    debug
        Let Dash show its developer tools (tracebacks included). Off for planners.
    runs_dir
        The run library: every finished run is written there as a run folder (what
        ``twin run`` writes) and read back when the app starts, so runs survive a
        restart (:mod:`dash_app.library`). Default: a temporary folder, removed when the
        process ends (downloads work; nothing survives a restart).

    Returns
    -------
    dash.Dash
        The app; ``app.run(host, port)`` serves it, ``app.server`` is its Flask app.
        Everything it serves comes from the Python packages (``serve_locally``): it
        needs no internet.
    """
    scen = Path(scenarios_dir) if scenarios_dir is not None else DEFAULT_SCENARIOS_DIR
    scratch = None
    if runs_dir is None:
        scratch = tempfile.TemporaryDirectory(prefix="city-twin-runs-")
        runs_dir = scratch.name
    ctx = AppContext(
        scenarios_dir=scen,
        save_dir=Path(save_dir) if save_dir is not None else scen,
        runner=JobRunner(keep=keep_runs, library=RunLibrary(runs_dir)),
    )
    ctx.scratch = scratch  # kept as long as the app: removed with it
    if preload_network:
        ctx.load_network()
    modules = pages()

    def on_error(err: Exception) -> None:
        logger.error("Callback failed", exc_info=err)
        dash.set_props(
            "app-error-text", {"children": f"Something went wrong: {failure_message(err)}"}
        )
        dash.set_props("app-error", {"hidden": False})

    app = Dash(
        __name__,
        title="city-twin · what-if planner",
        serve_locally=True,
        update_title="",
        include_assets_files=False,
        on_error=None if debug else on_error,
    )
    # The translating script goes in the head, so that it sees the page as it is drawn.
    app.index_string = INDEX_STRING.replace("</head>", f"<script>{script()}</script>\n</head>")
    app.layout = _shell(ctx, modules)
    app.twin_context = ctx  # type: ignore[attr-defined]
    _register_shell(app, ctx, modules)
    register_files(app.server, ctx)
    for m in modules:
        m.register(app, ctx)
    return app


def _register_shell(app: Dash, ctx: AppContext, modules: list[ModuleType]) -> None:
    page_ids = [f"page-{m.PATH.strip('/')}" for m in modules]
    nav_ids = [f"nav-{m.PATH.strip('/')}" for m in modules]

    # Which page shows is decided in the browser: the first page appears as soon as the
    # renderer starts, not after a request queued behind the pages' first callbacks.
    paths = json.dumps([m.PATH for m in modules])
    app.clientside_callback(  # type: ignore[no-untyped-call]
        f"""
        function (pathname) {{
            var paths = {paths};
            var path = (pathname || "/").replace(/\\/+$/, "") || "/";
            if (path === "/") {{ path = {json.dumps(builder.PATH)}; }}
            var shown = paths.map(function (p) {{ return p === path; }});
            return shown.map(function (s) {{ return !s; }})
                .concat([shown.indexOf(true) >= 0])
                .concat(shown.map(function (s) {{ return s ? "active" : ""; }}));
        }}
        """,
        [Output(p, "hidden") for p in page_ids],
        Output("page-not-found", "hidden"),
        [Output(n, "className") for n in nav_ids],
        Input("url", "pathname"),
    )

    @app.callback(
        Output("runs-version", "data"),
        Output("queue-status", "children"),
        Output(JOBS_STATE, "data"),
        Input("poll", "n_intervals"),
        State("runs-version", "data"),
        State(JOBS_STATE, "data"),
    )
    def poll(_: int, version: int | None, jobs: Any) -> tuple[Any, Any, Any]:
        # One cheap request per tick; the pages hear only of changes (their progress
        # callbacks listen to `jobs-state`, their menus of runs to `runs-version`), since
        # every callback costs the browser work in proportion to the page's size.
        now = ctx.runner.version
        active = [j for j in ctx.runner.jobs() if j.status in ("queued", "running")]
        state = {"version": now, "active": {j.id: [j.status, round(j.progress, 2), j.stage]
                                            for j in active}}  # fmt: skip
        if version == now and jobs == state:
            raise dash.exceptions.PreventUpdate
        done = len(ctx.runner.finished_runs())
        status = f"{done} run{'s' if done != 1 else ''} · shared by every tab"
        if active:
            status = f"{len(active)} job{'s' if len(active) > 1 else ''} in progress · " + status
        return (now if version != now else dash.no_update), status, state

    # The interface language: a click on a language, else ``?lang=`` in the address, else
    # what this browser chose last time (the ``lang`` store keeps it in localStorage).
    app.clientside_callback(  # type: ignore[no-untyped-call]
        """
        function (en, zh, search, stored) {
            var trig = (dash_clientside.callback_context.triggered || [])
                .map(function (t) { return t.prop_id; }).join(" ");
            if (trig.indexOf("lang-en.") >= 0) return "en";
            if (trig.indexOf("lang-zh-CN.") >= 0) return "zh-CN";
            var m = /[?&]lang=([^&]+)/.exec(search || "");
            if (m) return decodeURIComponent(m[1]).toLowerCase().indexOf("zh") === 0
                ? "zh-CN" : "en";
            return stored || "en";
        }
        """,
        Output("lang", "data"),
        Input("lang-en", "n_clicks"),
        Input("lang-zh-CN", "n_clicks"),
        Input("url", "search"),
        State("lang", "data"),
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        """
        function (lang) {
            var l = window.twinI18n ? window.twinI18n.set(lang) : "en";
            return [l === "en" ? "active" : "", l === "zh-CN" ? "active" : ""];
        }
        """,
        Output("lang-en", "className"),
        Output("lang-zh-CN", "className"),
        Input("lang", "data"),
    )

    @app.callback(
        Output("app-error", "hidden", allow_duplicate=True),
        Input("app-error-close", "n_clicks"),
        prevent_initial_call=True,
    )
    def dismiss(_: int) -> bool:
        return True
