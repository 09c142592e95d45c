"""Sweep fixtures: short scenarios, and a real Dask cluster of separate processes.

:func:`dask_processes` starts ``dask scheduler`` and ``dask worker`` as their own
processes on 127.0.0.1 (every port chosen free), each in its own session so that a whole
worker (nanny and worker process) can be killed at once, and kills them all on exit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from twin.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "gongshu_baseline_day.yaml"
#: Seconds allowed for a process to start, join or stop.
STARTUP_S = 60.0

SHORT_YAML = """\
name: short_sweep
description: Two hours of the baseline day, for sweep tests.
start: "2026-06-01T07:00:00"
horizon: 2h
seed: 5
cases: {daily_total: 1500}
crews: {count: 80}
"""


@pytest.fixture(scope="session")
def short() -> Scenario:
    """The baseline day, cut to two morning hours (a run takes a fraction of a second)."""
    return load_scenario(BASELINE).with_updates(
        start="2026-06-01T07:00:00", horizon=2 * 3600, **{"crews.count": 80}
    )


@pytest.fixture
def short_yaml(tmp_path: Path) -> Path:
    """A short scenario file (two hours, 80 crews) for the CLI."""
    path = tmp_path / "short.yaml"
    path.write_text(SHORT_YAML, encoding="utf-8")
    return path


@dataclass
class DaskProcesses:
    """A scheduler and workers running as separate processes (see :func:`dask_processes`)."""

    folder: Path
    env: dict[str, str]
    address: str = ""
    scheduler_file: Path = Path()
    scheduler: subprocess.Popen[bytes] | None = None
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: list[IO[bytes]] = field(default_factory=list)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (closed in stop)
        self.logs.append(log)
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args], stdout=log, stderr=subprocess.STDOUT,
            env=self.env, cwd=self.folder, start_new_session=True,
        )  # fmt: skip

    def start_worker(self, name: str) -> None:
        """Start ``dask worker`` (one process, one thread) named ``name``."""
        self.workers[name] = self._spawn(name, [
            "worker", "--scheduler-file", str(self.scheduler_file), "--nworkers", "1",
            "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1", "--name", name,
            "--local-directory", str(self.folder / "scratch"), "--death-timeout", "60",
        ])  # fmt: skip

    def wait_for_workers(self, n: int) -> None:
        """Wait until ``n`` workers have joined the scheduler."""
        from distributed import Client

        with Client(self.address, timeout="30s", set_as_default=False) as client:
            client.wait_for_workers(n, timeout=STARTUP_S)

    def kill_worker(self, name: str) -> None:
        """SIGKILL a worker's whole process group (its nanny and its worker process)."""
        _kill(self.workers[name], signal.SIGKILL)

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL) and close the logs."""
        for proc in self.workers.values():
            _stop(proc)
        if self.scheduler is not None:
            _stop(self.scheduler)
        for log in self.logs:
            log.close()


def _kill(proc: subprocess.Popen[bytes], sig: int) -> None:
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    _kill(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        _kill(proc, signal.SIGKILL)
        proc.wait(timeout=10)


@contextmanager
def dask_processes(folder: Path, n_workers: int = 2) -> Iterator[DaskProcesses]:
    """Start ``dask scheduler`` and ``n_workers`` × ``dask worker``; kill them all on exit.

    The scheduler listens on a free port of 127.0.0.1 (its small HTTP server too) and
    writes its address to a scheduler file; each worker runs one process, one thread.
    """
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    procs = DaskProcesses(folder, env, scheduler_file=folder / "scheduler.json")
    try:
        procs.scheduler = procs._spawn("scheduler", [
            "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
            "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(procs.scheduler_file),
            "--idle-timeout", "600",  # a safety net should this process ever be orphaned
        ])  # fmt: skip
        deadline = time.monotonic() + STARTUP_S
        sfile = procs.scheduler_file
        while not sfile.exists() or not sfile.read_text().strip():
            assert procs.scheduler.poll() is None, (folder / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the scheduler did not start in time"
            time.sleep(0.1)
        procs.address = json.loads(sfile.read_text())["address"]
        for i in range(n_workers):
            procs.start_worker(f"w{i}")
        procs.wait_for_workers(n_workers)
        yield procs
    finally:
        procs.stop()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskProcesses]:
    """A scheduler and two workers shared by the tests that do not kill one."""
    with dask_processes(tmp_path_factory.mktemp("dask"), 2) as procs:
        yield procs
