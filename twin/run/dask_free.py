"""Building and writing a run's Dataset without importing dask, which a run never uses.

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
answer it would get after the import.

Where ``dask`` itself has not been imported (about 0.1 s with what it pulls in), two
more questions are answered without it, inside :func:`dask_free` only:

- whether an object is a dask collection: not when it has no callable
  ``__dask_graph__`` (dask's own first test, which every numpy array fails); any other
  object is still asked of dask;
- which dask scheduler is active: none, as no dask computation can run in a process
  that has not imported dask. xarray uses the answer to choose the NetCDF write lock
  (a thread lock for no scheduler, as for dask's default threaded one) and to close
  files after each write of chunked (dask) data, which a run does not have.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["dask_free"]

#: xarray functions that import dask, and what replaces each inside :func:`dask_free`
#: while dask is not imported: (module, name, the name of the replacement here).
_DASK_ASKS = (
    ("xarray.namedarray.utils", "is_dask_collection", "_is_dask_collection"),
    ("xarray.backends.locks", "get_dask_scheduler", "_no_dask_scheduler"),
    ("xarray.backends.writers", "get_dask_scheduler", "_no_dask_scheduler"),
)


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


def _is_dask_collection(x: object) -> bool:
    """Whether ``x`` is a dask collection (dask's answer; dask's first test without dask)."""
    if isinstance(x, type) or not callable(getattr(x, "__dask_graph__", None)):
        return False
    from dask.base import is_dask_collection

    return bool(is_dask_collection(x))


def _no_dask_scheduler(get: Any = None, collection: Any = None) -> str | None:
    """The active dask scheduler where dask is not imported: none (xarray's question)."""
    return None


@contextlib.contextmanager
def _without_dask_imports() -> Iterator[None]:
    """While dask is not imported, xarray's questions to dask answered here (see above)."""
    replaced: list[tuple[Any, str, Any]] = []
    if "dask" not in sys.modules:
        for module_name, name, ours in _DASK_ASKS:
            module = sys.modules.get(module_name)
            if module is None:
                with contextlib.suppress(ImportError):
                    module = importlib.import_module(module_name)
            original = getattr(module, name, None) if module is not None else None
            if original is not None:  # another xarray: leave it as it is
                replaced.append((module, name, original))
                setattr(module, name, globals()[ours])
    try:
        yield
    finally:
        for module, name, original in reversed(replaced):
            setattr(module, name, original)


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
        with _without_dask_imports():
            yield
    finally:
        if blocked and sys.modules.get("distributed", 0) is None:
            del sys.modules["distributed"]
        if stub is not None and cache.get("dask") is stub:
            del cache["dask"]
