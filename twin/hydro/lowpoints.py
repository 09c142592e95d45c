"""Low points: their catchments, ponding storage and drainage, derived from the network.

Every flood-prone low point of the ``low_points`` layer (underpasses derived from OSM
tunnel edges, plus user-listed road sections and intersections) gets the parameters of
:class:`twin.hydro.reservoir.CatchmentParams`. No survey of Gongshu's drainage exists in
this project, so the defaults below are **assumptions**, derived from the road network
where it can say something and from textbook values elsewhere; a user list can override
any of them per point (columns of the same names in the layer).

Assumptions
-----------
Contributing catchment
    The road surface within 60 m of the point, one carriageway direction per directed
    edge of width 10 m (arterial), 6 m (collector), 3.5 m (local). An underpass, walled
    in, takes only its ramps and trough (road share 1); a street low point also takes as
    much again of pavements, roofs and verges (road share 0.5).
Imperviousness
    0.95 for underpasses, 0.8 elsewhere.
Overland flow width
    Catchment area / flow length, with the flow length equal to ``radius``.
Slope
    0.04 for underpass ramps, 0.003 (a gentle street grade) elsewhere.
Surface parameters (EPA SWMM 5 reference manual, vol. I, tables A.6 and A.5)
    Manning's n 0.013 (asphalt) and 0.15 (short grass); depression storage 1.5 mm
    impervious and 5 mm pervious; Horton f0 = 75 mm/h, fc = 5 mm/h, decay 4 h⁻¹.
Ponding storage
    A trough of carriageway width ``w`` (twice the one-direction width) with a flat low
    stretch ``L0`` (20 m in an underpass; 30 m at street low points) whose water surface
    spreads up the approaches of slope ``s`` as it deepens: surface area
    ``A(h) = w·(L0 + 2h/s)``, i.e. SWMM FUNCTIONAL storage with ``a = 2w/s``, ``b = 1``,
    ``c = w·L0``.
Drainage
    Inlets and pipes sized for a design rain intensity ``design_rain_rate`` (default
    40 mm/h, of the order of a 1–2-year hourly intensity in the Yangtze delta; set your
    own) by the rational method ``Q = C·i·A`` with ``C`` the imperviousness; underpasses,
    which usually have pump stations, take 1.5 times that. The inlets take water like an
    orifice, ``Q = k·h^0.5``, reaching capacity at 5 cm depth.
Spill depth
    3 m in an underpass trough; 0.5 m elsewhere (water spills over kerbs to neighbours).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from twin._types import FloatArray, IntArray
from twin.errors import LayerError
from twin.hydro.reservoir import CatchmentParams
from twin.network.layers import tunnel_groups
from twin.network.road_network import RoadNetwork

__all__ = ["LOW_POINT_DEFAULTS", "LowPoints", "low_points"]

#: Carriageway width of one direction by road class [m].
LANE_WIDTH = {"arterial": 10.0, "collector": 6.0, "local": 3.5}

#: Defaults by kind of low point (see the module docstring for their sources).
LOW_POINT_DEFAULTS: dict[str, dict[str, float]] = {
    "underpass": {"radius": 60.0, "imperv": 0.95, "slope": 0.04, "flat_length": 20.0,
                  "max_depth": 3.0, "affect_radius": 30.0, "drain_factor": 1.5,
                  "road_share": 1.0},
    "intersection": {"radius": 60.0, "imperv": 0.8, "slope": 0.003, "flat_length": 30.0,
                     "max_depth": 0.5, "affect_radius": 40.0, "drain_factor": 1.0,
                     "road_share": 0.5},
    "road_section": {"radius": 60.0, "imperv": 0.8, "slope": 0.003, "flat_length": 30.0,
                     "max_depth": 0.5, "affect_radius": 40.0, "drain_factor": 1.0,
                     "road_share": 0.5},
}  # fmt: skip
SURFACE = {
    "n_imperv": 0.013,
    "n_perv": 0.15,
    "dstore_imperv": 0.0015,
    "dstore_perv": 0.005,
    "f0": 75.0 / 3.6e6,
    "fc": 5.0 / 3.6e6,
    "decay": 4.0 / 3600.0,
}
#: Depth at which the inlets reach their capacity [m].
CAPACITY_DEPTH = 0.05


@dataclass(frozen=True)
class LowPoints:
    """The low points of a network with their parameters.

    Attributes
    ----------
    ids, names, kinds
        Identity of each point (from the layer).
    lon, lat
        Position [deg].
    node
        Nearest node position.
    edges
        Edge positions whose traffic the point's water affects (the underpass's tunnel
        edges, or the edges within ``affect_radius`` of the point).
    params
        Catchment, storage and drainage parameters (one entry per point).
    """

    ids: npt.NDArray[np.str_]
    names: npt.NDArray[np.str_]
    kinds: npt.NDArray[np.str_]
    lon: FloatArray
    lat: FloatArray
    node: IntArray
    edges: tuple[IntArray, ...]
    params: CatchmentParams

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def _tunnel_edges_of(net: RoadNetwork, groups: list[IntArray], near: IntArray) -> IntArray:
    """The whole underpass (tunnel group) that the nearby edges belong to."""
    tunnel_near = near[net.tunnel[near]]
    if tunnel_near.size == 0:
        return near
    for group in groups:
        if np.intersect1d(group, tunnel_near).size:
            return np.asarray(group, dtype=np.int64)
    return tunnel_near


def low_points(
    net: RoadNetwork,
    *,
    design_rain_rate: float = 40.0,
    layer: Any | None = None,
) -> LowPoints:
    """Low points of ``net`` (its ``low_points`` layer) with derived parameters.

    Parameters
    ----------
    net
        The network, with a ``low_points`` layer (or give ``layer``).
    design_rain_rate
        Rain intensity the drainage is sized for [mm/h].
    layer
        A low-points GeoDataFrame to use instead of the network's layer.

    Raises
    ------
    LayerError
        If there is no low-points layer or a point has an unknown kind.
    """
    gdf = layer if layer is not None else net.layers.get("low_points")
    if gdf is None or len(gdf) == 0:
        name = net.meta.get("name") or "the network"
        raise LayerError(
            f"{name} has no low points (no tunnels or underpasses found in OSM, and no "
            "low_points layer): the waterlogging model needs them. Put them in "
            "layers/low_points.geojson in the network's folder (schema in "
            "data/layers/README.md), or run without rain (rain: {kind: none})"
        )
    kinds = gdf["kind"].astype(str).to_numpy()
    unknown = sorted(set(kinds) - set(LOW_POINT_DEFAULTS))
    if unknown:
        raise LayerError(f"low points of unknown kind {unknown}; use {sorted(LOW_POINT_DEFAULTS)}")
    pts = gdf.geometry.representative_point()
    lon, lat = pts.x.to_numpy(dtype=float), pts.y.to_numpy(dtype=float)
    node = net.node_position(gdf["node"].to_numpy(dtype=np.int64))
    n = len(gdf)
    keys = LOW_POINT_DEFAULTS["underpass"]
    d = {k: np.array([LOW_POINT_DEFAULTS[kind][k] for kind in kinds]) for k in keys}
    radius = d["radius"]
    width_by_edge = np.array([LANE_WIDTH.get(c, 3.5) for c in net.road_class])
    area = np.empty(n)
    carriageway = np.empty(n)
    affected: list[IntArray] = [np.empty(0, np.int64)] * n
    # Catchment road area within `radius`; affected edges within `affect_radius`.
    for key, out in (("radius", "area"), ("affect_radius", "edges")):
        for r in np.unique(d[key]):
            sel = np.flatnonzero(d[key] == r)
            within = net.edges_within(lon[sel], lat[sel], float(r))
            for j, near in zip(sel.tolist(), within, strict=True):
                if out == "area":
                    road = float(np.sum(net.length[near] * width_by_edge[near]))
                    area[j] = road / d["road_share"][j]
                else:
                    affected[j] = near
    nearest = net.nearest_edges(lon, lat, max_distance=250.0).edge
    groups = tunnel_groups(net) if (kinds == "underpass").any() else []
    for i in range(n):
        edges = affected[i]
        if kinds[i] == "underpass":
            edges = _tunnel_edges_of(net, groups, edges)
        if edges.size == 0:
            edges = nearest[i : i + 1]
        affected[i] = np.sort(edges)
        carriageway[i] = 2.0 * float(np.max(width_by_edge[edges]))
    area = np.maximum(area, 500.0)
    imperv = d["imperv"]
    cap = imperv * design_rain_rate * d["drain_factor"] / 3.6e6 * area
    params = CatchmentParams(
        area=area,
        imperv=imperv,
        width=area / radius,
        slope=d["slope"],
        n_imperv=np.full(n, SURFACE["n_imperv"]),
        n_perv=np.full(n, SURFACE["n_perv"]),
        dstore_imperv=np.full(n, SURFACE["dstore_imperv"]),
        dstore_perv=np.full(n, SURFACE["dstore_perv"]),
        f0=np.full(n, SURFACE["f0"]),
        fc=np.full(n, SURFACE["fc"]),
        decay=np.full(n, SURFACE["decay"]),
        pond_a=2.0 * carriageway / d["slope"],
        pond_b=np.ones(n),
        pond_c=carriageway * d["flat_length"],
        drain_capacity=cap,
        drain_coeff=cap / np.sqrt(CAPACITY_DEPTH),
        drain_exp=np.full(n, 0.5),
        max_depth=d["max_depth"],
    )
    return LowPoints(
        ids=gdf["id"].astype(str).to_numpy(),
        names=gdf["name"].astype(str).to_numpy(),
        kinds=kinds,
        lon=lon,
        lat=lat,
        node=node.astype(np.int64),
        edges=tuple(affected),
        params=params,
    )
