"""A :class:`RoadNetwork` as named numpy arrays and back, exactly (the cache's format).

:func:`encode_network` turns a network into a dict of numpy arrays that
:func:`numpy.savez` can write and :func:`numpy.load` can read with
``allow_pickle=False``; :func:`decode_network` rebuilds a network equal to the original:
every array bit for bit, the same node and edge order and ids, the same meta, congestion
profile and city layers, and a graph ``G`` with the same nodes, edges, keys and
attributes (rebuilt only when ``G`` is first read).

What is stored
--------------
- The network's arrays as they are (numeric and fixed-width unicode arrays).
- Edge geometries as a ragged array of coordinates (all LineStrings) or concatenated
  WKB (anything else); both exact.
- ``G``'s graph, node and edge attributes column by column: a column whose values all
  have one plain type (``float``, ``int``, ``bool``, or one numpy scalar type) as an
  array; strings, lists and mixed values as JSON; geometries as WKB. Which attributes
  each node or edge has, and in which order, is kept as a small table of key tuples.
- Each city layer (GeoDataFrame) column by column, by dtype: numpy columns as arrays,
  nullable integer/float/boolean columns as values plus mask, object and string columns
  as JSON, geometries as WKB; the CRS, the column order and the geometry column's name.
- Meta and the congestion profile as JSON.

Simplification, stated: anything outside these types (a tuple or a numpy array as an
attribute value, a ``datetime`` layer column, a non-default index, ...) raises
:class:`UnsupportedContentError`; the cache then stores nothing and the network is
built every time, never stored inexactly. JSON keeps ``float`` values exactly (shortest
round-trip repr, ``NaN``/``Infinity`` included) and tells ``bool`` from ``int``, but
would turn a tuple into a list, which is why tuples are refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from twin.network.congestion import CongestionProfile
from twin.network.road_network import RoadNetwork

if TYPE_CHECKING:  # imported where a graph is built or stored: a cached load needs none
    import networkx as nx

__all__ = [
    "ARRAY_FIELDS",
    "GraphBuilder",
    "UnsupportedContentError",
    "decode_network",
    "encode_network",
]

#: The RoadNetwork fields stored as arrays, as they are.
ARRAY_FIELDS = (
    "node_ids", "node_lon", "node_lat", "edge_u", "edge_v", "edge_key", "length",
    "speed_kph", "free_flow_time", "road_class", "tunnel", "name",
)  # fmt: skip

Arrays = dict[str, npt.NDArray[Any]]

_JSON_SCALARS = (type(None), bool, int, float, str)


class UnsupportedContentError(ValueError):
    """A network holds a value the cache format cannot store exactly."""


# ---------------------------------------------------------------------------- helpers


def _json_exact(value: Any) -> bool:
    """Whether JSON gives ``value`` back with the same types and values."""
    if type(value) in _JSON_SCALARS:
        return True
    if type(value) is list:
        return all(_json_exact(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _json_exact(v) for k, v in value.items())
    return False


def _require_json(value: Any, what: str) -> Any:
    if not _json_exact(value):
        raise UnsupportedContentError(f"{what} is not plain JSON data")
    return value


def _text(value: Any) -> npt.NDArray[np.uint8]:
    """JSON text as a uint8 array."""
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return np.frombuffer(raw, dtype=np.uint8)


def _read_text(array: npt.NDArray[Any]) -> Any:
    """The JSON value stored by :func:`_text`."""
    return json.loads(array.tobytes().decode("utf-8"))


def _wkb_encode(geoms: Sequence[Any], out: Arrays, name: str) -> None:
    """Geometries (or ``None``) as arrays under ``name``.

    All 2D LineStrings (the usual edge geometries) are stored as a ragged array of
    coordinates and offsets (fast to read); anything else as concatenated WKB with
    lengths (-1 for ``None``). Both keep every coordinate bit for bit.
    """
    array = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(array)
    flat = array.size and np.all(types == int(shapely.GeometryType.LINESTRING))
    if flat and not np.any(shapely.has_z(array)):
        kind, coords, offsets = shapely.to_ragged_array(array)
        out[f"{name}.coords"] = coords
        out[f"{name}.offsets"] = offsets[0]
        out[f"{name}.type"] = np.array([int(kind)], dtype=np.int64)
        return
    blobs = shapely.to_wkb(array)
    sizes = np.array([-1 if b is None else len(b) for b in blobs], dtype=np.int64)
    raw = b"".join(b for b in blobs if b is not None)
    out[f"{name}.wkb"] = np.frombuffer(raw, dtype=np.uint8)
    out[f"{name}.len"] = sizes


def _wkb_decode(arrays: Arrays, name: str) -> npt.NDArray[np.object_]:
    geoms: npt.NDArray[np.object_]
    if f"{name}.coords" in arrays:
        kind = shapely.GeometryType(int(arrays[f"{name}.type"][0]))
        coords = arrays[f"{name}.coords"]
        geoms = shapely.from_ragged_array(kind, coords, (arrays[f"{name}.offsets"],))
        return geoms
    raw = arrays[f"{name}.wkb"].tobytes()
    sizes = arrays[f"{name}.len"]
    ends = np.cumsum(np.maximum(sizes, 0)).tolist()
    blobs = np.empty(sizes.size, dtype=object)
    start = 0
    for i, (size, end) in enumerate(zip(sizes.tolist(), ends, strict=True)):
        blobs[i] = None if size < 0 else raw[start:end]
        start = end
    geoms = shapely.from_wkb(blobs)
    return geoms


# ---------------------------------------------------------------------------- columns


def _encode_column(values: list[Any], out: Arrays, name: str, label: str) -> dict[str, Any]:
    """One attribute column (values of the nodes or edges that have it)."""
    kinds = {type(v) for v in values}
    if len(kinds) == 1:
        kind = kinds.pop()
        if kind in (float, bool) or (kind is int and all(-(2**63) <= v < 2**63 for v in values)):
            out[name] = np.array(
                values, dtype={float: np.float64, bool: np.bool_}.get(kind, np.int64)
            )
            return {"kind": "python", "array": name}
        if issubclass(kind, np.generic) and np.dtype(kind).kind in "biuf":
            out[name] = np.array(values, dtype=kind)
            return {"kind": "numpy", "array": name}
    if all(isinstance(v, BaseGeometry) for v in values):
        _wkb_encode(values, out, name)
        return {"kind": "wkb", "array": name}
    return {"kind": "json", "values": _require_json(values, label)}


def _decode_column(spec: dict[str, Any], arrays: Arrays) -> list[Any]:
    kind = spec["kind"]
    if kind == "python":
        values: list[Any] = arrays[spec["array"]].tolist()
        return values
    if kind == "numpy":
        return list(arrays[spec["array"]])
    if kind == "wkb":
        return list(_wkb_decode(arrays, spec["array"]))
    if kind == "json":
        return list(spec["values"])
    raise ValueError(f"unknown column kind {kind!r}")


def _encode_attrs(
    dicts: list[dict[str, Any]], out: Arrays, prefix: str, shared: dict[str, list[Any]]
) -> dict[str, Any]:
    """Attribute dicts (one per node or edge) as key tuples and columns.

    ``shared`` maps an attribute to the objects the decoder will already hold for every
    row (the edge geometries): a column whose values *are* those objects is stored as a
    reference, not twice.
    """
    schemas: dict[tuple[str, ...], int] = {}
    schema_of = np.empty(len(dicts), dtype=np.int32)
    columns: dict[str, list[Any]] = {}
    rows: dict[str, list[int]] = {}
    for i, d in enumerate(dicts):
        keys = tuple(d)
        schema_of[i] = schemas.setdefault(keys, len(schemas))
        for k, v in d.items():
            columns.setdefault(k, []).append(v)
            rows.setdefault(k, []).append(i)
    for key in columns:
        if type(key) is not str:
            raise UnsupportedContentError(f"attribute name {key!r} is not a string")
    specs: dict[str, Any] = {}
    for j, (key, values) in enumerate(columns.items()):
        ref = shared.get(key)
        if ref is not None and all(v is ref[i] for v, i in zip(values, rows[key], strict=True)):
            specs[key] = {"kind": "shared"}
        else:
            label = f"attribute {key!r} of the graph's {prefix.rpartition('.')[2]}"
            specs[key] = _encode_column(values, out, f"{prefix}.{j}", label)
    out[f"{prefix}.schema"] = schema_of
    return {"schemas": [list(k) for k in schemas], "columns": specs}


def _decode_attrs(
    spec: dict[str, Any], arrays: Arrays, prefix: str, shared: dict[str, list[Any]]
) -> list[dict[str, Any]]:
    schemas = [tuple(k) for k in spec["schemas"]]
    schema_of = arrays[f"{prefix}.schema"].tolist()
    columns: dict[str, Any] = {}
    for key, col in spec["columns"].items():
        if col["kind"] == "shared":
            have = [i for i, s in enumerate(schema_of) if key in schemas[s]]
            columns[key] = iter([shared[key][i] for i in have])
        else:
            columns[key] = iter(_decode_column(col, arrays))
    return [{k: next(columns[k]) for k in schemas[s]} for s in schema_of]


# ---------------------------------------------------------------------------- graph


def _encode_graph(net: RoadNetwork, out: Arrays, geoms: list[Any]) -> dict[str, Any]:
    import networkx as nx

    G = net.G
    if type(G) is not nx.MultiDiGraph:
        raise UnsupportedContentError(f"the graph is a {type(G).__name__}, not a MultiDiGraph")
    order = list(G.nodes)
    if not all(type(n) is int for n in order):
        raise UnsupportedContentError("a node id of the graph is not an int")
    rows = list(G.edges(keys=True, data=True))
    u = np.array([r[0] for r in rows], dtype=np.int64)
    v = np.array([r[1] for r in rows], dtype=np.int64)
    k = np.array([r[2] for r in rows], dtype=np.int64)
    same = (
        len(rows) == net.n_edges
        and np.array_equal(u, net.node_ids[net.edge_u])
        and np.array_equal(v, net.node_ids[net.edge_v])
        and np.array_equal(k, net.edge_key)
        and all(type(r[2]) is int for r in rows)
    )
    if not same:
        raise UnsupportedContentError("the graph's edges differ from the network's arrays")
    out["graph.node_order"] = np.array(order, dtype=np.int64)
    return {
        "graph": _require_json(dict(G.graph), "the graph's attributes"),
        "nodes": _encode_attrs([G.nodes[n] for n in order], out, "graph.nodes", {}),
        "edges": _encode_attrs([r[3] for r in rows], out, "graph.edges", {"geometry": geoms}),
    }


class GraphBuilder:
    """Builds a cached network's graph from the stored arrays when called.

    A plain class rather than a closure, so a cached network pickles like a built one.

    Parameters
    ----------
    arrays
        The entry's ``graph.*`` arrays (the graph's description as JSON in
        ``graph.spec``, parsed only when called).
    fields
        The network's ``node_ids``, ``edge_u``, ``edge_v``, ``edge_key`` arrays.
    geoms
        The edge geometries, shared with the network.
    """

    def __init__(self, arrays: Arrays, fields: Arrays, geoms: npt.NDArray[np.object_]) -> None:
        self.arrays = arrays
        self.fields = fields
        self.geoms = geoms

    def __call__(self) -> nx.MultiDiGraph:
        """The graph: nodes in their stored order, edges in the network's order."""
        import networkx as nx

        spec, arrays, net = _read_text(self.arrays["graph.spec"]), self.arrays, self.fields
        geoms = list(self.geoms)
        G = nx.MultiDiGraph()
        G.graph.update(spec["graph"])
        order = arrays["graph.node_order"].tolist()
        nodes = _decode_attrs(spec["nodes"], arrays, "graph.nodes", {})
        G.add_nodes_from(zip(order, nodes, strict=True))
        ids = net["node_ids"]
        u = ids[net["edge_u"]].tolist()
        v = ids[net["edge_v"]].tolist()
        k = net["edge_key"].tolist()
        data = _decode_attrs(spec["edges"], arrays, "graph.edges", {"geometry": geoms})
        G.add_edges_from(zip(u, v, k, data, strict=True))
        return G


# ---------------------------------------------------------------------------- layers


def _crs_text(crs: Any) -> str | None:
    if crs is None:
        return None
    from pyproj import CRS

    srs = getattr(crs, "srs", "")
    if srs and CRS.from_user_input(srs) == crs:
        return str(srs)
    return str(crs.to_wkt())


def _encode_frame(gdf: Any, out: Arrays, prefix: str) -> dict[str, Any]:
    import geopandas as gpd
    import pandas as pd

    if type(gdf) is not gpd.GeoDataFrame:
        raise UnsupportedContentError(f"layer {prefix!r} is a {type(gdf).__name__}")
    idx = gdf.index
    if not (
        isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1 and idx.name is None
    ):
        raise UnsupportedContentError(f"layer {prefix!r} has a non-default index")
    masked = (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)
    columns: list[dict[str, Any]] = []
    for j, col in enumerate(gdf.columns):
        if type(col) is not str:
            raise UnsupportedContentError(f"layer {prefix!r}: column name {col!r} is not text")
        s, name, dtype = gdf[col], f"{prefix}.{j}", gdf[col].dtype
        spec: dict[str, Any] = {"name": col, "dtype": str(dtype)}
        if isinstance(dtype, gpd.array.GeometryDtype):
            _wkb_encode(list(s.array), out, name)
            spec.update(kind="geometry", crs=_crs_text(s.crs))
        elif isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            out[name] = s.to_numpy()
            spec.update(kind="array")
        elif isinstance(s.array, masked):
            arr = s.array
            out[name] = arr.to_numpy(dtype=dtype.numpy_dtype, na_value=dtype.numpy_dtype.type(0))
            out[f"{name}.mask"] = np.asarray(arr.isna(), dtype=np.bool_)
            spec.update(kind="masked", array_type=type(arr).__name__)
        elif isinstance(dtype, pd.StringDtype):
            na = s.isna().to_numpy()
            values = [None if m else str(x) for x, m in zip(s.tolist(), na, strict=True)]
            spec.update(kind="string", storage=dtype.storage, values=values)
            spec["na"] = "NA" if dtype.na_value is pd.NA else "nan"
        elif isinstance(dtype, np.dtype) and dtype.kind == "O":
            spec.update(kind="object", values=_require_json(s.tolist(), f"layer column {col!r}"))
        else:
            raise UnsupportedContentError(f"layer {prefix!r}: column {col!r} has dtype {dtype}")
        columns.append(spec)
    try:
        active: str | None = gdf.geometry.name
    except AttributeError:  # a GeoDataFrame without an active geometry column
        active = None
    return {
        "n": len(gdf),
        "columns": columns,
        "geometry": active,
        "attrs": _require_json(dict(gdf.attrs), f"layer {prefix!r} attrs"),
    }


def _decode_frame(spec: dict[str, Any], arrays: Arrays, prefix: str) -> Any:
    import geopandas as gpd
    import pandas as pd

    cols: dict[str, Any] = {}
    index = pd.RangeIndex(spec["n"])
    for j, col in enumerate(spec["columns"]):
        name, kind = f"{prefix}.{j}", col["kind"]
        if kind == "geometry":
            values: Any = gpd.GeoSeries(_wkb_decode(arrays, name), index=index, crs=col["crs"])
        elif kind == "array":
            values = arrays[name]
        elif kind == "masked":
            cls = getattr(pd.arrays, col["array_type"])
            values = cls(arrays[name], arrays[f"{name}.mask"])
        elif kind == "string":
            na_value = pd.NA if col["na"] == "NA" else np.nan
            dtype = pd.StringDtype(storage=col["storage"], na_value=na_value)
            values = pd.array(col["values"], dtype=dtype)
        elif kind == "object":
            values = pd.Series(col["values"], dtype=object, index=index)
        else:
            raise ValueError(f"unknown layer column kind {kind!r}")
        cols[col["name"]] = values
    frame = pd.DataFrame(cols, index=index)
    gdf = gpd.GeoDataFrame(frame, geometry=spec["geometry"])
    gdf.attrs.update(spec["attrs"])
    return gdf


# ---------------------------------------------------------------------------- network


def encode_network(net: RoadNetwork) -> tuple[dict[str, Any], Arrays]:
    """A network as a JSON-ready header and named arrays (see the module docstring).

    Parameters
    ----------
    net
        The network. Its graph is read (and built, for a cached network).

    Returns
    -------
    header, arrays
        The header (meta, congestion, layer and graph descriptions) and the arrays;
        :func:`decode_network` reverses it.

    Raises
    ------
    UnsupportedContentError
        If the network holds a value that cannot be stored exactly.
    """
    arrays: Arrays = {f"net.{f}": getattr(net, f) for f in ARRAY_FIELDS}
    geoms = list(net.edge_geometries())
    _wkb_encode(geoms, arrays, "net.edge_geometry")
    graph = _encode_graph(net, arrays, geoms)
    arrays["graph.spec"] = _text(graph)
    layers = {
        name: _encode_frame(gdf, arrays, f"layer.{i}")
        for i, (name, gdf) in enumerate(net.layers.items())
    }
    header = {
        "meta": _require_json(net.meta, "the network's meta"),
        "congestion": net.congestion.model_dump(mode="json"),
        "layers": layers,
    }
    return header, arrays


def decode_network(header: dict[str, Any], arrays: Arrays) -> RoadNetwork:
    """The network that :func:`encode_network` stored.

    Parameters
    ----------
    header, arrays
        As returned by :func:`encode_network` (the arrays as read back by
        :func:`numpy.load`).

    Returns
    -------
    RoadNetwork
        Equal to the network encoded; its graph is built when ``G`` is first read.
    """
    fields: dict[str, Any] = {f: arrays[f"net.{f}"] for f in ARRAY_FIELDS}
    geoms = _wkb_decode(arrays, "net.edge_geometry")
    n_edges = fields["edge_u"].shape[0]
    if geoms.shape != (n_edges,) or any(fields[f].shape[0] != n_edges for f in ARRAY_FIELDS[3:]):
        raise ValueError("edge arrays of different lengths")
    graph = GraphBuilder(
        {k: v for k, v in arrays.items() if k.startswith("graph.")},
        {f: fields[f] for f in ("node_ids", "edge_u", "edge_v", "edge_key")},
        geoms,
    )
    net = RoadNetwork(
        graph=graph,
        **fields,
        congestion=CongestionProfile(**header["congestion"]),
        meta=header["meta"],
        edge_geometry=geoms,
    )
    for i, (name, spec) in enumerate(header["layers"].items()):
        net.layers[name] = _decode_frame(spec, arrays, f"layer.{i}")
    return net
