"""The store interface on both back-ends (SQLite file and a real PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.live.conftest import store_url
from twin.live.backends import open_store
from twin.live.ingest import ParsedBatch
from twin.live.records import NewAlert, Subscriber
from twin.live.store import Store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = open_store(store_url(request.param, request, tmp_path))
    yield s
    s.close()


def _batch(sensors: list[str], times: list[int], values: list[float]) -> ParsedBatch:
    n = len(sensors)
    return ParsedBatch(
        n_rows=n,
        row=np.arange(n, dtype=np.int64),
        sensor=sensors,
        kind=np.zeros(n, dtype=np.int64),
        t_ms=np.asarray(times, dtype=np.int64),
        value=np.asarray(values, dtype=np.float64),
    )


def _alert(i: int, point: str = "p1", kind: str = "Alert") -> NewAlert:
    return NewAlert(
        f"id-{i}",
        point,
        "impeded",
        kind,
        f"2024-06-15T08:{i:02d}:00+08:00",
        i * 1000,
        '{"alert": {}}',
        "<alert/>",
        5,
    )


def test_readings_are_idempotent_by_sensor_and_time(store: Store) -> None:
    r = store.insert_readings(
        _batch(["a", "a", "b"], [1000, 2000, 1000], [0.1, 0.2, 0.3]), received_ms=9
    )
    assert (r.inserted, r.duplicates, r.conflicts) == (3, 0, [])
    # a retry, a duplicate inside the batch, a conflicting value and a late reading
    r = store.insert_readings(
        _batch(
            ["a", "b", "b", "a", "a"], [1000, 1000, 500, 2000, 2000], [0.1, 0.3, 0.05, 0.2, 0.9]
        ),
        received_ms=10,
    )
    assert (r.inserted, r.duplicates) == (1, 3) and r.conflicts == [(4, 0.2)]
    sensors, t, v = store.readings(["a", "b"], 0, 2000)
    assert list(zip(sensors, t.tolist(), v.tolist(), strict=True)) == [
        ("b", 500, 0.05),
        ("a", 1000, 0.1),
        ("b", 1000, 0.3),
        ("a", 2000, 0.2),
    ]
    assert store.readings(["a"], 1000, 2000)[1].tolist() == [2000]  # start exclusive
    assert store.last_times(["a", "b", "c"]) == {"a": 2000, "b": 1000}
    assert store.count_readings() == 4 and store.count_readings("b") == 2
    assert store.reading_rows("b", 0, 10**6, 10) == [("b", 500, 0.05, 10), ("b", 1000, 0.3, 9)]
    # Aggregated per step (b0 - step, b0], (b0, b0 + step]: the last and the mean.
    s, k, v = store.step_last(["a", "b"], 1000, 1000, 2000)
    assert sorted(zip(s, k.tolist(), v.tolist(), strict=True)) == [
        ("a", 0, 0.1),
        ("a", 1, 0.2),
        ("b", 0, 0.3),
    ]
    s, k, v = store.step_mean(["b"], 1000, 1000, 2000)
    assert s == ["b"] and k.tolist() == [0] and v[0] == pytest.approx(0.175)


def test_messages_outbox_and_state_are_recorded_together(store: Store) -> None:
    store.upsert_subscriber(Subscriber("h1", "http://a", "cap-xml", None, "config"), at_ms=1)
    store.upsert_subscriber(Subscriber("h2", "http://b", "cap-json"), at_ms=1)
    recs = store.record_cycle([_alert(1), _alert(2, "p2")], {"k": "v1"}, created_ms=100)
    assert [r.seq for r in recs] == sorted(r.seq for r in recs) and store.get_meta("k") == "v1"
    # Recording the same message again (a re-issue after a crash) adds nothing.
    again = store.record_cycle([_alert(1), _alert(3, "p1", "Cancel")], {"k": "v2"}, created_ms=101)
    assert [r.identifier for r in again] == ["id-3"] and store.get_meta("k") == "v2"
    assert [a.identifier for a in store.alerts()] == ["id-1", "id-2", "id-3"]
    assert [a.identifier for a in store.alerts(active_only=True)] == ["id-2"]
    assert store.outbox_counts() == {"pending": 6}
    todo = store.next_deliveries("h1")
    assert [d.alert.identifier for d in todo] == ["id-1", "id-2", "id-3"]
    store.mark_delivered([(todo[0].id, 1, 200)])
    store.mark_retry(todo[1].id, attempts=1, next_ms=5000, error="HTTP 503")
    store.mark_failed(todo[2].id, attempts=4, error="gave up")
    rows = {d.alert.identifier: d for d in store.outbox(limit=10) if d.subscriber == "h1"}
    assert rows["id-1"].state == "delivered" and rows["id-1"].delivered_ms == 200
    assert rows["id-2"].next_attempt_ms == 5000 and rows["id-2"].last_error == "HTTP 503"
    assert rows["id-3"].state == "failed"
    assert store.requeue_failed(at_ms=300) == 1
    assert store.remove_subscriber("h2") and not store.remove_subscriber("h2")
    assert store.outbox_counts() == {"delivered": 1, "pending": 2, "dropped": 3}
    assert [s.name for s in store.subscribers()] == ["h1"]
    # A failure inside the transaction leaves nothing behind.
    with pytest.raises(AttributeError):
        store.record_cycle([_alert(4), None], {"k": "v3"}, created_ms=102)  # type: ignore[list-item]
    assert store.alert("id-4") is None and store.get_meta("k") == "v2"


def test_tokens(store: Store) -> None:
    store.put_token("a", "f" * 64, ("ingest", "read"), source="cli", at_ms=1)
    assert store.token_by_hash("f" * 64).scopes == ("ingest", "read")
    store.put_token("a", "e" * 64, ("admin",), source="cli", at_ms=2)  # replaced by name
    assert store.token_by_hash("f" * 64) is None and store.token_by_hash("e" * 64).name == "a"
    assert store.revoke_token("a", at_ms=3) and not store.revoke_token("a", at_ms=4)
    assert store.token_by_hash("e" * 64) is None and store.tokens()[0].revoked_ms == 3
