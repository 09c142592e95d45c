"""``twin network cache info`` and ``twin network cache clear``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli import app
from twin.network import build_network
from twin.network import cache as netcache


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("TWIN_CACHE_DIR", str(folder))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("TWIN_NO_CACHE", raising=False)
    monkeypatch.setattr(netcache, "MIN_CACHED_EDGES", 0)
    return folder / "networks"


def test_info_lists_entries_and_clear_deletes_them(cache: Path, nanjing_osm: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(app, ["network", "cache", "info"])
    assert empty.exit_code == 0, empty.output
    assert "0 cached network(s)" in empty.output
    build_network(nanjing_osm, name="Nanjing block")
    listed = runner.invoke(app, ["network", "cache", "info"])
    assert listed.exit_code == 0, listed.output
    assert "Nanjing block" in listed.output and "1 cached network(s)" in listed.output
    assert ": on" in listed.output
    cleared = runner.invoke(app, ["network", "cache", "clear"])
    assert cleared.exit_code == 0, cleared.output
    assert "Deleted 1 cached network(s)" in cleared.output
    assert list(cache.glob("*.npz")) == []


def test_info_says_when_the_cache_is_off(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_NO_CACHE", "1")
    r = CliRunner().invoke(app, ["network", "cache", "info"])
    assert r.exit_code == 0, r.output
    assert "off (TWIN_NO_CACHE is set)" in r.output


def test_cache_group_is_listed_under_network() -> None:
    r = CliRunner().invoke(app, ["network", "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "cache" in r.output
