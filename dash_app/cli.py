"""``twin app``: serve the planners' what-if app on this machine.

Register it in the ``twin`` command with ``app.command("app")(app_command)``. Only
``typer`` is imported here at import time, so registering the command costs nothing
until it runs.

The app is served by waitress, a production WSGI server (:func:`serve`); Dash's
development server (Flask's, with the developer tools that show tracebacks) only
with ``--debug``.
"""

from __future__ import annotations

import errno
import logging
import socket
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["THREADS", "BackgroundServer", "app_command", "make_server", "serve"]

#: Request threads of the WSGI server (the page polls once a second; runs are on the
#: app's own worker thread, never in a request).
THREADS = 8


def make_server(wsgi_app: Any, host: str, port: int, *, threads: int = THREADS) -> Any:
    """A waitress server of a WSGI app, bound and not yet serving (``.run()`` serves).

    Parameters
    ----------
    wsgi_app
        The WSGI application (a Dash app's ``app.server``).
    host, port
        The address to serve on (port 0: a free port, see ``.effective_port``).
    threads
        Request threads.
    """
    from waitress.server import create_server  # type: ignore[import-untyped]

    return create_server(wsgi_app, host=host, port=port, threads=threads, ident="city-twin")


class BackgroundServer:
    """A WSGI app served by waitress on a thread (tests, notebooks); :meth:`stop` ends it.

    The server's loop runs in short turns and checks between them whether to stop, so
    that its sockets are closed only after the loop has let go of them.

    Parameters
    ----------
    wsgi_app
        The WSGI application (a Dash app's ``app.server``).
    host, port
        The address (port 0: a free port, see :attr:`port`).
    threads
        Request threads.
    """

    def __init__(
        self, wsgi_app: Any, host: str = "127.0.0.1", port: int = 0, *, threads: int = THREADS
    ) -> None:
        self.server = make_server(wsgi_app, host, port, threads=threads)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="twin-app-server", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        """The port served on."""
        return int(self.server.effective_port)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.server.asyncore.loop(timeout=0.2, map=self.server._map, count=1)

    def stop(self) -> None:
        """Stop serving: end the loop, then close the sockets and the request threads."""
        self._stopping.set()
        self._thread.join(timeout=60)
        self.server.close()
        self.server.task_dispatcher.shutdown()


def serve(wsgi_app: Any, host: str, port: int, *, threads: int = THREADS) -> None:
    """Serve a WSGI app with waitress (:func:`make_server`) until Ctrl+C."""
    server = make_server(wsgi_app, host, port, threads=threads)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


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


def _import_dash_for_a_server() -> None:
    """Import Dash without its notebook support: ``twin app`` is never run in a notebook.

    Dash imports IPython when it is installed (to run in Jupyter); hiding it while Dash
    is imported saves about half a second of the app's start.
    """
    if "dash" in sys.modules or "IPython" in sys.modules:
        return
    sys.modules["IPython"] = None  # type: ignore[assignment]  # `import IPython` fails
    try:
        import dash  # noqa: F401
    finally:
        del sys.modules["IPython"]


def app_command(
    host: Annotated[
        str, typer.Option(help="Address to serve on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.", min=1, max=65535)] = 8050,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Dash's development server and developer tools (they show tracebacks); "
            "without it the app is served by waitress.",
        ),
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
    runs: Annotated[
        Path | None,
        typer.Option(
            help="The run library: every run's folder (as `twin run` writes it), read back "
            "at start \\[default: $XDG_DATA_HOME/city-twin/app-runs]."
        ),
    ] = None,
) -> None:
    """Start the what-if app: build, run and compare scenarios in the browser.

    Works offline: the base map is the twin's own road network (no map tiles) and
    plotly.js is served by the app itself. Stop it with Ctrl+C.
    """
    if scenarios is not None and not scenarios.is_dir():
        raise typer.BadParameter(f"{scenarios}: no such folder of scenarios")
    _check_port(host, port)
    _import_dash_for_a_server()
    from dash_app.app import create_app
    from dash_app.library import default_runs_dir

    runs_dir = runs if runs is not None else default_runs_dir()
    app = create_app(scenarios_dir=scenarios, save_dir=save_dir, debug=debug, runs_dir=runs_dir)
    typer.echo(f"The what-if app is at http://{host}:{port}/  (Ctrl+C stops it)")
    typer.echo(f"Runs are kept in {runs_dir}")
    if debug:  # Dash's development server and developer tools: never for planners
        typer.echo("--debug: Dash's development server, with tracebacks in the page")
        app.run(host=host, port=port, debug=True, use_reloader=False, dev_tools_hot_reload=False)
        return
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # no line per busy poll
    serve(app.server, host, port)
