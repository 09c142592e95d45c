"""The ``twin`` command line.

Only this module (and the app) configures logging and writes to the terminal. Every
:class:`~twin.errors.TwinError` becomes a one-line message and exit status 1, with no
traceback; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from twin import __version__
from twin.errors import TwinError
from twin.run.folder import write_run

__all__ = ["app", "main"]

console = Console(stderr=False)
err_console = Console(stderr=True)

app = typer.Typer(
    name="twin",
    help=(
        "A city-operations digital twin on a real OpenStreetMap road network "
        "(default: Gongshu district, Hangzhou).\n\n"
        "Start with `twin demo`, which builds the Gongshu twin and writes its maps."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    add_completion=False,
)
network_app = typer.Typer(
    help="Build, inspect and draw road networks (bundled Gongshu, OSM files, Overpass).",
    no_args_is_help=True,
)
app.add_typer(network_app, name="network")
rain_app = typer.Typer(
    help="Storms: design storms of a scenario and real events from the gauge catalogue.",
    no_args_is_help=True,
)
app.add_typer(rain_app, name="rain")


def _register_subcommands() -> None:
    """Command groups that live beside their models (imported lazily where heavy)."""
    from dash_app.cli import app_command
    from twin.forecast.cli import app as forecast_app
    from twin.live.cli import app as live_app
    from twin.placement.cli import place
    from twin.trucks.cli import app as trucks_app

    app.add_typer(trucks_app, name="trucks")
    app.add_typer(forecast_app, name="forecast")
    app.command("place")(place)
    app.add_typer(live_app, name="live")
    app.command("app")(app_command)


_register_subcommands()

_STATE: dict[str, bool] = {"debug": False}

DEFAULT_OUT = Path("twin-out")


def _version(value: bool) -> None:
    if value:
        console.print(f"twin {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    _STATE["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
        force=True,
    )


@contextmanager
def _steps(total: int, description: str) -> Iterator[Callable[[str], None]]:
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


def _print_summary(summary: dict[str, Any]) -> None:
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


@network_app.command("build")
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
    with _steps(5, "Building network") as step:
        if osm is not None:
            net = build_network(
                osm, boundary=boundary, buffer_m=buffer, name=osm.stem, progress=step
            )
        elif place is not None:
            step("querying Overpass")
            G = net_io.graph_from_place(place)
            label = f"Overpass: place {place!r}"
            net = build_network(
                G, boundary=boundary, buffer_m=buffer, name=place, source_label=label, progress=step
            )
        elif bbox is not None:
            step("querying Overpass")
            G = net_io.graph_from_bbox(*bbox)
            label = f"Overpass: bbox {list(bbox)}"
            net = build_network(
                G,
                boundary=boundary,
                buffer_m=buffer,
                name="bbox",
                source_label=label,
                progress=step,
            )
        else:
            net = default_network(progress=step)
        step("saving")
        save_network(net, out)
    _print_summary(net.summary())
    console.print(f"Saved network to [bold]{out}[/] (network.graphml, network.json).")


@network_app.command("info")
def network_info(
    folder: Annotated[
        Path | None,
        typer.Argument(help="A folder written by `twin network build` (default: Gongshu)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print a network's summary: size, length, classes, tunnels, layers."""
    with _steps(5, "Loading network") as step:
        net = _load_or_default(folder, step)
    summary = net.summary()
    if as_json:
        console.print_json(json.dumps(summary, ensure_ascii=False))
    else:
        _print_summary(summary)


@network_app.command("plot")
def network_plot(
    folder: Annotated[
        Path | None,
        typer.Argument(help="A folder written by `twin network build` (default: Gongshu)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for map.png and map.html.")] = DEFAULT_OUT,
) -> None:
    """Draw the network and its layers: a PNG and an interactive HTML map (offline)."""
    from twin.network.plot import plot_network_html, plot_network_png

    with _steps(7, "Drawing network") as step:
        net = _load_or_default(folder, step)
        step("drawing PNG")
        png = plot_network_png(net, out / "map.png")
        step("drawing HTML")
        html = plot_network_html(net, out / "map.html")
    console.print(f"Map: [bold]{png}[/]\nInteractive map: [bold]{html}[/]")


def _kpi_table(kpis: Any, title: str) -> Table:
    table = Table(title=title)
    table.add_column("KPI", style="bold")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for kpi, value, unit in zip(kpis["kpi"], kpis["value"], kpis["unit"], strict=True):
        shown = (
            f"{value:.0%}"
            if unit == "-" and 0 <= value <= 1
            else f"{value:,.2f}".rstrip("0").rstrip(".")
        )
        table.add_row(kpi.replace("_", " "), shown, "" if unit == "-" else unit)
    return table


def _run_with_progress(scenario: Any, base_dir: Path, label: str) -> Any:
    from twin.run.runner import run_scenario

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}% of horizon"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=1.0)
        result = run_scenario(
            scenario, base_dir=base_dir, progress=lambda f: progress.update(task, completed=f)
        )
    return result


def _print_against(a: Any, b: Any, name_a: str, name_b: str, kpis: list[str]) -> None:
    """Two runs' KPIs side by side (same seed: common random numbers)."""
    ka = dict(zip(a.kpis["kpi"], a.kpis["value"], strict=True))
    kb = dict(zip(b.kpis["kpi"], b.kpis["value"], strict=True))
    units = dict(zip(b.kpis["kpi"], b.kpis["unit"], strict=True))
    table = Table(title=f"{name_b} against {name_a} (same seed, same random cases)")
    for col in ("KPI", name_a, name_b, "difference", "unit"):
        table.add_column(col, justify="left" if col in ("KPI", "unit") else "right")
    rain_free = {"rain_depth", "max_water_depth", "points_impeded", "points_closed",
                 "road_closure_hours", "reroutes", "ponding_cases"}  # fmt: skip
    for k in kpis:
        # A dry run has no water KPIs: they are zero. Other missing KPIs show as "—".
        va, vb = (d.get(k, 0.0 if k in rain_free else None) for d in (ka, kb))
        cells = [("—" if v is None else f"{v:.3g}") for v in (va, vb)]
        diff = "—" if va is None or vb is None else f"{vb - va:+.3g}"
        table.add_row(k.replace("_", " "), *cells, diff,
                      "" if units.get(k) == "-" else str(units.get(k, "")))  # fmt: skip
    console.print(table)


def _print_comparison(comparison: Any, kpis: list[str]) -> None:
    pct = round(comparison.confidence * 100)
    n = comparison.runs["replication"].nunique()
    table = Table(title=f"Dispatch policies: {n} replications, {pct}% intervals")
    for col in ("KPI", "policy", "mean", f"{pct}% CI", f"Δ vs {comparison.baseline}"):
        table.add_column(col, justify="left" if col in ("KPI", "policy") else "right")
    s = comparison.summary
    for kpi in kpis:
        for _, row in s[s["kpi"] == kpi].iterrows():
            diff = (
                "—" if row["policy"] == comparison.baseline
                else f"{row['diff']:+.3g} [{row['diff_low']:+.3g}, {row['diff_high']:+.3g}]"
            )  # fmt: skip
            table.add_row(
                kpi.replace("_", " "), row["policy"], f"{row['mean']:.3g}",
                f"[{row['ci_low']:.3g}, {row['ci_high']:.3g}]", diff,
            )  # fmt: skip
    console.print(table)


@app.command("run")
def run(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario YAML file (see scenarios/).")],
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder \\[default: twin-out/runs/NAME-seedN].")
    ] = None,
) -> None:
    """Run a scenario once: NetCDF + Parquet results, KPI table and an HTML summary.

    The same scenario and seed always give identical results.
    """
    from twin.scenario import load_scenario

    scenario = load_scenario(scenario_file)
    if seed is not None:
        scenario = scenario.with_updates(seed=seed)
    folder = out or DEFAULT_OUT / "runs" / f"{scenario.name}-seed{scenario.seed}"
    result = _run_with_progress(scenario, scenario_file.parent, f"Running {scenario.name}")
    paths = write_run(result, folder)
    console.print(_kpi_table(result.kpis, f"{scenario.name} (seed {scenario.seed})"))
    t = result.timing
    console.print(
        f"Simulated {scenario.horizon / 3600:g} h in {t['simulate_s']:.1f} s "
        f"(real-time factor {t['real_time_factor']:,.0f}×, {t['events']:,.0f} events)."
    )
    console.print(f"Results in [bold]{folder}/[/]: " + ", ".join(p.name for p in paths.values()))


@app.command("compare")
def compare(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario YAML file (see scenarios/).")],
    policies: Annotated[
        str, typer.Option(help="Comma-separated policies; the first is the baseline.")
    ] = "nearest_idle,fixed_zones,workload_balancing",
    replications: Annotated[int, typer.Option(help="Common-random-number replications.")] = 5,
    confidence: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    out: Annotated[
        Path | None, typer.Option(help="Output folder \\[default: twin-out/compare/NAME].")
    ] = None,
) -> None:
    """Compare dispatch policies on common random numbers, with confidence intervals.

    Policies: nearest_idle, fixed_zones, priority_preemption, workload_balancing,
    prepositioning.
    """
    from twin.run.compare import compare_policies
    from twin.scenario import load_scenario

    scenario = load_scenario(scenario_file)
    names = [p.strip() for p in policies.split(",") if p.strip()]
    total = len(set(names)) * max(replications, 0)
    with _steps(total, "Comparing policies") as step:
        comparison = compare_policies(
            scenario, names, replications=replications, confidence=confidence,
            base_dir=scenario_file.parent, progress=step,
        )  # fmt: skip
    folder = out or DEFAULT_OUT / "compare" / scenario.name
    paths = comparison.write(folder)
    headline = [
        "share_dispatch_within_target", "share_arrive_within_target",
        "share_resolve_within_target", "time_to_arrive_mean", "time_to_resolve_mean",
        "crew_utilisation", "escalations", "preemptions",
    ]  # fmt: skip
    _print_comparison(comparison, headline)
    console.print(f"Tables in [bold]{folder}/[/]: " + ", ".join(p.name for p in paths.values()))


def _storm(source: str) -> tuple[Any, str]:
    """A storm's rain-rate series and a title, from a scenario file or a catalogue event."""
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


@rain_app.command("show")
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


@rain_app.command("plot")
def rain_plot(
    source: Annotated[str, typer.Argument(help="A scenario YAML with rain, or an event_id.")],
    out: Annotated[Path, typer.Option(help="PNG file to write.")] = DEFAULT_OUT / "storm.png",
) -> None:
    """Plot a storm's hyetograph and cumulative depth to a PNG."""
    from twin.hydro.storms import plot_storm

    series, title = _storm(source)
    path = plot_storm(series, out, title=title)
    console.print(f"Storm plot: [bold]{path}[/]")


@rain_app.command("events")
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


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the report, maps and data.")] = DEFAULT_OUT,
    replications: Annotated[
        int, typer.Option(help="Replications of the dispatch-policy comparison.")
    ] = 3,
) -> None:
    """Run the main job on the embedded Gongshu default and say where its outputs are.

    Builds the twin of Gongshu from the bundled OpenStreetMap data and draws its maps;
    runs the baseline day (about 1,500 cases, 150 crew members) and writes its results
    and HTML summary; runs the same day with a heavy design storm (waterlogging at low
    points closes roads, crews reroute, ponding raises cases) and compares the two;
    replays the shipped waterlogging forecaster online over the storm (CAP 1.2 alerts
    that pre-position crews) and measures its value in case KPIs; runs a day of muck
    trucks (about 2,300 planned trips from 30 sites to the 3 docks; violations detected,
    traced and handled as cases); runs an evening with a 30,000-person concert on Wulin
    Square (crowd forecasts raise alerts, crews staff the exits; their effect is
    measured); places water-level gauges under a budget; compares dispatch policies on
    common random numbers.
    """
    from twin.network import save_network
    from twin.network.plot import plot_network_html, plot_network_png
    from twin.run.compare import compare_policies
    from twin.run.runner import load_scenario_network
    from twin.scenario import load_scenario

    t0 = time.perf_counter()
    scenario_file = _scenarios_dir() / "gongshu_baseline_day.yaml"
    scenario = load_scenario(scenario_file)
    with _steps(4, "Gongshu twin") as step:
        step("building the road network")
        net = load_scenario_network(scenario.network)
        step("saving network")
        save_network(net, out / "network")
        step("drawing PNG map")
        png = plot_network_png(net, out / "map.png")
        step("drawing HTML map")
        html = plot_network_html(net, out / "map.html")
    summary = net.summary()
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    _print_summary(summary)

    result = _run_with_progress(scenario, scenario_file.parent, "Baseline day")
    day_paths = write_run(result, out / "baseline_day")
    console.print(_kpi_table(result.kpis, f"{scenario.name} (seed {scenario.seed})"))
    t = result.timing
    console.print(
        f"Simulated {scenario.horizon / 3600:g} h in {t['simulate_s']:.1f} s "
        f"(real-time factor {t['real_time_factor']:,.0f}×)."
    )

    storm_file = _scenarios_dir() / "gongshu_rainstorm.yaml"
    storm = load_scenario(storm_file)
    wet = _run_with_progress(storm, storm_file.parent, "Rainstorm day")
    wet_paths = write_run(wet, out / "rainstorm_day")
    _print_against(result, wet, "dry baseline", "rainstorm", [
        "rain_depth", "max_water_depth", "points_impeded", "points_closed",
        "road_closure_hours", "reroutes", "ponding_cases", "cases_reported",
        "share_arrive_within_target", "time_to_arrive_mean", "time_to_resolve_mean",
        "escalations",
    ])  # fmt: skip

    forecast = storm.with_updates(**{"hydro.forecast.enabled": True})
    warned = _run_with_progress(forecast, storm_file.parent, "Rainstorm with forecasts")
    fc_paths = write_run(warned, out / "rainstorm_forecast")
    _print_against(wet, warned, "no forecast", "forecast alerts", [
        "forecast_alerts", "forecast_onsets_warned", "forecast_warning_mean",
        "forecast_crews_staged", "ponding_time_to_arrive_mean", "time_to_arrive_mean",
        "escalations",
    ])  # fmt: skip

    place_paths = _demo_placement(storm, storm_file.parent, out / "placement")

    muck_file = _scenarios_dir() / "gongshu_muck_night.yaml"
    muck = load_scenario(muck_file)
    haul = _run_with_progress(muck, muck_file.parent, "Muck-truck day")
    muck_paths = write_run(haul, out / "muck_night")
    _print_trucks(haul)

    event_file = _scenarios_dir() / "gongshu_event_night.yaml"
    event = load_scenario(event_file)
    night = _run_with_progress(event, event_file.parent, "Event night")
    night_paths = write_run(night, out / "event_night")
    _print_crowds(night)

    policies = ["nearest_idle", "prepositioning", "fixed_zones"]
    with _steps(len(policies) * replications, "Comparing dispatch policies") as step:
        comparison = compare_policies(
            scenario, policies, replications=replications, base_dir=scenario_file.parent,
            progress=step,
        )  # fmt: skip
    cmp_paths = comparison.write(out / "compare")
    _print_comparison(comparison, ["share_arrive_within_target", "time_to_resolve_mean"])

    console.print(f"\nDone in {time.perf_counter() - t0:.0f} s. Outputs in [bold]{out}/[/]:")
    for label, path in (
        ("map (PNG)", png),
        ("interactive map (HTML)", html),
        ("network summary (JSON)", out / "summary.json"),
        ("network (GraphML + layers)", out / "network"),
        ("baseline day report (HTML)", day_paths["summary"]),
        ("baseline day data", day_paths["dataset"].parent),
        ("rainstorm day report (HTML)", wet_paths["summary"]),
        ("rainstorm road closures (CSV)", wet_paths.get("road_states", wet_paths["kpis_csv"])),
        ("forecast alerts, CAP 1.2 (XML)", fc_paths["cap_feed"].parent),
        ("rainstorm with forecasts (HTML)", fc_paths["summary"]),
        ("gauge placement (HTML, GeoJSON)", place_paths["report"]),
        ("muck-truck day report (HTML)", muck_paths["summary"]),
        ("muck-truck trips, violations", muck_paths["trucks_trips"].parent),
        ("event night report (HTML)", night_paths["summary"]),
        ("event night crowd alerts", night_paths.get("crowd_alerts", night_paths["kpis_csv"])),
        ("policy comparison (CSV)", cmp_paths["summary"]),
    ):
        console.print(f"  {label:<31} {path}")


def _demo_placement(scenario: Any, base_dir: Path, out: Path) -> dict[str, Path]:
    """Water-level gauges for the storm's low points under a budget of 8 (lazy greedy).

    `twin place` adds the exact MILP and other technologies; the demo keeps to the
    greedy so that it stays quick.
    """
    from twin.placement.outputs import write_outputs
    from twin.placement.pipeline import run_placement
    from twin.run.runner import load_scenario_network
    from twin.scenario.placement import GaugeConfig, PlacementConfig

    cfg = PlacementConfig(budget=8, solver="greedy", curve_points=6,
                          gauge=GaugeConfig(max_storms=60))  # fmt: skip
    net = load_scenario_network(scenario.network)
    with _steps(1, "Placing water-level gauges") as step:
        run = run_placement(net, scenario, cfg, base_dir=base_dir)
        step("done")
    paths = write_outputs(run, net, out)
    ev = run.evaluation.set_index(["placement", "sample"])
    cover_in = float(ev.loc[("greedy", "in"), "coverage"])  # type: ignore[arg-type]
    cover_out = float(ev.loc[("greedy", "out"), "coverage"])  # type: ignore[arg-type]
    chosen = ", ".join(str(c).split(":")[-1] for c in run.placements["greedy"].candidate_ids)
    console.print(
        f"Gauges at 8 of {len(run.train.candidates)} low points ({escape(chosen)}): they detect "
        f"{cover_in:.0%} of ponding onsets in the storms optimised on and "
        f"{cover_out:.0%} in fresh held-out storms."
    )
    return paths


def _print_trucks(result: Any) -> None:
    """Trips, queues and violations of a run with muck trucks."""
    k = result.kpis.set_index("kpi")["value"]
    table = Table(title=f"{result.scenario.name}: muck trucks")
    table.add_column("")
    table.add_column("value", justify="right")
    for label, kpi, fmt in (
        ("trips started / unloaded at a dock", None, ""),
        ("dumped on the way", "truck_trips_dumped", "{:,.0f}"),
        ("mean wait for a dock berth [min]", "truck_dock_queue_mean_s", "{:.1f}"),
        ("truck-km", "truck_km_total_km", "{:,.0f}"),
        ("violations occurred / detected / traced", None, ""),
        ("cases raised for the crews", "truck_violation_cases", "{:,.0f}"),
        ("spilled road length on camera edges", "truck_spill_length_camera_share", "{:.0%}"),
    ):
        if label.startswith("trips"):
            value = f"{k['truck_trips_started']:,.0f} / {k['truck_trips_delivered']:,.0f}"
        elif label.startswith("violations"):
            value = " / ".join(f"{k[f'truck_violations_{s}']:,.0f}"
                               for s in ("occurred", "detected", "traced"))  # fmt: skip
        elif kpi == "truck_dock_queue_mean_s":
            value = fmt.format(k[kpi] / 60.0)
        else:
            value = fmt.format(k[kpi])
        table.add_row(label, value)
    console.print(table)


def _print_crowds(result: Any) -> None:
    """The crowd alerts of a run and the measured effect of the crews sent."""
    k = result.kpis.set_index("kpi")["value"]
    table = Table(title=f"{result.scenario.name}: crowds at plazas")
    table.add_column("")
    table.add_column("with crews sent", justify="right")
    table.add_column("had none been sent", justify="right")
    for label, kpi, fmt in (
        ("peak density [persons/m²]", "crowd_peak_density", "{:.2f}"),
        ("time above alert density [plaza-min]", "crowd_minutes_above_threshold", "{:,.0f}"),
        ("longest exit queue [persons]", "crowd_max_exit_queue", "{:,.0f}"),
    ):
        table.add_row(label, fmt.format(k[kpi]), fmt.format(k[f"{kpi}_without_staff"]))
    console.print(table)
    console.print(
        f"{k['crowd_alerts']:.0f} crowd alert(s), forecast {k['crowd_alert_lead_time_mean']:.0f} "
        f"min ahead; {k['crowd_cases']:.0f} crowd-control cases; crews on site "
        f"{k['crowd_staff_arrive_mean']:.1f} min after the alert."
    )


def _scenarios_dir() -> Path:
    """The shipped scenarios folder (beside twin/)."""
    return Path(__file__).resolve().parents[1] / "scenarios"


# ---------------------------------------------------------------------------- sweep, report
#: KPIs in the sweep's terminal table, with their column headers.
_SWEEP_KPIS = {
    "share_arrive_within_target": "arrive in target",
    "share_resolve_within_target": "resolve in target",
    "time_to_resolve_mean": "resolve [min]",
    "crew_utilisation": "utilisation",
}
#: Exit status of a sweep in which some (not all) runs failed.
SWEEP_PARTIAL_EXIT = 3


def _print_sweep(result: Any) -> None:
    """The sweep's headline KPIs per grid point (mean and interval over replications)."""
    pct = round(result.confidence * 100)
    table = Table(
        title=f"{result.scenario.name}: {result.grid.size} grid point(s) × "
        f"{result.replications} replication(s), {pct}% intervals"
    )
    for axis in result.grid.axes:
        table.add_column(escape(axis.name), no_wrap=True)
    s = result.summary
    kpis = [k for k in _SWEEP_KPIS if not s.empty and k in set(s["kpi"])]
    for kpi in kpis:
        table.add_column(escape(_SWEEP_KPIS[kpi]), justify="right")
    for point in result.grid.points():
        flat = int(np.ravel_multi_index(point.index, result.grid.shape)) if point.index else 0
        cells = [escape(v) for v in point.labels.values()]
        for kpi in kpis:
            row = s[(s["point"] == flat) & (s["kpi"] == kpi)]
            if row.empty:
                cells.append("—")
                continue
            m, lo, hi = (float(row.iloc[0][c]) for c in ("mean", "ci_low", "ci_high"))
            cells.append(f"{m:.3g} [{lo:.3g}, {hi:.3g}]")
        table.add_row(*cells)
    console.print(table)


def _print_failures(result: Any) -> None:
    table = Table(title=f"{len(result.failures)} failed run(s)", title_style="bold red")
    for col in ("run", "parameters", "seed", "error"):
        table.add_column(col, overflow="fold")
    for o in result.failures:
        params = ", ".join(f"{k}={v}" for k, v in o.labels.items()) or "—"
        table.add_row(escape(o.key), escape(params), str(o.seed), escape(o.error))
    console.print(table)


@app.command("sweep")
def sweep(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario YAML file (see scenarios/).")],
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid",
            help="PARAM=V1,V2,... : a scenario field by its dotted path and the values to try, "
            "e.g. dispatch.policy=nearest_idle,fixed_zones or crews.count=100,150. Repeat for "
            "more parameters; the grid is their product.",
        ),
    ] = None,
    replications: Annotated[
        int, typer.Option(help="Runs per grid point; replication r has seed = seed + r.")
    ] = 2,
    workers: Annotated[int, typer.Option(help="Worker processes of the local cluster.")] = 2,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="An existing Dask scheduler, tcp://HOST:PORT or a scheduler file (the sweep "
            "folder must then be on a file system the workers share) \\[default: a local "
            "cluster on 127.0.0.1]."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Sweep folder \\[default: twin-out/sweeps/NAME].")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Merged dataset: netcdf (sweep.nc) or zarr.")
    ] = "netcdf",
    agents: Annotated[
        bool, typer.Option(help="Keep the per-crew arrays (time × agent) in the merged dataset.")
    ] = False,
    confidence: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    retries: Annotated[int, typer.Option(help="Dask retries of a task that errors.")] = 2,
    resume: Annotated[
        bool, typer.Option(help="Reuse finished runs found in the sweep folder.")
    ] = True,
    report: Annotated[bool, typer.Option(help="Write report.html when done.")] = True,
) -> None:
    """Run a scenario over a parameter grid × replications on Dask, with intervals.

    One Dask task per (grid point, replication); every grid point uses the same seeds
    (common random numbers). Each run writes its own folder under OUT/runs/; a rerun into
    the same folder reuses finished runs, so an interrupted sweep resumes. Results merge
    into OUT/sweep.nc (dims: swept parameters × replication × time), kpis.csv (per run) and
    summary.csv (per grid point: mean, CI). Failed runs are listed with their error and
    seed, in OUT/failures.csv and runs/KEY/error.json.

    Exit status: 0 when every run finished, 3 when some failed (the others are kept and
    merged), 1 when all failed or the sweep could not start.
    """
    import distributed  # noqa: F401  (sets its loggers' levels on import: set ours after)

    from twin.scenario import load_scenario
    from twin.sweep import parse_grid, run_sweep, write_report
    from twin.sweep.errors import SweepError

    # Dask logs (cluster start and stop) at the level the user asked for, WARNING by default.
    logging.getLogger("distributed").setLevel(logging.getLogger().getEffectiveLevel())
    scenario = load_scenario(scenario_file)
    parsed = parse_grid(grid or [], scenario=scenario)
    if fmt not in ("netcdf", "zarr"):
        raise typer.BadParameter("--format must be netcdf or zarr")
    folder = out or DEFAULT_OUT / "sweeps" / scenario.name
    total = parsed.size * max(replications, 0)
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} runs"),
        TextColumn("{task.fields[failed]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        bar = progress.add_task(f"Sweeping {scenario.name}", total=total, failed="")

        def advance(p: Any) -> None:
            failed = f"[red]{p.failed} failed[/]" if p.failed else ""
            progress.update(bar, completed=p.done, total=p.total, failed=failed)

        try:
            result = run_sweep(
                scenario, parsed, folder, replications=replications,
                base_dir=scenario_file.parent, scheduler=scheduler, workers=workers,
                retries=retries, confidence=confidence, agents=agents,
                fmt="zarr" if fmt == "zarr" else "netcdf", resume=resume, progress=advance,
            )  # fmt: skip
        except KeyboardInterrupt:
            progress.stop()
            err_console.print(
                f"Interrupted. Finished runs are kept in {escape(str(folder))}/runs/; run the "
                "same command again to resume."
            )
            raise typer.Exit(130) from None
    n_reused = len(result.reused)
    _print_sweep(result)
    console.print(
        f"{len(result.finished)} of {len(result.outcomes)} runs finished"
        + (f" ({n_reused} reused from an earlier run)" if n_reused else "")
        + f" in {result.timing.get('total_s', 0.0):.1f} s."
    )
    if report and result.finished:
        with _steps(1, "Writing report") as step:
            step("report.html")
            result.paths["report"] = write_report(folder)  # from the files just written
    console.print(
        f"Results in [bold]{folder}/[/]: "
        + ", ".join(p.name for p in result.paths.values())
        + ", runs/"
    )
    if result.failures:
        _print_failures(result)
        if not result.finished:
            first = result.failures[0]
            raise SweepError(
                f"all {len(result.failures)} runs failed; the first ({first.key}, seed "
                f"{first.seed}): {first.error}. See {folder / 'failures.csv'}"
            )
        raise typer.Exit(SWEEP_PARTIAL_EXIT)


@app.command("report")
def report_cmd(
    folder: Annotated[
        Path, typer.Argument(help="A run folder (twin run) or a sweep folder (twin sweep).")
    ],
    out: Annotated[
        Path | None,
        typer.Option(help="HTML file \\[default: FOLDER/summary.html or FOLDER/report.html]."),
    ] = None,
    roads: Annotated[
        bool, typer.Option(help="Draw the main roads under the maps (loads the network).")
    ] = True,
) -> None:
    """Write the self-contained HTML report of a run or a sweep from its files (no rerun).

    A run folder gives summary.html (KPIs, time series, histograms, map of cases); a
    sweep folder gives report.html (KPI response to each parameter with intervals, KPI
    distributions, backlog over time per grid point, a map per grid point, failed runs).
    """
    from twin.sweep import write_report

    with _steps(1, "Writing report") as step:
        step(str(folder))
        path = write_report(folder, out=out, roads=roads)
    console.print(f"Report: [bold]{path}[/]")


def main() -> None:
    """Entry point: run the app, turning twin errors into one-line messages."""
    try:
        app()
    except TwinError as exc:
        if _STATE["debug"]:
            raise
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
