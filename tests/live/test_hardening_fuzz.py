"""Schema-based fuzzing of the live API (schemathesis): no request gets a 5xx.

The real server process (``python -m twin.live serve`` on a SQLite store) is fuzzed
through its own ``/openapi.json``, which declares every request body (``POST
/readings`` JSON and CSV, ``/radar`` and ``/nowcasts`` NetCDF, the admin bodies), so the
generated requests reach ingest. Valid and invalid requests (schemathesis' positive and
negative modes) with an admin token; bounded and deterministic (Hypothesis derandomized,
a fixed number of examples per operation, no time limits). ``GET /alerts/stream`` is
left out: it streams until the client leaves (its bad queries are in
``test_hardening_input``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from tests.live.conftest import LiveServer

pytestmark = pytest.mark.slow

EXAMPLES = 40  # per operation and mode


@pytest.fixture(scope="module")
def fuzzed_server(
    tmp_path_factory: pytest.TempPathFactory, model_dir: Path
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("fuzz")
    server = LiveServer(folder, f"sqlite:///{folder / 'live.db'}", model_dir, [])
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def live_schema(fuzzed_server: LiveServer) -> Any:
    return schemathesis.openapi.from_url(f"{fuzzed_server.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("live_schema").exclude(path="/alerts/stream")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error(case: Any, fuzzed_server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {fuzzed_server.tokens['admin']}"}
    response = case.call(headers=headers, timeout=60)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} → {response.status_code}: "
        f"{response.text[:300]}\n{fuzzed_server.log()[-2000:]}"
    )
