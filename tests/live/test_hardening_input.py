"""Bad input gets a 4xx with its reason, never a 5xx; good rows of the same batch are kept.

Against the real application (FastAPI's TestClient around an opened service on a
SQLite store): every crafted input of issue 22 that once got a bare 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from twin.live.app import create_app
from twin.live.auth import mint_token, token_hash
from twin.live.config import validate_live_config
from twin.live.service import LiveService
from twin.live.times import MAX_MS, MIN_MS, iso_ms, parse_time_ms

CROWD = "cc-plaza-wulin-square"
T0 = 1_718_409_600  # 2024-06-15T00:00:00Z [s]


def live_app(folder: Path, model_dir: Path, **overrides: Any) -> tuple[LiveService, str]:
    """An opened service on a fresh SQLite store, and its admin token."""
    token = mint_token()
    config: dict[str, Any] = {
        "store": {"url": f"sqlite:///{folder / 'live.db'}", "sqlite_synchronous": "normal"},
        "forecast": {"model": str(model_dir), "validate_cap": False},
        "tokens": [{"name": "admin", "scopes": ["admin"], "sha256": token_hash(token)}],
    }
    for key, value in overrides.items():
        config.setdefault(key, {}).update(value)
    return LiveService(validate_live_config(config)).open(), token


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[TestClient]:
    service, token = live_app(tmp_path_factory.mktemp("hardening"), model_dir)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(service), headers=headers, raise_server_exceptions=False) as c:
        yield c


class Rows:
    """Each batch carries one good row at a time never used before."""

    n = 0

    @classmethod
    def good(cls) -> str:
        cls.n += 1
        return json.dumps({"sensor": CROWD, "time": T0 + 60 * cls.n, "value": 7})


def post_json(client: TestClient, bad_row: str) -> dict[str, Any]:
    """POST ``[good row, bad row]`` (raw JSON text); the 200 answer's body."""
    body = f'{{"readings": [{Rows.good()}, {bad_row}]}}'.encode()
    r = client.post("/readings", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    return dict(r.json())


def row(time: str = str(T0), value: str = "1", sensor: str = json.dumps(CROWD)) -> str:
    return f'{{"sensor": {sensor}, "time": {time}, "value": {value}}}'


BAD_ROWS = {
    "epoch milliseconds": (row(time=str(T0 * 1000)), "time", "looks like milliseconds"),
    "epoch milliseconds as text": (row(time=f'"{T0 * 1000}"'), "time", "looks like milliseconds"),
    "epoch microseconds": (row(time=str(T0 * 1_000_000)), "time", "looks like microseconds"),
    "before year 1": (row(time="-62135596900"), "time", "outside the years 1–9999"),
    "before year 1 in UTC": (
        row(time='"0001-01-01T00:00:00+08:00"'),
        "time",
        "outside the years 1–9999",
    ),
    "after year 9999": (row(time="1e21"), "time", "outside the years 1–9999"),
    "time 1e306": (row(time="1e306"), "time", "outside the years 1–9999"),
    "time 1e306 as text": (row(time='"1e306"'), "time", "outside the years 1–9999"),
    "time too large for a float": (row(time="1" + "0" * 400), "time", "outside the years"),
    "value too large for a float": (row(value="1" + "0" * 400), "value", "too large for a float"),
    "time over 4,300 digits": (row(time="1" + "0" * 5000), "time", "5,001 digits"),
    "value over 4,300 digits": (row(value="1" + "0" * 5000), "value", "5,001 digits"),
    "value 1e999": (row(value="1e999"), "value", "not finite"),
    "lone surrogate sensor": (row(sensor='"\\ud800"'), "sensor", "lone surrogate"),
    "value nested 1,000 deep": (row(value="[" * 1000 + "]" * 1000), "value", "not list"),
    "value nested 100,000 deep": (row(value="[" * 100_000 + "]" * 100_000), "value", "not list"),
    "time nested 100,000 deep": (row(time="[" * 100_000 + "]" * 100_000), "time", "not list"),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_bad_row_is_rejected_with_its_reason_and_the_good_row_kept(
    client: TestClient, case: str
) -> None:
    bad, field, reason = BAD_ROWS[case]
    out = post_json(client, bad)
    assert out["received"] == 2 and out["stored"] == 1 and out["rejected"] == 1
    (err,) = out["errors"]
    assert err["row"] == 1 and err["field"] == field and reason in err["reason"]


def test_a_lone_surrogate_comes_back_escaped_in_valid_json(client: TestClient) -> None:
    out = post_json(client, row(sensor='"wl-\\udcff-x"'))
    (err,) = out["errors"]
    assert err["sensor"] == "wl-\\udcff-x"  # the escape, as text
    json.dumps(out).encode("utf-8")


def test_a_whole_document_nested_too_deep_is_one_bad_row(client: TestClient) -> None:
    r = client.post("/readings", content=b"[" * 50_000 + b"]" * 50_000)
    assert r.status_code == 200
    assert r.json()["rejected"] == 1 and r.json()["errors"][0]["field"] == "row"
    r = client.post("/readings", content=b"[" * 50_000)  # not JSON at all
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]


def test_a_csv_field_over_128_kib_is_one_bad_line(client: TestClient) -> None:
    good = f"{CROWD},{T0 + 10**6},3\n"
    body = f"sensor,time,value\n{good}{'x' * (200 * 1024)},{T0},3\n{CROWD},{T0 * 1000},3\n"
    r = client.post("/readings", content=body.encode(), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["received"] == 3 and out["stored"] == 1 and out["rejected"] == 2
    big, ms = out["errors"]
    assert big["line"] == 3 and "128 KiB" in big["reason"]
    assert ms["line"] == 4 and "looks like milliseconds" in ms["reason"]
    head = f"sensor,time,{'v' * (200 * 1024)}\n{good}"
    r = client.post("/readings", content=head.encode(), headers={"Content-Type": "text/csv"})
    assert r.status_code == 400 and "128 KiB" in r.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "/readings?start=1e306",
        "/readings?end=1e306",
        "/readings?start=-1e20",
        f"/readings?start={'9' * 5000}",
        "/readings?start=99999999999999999",
        f"/readings?end={T0 * 1000}",
        "/readings?start=nan",
        f"/alerts?since={'9' * 30}",
        "/alerts?since=1e306",
        f"/alerts/stream?since={'9' * 30}",
        f"/outbox?limit={'9' * 30}",
    ],
)
def test_huge_query_values_get_a_4xx(client: TestClient, query: str) -> None:
    r = client.get(query)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.json()["detail"]


def test_control_characters_in_the_path_or_query_get_400(client: TestClient) -> None:
    for url in ("/readings?sensor=a%00b", "/alerts/a%00b", "/alerts/a%01"):
        r = client.get(url)
        assert r.status_code == 400 and "control character" in r.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": NaN, "url": "http://a"}',
        b'{"name": "h", "url": "http://a/\\ud800"}',
        b'{"name": "h", "url": "http://a/\\u0000"}',
        b'{"name": "h", "url": "http://a", "secret_env": ' + b"[" * 900 + b"]" * 900 + b"}",
        b'{"name": "h", "url": "http://a", "format": ' + b"1" * 5000 + b"}",
    ],
)
def test_bad_admin_bodies_get_a_4xx(client: TestClient, body: bytes) -> None:
    r = client.post("/subscriptions", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text)


def test_times_parse_within_years_1_to_9999_and_write_back() -> None:
    assert parse_time_ms(T0) == T0 * 1000
    assert parse_time_ms("0001-01-01T00:00:00Z") == MIN_MS
    assert parse_time_ms("9999-12-31T23:59:59.999+00:00") == MAX_MS
    assert iso_ms(MAX_MS, ZoneInfo("Asia/Shanghai")) == "9999-12-31T23:59:59.999000+00:00"
    assert iso_ms(10**20).endswith("ms since the epoch")
    with pytest.raises(ValueError, match="looks like milliseconds"):
        parse_time_ms(T0 * 1000)
    with pytest.raises(ValueError, match="looks like nanoseconds"):
        parse_time_ms(T0 * 10**9)
    with pytest.raises(ValueError, match="outside the years"):
        parse_time_ms(10**400)
