"""Read raw road graphs: GraphML, OSM XML (plain or bz2), OSM PBF, and Overpass.

Each reader returns an unprocessed ``networkx.MultiDiGraph`` in the osmnx convention
(node attributes ``x``/``y`` in WGS84 degrees, edge attribute ``length`` [m]); cropping,
speeds and the largest strongly connected component are applied by
:mod:`twin.network.build`.

- GraphML (``.graphml``, ``.graphml.gz``) through :func:`osmnx.load_graphml`.
- OSM XML (``.osm``, ``.osm.xml``, ``.osm.bz2``) through :func:`osmnx.graph_from_xml`,
  keeping only ways a car may drive on (:func:`is_drivable`).
- OSM PBF (``.osm.pbf``) through pyosmium (PyPI ``osmium``), which streams the drivable
  ways and their nodes into OSM XML for the reader above.
- A place name or a bounding box through the Overpass API (osmnx), cached on disk as
  GraphML so a second run needs no network.

osmnx is imported inside the readers (it takes seconds to import), so a network read
from the cache (:mod:`twin.network.cache`) never imports it.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import networkx as nx

from twin.errors import EmptyNetworkError, InputFileNotFoundError, NotOSMError, OverpassError

__all__ = [
    "DRIVABLE_HIGHWAYS",
    "cache_dir",
    "graph_from_bbox",
    "graph_from_file",
    "graph_from_pbf",
    "graph_from_place",
    "graph_from_xml",
    "is_drivable",
]

logger = logging.getLogger(__name__)

#: OSM ``highway`` values a car may use.
DRIVABLE_HIGHWAYS = frozenset(
    {
        "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
        "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
        "residential", "living_street", "service", "road",
    }
)  # fmt: skip
_EXCLUDED_SERVICE = frozenset(
    {"parking", "parking_aisle", "driveway", "private", "emergency_access"}
)
_EXCLUDED_ACCESS = frozenset({"private", "no"})

SUFFIXES = (".graphml", ".graphml.gz", ".osm", ".osm.xml", ".xml", ".osm.bz2", ".osm.pbf", ".pbf")


def is_drivable(tags: Mapping[str, Any]) -> bool:
    """Whether an OSM way with these tags is part of the car network."""
    if tags.get("highway") not in DRIVABLE_HIGHWAYS:
        return False
    if tags.get("area") == "yes":
        return False
    if tags.get("access") in _EXCLUDED_ACCESS or tags.get("motor_vehicle") in _EXCLUDED_ACCESS:
        return False
    return tags.get("service") not in _EXCLUDED_SERVICE


def cache_dir() -> Path:
    """The twin's on-disk cache: ``$TWIN_CACHE_DIR``, else ``~/.cache/twin``."""
    root = os.environ.get("TWIN_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "twin"


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise InputFileNotFoundError(
            f"{path}: no such file. Give the path of an OpenStreetMap file "
            f"({', '.join(SUFFIXES)}), or build the default with `twin network build`."
        )
    if path.is_dir():
        raise InputFileNotFoundError(f"{path} is a folder; give the path of an OSM file in it.")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def graph_from_file(path: str | Path) -> nx.MultiDiGraph:
    """Read a road graph from a file, choosing the reader by its suffix.

    Parameters
    ----------
    path
        A ``.graphml``/``.graphml.gz``, ``.osm``/``.osm.xml``/``.osm.bz2`` or ``.osm.pbf``
        file.

    Raises
    ------
    InputFileNotFoundError
        The file does not exist.
    NotOSMError
        The file is not OSM data or has an unknown suffix.
    EmptyNetworkError
        The file holds no drivable road.
    """
    path = Path(path)
    _check_exists(path)
    suffix = _suffix(path)
    if suffix in (".graphml", ".graphml.gz"):
        return graph_from_graphml(path)
    if suffix in (".osm", ".osm.xml", ".xml", ".osm.bz2"):
        return graph_from_xml(path)
    if suffix in (".osm.pbf", ".pbf"):
        return graph_from_pbf(path)
    raise NotOSMError(
        f"{path}: unknown file type {suffix!r}. Expected one of {', '.join(SUFFIXES)}."
    )


def graph_from_graphml(path: str | Path) -> nx.MultiDiGraph:
    """Read an osmnx-style GraphML file (optionally gzip-compressed)."""
    path = Path(path)
    _check_exists(path)
    head = _head(path)
    if b"<graphml" not in head:
        raise NotOSMError(
            f"{path}: not a GraphML file (no <graphml> element at its start). Give a GraphML "
            "file saved by osmnx (or `twin network build --out`), or an .osm/.osm.pbf file."
        )
    import osmnx as ox

    try:
        return ox.load_graphml(path, edge_dtypes={"tunnel": _to_bool, "restricted": _to_bool})
    except Exception as exc:  # osmnx/networkx raise many kinds on bad files
        raise NotOSMError(
            f"{path}: could not read it as osmnx GraphML ({exc}). Re-export it with "
            "osmnx.save_graphml, or give an .osm/.osm.pbf file."
        ) from exc


def _to_bool(value: str) -> bool:
    return value in ("True", "true", "1")


def _head(path: Path, n: int = 2048) -> bytes:
    """The first ``n`` decompressed bytes of a file."""
    opener: Any = open
    if path.name.lower().endswith(".gz"):
        opener = gzip.open
    elif path.name.lower().endswith(".bz2"):
        opener = bz2.open
    try:
        with opener(path, "rb") as fh:
            data: bytes = fh.read(n)
            return data
    except OSError as exc:
        raise NotOSMError(f"{path}: could not read it ({exc}).") from exc


def graph_from_xml(path: str | Path) -> nx.MultiDiGraph:
    """Read the car network from an OSM XML file (``.osm``, ``.osm.xml``, ``.osm.bz2``).

    Ways that are not drivable (:func:`is_drivable`) are dropped before simplification,
    so buildings and footways never become edges.
    """
    path = Path(path)
    _check_exists(path)
    head = _head(path)
    if b"<osm" not in head:
        raise NotOSMError(
            f"{path}: not an OpenStreetMap XML file (no <osm> root element at its start). "
            "Export OSM data as .osm XML (e.g. from Overpass or JOSM) or .osm.pbf."
        )
    import osmnx as ox

    with _decompressed(path) as plain:
        try:
            G = ox.graph_from_xml(plain, bidirectional=False, simplify=False, retain_all=True)
        except ValueError as exc:
            raise EmptyNetworkError(
                f"{path}: holds no road network ({exc}). Check that the file covers streets."
            ) from exc
        except Exception as exc:
            raise NotOSMError(f"{path}: could not parse it as OSM XML ({exc}).") from exc
    return _keep_drivable(G, path)


@contextlib.contextmanager
def _decompressed(path: Path) -> Iterator[Path]:
    """Yield a plain-XML path for ``path``, decompressing ``.bz2`` to a temporary file."""
    if not path.name.lower().endswith(".bz2"):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="twin-osm-") as tmp:
        out = Path(tmp) / path.name[: -len(".bz2")]
        with bz2.open(path, "rb") as src, open(out, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        yield out


def _keep_drivable(G: nx.MultiDiGraph, path: Path | str) -> nx.MultiDiGraph:
    import osmnx as ox

    drop = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if not is_drivable(d)]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    if G.number_of_edges() == 0:
        raise EmptyNetworkError(
            f"{path}: holds no drivable road (no way tagged highway=primary, residential, "
            "…). Check that the file covers streets, not just buildings or paths."
        )
    return ox.simplify_graph(G)


def graph_from_pbf(path: str | Path) -> nx.MultiDiGraph:
    """Read the car network from an OSM PBF file with pyosmium.

    The drivable ways and the nodes they use are streamed into a temporary OSM XML file
    that :func:`graph_from_xml` then reads; memory stays bounded by the road network,
    not by the whole file.
    """
    import osmium

    path = Path(path)
    _check_exists(path)
    with tempfile.TemporaryDirectory(prefix="twin-pbf-") as tmp:
        way_nodes: set[int] = set()
        try:
            way: Any
            for way in osmium.FileProcessor(str(path), osmium.osm.WAY):
                if is_drivable(dict(way.tags)):
                    way_nodes.update(n.ref for n in way.nodes)
        except RuntimeError as exc:
            raise NotOSMError(
                f"{path}: could not read it as OSM PBF ({exc}). Give a valid .osm.pbf file."
            ) from exc
        if not way_nodes:
            raise EmptyNetworkError(
                f"{path}: holds no drivable road (no way tagged highway=primary, residential, "
                "…). Check that the file covers streets, not just buildings or paths."
            )
        out = Path(tmp) / "roads.osm"
        writer = osmium.SimpleWriter(str(out))
        try:
            obj: Any
            for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
                if obj.is_node():
                    if obj.id in way_nodes:
                        writer.add_node(obj)
                elif is_drivable(dict(obj.tags)):
                    writer.add_way(obj)
        finally:
            writer.close()
        return graph_from_xml(out)


def _overpass_cache_path(kind: str, query: Any) -> Path:
    key = hashlib.sha256(json.dumps([kind, query], ensure_ascii=False).encode()).hexdigest()[:16]
    return cache_dir() / "overpass" / f"{kind}-{key}.graphml"


@contextlib.contextmanager
def _osmnx_cache() -> Iterator[None]:
    """Point osmnx's HTTP cache at the twin's cache for the duration of a query."""
    import osmnx as ox

    saved = (ox.settings.use_cache, ox.settings.cache_folder, ox.settings.log_console)
    ox.settings.use_cache = True
    ox.settings.cache_folder = str(cache_dir() / "osmnx-http")
    ox.settings.log_console = False
    try:
        yield
    finally:
        ox.settings.use_cache, ox.settings.cache_folder, ox.settings.log_console = saved


def _from_overpass(kind: str, query: Any, fetch: Any) -> nx.MultiDiGraph:
    cached = _overpass_cache_path(kind, query)
    if cached.exists():
        logger.info("Using cached Overpass result %s", cached)
        return graph_from_graphml(cached)
    try:
        with _osmnx_cache():
            G = fetch()
    except (ConnectionError, OSError) as exc:
        raise OverpassError(
            f"Could not reach the Overpass API for {kind} {query!r} ({exc}), and nothing is "
            f"cached at {cached}. Connect once to fill the cache, or build from a file "
            "with `twin network build --osm FILE`."
        ) from exc
    except Exception as exc:
        name = type(exc).__name__
        if (
            "Insufficient" in name
            or "Nominatim" in name
            or isinstance(exc, (ValueError, TypeError))
        ):
            raise EmptyNetworkError(
                f"Overpass returned no drivable road for {kind} {query!r} ({exc}). Check the "
                "spelling of the place, or give a larger bounding box."
            ) from exc
        if "requests" in type(exc).__module__:
            raise OverpassError(
                f"Overpass request for {kind} {query!r} failed ({exc}); nothing is cached at "
                f"{cached}. Try again later, or build from a file with --osm FILE."
            ) from exc
        raise
    import osmnx as ox

    cached.parent.mkdir(parents=True, exist_ok=True)
    ox.save_graphml(G, cached)
    logger.info("Cached Overpass result at %s", cached)
    return G


def graph_from_place(name: str) -> nx.MultiDiGraph:
    """Drivable network of a named place, from Overpass (online once, then cached)."""
    if not name.strip():
        raise EmptyNetworkError("The place name is empty; give a name such as 'Gongshu, Hangzhou'.")
    import osmnx as ox

    return _from_overpass(
        "place",
        name,
        lambda: ox.graph_from_place(name, network_type="drive", simplify=True, retain_all=True),
    )


def graph_from_bbox(west: float, south: float, east: float, north: float) -> nx.MultiDiGraph:
    """Drivable network in a WGS84 bounding box [deg], from Overpass (cached)."""
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise EmptyNetworkError(
            f"Bounding box W={west} S={south} E={east} N={north} is empty or invalid; give "
            "W < E and S < N in degrees (WGS84), e.g. 120.13 30.26 120.20 30.33."
        )
    bbox = (west, south, east, north)
    import osmnx as ox

    return _from_overpass(
        "bbox",
        list(bbox),
        lambda: ox.graph_from_bbox(bbox, network_type="drive", simplify=True, retain_all=True),
    )
