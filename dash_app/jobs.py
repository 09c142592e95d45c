"""Runs in the background: one worker thread, jobs polled by the page.

The app never runs a simulation inside a request. A button queues a :class:`Job`; one
worker thread takes jobs in order and runs them with :func:`twin.run.runner.run_scenario`,
whose ``progress`` callback moves the job's progress bar; the page polls
:meth:`JobRunner.snapshot` with a ``dcc.Interval``.

One worker, not a pool, on purpose: a run changes the shared road network in place
(closures at flooded low points, the congestion profile), so two runs on the same
network at once would see each other's closures. The results stay in memory (the last
``keep`` runs) for the map, results and comparison pages; with a run library
(:class:`~dash_app.library.RunLibrary`) each finished run is also written as a run
folder, and the library's newest ``keep`` runs are read back when the runner starts.

A job that fails keeps a one-line reason: the message of a
:class:`~twin.errors.TwinError`, or the kind of an unexpected error (whose traceback
goes to the server log, never to the page).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from dash_app.comparison import run_label, with_share_closed
from dash_app.library import RunLibrary, StoredRun
from twin.errors import TwinError
from twin.run.compare import summarise
from twin.run.results import RunResult
from twin.scenario import NetworkConfig, Scenario

__all__ = ["Job", "JobRunner", "failure_message"]

logger = logging.getLogger(__name__)

JobKind = Literal["run", "compare", "task"]
JobStatus = Literal["queued", "running", "done", "failed"]


def failure_message(exc: BaseException) -> str:
    """Why a job failed, in one line a planner can act on (never a traceback)."""
    if isinstance(exc, TwinError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "the run ran out of memory; shorten the horizon or lower the number of cases"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    detail = f": {text}" if text else ""
    return (
        f"unexpected {type(exc).__name__}{detail}. This is a bug in the twin; the server "
        "log has the details."
    )


def _fraction(value: float) -> float:
    """A progress fraction clipped to ``[0, 1]``."""
    return min(max(float(value), 0.0), 1.0)


@dataclass
class Job:
    """A run or a replicated comparison, queued, running or finished.

    Attributes
    ----------
    id
        ``run-N``, ``compare-N`` or ``task-N``.
    kind
        ``run`` (one scenario), ``compare`` (two scenarios over replications) or
        ``task`` (any other work of a page, e.g. a storm ensemble for sensor placement).
    label
        A short name for menus.
    scenarios
        The scenario (run) or the two scenarios A and B (compare).
    base_dir
        Folder for relative paths in the scenario(s).
    replications, confidence
        Of a comparison: common-random-number seeds ``seed … seed + n − 1`` of A and the
        confidence level of the intervals [-].
    status
        ``queued``, ``running``, ``done`` or ``failed``.
    progress
        Fraction done [-].
    stage
        What the job is doing now, in words.
    error
        Why it failed.
    result
        The :class:`~twin.run.results.RunResult` of a run.
    runs, summary
        Of a comparison: per-run KPIs (``policy`` holds the variant label) and the
        summary of :func:`twin.run.compare.summarise` (means, intervals, paired
        differences to A).
    units
        Of a comparison: the unit of each KPI.
    work, payload
        Of a task: the function run (called with a function that reports progress as a
        fraction and a stage text) and what it returned.
    folder
        Of a run kept in the run library: its run folder (what ``twin run`` writes).
    """

    id: str
    kind: JobKind
    label: str
    scenarios: tuple[Scenario, ...]
    base_dir: Path | None = None
    replications: int = 0
    confidence: float = 0.95
    variant_labels: tuple[str, ...] = ()
    status: JobStatus = "queued"
    progress: float = 0.0
    stage: str = "queued"
    error: str | None = None
    result: RunResult | None = None
    runs: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    units: dict[str, str] = field(default_factory=dict)
    work: Callable[[Callable[[float, str], None]], Any] | None = None
    payload: Any = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    folder: Path | None = None

    @property
    def scenario(self) -> Scenario:
        """The (first) scenario."""
        return self.scenarios[0]

    @property
    def wall_s(self) -> float | None:
        """Seconds from start to finish, or ``None``."""
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started

    def snapshot(self) -> dict[str, Any]:
        """The job's state as plain JSON values (for the page)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "status": self.status,
            "progress": round(float(self.progress), 4),
            "stage": self.stage,
            "error": self.error,
            "wall_s": self.wall_s,
        }


class JobRunner:
    """A queue of jobs and the one thread that runs them.

    Parameters
    ----------
    keep
        How many finished runs to keep in memory (older ones are dropped).
    run
        The function that runs a scenario (:func:`twin.run.runner.run_scenario` by
        default; the signature must match it).
    """

    def __init__(
        self,
        *,
        keep: int = 30,
        run: Callable[..., RunResult] | None = None,
        library: RunLibrary | None = None,
    ) -> None:
        if run is None:
            from twin.run.runner import run_scenario

            run = run_scenario
        self._run = run
        self._keep = keep
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job | Callable[[], None] | None] = queue.Queue()
        self.library = library
        stored = library.stored() if library is not None else []
        self._ids = itertools.count(max([s.number for s in stored], default=0) + 1)
        self._version = 0
        self._thread = threading.Thread(target=self._work, name="twin-app-runs", daemon=True)
        self._thread.start()
        if stored:
            self.call_soon(lambda: self._restore(stored[-keep:]))

    # ------------------------------------------------------------------ the library
    def _restore(self, stored: list[StoredRun]) -> None:
        """Read the library's runs back as finished runs (on the worker thread)."""
        assert self.library is not None
        for entry in stored:
            try:
                result, label = self.library.read(entry)
            except Exception:  # one unreadable folder must not hide the others
                logger.exception("Could not read the run folder %s", entry.folder)
                continue
            base = entry.meta.get("base_dir")
            job = Job(
                entry.id,
                "run",
                label,
                (result.scenario,),
                Path(base) if base else None,
                status="done",
                progress=1.0,
                stage="done",
                result=result,
                started=entry.meta.get("started"),
                finished=entry.meta.get("finished"),
                folder=entry.folder,
            )
            with self._lock:
                self._jobs.setdefault(job.id, job)
                self._version += 1

    def rename(self, job_id: str, label: str) -> None:
        """Rename a finished run (in the library too)."""
        job = self.get(job_id)
        if job is None:
            raise KeyError(job_id)
        job.label = label
        if self.library is not None and job.folder is not None:
            self.library.rename(job.id, label)
        self._bump()

    def delete(self, job_id: str) -> None:
        """Forget a finished run, and remove its folder from the library."""
        with self._lock:
            job = self._jobs.pop(job_id, None)
            self._version += 1
        if job is not None and self.library is not None and job.folder is not None:
            self.library.delete(job.id)

    # ------------------------------------------------------------------ queueing
    @property
    def version(self) -> int:
        """Grows whenever a job is added, finishes or fails (cheap change detection)."""
        return self._version

    def _bump(self) -> None:
        with self._lock:
            self._version += 1

    def _add(self, job: Job) -> Job:
        with self._lock:
            self._jobs[job.id] = job
            self._version += 1
        self._queue.put(job)
        return job

    def submit_run(self, scenario: Scenario, *, base_dir: Path | None = None) -> Job:
        """Queue one run of ``scenario``."""
        n = next(self._ids)
        return self._add(Job(f"run-{n}", "run", run_label(n, scenario), (scenario,), base_dir))

    def submit_comparison(
        self, a: Job, b: Job, *, replications: int, confidence: float = 0.95
    ) -> Job:
        """Queue ``replications`` common-random-number runs of the scenarios of runs A and B.

        Replication ``r`` runs both with seed ``A.seed + r``, so both see the same cases
        wherever their inputs agree; differences are paired.
        """
        n = next(self._ids)
        labels = (f"A {a.label.split(' ')[0]}", f"B {b.label.split(' ')[0]}")
        label = f"#{n} {labels[0]} vs {labels[1]} · {replications} replications"
        job = Job(
            f"compare-{n}",
            "compare",
            label,
            (a.scenario, b.scenario),
            a.base_dir,
            replications=replications,
            confidence=confidence,
            variant_labels=labels,
        )
        return self._add(job)

    def submit_task(
        self,
        label: str,
        work: Callable[[Callable[[float, str], None]], Any],
        scenario: Scenario,
        *,
        base_dir: Path | None = None,
    ) -> Job:
        """Queue other work of a page; ``work(report)`` returns the job's ``payload``.

        ``report(fraction, stage)`` moves the job's progress bar.
        """
        n = next(self._ids)
        job = Job(f"task-{n}", "task", f"#{n} {label}", (scenario,), base_dir, work=work)
        return self._add(job)

    def call_soon(self, task: Callable[[], None]) -> None:
        """Run ``task`` on the worker thread before the jobs queued after it."""
        self._queue.put(task)

    def warm_up(self) -> None:
        """Load the default network on the worker thread (so the first run is quick)."""

        def load() -> None:
            from twin.run.runner import load_scenario_network

            load_scenario_network(NetworkConfig())

        self.call_soon(load)

    def get(self, job_id: str | None) -> Job | None:
        """The job of that id, or ``None``."""
        if not job_id:
            return None
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self, kind: JobKind | None = None) -> list[Job]:
        """All jobs still held, oldest first (optionally of one kind)."""
        with self._lock:
            jobs = list(self._jobs.values())
        return [j for j in jobs if kind is None or j.kind == kind]

    def finished_runs(self) -> list[Job]:
        """Runs that finished with a result, oldest first."""
        return [j for j in self.jobs("run") if j.status == "done" and j.result is not None]

    def snapshot(self, job_id: str | None) -> dict[str, Any] | None:
        """The state of one job as JSON values, or ``None``."""
        job = self.get(job_id)
        return None if job is None else job.snapshot()

    def wait(self, job_id: str, timeout: float = 60.0) -> Job:
        """Block until a job has finished or failed (for scripts and tests)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job is None:
                raise KeyError(job_id)
            if job.status in ("done", "failed"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"{job_id} still {job.status} after {timeout:g} s")
            time.sleep(0.05)

    def shutdown(self) -> None:
        """Stop the worker after the job it is running (queued jobs are dropped)."""
        self._queue.put(None)

    # ------------------------------------------------------------------ the worker
    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if not isinstance(item, Job):
                try:
                    item()
                except Exception:
                    logger.exception("A background task failed")
                self._bump()
                continue
            job = item
            job.status, job.stage, job.started = "running", "preparing", time.time()
            self._bump()
            try:
                if job.kind == "run":
                    self._do_run(job)
                elif job.kind == "compare":
                    self._do_compare(job)
                else:
                    self._do_task(job)
            except Exception as exc:
                logger.exception("Job %s failed", job.id)
                job.error = failure_message(exc)
                job.status, job.stage = "failed", "failed"
            else:
                job.status, job.stage, job.progress = "done", "done", 1.0
            job.finished = time.time()
            self._forget_old()
            self._bump()

    def _do_run(self, job: Job) -> None:
        def progress(fraction: float) -> None:
            job.stage = "simulating"
            job.progress = _fraction(fraction)

        job.result = self._run(job.scenario, base_dir=job.base_dir, progress=progress)
        if self.library is not None:
            job.stage = "writing the run folder"
            meta = {
                "label": job.label,
                "base_dir": str(job.base_dir) if job.base_dir else None,
                "started": job.started,
                "finished": time.time(),
            }
            try:
                job.folder = self.library.save(job.id, job.result, meta)
            except Exception:  # the run is still shown; only its files are missing
                logger.exception("Could not write the run folder of %s", job.id)

    def _do_task(self, job: Job) -> None:
        def report(fraction: float, stage: str) -> None:
            job.progress = _fraction(fraction)
            job.stage = stage

        assert job.work is not None
        job.payload = job.work(report)

    def _do_compare(self, job: Job) -> None:
        a, b = job.scenarios
        n = job.replications
        total = 2 * n
        rows: list[tuple[str, int, int, str, float]] = []
        for r in range(n):
            seed = a.seed + r
            for i, (label, scenario) in enumerate(zip(job.variant_labels, (a, b), strict=True)):
                done = 2 * r + i
                job.stage = f"{label}, replication {r + 1} of {n}"

                def progress(fraction: float, done: int = done) -> None:
                    job.progress = (done + _fraction(fraction)) / total

                result = self._run(
                    scenario.with_updates(seed=seed), base_dir=job.base_dir, progress=progress
                )
                kpis = with_share_closed(result.kpis)
                for kpi, value, unit in zip(kpis["kpi"], kpis["value"], kpis["unit"], strict=True):
                    rows.append((label, r, seed, str(kpi), float(value)))
                    job.units.setdefault(str(kpi), str(unit))
                job.progress = (done + 1) / total
        runs = pd.DataFrame(rows, columns=["policy", "replication", "seed", "kpi", "value"])
        job.runs = runs
        job.summary = summarise(runs, job.variant_labels[0], job.confidence)

    def _forget_old(self) -> None:
        with self._lock:
            done = [j for j in self._jobs.values() if j.status in ("done", "failed")]
            for old in done[: max(0, len(done) - self._keep)]:
                del self._jobs[old.id]
