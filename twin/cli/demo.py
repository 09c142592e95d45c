"""``twin demo``: the main job on the embedded Gongshu default, and where its outputs are.

The commands are plain functions, registered by name in :mod:`twin.cli` and imported
when run; models are imported inside them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from twin.cli._console import DEFAULT_OUT, console, steps
from twin.cli.network import print_summary
from twin.cli.run import kpi_table, print_comparison, run_with_progress
from twin.errors import ArgumentError

__all__ = ["demo"]


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
    that pre-position crews) and measures its value in case KPIs; forecasts a real radar
    storm transposed over Gongshu with pysteps radar nowcasts as the future rain, against
    gauge persistence; runs a day of muck
    trucks (about 2,300 planned trips from 30 sites to the 3 docks; violations detected,
    traced and handled as cases); runs an evening with a 30,000-person concert on Wulin
    Square (crowd forecasts raise alerts, crews staff the exits; their effect is
    measured); places water-level gauges under a budget; compares dispatch policies on
    common random numbers.
    """
    from twin.report.output_folder import check_output_folder, write_text_atomic

    if replications < 2:
        raise ArgumentError(
            f"--replications {replications}: give at least 2, so intervals can be computed"
        )
    check_output_folder(out)
    from twin.network import save_network
    from twin.network.plot import plot_network_html, plot_network_png
    from twin.run.compare import compare_policies
    from twin.run.folder import write_run
    from twin.run.runner import load_scenario_network
    from twin.scenario import load_scenario

    t0 = time.perf_counter()
    scenario_file = _scenarios_dir() / "gongshu_baseline_day.yaml"
    scenario = load_scenario(scenario_file)
    with steps(4, "Gongshu twin") as step:
        step("building the road network")
        net = load_scenario_network(scenario.network)
        step("saving network")
        save_network(net, out / "network")
        step("drawing PNG map")
        png = plot_network_png(net, out / "map.png")
        step("drawing HTML map")
        html = plot_network_html(net, out / "map.html")
    summary = net.summary()
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False))
    print_summary(summary)

    result = run_with_progress(scenario, scenario_file.parent, "Baseline day")
    day_paths = write_run(result, out / "baseline_day")
    console.print(kpi_table(result.kpis, f"{scenario.name} (seed {scenario.seed})"))
    t = result.timing
    console.print(
        f"Simulated {scenario.horizon / 3600:g} h in {t['simulate_s']:.1f} s "
        f"(real-time factor {t['real_time_factor']:,.0f}×)."
    )

    storm_file = _scenarios_dir() / "gongshu_rainstorm.yaml"
    storm = load_scenario(storm_file)
    wet = run_with_progress(storm, storm_file.parent, "Rainstorm day")
    wet_paths = write_run(wet, out / "rainstorm_day")
    _print_against(result, wet, "dry baseline", "rainstorm", [
        "rain_depth", "max_water_depth", "points_impeded", "points_closed",
        "road_closure_hours", "reroutes", "ponding_cases", "cases_reported",
        "share_arrive_within_target", "time_to_arrive_mean", "time_to_resolve_mean",
        "escalations",
    ])  # fmt: skip

    forecast = storm.with_updates(**{"hydro.forecast.enabled": True})
    warned = run_with_progress(forecast, storm_file.parent, "Rainstorm with forecasts")
    fc_paths = write_run(warned, out / "rainstorm_forecast")
    _print_against(wet, warned, "no forecast", "forecast alerts", [
        "forecast_alerts", "forecast_onsets_warned", "forecast_warning_mean",
        "forecast_crews_staged", "ponding_time_to_arrive_mean", "time_to_arrive_mean",
        "escalations",
    ])  # fmt: skip

    radar_paths = _demo_radar(out / "radar_storm")

    place_paths = _demo_placement(storm, storm_file.parent, out / "placement")

    muck_file = _scenarios_dir() / "gongshu_muck_night.yaml"
    muck = load_scenario(muck_file)
    haul = run_with_progress(muck, muck_file.parent, "Muck-truck day")
    muck_paths = write_run(haul, out / "muck_night")
    _print_trucks(haul)

    event_file = _scenarios_dir() / "gongshu_event_night.yaml"
    event = load_scenario(event_file)
    night = run_with_progress(event, event_file.parent, "Event night")
    night_paths = write_run(night, out / "event_night")
    _print_crowds(night)

    policies = ["nearest_idle", "prepositioning", "fixed_zones"]
    with steps(len(policies) * replications, "Comparing dispatch policies") as step:
        comparison = compare_policies(
            scenario, policies, replications=replications, base_dir=scenario_file.parent,
            progress=step,
        )  # fmt: skip
    cmp_paths = comparison.write(out / "compare")
    print_comparison(comparison, ["share_arrive_within_target", "time_to_resolve_mean"])

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
        ("radar storm, pysteps nowcasts (HTML)", radar_paths["summary"]),
        ("gauge placement (HTML, GeoJSON)", place_paths["report"]),
        ("muck-truck day report (HTML)", muck_paths["summary"]),
        ("muck-truck trips, violations", muck_paths["trucks_trips"].parent),
        ("event night report (HTML)", night_paths["summary"]),
        ("event night crowd alerts", night_paths.get("crowd_alerts", night_paths["kpis_csv"])),
        ("policy comparison (CSV)", cmp_paths["summary"]),
    ):
        console.print(f"  {label:<31} {path}")


def _demo_radar(out: Path, replications: int = 5) -> dict[str, Path]:
    """A real radar storm transposed over Gongshu, forecast with pysteps radar nowcasts.

    Prints the alerts' POD, FAR and warning lead at each level; the same storm and seed
    with the gauge-persistence rain the forecaster had before radar (the value of the
    radar nowcast); and the effect of sending crews on alerts on the ponding response,
    paired over ``replications`` seeds with intervals.
    """
    from twin.run.compare import compare_variants
    from twin.run.folder import write_run
    from twin.scenario import load_scenario

    radar_file = _scenarios_dir() / "gongshu_radar_storm.yaml"
    radar = load_scenario(radar_file)
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
    net = load_scenario_network(scenario.network)
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
