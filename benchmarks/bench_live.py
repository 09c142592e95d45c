"""The live service, end to end on real processes: sustained ingest and alert latency.

Set-up: ``python -m twin.live serve`` on 127.0.0.1 with the embedded default store
(SQLite in WAL mode, ``synchronous`` FULL: every batch is on disk before it is
acknowledged), the shipped linear forecaster (``models/waterlogging-linear``; fitted on
the design storms if it is missing), and a webhook receiver in this process that takes
every alert as CAP JSON. Besides the 53 water-level gauges, the rain gauge and the 5
plaza counters, 27,000 IoT counters are registered: the size of Gongshu's published
IoT fleet (27,000+ devices).

1. **Sustained ingest**: ``--readings`` readings (default 2,000,000) of the 27,000
   counters, one per device per second of data time, in JSON batches of ``--batch``
   rows (10,000), posted over ``--clients`` connections (2). The bodies are encoded
   before the clock starts (the platform's encoder is not ours to measure). Result:
   readings per second from the first request to the last acknowledgement, every row
   validated and stored (the responses are checked). Target ≥ 50,000/s; the Shanghai
   platform averages about 11,600/s (published figure: over 1 billion records a day).
2. **Latency**: the storm ``design-P10-D60-r40`` at every low point (gauges with noise
   and lost readings) replayed at ``--speed`` (300: one 5-minute step per second)
   while ``--background`` counter readings per second (11,600, the Shanghai average)
   keep flowing. For every alert message: its arrival at the webhook minus the moment
   the replay posted the readings of its issue time. p50, p95, p99 and the maximum;
   target p99 ≤ 2 s.

3. **Radar** (``--radar``): the FMI radar storm ``fmi-20160928`` transposed over
   Gongshu on the default 128 km grid at 1 km, its 40 frames posted one CF NetCDF file
   at a time to ``POST /radar`` (validated, cropped, stored: the time of each request),
   then the gauge readings of its ponding replayed at ``--speed``, each issue time
   nowcasting the frames with pysteps (Lucas-Kanade extrapolation) as its future rain
   (the time of an issue, from the service's metrics).

Run ``python benchmarks/bench_live.py --write`` to re-measure and record the table in
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import yaml

from twin.live.auth import mint_token, token_hash
from twin.live.ingest import iso_ms, parse_time_ms
from twin.live.sensors import load_plaza_ids

sys.path.insert(0, os.path.dirname(__file__))
from _report import markdown_table, write_section

ROOT = Path(__file__).resolve().parent.parent
ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 6, 15, 8, 0, tzinfo=ZONE)
DEVICES = 27_000
STORM = "design-P10-D60-r40"
INGEST_TARGET = 50_000.0
SHANGHAI = 11_600.0
P99_TARGET = 2.0


class Receiver:
    """A threaded HTTP/1.1 webhook receiver that timestamps every CAP JSON message."""

    def __init__(self) -> None:
        self.arrivals: dict[str, tuple[float, str]] = {}
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.time()
                sent = json.loads(body)["alert"]["sent"]
                with outer.lock:
                    outer.arrivals.setdefault(self.headers["Idempotency-Key"], (now, sent))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cap"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def model_folder(work: Path) -> tuple[str, str]:
    """The shipped linear model, or one fitted on the design storms; (path, label)."""
    shipped = ROOT / "models" / "waterlogging-linear"
    if (shipped / "model.json").is_file():
        return str(shipped), "shipped linear (models/waterlogging-linear)"
    from twin.forecast.baselines import LinearRainForecaster
    from twin.forecast.data import generate_storm_set
    from twin.forecast.io import save_forecaster
    from twin.hydro.lowpoints import low_points
    from twin.hydro.storms import load_catalogue
    from twin.network import default_network

    data = generate_storm_set(
        low_points(default_network()),
        catalogue=load_catalogue().iloc[:0],
        include_design=True,
        splits=("train",),
        seed=0,
    )
    path = save_forecaster(LinearRainForecaster().fit(data, seed=0), work / "model")
    return str(path), "linear, fitted on the design storms"


def counter_ids() -> list[str]:
    return [f"cc-iot-{i:05d}" for i in range(DEVICES)]


def start_server(work: Path, store: str, model: str, hook: str, tokens: dict[str, str]) -> Any:
    plazas = load_plaza_ids()
    port = free_port()
    config = {
        "name": "bench-live",
        "server": {"host": "127.0.0.1", "port": port},
        "store": {"url": store},
        "forecast": {"model": model, "settle": "0.2s"},
        "radar": {"enabled": True},
        "sensors": {
            "extra": [
                {"id": s, "kind": "crowd_counter", "point": plazas[i % len(plazas)]}
                for i, s in enumerate(counter_ids())
            ]
        },
        "webhooks": [{"name": "platform", "url": hook, "format": "cap-json"}],
        "tokens": [
            {"name": "bench", "scopes": ["ingest", "read", "admin"], "sha256": token_hash(t)}
            for t in tokens.values()
        ],
    }
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    log = (work / "server.log").open("ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twin.live",
            "serve",
            "--config",
            str(path),
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {(work / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start")


def counter_batches(n: int, batch: int, t0_s: int) -> list[bytes]:
    """Pre-encoded JSON batches: every device once per data second, from t0_s."""
    ids = counter_ids()
    out, rows = [], []
    for i in range(n):
        sec, dev = divmod(i, DEVICES)
        rows.append(
            {"sensor": ids[dev], "time": iso_ms((t0_s + sec) * 1000, ZONE), "value": i % 500}
        )
        if len(rows) == batch:
            out.append(json.dumps({"readings": rows}).encode())
            rows = []
    if rows:
        out.append(json.dumps({"readings": rows}).encode())
    return out


def post_all(url: str, token: str, bodies: list[bytes], clients: int) -> tuple[float, int]:
    """Post bodies over ``clients`` connections; (seconds, rows stored)."""
    work: queue.Queue[bytes] = queue.Queue()
    for b in bodies:
        work.put(b)
    stored = [0] * clients
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def worker(k: int) -> None:
        with httpx.Client(timeout=120) as c:
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                r = c.post(f"{url}/readings", content=body, headers=headers)
                r.raise_for_status()
                answer = r.json()
                assert answer["rejected"] == 0, answer["errors"][:3]
                stored[k] += answer["stored"]

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t, sum(stored)


def latency_run(
    url: str, token: str, recv: Receiver, speed: float, background: float, t0_s: int
) -> dict[str, Any]:
    from twin.forecast.sensors import SensorModel
    from twin.hydro.lowpoints import low_points
    from twin.live.replay import replay, simulated_storm
    from twin.network import default_network

    storm = simulated_storm(
        STORM, low_points(default_network()), start=START, sensor=SensorModel(), seed=0
    )
    stop = threading.Event()
    bg_rows = [0]

    def background_ingest() -> None:
        per_tick = max(1, round(background / 5))  # five batches a second
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        ids = counter_ids()
        i = 0
        with httpx.Client(timeout=60) as c:
            nxt = time.monotonic()
            while not stop.is_set():
                rows = []
                for _ in range(per_tick):
                    sec, dev = divmod(i, DEVICES)
                    rows.append({"sensor": ids[dev], "time": (t0_s + sec), "value": 1})
                    i += 1
                c.post(f"{url}/readings", content=json.dumps(rows).encode(), headers=headers)
                bg_rows[0] += per_tick
                nxt += 0.2
                time.sleep(max(0.0, nxt - time.monotonic()))

    bg = threading.Thread(target=background_ingest, daemon=True)
    bg.start()
    t_bg = time.perf_counter()
    report = replay(
        storm.readings, url, token, speed=speed, paced_from_ms=int(storm.times_ms[0]), tz=ZONE
    )
    with httpx.Client(timeout=30) as c:
        n_msgs = c.get(
            f"{url}/alerts", params={"state": "all"}, headers={"Authorization": f"Bearer {token}"}
        ).json()["count"]
    deadline = time.monotonic() + 60
    while len(recv.arrivals) < n_msgs and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    bg.join(timeout=10)
    bg_rate = bg_rows[0] / (time.perf_counter() - t_bg)
    posted = {s.t_ms: s.sent_wall for s in report.steps}
    lat = np.array(
        [t - posted[parse_time_ms(sent)] for t, sent in recv.arrivals.values()], dtype=float
    )
    return {
        "latency": lat,
        "messages": n_msgs,
        "received": len(recv.arrivals),
        "background": bg_rate,
        "steps": len(report.steps),
    }


def _metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def radar_run(url: str, token: str, speed: float) -> dict[str, Any]:
    """Post the frames of a radar storm, then replay its readings (radar nowcasts)."""
    from datetime import timedelta

    from twin.hydro.lowpoints import low_points
    from twin.live.replay import replay
    from twin.live.replay_radar import radar_storm
    from twin.network import default_network

    # Two hours after the newest data, so that the history of the storm is new data.
    wm = httpx.get(f"{url}/health", timeout=30).json()["data_watermark"]
    after = datetime.fromisoformat(wm) + timedelta(hours=2)
    start = after.replace(minute=after.minute - after.minute % 5, second=0, microsecond=0)
    sim, feed = radar_storm(
        "fmi-20160928",
        low_points(default_network()),
        start=start,
        seed=0,
        size_km=128.0,
        cell_m=1000.0,
        after_s=1800.0,
    )
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-netcdf"}
    post_s = []
    with httpx.Client(timeout=60) as c:
        for body in feed.bodies:
            t = time.perf_counter()
            r = c.post(f"{url}/radar", content=body, headers=headers)
            post_s.append(time.perf_counter() - t)
            assert r.status_code == 200 and r.json()["stored"] == 1, r.text
    n0 = _metric(url, "twin_live_forecast_issue_seconds_count")
    s0 = _metric(url, "twin_live_forecast_issue_seconds_sum")
    r0 = _metric(url, 'twin_live_forecast_rain_source_total{source="extrapolation"}')
    replay(sim.readings, url, token, speed=speed, paced_from_ms=int(sim.times_ms[0]), tz=ZONE)
    end = int(sim.times_ms[-1])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        latest = httpx.get(
            f"{url}/forecasts", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        if latest.status_code == 200 and parse_time_ms(latest.json()["issue_time"]) >= end:
            break
        time.sleep(0.2)
    n = _metric(url, "twin_live_forecast_issue_seconds_count") - n0
    return {
        "frames": len(feed),
        "file_kb": float(np.mean([len(b) for b in feed.bodies])) / 1024.0,
        "post_s": np.array(post_s),
        "issues": n,
        "issue_mean_s": (_metric(url, "twin_live_forecast_issue_seconds_sum") - s0) / max(n, 1),
        "radar_issues": _metric(url, 'twin_live_forecast_rain_source_total{source="extrapolation"}')
        - r0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readings", type=int, default=2_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--speed", type=float, default=300.0)
    parser.add_argument("--background", type=float, default=SHANGHAI)
    parser.add_argument("--store", default=None, help="postgresql://… (default: SQLite)")
    parser.add_argument("--radar", action="store_true", help="also measure radar frames")
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-live-"))
    proc = None
    try:
        model, model_label = model_folder(work)
        store = args.store or f"sqlite:///{work / 'live.db'}"
        recv = Receiver()
        token = mint_token()
        proc, url = start_server(work, store, model, recv.url, {"bench": token})
        t0_s = int(parse_time_ms("2024-06-01T00:00:00+08:00") / 1000)
        print(f"Encoding {args.readings:,} readings in batches of {args.batch:,} …")
        bodies = counter_batches(args.readings, args.batch, t0_s)
        print(f"Posting over {args.clients} connection(s) …")
        secs, stored = post_all(url, token, bodies, args.clients)
        assert stored == args.readings, (stored, args.readings)
        rate = stored / secs
        print(f"ingest: {rate:,.0f} readings/s ({stored:,} in {secs:.1f} s)")
        print(f"Replaying {STORM} at {args.speed:g}x with {args.background:,.0f}/s besides …")
        t_bg = t0_s + args.readings // DEVICES + 10
        res = latency_run(url, token, recv, args.speed, args.background, t_bg)
        lat = res["latency"]
        p50, p95, p99 = np.percentile(lat, [50, 95, 99])
        backend = "PostgreSQL" if store.startswith("postgres") else "SQLite (WAL, synchronous FULL)"
        rows = [
            [
                "sustained ingest [readings/s]",
                f"{rate:,.0f}",
                f"≥ {INGEST_TARGET:,.0f} (Shanghai average ≈ {SHANGHAI:,.0f}, published)",
            ],
            ["readings stored / batches", f"{stored:,} / {len(bodies):,} of {args.batch:,}", ""],
            ["reading → alert delivered, p50 / p95 [s]", f"{p50:.2f} / {p95:.2f}", ""],
            ["reading → alert delivered, p99 [s]", f"{p99:.2f}", f"≤ {P99_TARGET:g}"],
            ["reading → alert delivered, max [s]", f"{lat.max():.2f}", ""],
            ["alert messages measured", f"{len(lat)} of {res['messages']}", ""],
            ["background ingest during the storm [readings/s]", f"{res['background']:,.0f}", ""],
        ]
        if args.radar:
            print("Posting the frames of a radar storm, then replaying its readings …")
            rad = radar_run(url, token, args.speed)
            p50r, p99r = np.percentile(rad["post_s"], [50, 99])
            rows += [
                [
                    "radar frame (128 × 128 km, 1 km) POST /radar, p50 / p99 [s]",
                    f"{p50r:.3f} / {p99r:.3f}",
                    f"{rad['frames']} frames, {rad['file_kb']:.0f} KiB per file",
                ],
                [
                    "issue time during the radar storm, mean [s]",
                    f"{rad['issue_mean_s']:.3f}",
                    f"{rad['radar_issues']:.0f} of {rad['issues']:.0f} issues used radar",
                ],
            ]
        table = markdown_table(["measure", "value", "target"], rows)
        body = (
            "### Live service: ingest and alert latency\n\n"
            f"Real server process on 127.0.0.1, store: {backend}; forecaster: {model_label}; "
            f"{DEVICES:,} IoT counters + 53 water-level gauges + 1 rain gauge registered. "
            f"Ingest: JSON batches of {args.batch:,} rows over {args.clients} connections "
            "(bodies encoded beforehand), every row validated and stored. Latency: storm "
            f"{STORM} replayed at {args.speed:g}× (a 5-minute step every "
            f"{300 / args.speed:.1f} s) while counters keep arriving; from posting the "
            "readings of an issue time to the arrival of each of its alert messages at a "
            "webhook receiver (CAP JSON)."
            + (
                " Radar: the frames of fmi-20160928 transposed over Gongshu, posted one "
                "file at a time, then its readings replayed; every issue time nowcasts them "
                "(pysteps extrapolation) as its future rain."
                if args.radar
                else ""
            )
            + "\n\n"
            + table
        )
        print(table)
        ok = rate >= INGEST_TARGET and p99 <= P99_TARGET
        print("targets met" if ok else "a target was missed")
        if args.write:
            write_section("bench_live", body)
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
