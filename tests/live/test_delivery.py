from __future__ import annotations

import asyncio
import hashlib
import hmac
from pathlib import Path

import pytest

from tests.live.conftest import Receiver
from twin.live.backends import open_store
from twin.live.config import DeliveryConfig
from twin.live.delivery import Deliverer, backoff_seconds, signature
from twin.live.events import Broadcast
from twin.live.metrics import LiveMetrics
from twin.live.records import NewAlert, Subscriber, now_ms


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    delays = [backoff_seconds(n, base=1.0, cap=60.0, key=7) for n in range(1, 10)]
    for n, d in enumerate(delays, start=1):
        full = min(60.0, 2.0 ** (n - 1))
        assert full / 2 <= d <= full
    assert delays == [backoff_seconds(n, base=1.0, cap=60.0, key=7) for n in range(1, 10)]
    assert backoff_seconds(3, base=1.0, cap=60.0, key=8) != delays[2]


def test_signature_is_hmac_sha256_of_the_body() -> None:
    want = hmac.new(b"k", b"body", hashlib.sha256).hexdigest()
    assert signature(b"body", "k") == f"sha256={want}"


def test_outbox_is_delivered_in_order_per_alert_with_retries(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWIN_WEBHOOK_SECRET_TEST", "secret")
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    store.upsert_subscriber(
        Subscriber("h", receiver.url, "cap-json", "TWIN_WEBHOOK_SECRET_TEST"), at_ms=0
    )
    alerts = [
        NewAlert(f"m{i}", f"p{i % 3}", "impeded", "Alert", "t", i, f'{{"n": {i}}}', "<a/>", 0)
        for i in range(12)
    ]
    store.record_cycle(alerts, {}, created_ms=now_ms())
    receiver.fail_next = 4
    cfg = DeliveryConfig(retry_base=0.05, retry_max=0.2, concurrency=3)

    async def run() -> None:
        deliverer = Deliverer(store, cfg, LiveMetrics(), Broadcast())
        task = asyncio.create_task(deliverer.run())
        for _ in range(200):
            await asyncio.sleep(0.05)
            if store.outbox_counts() == {"delivered": 12}:
                break
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(run())
    assert store.outbox_counts() == {"delivered": 12}
    ids = receiver.ids()
    assert sorted(ids) == sorted(a.identifier for a in alerts) and receiver.failed == 4
    for p in range(3):  # each low point's messages in issue order
        chain = [i for i in ids if int(i[1:]) % 3 == p]
        assert chain == sorted(chain, key=lambda s: int(s[1:]))
    first = receiver.received[0]
    assert first["type"] == "application/json"
    assert first["signature"] == signature(first["body"], "secret")
    store.close()
