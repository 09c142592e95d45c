"""The ``twin trucks`` commands: run a muck-truck day and write its results and plots.

Register with ``app.add_typer(twin.trucks.cli.app, name="trucks")``. Errors are raised as
:class:`~twin.trucks.errors.TruckError` (a :class:`~twin.errors.TwinError`), which the
``twin`` entry point prints as one line.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from twin.trucks.config import TrucksConfig
from twin.trucks.errors import TruckError

__all__ = ["app", "load_config"]

app = typer.Typer(
    help="Muck trucks (渣土统管): sites → docks, bans, violations, sensors, trace-back.",
    no_args_is_help=True,
)
console = Console()


@app.callback()
def _trucks() -> None:
    """Muck trucks (渣土统管): sites → docks, bans, violations, sensors, trace-back."""


def load_config(path: Path | None, **changes: Any) -> TrucksConfig:
    """A :class:`TrucksConfig` from a YAML file (a ``trucks:`` block or the config itself).

    Raises
    ------
    TruckError
        The file is missing, not YAML, or does not follow the schema (the message names
        the field).
    """
    data: dict[str, Any] = {}
    if path is not None:
        if not path.exists():
            raise TruckError(f"{path}: no such file; give a YAML file with a trucks: block")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise TruckError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(loaded, dict):
            raise TruckError(f"{path}: expected a mapping (a trucks: block), got {loaded!r}")
        data = dict(loaded.get("trucks", loaded))
    data.update({k: v for k, v in changes.items() if v is not None})
    data.setdefault("enabled", True)
    try:
        return TrucksConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TruckError(
            f"{path or '<options>'}: trucks.{where}: {first['msg']} "
            f"({exc.error_count()} error(s) in all)"
        ) from None


@app.command("run")
def run(
    config: Annotated[
        Path | None, typer.Argument(help="YAML with a trucks: block (default: the defaults).")
    ] = None,
    start: Annotated[str, typer.Option(help="Local start time, ISO 8601.")] = "2024-06-01T12:00",
    timezone: Annotated[str, typer.Option(help="IANA time zone of --start.")] = "Asia/Shanghai",
    hours: Annotated[float, typer.Option(help="Horizon [h].")] = 24.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    trips_per_day: Annotated[
        float | None, typer.Option(help="Rescale the sites' spoil to this many trips a day.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("twin-out/trucks"),
    plots: Annotated[bool, typer.Option(help="Write the HTML figures.")] = True,
) -> None:
    """Run a muck-truck day on the bundled Gongshu network; write tables, data and plots."""
    from twin.network import default_network
    from twin.trucks.plots import dock_queue_figure, on_road_figure, violation_map
    from twin.trucks.simulate import simulate_trucks

    cfg = load_config(config, trips_per_day=trips_per_day)
    try:
        t0 = datetime.fromisoformat(start)
        tz = ZoneInfo(timezone)
    except (ValueError, KeyError) as exc:
        raise TruckError(
            f"--start/--timezone: {exc}; e.g. 2024-06-01T12:00, Asia/Shanghai"
        ) from None
    if t0.tzinfo is None:
        t0 = t0.replace(tzinfo=tz)
    net = default_network()
    result = simulate_trucks(net, cfg, start=t0, horizon=hours * 3600.0, seed=seed)
    paths = result.write(out)
    if plots:
        figures = {
            "on_road": on_road_figure(result),
            "violations_map": violation_map(result),
            "dock_queues": dock_queue_figure(result),
        }
        for name, fig in figures.items():
            path = out / f"{name}.html"
            fig.write_html(path, include_plotlyjs=True, full_html=True)
            paths[name] = path
    table = Table(title=f"Muck trucks, {hours:g} h from {t0.isoformat()} (seed {seed})")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for k, v in result.kpis.items():
        table.add_row(k, f"{v:,.4g}")
    console.print(table)
    console.print(result.violation_summary().to_string())
    console.print(f"Wrote {len(paths)} files to {out}")
