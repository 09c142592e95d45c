from __future__ import annotations

import json

import numpy as np
import pytest

from twin.live.config import IngestConfig, SensorsConfig
from twin.live.ingest import BatchError, iso_ms, parse_batch, parse_time_ms
from twin.live.sensors import build_registry, load_alert_points, load_plaza_ids

NOW = parse_time_ms("2024-06-15T12:00:00+08:00")


@pytest.fixture(scope="module")
def registry():
    points = load_alert_points()
    return build_registry(SensorsConfig(), points, load_plaza_ids())


def test_registry_of_the_default_config(registry) -> None:
    assert len(registry) == 53 + 5 + 1
    assert registry.ids[0] == "wl-lp-tunnel-001" and "rg-gongshu" in registry.index
    assert np.all(registry.level_of_point >= 0) and np.all(registry.rain_of_point >= 0)


def test_times_iso_epoch_and_zones() -> None:
    assert parse_time_ms("2024-06-15T08:00:00+08:00") == parse_time_ms("2024-06-15T00:00:00Z")
    assert parse_time_ms(1718409600) == parse_time_ms("2024-06-15T00:00:00Z")
    assert parse_time_ms("1718409600.5") == 1718409600500
    assert iso_ms(1718409600000) == "2024-06-15T00:00:00+00:00"
    for bad in ("2024-06-15T08:00:00", "soon", None, float("nan")):
        with pytest.raises(ValueError):
            parse_time_ms(bad)


def test_json_rows_checked_one_by_one(registry) -> None:
    rows = [
        {"sensor": "wl-lp-tunnel-001", "time": "2024-06-15T11:55:00+08:00", "value": 0.02},
        {"sensor": "wl-lp-tunnel-001", "time": "2024-06-15T11:55:00+08:00", "value": 9.0},
        {"sensor": "rg-gongshu", "time": "2024-06-15T11:55:00+08:00", "value": "12.5"},
        {"sensor": "rg-gongshu", "time": "1999-01-01T00:00:00Z", "value": 1},
        {"time": "2024-06-15T11:55:00+08:00", "value": 1},
        {"sensor": "cc-plaza-wulin-square", "time": "2024-06-15T11:55:00+08:00", "value": True},
        {"sensor": "rg-gongshu", "time": "2024-06-15T11:55:00+08:00", "value": "nan"},
    ]
    out = parse_batch(
        json.dumps(rows).encode(), "application/json", registry, IngestConfig(), now_ms=NOW
    )
    assert out.n_rows == 7 and out.row.tolist() == [0, 2]
    assert out.value.tolist() == [0.02, 12.5] and out.kind.tolist() == [0, 1]
    reasons = {r.row: (r.field, r.reason) for r in out.rejected}
    assert reasons[1][0] == "value" and "[0, 5] m" in reasons[1][1]
    assert reasons[3][0] == "time" and "earliest" in reasons[3][1]
    assert reasons[4][0] == "sensor" and "missing" in reasons[4][1]
    assert reasons[5][0] == "value" and reasons[6][0] == "value"


def test_csv_with_line_numbers_and_whole_batch_errors(registry) -> None:
    body = (
        b"\xef\xbb\xbfsensor,time,value,kind\nrg-gongshu,2024-06-15T11:55:00+08:00,3,rain_gauge\n"
    )
    body += b"rg-gongshu,2024-06-15T11:55:00+08:00,3,water_level\n"
    out = parse_batch(body, "text/csv; charset=utf-8", registry, IngestConfig(), now_ms=NOW)
    assert len(out) == 1 and out.rejected[0].line == 3 and out.rejected[0].field == "kind"
    with pytest.raises(BatchError, match="unknown column"):
        parse_batch(b"sensor,time,value,x\n", "text/csv", registry, IngestConfig(), now_ms=NOW)
    with pytest.raises(BatchError, match="empty"):
        parse_batch(b"\n\n", "text/csv", registry, IngestConfig(), now_ms=NOW)
    with pytest.raises(BatchError) as err:
        parse_batch(b"[]", "application/xml", registry, IngestConfig(), now_ms=NOW)
    assert err.value.status == 415
    with pytest.raises(BatchError) as err:
        parse_batch(
            b"[1, 2, 3]", "application/json", registry, IngestConfig(max_rows=2), now_ms=NOW
        )
    assert err.value.status == 413
    with pytest.raises(BatchError, match="columnar"):
        parse_batch(
            b'{"sensor": ["a"], "time": [], "value": [1]}',
            "application/json",
            registry,
            IngestConfig(),
            now_ms=NOW,
        )
