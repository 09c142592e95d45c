"""Fixtures of the live-service tests: a real server process, a real webhook receiver,
a real PostgreSQL server, a forecaster fitted through the public API, and a storm.

PostgreSQL: the ``postgres`` fixture runs ``initdb`` into a temporary folder and starts
the server on 127.0.0.1 on a free port (as the ``postgres`` system user when the tests
run as root, since the server refuses to run as root), and stops it afterwards. It
needs the server binaries (Debian: ``apt-get install postgresql``); without them the
PostgreSQL variants are skipped, or fail when ``TWIN_REQUIRE_POSTGRES=1`` (CI).
"""

from __future__ import annotations

import http.server
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from twin.live.auth import mint_token, token_hash

START = datetime(2024, 6, 15, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
STORM = "design-P10-D60-r40"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------- model, storm
@pytest.fixture(scope="session")
def live_points() -> Any:
    """The 53 Gongshu low points with their catchment parameters."""
    from twin.hydro.lowpoints import low_points
    from twin.network import default_network

    return low_points(default_network())


@pytest.fixture(scope="session")
def model_dir(live_points: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rain-aware linear forecaster fitted on the design storms, saved as a model folder.

    Fitted through the public API (a few seconds), so the tests do not depend on which
    pretrained models ``models/`` ships.
    """
    from twin.forecast.baselines import LinearRainForecaster
    from twin.forecast.data import generate_storm_set
    from twin.forecast.io import save_forecaster
    from twin.hydro.storms import load_catalogue

    data = generate_storm_set(
        live_points,
        catalogue=load_catalogue().iloc[:0],
        include_design=True,
        splits=("train",),
        drains=None,  # the replayed storm's drains (`storm`): the nominal ones
        seed=0,
    )
    model = LinearRainForecaster().fit(data, seed=0)
    return save_forecaster(model, tmp_path_factory.mktemp("model") / "waterlogging-linear")


@pytest.fixture(scope="session")
def storm(live_points: Any) -> Any:
    """A 10-year, 1-hour design storm at every low point, read by noisy gauges, 2 h after."""
    from twin.forecast.sensors import SensorModel
    from twin.live.replay import simulated_storm

    return simulated_storm(
        STORM, live_points, start=START, after_s=7200.0, sensor=SensorModel(), seed=0
    )


def expected_alerts(storm: Any, model_dir: Path, *, steps: int | None = None) -> list[Any]:
    """The messages the offline replay (twin.forecast.online.replay_alerts) issues."""
    from twin.forecast.io import load_forecaster
    from twin.forecast.online import replay_alerts
    from twin.live.sensors import load_alert_points

    n = storm.depth.shape[0] if steps is None else steps + 1
    times = (storm.times_ms[:n] - storm.times_ms[0]) / 1000.0
    rep = replay_alerts(
        storm.observed[:n],
        storm.rain[: n - 1],
        times,
        load_alert_points(),
        load_forecaster(model_dir),
        start=START,
        seed=0,
    )
    return rep.messages


# ---------------------------------------------------------------------------- radar
RADAR_EVENT = "fmi-20160928"
RADAR_T0 = datetime(2024, 6, 15, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # first frame


@pytest.fixture(scope="session")
def radar_frames() -> Any:
    """Twelve real frames (FMI, Finland) transposed over Gongshu on a coarse grid.

    40 km × 40 km at 2 km (20 × 20 cells), relabelled to start at 07:00 (+08:00) on
    2024-06-15: interval starts 07:00 … 07:55.
    """
    import numpy as np

    from twin.hydro.radar.events import load_event
    from twin.hydro.radar.transpose import transpose_radar

    ev = load_event(RADAR_EVENT).isel(time=slice(10, 22))
    tr = transpose_radar(ev, size_km=40.0, cell_m=2000.0)
    t0 = np.datetime64(RADAR_T0.astimezone(ZoneInfo("UTC")).replace(tzinfo=None), "ns")
    return tr.assign_coords(time=t0 + np.arange(tr.sizes["time"]) * np.timedelta64(5, "m"))


def netcdf_bytes(data: Any, folder: Path, name: str = "frames.nc") -> bytes:
    """A radar array (or dataset) written as CF NetCDF: the file's bytes."""
    import xarray as xr

    from twin.hydro.radar.netcdf import write_radar_netcdf

    path = folder / name
    if isinstance(data, xr.Dataset):
        data.to_netcdf(path)
    elif "lead_time" in data.dims:
        from twin.hydro.radar.external import write_nowcast

        write_nowcast(data, path)
    else:
        write_radar_netcdf(data, path)
    return path.read_bytes()


# ---------------------------------------------------------------------------- postgres
def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and Path(found).resolve().with_name("initdb").exists():
        return Path(found).resolve().parent
    candidates = (
        sorted(
            Path("/usr/lib/postgresql").glob("*/bin"),
            key=lambda p: int(p.parent.name),
            reverse=True,
        )
        if Path("/usr/lib/postgresql").is_dir()
        else []
    )
    for c in candidates:
        if (c / "pg_ctl").exists() and (c / "initdb").exists():
            return c
    return None


class PostgresServer:
    """A throw-away PostgreSQL cluster on 127.0.0.1 (trust auth, user ``postgres``)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="twin-pg-"))
        self.data = self.folder / "data"
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres"
            try:
                pwd.getpwnam(self.user)
            except KeyError:
                subprocess.run(
                    [
                        "useradd",
                        "--system",
                        "--no-create-home",
                        "--shell",
                        "/bin/false",
                        "postgres",
                    ],
                    check=True,
                    capture_output=True,
                )
            shutil.chown(self.folder, user=self.user)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, cwd="/tmp", timeout=120)

    def start(self) -> None:
        r = self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        )
        if r.returncode:
            raise RuntimeError(f"initdb failed: {r.stderr or r.stdout}")
        opts = f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c max_connections=50"
        r = self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.folder / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        if r.returncode:
            log = (self.folder / "log").read_text() if (self.folder / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {r.stderr or r.stdout}\n{log}")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        """Create an empty database; its URL."""
        import psycopg

        name = f"twin_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (see the module docstring)."""
    required = os.environ.get("TWIN_REQUIRE_POSTGRES") == "1"
    bindir = _pg_bindir()
    if bindir is None:
        msg = "PostgreSQL server binaries not found (Debian: apt-get install postgresql)"
        if required:
            pytest.fail(msg)
        pytest.skip(msg)
    server = PostgresServer(bindir)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        server.stop()
        if required:
            pytest.fail(f"could not start PostgreSQL: {exc}")
        pytest.skip(f"could not start PostgreSQL: {exc}")
    yield server
    server.stop()


def store_url(backend: str, request: pytest.FixtureRequest, folder: Path) -> str:
    """A fresh store of a back-end."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'live.db'}"
    pg: PostgresServer = request.getfixturevalue("postgres")
    return pg.new_database()


# ---------------------------------------------------------------------------- webhook
class Receiver:
    """A real webhook receiver (HTTP/1.1, threaded) that records every POST.

    ``fail_next`` answers that many requests with 503 first (to exercise retries).
    """

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_next = 0
        self.failed = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    fail = outer.fail_next > 0
                    if fail:
                        outer.fail_next -= 1
                        outer.failed += 1
                    else:
                        outer.received.append(
                            {
                                "t": time.time(),
                                "id": self.headers.get("Idempotency-Key"),
                                "type": self.headers.get("Content-Type"),
                                "attempt": int(self.headers.get("X-Twin-Attempt", "0")),
                                "signature": self.headers.get("X-Twin-Signature"),
                                "body": body,
                            }
                        )
                self.send_response(503 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cap"

    def ids(self) -> list[str]:
        """Identifiers received, first arrival order, without repeats."""
        with self.lock:
            seen: dict[str, None] = {}
            for r in self.received:
                seen.setdefault(r["id"], None)
            return list(seen)

    def first_arrival(self) -> dict[str, float]:
        with self.lock:
            out: dict[str, float] = {}
            for r in self.received:
                out.setdefault(r["id"], r["t"])
            return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


# ---------------------------------------------------------------------------- server
class LiveServer:
    """``python -m twin.live serve`` as a real process on 127.0.0.1 (a free port)."""

    def __init__(
        self,
        folder: Path,
        store: str,
        model: Path,
        hooks: list[str],
        *,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tokens = {scope: mint_token() for scope in ("ingest", "read", "admin")}
        self.tokens["ingest_read"] = mint_token()
        config: dict[str, Any] = {
            "name": "test-live",
            "server": {"host": "127.0.0.1", "port": self.port},
            "store": {"url": store, "sqlite_synchronous": "normal"},
            "forecast": {"model": str(model), "max_reading_age": "6h", "settle": "0.1s"},
            "webhooks": [{"name": f"hook{i}", "url": u} for i, u in enumerate(hooks)],
            "delivery": {"retry_base": "0.2s", "retry_max": "1s", "timeout": "5s"},
            "tokens": [
                {
                    "name": "t-ingest",
                    "scopes": ["ingest"],
                    "sha256": token_hash(self.tokens["ingest"]),
                },
                {"name": "t-read", "scopes": ["read"], "sha256": token_hash(self.tokens["read"])},
                {
                    "name": "t-admin",
                    "scopes": ["admin"],
                    "sha256": token_hash(self.tokens["admin"]),
                },
                {
                    "name": "t-both",
                    "scopes": ["ingest", "read"],
                    "sha256": token_hash(self.tokens["ingest_read"]),
                },
            ],
        }
        for key, value in (overrides or {}).items():
            config.setdefault(key, {}).update(value)
        self.config_path = folder / "config.yaml"
        self.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.log_path = folder / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.store = store

    def start(self, timeout: float = 90.0) -> LiveServer:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "twin.live",
                "serve",
                "--config",
                str(self.config_path),
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the live server exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the live server did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def client(self, scope: str | None = "admin") -> httpx.Client:
        headers = {} if scope is None else {"Authorization": f"Bearer {self.tokens[scope]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def outbox_drained(server: LiveServer) -> bool:
    with server.client("admin") as c:
        counts = c.get("/outbox").json()["counts"]
    return counts.get("pending", 0) == 0


def json_lines(body: bytes) -> Any:
    return json.loads(body)
