"""The ``twin`` command line.

Only this package (and the app) configures logging and writes to the terminal. Every
:class:`~twin.errors.TwinError` becomes a one-line message and exit status 1, with no
traceback; ``--debug`` shows the traceback.

One module per command group: :mod:`~twin.cli.network` (``twin network``),
:mod:`~twin.cli.run` (``twin run``, ``twin compare``), :mod:`~twin.cli.rain` (``twin
rain``), :mod:`~twin.cli.demo` (``twin demo``), :mod:`~twin.cli.sweep` (``twin sweep``,
``twin report``); :mod:`~twin.cli._console` holds the consoles, progress steps and the
one-line error. The groups that live beside their models (``twin trucks``, ``twin
forecast``, ``twin place``, ``twin live``, ``twin app``, ``twin rain radar``) are
registered by name. Every command is imported on first use (:mod:`~twin.cli._group`),
so ``twin --help`` imports no model and a command imports only what it needs.
"""

from __future__ import annotations

import gc
import importlib
import logging
import sys
from collections.abc import Mapping
from typing import Annotated, ClassVar

import typer
from rich.logging import RichHandler
from rich.markup import escape

from twin import __version__
from twin.cli._console import WarningHandler, console, err_console, print_error
from twin.cli._group import LazyCommand, LazyGroup
from twin.errors import TwinError

__all__ = ["app", "main"]


class _TwinGroup(LazyGroup):
    """``twin``: its commands in the order ``twin --help`` lists them."""

    lazy_commands: ClassVar[Mapping[str, LazyCommand]] = {
        "place": LazyCommand(
            "twin.placement.cli:place",
            help="Place sensors under a budget; write the placement (GeoJSON) and a report.",
        ),
        "app": LazyCommand(
            "dash_app.cli:app_command",
            help="Start the what-if app: build, run and compare scenarios in the browser.",
        ),
        "run": LazyCommand("twin.cli.run:run"),
        "compare": LazyCommand("twin.cli.run:compare"),
        "demo": LazyCommand("twin.cli.demo:demo"),
        "sweep": LazyCommand("twin.cli.sweep:sweep"),
        "report": LazyCommand("twin.cli.sweep:report_cmd"),
        "network": LazyCommand("twin.cli.network:app"),
        "rain": LazyCommand("twin.cli.rain:app"),
        "trucks": LazyCommand(
            "twin.trucks.cli:app",
            help="Muck trucks (渣土统管): sites → docks, bans, violations, sensors, trace-back.",
        ),
        "forecast": LazyCommand(
            "twin.forecast.cli:app",
            help="Waterlogging forecasts at the low points: train, calibrate the physics "
            "ensemble's bands, evaluate (backtests on held-out storms) and predict with CAP 1.2 "
            "alerts.",
        ),
        "live": LazyCommand(
            "twin.live.cli:app",
            help="The live service: ingest sensor readings, forecast waterlogging at every low "
            "point, push CAP 1.2 alerts to webhooks. Without a command: serve.",
        ),
    }


app = typer.Typer(
    name="twin",
    cls=_TwinGroup,
    help=(
        "A city-operations digital twin on a real OpenStreetMap road network "
        "(default: Gongshu district, Hangzhou).\n\n"
        "Start with `twin demo`, which builds the Gongshu twin and writes its maps."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    add_completion=False,
)

_STATE: dict[str, bool] = {"debug": False}


def _version(value: bool) -> None:
    if value:
        console.print(f"twin {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    _STATE["debug"] = debug
    # Warnings: one line each, once. Progress details (-v, --debug): rich log lines.
    details = RichHandler(console=err_console, show_path=False)
    details.addFilter(lambda record: record.levelno < logging.WARNING)
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[WarningHandler(), details],
        force=True,
    )


def _click_errors(name: str) -> tuple[type[BaseException], ...]:
    """Click's exception ``name``: typer's own copy of click (recent typer), else click."""
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            return (getattr(importlib.import_module(module), name),)
        except (ImportError, AttributeError):
            continue
    return ()  # pragma: no cover


def _usage_line(exc: BaseException) -> str:
    """A usage error (bad option value, missing argument, unknown command) as one line."""
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    ctx = getattr(exc, "ctx", None)
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    return " ".join(f"{message}{hint}".split())


def main() -> None:
    """Entry point: run the app, turning twin errors and usage errors into one line.

    Exit status: 0 on success, 1 for a :class:`~twin.errors.TwinError`, 2 for a usage
    error (an option value of the wrong type, a missing argument, an unknown command),
    or the status a command chose (``twin sweep``: 3 when some runs failed).
    """
    no_args, usage = _click_errors("NoArgsIsHelpError"), _click_errors("ClickException")
    try:
        code = app(standalone_mode=False)
    except TwinError as exc:
        if _STATE["debug"]:
            raise
        print_error(exc)
        sys.exit(1)
    except no_args:
        sys.exit(2)  # the help was printed (``no_args_is_help``)
    except typer.Abort:
        err_console.print("[bold red]error:[/] aborted", highlight=False)
        sys.exit(1)
    except usage as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(_usage_line(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(int(getattr(exc, "exit_code", 2)))
    # The process ends here, its outputs written and closed: leave what is alive out of
    # the collections the interpreter runs as it exits, which would walk the whole heap
    # (0.1–0.4 s after `twin run`, by the machine's load).
    gc.freeze()
    sys.exit(code if isinstance(code, int) else 0)
