"""Building a run's Dataset without loading ``dask.array``, which a run never uses.

xarray asks, for every array it wraps, whether it is a dask array, and imports
``dask.array`` to find out (0.3–0.5 s, the largest single import of ``twin run``). A
run's arrays are all numpy arrays, and while ``dask.array`` has not been imported no
dask array can exist in the process: inside :func:`dask_free`, xarray's cached dask
array type is set to none (an empty tuple of types, which ``isinstance`` never matches:
the answer the import would give for numpy data), and restored on exit. Nothing else
changes: the same Dataset, the same files.

Writing NetCDF, xarray asks dask whether a ``distributed`` client runs, and finding
out imports ``distributed`` (0.2–0.5 s). Where ``distributed`` has not been imported, no
client can run in the process; inside :func:`dask_free` its import fails at once (its
``sys.modules`` entry is ``None``, restored on exit), so xarray hears "no client", the
answer it would get after the import. ``dask`` itself (about 0.1 s) is still imported.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["dask_free"]


def _no_dask_type() -> Any:
    """A record (xarray's) of a duck-array module that is not available, or ``None``."""
    try:
        from xarray.namedarray import pycompat

        stub = object.__new__(pycompat.DuckArrayModule)
        stub.module = None
        stub.version = pycompat.Version("0.0.0")  # type: ignore[attr-defined]
        stub.type = ()
        stub.available = False
    except (ImportError, AttributeError, TypeError):  # another xarray: do nothing
        return None
    return stub


@contextlib.contextmanager
def dask_free() -> Iterator[None]:
    """Let xarray wrap and write numpy data without dask.array and distributed (see above)."""
    blocked = "distributed" not in sys.modules
    if blocked:
        sys.modules["distributed"] = None  # type: ignore[assignment]
    stub = None
    cache: dict[str, Any] = {}
    if "dask.array" not in sys.modules:
        from xarray.namedarray import pycompat

        cache = getattr(pycompat, "_cached_duck_array_modules", {})
        if "dask" not in cache:
            stub = _no_dask_type()
            if stub is not None:
                cache["dask"] = stub
    try:
        yield
    finally:
        if blocked and sys.modules.get("distributed", 0) is None:
            del sys.modules["distributed"]
        if stub is not None and cache.get("dask") is stub:
            del cache["dask"]
