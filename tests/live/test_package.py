"""The package is light to import; its names load on first use from their homes."""

from __future__ import annotations

import json
import subprocess
import sys

import twin.live
from tests.live.conftest import ROOT


def test_import_is_light() -> None:
    code = (
        "import json, sys, twin.live; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout))
    heavy = {"fastapi", "starlette", "uvicorn", "torch", "pandas"}
    assert not loaded & heavy


def test_lazy_names_come_from_their_modules() -> None:
    from twin.live.backends import open_store
    from twin.live.config import LiveConfig
    from twin.live.store import Store

    assert twin.live.open_store is open_store
    assert twin.live.LiveConfig is LiveConfig
    assert twin.live.Store is Store
    assert set(twin.live.__all__) <= set(dir(twin.live))
