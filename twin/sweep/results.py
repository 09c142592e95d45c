"""Sweep results: the :class:`SweepResult` object, its files, and reading folders back.

Layout of a sweep folder (``RUN_DIR``)::

    RUN_DIR/
      sweep.json      the manifest: base scenario, grid, replications, every run's key,
                      parameters, seed and status, timing; written first and rewritten
                      at the end (a folder with it is a sweep folder)
      sweep.nc        the merged Dataset (see twin.sweep.merge); sweep.zarr/ with
                      format "zarr" (needs the optional zarr package)
      kpis.csv        per-run KPIs: point, <one column per parameter>, replication, seed,
                      key, kpi, value, unit
      summary.csv     per grid point and KPI: mean, std, Student-t ci_low / ci_high, n
      failures.csv    failed runs: key, parameters, replication, seed, error, worker
      report.html     the HTML report (twin sweep, or twin report RUN_DIR)
      runs/<key>/     one folder per run (see twin.sweep.task): run.nc, cases.parquet,
                      kpis.parquet, kpis.csv, escalations.parquet, [road_states.csv],
                      status.json; or error.json + status.json for a failed run

A run folder written by ``twin run`` or :meth:`twin.run.results.RunResult.write` (and
each ``runs/<key>/``) is read back as a :class:`~twin.run.results.RunResult` by
:func:`read_run`, without running anything again.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import xarray as xr

from twin import __version__
from twin.run.results import RunResult
from twin.scenario import Scenario, validate_scenario
from twin.sweep.errors import SweepError
from twin.sweep.grid import Grid
from twin.sweep.task import ERROR_FILE, RunOutcome, RunTask, read_status

__all__ = [
    "MANIFEST",
    "SweepResult",
    "folder_kind",
    "read_run",
    "read_sweep",
    "scenario_from_json",
    "write_outputs",
]

logger = logging.getLogger(__name__)

MANIFEST = "sweep.json"
RUNS_DIR = "runs"
FAILURE_COLUMNS = ["key", "replication", "seed", "error", "worker"]


@dataclass
class SweepResult:
    """Everything a sweep produced.

    Attributes
    ----------
    folder
        The sweep folder.
    scenario
        The base scenario (before the grid's changes).
    grid
        The swept parameters and values.
    replications
        Replications per grid point (seeds ``scenario.seed + r``).
    confidence
        Confidence level of the intervals [-].
    outcomes
        One per run, in grid order then replication order.
    runs
        Per-run KPIs (see :func:`twin.sweep.merge.kpi_runs_table`).
    summary
        Per grid point and KPI: mean and Student-t interval (see
        :func:`twin.sweep.merge.summarise_grid`).
    dataset
        The merged Dataset, or ``None`` when no run finished.
    timing
        Wall-clock facts [s]: ``connect_s``, ``runs_s``, ``close_s``, ``merge_s``,
        ``total_s``.
    paths
        Files written, by role.
    info
        Where it ran: ``scheduler`` (address or ``"local"``), ``workers``.
    """

    folder: Path
    scenario: Scenario
    grid: Grid
    replications: int
    confidence: float
    outcomes: list[RunOutcome]
    runs: pd.DataFrame
    summary: pd.DataFrame
    dataset: xr.Dataset | None
    timing: dict[str, float] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> list[RunOutcome]:
        """The runs that finished (run now or reused)."""
        return [o for o in self.outcomes if o.ok]

    @property
    def failures(self) -> list[RunOutcome]:
        """The runs that failed, each with its error, seed and parameters."""
        return [o for o in self.outcomes if not o.ok]

    @property
    def reused(self) -> list[RunOutcome]:
        """The runs found finished on disk and not run again."""
        return [o for o in self.outcomes if o.reused]

    def failures_table(self) -> pd.DataFrame:
        """Failed runs: key, one column per parameter, replication, seed, error, worker."""
        rows = [{"key": o.key, **o.params, "replication": o.replication, "seed": o.seed,
                 "error": o.error, "worker": o.worker} for o in self.failures]  # fmt: skip
        columns = ["key", *self.grid.dims, *FAILURE_COLUMNS[1:]]
        return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------- writing
def manifest(
    scenario: Scenario,
    grid: Grid,
    tasks: list[RunTask],
    outcomes: dict[str, RunOutcome],
    *,
    replications: int,
    confidence: float,
    base_dir: Path | None,
    state: Literal["running", "done"],
    timing: dict[str, float] | None = None,
    info: dict[str, Any] | None = None,
    agents: bool = False,
    fmt: str = "netcdf",
) -> dict[str, Any]:
    """The content of ``sweep.json``."""
    runs = []
    for t in tasks:
        o = outcomes.get(t.key)
        runs.append({
            "key": t.key, "point": t.point, "index": list(t.index), "params": t.params,
            "labels": t.labels, "replication": t.replication, "seed": t.seed,
            "status": "pending" if o is None else "ok" if o.ok else "failed",
            "reused": bool(o.reused) if o is not None else False,
            "error": o.error if o is not None else "",
        })  # fmt: skip
    counts = {s: sum(r["status"] == s for r in runs) for s in ("ok", "failed", "pending")}
    return {
        "kind": "twin-sweep",
        "format_version": 1,
        "state": state,
        "scenario_name": scenario.name,
        "scenario": scenario.model_dump(mode="json"),
        "base_dir": str(base_dir) if base_dir is not None else None,
        "grid": grid.to_json(),
        "replications": replications,
        "confidence": confidence,
        "agents": agents,
        "format": fmt,
        "counts": {**counts, "reused": sum(bool(r["reused"]) for r in runs), "total": len(runs)},
        "timing": timing or {},
        "info": info or {},
        "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        "twin_version": __version__,
        "runs": runs,
    }


def write_manifest(folder: Path, data: dict[str, Any]) -> Path:
    """Write ``sweep.json`` atomically; return its path."""
    path = folder / MANIFEST
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


def write_outputs(
    result: SweepResult, *, fmt: Literal["netcdf", "zarr"] = "netcdf"
) -> dict[str, Path]:
    """Write the merged Dataset and the tables of a sweep; return the paths by role."""
    folder = result.folder
    paths: dict[str, Path] = {}
    if result.dataset is not None:
        if fmt == "zarr":
            paths["dataset"] = folder / "sweep.zarr"
            result.dataset.to_zarr(paths["dataset"], mode="w")
        else:
            paths["dataset"] = folder / "sweep.nc"
            tmp = folder / ".sweep.nc.tmp"
            result.dataset.to_netcdf(tmp)
            tmp.replace(paths["dataset"])
    paths["kpis"] = folder / "kpis.csv"
    result.runs.to_csv(paths["kpis"], index=False)
    paths["summary"] = folder / "summary.csv"
    result.summary.to_csv(paths["summary"], index=False)
    paths["failures"] = folder / "failures.csv"
    result.failures_table().to_csv(paths["failures"], index=False)
    return paths


# ---------------------------------------------------------------------------- reading
_CLOCK_SECONDS = re.compile(r"^(\d{1,2}:\d{2}):00$")


def scenario_from_json(data: Any, *, where: str) -> Scenario:
    """A scenario from its JSON dump (``Scenario.model_dump(mode="json")``).

    The dump writes shift start times as ``"HH:MM:SS"``, which the schema's clock-time
    parser (``"HH:MM"``) does not read back; they are trimmed to ``"HH:MM"`` first.
    """
    data = copy.deepcopy(data)
    shifts = data.get("crews", {}).get("shifts") if isinstance(data, dict) else None
    for shift in shifts or ():
        if isinstance(shift, dict) and isinstance(shift.get("start"), str):
            shift["start"] = _CLOCK_SECONDS.sub(r"\1", shift["start"])
    return validate_scenario(data, where=where)


def folder_kind(folder: str | Path) -> Literal["sweep", "run"]:
    """Whether ``folder`` holds a sweep (``sweep.json``) or one run (``run.nc`` + KPIs).

    Raises
    ------
    SweepError
        It is neither (or does not exist).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SweepError(f"{folder}: no such folder; give a folder written by `twin run` or "
                         "`twin sweep`")  # fmt: skip
    if (folder / MANIFEST).is_file():
        return "sweep"
    if (folder / "run.nc").is_file() and (folder / "kpis.parquet").is_file():
        return "run"
    if (folder / ERROR_FILE).is_file():
        raise SweepError(f"{folder}: this run failed (see {folder / ERROR_FILE}); nothing to "
                         "report")  # fmt: skip
    raise SweepError(
        f"{folder}: neither a run folder (run.nc, kpis.parquet) nor a sweep folder "
        f"({MANIFEST}); give a folder written by `twin run` or `twin sweep`"
    )


def read_run(folder: str | Path) -> RunResult:
    """A run folder read back as a :class:`~twin.run.results.RunResult` (nothing is rerun).

    Reads ``run.nc`` (the scenario comes from its ``scenario_json`` attribute),
    ``cases.parquet``, ``kpis.parquet``, ``escalations.parquet`` and, when present,
    ``road_states.csv`` and the timing in ``status.json`` (sweep runs). The result has no
    network.

    Raises
    ------
    SweepError
        The folder is not a complete run folder.
    """
    folder = Path(folder)
    if folder_kind(folder) != "run":
        raise SweepError(f"{folder}: a sweep folder, not a run folder")
    with xr.open_dataset(folder / "run.nc") as ds:
        dataset = ds.load()
    try:
        scenario = scenario_from_json(json.loads(dataset.attrs["scenario_json"]),
                                      where=str(folder / "run.nc"))  # fmt: skip
        cases = pd.read_parquet(folder / "cases.parquet")
    except (KeyError, ValueError, OSError) as exc:
        raise SweepError(f"{folder}: not a complete run folder ({exc}); rerun it") from exc
    kpis = pd.read_parquet(folder / "kpis.parquet")
    esc_path = folder / "escalations.parquet"
    escalations = (
        pd.read_parquet(esc_path) if esc_path.is_file()
        else pd.DataFrame(columns=["case", "level", "elapsed_s", "time"])
    )  # fmt: skip
    road_path = folder / "road_states.csv"
    road_states = pd.read_csv(road_path) if road_path.is_file() else None
    status = read_status(folder) or {}
    timing = {str(k): float(v) for k, v in status.get("timing", {}).items()}
    return RunResult(scenario, dataset, cases, kpis, escalations, timing,
                     road_states=road_states)  # fmt: skip


def read_sweep(folder: str | Path) -> SweepResult:
    """A sweep folder read back from its files (nothing is rerun).

    Raises
    ------
    SweepError
        The folder has no readable ``sweep.json``.
    """
    folder = Path(folder)
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        scenario = scenario_from_json(data["scenario"], where=str(folder / MANIFEST))
        grid = Grid.from_json(data["grid"])
    except (OSError, ValueError, KeyError) as exc:
        raise SweepError(f"{folder}: no readable {MANIFEST} ({exc})") from exc
    outcomes = []
    for run in data.get("runs", []):
        run_dir = folder / RUNS_DIR / run["key"]
        status = read_status(run_dir)
        if status is not None and status.get("key") == run["key"]:
            error_path = run_dir / ERROR_FILE
            if error_path.is_file():
                err = json.loads(error_path.read_text(encoding="utf-8"))
                status = {**status, "traceback": err.get("traceback", "")}
            outcomes.append(RunOutcome.from_json(status, reused=bool(run.get("reused"))))
        else:
            error = run.get("error") or "did not finish"
            outcomes.append(RunOutcome.from_json({**run, "status": "failed", "error": error}))
    dataset = None
    for name in ("sweep.nc", "sweep.zarr"):
        path = folder / name
        if path.exists():
            dataset = (
                xr.open_zarr(path).load() if name.endswith("zarr")
                else xr.load_dataset(path)
            )  # fmt: skip
            break
    runs = pd.read_csv(folder / "kpis.csv") if (folder / "kpis.csv").is_file() else pd.DataFrame()
    summary = (
        pd.read_csv(folder / "summary.csv") if (folder / "summary.csv").is_file()
        else pd.DataFrame()
    )  # fmt: skip
    return SweepResult(
        folder=folder, scenario=scenario, grid=grid,
        replications=int(data["replications"]), confidence=float(data["confidence"]),
        outcomes=outcomes, runs=runs, summary=summary, dataset=dataset,
        timing={str(k): float(v) for k, v in data.get("timing", {}).items()},
        info=dict(data.get("info", {})),
    )  # fmt: skip
