"""``twin demo``: the main job on the embedded Gongshu default, and where its outputs are.

The commands are plain functions, registered by name in :mod:`twin.cli` and imported
when run; models are imported inside them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from twin.cli._console import DEFAULT_OUT, console, steps
from twin.cli.network import print_summary
from twin.cli.run import kpi_table, print_comparison, run_with_progress
from twin.errors import ArgumentError, TwinError

__all__ = ["demo"]


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the report, maps and data.")] = DEFAULT_OUT,
    replications: Annotated[
        int, typer.Option(help="Replications of the dispatch-policy comparison.")
    ] = 3,
    network: Annotated[
        Path | None,
        typer.Option(
            help="Run every section on this network instead of Gongshu: a saved network "
            "folder (twin network build … --out DIR) or an OSM / GraphML file. A model "
            "whose city layer the network lacks (docks, plazas, low points) is off, and the "
            "terminal and index.html say why."
        ),
    ] = None,
) -> None:
    """Run the main job on the embedded Gongshu default and say where its outputs are.

    Builds the twin of Gongshu from the bundled OpenStreetMap data and draws its maps;
    runs the baseline day (about 1,500 cases, 150 crew members) and writes its results
    and HTML summary; runs the same day with a heavy design storm (waterlogging at low
    points closes roads, crews reroute, ponding raises cases) and compares the two;
    replays the shipped waterlogging forecaster online over the storm (CAP 1.2 alerts
    that pre-position crews) and measures its value in case KPIs; forecasts a real radar
    storm transposed over Gongshu with pysteps radar nowcasts as the future rain, against
    gauge persistence; runs a day of muck
    trucks (about 2,300 planned trips from 30 sites to the 3 docks; violations detected,
    traced and handled as cases); runs an evening with a 30,000-person concert on Wulin
    Square (crowd forecasts raise alerts, crews staff the exits; their effect is
    measured); places water-level gauges under a budget; compares dispatch policies on
    common random numbers. index.html links every report.
    """
    from twin.cli.run import network_source
    from twin.report.output_folder import check_output_folder, write_text_atomic

    if replications < 2:
        raise ArgumentError(
            f"--replications {replications}: give at least 2, so intervals can be computed"
        )
    source = None if network is None else network_source(network)
    check_output_folder(out)
    from twin.network import save_network
    from twin.network.plot import plot_network_html, plot_network_png
    from twin.run.compare import compare_policies
    from twin.run.folder import write_run
    from twin.run.runner import load_scenario_network
    from twin.scenario import load_scenario

    def scenario_of(name: str) -> Any:
        """A shipped scenario, on ``--network`` when given."""
        sc = load_scenario(_scenarios_dir() / name)
        if source is not None:
            sc = sc.with_updates(**{"network.source": str(source)})
        return sc

    off: dict[str, str] = {}  # section -> why its model is off

    def section(label: str, body: Callable[[], dict[str, Path]]) -> dict[str, Path]:
        """Run a section; on another network a model lacking its layer is off, said once."""
        try:
            return body()
        except TwinError as exc:
            if source is None:  # on Gongshu every model runs: a failure is a failure
                raise
            off[label] = str(exc)
            console.print(f"[yellow]{escape(label)}: off[/] ({escape(str(exc))})")
            return {}

    t0 = time.perf_counter()
    base_dir = _scenarios_dir()
    scenario = scenario_of("gongshu_baseline_day.yaml")
    with steps(4, "Gongshu twin" if source is None else f"Twin of {source.name}") as step:
        step("building the road network")
        net = load_scenario_network(scenario.network, base_dir=base_dir)
        step("saving network")
        save_network(net, out / "network")
        step("drawing PNG map")
        png = plot_network_png(net, out / "map.png")
        step("drawing HTML map")
        html = plot_network_html(net, out / "map.html")
    summary = net.summary()
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False))
    print_summary(summary)
    outputs: list[tuple[str, Path]] = [
        ("map (PNG)", png),
        ("interactive map (HTML)", html),
        ("network summary (JSON)", out / "summary.json"),
        ("network (GraphML + layers)", out / "network"),
    ]

    result = run_with_progress(scenario, base_dir, "Baseline day")
    day_paths = write_run(result, out / "baseline_day")
    console.print(kpi_table(result.kpis, f"{scenario.name} (seed {scenario.seed})"))
    t = result.timing
    console.print(
        f"Simulated {scenario.horizon / 3600:g} h in {t['simulate_s']:.1f} s "
        f"(real-time factor {t['real_time_factor']:,.0f}×)."
    )
    outputs += [("baseline day report (HTML)", day_paths["summary"]),
                ("baseline day data", day_paths["dataset"].parent)]  # fmt: skip

    storm = scenario_of("gongshu_rainstorm.yaml")

    def rainstorm() -> dict[str, Path]:
        wet = run_with_progress(storm, base_dir, "Rainstorm day")
        wet_paths = write_run(wet, out / "rainstorm_day")
        _print_against(result, wet, "dry baseline", "rainstorm", [
            "rain_depth", "max_water_depth", "points_impeded", "points_closed",
            "road_closure_hours", "reroutes", "ponding_cases", "cases_reported",
            "share_arrive_within_target", "time_to_arrive_mean", "time_to_resolve_mean",
            "escalations",
        ])  # fmt: skip
        forecast = storm.with_updates(**{"hydro.forecast.enabled": True})
        warned = run_with_progress(forecast, base_dir, "Rainstorm with forecasts")
        fc_paths = write_run(warned, out / "rainstorm_forecast")
        _print_against(wet, warned, "no forecast", "forecast alerts", [
            "forecast_alerts", "forecast_onsets_warned", "forecast_warning_mean",
            "forecast_crews_staged", "ponding_time_to_arrive_mean", "time_to_arrive_mean",
            "escalations",
        ])  # fmt: skip
        return {
            "rainstorm day report (HTML)": wet_paths["summary"],
            "rainstorm road closures (CSV)": wet_paths.get("road_states", wet_paths["kpis_csv"]),
            "forecast alerts, CAP 1.2 (XML)": fc_paths["cap_feed"].parent,
            "rainstorm with forecasts (HTML)": fc_paths["summary"],
        }

    def muck() -> dict[str, Path]:
        haul = run_with_progress(scenario_of("gongshu_muck_night.yaml"), base_dir, "Muck-truck day")
        muck_paths = write_run(haul, out / "muck_night")
        _print_trucks(haul)
        return {"muck-truck day report (HTML)": muck_paths["summary"],
                "muck-truck trips, violations": muck_paths["trucks_trips"].parent}  # fmt: skip

    def event() -> dict[str, Path]:
        night = run_with_progress(scenario_of("gongshu_event_night.yaml"), base_dir, "Event night")
        night_paths = write_run(night, out / "event_night")
        _print_crowds(night)
        return {"event night report (HTML)": night_paths["summary"],
                "event night crowd alerts": night_paths.get("crowd_alerts",
                                                            night_paths["kpis_csv"])}  # fmt: skip

    sections: list[tuple[str, Callable[[], dict[str, Path]]]] = [
        ("Waterlogging and forecasts (design storm)", rainstorm),
        ("Radar storm with pysteps nowcasts",
         lambda: {"radar storm, pysteps nowcasts (HTML)":
                  _demo_radar(out / "radar_storm", scenario_of("gongshu_radar_storm.yaml"))[
                      "summary"]}),
        ("Gauge placement",
         lambda: {"gauge placement (HTML, GeoJSON)":
                  _demo_placement(storm, base_dir, out / "placement")["report"]}),
        ("Muck trucks", muck),
        ("Crowds at an event", event),
    ]  # fmt: skip
    for label, body in sections:
        outputs += list(section(label, body).items())

    policies = ["nearest_idle", "prepositioning", "fixed_zones"]
    with steps(len(policies) * replications, "Comparing dispatch policies") as step:
        comparison = compare_policies(
            scenario, policies, replications=replications, base_dir=base_dir, progress=step,
        )  # fmt: skip
    cmp_paths = comparison.write(out / "compare")
    print_comparison(comparison, ["share_arrive_within_target", "time_to_resolve_mean"])
    outputs.append(("policy comparison (CSV)", cmp_paths["summary"]))
    index = _write_index(out, summary, outputs, off)
    outputs.insert(0, ("index of the reports (HTML)", index))

    console.print(f"\nDone in {time.perf_counter() - t0:.0f} s. Outputs in [bold]{out}/[/]:")
    for label, path in outputs:
        console.print(f"  {label:<36} {path}")
    for label, why in off.items():
        console.print(f"  [yellow]{label}: off[/] ({escape(why)})")


def _write_index(
    out: Path, summary: dict[str, Any], outputs: list[tuple[str, Path]], off: dict[str, str]
) -> Path:
    """``index.html``: the network, a link to every output, and each model that is off."""
    from twin.report.page import esc, html_page, write_page

    links = "".join(
        f'<li><a href="{esc(path.relative_to(out).as_posix())}">{esc(label)}</a></li>'
        for label, path in outputs
        if path.is_relative_to(out)
    )
    body = [
        f"<h1>The twin of {esc(summary.get('name') or 'the network')}</h1>",
        f'<p class="note">{esc(summary.get("source", ""))}: {summary.get("nodes", 0):,} nodes, '
        f"{summary.get('edges', 0):,} edges.</p>",
        f"<h2>Reports and data</h2><ul>{links}</ul>",
    ]
    if off:
        items = "".join(
            f"<li><b>{esc(label)}: off.</b> {esc(why)}</li>" for label, why in off.items()
        )
        body.append(f"<h2>Models that are off on this network, and why</h2><ul>{items}</ul>")
    return write_page(out / "index.html", html_page("city-twin demo", body, plotly=False))


def _demo_radar(out: Path, radar: Any, replications: int = 5) -> dict[str, Path]:
    """A real radar storm transposed over Gongshu, forecast with pysteps radar nowcasts.

    Prints the alerts' POD, FAR and warning lead at each level; the same storm and seed
    with the gauge-persistence rain the forecaster had before radar (the value of the
    radar nowcast); and the effect of sending crews on alerts on the ponding response,
    paired over ``replications`` seeds with intervals.
    """
    from twin.run.compare import compare_variants
    from twin.run.folder import write_run

    radar_file = _scenarios_dir() / "gongshu_radar_storm.yaml"
    gauge = radar.with_updates(**{"hydro.forecast.rain_source": "persistence"})
    before = run_with_progress(gauge, radar_file.parent, "Radar storm, gauge persistence")
    after = run_with_progress(radar, radar_file.parent, "Radar storm, pysteps nowcast")
    paths = write_run(after, out)
    caption = str(after.dataset.attrs.get("rain_caption", ""))
    console.print(f"Rain: {escape(caption)}.")
    _print_against(before, after, "gauge persistence", "radar nowcast", [
        "points_impeded", "points_closed", "forecast_alerts",
        "forecast_pod_impeded", "forecast_far_impeded", "forecast_lead_impeded_mean",
        "forecast_pod_closed", "forecast_far_closed", "forecast_lead_closed_mean",
        "forecast_lead_closed_median", "ponding_time_to_arrive_mean",
    ])  # fmt: skip
    variants = {"no crews on alerts": {"hydro.forecast.crews_per_alert": 0}, "crews on alerts": {}}
    with steps(len(variants) * replications, "Pre-positioning on alerts, paired seeds") as step:
        cmp = compare_variants(
            radar, variants, replications=replications, base_dir=radar_file.parent,
            progress=step,
        )  # fmt: skip
    cmp.write(out / "prepositioning")
    row = cmp.summary[
        (cmp.summary["kpi"] == "ponding_time_to_arrive_mean")
        & (cmp.summary["policy"] == "crews on alerts")
    ].iloc[0]
    console.print(
        f"Sending a crew on each alert changes the time to a crew on site at ponding points "
        f"by {row['diff']:+.2f} min (95 % interval {row['diff_low']:+.2f} to "
        f"{row['diff_high']:+.2f}, paired over {replications} seeds; mean "
        f"{row['mean']:.2f} min with crews sent)."
    )
    return paths


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
    net = load_scenario_network(scenario.network, base_dir=base_dir)
    with steps(1, "Placing water-level gauges") as step:
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
    return Path(__file__).resolve().parents[2] / "scenarios"


def _number(value: float, *, sign: bool = False) -> str:
    """A KPI value to read: whole numbers from 1,000 up with separators, never exponents."""
    plus = "+" if sign else ""
    if abs(value) >= 1000:
        return f"{value:{plus},.0f}"
    if value != 0 and abs(value) < 0.01:
        return f"{value:{plus}.4f}".rstrip("0")
    return f"{value:{plus}.3g}"


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
        cells = ["—" if v is None else _number(v) for v in (va, vb)]
        diff = "—" if va is None or vb is None else _number(vb - va, sign=True)
        table.add_row(k.replace("_", " "), *cells, diff,
                      "" if units.get(k) == "-" else str(units.get(k, "")))  # fmt: skip
    console.print(table)
