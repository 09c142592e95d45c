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


def _storm(source: str) -> tuple[Any, str]:
    """A storm's rain-rate series and a title, from a scenario file or a catalogue event."""
    import numpy as np

    from twin.hydro.sources import event_series, series_from_values
    from twin.hydro.waterlogging import rain_for_scenario
    from twin.scenario import load_scenario

    if source.endswith((".yaml", ".yml")):
        scenario = load_scenario(source)
        if scenario.rain.kind == "none":
            raise typer.BadParameter(f"{source} has no rain (rain.kind is 'none')")
        step = scenario.hydro.step
        values = rain_for_scenario(scenario, int(scenario.horizon // step), Path(source).parent)
        values = values.mean(axis=1)  # district mean
        first = int(scenario.rain.start // step)
        wet = np.flatnonzero(values > 0)
        values = values[first : (wet[-1] + 1 if wet.size else first + 1)]
        series = series_from_values(values, step)
        return series, f"{scenario.name}: {scenario.rain.kind.replace('_', ' ')}"
    return event_series(source), f"storm event {source}"


@app.command("show")
def rain_show(
    source: Annotated[str, typer.Argument(help="A scenario YAML with rain, or an event_id.")],
) -> None:
    """Describe a storm: depth, duration, peak intensities and when the peak comes."""
    series, title = _storm(source)
    from twin.hydro.storms import describe_storm

    table = Table(title=title, show_header=False)
    for key, value in describe_storm(series).items():
        table.add_row(
            key.replace("_", " "), f"{value:.4g}" if isinstance(value, float) else str(value)
        )
    console.print(table)


@app.command("plot")
def rain_plot(
    source: Annotated[str, typer.Argument(help="A scenario YAML with rain, or an event_id.")],
    out: Annotated[Path, typer.Option(help="PNG file to write.")] = DEFAULT_OUT / "storm.png",
) -> None:
    """Plot a storm's hyetograph and cumulative depth to a PNG."""
    from twin.hydro.storms import plot_storm

    series, title = _storm(source)
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
