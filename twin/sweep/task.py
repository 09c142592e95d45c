"""One run of a sweep, as a Dask task: run the scenario in the worker, write its folder.

:func:`execute_run` is what a worker executes. It receives a small :class:`RunTask` (the
scenario, the run's key and folder; never the road network, which each worker process
builds once and caches, see :func:`twin.run.runner.load_scenario_network`), runs the
scenario, and writes the run's results to ``RUN_DIR/runs/<key>/`` *atomically*: into a
temporary folder beside it, renamed into place when complete. A folder named by a key
is therefore either complete or absent, and a rerun of the sweep skips complete ones.

A run that raises writes ``error.json`` (the error, its traceback as text, the seed and
the parameters) instead, and the task still returns normally, so one failing run never
stops the others. Only a small :class:`RunOutcome` goes back to the client.

Files of a run folder:

- finished: ``run.nc``, ``cases.parquet``, ``kpis.parquet``, ``kpis.csv``,
  ``escalations.parquet``, ``road_states.csv`` (rain runs) as written by
  :meth:`twin.run.results.RunResult.write` (no HTML), and ``status.json``;
- failed: ``error.json`` and ``status.json``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twin import __version__
from twin.run.folder import write_run
from twin.scenario import Scenario

__all__ = [
    "ERROR_FILE",
    "STATUS_FILE",
    "RunOutcome",
    "RunTask",
    "execute_run",
    "is_complete",
    "read_status",
    "write_failure",
]

logger = logging.getLogger(__name__)

STATUS_FILE = "status.json"
ERROR_FILE = "error.json"
TMP_PREFIX = ".tmp-"

#: One run at a time per process: runs share the process's cached road network, whose
#: edge states (closures, congestion) a run changes. Workers with several threads stay
#: correct, but only one thread per worker process runs at a time.
_RUN_LOCK = threading.Lock()


@dataclass(frozen=True)
class RunTask:
    """What a worker needs for one run (small: the network is not in it).

    Attributes
    ----------
    key
        The run's key (see :func:`twin.sweep.grid.run_key`).
    scenario
        The exact scenario of the run: grid changes applied, seed set.
    folder
        Absolute path of the run's folder, ``RUN_DIR/runs/<key>``.
    point
        Flat index of the run's grid point.
    index
        Position of the grid point along each axis.
    params
        ``dotted path → value`` of the grid point.
    labels
        ``dotted path → value as text``.
    replication
        Replication number; the seed is ``base seed + replication``.
    seed
        The run's seed.
    base_dir
        Folder that relative paths in the scenario are resolved against.
    """

    key: str
    scenario: Scenario
    folder: str
    point: int
    index: tuple[int, ...]
    params: dict[str, Any]
    labels: dict[str, str]
    replication: int
    seed: int
    base_dir: str | None = None


@dataclass(frozen=True)
class RunOutcome:
    """What became of one run (sent back to the client; also in ``status.json``).

    Attributes
    ----------
    key, point, params, labels, replication, seed
        As in :class:`RunTask`.
    ok
        Whether the run finished and its folder is complete.
    error
        One line: the exception's type and message (empty when ``ok``).
    traceback
        The traceback as text (empty when ``ok``).
    timing
        Wall-clock facts [s]: ``prepare_s``, ``simulate_s``, ``collect_s``, ``write_s``,
        ``total_s``.
    worker
        Address of the Dask worker that ran it (empty outside a worker).
    host
        Host name and process id of that worker, ``host:pid``.
    reused
        The run was found finished on disk and not run again.
    """

    key: str
    point: int
    params: dict[str, Any]
    labels: dict[str, str]
    replication: int
    seed: int
    ok: bool
    error: str = ""
    traceback: str = ""
    timing: dict[str, float] = field(default_factory=dict)
    worker: str = ""
    host: str = ""
    reused: bool = False

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping (the content of ``status.json``)."""
        return {
            "status": "ok" if self.ok else "failed",
            "key": self.key,
            "point": self.point,
            "params": self.params,
            "labels": self.labels,
            "replication": self.replication,
            "seed": self.seed,
            "error": self.error,
            "timing": self.timing,
            "worker": self.worker,
            "host": self.host,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "twin_version": __version__,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, reused: bool = False) -> RunOutcome:
        """The outcome recorded in a ``status.json`` mapping."""
        return cls(
            key=str(data["key"]),
            point=int(data.get("point", 0)),
            params=dict(data.get("params", {})),
            labels={str(k): str(v) for k, v in data.get("labels", {}).items()},
            replication=int(data["replication"]),
            seed=int(data["seed"]),
            ok=data.get("status") == "ok",
            error=str(data.get("error", "")),
            traceback=str(data.get("traceback", "")),
            timing={str(k): float(v) for k, v in data.get("timing", {}).items()},
            worker=str(data.get("worker", "")),
            host=str(data.get("host", "")),
            reused=reused,
        )


# ---------------------------------------------------------------------------- folders
def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")


def read_status(folder: str | Path) -> dict[str, Any] | None:
    """The ``status.json`` of a run folder, or ``None`` when absent or unreadable."""
    path = Path(folder) / STATUS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_complete(folder: str | Path) -> bool:
    """Whether a run folder holds a finished run (its ``status.json`` says ``ok``)."""
    status = read_status(folder)
    return status is not None and status.get("status") == "ok"


def _temporary(final: Path) -> Path:
    tmp = final.parent / f"{TMP_PREFIX}{final.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    return tmp


def _publish(tmp: Path, final: Path) -> None:
    """Move a filled temporary folder into place (a complete run folder is never replaced)."""
    if is_complete(final):
        shutil.rmtree(tmp, ignore_errors=True)
        return
    if final.exists():  # an earlier failure's record: replaced by this attempt
        shutil.rmtree(final, ignore_errors=True)
    try:
        os.replace(tmp, final)
    except OSError:
        if not is_complete(final):  # lost a race with a failure record: keep trying once
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def clean_temporary(runs_dir: Path) -> int:
    """Remove temporary folders left in ``runs_dir`` by runs that were killed; return how many."""
    n = 0
    if runs_dir.is_dir():
        for p in runs_dir.glob(f"{TMP_PREFIX}*"):
            shutil.rmtree(p, ignore_errors=True)
            n += 1
    return n


def write_failure(task: RunTask, outcome: RunOutcome) -> None:
    """Record a failed run in its folder: ``error.json`` and ``status.json``."""
    final = Path(task.folder)
    tmp = _temporary(final)
    _write_json(
        tmp / ERROR_FILE,
        {
            "key": task.key,
            "params": task.params,
            "replication": task.replication,
            "seed": task.seed,
            "error": outcome.error,
            "traceback": outcome.traceback,
            "worker": outcome.worker,
            "host": outcome.host,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    _write_json(tmp / STATUS_FILE, outcome.to_json())
    _publish(tmp, final)


# ---------------------------------------------------------------------------- the task
def _where() -> tuple[str, str]:
    try:
        from distributed import get_worker

        address = str(get_worker().address)
    except (ImportError, ValueError):
        address = ""
    return address, f"{socket.gethostname()}:{os.getpid()}"


def _outcome(task: RunTask, ok: bool, **extra: Any) -> RunOutcome:
    return RunOutcome(
        key=task.key, point=task.point, params=dict(task.params), labels=dict(task.labels),
        replication=task.replication, seed=task.seed, ok=ok, **extra,
    )  # fmt: skip


def execute_run(task: RunTask) -> RunOutcome:
    """Run one scenario and write its folder atomically (the function a worker executes).

    Parameters
    ----------
    task
        The run: its scenario, key and folder.

    Returns
    -------
    RunOutcome
        ``ok`` with the run's timing [s], or the error (also written to ``error.json``).
        A folder that is already complete is not run again (``reused``).
    """
    from twin.run.runner import run_scenario

    final = Path(task.folder)
    worker, host = _where()
    status = read_status(final)
    if status is not None and status.get("status") == "ok":
        return RunOutcome.from_json(status, reused=True)
    t0 = time.perf_counter()
    tmp: Path | None = None
    try:
        base_dir = Path(task.base_dir) if task.base_dir else None
        with _RUN_LOCK:
            result = run_scenario(task.scenario, base_dir=base_dir)
        t1 = time.perf_counter()
        tmp = _temporary(final)
        write_run(result, tmp, report=False)
        timing = {k: float(v) for k, v in result.timing.items()}
        timing["write_s"] = time.perf_counter() - t1
        timing["total_s"] = time.perf_counter() - t0
        outcome = _outcome(task, True, timing=timing, worker=worker, host=host)
        _write_json(tmp / STATUS_FILE, outcome.to_json())
        _publish(tmp, final)
        logger.info("Run %s finished in %.2f s", task.key, timing["total_s"])
        return outcome
    except Exception as exc:  # a failing run must not stop the sweep: record it
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        outcome = _outcome(
            task, False, error=f"{type(exc).__name__}: {exc}".splitlines()[0],
            traceback=traceback.format_exc(), worker=worker, host=host,
            timing={"total_s": time.perf_counter() - t0},
        )  # fmt: skip
        write_failure(task, outcome)
        # The client reports failures; in the worker this is only a log line.
        logger.info("Run %s (seed %d) failed: %s", task.key, task.seed, outcome.error)
        return outcome
