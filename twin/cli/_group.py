"""Command groups whose commands are imported on first use.

A :class:`LazyGroup` lists its commands by where they live (``"module:attribute"``); a
command's module, and the models it imports, load only when that command runs or shows
its own help. Listing the group (``twin --help``) shows each command's one-line help
from :attr:`LazyCommand.help` without importing anything; a command declared without it
is imported to be listed, which is fine for the light modules of :mod:`twin.cli`.

Typer builds the same command objects as it would for ``app.add_typer(sub_app,
name=...)`` or ``app.command(name)(function)``: the help pages and the parsing do not
change with laziness.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from twin.errors import TwinError

if TYPE_CHECKING:
    # The click that typer itself uses (recent typer ships its own copy of click).
    from typer._click import Command, Context, HelpFormatter
    from typer.core import MarkupMode

__all__ = ["CommandUnavailableError", "LazyCommand", "LazyGroup"]

logger = logging.getLogger(__name__)


class CommandUnavailableError(TwinError, ImportError):
    """An optional command's module is missing or fails to import."""


@dataclass(frozen=True)
class LazyCommand:
    """A command or command group registered by where it lives.

    Parameters
    ----------
    target
        ``"module:attribute"``: a :class:`typer.Typer` (a command group) or a function (a
        command).
    help
        The one-line help the parent group lists: the first paragraph of the command's
        own help. With it, listing the parent imports nothing; without it, listing
        imports ``target``. ``tests/cli/test_lazy.py`` checks that it matches.
    optional
        The module may be missing (being written, or an extra not installed). When it
        cannot be imported, the parent's help leaves the command out and running it is a
        one-line error.
    """

    target: str
    help: str | None = None
    optional: bool = False

    @property
    def module(self) -> str:
        """The module the command lives in."""
        return self.target.partition(":")[0]

    def load(self, name: str, *, rich_markup_mode: MarkupMode) -> Command:
        """Import the target and build its command, as typer would for the parent."""
        obj = getattr(importlib.import_module(self.module), self.target.partition(":")[2])
        shell = typer.Typer(rich_markup_mode=rich_markup_mode)
        if isinstance(obj, typer.Typer):
            shell.add_typer(obj, name=name)
        else:
            shell.command(name)(obj)
        return typer.main.get_group(shell).commands[name]


class _Stub(TyperCommand):
    """Stands in for a command not imported yet: its name and one-line help only."""

    def __init__(self, name: str, spec: LazyCommand) -> None:
        super().__init__(name, short_help=spec.help)
        self.spec = spec


class LazyGroup(TyperGroup):
    """A typer group with commands from :attr:`lazy_commands`, imported on first use.

    Subclass it with ``lazy_commands`` set and pass the subclass as ``cls`` to
    :class:`typer.Typer`. Commands registered the usual way (``@app.command()``) come
    first, then the lazy ones in the order of ``lazy_commands``.
    """

    #: Command name → where it lives.
    lazy_commands: ClassVar[Mapping[str, LazyCommand]] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._listing = False
        for name, spec in self.lazy_commands.items():
            # Stubs in ``commands`` keep typer's order and its "Did you mean ...?".
            self.commands.setdefault(name, _Stub(name, spec))

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        """The command ``cmd_name``, imported now unless only its one-line help is asked."""
        cmd = self.commands.get(cmd_name)
        if not isinstance(cmd, _Stub):
            return cmd
        spec = cmd.spec
        if self._listing and spec.help is not None:
            return cmd
        try:
            real = spec.load(cmd_name, rich_markup_mode=self.rich_markup_mode)
        except Exception as exc:
            if not spec.optional:
                raise
            where = f"{ctx.command_path} {cmd_name}"
            if self._listing:
                # A module not written yet is expected; one that fails to import is a bug.
                missing = isinstance(exc, ModuleNotFoundError) and exc.name == spec.module
                level = logging.DEBUG if missing else logging.WARNING
                logger.log(level, "%s left out of the help: %s: %s", where, type(exc).__name__, exc)
                return None
            raise CommandUnavailableError(
                f"`{where}` is not available: {type(exc).__name__}: {exc}"
            ) from exc
        self.commands[cmd_name] = real
        return real

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        """The group's help page; the commands listed show their one-line help only."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
