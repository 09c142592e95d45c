"""Run a sweep on ``dask.distributed``: one task per (grid point, replication).

The client plans the runs (:func:`plan_runs`), skips those whose folder is already
complete (resumability: an interrupted sweep rerun into the same folder only runs what
is missing), submits one :func:`~twin.sweep.task.execute_run` task per remaining run, and
handles results as they arrive (``distributed.as_completed``), reporting progress through
a callback. When all are in, it merges the finished runs (:mod:`twin.sweep.merge`) and
writes the sweep's files (:mod:`twin.sweep.results`).

Where it runs:

- by default a ``LocalCluster`` on 127.0.0.1: ``workers`` worker processes with one
  thread each, no dashboard, every port chosen free (none fixed, so sweeps side by side
  do not clash), BLAS/OpenMP/numba threads set to 1 in the workers;
- or an existing cluster: ``scheduler="tcp://HOST:PORT"`` (or the path of a scheduler
  file written by ``dask scheduler --scheduler-file``). Workers write the run folders
  themselves, so the sweep folder must be on a file system that the client and every
  worker share.

Seeds: replication ``r`` runs with seed ``scenario.seed + r`` at every grid point, so the
grid points share their random numbers (common random numbers).

Failures: a run that raises is recorded in its folder (``error.json``: error, traceback,
seed, parameters) and in the result's ``failures``; the other runs go on. Tasks lost
with a worker (killed, out of memory) are rescheduled by Dask on the remaining workers;
a task that loses several workers in a row (``distributed.scheduler.allowed-failures``)
is reported as failed.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from twin.errors import ScenarioError
from twin.run.replications import replica, replica_seed
from twin.scenario import Scenario
from twin.sweep.errors import SweepError
from twin.sweep.grid import Grid, run_key
from twin.sweep.merge import kpi_runs_table, merge_runs, summarise_grid
from twin.sweep.results import (
    RUNS_DIR,
    SweepResult,
    manifest,
    write_manifest,
    write_outputs,
)
from twin.sweep.task import (
    RunOutcome,
    RunTask,
    clean_temporary,
    execute_run,
    is_complete,
    read_status,
    write_failure,
)

__all__ = ["SweepProgress", "connect", "plan_runs", "run_sweep"]

logger = logging.getLogger(__name__)

#: Environment of local worker processes: one thread per library, no oversubscription.
WORKER_ENV: dict[str, str] = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


@dataclass(frozen=True)
class SweepProgress:
    """Where a sweep stands, passed to the ``progress`` callback.

    Attributes
    ----------
    total
        Runs in the sweep.
    done
        Runs finished or failed so far, reused ones included.
    failed
        Runs failed so far.
    reused
        Runs found finished on disk (not run again).
    outcome
        The run that just came in (``None`` for the first call, before any result).
    """

    total: int
    done: int
    failed: int
    reused: int
    outcome: RunOutcome | None = None


def plan_runs(
    scenario: Scenario,
    grid: Grid,
    folder: str | Path,
    *,
    replications: int,
    base_dir: Path | None = None,
) -> list[RunTask]:
    """Every run of a sweep: grid points in order, then replications.

    Parameters
    ----------
    scenario
        The base scenario.
    grid
        The swept parameters.
    folder
        The sweep folder; run ``k`` writes to ``folder/runs/<key>``.
    replications
        Replications per grid point; replication ``r`` has seed ``scenario.seed + r``.
    base_dir
        Folder for relative paths in the scenario.

    Returns
    -------
    list of RunTask
        ``grid.size × replications`` tasks, each with its own validated scenario.
    """
    runs_dir = Path(folder).resolve() / RUNS_DIR
    tasks = []
    for flat, point in enumerate(grid.points()):
        for r in range(replications):
            seed = replica_seed(scenario, r)
            run = replica(scenario, point.params, r)
            key = run_key(point, r, run)
            tasks.append(RunTask(
                key=key, scenario=run, folder=str(runs_dir / key), point=flat,
                index=point.index, params=dict(point.params), labels=dict(point.labels),
                replication=r, seed=seed,
                base_dir=str(Path(base_dir).resolve()) if base_dir is not None else None,
            ))  # fmt: skip
    return tasks


def _distributed() -> Any:
    """The ``distributed`` package (imported on first use; typed loosely: it has no stubs)."""
    import distributed

    return distributed


@contextmanager
def connect(
    scheduler: str | None = None, *, workers: int = 2, timeout: float = 60.0
) -> Iterator[Any]:
    """A Dask client: a new local cluster, or one connected to an existing scheduler.

    Parameters
    ----------
    scheduler
        ``None`` for a ``LocalCluster`` on 127.0.0.1 (processes, one thread each, no
        dashboard); else the scheduler's address ``tcp://HOST:PORT`` or the path of a
        scheduler file.
    workers
        Worker processes of the local cluster.
    timeout
        How long to wait for the scheduler and for a first worker [s].

    Yields
    ------
    distributed.Client
        Closed (and the local cluster shut down) on exit.

    Raises
    ------
    SweepError
        The scheduler cannot be reached, or no worker joins within ``timeout``.
    """
    dd = _distributed()
    if scheduler is None:
        cluster = dd.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, protocol="tcp", env=dict(WORKER_ENV),
            silence_logs=logging.ERROR,
            # No dashboard; the scheduler's small HTTP server (health, metrics) would still
            # take port 8787, so put it on a free loopback port instead.
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        )  # fmt: skip
        client = dd.Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    kwargs: dict[str, Any] = (
        {"scheduler_file": scheduler} if Path(scheduler).is_file() else {"address": scheduler}
    )
    try:
        client = dd.Client(**kwargs, timeout=f"{timeout}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepError(
            f"cannot reach the Dask scheduler at {scheduler} ({type(exc).__name__}: {exc}); "
            "start one with `dask scheduler`, or leave out --scheduler for a local cluster"
        ) from None
    try:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise SweepError(
                f"no Dask worker joined the scheduler at {scheduler} within {timeout:g} s; "
                "start workers with `dask worker ADDRESS`"
            ) from None
        yield client
    finally:
        client.close()


def _check(replications: int, workers: int, confidence: float, fmt: str) -> None:
    if replications < 1:
        raise ScenarioError(f"replications must be ≥ 1, got {replications}")
    if workers < 1:
        raise ScenarioError(f"workers must be ≥ 1, got {workers}")
    if not 0 < confidence < 1:
        raise ScenarioError(f"confidence must be between 0 and 1, got {confidence}")
    if fmt not in ("netcdf", "zarr"):
        raise ScenarioError(f"unknown output format {fmt!r}; choose netcdf or zarr")
    if fmt == "zarr":
        import importlib.util

        if importlib.util.find_spec("zarr") is None:
            raise SweepError(
                "the zarr format needs the zarr package (pip install zarr); or use netcdf"
            ) from None


def _future_outcome(future: Any, task: RunTask) -> RunOutcome:
    """The outcome of a finished future; a task error becomes a recorded failure."""
    if future.status == "finished":
        outcome: RunOutcome = future.result()
        if outcome.ok and not is_complete(task.folder):
            outcome = RunOutcome(
                key=task.key, point=task.point, params=task.params, labels=task.labels,
                replication=task.replication, seed=task.seed, ok=False, worker=outcome.worker,
                error=f"the worker wrote {task.folder} where this client cannot see it; the "
                "sweep folder must be on a file system shared by the client and the workers",
            )  # fmt: skip
        return outcome
    if future.status == "error":
        exc = future.exception()
        import traceback as tb_module

        text = "".join(tb_module.format_exception(type(exc), exc, future.traceback()))
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    else:
        text, error = "", f"task {future.status} (the scheduler or the client lost it)"
    outcome = RunOutcome(
        key=task.key, point=task.point, params=task.params, labels=task.labels,
        replication=task.replication, seed=task.seed, ok=False, error=error, traceback=text,
    )  # fmt: skip
    write_failure(task, outcome)
    return outcome


def run_sweep(
    scenario: Scenario,
    grid: Grid,
    folder: str | Path,
    *,
    replications: int = 2,
    base_dir: Path | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    retries: int = 2,
    confidence: float = 0.95,
    agents: bool = False,
    fmt: Literal["netcdf", "zarr"] = "netcdf",
    resume: bool = True,
    timeout: float | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
) -> SweepResult:
    """Run every (grid point, replication) of a sweep on Dask and merge the results.

    Parameters
    ----------
    scenario
        The base scenario.
    grid
        The swept parameters (see :func:`twin.sweep.grid.parse_grid`).
    folder
        The sweep folder (created if missing; see :mod:`twin.sweep.results`).
    replications
        Replications per grid point; replication ``r`` has seed ``scenario.seed + r``.
    base_dir
        Folder for relative paths in the scenario (the scenario file's folder).
    scheduler
        ``None`` for a local cluster, or an existing scheduler's address or file.
    workers
        Worker processes of the local cluster (ignored with ``scheduler``).
    retries
        Times Dask reruns a task whose execution raised outside the run itself.
    confidence
        Confidence level of the intervals [-].
    agents
        Keep the per-agent arrays in the merged Dataset.
    fmt
        ``"netcdf"`` (``sweep.nc``) or ``"zarr"`` (``sweep.zarr``, needs zarr).
    resume
        Reuse runs whose folder is complete; ``False`` deletes the sweep's run folders
        and runs everything again.
    timeout
        Wall-clock limit for the runs [s]; runs not in by then are reported as failed.
    progress
        Called with a :class:`SweepProgress` once before the first result and after
        each result (on the client's thread).

    Returns
    -------
    SweepResult
        Failed runs are in ``failures``; the sweep itself does not raise for them.

    Raises
    ------
    ScenarioError
        A bad argument (before any run starts).
    SweepError
        The scheduler cannot be reached or has no workers, or zarr is missing.
    """
    t_start = time.perf_counter()
    _check(replications, workers, confidence, fmt)
    folder = Path(folder).resolve()
    tasks = plan_runs(scenario, grid, folder, replications=replications, base_dir=base_dir)
    runs_dir = folder / RUNS_DIR
    runs_dir.mkdir(parents=True, exist_ok=True)
    clean_temporary(runs_dir)
    outcomes: dict[str, RunOutcome] = {}
    todo: list[RunTask] = []
    for t in tasks:
        if not resume:
            shutil.rmtree(t.folder, ignore_errors=True)
        status = read_status(t.folder) if resume else None
        if status is not None and status.get("status") == "ok" and status.get("key") == t.key:
            outcomes[t.key] = RunOutcome.from_json(status, reused=True)
        else:
            todo.append(t)
    info: dict[str, Any] = {
        "scheduler": scheduler or "local",
        "workers": workers if scheduler is None else None,
        "base_dir": str(Path(base_dir).resolve()) if base_dir is not None else None,
    }
    common: dict[str, Any] = {
        "replications": replications, "confidence": confidence, "base_dir": base_dir,
        "agents": agents, "fmt": fmt, "info": info,
    }  # fmt: skip
    write_manifest(folder, manifest(scenario, grid, tasks, outcomes, state="running", **common))
    logger.info("Sweep %s: %d runs, %d to run, %d reused", scenario.name, len(tasks),
                len(todo), len(tasks) - len(todo))  # fmt: skip

    def report(outcome: RunOutcome | None) -> None:
        if progress is not None:
            failed = sum(not o.ok for o in outcomes.values())
            reused = sum(o.reused for o in outcomes.values())
            progress(SweepProgress(len(tasks), len(outcomes), failed, reused, outcome))

    report(None)
    timing = {"connect_s": 0.0, "runs_s": 0.0, "close_s": 0.0}
    if todo:
        t0 = time.perf_counter()
        with connect(scheduler, workers=workers) as client:
            timing["connect_s"] = time.perf_counter() - t0
            info["workers_seen"] = len(client.scheduler_info().get("workers", {}))
            t1 = time.perf_counter()
            _gather(client, todo, outcomes, retries=retries, timeout=timeout, report=report)
            timing["runs_s"] = time.perf_counter() - t1
            t2 = time.perf_counter()
        timing["close_s"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    dataset = merge_runs(tasks, outcomes, grid, scenario=scenario, replications=replications,
                         agents=agents, confidence=confidence)  # fmt: skip
    runs = kpi_runs_table(tasks, outcomes, grid)
    result = SweepResult(
        folder=folder, scenario=scenario, grid=grid, replications=replications,
        confidence=confidence, outcomes=[outcomes[t.key] for t in tasks], runs=runs,
        summary=summarise_grid(runs, grid, confidence), dataset=dataset, info=info,
    )  # fmt: skip
    result.paths = write_outputs(result, fmt=fmt)
    timing["merge_s"] = time.perf_counter() - t3
    timing["total_s"] = time.perf_counter() - t_start
    result.timing = timing
    result.paths["manifest"] = write_manifest(
        folder, manifest(scenario, grid, tasks, outcomes, state="done", timing=timing, **common)
    )
    logger.info("Sweep %s: %d finished, %d failed, %d reused in %.1f s", scenario.name,
                len(result.finished), len(result.failures), len(result.reused),
                timing["total_s"])  # fmt: skip
    return result


def _gather(
    client: Any,
    todo: list[RunTask],
    outcomes: dict[str, RunOutcome],
    *,
    retries: int,
    timeout: float | None,
    report: Callable[[RunOutcome | None], None],
) -> None:
    """Submit one task per run and record outcomes as they arrive."""
    token = uuid.uuid4().hex[:8]
    futures: dict[str, RunTask] = {}
    submitted: list[Any] = []
    for t in todo:
        fut = client.submit(execute_run, t, key=f"twin-run-{t.key}-{token}", pure=False,
                            retries=retries)  # fmt: skip
        futures[fut.key] = t
        submitted.append(fut)
    try:
        for fut in _distributed().as_completed(submitted, loop=client.loop, timeout=timeout):
            task = futures[fut.key]
            outcome = _future_outcome(fut, task)
            fut.release()
            outcomes[task.key] = outcome
            report(outcome)
    except TimeoutError:
        late = [f for f in submitted if futures[f.key].key not in outcomes]
        client.cancel(late)
        for fut in late:
            task = futures[fut.key]
            outcome = RunOutcome(
                key=task.key, point=task.point, params=task.params, labels=task.labels,
                replication=task.replication, seed=task.seed, ok=False,
                error=f"did not finish within the sweep's timeout of {timeout:g} s",
            )  # fmt: skip
            write_failure(task, outcome)
            outcomes[task.key] = outcome
            report(outcome)
