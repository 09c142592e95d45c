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

from twin.cli._console import DEFAULT_OUT, console, err_console, print_warning, steps
from twin.errors import ArgumentError
from twin.report.output_folder import check_output_folder

__all__ = [
    "apply_options",
    "compare",
    "kpi_table",
    "network_source",
    "print_comparison",
    "run",
    "run_with_progress",
]

_STRICT_HELP = (
    "Any row of a replayed case CSV (cases.replay) that cannot be used is an error. "
    "Default: such rows are skipped with a warning naming their lines."
)
_NETWORK_HELP = (
    "Run on this network instead of the scenario's: a saved network folder (twin network "
    "build … --out DIR) or an OSM / GraphML file. Its city layers are used; a model whose "
    "layer it lacks says so."
)
_FORCE_HELP = (
    "Run a horizon over 366 days, or one whose estimated memory is over what is "
    "available (refused otherwise)."
)


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


def apply_options(
    scenario: Any,
    scenario_file: Path,
    *,
    seed: int | None = None,
    strict: bool = False,
    force: bool = False,
    runs: int = 1,
    network: Path | None = None,
) -> Any:
    """The scenario with the command's overrides, checked before any work is done.

    ``--seed`` (and the seeds of ``runs`` replications) must be a valid seed, and the
    horizon within the limit or ``--force`` given (a long one prints a warning with
    its estimate). ``--network`` must be an existing folder or file.
    """
    from twin.run.estimate import check_horizon
    from twin.seeds import check_seed  # imports numpy: not at `twin --help`

    if seed is not None:
        scenario = scenario.with_updates(seed=check_seed(seed, "--seed", runs=runs))
    else:
        check_seed(scenario.seed, f"{scenario_file}: seed", runs=runs)
    if network is not None:
        scenario = scenario.with_updates(**{"network.source": str(network_source(network))})
    if strict and scenario.cases.replay is not None:
        scenario = scenario.with_updates(**{"cases.replay.strict": True})
    warning = check_horizon(scenario, force=force, where=f"{scenario_file}: horizon")
    if warning is not None:
        print_warning(warning)
    return scenario


def network_source(path: Path) -> Path:
    """``--network PATH`` checked: an existing saved network folder or network file.

    Raises
    ------
    ArgumentError
        The path does not exist, or is a folder without a saved network.
    """
    if not path.exists():
        raise ArgumentError(
            f"--network {path}: no such file or folder; give a saved network folder "
            "(twin network build FILE --out DIR) or an OSM / GraphML file"
        )
    if path.is_dir() and not (path / "network.graphml").exists():
        raise ArgumentError(
            f"--network {path}: the folder holds no saved network (no network.graphml); "
            "build one with: twin network build FILE --out DIR"
        )
    return path.resolve()


def run_with_progress(scenario: Any, base_dir: Path, label: str) -> Any:
    """Run a scenario with a progress bar over its horizon; the run's result.

    The bar reads "preparing" while the network, cases and models are built, then
    follows the simulated time.
    """
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
        task = progress.add_task(f"{label}: preparing", total=1.0)

        def advance(fraction: float) -> None:
            progress.update(task, completed=fraction, description=f"{label}: simulating")

        result = run_scenario(scenario, base_dir=base_dir, progress=advance)
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
    strict: Annotated[bool, typer.Option("--strict", help=_STRICT_HELP)] = False,
    force: Annotated[bool, typer.Option("--force", help=_FORCE_HELP)] = False,
    network: Annotated[Path | None, typer.Option(help=_NETWORK_HELP)] = None,
) -> None:
    """Run a scenario once: NetCDF + Parquet results, KPI table and an HTML summary.

    The same scenario and seed always give identical results. Horizons over 31 days
    are announced with an estimate of their memory and output; over 366 days (or over
    the memory available) they are refused unless --force is given.

    The output folder is checked before the run (a file, read-only, or too little free
    space is an error at once). Each file is written whole or not at all; the outputs
    of an earlier run in the folder are replaced (one this run does not write, such as
    an earlier run's cap/, is removed) and other files in it are kept.
    """
    from twin.run.estimate import estimate_run
    from twin.scenario import load_scenario
    from twin.seeds import check_seed

    if seed is not None:
        check_seed(seed, "--seed")
    scenario = load_scenario(scenario_file)
    scenario = apply_options(
        scenario, scenario_file, seed=seed, strict=strict, force=force, network=network
    )
    folder = out or DEFAULT_OUT / "runs" / f"{scenario.name}-seed{scenario.seed}"
    check_output_folder(folder, need_bytes=int(estimate_run(scenario).output_bytes))
    # The models are imported once the scenario is valid: a bad file fails fast.
    from twin.run.folder import write_run

    # What is alive now is mostly the libraries just imported, alive until exit: leave it
    # out of every later garbage collection (the run's, and the interpreter's at exit,
    # which otherwise walk the whole heap several times: about a second per run).
    gc.freeze()
    result = run_with_progress(scenario, scenario_file.parent, f"Running {scenario.name}")
    with err_console.status(f"Writing the results to {folder}"):
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
    replications: Annotated[
        int, typer.Option(help="Common-random-number replications (at least 2).")
    ] = 5,
    confidence: Annotated[
        float, typer.Option(help="Confidence level of the intervals, between 0 and 1.")
    ] = 0.95,
    out: Annotated[
        Path | None, typer.Option(help="Output folder \\[default: twin-out/compare/NAME].")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help=_STRICT_HELP)] = False,
    force: Annotated[bool, typer.Option("--force", help=_FORCE_HELP)] = False,
    network: Annotated[Path | None, typer.Option(help=_NETWORK_HELP)] = None,
) -> None:
    """Compare dispatch policies on common random numbers, with confidence intervals.

    Policies: nearest_idle, fixed_zones, priority_preemption, workload_balancing,
    prepositioning. Replication r runs with seed = the scenario's seed + r.

    The options, the scenario and the output folder are checked before the first run.
    runs.csv and comparison.csv are written whole or not at all, replacing those of an
    earlier comparison in the folder; other files in it are kept.
    """
    from twin.run.compare import check_comparison
    from twin.scenario import POLICIES, load_scenario

    names = [p.strip() for p in policies.split(",") if p.strip()]
    check_comparison(names, replications=replications, confidence=confidence, option="--")
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ArgumentError(
            f"--policies: unknown {', '.join(map(repr, unknown))}; choose from "
            f"{', '.join(POLICIES)}"
        )
    scenario = load_scenario(scenario_file)
    scenario = apply_options(
        scenario, scenario_file, strict=strict, force=force, runs=replications, network=network
    )
    folder = out or DEFAULT_OUT / "compare" / scenario.name
    check_output_folder(folder)
    from twin.run.compare import compare_policies  # once the scenario is valid

    total = len(set(names)) * max(replications, 0)
    with steps(total, "Comparing policies") as step:
        comparison = compare_policies(
            scenario, names, replications=replications, confidence=confidence,
            base_dir=scenario_file.parent, progress=step,
        )  # fmt: skip
    paths = comparison.write(folder)
    headline = [
        "share_dispatch_within_target", "share_arrive_within_target",
        "share_resolve_within_target", "time_to_arrive_mean", "time_to_resolve_mean",
        "crew_utilisation", "escalations", "preemptions",
    ]  # fmt: skip
    print_comparison(comparison, headline)
    console.print(f"Tables in [bold]{folder}/[/]: " + ", ".join(p.name for p in paths.values()))
