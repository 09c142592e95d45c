"""The terminal of the ``twin`` command: consoles, progress steps, one-line errors.

Results go to standard output (:data:`console`); progress bars, logs and errors go to
standard error (:data:`err_console`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

__all__ = ["DEFAULT_OUT", "console", "err_console", "print_error", "steps"]

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


def print_error(exc: BaseException) -> None:
    """An error as one line on standard error: ``error: <message>``."""
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
