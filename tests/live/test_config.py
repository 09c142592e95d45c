from __future__ import annotations

from pathlib import Path

import pytest

from tests.live.conftest import ROOT
from twin.errors import TwinError
from twin.live.config import LiveConfig, load_live_config, validate_live_config
from twin.live.errors import LiveError

EXAMPLE = ROOT / "data" / "live" / "config.yaml"


def test_example_config_loads_with_the_documented_defaults() -> None:
    cfg = load_live_config(EXAMPLE)
    assert cfg == LiveConfig(
        forecast={"settle": 2.0},
        sensors=cfg.sensors,
        ingest=cfg.ingest,
        alerts=cfg.alerts,
        radar={"enabled": True},
    )
    assert cfg.radar.method == "extrapolation" and cfg.radar.keep == 7200.0
    assert cfg.store.url.startswith("sqlite:///") and cfg.forecast.model == "shipped:linear"
    assert cfg.alerts.levels == {"impeded": 0.15, "closed": 0.27}
    assert cfg.zone.key == "Asia/Shanghai"


def test_errors_name_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nforecast:\n  settle: -1\n  modle: a\nstore:\n  url: mysql://x\n")
    with pytest.raises(LiveError) as err:
        load_live_config(bad)
    text = str(err.value)
    assert f"{bad}:3: forecast.settle" in text
    assert f"{bad}:4: forecast.modle: unknown field" in text
    assert f"{bad}:6: store.url" in text and "sqlite:///" in text
    assert isinstance(err.value, TwinError) and isinstance(err.value, ValueError)
    bad.write_text("forecast: [unclosed\n")
    with pytest.raises(LiveError, match=r"bad.yaml:2: not valid YAML"):
        load_live_config(bad)
    with pytest.raises(LiveError, match="no such config file"):
        load_live_config(tmp_path / "missing.yaml")


def test_tokens_webhooks_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(LiveError, match="exactly one of sha256 or env"):
        validate_live_config({"tokens": [{"name": "a", "scopes": ["read"]}]})
    with pytest.raises(LiveError, match="64 lower-case hex"):
        validate_live_config({"tokens": [{"name": "a", "scopes": ["read"], "sha256": "ab"}]})
    with pytest.raises(LiveError, match="names must be unique"):
        validate_live_config({"webhooks": [{"name": "h", "url": "http://a"}] * 2})
    with pytest.raises(LiveError, match="http:// or https://"):
        validate_live_config({"webhooks": [{"name": "h", "url": "ftp://a"}]})
    with pytest.raises(LiveError, match="unknown time zone"):
        validate_live_config({"timezone": "Mars/Olympus"})
    with pytest.raises(LiveError, match="rain gauge r: give lon and lat"):
        validate_live_config({"sensors": {"rain_gauges": [{"id": "r", "kind": "rain_gauge"}]}})
    cfg = validate_live_config(
        {
            "tokens": [{"name": "p", "scopes": ["ingest"], "env": "TWIN_TEST_TOKEN_X"}],
            "webhooks": [{"name": "h", "url": "http://a", "secret_env": "TWIN_WEBHOOK_SECRET_X"}],
        }
    )
    monkeypatch.delenv("TWIN_TEST_TOKEN_X", raising=False)
    with pytest.raises(LiveError, match="TWIN_TEST_TOKEN_X is not set"):
        cfg.check_environment()
    monkeypatch.setenv("TWIN_TEST_TOKEN_X", "t")
    with pytest.raises(LiveError, match="TWIN_WEBHOOK_SECRET_X"):
        cfg.check_environment()
    monkeypatch.setenv("TWIN_WEBHOOK_SECRET_X", "k")
    cfg.check_environment()
