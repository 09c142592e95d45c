"""``twin app``: waitress serves the app; Dash's development server only with --debug."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest

import dash_app.app
import dash_app.cli
from dash_app.cli import BackgroundServer, app_command


class _FakeApp:
    """Stands in for the Dash app: records how it was served."""

    def __init__(self) -> None:
        self.server = object()
        self.ran: dict[str, Any] | None = None

    def run(self, **kwargs: Any) -> None:
        self.ran = kwargs


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    made: dict[str, Any] = {}

    def create_app(**kwargs: Any) -> _FakeApp:
        made["app"] = _FakeApp()
        made["kwargs"] = kwargs
        return made["app"]

    def fake_serve(wsgi_app: Any, host: str, port: int, **kwargs: Any) -> None:
        made["served"] = (wsgi_app, host, port)

    monkeypatch.setattr(dash_app.app, "create_app", create_app)
    monkeypatch.setattr(dash_app.cli, "serve", fake_serve)
    return made


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_app_is_served_by_waitress(fake: dict[str, Any]) -> None:
    port = _free_port()
    app_command(host="127.0.0.1", port=port)
    app = fake["app"]
    assert fake["served"] == (app.server, "127.0.0.1", port)
    assert app.ran is None  # never Dash's development server
    assert fake["kwargs"]["debug"] is False


def test_the_development_server_only_with_debug(fake: dict[str, Any]) -> None:
    port = _free_port()
    app_command(host="127.0.0.1", port=port, debug=True)
    app = fake["app"]
    assert "served" not in fake
    assert app.ran is not None and app.ran["debug"] is True and app.ran["port"] == port


def test_waitress_serves_a_wsgi_app() -> None:
    def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"city-twin"]

    server = BackgroundServer(hello)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=60) as reply:
            assert reply.read() == b"city-twin"
            assert reply.headers["Server"] == "city-twin"
    finally:
        server.stop()


def test_the_dash_app_under_waitress() -> None:
    app = dash_app.app.create_app(preload_network=False)
    server = BackgroundServer(app.server)
    try:
        url = f"http://127.0.0.1:{server.port}"
        with urllib.request.urlopen(url + "/", timeout=60) as reply:
            assert reply.status == 200 and reply.headers["Server"] == "city-twin"
            assert "city-twin" in reply.read().decode()
        with urllib.request.urlopen(url + "/_dash-layout", timeout=60) as reply:
            assert "page-builder" in reply.read().decode()
    finally:
        server.stop()
        app.twin_context.runner.shutdown()  # type: ignore[attr-defined]
    assert not server._thread.is_alive()  # stopped, its loop ended cleanly
