"""The terminal of the ``twin`` command: consoles, progress steps, one-line errors.

Results go to standard output (:data:`console`); progress bars, logs and errors go to
standard error (:data:`err_console`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

__all__ = [
    "DEFAULT_OUT",
    "WarningHandler",
    "console",
    "err_console",
    "print_error",
    "print_warning",
    "steps",
]

console = Console(stderr=False)
err_console = Console(stderr=True)

#: Where commands write when no ``--out`` is given.
DEFAULT_OUT = Path("twin-out")


@contextmanager
def steps(total: int, description: str) -> Iterator[Callable[[str], None]]:
    """A progress bar advanced by a callback that names the step starting now."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)
        started = [False]

        def advance(message: str) -> None:
            if started[0]:
                progress.advance(task)
            started[0] = True
            progress.update(task, description=f"{description}: {message}")

        yield advance
        progress.update(task, completed=total)


def print_warning(message: str) -> None:
    """A warning as one line on standard error: ``warning: <message>``."""
    err_console.print(
        f"[bold yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True
    )


def print_error(exc: BaseException) -> None:
    """An error as one line on standard error: ``error: <message>``."""
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)


class WarningHandler(logging.Handler):
    """Warnings and errors logged by the library, each once, as one line on standard error.

    ``warning: <message>``; the same message logged again (by each replication of a
    comparison, say) is shown only the first time.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self._seen: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        """Print the record unless the same message was printed already."""
        try:
            msg = record.getMessage()
        except Exception:  # a malformed log call must not stop a command
            self.handleError(record)
            return
        if msg in self._seen:
            return
        self._seen.add(msg)
        label = "warning" if record.levelno < logging.ERROR else "error"
        colour = "yellow" if label == "warning" else "red"
        err_console.print(
            f"[bold {colour}]{label}:[/] {escape(msg)}", highlight=False, soft_wrap=True
        )
