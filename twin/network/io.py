"""Read raw road graphs: GraphML, OSM XML (plain or bz2), OSM PBF, and Overpass.

Each reader returns an unprocessed ``networkx.MultiDiGraph`` in the osmnx convention
(node attributes ``x``/``y`` in WGS84 degrees, edge attribute ``length`` [m]); cropping,
speeds and the largest strongly connected component are applied by
:mod:`twin.network.build`.

- GraphML (``.graphml``, ``.graphml.gz``) through :func:`osmnx.load_graphml`.
- OSM XML (``.osm``, ``.osm.xml``, ``.osm.bz2``) and PBF (``.osm.pbf``) through
  pyosmium (PyPI ``osmium``, :mod:`twin.network.osm`), which keeps only ways a car may
  drive on (:func:`is_drivable`), truncates ways at nodes missing from a clipped
  extract, and hands them to :func:`osmnx.graph_from_xml`.
- A place name or a bounding box through the Overpass API (osmnx), cached on disk as
  GraphML so a second run needs no network; the tagged objects the city layers are
  derived from (:mod:`twin.network.derive`) come from the same area with
  :func:`features_from_place` / :func:`features_from_bbox`, cached as JSON beside it, so
  an Overpass build derives the same layers as a file build.

osmnx and networkx are imported inside the readers (osmnx takes seconds to import), so a
network read from the cache (:mod:`twin.network.cache`) imports neither until its graph
is read.
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
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.errors import EmptyNetworkError, InputFileNotFoundError, NotOSMError, OverpassError
from twin.network.osm import OSMFeature, OSMRead, osm_format, read_osm

if TYPE_CHECKING:  # imported where a graph is read: a cached network needs none
    import networkx as nx

__all__ = [
    "DRIVABLE_HIGHWAYS",
    "cache_dir",
    "canonical_graph",
    "features_from_bbox",
    "features_from_frame",
    "features_from_place",
    "graph_from_bbox",
    "graph_from_file",
    "graph_from_osm",
    "graph_from_pbf",
    "graph_from_place",
    "graph_from_xml",
    "is_drivable",
    "read_osm_file",
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
    so buildings and footways never become edges. Ways that reference nodes missing
    from the file (a clipped extract) are truncated at them (see :mod:`twin.network.osm`).
    """
    return graph_from_osm(read_osm_file(path))


def graph_from_pbf(path: str | Path) -> nx.MultiDiGraph:
    """Read the car network from an OSM PBF file with pyosmium.

    Read like an XML file (:func:`graph_from_xml`): drivable ways only, truncated at
    nodes missing from the file.
    """
    return graph_from_osm(read_osm_file(path))


def read_osm_file(
    path: str | Path, *, keep: Callable[[Mapping[str, str]], bool] | None = None
) -> OSMRead:
    """Check an OSM file (XML, bz2 or PBF) and read it with :func:`twin.network.osm.read_osm`.

    Parameters
    ----------
    path
        The file.
    keep
        Which tagged nodes and areas to return as features (for derived city layers).

    Raises
    ------
    InputFileNotFoundError, NotOSMError, EmptyNetworkError
    """
    path = Path(path)
    _check_exists(path)
    if osm_format(path) != "pbf":
        head = _head(path)
        if b"<osm" not in head:
            raise NotOSMError(
                f"{path}: not an OpenStreetMap XML file (no <osm> root element at its start). "
                "Export OSM data as .osm XML (e.g. from Overpass or JOSM) or .osm.pbf."
            )
    return read_osm(path, drivable=is_drivable, keep=keep)


def graph_from_osm(read: OSMRead) -> nx.MultiDiGraph:
    """The simplified car network (osmnx convention) of what :func:`read_osm_file` read.

    The drivable ways and their nodes are handed to :func:`osmnx.graph_from_xml` through
    a temporary OSM XML file; errors name the original file.
    """
    import osmnx as ox

    path = read.path
    with tempfile.TemporaryDirectory(prefix="twin-osm-") as tmp:
        plain = read.write_xml(Path(tmp) / "roads.osm")
        try:
            G = ox.graph_from_xml(plain, bidirectional=False, simplify=False, retain_all=True)
        except Exception as exc:  # osmnx raises many kinds on odd data
            raise NotOSMError(
                f"{path}: its {len(read.ways)} drivable way(s) could not be turned into a "
                f"road graph ({type(exc).__name__}: {exc}). Check the file with "
                "`osmium fileinfo -e`, or export the area again."
            ) from exc
    return canonical_graph(_keep_drivable(G, path))


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


def _canonical_value(value: Any) -> Any:
    """A list attribute (merged by osmnx on simplification) in sorted order."""
    if isinstance(value, list):
        return sorted(dict.fromkeys(value), key=lambda x: (type(x).__name__, str(x)))
    return value


def canonical_graph(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The same graph in a canonical order, independent of ``PYTHONHASHSEED``.

    osmnx merges the tags of the ways it joins on simplification into lists built from
    a ``set``, whose order depends on the string hash seed; the first item (``highway``,
    ``name``) then decides speeds and names. Here every list attribute is sorted, nodes
    are inserted by OSM id and edges by ``(u, v)``, then length, way ids and geometry,
    with keys renumbered 0, 1, … per node pair. The same file thus gives the same node
    and edge order, ids and attributes in every process.
    """
    import networkx as nx

    H = nx.MultiDiGraph(**G.graph)
    for n in sorted(G.nodes):
        H.add_node(n, **{k: _canonical_value(v) for k, v in G.nodes[n].items()})
    rows = []
    for u, v, d in G.edges(data=True):
        data = {k: _canonical_value(x) for k, x in d.items()}
        geom = data.get("geometry")
        order = (
            round(float(data.get("length", 0.0)), 6),
            str(data.get("osmid")),
            geom.wkb_hex if geom is not None and hasattr(geom, "wkb_hex") else "",
        )
        rows.append((u, v, order, data))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    for u, v, _, data in rows:
        H.add_edge(u, v, **data)  # keys 0, 1, … in this order
    return H


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


@contextlib.contextmanager
def _overpass_call(
    kind: str, query: Any, cached: Path, what: str = "drivable road"
) -> Iterator[None]:
    """Run an osmnx query with the twin's HTTP cache; its failures as twin errors."""
    try:
        with _osmnx_cache():
            yield
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
                f"Overpass returned no {what} for {kind} {query!r} ({exc}). Check the "
                "spelling of the place, or give a larger bounding box."
            ) from exc
        if "requests" in type(exc).__module__:
            raise OverpassError(
                f"Overpass request for {kind} {query!r} failed ({exc}); nothing is cached at "
                f"{cached}. Try again later, or build from a file with --osm FILE."
            ) from exc
        raise


def _from_overpass(kind: str, query: Any, fetch: Any) -> nx.MultiDiGraph:
    cached = _overpass_cache_path(kind, query)
    if cached.exists():
        logger.info("Using cached Overpass result %s", cached)
        return graph_from_graphml(cached)
    with _overpass_call(kind, query, cached):
        G = canonical_graph(fetch())
    import osmnx as ox

    cached.parent.mkdir(parents=True, exist_ok=True)
    ox.save_graphml(G, cached)
    logger.info("Cached Overpass result at %s", cached)
    return G


def features_from_frame(gdf: Any) -> list[OSMFeature]:
    """The tagged objects of an osmnx features GeoDataFrame, as a file read gives them.

    Parameters
    ----------
    gdf
        From :func:`osmnx.features_from_place` / :func:`osmnx.features_from_bbox`: index
        ``(element, id)``, a column per tag key, ``geometry`` in WGS84.

    Returns
    -------
    list of OSMFeature
        Those whose tags pass :func:`twin.network.derive.wanted`, sorted by type and id;
        areas stay (Multi)Polygons, an open way becomes the centroid of its nodes (a
        Point), as :func:`twin.network.osm.read_osm` makes them.
    """
    import shapely

    from twin.network.derive import wanted

    if gdf is None or len(gdf) == 0:
        return []
    columns = [c for c in gdf.columns if c != "geometry"]
    out: list[OSMFeature] = []
    for (element, osm_id), row in zip(gdf.index, gdf.itertuples(index=False), strict=True):
        values = dict(zip(gdf.columns, row, strict=True))
        tags = {
            str(k): str(values[k])
            for k in columns
            if isinstance(values[k], str) or (values[k] is not None and values[k] == values[k])
        }
        geom = values["geometry"]
        if geom is None or geom.is_empty or not wanted(tags):
            continue
        if geom.geom_type in ("LineString", "LinearRing", "MultiLineString"):
            xy = shapely.get_coordinates(geom)
            if len(xy) > 1 and (xy[0] == xy[-1]).all():
                xy = xy[:-1]
            geom = shapely.Point(xy.mean(axis=0))
        out.append(OSMFeature(str(element), int(osm_id), tags, geom))
    return sorted(out, key=lambda f: (f.osm_type, f.osm_id))


def _features_from_overpass(kind: str, query: Any, fetch: Any) -> list[OSMFeature]:
    import shapely

    cached = _overpass_cache_path(kind, query).with_suffix(".features.json")
    if cached.exists():
        logger.info("Using cached Overpass features %s", cached)
        rows = json.loads(cached.read_text(encoding="utf-8"))
        return [
            OSMFeature(r["type"], int(r["id"]), r["tags"], shapely.from_wkb(r["wkb"])) for r in rows
        ]
    with _overpass_call(kind, query, cached, "tagged object"):
        try:
            gdf = fetch()
        except Exception as exc:
            if "Insufficient" not in type(exc).__name__:
                raise
            gdf = None  # no object with the tags: every derived layer is absent
    features = features_from_frame(gdf)
    rows = [
        {"type": f.osm_type, "id": f.osm_id, "tags": f.tags, "wkb": f.geometry.wkb_hex}
        for f in features
    ]
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(rows, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    logger.info("Cached %d Overpass features at %s", len(features), cached)
    return features


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


def _check_bbox(west: float, south: float, east: float, north: float) -> None:
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise EmptyNetworkError(
            f"Bounding box W={west} S={south} E={east} N={north} is empty or invalid; give "
            "W < E and S < N in degrees (WGS84), e.g. 120.13 30.26 120.20 30.33."
        )


def graph_from_bbox(west: float, south: float, east: float, north: float) -> nx.MultiDiGraph:
    """Drivable network in a WGS84 bounding box [deg], from Overpass (cached)."""
    _check_bbox(west, south, east, north)
    bbox = (west, south, east, north)
    import osmnx as ox

    return _from_overpass(
        "bbox",
        list(bbox),
        lambda: ox.graph_from_bbox(bbox, network_type="drive", simplify=True, retain_all=True),
    )


def features_from_place(name: str) -> list[OSMFeature]:
    """The tagged objects of a named place the city layers are derived from (Overpass, cached).

    One osmnx query for :data:`twin.network.derive.OSM_QUERY_TAGS`, converted by
    :func:`features_from_frame`; a place with none of those objects gives ``[]``.
    """
    if not name.strip():
        raise EmptyNetworkError("The place name is empty; give a name such as 'Gongshu, Hangzhou'.")
    import osmnx as ox

    from twin.network.derive import OSM_QUERY_TAGS

    return _features_from_overpass(
        "place", name, lambda: ox.features_from_place(name, tags=OSM_QUERY_TAGS)
    )


def features_from_bbox(west: float, south: float, east: float, north: float) -> list[OSMFeature]:
    """The tagged objects in a WGS84 bounding box [deg] for the city layers (Overpass, cached)."""
    _check_bbox(west, south, east, north)
    import osmnx as ox

    from twin.network.derive import OSM_QUERY_TAGS

    bbox = (west, south, east, north)
    return _features_from_overpass(
        "bbox", list(bbox), lambda: ox.features_from_bbox(bbox, tags=OSM_QUERY_TAGS)
    )
