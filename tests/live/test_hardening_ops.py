"""Operations hardening: /health says degraded when messages are parked, a store outage
is a 503 with Retry-After (a real PostgreSQL server stopped and started again), wrong
tokens are rate-limited per address, a revocation counts from the next request, a
webhook's signing key comes only from TWIN_WEBHOOK_SECRET_* variables, /outbox shows no
receiver answer, and the OpenAPI document declares every request body.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.live.conftest import ROOT, LiveServer, PostgresServer, wait_until
from tests.live.test_hardening_input import live_app
from twin.live.app import create_app
from twin.live.auth import TokenGate
from twin.live.backends import open_store
from twin.live.config import validate_live_config
from twin.live.errors import LiveError
from twin.live.records import NewAlert, Subscriber, now_ms

CROWD = "cc-plaza-wulin-square"
BATCH = {"readings": [{"sensor": CROWD, "time": "2024-06-15T07:00:00+08:00", "value": 4}]}


@pytest.fixture
def app(tmp_path: Path, model_dir: Path) -> Iterator[tuple[TestClient, str]]:
    """The real application on a SQLite store (limit: 3 wrong tokens an hour)."""
    service, token = live_app(
        tmp_path, model_dir, server={"bad_token_limit": 3, "bad_token_window": 3600}
    )
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(service), headers=headers, raise_server_exceptions=False) as c:
        yield c, service.store.url


def test_health_is_degraded_while_messages_are_parked(app: tuple[TestClient, str]) -> None:
    client, url = app
    assert client.get("/health").json()["status"] == "ok"
    store = open_store(url)
    try:
        store.upsert_subscriber(Subscriber("h", "http://127.0.0.1:9/cap", "cap-xml"), at_ms=0)
        store.record_cycle(
            [NewAlert("m1", "p", "impeded", "Alert", "t", 0, "{}", "<a/>", 0)],
            {},
            created_ms=now_ms(),
        )
        (row,) = store.outbox()
        store.mark_failed(row.id, attempts=3, error="gave up: HTTP 503: receiver secret")
    finally:
        store.close()
    r = client.get("/health")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "degraded"
    assert "1 message(s) parked as failed" in " ".join(body["problems"])
    outbox = client.get("/outbox").json()["deliveries"]
    assert outbox[0]["last_error"] == "gave up: HTTP 503"  # no receiver answer shown
    assert client.post("/outbox/retry").json()["requeued"] == 1
    assert client.get("/health").json()["status"] == "ok"


def test_wrong_tokens_are_rate_limited_per_address(app: tuple[TestClient, str]) -> None:
    client, _ = app
    bad = {"Authorization": "Bearer twl_wrong"}
    for _ in range(3):
        assert client.get("/alerts", headers=bad).status_code == 401
    for headers in (bad, {}):  # held back now, even with the right token
        r = client.get("/alerts", headers=headers)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert "too many wrong API tokens" in r.json()["detail"]
    assert client.get("/health").status_code == 200  # no token needed: not limited


def test_token_gate_counts_per_address_within_the_window() -> None:
    now = [0.0]
    gate = TokenGate(store=None, limit=2, window_s=60.0, clock=lambda: now[0])  # type: ignore[arg-type]
    gate.note_failure("a")
    now[0] = 30.0
    gate.note_failure("a")
    assert gate.retry_after("a") == pytest.approx(30.0) and gate.retry_after("b") is None
    now[0] = 60.0  # the first failure left the window
    assert gate.retry_after("a") is None


@pytest.mark.slow
def test_a_revoked_token_is_refused_on_the_next_request(tmp_path: Path, model_dir: Path) -> None:
    """Revoked by the CLI (another process) right after a successful request."""
    server = LiveServer(tmp_path, f"sqlite:///{tmp_path / 'live.db'}", model_dir, [])
    try:
        server.start()
        with server.client("read") as c:
            assert c.get("/alerts").status_code == 200
            revoke = ["token", "revoke", "t-read", "--config", str(server.config_path)]
            subprocess.run(
                [sys.executable, "-m", "twin.live", *revoke],
                check=True,
                cwd=ROOT,
                capture_output=True,
            )
            r = c.get("/alerts")
            assert r.status_code == 401 and "revoked" in r.json()["detail"]
    finally:
        server.stop()


def test_secret_env_must_start_with_the_documented_prefix(app: tuple[TestClient, str]) -> None:
    client, _ = app
    hook = {"name": "h", "url": "http://127.0.0.1:9/cap"}
    for name in ("HOME", "PATH", "TWIN_TOKEN", "TWIN_WEBHOOK_SECRET"):
        r = client.post("/subscriptions", json={**hook, "secret_env": name})
        assert r.status_code == 422 and "TWIN_WEBHOOK_SECRET_" in r.text
    r = client.post("/subscriptions", json={**hook, "secret_env": "TWIN_WEBHOOK_SECRET_OPS"})
    assert r.status_code == 201
    with pytest.raises(LiveError, match="starts with TWIN_WEBHOOK_SECRET_"):
        validate_live_config({"webhooks": [{**hook, "secret_env": "AWS_SECRET_ACCESS_KEY"}]})


def test_openapi_declares_every_request_body(app: tuple[TestClient, str]) -> None:
    client, _ = app
    paths = client.get("/openapi.json").json()["paths"]
    readings = paths["/readings"]["post"]["requestBody"]["content"]
    assert {"application/json", "text/csv"} <= set(readings)
    for path in ("/radar", "/nowcasts"):
        content = paths[path]["post"]["requestBody"]["content"]
        assert {"application/x-netcdf", "multipart/form-data"} <= set(content)
    for path, ops in paths.items():
        for method, op in ops.items():
            if method in ("post", "put", "patch") and not path.endswith("/retry"):
                assert "requestBody" in op, f"{method.upper()} {path} declares no body"


# ---------------------------------------------------------------------------- outage
def _pg(server: PostgresServer, *args: str) -> None:
    r = server._run("pg_ctl", "-D", str(server.data), *args)
    assert r.returncode == 0, r.stderr or r.stdout


@pytest.mark.slow
def test_a_postgresql_outage_is_a_503_with_retry_after(
    tmp_path: Path, model_dir: Path, postgres: PostgresServer
) -> None:
    """Stop the database under a running service, ask it things, start it again."""
    pg = PostgresServer(postgres.bindir)  # a cluster of its own: this test stops it
    pg.start()
    server = LiveServer(tmp_path, pg.url(), model_dir, [])
    try:
        server.start()
        with server.client("admin") as c:
            assert c.post("/readings", json=BATCH).status_code == 200
            _pg(pg, "-m", "fast", "-w", "stop")
            for method, path in (("GET", "/readings"), ("POST", "/readings"), ("GET", "/health")):
                r = c.request(method, path, json=BATCH if method == "POST" else None)
                assert r.status_code == 503, (method, path, r.status_code, r.text)
                assert int(r.headers["Retry-After"]) >= 1
            opts = f"-p {pg.port} -h 127.0.0.1 -k {pg.folder} -c max_connections=50"
            _pg(pg, "-o", opts, "-l", str(pg.folder / "log"), "-w", "-t", "60", "start")

            def healthy() -> bool:
                try:
                    return c.get("/health").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(healthy, 60.0, "the service to see the database again")
            r = c.post("/readings", json=BATCH)
            assert r.status_code == 200 and r.json()["duplicates"] == 1
    finally:
        server.stop()
        pg.stop()
