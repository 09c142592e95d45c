from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from tests.live.conftest import ROOT
from twin.live.auth import token_hash
from twin.live.backends import open_store
from twin.live.cli import app
from twin.live.errors import LiveError


def test_token_commands(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"store: {{url: 'sqlite:///{tmp_path / 's.db'}'}}\n")
    runner = CliRunner()
    r = runner.invoke(app, ["token", "create", "ops", "-s", "ingest", "-s", "read", "-c", str(cfg)])
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    assert store.token_by_hash(token_hash(token)).scopes == ("ingest", "read")
    store.close()
    r = runner.invoke(app, ["token", "list", "-c", str(cfg)])
    assert "ops" in r.output and token not in r.output
    r = runner.invoke(app, ["token", "hash", token])
    assert json.loads(r.output)["sha256"] == token_hash(token)
    assert runner.invoke(app, ["token", "revoke", "ops", "-c", str(cfg)]).exit_code == 0
    r = runner.invoke(app, ["token", "revoke", "ops", "-c", str(cfg)])
    assert isinstance(r.exception, LiveError)
    r = runner.invoke(app, ["token", "create", "x", "-s", "root", "-c", str(cfg)])
    assert isinstance(r.exception, LiveError) and "admin implies all" in str(r.exception)


def test_errors_are_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "forecast: {model: /no/such/model}\n" + f"store: {{url: 'sqlite:///{tmp_path / 's.db'}'}}\n"
    )
    r = subprocess.run(
        [sys.executable, "-m", "twin.live", "serve", "--config", str(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 1
    assert "error:" in r.stderr and "/no/such/model" in r.stderr and "Traceback" not in r.stderr
