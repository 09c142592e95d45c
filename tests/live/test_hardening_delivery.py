"""Delivery hardening: each message marked as it succeeds, order per alert chain kept
through kills, no message after its own Cancel, duplicates only from retries, and no
receiver answer kept.

Waits are on events with generous timeouts; nothing asserts on how long anything took.
"""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live.conftest import LiveServer, outbox_drained, wait_until
from twin.live.backends import open_store
from twin.live.config import DeliveryConfig
from twin.live.delivery import Deliverer
from twin.live.events import Broadcast
from twin.live.metrics import LiveMetrics
from twin.live.records import NewAlert, Subscriber, now_ms
from twin.live.store import Store

WAIT = 60.0  # generous: the machine may be busy


class GateReceiver:
    """A webhook receiver whose answer to each POST a test decides.

    ``answer(identifier, n)`` (``n``: how many POSTs of that identifier arrived before)
    returns the status to answer; it may block (e.g. on an event) to hold the request.
    Every POST is recorded, in arrival order, before it is answered.
    """

    def __init__(self, answer: Callable[[str, int], int] | None = None) -> None:
        self.received: list[str] = []
        self.lock = threading.Lock()
        self.answer = answer or (lambda _id, _n: 200)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ident = str(self.headers.get("Idempotency-Key"))
                with outer.lock:
                    n = outer.received.count(ident)
                    outer.received.append(ident)
                status = outer.answer(ident, n)
                body = b"internal detail of the receiver: do not leak"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the sender is gone (killed)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cap"

    def arrivals(self) -> list[str]:
        with self.lock:
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def chains(points: int) -> list[NewAlert]:
    """Alert → Update → Cancel → Alert → Cancel per point, interleaved as issues are."""
    kinds = ["Alert", "Update", "Cancel", "Alert", "Cancel"]
    out = []
    for step, kind in enumerate(kinds):
        for p in range(points):
            ident = f"p{p}-{step}-{kind}"
            out.append(NewAlert(ident, f"p{p}", "impeded", kind, "t", step, "{}", "<a/>", 0))
    return out


def check_chain_order(arrivals: list[str], alerts: list[NewAlert]) -> None:
    """No message arrives after a later message of its chain (so none after its Cancel)."""
    by_id = {a.identifier: (a.point, a.issue_ms) for a in alerts}
    newest: dict[str, int] = {}
    for ident in arrivals:
        point, step = by_id[ident]
        assert step >= newest.get(point, -1), f"{ident} arrived after a later message"
        newest[point] = step


def run_deliverer(store: Store, config: DeliveryConfig, until: Callable[[], bool]) -> None:
    """Run a deliverer on ``store`` until ``until()`` holds (checked between sleeps)."""

    async def main() -> None:
        task = asyncio.create_task(Deliverer(store, config, LiveMetrics(), Broadcast()).run())
        try:
            for _ in range(round(WAIT / 0.02)):
                if await asyncio.to_thread(until):
                    return
                await asyncio.sleep(0.02)
            raise AssertionError("the deliverer did not get there in time")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'live.db'}", synchronous="normal")
    yield s
    s.close()


def test_each_message_is_marked_delivered_as_its_2xx_arrives(store: Store) -> None:
    """While the third message of a chain is held, the first two are already marked."""
    held, release = threading.Event(), threading.Event()
    seen: dict[str, int] = {}

    def answer(ident: str, n: int) -> int:
        if ident == "p0-2-Cancel" and n == 0:
            seen["delivered_while_held"] = store.outbox_counts().get("delivered", 0)
            held.set()
            release.wait(WAIT)
        return 200

    recv = GateReceiver(answer)
    try:
        store.upsert_subscriber(Subscriber("h", recv.url, "cap-json"), at_ms=0)
        alerts = chains(1)
        store.record_cycle(alerts, {}, created_ms=now_ms())
        cfg = DeliveryConfig(concurrency=1, retry_base=0.05, retry_max=0.2)

        def until() -> bool:
            if held.is_set():
                release.set()
            return store.outbox_counts() == {"delivered": len(alerts)}

        run_deliverer(store, cfg, until)
        assert seen["delivered_while_held"] == 2
        assert recv.arrivals() == [a.identifier for a in alerts]
    finally:
        release.set()
        recv.close()


def test_a_receiver_slower_than_the_timeout_gets_only_the_retries(store: Store) -> None:
    """The held message arrives once per attempt; every other message exactly once."""
    second = threading.Event()

    def answer(ident: str, n: int) -> int:
        if ident == "p1-0-Alert":
            if n == 0:
                second.wait(WAIT)  # slower than the timeout: the sender gives up first
            else:
                second.set()
        return 200

    recv = GateReceiver(answer)
    try:
        store.upsert_subscriber(Subscriber("h", recv.url, "cap-json"), at_ms=0)
        alerts = chains(3)
        store.record_cycle(alerts, {}, created_ms=now_ms())
        cfg = DeliveryConfig(timeout=2.0, concurrency=3, retry_base=0.05, retry_max=0.2)
        run_deliverer(store, cfg, lambda: outbox_drained_store(store, len(alerts)))
        arrivals = recv.arrivals()
        rows = {d.alert.identifier: d for d in store.outbox(limit=100)}
        assert rows["p1-0-Alert"].attempts >= 2
        for a in alerts:  # one copy per attempt, none from anywhere else
            assert arrivals.count(a.identifier) == rows[a.identifier].attempts
        check_chain_order([i for k, i in enumerate(arrivals) if i not in arrivals[:k]], alerts)
    finally:
        second.set()
        recv.close()


def outbox_drained_store(store: Store, n: int) -> bool:
    return store.outbox_counts() == {"delivered": n}


def test_a_receiver_answer_is_never_kept(store: Store) -> None:
    recv = GateReceiver(lambda ident, n: 500 if n == 0 else 200)
    try:
        store.upsert_subscriber(Subscriber("h", recv.url, "cap-json"), at_ms=0)
        store.record_cycle(chains(1)[:1], {}, created_ms=now_ms())
        cfg = DeliveryConfig(retry_base=30.0, retry_max=60.0)  # one attempt, then a wait
        run_deliverer(store, cfg, lambda: bool(store.outbox()[0].attempts))
        (row,) = store.outbox()
        assert row.state == "pending" and row.last_error == "HTTP 500"
    finally:
        recv.close()


def test_a_requeued_message_never_arrives_after_its_cancel(store: Store) -> None:
    """Alert parked as failed, its Update and Cancel delivered: retry drops the Alert."""
    store.upsert_subscriber(Subscriber("h", "http://127.0.0.1:9/cap", "cap-json"), at_ms=0)
    alerts = chains(1)[:3]  # Alert, Update, Cancel
    store.record_cycle(alerts, {}, created_ms=now_ms())
    alert, update, cancel = store.outbox(limit=10)
    store.mark_failed(alert.id, attempts=9, error="gave up: HTTP 503")
    store.mark_delivered([(update.id, 1, now_ms()), (cancel.id, 1, now_ms())])
    other = chains(2)[1]  # another point's Alert, parked too: it is re-queued
    store.record_cycle([other], {}, created_ms=now_ms())
    parked = [d for d in store.outbox(limit=10) if d.alert.identifier == other.identifier]
    store.mark_failed(parked[0].id, attempts=9, error="gave up: HTTP 503")
    assert store.requeue_failed(at_ms=now_ms()) == 1
    states = {d.alert.identifier: (d.state, d.last_error) for d in store.outbox(limit=10)}
    assert states[alert.alert.identifier][0] == "dropped"
    assert "superseded" in str(states[alert.alert.identifier][1])
    assert states[other.identifier][0] == "pending"


@pytest.mark.slow
def test_sigkill_mid_delivery_resends_only_the_message_in_flight(
    tmp_path: Path, model_dir: Path
) -> None:
    """SIGKILL while a POST is held, restart: one duplicate at most, order kept."""
    alerts = chains(6)  # 30 messages, 6 chains
    hold_at = 11  # the 12th POST is held until the server is dead
    held, release = threading.Event(), threading.Event()

    def answer(ident: str, n: int) -> int:
        if len(recv.arrivals()) == hold_at + 1 and not held.is_set():
            held.set()
            release.wait(WAIT)
        return 200

    recv = GateReceiver(answer)
    url = f"sqlite:///{tmp_path / 'live.db'}"
    seed = open_store(url)
    seed.upsert_subscriber(Subscriber("hook0", recv.url, "cap-xml", None, "config"), at_ms=0)
    seed.record_cycle(alerts, {}, created_ms=now_ms())
    seed.close()
    server = LiveServer(
        tmp_path, url, model_dir, [recv.url], overrides={"delivery": {"concurrency": 1}}
    )
    try:
        server.start()
        assert held.wait(WAIT), "no delivery reached the held POST"
        in_flight = recv.arrivals()[-1]
        server.kill()
        release.set()
        server.start()
        wait_until(lambda: outbox_drained(server), WAIT, "the outbox to drain after restart")
        arrivals = recv.arrivals()
        assert sorted(set(arrivals)) == sorted(a.identifier for a in alerts)
        dups = {i: arrivals.count(i) for i in set(arrivals) if arrivals.count(i) > 1}
        assert set(dups) <= {in_flight} and all(c == 2 for c in dups.values()), dups
        check_chain_order(arrivals, alerts)
    finally:
        release.set()
        server.stop()
        recv.close()
