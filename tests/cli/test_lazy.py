"""Commands registered by name: listed without importing, loaded as typer would build them."""

from __future__ import annotations

import inspect
import logging
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from twin.cli import _TwinGroup, app, main
from twin.cli._group import CommandUnavailableError, LazyCommand, LazyGroup

runner = CliRunner()

#: `twin --help`, in its order.
COMMANDS = ["place", "app", "run", "compare", "demo", "sweep", "report",
            "network", "rain", "trucks", "forecast", "live"]  # fmt: skip


def listed(output: str) -> list[str]:
    """Command names in the boxes of a rich help page (not options, not wrapped lines)."""
    rows = [line[2:].split(" ")[0] for line in output.splitlines() if line.startswith("│ ")]
    return [r for r in rows if r and not r.startswith("-")]


def test_twin_help_lists_every_command_in_order() -> None:
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0, r.output
    assert listed(r.output) == COMMANDS
    assert list(_TwinGroup.lazy_commands) == COMMANDS


@pytest.mark.parametrize("name", COMMANDS)
def test_declared_help_is_the_commands_own(name: str) -> None:
    """A one-line help written in twin/cli/__init__.py is the first paragraph of the real one."""
    spec = _TwinGroup.lazy_commands[name]
    cmd = spec.load(name, rich_markup_mode="markdown")
    assert cmd.name == name
    if spec.help is not None:
        own = inspect.cleandoc(cmd.short_help or cmd.help or "").split("\n\n")[0]
        assert spec.help == own.replace("\n", " ").strip(), (
            f"the help of `twin {name}` changed in {spec.module}: update twin/cli/__init__.py"
        )


def test_mistyped_command_gets_a_suggestion() -> None:
    r = runner.invoke(app, ["rnu"])
    assert r.exit_code == 2
    assert "Did you mean 'run'?" in r.output


def fake_radar() -> types.ModuleType:
    radar = typer.Typer(help="Weather-radar rain: read, regrid, nowcast.", no_args_is_help=True)

    @radar.command("show")
    def show(path: str) -> None:
        """Describe a radar file."""
        typer.echo(f"radar {path}")

    module = types.ModuleType("twin.hydro.radar.cli")
    module.app = radar  # type: ignore[attr-defined]
    return module


def test_rain_radar_appears_once_it_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "twin.hydro.radar.cli", fake_radar())
    r = runner.invoke(app, ["rain", "--help"])
    assert r.exit_code == 0, r.output
    assert listed(r.output)[-4:] == ["show", "plot", "events", "radar"]
    assert "Weather-radar rain: read, regrid, nowcast." in r.output
    r = runner.invoke(app, ["rain", "radar", "show", "x.nc"])
    assert r.exit_code == 0, r.output
    assert r.output == "radar x.nc\n"


def test_real_radar_is_listed() -> None:
    import twin.hydro.radar.cli  # noqa: F401  (ships with the twin: it must import)

    r = runner.invoke(app, ["rain", "--help"])
    assert r.exit_code == 0, r.output
    assert listed(r.output)[-4:] == ["show", "plot", "events", "radar"]


def test_rain_help_without_radar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "twin.hydro.radar.cli", None)  # import fails
    r = runner.invoke(app, ["rain", "--help"])
    assert r.exit_code == 0, r.output
    assert listed(r.output)[-3:] == ["show", "plot", "events"]
    assert runner.invoke(app, ["--help"]).exit_code == 0


def test_missing_radar_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "twin.hydro.radar.cli", None)
    monkeypatch.setattr(sys, "argv", ["twin", "rain", "radar", "show", "x.nc"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: `"), lines[0]  # `twin` or `python -m ...`
    assert "rain radar` is not available: ModuleNotFoundError" in lines[0]


def test_optional_command_that_fails_to_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A module that exists but breaks: left out of the help with a warning, never hidden."""
    (tmp_path / "broken_cli_for_test.py").write_text("raise RuntimeError('half written')\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class Group(LazyGroup):
        lazy_commands: ClassVar[Mapping[str, LazyCommand]] = {
            "broken": LazyCommand("broken_cli_for_test:app", optional=True),
            "absent": LazyCommand("absent_cli_for_test:app", optional=True),
        }

    demo = typer.Typer(cls=Group, no_args_is_help=True, add_completion=False)

    @demo.command("ok")
    def ok() -> None:
        """Works."""

    @demo.callback()
    def root() -> None:
        """A group."""

    with caplog.at_level(logging.DEBUG, logger="twin.cli._group"):
        r = runner.invoke(demo, ["--help"])
    assert r.exit_code == 0, r.output
    assert listed(r.output) == ["ok"]
    levels = {rec.getMessage().split(" left out")[0].split(" ")[-1]: rec.levelno
              for rec in caplog.records}  # fmt: skip
    assert levels == {"broken": logging.WARNING, "absent": logging.DEBUG}
    r = runner.invoke(demo, ["broken"])
    assert isinstance(r.exception, CommandUnavailableError)
    assert "RuntimeError: half written" in str(r.exception)


def test_required_command_that_fails_to_import_is_not_hidden() -> None:
    class Group(LazyGroup):
        lazy_commands: ClassVar[Mapping[str, LazyCommand]] = {
            "gone": LazyCommand("absent_cli_for_test:app"),
        }

    demo = typer.Typer(cls=Group, no_args_is_help=True, add_completion=False)

    @demo.command("ok")
    def ok() -> None:
        """Works."""

    @demo.callback()
    def root() -> None:
        """A group."""

    r = runner.invoke(demo, ["--help"])
    assert isinstance(r.exception, ModuleNotFoundError)


def test_lazy_group_builds_what_typer_builds() -> None:
    """Loaded lazily or added eagerly, a sub-app gives the same help page."""
    from twin.cli.network import app as network_app

    eager = typer.Typer(rich_markup_mode="markdown")
    eager.add_typer(network_app, name="network")
    eager.command("unused")(lambda: None)
    a = runner.invoke(eager, ["network", "--help"], prog_name="twin")
    b = runner.invoke(app, ["network", "--help"], prog_name="twin")
    assert a.output == b.output
    assert typer.main.get_group(eager).commands["network"].help == (
        _TwinGroup.lazy_commands["network"].load("network", rich_markup_mode="markdown").help
    )
