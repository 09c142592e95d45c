"""``twin sweep`` and ``twin report``: parameter sweeps on Dask, and HTML reports.

The commands are plain functions, registered by name in :mod:`twin.cli` and imported
when run; models are imported inside them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from twin.cli._console import DEFAULT_OUT, console, err_console, steps
from twin.errors import ArgumentError
from twin.report.output_folder import check_output_folder

__all__ = ["SWEEP_PARTIAL_EXIT", "report_cmd", "sweep"]

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
    import numpy as np

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
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Run a horizon over 366 days, or one whose estimated memory (per run) is "
            "over what is available (refused otherwise).",
        ),
    ] = False,
) -> None:
    """Run a scenario over a parameter grid × replications on Dask, with intervals.

    One Dask task per (grid point, replication); every grid point uses the same seeds
    (common random numbers). Each run writes its own folder under OUT/runs/; a rerun into
    the same folder reuses finished runs, so an interrupted sweep resumes. Results merge
    into OUT/sweep.nc (dims: swept parameters × replication × time), kpis.csv (per run) and
    summary.csv (per grid point: mean, CI). Failed runs are listed with their error and
    seed, in OUT/failures.csv and runs/KEY/error.json.

    The options, the scenario, the grid and the sweep folder are checked before any run.

    Exit status: 0 when every run finished, 3 when some failed (the others are kept and
    merged), 1 when all failed or the sweep could not start.
    """
    from twin.cli.run import apply_options
    from twin.scenario import load_scenario
    from twin.sweep.errors import SweepError
    from twin.sweep.grid import parse_grid

    _check_sweep_options(replications, workers, retries, confidence, fmt)
    scenario = load_scenario(scenario_file)
    scenario = apply_options(scenario, scenario_file, force=force, runs=replications)
    parsed = parse_grid(grid or [], scenario=scenario)
    check_output_folder(out or DEFAULT_OUT / "sweeps" / scenario.name)
    # Dask and the models are imported once the inputs are valid: a bad input fails fast.
    import distributed  # noqa: F401  (sets its loggers' levels on import: set ours after)

    from twin.sweep.report import write_report
    from twin.sweep.runner import run_sweep

    # Dask logs (cluster start and stop) at the level the user asked for, WARNING by default.
    logging.getLogger("distributed").setLevel(logging.getLogger().getEffectiveLevel())
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
        with steps(1, "Writing report") as step:
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


def _check_sweep_options(
    replications: int, workers: int, retries: int, confidence: float, fmt: str
) -> None:
    """The sweep's numeric options, checked before anything is loaded."""
    if replications < 1:
        raise ArgumentError(f"--replications {replications}: give at least 1")
    if workers < 1:
        raise ArgumentError(f"--workers {workers}: give at least 1 worker process")
    if retries < 0:
        raise ArgumentError(f"--retries {retries}: give 0 or more")
    if not 0.0 < confidence < 1.0:
        raise ArgumentError(
            f"--confidence {confidence:g}: a confidence level lies strictly between 0 and 1; "
            "give e.g. 0.95 for 95 % intervals"
        )
    if fmt not in ("netcdf", "zarr"):
        raise ArgumentError(f"--format {fmt!r}: give netcdf or zarr")


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

    if out is not None:
        if out.is_dir():
            raise ArgumentError(
                f"--out {out}: is a folder; give the HTML file to write, e.g. {out}/report.html"
            )
        check_output_folder(out.parent, option="--out")
    elif folder.is_dir():
        check_output_folder(folder, option="FOLDER")
    with steps(1, "Writing report") as step:
        step(str(folder))
        path = write_report(folder, out=out, roads=roads)
    console.print(f"Report: [bold]{path}[/]")
