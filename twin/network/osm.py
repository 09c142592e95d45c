"""Read OpenStreetMap files (XML, bz2-compressed XML, PBF) in one pass with pyosmium.

One reader serves every OSM file format, so a clipped ``.osm`` and a clipped
``.osm.pbf`` give the same network. It returns:

- the drivable ways (:func:`twin.network.io.is_drivable`) as lists of node ids with the
  coordinates of those nodes: the raw material of the road graph;
- the tagged objects that the city layers are derived from (:mod:`twin.network.derive`):
  nodes as points, closed ways and multipolygon relations as areas.

Clipped extracts
----------------
An extract cut from a larger file (``osmium extract``, a bounding-box export, a
country split) keeps the ways that cross its edge but not the nodes beyond it: the
ways reference nodes missing from the file. Such a way is **truncated at its missing
nodes**: it is cut into the runs of consecutive nodes present in the file, and each run
of two or more nodes becomes a way of its own. The longest run keeps the way's id;
further runs get the negative id ``-(way id × 1000 + k)`` (k = 1, 2, …), so ids stay
unique and are recognisably synthetic. How many ways were truncated and node references
dropped is logged and returned (:attr:`OSMRead.ways_truncated`,
:attr:`OSMRead.missing_refs`).

Features are tagged nodes (points) and tagged ways: a closed way whose nodes are all in
the file is a Polygon; an open way, or a closed one cut by the clip, is the centroid of
its nodes present (a Point). Multipolygon relations (``type=multipolygon``) are
assembled from their member ways (outer rings, inner holes); one with members cut off
by the clip is the centroid of its nodes present. The file need not be sorted.

References
----------
.. [1] pyosmium, https://docs.osmcode.org/pyosmium/latest/
.. [2] OSM wiki, "Osmium extract strategies",
   https://osmcode.org/osmium-tool/manual.html#creating-geographic-extracts
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from twin.errors import EmptyNetworkError, NotOSMError

__all__ = ["OSMFeature", "OSMRead", "osm_format", "read_osm", "truncate_at_missing"]

logger = logging.getLogger(__name__)

#: Synthetic ids of the second, third, … run of a truncated way: ``-(id * 1000 + k)``.
PIECE_ID_FACTOR = 1000


@dataclass(frozen=True)
class OSMFeature:
    """A tagged OSM object kept for deriving city layers.

    Attributes
    ----------
    osm_type
        ``"node"``, ``"way"`` or ``"relation"``.
    osm_id
        The object's OSM id.
    tags
        All its tags.
    geometry
        A shapely Point (nodes) or (Multi)Polygon (areas), WGS84 lon/lat [deg].
    """

    osm_type: str
    osm_id: int
    tags: dict[str, str]
    geometry: Any

    @property
    def ref(self) -> str:
        """``"node/123"``, ``"way/456"``: where to find the object on openstreetmap.org."""
        return f"{self.osm_type}/{self.osm_id}"


@dataclass
class OSMRead:
    """What :func:`read_osm` found in a file.

    Attributes
    ----------
    path
        The file read.
    ways
        ``(way id, node ids, tags)`` of each drivable way or way piece, in file order.
    nodes
        ``node id -> (lon, lat)`` [deg] of every node the ways use.
    node_tags
        Tags of those nodes that osmnx keeps (``traffic_signals`` and the like).
    features
        Tagged objects accepted by the ``keep`` predicate, sorted by type and id.
    ways_seen
        Ways of any kind in the file [-].
    drivable_ways
        Drivable ways in the file, before truncation [-].
    ways_truncated
        Drivable ways that referenced at least one node missing from the file [-].
    missing_refs
        Node references of drivable ways to nodes missing from the file [-].
    """

    path: Path
    ways: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)
    nodes: dict[int, tuple[float, float]] = field(default_factory=dict)
    node_tags: dict[int, dict[str, str]] = field(default_factory=dict)
    features: list[OSMFeature] = field(default_factory=list)
    ways_seen: int = 0
    drivable_ways: int = 0
    ways_truncated: int = 0
    missing_refs: int = 0

    def write_xml(self, out: Path) -> Path:
        """Write the drivable ways and their nodes as OSM XML (for :func:`osmnx.graph_from_xml`)."""
        lines = ["<?xml version='1.0' encoding='UTF-8'?>", "<osm version='0.6' generator='twin'>"]
        for nid in sorted(self.nodes):
            lon, lat = self.nodes[nid]
            tags = self.node_tags.get(nid)
            head = f"  <node id='{nid}' lat='{lat!r}' lon='{lon!r}'"
            if not tags:
                lines.append(head + "/>")
                continue
            lines.append(head + ">")
            lines.extend(_tag_lines(tags, "    "))
            lines.append("  </node>")
        for wid, refs, tags in self.ways:
            lines.append(f"  <way id='{wid}'>")
            lines.extend(f"    <nd ref='{r}'/>" for r in refs)
            lines.extend(_tag_lines(tags, "    "))
            lines.append("  </way>")
        lines.append("</osm>\n")
        out.write_text("\n".join(lines), encoding="utf-8")
        return out


def _tag_lines(tags: Mapping[str, str], indent: str) -> list[str]:
    return [f"{indent}<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in sorted(tags.items())]


def osm_format(path: Path) -> str:
    """The libosmium format name of an OSM file: ``"osm"``, ``"osm.bz2"`` or ``"pbf"``."""
    name = path.name.lower()
    if name.endswith(".pbf"):
        return "pbf"
    if name.endswith(".bz2"):
        return "osm.bz2"
    return "osm"


def truncate_at_missing(
    way_id: int, refs: list[int], present: list[bool]
) -> list[tuple[int, list[int]]]:
    """Cut a way into the runs of consecutive nodes present in the file.

    Parameters
    ----------
    way_id
        The way's OSM id.
    refs
        Its node ids, in order.
    present
        Whether each node is in the file (has a location).

    Returns
    -------
    list of (int, list of int)
        ``(id, node ids)`` of each run of two or more nodes, in way order. The longest
        run (the first among equals) keeps ``way_id``; the others get
        ``-(way_id * 1000 + k)``, k = 1, 2, … in way order.
    """
    runs: list[list[int]] = []
    current: list[int] = []
    for ref, ok in zip(refs, present, strict=True):
        if ok:
            current.append(ref)
            continue
        if len(current) >= 2:
            runs.append(current)
        current = []
    if len(current) >= 2:
        runs.append(current)
    if not runs:
        return []
    longest = max(range(len(runs)), key=lambda i: (len(runs[i]), -i))
    out: list[tuple[int, list[int]]] = []
    k = 0
    for i, run in enumerate(runs):
        if i == longest:
            out.append((way_id, run))
        else:
            k += 1
            out.append((-(abs(way_id) * PIECE_ID_FACTOR + k), run))
    return out


def read_osm(
    path: str | Path,
    *,
    drivable: Callable[[Mapping[str, str]], bool],
    keep: Callable[[Mapping[str, str]], bool] | None = None,
    node_tag_keys: frozenset[str] = frozenset({"highway", "junction", "railway", "ref"}),
) -> OSMRead:
    """Read the drivable ways of an OSM file, truncated at missing nodes, and tagged features.

    Parameters
    ----------
    path
        An ``.osm``/``.osm.xml``/``.xml``, ``.osm.bz2`` or ``.osm.pbf`` file.
    drivable
        Which ways (by their tags) are part of the car network.
    keep
        Which tagged nodes and ways to return as :attr:`OSMRead.features`; none when
        ``None``.
    node_tag_keys
        Node tags kept for road nodes.

    Returns
    -------
    OSMRead
        The ways, their nodes, the features and truncation counts.

    Raises
    ------
    NotOSMError
        If libosmium cannot parse the file.
    EmptyNetworkError
        If it holds no drivable way, or every drivable way lost all but one of its
        nodes to the clipping.
    """
    import osmium

    path = Path(path)
    fmt = osm_format(path)
    result = OSMRead(path=path)
    features: list[OSMFeature] = []
    kind = {"pbf": "OSM PBF", "osm.bz2": "bz2-compressed OSM XML", "osm": "OSM XML"}[fmt]
    relations: dict[int, tuple[dict[str, str], list[tuple[int, str]]]] = {}
    members: dict[int, list[tuple[float, float]] | None] = {}
    try:
        obj: Any
        if keep is not None:  # first pass: the multipolygons to assemble, and their ways
            for obj in osmium.FileProcessor(osmium.io.File(str(path), fmt), osmium.osm.RELATION):
                tags = {t.k: t.v for t in obj.tags}
                if tags.get("type") == "multipolygon" and keep(tags):
                    refs = [(int(m.ref), m.role) for m in obj.members if m.type == "w"]
                    relations[int(obj.id)] = (tags, refs)
                    members.update(dict.fromkeys((r for r, _ in refs), None))
        processor = osmium.FileProcessor(osmium.io.File(str(path), fmt)).with_locations()
        for obj in processor:
            if obj.is_node():
                _read_node(obj, result, features, keep, node_tag_keys)
            elif obj.is_way():
                _read_way(obj, result, drivable)
                if keep is not None:
                    _read_area(obj, features, keep)
                    if obj.id in members:
                        members[int(obj.id)] = [
                            (float(n.location.lon), float(n.location.lat))
                            if n.location.valid()
                            else (math.nan, math.nan)
                            for n in obj.nodes
                        ]
    except RuntimeError as exc:
        raise NotOSMError(
            f"{path}: could not {'read' if fmt == 'pbf' else 'parse'} it as {kind} ({exc}). "
            "Give a valid "
            + (".osm.pbf file" if fmt == "pbf" else "OSM file")
            + " (export it again, e.g. with osmium, Overpass or JOSM); the file may be "
            "truncated or of another type."
        ) from exc
    for rid, (tags, refs) in relations.items():
        geom = _multipolygon(refs, members)
        if geom is not None:
            features.append(OSMFeature("relation", rid, tags, geom))
    result.features = sorted(features, key=lambda f: (f.osm_type, f.osm_id))
    if result.ways_seen == 0:
        raise EmptyNetworkError(
            f"{path}: holds no road: no OSM way at all ({len(result.node_tags)} tagged "
            "node(s)). Check that the file covers streets, and that it is a whole export."
        )
    if result.drivable_ways == 0:
        raise EmptyNetworkError(
            f"{path}: holds no drivable road (no way tagged highway=primary, residential, "
            "…). Check that the file covers streets, not just buildings or paths."
        )
    if not result.ways:
        raise EmptyNetworkError(
            f"{path}: its {result.drivable_ways} drivable way(s) reference "
            f"{result.missing_refs} node(s) missing from the file, and no two consecutive "
            "nodes of any way are present: the extract holds ways without their nodes. "
            "Cut the extract again with its nodes (e.g. `osmium extract --strategy "
            "complete_ways`) or choose a larger area."
        )
    if result.ways_truncated:
        logger.warning(
            "%s: %d of %d drivable ways reference %d node(s) missing from the file (a "
            "clipped extract); truncated at the missing nodes",
            path,
            result.ways_truncated,
            result.drivable_ways,
            result.missing_refs,
        )
    return result


def _read_node(
    obj: Any,
    result: OSMRead,
    features: list[OSMFeature],
    keep: Callable[[Mapping[str, str]], bool] | None,
    node_tag_keys: frozenset[str],
) -> None:
    if not len(obj.tags):
        return
    tags = {t.k: t.v for t in obj.tags}
    kept = {k: v for k, v in tags.items() if k in node_tag_keys}
    if kept:
        result.node_tags[obj.id] = kept
    if keep is not None and keep(tags) and obj.location.valid():
        import shapely

        point = shapely.Point(obj.location.lon, obj.location.lat)
        features.append(OSMFeature("node", int(obj.id), tags, point))


def _read_way(obj: Any, result: OSMRead, drivable: Callable[[Mapping[str, str]], bool]) -> None:
    result.ways_seen += 1
    tags = {t.k: t.v for t in obj.tags}
    if not drivable(tags):
        return
    result.drivable_ways += 1
    refs: list[int] = []
    present: list[bool] = []
    for n in obj.nodes:
        ok = bool(n.location.valid())
        refs.append(int(n.ref))
        present.append(ok)
        if ok:
            result.nodes[int(n.ref)] = (float(n.location.lon), float(n.location.lat))
    missing = present.count(False)
    if missing:
        result.ways_truncated += 1
        result.missing_refs += missing
    for wid, run in truncate_at_missing(int(obj.id), refs, present):
        result.ways.append((wid, run, tags))


def _multipolygon(
    refs: list[tuple[int, str]], members: Mapping[int, list[tuple[float, float]] | None]
) -> Any:
    """A multipolygon relation's geometry from its member ways' coordinates.

    Outer ways (role ``outer`` or empty) are joined into rings with
    :func:`shapely.ops.polygonize`, inner ways cut holes. A relation with a member way
    or node missing from the file (clipped) is the centroid of its nodes present; one
    with no node present is ``None``.
    """
    import shapely
    from shapely.ops import polygonize, unary_union

    complete = True
    outer: list[Any] = []
    inner: list[Any] = []
    present: list[tuple[float, float]] = []
    for ref, role in refs:
        xy = members.get(ref)
        if xy is None or any(math.isnan(x) for x, _ in xy):
            complete = False
        ok = [p for p in (xy or []) if not math.isnan(p[0])]
        present.extend(ok)
        if xy is not None and len(ok) >= 2:
            (inner if role == "inner" else outer).append(shapely.LineString(ok))
    if not present:
        return None
    if complete and outer:
        shell = unary_union(list(polygonize(outer)))
        holes = unary_union(list(polygonize(inner))) if inner else None
        geom = shell.difference(holes) if holes is not None else shell
        if geom.geom_type in ("Polygon", "MultiPolygon") and geom.area > 0:
            return geom
    return shapely.MultiPoint(present).centroid


def _read_area(
    obj: Any,
    features: list[OSMFeature],
    keep: Callable[[Mapping[str, str]], bool],
) -> None:
    """A kept closed way as a Polygon, else the centroid of its nodes in the file."""
    if not len(obj.tags):
        return
    tags = {t.k: t.v for t in obj.tags}
    if not keep(tags):
        return
    import shapely

    refs = [int(n.ref) for n in obj.nodes]
    xy = [(float(n.location.lon), float(n.location.lat)) for n in obj.nodes if n.location.valid()]
    if not xy:
        return
    geom: Any = None
    if len(refs) >= 4 and refs[0] == refs[-1] and len(xy) == len(refs):
        poly = shapely.Polygon(xy)
        geom = poly if poly.is_valid else shapely.make_valid(poly)
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.area <= 0:
            geom = None
    if geom is None:
        geom = shapely.MultiPoint(xy).centroid
    features.append(OSMFeature("way", int(obj.id), tags, geom))
