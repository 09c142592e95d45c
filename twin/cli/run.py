"""``twin run`` and ``twin compare``: one scenario run, and dispatch policies compared.

The commands are plain functions, registered by name in :mod:`twin.cli` and imported
when run; models are imported inside them.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from twin.cli._console import DEFAULT_OUT, console, err_console, steps

__all__ = ["compare", "kpi_table", "print_comparison", "run", "run_with_progress"]


def kpi_table(kpis: Any, title: str) -> Table:
    """A run's KPI table (kpi, value, unit) for the terminal; shares as percentages."""
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


def run_with_progress(scenario: Any, base_dir: Path, label: str) -> Any:
    """Run a scenario with a progress bar over its horizon; the run's result."""
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


def print_comparison(comparison: Any, kpis: list[str]) -> None:
    """Policies compared: per KPI, mean, interval and difference to the baseline."""
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
    # The models are imported once the scenario is valid: a bad file fails fast.
    from twin.run.folder import write_run

    # What is alive now is mostly the libraries just imported, alive until exit: leave it
    # out of every later garbage collection (the run's, and the interpreter's at exit,
    # which otherwise walk the whole heap several times: about a second per run).
    gc.freeze()
    folder = out or DEFAULT_OUT / "runs" / f"{scenario.name}-seed{scenario.seed}"
    result = run_with_progress(scenario, scenario_file.parent, f"Running {scenario.name}")
    paths = write_run(result, folder)
    console.print(kpi_table(result.kpis, f"{scenario.name} (seed {scenario.seed})"))
    t = result.timing
    console.print(
        f"Simulated {scenario.horizon / 3600:g} h in {t['simulate_s']:.1f} s "
        f"(real-time factor {t['real_time_factor']:,.0f}×, {t['events']:,.0f} events)."
    )
    console.print(f"Results in [bold]{folder}/[/]: " + ", ".join(p.name for p in paths.values()))


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
    from twin.scenario import load_scenario

    scenario = load_scenario(scenario_file)
    from twin.run.compare import compare_policies  # once the scenario is valid

    names = [p.strip() for p in policies.split(",") if p.strip()]
    total = len(set(names)) * max(replications, 0)
    with steps(total, "Comparing policies") as step:
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
    print_comparison(comparison, headline)
    console.print(f"Tables in [bold]{folder}/[/]: " + ", ".join(p.name for p in paths.values()))
