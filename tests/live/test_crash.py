"""SIGKILL of the service mid-ingest, then a restart: no acknowledged reading and no
alert is lost, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live.conftest import (
    START,
    LiveServer,
    Receiver,
    expected_alerts,
    outbox_drained,
    store_url,
    wait_until,
)
from twin.live.backends import open_store
from twin.live.ingest import iso_ms
from twin.live.replay import StepLog, replay

pytestmark = pytest.mark.slow

PLAZAS = [
    "cc-plaza-wulin-square",
    "cc-plaza-west-lake-cultural-square",
    "cc-plaza-canal-cultural-square",
]
BULK_T0 = 1_717_977_600_000  # 2024-06-10T00:00:00Z [ms], well before the storm


class BulkIngest(threading.Thread):
    """Posts 1,500-row batches of crowd counts in a loop, retrying until acknowledged."""

    def __init__(self, server: LiveServer) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.acked: list[list[tuple[str, int, float]]] = []
        self.in_flight: list[tuple[str, int, float]] | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {
            "Authorization": f"Bearer {self.server.tokens['ingest']}",
            "Content-Type": "application/json",
        }
        i = 0
        with httpx.Client(timeout=30.0) as client:
            while not self.stop.is_set():
                rows = [
                    (s, BULK_T0 + (i * 500 + k) * 1000, float(i * 1000 + k))
                    for k in range(500)
                    for s in PLAZAS
                ]
                body = json.dumps(
                    {"readings": [{"sensor": s, "time": t / 1000, "value": v} for s, t, v in rows]}
                )
                self.in_flight = rows
                try:
                    r = client.post(f"{self.server.url}/readings", content=body, headers=headers)
                except httpx.TransportError:
                    time.sleep(0.2)
                    continue  # the same batch again: idempotent
                if r.status_code == 200:
                    assert r.json()["rejected"] == 0
                    self.acked.append(rows)
                    self.in_flight = None
                    i += 1
                else:
                    time.sleep(0.2)


def _stored(url: str, rows: list[tuple[str, int, float]]) -> int:
    """How many of ``rows`` the store holds, with the same value."""
    store = open_store(url)
    try:
        lo, hi = min(r[1] for r in rows), max(r[1] for r in rows)
        have = {(s, t, v) for s, t, v, _ in store.reading_rows(None, lo, hi, 1_000_000)}
    finally:
        store.close()
    return sum(r in have for r in rows)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_mid_ingest_then_restart_loses_nothing(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    model_dir: Path,
    storm: Any,
    receiver: Receiver,
) -> None:
    url = store_url(backend, request, tmp_path)
    receiver.fail_next = 5  # the first deliveries fail: retried with backoff
    server = LiveServer(tmp_path, url, model_dir, [receiver.url]).start()
    bulk = BulkIngest(server)
    try:
        kill_now = threading.Event()
        kill_at = int(storm.times_ms[10])

        def on_step(step: StepLog, _: dict[str, Any]) -> None:
            if step.t_ms >= kill_at:
                kill_now.set()

        result: dict[str, Any] = {}

        def run_replay() -> None:
            try:
                result["report"] = replay(
                    storm.readings,
                    server.url,
                    server.tokens["ingest"],
                    speed=3000.0,
                    paced_from_ms=int(storm.times_ms[0]),
                    retry_for=120.0,
                    tz=START.tzinfo,
                    on_step=on_step,
                )
            except Exception as exc:  # reported below
                result["error"] = exc

        replayer = threading.Thread(target=run_replay, daemon=True)
        bulk.start()
        wait_until(lambda: len(bulk.acked) >= 2, 30, "bulk batches")
        replayer.start()
        assert kill_now.wait(60), "the replay did not reach the kill point"
        wait_until(lambda: bulk.in_flight is not None, 5, "a batch in flight")
        server.kill()  # SIGKILL, mid-ingest
        in_flight = bulk.in_flight
        acked_before = len(bulk.acked)
        assert in_flight is not None
        # A batch is stored whole or not at all.
        assert _stored(url, in_flight) in (0, len(in_flight))
        for rows in bulk.acked:
            assert _stored(url, rows) == len(rows)

        server.start()  # the same config, store and port
        replayer.join(timeout=120)
        assert not replayer.is_alive() and "error" not in result, result.get("error")
        wait_until(lambda: len(bulk.acked) >= acked_before + 2, 60, "bulk after the restart")
        bulk.stop.set()
        bulk.join(timeout=30)
        expected = expected_alerts(storm, model_dir)
        wait_until(lambda: len(receiver.ids()) >= len(expected), 60, "every delivery")
        wait_until(lambda: outbox_drained(server), 30, "an empty outbox")

        # No acknowledged reading is lost: every acked bulk batch and the whole replay.
        for rows in bulk.acked:
            assert _stored(url, rows) == len(rows)
        report = result["report"]
        assert report.rows == len(storm.readings) and report.rejected == 0
        replayed = [
            (str(s), int(t), float(v))
            for s, t, v in zip(
                storm.readings.sensor.tolist(),
                storm.readings.t_ms.tolist(),
                storm.readings.value.tolist(),
                strict=True,
            )
        ]
        assert _stored(url, replayed) == len(replayed)

        # No alert is lost, none is doubled: the same messages as the offline replay.
        store = open_store(url)
        try:
            recorded = store.alerts(limit=100_000)
            counts = store.outbox_counts()
        finally:
            store.close()

        assert [a.identifier for a in recorded] == [m.identifier for m in expected]
        assert {m.msg_type for m in expected} == {"Alert", "Update", "Cancel"}
        assert set(receiver.ids()) == {m.identifier for m in expected}
        assert counts == {"delivered": len(expected)}
        assert receiver.failed == 5
        assert max(r["attempt"] for r in receiver.received) >= 2
        with server.client("read") as c:
            health = c.get("/health").json()
        assert health["next_issue"] == iso_ms(int(storm.times_ms[-1]) + 300_000, START.tzinfo)
    finally:
        bulk.stop.set()
        server.stop()
