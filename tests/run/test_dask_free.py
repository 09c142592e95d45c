"""A run is built and written without importing dask, and with the same answers as dask's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from twin.run import dask_free as module
from twin.run.dask_free import dask_free

ROOT = Path(__file__).resolve().parents[2]

#: A short run written in a fresh interpreter; prints which of dask's modules it imported.
PROBE = """
import json, sys
from twin.run.folder import write_run
from twin.run.runner import run_scenario
from twin.scenario import validate_scenario
s = validate_scenario(
    {"name": "tiny", "start": "2026-06-01T08:00:00", "horizon": "1h", "seed": 2,
     "cases": {"daily_total": 200}, "crews": {"count": 10}}
)
paths = write_run(run_scenario(s), sys.argv[1])
print(json.dumps([sorted(paths), [m for m in ("dask", "distributed") if m in sys.modules]]))
"""


def test_a_run_is_built_and_written_without_importing_dask(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "run")],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    written, imported = json.loads(r.stdout.splitlines()[-1])
    assert {"dataset", "cases", "kpis", "summary"} <= set(written)
    assert imported == []
    assert xr.load_dataset(tmp_path / "run" / "run.nc")["crew_status"].ndim == 2


def test_answers_are_dasks_and_everything_is_restored() -> None:
    dask_base = pytest.importorskip("dask.base")
    import xarray.backends.locks as locks
    import xarray.backends.writers as writers
    import xarray.namedarray.utils as utils

    before = (utils.is_dask_collection, locks.get_dask_scheduler, writers.get_dask_scheduler)
    da = pytest.importorskip("dask.array")
    objects = [
        np.arange(3), pd.Series([1, 2]), xr.DataArray(np.arange(3)), np.ndarray, None, 1.5,
        da.arange(3), xr.DataArray(da.arange(3)),
    ]  # fmt: skip
    for x in objects:
        assert module._is_dask_collection(x) == dask_base.is_dask_collection(x), repr(x)
    # Once dask is imported, dask_free leaves xarray's questions to dask.
    with dask_free():
        assert utils.is_dask_collection is before[0]
        assert locks.get_dask_scheduler is before[1]
    assert (utils.is_dask_collection, locks.get_dask_scheduler) == before[:2]
    assert writers.get_dask_scheduler is before[2]
    # The lock xarray writes NetCDF under is the same for "no scheduler" and dask's
    # default threaded one.
    assert locks._get_lock_maker(None) is locks._get_lock_maker("threaded")


def test_replaced_while_dask_is_not_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    import xarray.backends.locks as locks
    import xarray.namedarray.utils as utils

    before = (utils.is_dask_collection, locks.get_dask_scheduler)
    monkeypatch.delitem(sys.modules, "dask", raising=False)  # as in a fresh `twin run`
    with dask_free():
        assert utils.is_dask_collection is module._is_dask_collection
        assert locks.get_dask_scheduler() is None
    assert (utils.is_dask_collection, locks.get_dask_scheduler) == before
