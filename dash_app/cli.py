"""``twin app``: serve the planners' what-if app on this machine.

Register it in the ``twin`` command with ``app.command("app")(app_command)``. Only
``typer`` is imported here at import time, so registering the command costs nothing
until it runs.
"""

from __future__ import annotations

import errno
import logging
import socket
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app_command"]


def _check_port(host: str, port: int) -> None:
    """Raise a clear error when the address cannot be served on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise typer.BadParameter(f"unknown host {host!r}; use e.g. 127.0.0.1") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise typer.BadParameter(
                    f"port {port} on {host} is already in use; pick another with --port"
                ) from None
            raise typer.BadParameter(f"cannot serve on {host}:{port} ({exc.strerror})") from None


def app_command(
    host: Annotated[
        str, typer.Option(help="Address to serve on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.", min=1, max=65535)] = 8050,
    debug: Annotated[
        bool, typer.Option("--debug", help="Dash developer tools (they show tracebacks).")
    ] = False,
    scenarios: Annotated[
        Path | None,
        typer.Option(
            help="Folder of scenario YAML files \\[default: the repository's scenarios/]."
        ),
    ] = None,
    save_dir: Annotated[
        Path | None,
        typer.Option(help="Folder for scenarios saved from the app \\[default: --scenarios]."),
    ] = None,
) -> None:
    """Start the what-if app: build, run and compare scenarios in the browser.

    Works offline: the base map is the twin's own road network (no map tiles) and
    plotly.js is served by the app itself. Stop it with Ctrl+C.
    """
    if scenarios is not None and not scenarios.is_dir():
        raise typer.BadParameter(f"{scenarios}: no such folder of scenarios")
    _check_port(host, port)
    if not debug:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    from dash_app.app import create_app

    app = create_app(scenarios_dir=scenarios, save_dir=save_dir, debug=debug)
    typer.echo(f"The what-if app is at http://{host}:{port}/  (Ctrl+C stops it)")
    app.run(host=host, port=port, debug=debug, use_reloader=False, dev_tools_hot_reload=False)
