"""Ensembles and parameter sweeps on Dask, and reports of runs and sweeps.

A sweep runs a scenario at every point of a parameter grid, several replications each
(seed ``scenario.seed + r``: common random numbers across the grid), one Dask task per
run, and merges the runs into one ``xarray.Dataset`` (dimensions: one per swept
parameter, ``replication``, ``time``) and KPI tables with confidence intervals::

    from twin.scenario import load_scenario
    from twin.sweep import parse_grid, run_sweep, write_report

    s = load_scenario("scenarios/gongshu_baseline_day.yaml")
    grid = parse_grid(["dispatch.policy=nearest_idle,fixed_zones", "crews.count=100,150"],
                      scenario=s)
    result = run_sweep(s, grid, "twin-out/sweeps/demo", replications=4)
    result.summary  # per grid point and KPI: mean, ci_low, ci_high
    write_report("twin-out/sweeps/demo")  # report.html

Modules: :mod:`~twin.sweep.grid` (parameters), :mod:`~twin.sweep.task` (one run in a
worker), :mod:`~twin.sweep.runner` (the client), :mod:`~twin.sweep.merge` (Dataset and
tables), :mod:`~twin.sweep.results` (files and reading back), :mod:`~twin.sweep.figures`
and :mod:`~twin.sweep.report` (HTML).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin._lazy import lazy_exports

if TYPE_CHECKING:
    from twin.sweep.errors import SweepError
    from twin.sweep.grid import Grid, GridAxis, GridPoint, make_grid, parse_grid
    from twin.sweep.report import write_report, write_sweep_report
    from twin.sweep.results import SweepResult, folder_kind, read_run, read_sweep
    from twin.sweep.runner import SweepProgress, run_sweep
    from twin.sweep.task import RunOutcome, RunTask

__all__ = [
    "Grid",
    "GridAxis",
    "GridPoint",
    "RunOutcome",
    "RunTask",
    "SweepError",
    "SweepProgress",
    "SweepResult",
    "folder_kind",
    "make_grid",
    "parse_grid",
    "read_run",
    "read_sweep",
    "run_sweep",
    "write_report",
    "write_sweep_report",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Grid": "twin.sweep.grid",
        "GridAxis": "twin.sweep.grid",
        "GridPoint": "twin.sweep.grid",
        "RunOutcome": "twin.sweep.task",
        "RunTask": "twin.sweep.task",
        "SweepError": "twin.sweep.errors",
        "SweepProgress": "twin.sweep.runner",
        "SweepResult": "twin.sweep.results",
        "folder_kind": "twin.sweep.results",
        "make_grid": "twin.sweep.grid",
        "parse_grid": "twin.sweep.grid",
        "read_run": "twin.sweep.results",
        "read_sweep": "twin.sweep.results",
        "run_sweep": "twin.sweep.runner",
        "write_report": "twin.sweep.report",
        "write_sweep_report": "twin.sweep.report",
    },
)
