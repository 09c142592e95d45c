"""The on-disk cache of built road networks.

Building the Gongshu network from its GraphML file takes seconds (parsing XML, cropping,
the largest component, speeds, snapping the city layers); reading the built network back
takes a fraction of a second. :func:`twin.network.build.build_network` and
:func:`~twin.network.build.load_network` look here first and store what they build.

An entry is one uncompressed ``.npz`` file in :func:`cache_folder`
(``$TWIN_CACHE_DIR/networks``, by default ``~/.cache/twin/networks``) holding numpy
arrays only (read with ``allow_pickle=False``): the network as
:mod:`twin.network.cache_codec` encodes it, and a JSON header. Its name is the key: a
hash of

- the bytes of every input file (the road file, the boundary, every file of the layer
  folder),
- every build option that changes the result,
- :data:`FORMAT_VERSION`, the source code of ``twin.network`` and the versions of the
  libraries that read and build the network (osmnx, networkx, shapely, pyproj,
  geopandas, pandas, numpy).

So an entry is never stale: changing any of them changes the key, and the old entry is
simply not read again (the :data:`MAX_ENTRIES` most recently used are kept). Networks
under :data:`MIN_CACHED_EDGES` edges build fast and are not stored.

Writes go to a temporary file in the same folder, then :func:`os.replace`: two processes
storing the same network at once each write a whole file, and a reader never sees half
of one. A corrupt or unreadable entry logs a warning and is rebuilt and overwritten; a
cache folder that cannot be written logs a warning and the network is simply not
stored. Setting ``TWIN_NO_CACHE=1`` turns the cache off (neither read nor written).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from twin.network import io
from twin.network.cache_codec import UnsupportedContentError, decode_network, encode_network
from twin.network.road_network import RoadNetwork

__all__ = [
    "FORMAT_VERSION",
    "MAX_ENTRIES",
    "MIN_CACHED_EDGES",
    "CacheEntry",
    "cache_enabled",
    "cache_folder",
    "clear_cache",
    "code_version",
    "file_digest",
    "folder_digest",
    "list_entries",
    "load_cached",
    "network_key",
    "store_cached",
]

logger = logging.getLogger(__name__)

#: Version of the entry format; bump it whenever what an entry holds changes.
FORMAT_VERSION = 1
#: Entries kept; older ones (by last use) are deleted when a new one is stored.
MAX_ENTRIES = 8
#: Smallest network worth caching [edges]: smaller ones build in well under a second.
MIN_CACHED_EDGES = 2_000
#: Libraries whose version is part of every key.
_LIBRARIES = ("osmnx", "networkx", "shapely", "pyproj", "geopandas", "pandas", "numpy")
_SUFFIX = ".npz"
_HEADER = "cache.header"
#: A temporary file older than this is a crashed writer's and may be deleted [s].
_STALE_TMP_S = 3600.0


def cache_enabled() -> bool:
    """Whether the network cache is on: unless ``$TWIN_NO_CACHE`` is set (to not ``0``)."""
    value = os.environ.get("TWIN_NO_CACHE", "").strip().lower()
    return value in ("", "0", "false", "no", "off")


def cache_folder() -> Path:
    """Where built networks are cached: ``networks/`` in :func:`twin.network.io.cache_dir`."""
    return io.cache_dir() / "networks"


# ---------------------------------------------------------------------------- keys


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex).

    Raises
    ------
    OSError
        If the file cannot be read.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def folder_digest(path: str | Path) -> str:
    """SHA-256 over the names and bytes of every file under a folder (hex).

    Raises
    ------
    OSError
        If the folder or a file in it cannot be read.
    """
    root = Path(path)
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a folder")
    h = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(file.relative_to(root).as_posix().encode("utf-8") + b"\0")
        h.update(file_digest(file).encode("ascii"))
    return h.hexdigest()


@functools.cache
def code_version() -> str:
    """SHA-256 over ``twin/network``'s source and the library versions that build networks.

    Computed once per process (a few milliseconds).
    """
    h = hashlib.sha256(f"format {FORMAT_VERSION}\n".encode())
    for file in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(file.name.encode("utf-8") + b"\0" + file.read_bytes())
    for lib in _LIBRARIES:
        try:
            version = metadata.version(lib)
        except metadata.PackageNotFoundError:
            version = "absent"
        h.update(f"{lib}=={version}\n".encode())
    return h.hexdigest()


def network_key(inputs: Mapping[str, str | None], options: Mapping[str, Any]) -> str:
    """The cache key of a network build.

    Parameters
    ----------
    inputs
        Digest of every input (:func:`file_digest`, :func:`folder_digest`), by role
        (``None`` for an input not given).
    options
        Every build option that changes the result, JSON-serialisable.

    Returns
    -------
    str
        32 hex digits, also covering :data:`FORMAT_VERSION` and :func:`code_version`.
    """
    doc = {
        "format": FORMAT_VERSION,
        "code": code_version(),
        "inputs": dict(inputs),
        "options": dict(options),
    }
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def entry_path(key: str) -> Path:
    """The file of the entry ``key``."""
    return cache_folder() / f"{key}{_SUFFIX}"


# ---------------------------------------------------------------------------- read


def _read(path: Path, key: str) -> RoadNetwork:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    header = json.loads(arrays.pop(_HEADER).tobytes().decode("utf-8"))
    if header.get("format") != FORMAT_VERSION or header.get("key") != key:
        raise ValueError(
            f"entry is format {header.get('format')!r}, key {header.get('key')!r}; "
            f"expected format {FORMAT_VERSION}, key {key}"
        )
    return decode_network(header, arrays)


def load_cached(key: str) -> RoadNetwork | None:
    """The cached network of ``key``, or ``None`` when there is none (or it is unreadable).

    A corrupt or unreadable entry logs a warning and counts as absent (the caller
    rebuilds and overwrites it). Returns ``None`` when the cache is off
    (:func:`cache_enabled`).
    """
    if not cache_enabled():
        return None
    path = entry_path(key)
    if not path.exists():
        return None
    t0 = time.perf_counter()
    try:
        net = _read(path, key)
    except Exception as exc:  # any failure to read means: rebuild
        logger.warning(
            "Ignoring unreadable network cache entry %s (%s: %s); rebuilding it.",
            path,
            type(exc).__name__,
            exc,
        )
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # last use, for pruning
    logger.info("Read cached network %s in %.3f s", path, time.perf_counter() - t0)
    return net


# ---------------------------------------------------------------------------- write


def store_cached(key: str, net: RoadNetwork) -> Path | None:
    """Store a built network under ``key``; the file written, or ``None`` if not stored.

    Never raises for a cache problem: a folder that cannot be written, or a network
    holding something the format cannot store exactly, logs a warning and stores
    nothing. Does nothing when the cache is off (:func:`cache_enabled`) or the network
    has fewer than :data:`MIN_CACHED_EDGES` edges.
    """
    if not cache_enabled() or net.n_edges < MIN_CACHED_EDGES:
        return None
    try:
        header, arrays = encode_network(net)
    except UnsupportedContentError as exc:
        logger.warning("Not caching network %r: %s.", net.meta.get("name", ""), exc)
        return None
    header.update(
        format=FORMAT_VERSION,
        key=key,
        name=net.meta.get("name", ""),
        nodes=net.n_nodes,
        edges=net.n_edges,
    )
    raw = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    arrays[_HEADER] = np.frombuffer(raw, dtype=np.uint8)
    folder = cache_folder()
    path = entry_path(key)
    tmp: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is not a secret
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        logger.warning("Could not write the network cache in %s (%s); continuing.", folder, exc)
        return None
    finally:
        if tmp is not None:
            _unlink(Path(tmp))
    logger.info("Cached network at %s (%.1f MB)", path, path.stat().st_size / 1e6)
    _prune(folder, keep=path)
    return path


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except OSError:
        return False
    return True


def _prune(folder: Path, *, keep: Path) -> None:
    """Delete all but the :data:`MAX_ENTRIES` most recently used entries, and stale temps."""
    try:
        entries = [(p.stat().st_mtime, p) for p in folder.glob(f"*{_SUFFIX}") if p != keep]
        temps = [(p.stat().st_mtime, p) for p in folder.glob(".*.tmp")]
    except OSError:
        return
    entries.sort(reverse=True)
    for _, old in entries[MAX_ENTRIES - 1 :]:
        _unlink(old)
    now = time.time()
    for mtime, tmp in temps:
        if now - mtime > _STALE_TMP_S:
            _unlink(tmp)


# ---------------------------------------------------------------------------- inspect


@dataclass(frozen=True)
class CacheEntry:
    """One cached network.

    Attributes
    ----------
    path
        The entry's file.
    size
        Its size [bytes].
    name
        The network's name (``""`` if unreadable).
    nodes, edges
        Its size in nodes and edges (-1 if unreadable).
    layers
        Names of its city layers.
    readable
        Whether its header could be read (the format version matches).
    """

    path: Path
    size: int
    name: str
    nodes: int
    edges: int
    layers: tuple[str, ...]
    readable: bool


def list_entries() -> list[CacheEntry]:
    """Every entry of :func:`cache_folder`, most recently used first."""
    folder = cache_folder()
    if not folder.is_dir():
        return []
    paths = sorted(folder.glob(f"*{_SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
    out = []
    for path in paths:
        try:
            with np.load(path, allow_pickle=False) as npz:
                header = json.loads(npz[_HEADER].tobytes().decode("utf-8"))
            ok = header.get("format") == FORMAT_VERSION
        except Exception:  # an unreadable entry is listed as such
            header, ok = {}, False
        out.append(
            CacheEntry(
                path=path,
                size=path.stat().st_size,
                name=str(header.get("name", "")),
                nodes=int(header.get("nodes", -1)),
                edges=int(header.get("edges", -1)),
                layers=tuple(header.get("layers", {})),
                readable=ok,
            )
        )
    return out


def clear_cache() -> int:
    """Delete every cached network (and temporary file); the number of entries deleted."""
    folder = cache_folder()
    if not folder.is_dir():
        return 0
    n = sum(_unlink(p) for p in folder.glob(f"*{_SUFFIX}"))
    for tmp in folder.glob(".*.tmp"):
        _unlink(tmp)
    return n
