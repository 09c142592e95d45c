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

from twin.errors import ArgumentError
from twin.report.output_folder import check_output_folder, staged_outputs
from twin.seeds import check_seed
from twin.trucks.config import TrucksConfig
from twin.trucks.errors import TruckError

__all__ = ["OUTPUT_NAMES", "app", "load_config", "parse_start"]

#: What ``twin trucks run`` writes in its folder (data, tables and figures).
OUTPUT_NAMES = (
    "trucks.nc",
    "trips.parquet",
    "violations.parquet",
    "track.parquet",
    "kpis.csv",
    "site_profile.csv",
    "company_profile.csv",
    "on_road.html",
    "violations_map.html",
    "dock_queues.html",
)

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
        except UnicodeDecodeError as exc:
            raise TruckError(
                f"{path}: not UTF-8 text (byte at offset {exc.start}); save the file as UTF-8 "
                "YAML (a file from a GBK editor: iconv -f GB18030 -t UTF-8)"
            ) from None
        except yaml.YAMLError as exc:
            one_line = " ".join(str(exc).split())
            raise TruckError(f"{path}: not valid YAML ({one_line})") from None
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


def parse_start(start: str, timezone: str) -> datetime:
    """The start time: ``start`` read in ``timezone``; an offset must be the zone's.

    Raises
    ------
    ArgumentError
        ``start`` is not ISO 8601, ``timezone`` is not an IANA zone, or ``start`` has a
        UTC offset that ``timezone`` does not have at that time.
    """
    try:
        t0 = datetime.fromisoformat(start)
    except ValueError:
        raise ArgumentError(
            f"--start {start!r}: not an ISO 8601 time; e.g. 2024-06-01T12:00"
        ) from None
    try:
        tz = ZoneInfo(timezone)
    except (ValueError, KeyError):
        raise ArgumentError(
            f"--timezone {timezone!r}: unknown time zone; use an IANA name such as Asia/Shanghai"
        ) from None
    if t0.tzinfo is None or t0.utcoffset() is None:
        return t0.replace(tzinfo=tz)
    local = t0.astimezone(tz)
    if local.utcoffset() != t0.utcoffset():
        raise ArgumentError(
            f"--start {start}: its UTC offset is not that of --timezone {timezone} then "
            f"({local.isoformat()}); give the start without an offset (local time), with "
            "the zone's offset, or the --timezone you meant"
        )
    return local


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
    network: Annotated[
        Path | None,
        typer.Option(
            help="Run on this network instead of Gongshu: a saved network folder (twin "
            "network build … --out DIR, with its sites and docks layers) or a network file."
        ),
    ] = None,
) -> None:
    """Run a muck-truck day (on Gongshu, or --network); write tables, data and plots.

    The options and the output folder are checked before the run. The files are written
    whole or not at all, replacing those of an earlier run in the folder (figures not
    written this time are removed); other files in it are kept.
    """
    from twin.network import build_network, default_network, load_network
    from twin.trucks.plots import dock_queue_figure, on_road_figure, violation_map
    from twin.trucks.simulate import simulate_trucks

    check_seed(seed, "--seed")
    if not 0 < hours <= 366 * 24:
        raise ArgumentError(f"--hours {hours:g}: give a horizon above 0 and at most 8784 h")
    t0 = parse_start(start, timezone)
    cfg = load_config(config, trips_per_day=trips_per_day)
    if network is not None and not network.exists():
        raise ArgumentError(
            f"--network {network}: no such file or folder; give a saved network folder "
            "(twin network build FILE --out DIR) or a network file"
        )
    check_output_folder(out)
    if network is None:
        net = default_network()
    elif network.is_dir():
        net = load_network(network)
    else:
        net = build_network(network, name=network.stem)
    result = simulate_trucks(net, cfg, start=t0, horizon=hours * 3600.0, seed=seed)
    with staged_outputs(out, owned=OUTPUT_NAMES) as stage:
        staged = result.write(stage)
        if plots:
            figures = {
                "on_road": on_road_figure(result),
                "violations_map": violation_map(result),
                "dock_queues": dock_queue_figure(result),
            }
            for name, fig in figures.items():
                path = stage / f"{name}.html"
                fig.write_html(path, include_plotlyjs=True, full_html=True)
                staged[name] = path
    paths = {key: out / p.name for key, p in staged.items()}
    table = Table(title=f"Muck trucks, {hours:g} h from {t0.isoformat()} (seed {seed})")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for k, v in result.kpis.items():
        table.add_row(k, f"{v:,.4g}")
    console.print(table)
    console.print(result.violation_summary().to_string())
    console.print(f"Wrote {len(paths)} files to {out}")
