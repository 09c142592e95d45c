"""Build a :class:`~twin.network.road_network.RoadNetwork` from any source.

The pipeline is the same for every source::

    raw graph ─► crop to a polygon (optional) ─► largest strongly connected component
              ─► speeds and travel times ─► RoadNetwork ─► city layers

The embedded default is the bundled OpenStreetMap network of central Hangzhou cropped
to Gongshu district (:func:`default_network`).

A network built from files is stored in the on-disk cache (:mod:`twin.network.cache`)
and read back from there when the same files are built with the same options again;
``cache=False`` or ``TWIN_NO_CACHE=1`` builds from scratch.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from twin.errors import DisconnectedNetworkError, EmptyNetworkError, InputFileNotFoundError
from twin.network import cache as netcache
from twin.network import io
from twin.network.congestion import CongestionProfile
from twin.network.road_network import RoadNetwork
from twin.network.snapping import Projector, utm_crs
from twin.network.speeds import add_speeds_and_travel_times

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

    from twin.network.osm import OSMFeature

__all__ = [
    "DEFAULT_BOUNDARY",
    "DEFAULT_GRAPHML",
    "build_network",
    "bundled_layer",
    "data_dir",
    "default_network",
    "load_boundary",
    "load_network",
    "save_network",
]

logger = logging.getLogger(__name__)

#: Fewest nodes a usable network may have after cropping and keeping its largest part.
MIN_NODES = 10


def _is_graph(source: object) -> TypeGuard[nx.MultiDiGraph]:
    """Whether ``source`` is a networkx graph (never, while networkx is not imported)."""
    module = sys.modules.get("networkx")
    return module is not None and isinstance(source, module.MultiDiGraph)


def data_dir() -> Path:
    """The embedded data folder: ``$TWIN_DATA_DIR``, else ``data/`` beside ``twin/``."""
    root = os.environ.get("TWIN_DATA_DIR")
    return Path(root) if root else Path(__file__).resolve().parents[2] / "data"


DEFAULT_GRAPHML = Path("roads") / "hangzhou_drive.graphml.gz"
DEFAULT_BOUNDARY = Path("boundaries") / "gongshu.geojson"


def load_boundary(path: str | Path) -> BaseGeometry:
    """Read a (Multi)Polygon in WGS84 from a GeoJSON Feature, FeatureCollection or geometry."""
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"{path}: no such boundary file (GeoJSON polygon expected).")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EmptyNetworkError(f"{path}: not valid GeoJSON ({exc}).") from exc
    geoms: list[Any] = []
    if obj.get("type") == "FeatureCollection":
        geoms = [f.get("geometry") for f in obj.get("features", [])]
    elif obj.get("type") == "Feature":
        geoms = [obj.get("geometry")]
    else:
        geoms = [obj]
    polys = [shape(g) for g in geoms if g and g.get("type") in ("Polygon", "MultiPolygon")]
    if not polys:
        raise EmptyNetworkError(f"{path}: holds no Polygon or MultiPolygon to crop to.")
    return shapely.union_all(polys)


def crop_graph(
    G: nx.MultiDiGraph, polygon: BaseGeometry, *, buffer_m: float = 0.0
) -> nx.MultiDiGraph:
    """Keep the nodes inside ``polygon`` (WGS84) grown by ``buffer_m`` [m]."""
    nodes = np.array(list(G.nodes), dtype=np.int64)
    lon = np.array([G.nodes[n]["x"] for n in nodes], dtype=float)
    lat = np.array([G.nodes[n]["y"] for n in nodes], dtype=float)
    c = polygon.centroid
    proj = Projector(utm_crs(c.x, c.y))
    poly_xy = proj.geometries(np.array([polygon], dtype=object))[0]
    if buffer_m:
        poly_xy = poly_xy.buffer(buffer_m)
    x, y = proj.forward(lon, lat)
    inside = shapely.contains_xy(poly_xy, x, y)
    return G.subgraph(nodes[inside].tolist()).copy()


def largest_component(G: nx.MultiDiGraph, *, min_fraction: float, where: str) -> nx.MultiDiGraph:
    """The largest strongly connected component, checked for size."""
    if G.number_of_nodes() == 0 or G.number_of_edges() == 0:
        raise EmptyNetworkError(
            f"{where}: no road lies in the area. Check the area (or crop polygon) and that "
            "coordinates are WGS84 lon/lat."
        )
    import networkx as nx

    # Largest first; equal sizes ordered by their smallest node id, so the pick is stable.
    comps = sorted(nx.strongly_connected_components(G), key=lambda c: (-len(c), min(c)))
    keep = comps[0]
    frac = len(keep) / G.number_of_nodes()
    if len(keep) < MIN_NODES:
        raise EmptyNetworkError(
            f"{where}: the largest connected part has only {len(keep)} node(s) "
            f"(at least {MIN_NODES} are needed to route). Choose a larger area."
        )
    if frac < min_fraction:
        floor_frac = np.floor(frac * 100.0) / 100.0
        raise DisconnectedNetworkError(
            f"{where}: the network falls apart into {len(comps)} strongly connected parts; "
            f"the largest holds only {frac:.0%} of {G.number_of_nodes()} nodes (at least "
            f"{min_fraction:.0%} required). Check one-way tags; a small or clipped extract "
            "often falls apart at its edges: build a larger area (cropping more makes it "
            "worse), or accept "
            f"the largest part by lowering the threshold to at most {floor_frac:.2f}: "
            f"`twin network build --min-component-fraction {floor_frac:.2f}`, "
            "or `min_component_fraction` under `network:` in a scenario."
        )
    return G.subgraph(keep).copy()


def build_network(
    source: nx.MultiDiGraph | str | Path,
    *,
    boundary: BaseGeometry | str | Path | None = None,
    buffer_m: float = 250.0,
    min_component_fraction: float = 0.6,
    congestion: CongestionProfile | None = None,
    name: str = "",
    source_label: str | None = None,
    layers: str | Path | None = None,
    derive_layers: bool | None = None,
    features: Sequence[OSMFeature] | None = None,
    dem: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    cache: bool = True,
) -> RoadNetwork:
    """Build a routable network from a graph or a file.

    Parameters
    ----------
    source
        A raw graph (osmnx convention) or the path of a GraphML / OSM XML / PBF file.
    boundary
        Crop to this WGS84 polygon (or the GeoJSON file holding it); ``None`` keeps all.
    buffer_m
        Grow the crop polygon by this much, so boundary roads stay whole [m].
    min_component_fraction
        Smallest share of the (cropped) nodes the largest strongly connected component
        may hold before the network counts as disconnected [-].
    congestion
        Hour-of-day congestion profile; the default profile when ``None``.
    name
        A label for the network.
    source_label
        Provenance text stored in ``meta['source']`` (defaults to the file path).
    layers
        A folder of city-layer GeoJSON files to attach (see :mod:`twin.network.layers`);
        each replaces the derived layer of the same name.
    derive_layers
        Derive city layers from the OSM file's tags (:mod:`twin.network.derive`):
        plazas, stations, underpass low points, construction sites, depots. ``None``
        (the default) derives them for OSM XML/PBF files, and for a graph given with
        ``features``; not for GraphML or a bare graph (which lack the tags).
    features
        With a graph ``source``: the tagged OSM objects of the same area, e.g. from
        :func:`twin.network.io.features_from_place` (an Overpass build), so the layers
        are derived exactly as from a file.
    dem
        A GeoTIFF digital elevation model: each local sink with a road in it adds a low
        point at its lowest road node (:func:`twin.network.dem.dem_low_points`), merged
        with the tunnel low points; a user ``low_points.geojson`` still replaces them.
    progress
        Called with a short description before each step (for progress displays).
    cache
        Read the network from the on-disk cache when built before from the same file
        bytes and options, and store it there otherwise (:mod:`twin.network.cache`;
        also off when ``$TWIN_NO_CACHE`` is set). A graph given as ``source`` is never
        cached.

    Raises
    ------
    InputFileNotFoundError, NotOSMError, EmptyNetworkError, DisconnectedNetworkError
    """
    step = progress or (lambda _msg: None)
    where = str(source) if not _is_graph(source) else (name or "graph")
    if derive_layers is None:
        derive = _is_osm_file(source) or (_is_graph(source) and features is not None)
    else:
        derive = derive_layers
    key = None
    if cache and not _is_graph(source) and netcache.cache_enabled():
        options = {
            "how": "build_network",
            "min_component_fraction": min_component_fraction,
            "derive_layers": derive,
            "buffer_m": buffer_m,
            "congestion": congestion.model_dump(mode="json") if congestion else None,
            "name": name,
            "source_label": source_label or where,
            "boundary_wkb": boundary.wkb_hex if isinstance(boundary, BaseGeometry) else None,
        }
        paths = {
            "source": source,
            "boundary": None if isinstance(boundary, BaseGeometry) else boundary,
            "layers": layers,
            **({"dem": dem} if dem is not None else {}),
        }
        key = _cache_key(paths, options)
        if key is not None:
            net = netcache.load_cached(key)
            if net is not None:
                step("read from the cache")
                return net
    osm_features: list[Any] = list(features or [])
    clipped: dict[str, int] | None = None
    if _is_graph(source):
        G = source.copy()
    elif _is_osm_file(source):
        step("reading")
        from twin.network.derive import wanted

        read = io.read_osm_file(source, keep=wanted if derive else None)
        G = io.graph_from_osm(read)
        osm_features = read.features
        if read.ways_truncated:
            clipped = {"ways_truncated": read.ways_truncated, "missing_refs": read.missing_refs}
    else:
        step("reading")
        G = io.graph_from_file(source)
    n_raw = G.number_of_nodes()
    poly: BaseGeometry | None = None
    if boundary is not None:
        step("cropping")
        poly = boundary if isinstance(boundary, BaseGeometry) else load_boundary(boundary)
        G = crop_graph(G, poly, buffer_m=buffer_m)
    n_cropped = G.number_of_nodes()
    step("keeping the largest strongly connected component")
    G = largest_component(G, min_fraction=min_component_fraction, where=where)
    step("computing speeds and travel times")
    add_speeds_and_travel_times(G)
    meta = {
        "name": name,
        "source": source_label or where,
        "nodes_read": n_raw,
        "nodes_after_crop": n_cropped,
        "kept_fraction_of_nodes": round(G.number_of_nodes() / max(n_cropped, 1), 4),
        "crop_buffer_m": buffer_m if poly is not None else None,
        "boundary_wkt": poly.wkt if poly is not None else None,
        "min_component_fraction": min_component_fraction,
    }
    if clipped:
        meta["clipped_extract"] = clipped
    net = RoadNetwork.from_graph(G, congestion=congestion, meta=meta)
    if derive:
        step("deriving city layers")
        from twin.network.derive import derive_layers as derive_from_osm

        derive_from_osm(net, osm_features, boundary=poly)
    if dem is not None:
        step("finding sinks in the DEM")
        from twin.network.dem import add_dem_low_points

        add_dem_low_points(net, dem)
    if layers is not None:
        step("loading city layers")
        _attach_user_layers(net, layers)
    if key is not None:
        netcache.store_cached(key, net)
    return net


_OSM_SUFFIXES = (".osm", ".osm.xml", ".xml", ".osm.bz2", ".osm.pbf", ".pbf")


def _is_osm_file(source: object) -> bool:
    """Whether ``source`` names an OSM XML/PBF file (by its suffix)."""
    return isinstance(source, str | Path) and Path(source).name.lower().endswith(_OSM_SUFFIXES)


def _attach_user_layers(net: RoadNetwork, folder: str | Path) -> None:
    """Attach a folder of layer files; each replaces the derived layer of its name."""
    from twin.network.derive import MODELS_OFF_WITHOUT
    from twin.network.layers import attach_layers

    before = {name: id(gdf) for name, gdf in net.layers.items()}
    attach_layers(net, folder, derive_missing_low_points="low_points" not in net.layers)
    report = net.meta.get("derived_layers")
    if isinstance(report, dict):
        for name, gdf in net.layers.items():
            if before.get(name) != id(gdf):
                report[name] = f"replaced by the user file {Path(folder) / name}.geojson"
        net.meta["models_off"] = {
            model: why
            for layer, (model, why) in MODELS_OFF_WITHOUT.items()
            if layer not in net.layers
        }


def _cache_key(paths: dict[str, Any], options: dict[str, Any]) -> str | None:
    """The cache key of a build from files, or ``None`` when an input cannot be read.

    An unreadable input is left to the build, which reports it properly.
    """
    digests: dict[str, str | None] = {}
    try:
        for role, path in paths.items():
            if path is None:
                digests[role] = None
            elif Path(path).is_dir():
                digests[role] = "folder:" + netcache.folder_digest(path)
            else:
                digests[role] = "file:" + netcache.file_digest(path)
        return netcache.network_key(digests, options)
    except OSError:
        return None


def bundled_layer(net: RoadNetwork, name: str) -> gpd.GeoDataFrame | None:
    """The shipped ``data/layers/NAME.geojson`` for the bundled Gongshu network, else None.

    For a Gongshu network built without its layers attached (``default_network(layers=
    False)``); on any other network Gongshu's layers would lie 100+ km away, so callers
    say which layer is missing instead.
    """
    if not str(net.meta.get("source", "")).startswith("bundled OSM"):
        return None
    from twin.network.layers import read_layer

    return read_layer(data_dir() / "layers" / f"{name}.geojson", layer=name, net=net)


def default_network(
    *, layers: bool = True, progress: Callable[[str], None] | None = None, cache: bool = True
) -> RoadNetwork:
    """The embedded default: the bundled OSM network of Hangzhou cropped to Gongshu district.

    Road data © OpenStreetMap contributors (ODbL 1.0); boundary from Amap district data
    (see ``data/README.md`` for provenance and accuracy).

    Parameters
    ----------
    layers
        Attach the city layers of ``data/layers``.
    progress
        Called with a short description before each step (for progress displays).
    cache
        Use the on-disk cache (see :func:`build_network`): a fraction of a second
        instead of seconds once built.
    """
    root = data_dir()
    return build_network(
        root / DEFAULT_GRAPHML,
        boundary=root / DEFAULT_BOUNDARY,
        name="Gongshu, Hangzhou",
        source_label="bundled OSM car network of central Hangzhou (© OpenStreetMap "
        "contributors, ODbL) cropped to Gongshu district",
        layers=(root / "layers") if layers else None,
        progress=progress,
        cache=cache,
    )


def save_network(net: RoadNetwork, folder: str | Path) -> Path:
    """Write a network to a folder: ``network.graphml`` (osmnx) and ``network.json``."""
    import osmnx as ox

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ox.save_graphml(net.G, folder / "network.graphml")
    meta = dict(net.meta)
    meta["congestion"] = net.congestion.model_dump(mode="json")
    (folder / "network.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False))
    from twin.network.layers import write_layer

    for layer_name, gdf in net.layers.items():
        (folder / "layers").mkdir(exist_ok=True)
        write_layer(gdf, folder / "layers" / f"{layer_name}.geojson", layer=layer_name)
    return folder


def load_network(folder: str | Path, *, cache: bool = True) -> RoadNetwork:
    """Read a network written by :func:`save_network` (no recomputation).

    Parameters
    ----------
    folder
        The folder written by :func:`save_network`.
    cache
        Use the on-disk cache, keyed by the bytes of every file in the folder (see
        :func:`build_network`).
    """
    folder = Path(folder)
    graphml = folder / "network.graphml"
    if not graphml.exists():
        raise InputFileNotFoundError(
            f"{folder}: no saved network here (network.graphml missing). Build one with "
            "`twin network build --out FOLDER`."
        )
    key = None
    if cache and netcache.cache_enabled():
        key = _cache_key({"folder": folder}, {"how": "load_network"})
        if key is not None and (cached := netcache.load_cached(key)) is not None:
            return cached
    G = io.graph_from_graphml(graphml)
    meta: dict[str, Any] = {}
    if (folder / "network.json").exists():
        meta = json.loads((folder / "network.json").read_text())
    congestion = CongestionProfile(**meta.pop("congestion", {}))
    net = RoadNetwork.from_graph(G, congestion=congestion, meta=meta)
    if (folder / "layers").is_dir():
        from twin.network.layers import attach_layers

        attach_layers(net, folder / "layers")
    if key is not None:
        netcache.store_cached(key, net)
    return net
