"""``twin network``: build, inspect and draw road networks; show or clear the network cache."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from twin.cli._console import DEFAULT_OUT, console, steps

__all__ = ["app", "print_summary"]

app = typer.Typer(
    help="Build, inspect and draw road networks (bundled Gongshu, OSM files, Overpass).",
    no_args_is_help=True,
)
cache_app = typer.Typer(
    help="Show or clear the cache of built networks (TWIN_NO_CACHE=1 turns it off).",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")


def print_summary(summary: dict[str, Any]) -> None:
    """A network's summary (:meth:`RoadNetwork.summary`) as a table."""
    table = Table(title=f"Road network — {summary.get('name') or 'unnamed'}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in summary.items():
        if key == "name":
            continue
        if isinstance(value, dict):
            value = ", ".join(
                f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}" for k, v in value.items()
            )
        elif isinstance(value, int):
            value = f"{value:,}"
        table.add_row(key.replace("_", " "), str(value))
    console.print(table)


def _load_or_default(folder: Path | None, progress: Callable[[str], None] | None = None) -> Any:
    from twin.network import default_network, load_network

    if folder is None:
        return default_network(progress=progress)
    return load_network(folder)


@app.command("build")
def network_build(
    osm: Annotated[
        Path | None,
        typer.Option(help="OSM file: .osm, .osm.xml, .osm.bz2, .osm.pbf, or osmnx GraphML."),
    ] = None,
    place: Annotated[
        str | None,
        typer.Option(help="Place name to fetch from Overpass (cached after the first run)."),
    ] = None,
    bbox: Annotated[
        tuple[float, float, float, float] | None,
        typer.Option(help="Bounding box W S E N in WGS84 degrees, fetched from Overpass (cached)."),
    ] = None,
    boundary: Annotated[
        Path | None, typer.Option(help="Crop to this GeoJSON polygon (WGS84).")
    ] = None,
    buffer: Annotated[
        float, typer.Option(help="Grow the crop polygon by this many metres.")
    ] = 250.0,
    min_component_fraction: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Smallest share of the nodes the largest strongly connected part must hold "
            "(lower it for a small or clipped extract that falls apart at its edges).",
        ),
    ] = 0.6,
    layers: Annotated[
        Path | None,
        typer.Option(
            help="Folder of city-layer GeoJSON files (docks.geojson, plazas.geojson, ...); "
            "each replaces the layer derived from OSM."
        ),
    ] = None,
    derive: Annotated[
        bool,
        typer.Option(
            help="Derive plazas, stations, low points, sites and depots from the OSM tags "
            "(of the file, or fetched from Overpass with --place/--bbox and cached)."
        ),
    ] = True,
    dem: Annotated[
        Path | None,
        typer.Option(
            help="GeoTIFF elevation model: the lowest road node of each local sink "
            "(filled minus DEM deeper than 0.1 m) becomes a low point, beside the tunnels."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder to write the network to.")] = DEFAULT_OUT
    / "network",
) -> None:
    """Build a routable network and save it.

    With no source option, builds the embedded default: the bundled OSM network of
    Hangzhou cropped to Gongshu district, with its city layers.
    """
    from twin.network import build_network, default_network, save_network
    from twin.network import io as net_io

    chosen = [x is not None for x in (osm, place, bbox)]
    if sum(chosen) > 1:
        raise typer.BadParameter("give only one of --osm, --place, --bbox")
    options: dict[str, Any] = {
        "boundary": boundary,
        "buffer_m": buffer,
        "min_component_fraction": min_component_fraction,
        "layers": layers,
        "dem": dem,
    }
    with steps(7, "Building network") as step:
        if osm is not None:
            net = build_network(
                osm,
                name=_stem(osm),
                derive_layers=None if derive else False,
                progress=step,
                **options,
            )
        elif place is not None:
            step("querying Overpass")
            G = net_io.graph_from_place(place)
            feats = net_io.features_from_place(place) if derive else None
            label = f"Overpass: place {place!r}"
            net = build_network(
                G, name=place, source_label=label, features=feats, progress=step, **options
            )
        elif bbox is not None:
            step("querying Overpass")
            G = net_io.graph_from_bbox(*bbox)
            feats = net_io.features_from_bbox(*bbox) if derive else None
            label = f"Overpass: bbox {list(bbox)}"
            net = build_network(
                G, name="bbox", source_label=label, features=feats, progress=step, **options
            )
        else:
            if dem is not None:
                raise typer.BadParameter("--dem needs a source: --osm, --place or --bbox")
            net = default_network(progress=step)
        step("saving")
        save_network(net, out)
    print_summary(net.summary())
    _print_layers(net.meta)
    console.print(f"Saved network to [bold]{out}[/] (network.graphml, network.json, layers/).")


def _stem(path: Path) -> str:
    """The file name without its OSM suffixes: ``city.osm.pbf`` -> ``city``."""
    name = path.name
    for suffix in (".pbf", ".bz2", ".gz", ".xml", ".osm", ".graphml"):
        name = name.removesuffix(suffix)
    return name or path.name


def _print_layers(meta: dict[str, Any]) -> None:
    """What was derived for each city layer, and which models are off and why."""
    derived = meta.get("derived_layers") or {}
    if derived:
        table = Table(title="City layers", show_header=False)
        table.add_column("layer", style="bold")
        table.add_column("what")
        for name, what in derived.items():
            table.add_row(name, str(what))
        console.print(table)
    for model, why in (meta.get("models_off") or {}).items():
        console.print(f"[yellow]{model} model off[/]: {why}")
    clipped = meta.get("clipped_extract")
    if clipped:
        console.print(
            f"Clipped extract: {clipped['ways_truncated']} way(s) truncated at "
            f"{clipped['missing_refs']} node(s) missing from the file."
        )


@app.command("info")
def network_info(
    folder: Annotated[
        Path | None,
        typer.Argument(help="A folder written by `twin network build` (default: Gongshu)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print a network's summary: size, length, classes, tunnels, layers."""
    with steps(5, "Loading network") as step:
        net = _load_or_default(folder, step)
    summary = net.summary()
    if as_json:
        for key in ("derived_layers", "models_off", "clipped_extract"):
            if net.meta.get(key):
                summary[key] = net.meta[key]
        console.print_json(json.dumps(summary, ensure_ascii=False))
    else:
        print_summary(summary)
        _print_layers(net.meta)


@app.command("plot")
def network_plot(
    folder: Annotated[
        Path | None,
        typer.Argument(help="A folder written by `twin network build` (default: Gongshu)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for map.png and map.html.")] = DEFAULT_OUT,
) -> None:
    """Draw the network and its layers: a PNG and an interactive HTML map (offline)."""
    from twin.network.plot import plot_network_html, plot_network_png

    with steps(7, "Drawing network") as step:
        net = _load_or_default(folder, step)
        step("drawing PNG")
        png = plot_network_png(net, out / "map.png")
        step("drawing HTML")
        html = plot_network_html(net, out / "map.html")
    console.print(f"Map: [bold]{png}[/]\nInteractive map: [bold]{html}[/]")


@cache_app.command("info")
def cache_info() -> None:
    """List the cached networks: where, how big, and whether the cache is on."""
    from twin.network import cache as netcache

    state = "on" if netcache.cache_enabled() else "off (TWIN_NO_CACHE is set)"
    entries = netcache.list_entries()
    console.print(f"Network cache in {netcache.cache_folder()}: {state}", soft_wrap=True)
    table = Table(title="Cached networks")
    for col in ("entry", "network", "nodes", "edges", "layers", "size [MB]"):
        table.add_column(col, justify="right" if col in ("nodes", "edges", "size [MB]") else "left")
    for e in entries:
        table.add_row(
            e.path.stem[:12],
            e.name if e.readable else "[red]unreadable (rebuilt on next use)[/]",
            f"{e.nodes:,}" if e.readable else "",
            f"{e.edges:,}" if e.readable else "",
            ", ".join(e.layers),
            f"{e.size / 1e6:.1f}",
        )
    console.print(table)
    total = sum(e.size for e in entries) / 1e6
    console.print(f"{len(entries)} cached network(s), {total:.1f} MB.")


@cache_app.command("clear")
def cache_clear() -> None:
    """Delete every cached network; the next use builds them again."""
    from twin.network import cache as netcache

    n = netcache.clear_cache()
    console.print(f"Deleted {n} cached network(s) from {netcache.cache_folder()}.")
