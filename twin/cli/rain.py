"""``twin rain``: design storms of a scenario and real events from the gauge catalogue.

``twin rain radar`` (weather-radar rain) lives in :mod:`twin.hydro.radar.cli` and is
imported on first use; while that module is missing or fails to import, ``twin rain
--help`` leaves it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar

import typer
from rich.table import Table

from twin.cli._console import DEFAULT_OUT, console
from twin.cli._group import LazyCommand, LazyGroup
from twin.errors import ArgumentError
from twin.report.output_folder import check_output_folder

__all__ = ["app"]


class _RainGroup(LazyGroup):
    """``twin rain``: show, plot and events here; radar beside its model."""

    lazy_commands: ClassVar[Mapping[str, LazyCommand]] = {
        "radar": LazyCommand("twin.hydro.radar.cli:app", optional=True),
    }


app = typer.Typer(
    cls=_RainGroup,
    help="Storms: design storms of a scenario and real events from the gauge catalogue.",
    no_args_is_help=True,
)


def _storm(source: str) -> tuple[Any, str, dict[str, str]]:
    """A storm over the district, a title and notes, from a scenario or a catalogue event."""
    from twin.hydro.sources import event_series
    from twin.hydro.waterlogging import district_storm
    from twin.scenario import load_scenario

    if not source.endswith((".yaml", ".yml")):
        return event_series(source), f"storm event {source}", {}
    scenario = load_scenario(source)
    if scenario.rain.kind == "none":
        raise typer.BadParameter(f"{source} has no rain (rain.kind is 'none')")
    points = None
    if scenario.rain.kind == "file":  # read over the district's low points, as a run does
        from twin.hydro.lowpoints import low_points
        from twin.run.runner import load_scenario_network

        net = load_scenario_network(scenario.network, base_dir=Path(source).parent)
        points = low_points(net, design_rain_rate=scenario.hydro.design_rain_rate)
    series, notes = district_storm(scenario, Path(source).parent, points=points)
    where = f" (mean over {len(points)} low points)" if points is not None else ""
    title = f"{scenario.name}: {scenario.rain.kind.replace('_', ' ')}{where}"
    return series, title, notes


@app.command("show")
def rain_show(
    source: Annotated[str, typer.Argument(help="A scenario YAML with rain, or an event_id.")],
) -> None:
    """Describe a storm over the district: depth, duration, peaks and when the peak comes."""
    series, title, notes = _storm(source)
    import pandas as pd

    from twin.hydro.storms import describe_storm

    info = describe_storm(series)
    if "missing_steps" in series.attrs:  # a file: counted before the policy filled them
        a = series.attrs
        info["missing_steps"] = f"{a['missing_steps']} (policy: {a['missing_policy']})"
    peak = info.get("peak_time")
    zone = series["time"].attrs.get("local_timezone")
    if zone and isinstance(peak, pd.Timestamp) and peak.tzinfo is not None:
        info["peak_time_local"] = peak.tz_convert(str(zone))
    table = Table(title=title, show_header=False)
    for key, value in info.items():
        table.add_row(
            key.replace("_", " "), f"{value:.4g}" if isinstance(value, float) else str(value)
        )
    for key, value in notes.items():
        table.add_row(key.replace("_", " "), value)
    console.print(table)


@app.command("plot")
def rain_plot(
    source: Annotated[str, typer.Argument(help="A scenario YAML with rain, or an event_id.")],
    out: Annotated[Path, typer.Option(help="PNG file to write.")] = DEFAULT_OUT / "storm.png",
) -> None:
    """Plot a storm's hyetograph and cumulative depth to a PNG."""
    from twin.hydro.storms import plot_storm

    if out.is_dir():
        raise ArgumentError(
            f"--out {out}: is a folder; give the PNG file to write, e.g. {out}/storm.png"
        )
    check_output_folder(out.parent, option="--out")
    series, title, _ = _storm(source)
    path = plot_storm(series, out, title=title)
    console.print(f"Storm plot: [bold]{path}[/]")


@app.command("events")
def rain_events(
    min_depth: Annotated[float, typer.Option(help="Smallest event depth to list [mm].")] = 30.0,
    top: Annotated[int, typer.Option(help="How many events to list (deepest first).")] = 20,
) -> None:
    """List real storm events from the shipped gauge records (Singapore, 5-min)."""
    from twin.hydro.storms import load_catalogue

    cat = load_catalogue()
    sel = cat[cat["depth_mm"] >= min_depth].sort_values("depth_mm", ascending=False).head(top)
    table = Table(
        title=f"{len(cat):,} events in the catalogue; {len(sel)} shown (≥ {min_depth} mm)"
    )
    table.add_column("event_id", no_wrap=True)
    for col in ("start (UTC)", "hours", "depth [mm]", "peak 60 min [mm/h]", "split"):
        table.add_column(col, justify="left" if col in ("start (UTC)", "split") else "right")
    for _, row in sel.iterrows():
        table.add_row(
            str(row["event_id"]), f"{row['start']:%Y-%m-%d %H:%M}", f"{row['duration_h']:.1f}",
            f"{row['depth_mm']:.1f}", f"{row['peak_60min_mm_h']:.1f}", str(row["split"]),
        )  # fmt: skip
    console.print(table)
