"""``python -m twin.live``: the ``twin live`` commands on their own (same errors)."""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.markup import escape

from twin.errors import TwinError
from twin.live.cli import app


def main() -> None:
    """Run the ``twin live`` app; a twin error is one line and exit status 1."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("twin.live").setLevel(logging.INFO)
    try:
        app(prog_name="twin live")
    except TwinError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
