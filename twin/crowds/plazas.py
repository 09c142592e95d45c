"""Plazas as zones: usable area, mean walk to an exit, and exits with widths.

The plaza layer (``data/layers/plazas.geojson``) holds outlines, never exits. Unless a
feature says otherwise, exits are derived from the outline by a stated rule
(:class:`~twin.crowds.config.PlazaGeometryConfig`, all ASSUMPTIONS):

- usable area = ``area_m2 × usable_fraction`` (planters, fountains, kiosks and street
  furniture take the rest);
- each side of the outline at least ``min_side_m`` long gets
  ``max(1, round(length / exit_spacing_m))`` exits of ``exit_width_m``, evenly spaced
  along it (a plaza with no side that long gets one exit on its longest side);
- the mean walk to an exit is ``walk_distance_factor × √(usable area)``.

Optional feature properties override the rule: ``exit_widths_m`` (a list of widths [m];
the exits are spaced evenly along the outline), ``exits`` (a number of exits of the
default width; must match ``exit_widths_m`` when both are given), ``usable_area_m2``
[m²] and ``walk_distance_m`` [m].

Side lengths are measured in a local equirectangular projection about the outline's
centroid (error far below the outlines' ±200 m accuracy at plaza scale).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from twin._types import FloatArray, IntArray, StrArray
from twin.crowds.config import PlazaGeometryConfig
from twin.errors import LayerError
from twin.network.layer_schema import LAYER_SCHEMAS
from twin.network.layers import read_layer
from twin.network.road_network import RoadNetwork

__all__ = ["EARTH_RADIUS_M", "Plazas", "default_exits", "load_plazas", "make_plazas"]

logger = logging.getLogger(__name__)

#: Mean Earth radius [m] (IUGG), for the local projection of outlines.
EARTH_RADIUS_M = 6_371_008.8

_PLAZA_FIELDS = ("id", "name", "kind", "lon", "lat", "node", "area", "usable_area", "walk_distance")
_EXIT_FIELDS = ("exit_id", "exit_plaza", "exit_width", "exit_lon", "exit_lat",
                "exit_open_from", "exit_open_until")  # fmt: skip


def _frozen(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    a = np.array(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Plazas:
    """Plazas and their exits as flat arrays (one entry per plaza, one per exit).

    Exits are grouped by plaza (``exit_plaza`` non-decreasing); :attr:`exit_ptr` gives
    each plaza's slice. All arrays are read-only.

    Attributes
    ----------
    id, name, kind
        Plaza id, name and kind (``station_plaza`` or ``square``).
    lon, lat
        Centroid of the outline [deg].
    node
        Position of the nearest network node (-1 when no network was given).
    area
        Area of the outline, the layer's ``area_m2`` [m²].
    usable_area
        Area open to walking and standing, used for density [m²].
    walk_distance
        Mean walk to an exit [m].
    exit_id
        Exit ids, ``<plaza id>/exit-<k>`` (derived) or as given.
    exit_plaza
        Plaza (position) of each exit.
    exit_width
        Effective exit width [m].
    exit_lon, exit_lat
        Exit position [deg].
    exit_open_from, exit_open_until
        When each exit is open, seconds on the run clock (``-inf`` / ``inf``: always).
    geometry
        Outline of each plaza (WGS84 shapely polygons; ``None`` when made from arrays).
    """

    id: StrArray
    name: StrArray
    kind: StrArray
    lon: FloatArray
    lat: FloatArray
    node: IntArray
    area: FloatArray
    usable_area: FloatArray
    walk_distance: FloatArray
    exit_id: StrArray
    exit_plaza: IntArray
    exit_width: FloatArray
    exit_lon: FloatArray
    exit_lat: FloatArray
    exit_open_from: FloatArray
    exit_open_until: FloatArray
    geometry: npt.NDArray[np.object_]

    def __post_init__(self) -> None:
        casts = {"node": np.int64, "exit_plaza": np.int64, "id": str, "name": str, "kind": str,
                 "exit_id": str, "geometry": object}  # fmt: skip
        for f in fields(self):
            arr: npt.NDArray[Any] = np.asarray(
                getattr(self, f.name), dtype=casts.get(f.name, np.float64)
            )
            if arr.ndim != 1:
                raise ValueError(f"Plazas.{f.name}: expected a 1-D array, got shape {arr.shape}")
            object.__setattr__(self, f.name, _frozen(arr))
        n, m = self.id.shape[0], self.exit_id.shape[0]
        for name in (*_PLAZA_FIELDS, "geometry"):
            if getattr(self, name).shape[0] != n:
                raise ValueError(
                    f"Plazas.{name}: {getattr(self, name).shape[0]} values for {n} plazas"
                )
        for name in _EXIT_FIELDS:
            if getattr(self, name).shape[0] != m:
                raise ValueError(
                    f"Plazas.{name}: {getattr(self, name).shape[0]} values for {m} exits"
                )
        if len(set(self.id.tolist())) != n:
            raise ValueError("Plazas.id: plaza ids must be unique")
        if len(set(self.exit_id.tolist())) != m:
            raise ValueError("Plazas.exit_id: exit ids must be unique")
        for name in ("usable_area", "walk_distance", "exit_width"):
            arr = getattr(self, name)
            bad = ~(np.isfinite(arr) & (arr > 0.0))
            if bad.any():
                j = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"Plazas.{name}: values must be finite and > 0; entry {j} is {arr[j]!r}"
                )
        if m and (np.any(np.diff(self.exit_plaza) < 0) or self.exit_plaza.min() < 0
                  or self.exit_plaza.max() >= n):  # fmt: skip
            raise ValueError("Plazas.exit_plaza: exits must be grouped by plaza, in [0, n_plazas)")
        missing = np.flatnonzero(np.bincount(self.exit_plaza, minlength=n) == 0)
        if missing.size:
            raise ValueError(
                f"Plazas: plaza {self.id[missing[0]]!r} has no exit; every plaza needs at least one"
            )
        if np.any(self.exit_open_until <= self.exit_open_from):
            raise ValueError("Plazas.exit_open_until: must be later than exit_open_from")

    # ------------------------------------------------------------------ sizes and lookups
    @property
    def n_plazas(self) -> int:
        """Number of plazas."""
        return int(self.id.shape[0])

    @property
    def n_exits(self) -> int:
        """Number of exits."""
        return int(self.exit_id.shape[0])

    @property
    def exit_ptr(self) -> IntArray:
        """Exits of plaza ``p`` are ``exit_ptr[p]:exit_ptr[p + 1]``, shape ``(n_plazas + 1,)``."""
        ptr = np.zeros(self.n_plazas + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.exit_plaza, minlength=self.n_plazas), out=ptr[1:])
        return ptr

    @property
    def total_exit_width(self) -> FloatArray:
        """Summed width of each plaza's exits, open or not [m]."""
        width = np.bincount(self.exit_plaza, weights=self.exit_width, minlength=self.n_plazas)
        return np.asarray(width, dtype=np.float64)

    def index(self, plaza_id: str) -> int:
        """Position of a plaza id; :class:`KeyError` naming the known ids if absent."""
        hits = np.flatnonzero(self.id == plaza_id)
        if hits.size == 0:
            known = ", ".join(self.id[:10].tolist()) + (", ..." if self.n_plazas > 10 else "")
            raise KeyError(f"no plaza {plaza_id!r}; known: {known}")
        return int(hits[0])

    def select(self, selector: str) -> IntArray:
        """Positions of the plazas a selector names: an id, ``"kind:<kind>"`` or ``"*"``."""
        if selector == "*":
            return np.arange(self.n_plazas, dtype=np.int64)
        if selector.startswith("kind:"):
            return np.flatnonzero(self.kind == selector[5:]).astype(np.int64)
        return np.array([self.index(selector)], dtype=np.int64)

    def exits_open(self, t: float) -> npt.NDArray[np.bool_]:
        """Whether each exit is open at time ``t`` on the run clock [s]."""
        return np.asarray((self.exit_open_from <= t) & (t < self.exit_open_until))

    # ------------------------------------------------------------------ derived sets
    def with_exits(
        self,
        plaza: int,
        widths: Sequence[float],
        *,
        open_from: float = -math.inf,
        open_until: float = math.inf,
        ids: Sequence[str] | None = None,
    ) -> Plazas:
        """A copy with extra exits at one plaza (at its centroid), open in a window.

        Exits whose ids are already present are left as they are, so adding the same
        exits twice changes nothing.

        Parameters
        ----------
        plaza
            Position of the plaza.
        widths
            Effective widths of the new exits [m].
        open_from, open_until
            When they are open [s on the run clock].
        ids
            Their ids; ``<plaza id>/extra-<k>`` by default.
        """
        w = np.asarray(widths, dtype=np.float64)
        new_ids = (
            [f"{self.id[plaza]}/extra-{k + 1}" for k in range(w.size)]
            if ids is None
            else [str(i) for i in ids]
        )
        if len(new_ids) != w.size:
            raise ValueError(f"{w.size} widths but {len(new_ids)} ids")
        keep = np.array([i not in set(self.exit_id.tolist()) for i in new_ids], dtype=bool)
        if not keep.any():
            return self
        k = int(keep.sum())
        cols = {
            "exit_id": np.r_[self.exit_id, np.asarray(new_ids)[keep]],
            "exit_plaza": np.r_[self.exit_plaza, np.full(k, plaza)],
            "exit_width": np.r_[self.exit_width, w[keep]],
            "exit_lon": np.r_[self.exit_lon, np.full(k, self.lon[plaza])],
            "exit_lat": np.r_[self.exit_lat, np.full(k, self.lat[plaza])],
            "exit_open_from": np.r_[self.exit_open_from, np.full(k, float(open_from))],
            "exit_open_until": np.r_[self.exit_open_until, np.full(k, float(open_until))],
        }
        order = np.argsort(cols["exit_plaza"], kind="stable")
        return replace(self, **{name: arr[order] for name, arr in cols.items()})

    def tile(self, copies: int) -> Plazas:
        """``copies`` copies of every plaza (ids suffixed ``#k``), for scaling runs."""
        if copies < 1:
            raise ValueError(f"copies must be >= 1, got {copies}")
        n, m = self.n_plazas, self.n_exits
        rep = np.repeat(np.arange(copies), n)
        xrep = np.repeat(np.arange(copies), m)

        def suffix(a: StrArray, r: IntArray) -> StrArray:
            return np.char.add(np.char.add(np.tile(a, copies), "#"), r.astype(str))

        cols: dict[str, Any] = {f: np.tile(getattr(self, f), copies) for f in _PLAZA_FIELDS}
        cols.update({f: np.tile(getattr(self, f), copies) for f in _EXIT_FIELDS})
        cols["geometry"] = np.tile(self.geometry, copies)
        cols["id"] = suffix(self.id, rep) if copies > 1 else self.id
        cols["exit_id"] = suffix(self.exit_id, xrep) if copies > 1 else self.exit_id
        cols["exit_plaza"] = np.tile(self.exit_plaza, copies) + xrep * n
        return Plazas(**cols)

    def exit_table(self) -> gpd.GeoDataFrame:
        """The exits as a GeoDataFrame of points (WGS84), with their plaza and width."""
        return gpd.GeoDataFrame(
            {
                "exit": self.exit_id,
                "plaza": self.id[self.exit_plaza],
                "width_m": self.exit_width,
                "open_from_s": self.exit_open_from,
                "open_until_s": self.exit_open_until,
            },
            geometry=shapely.points(self.exit_lon, self.exit_lat),
            crs="EPSG:4326",
        )


def make_plazas(
    usable_area: npt.ArrayLike,
    exit_widths: Sequence[Sequence[float]],
    *,
    ids: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    walk_distance: npt.ArrayLike | None = None,
    walk_distance_factor: float = 0.5,
) -> Plazas:
    """Plazas from bare numbers (tests, what-ifs without a layer).

    Parameters
    ----------
    usable_area
        Usable area of each plaza [m²].
    exit_widths
        Widths of each plaza's exits [m], one list per plaza.
    ids, kinds
        Plaza ids (``plaza-<k>`` by default) and kinds (``square`` by default).
    walk_distance
        Mean walk to an exit [m]; ``walk_distance_factor × √(usable_area)`` by default.
    walk_distance_factor
        See above [-].

    Returns
    -------
    Plazas
        With no position (lon/lat 0, node -1) and exits always open.
    """
    area = np.atleast_1d(np.asarray(usable_area, dtype=np.float64))
    n = area.shape[0]
    if len(exit_widths) != n:
        raise ValueError(f"{n} plazas but exit widths for {len(exit_widths)}")
    pid = [f"plaza-{k + 1}" for k in range(n)] if ids is None else [str(i) for i in ids]
    walk = (
        walk_distance_factor * np.sqrt(area)
        if walk_distance is None
        else np.broadcast_to(np.asarray(walk_distance, dtype=np.float64), (n,))
    )
    widths = [np.atleast_1d(np.asarray(w, dtype=np.float64)) for w in exit_widths]
    counts = np.array([w.size for w in widths], dtype=np.int64)
    plaza_of = np.repeat(np.arange(n), counts)
    exit_ids = [f"{pid[p]}/exit-{k + 1}" for p in range(n) for k in range(counts[p])]
    m = int(counts.sum())
    return Plazas(
        id=np.asarray(pid), name=np.asarray(pid),
        kind=np.asarray(["square"] * n if kinds is None else list(kinds)),
        lon=np.zeros(n), lat=np.zeros(n), node=np.full(n, -1), area=area, usable_area=area,
        walk_distance=np.asarray(walk, dtype=np.float64),
        exit_id=np.asarray(exit_ids, dtype=str), exit_plaza=plaza_of,
        exit_width=np.concatenate(widths) if m else np.zeros(0),
        exit_lon=np.zeros(m), exit_lat=np.zeros(m),
        exit_open_from=np.full(m, -math.inf), exit_open_until=np.full(m, math.inf),
        geometry=np.full(n, None, dtype=object),
    )  # fmt: skip


# ---------------------------------------------------------------------------- from a layer


def _local_xy(lon: FloatArray, lat: FloatArray, lon0: float, lat0: float) -> FloatArray:
    """Equirectangular projection about ``(lon0, lat0)`` [m]."""
    k = math.pi / 180.0 * EARTH_RADIUS_M
    return np.column_stack([(lon - lon0) * k * math.cos(math.radians(lat0)), (lat - lat0) * k])


def default_exits(
    polygon: BaseGeometry, geometry: PlazaGeometryConfig | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Exits of an outline by the default rule (see the module docstring).

    Parameters
    ----------
    polygon
        The plaza outline, WGS84.
    geometry
        The rule's parameters; the defaults when ``None``.

    Returns
    -------
    widths : ndarray
        Exit widths [m].
    lon, lat : ndarray
        Exit positions [deg], on the outline.
    """
    g = geometry or PlazaGeometryConfig()
    ring = np.asarray(shapely.get_coordinates(shapely.get_exterior_ring(polygon)), dtype=np.float64)
    c = polygon.centroid
    xy = _local_xy(ring[:, 0], ring[:, 1], c.x, c.y)
    seg = np.diff(xy, axis=0)
    length = np.hypot(seg[:, 0], seg[:, 1])
    long_sides = np.flatnonzero(length >= g.min_side_m)
    if long_sides.size == 0:
        long_sides = np.array([int(np.argmax(length))])
    lons: list[float] = []
    lats: list[float] = []
    for s in long_sides.tolist():
        n = max(1, math.floor(length[s] / g.exit_spacing_m + 0.5))
        f = (np.arange(n) + 0.5) / n
        lons.extend((ring[s, 0] + f * (ring[s + 1, 0] - ring[s, 0])).tolist())
        lats.extend((ring[s, 1] + f * (ring[s + 1, 1] - ring[s, 1])).tolist())
    widths = np.full(len(lons), g.exit_width_m, dtype=np.float64)
    return widths, np.asarray(lons), np.asarray(lats)


def _spaced_on_outline(polygon: BaseGeometry, n: int) -> tuple[FloatArray, FloatArray]:
    """``n`` points evenly spaced along an outline [deg]."""
    pts = shapely.line_interpolate_point(
        shapely.get_exterior_ring(polygon), (np.arange(n) + 0.5) / n, normalized=True
    )
    xy = shapely.get_coordinates(pts)
    return xy[:, 0], xy[:, 1]


def _optional(row: Any, name: str) -> Any:
    value = row.get(name) if hasattr(row, "get") else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _positive_number(value: Any, where: str, name: str, unit: str) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not 0.0 < float(value) < math.inf:
        raise LayerError(
            f"{where}: property {name!r} must be a finite number > 0 [{unit}], got {value!r}."
        )
    return float(value)


def _exits_of(row: Any, polygon: BaseGeometry, g: PlazaGeometryConfig, where: str
              ) -> tuple[FloatArray, FloatArray, FloatArray]:  # fmt: skip
    """Exit widths and positions of one feature: its overrides, else the default rule."""
    widths_raw = _optional(row, "exit_widths_m")
    count_raw = _optional(row, "exits")
    if count_raw is not None:
        ok = isinstance(count_raw, (int, np.integer)) or (
            isinstance(count_raw, float) and count_raw.is_integer()
        )
        if isinstance(count_raw, bool) or not ok or int(count_raw) < 1:
            raise LayerError(
                f"{where}: property 'exits' must be an integer ≥ 1, got {count_raw!r}."
            )
    if widths_raw is not None:
        if not isinstance(widths_raw, (list, tuple, np.ndarray)) or len(widths_raw) == 0:
            raise LayerError(
                f"{where}: property 'exit_widths_m' must be a non-empty list of widths [m], "
                f"got {widths_raw!r}."
            )
        widths = np.array(
            [_positive_number(w, where, "exit_widths_m", "m") for w in widths_raw], dtype=np.float64
        )
        if count_raw is not None and int(count_raw) != widths.size:
            raise LayerError(
                f"{where}: property 'exits' ({int(count_raw)}) does not match the "
                f"{widths.size} widths of 'exit_widths_m'; give one, or make them agree."
            )
    elif count_raw is not None:
        widths = np.full(int(count_raw), g.exit_width_m, dtype=np.float64)
    else:
        return default_exits(polygon, g)
    lon, lat = _spaced_on_outline(polygon, widths.size)
    return widths, lon, lat


def load_plazas(
    source: RoadNetwork | gpd.GeoDataFrame | str | Path,
    *,
    geometry: PlazaGeometryConfig | None = None,
    net: RoadNetwork | None = None,
) -> Plazas:
    """Plazas with usable areas and exits, from the plaza layer.

    Parameters
    ----------
    source
        A network holding the layer (``net.layers["plazas"]``), a validated plaza layer
        (GeoDataFrame), or the path of a plaza GeoJSON file.
    geometry
        The rule deriving usable area, exits and walk distance (ASSUMPTIONS; defaults
        when ``None``).
    net
        A network to snap the plazas to when ``source`` is not one.

    Returns
    -------
    Plazas
        One entry per feature, in layer order; ``node`` is the position of the nearest
        network node (-1 without a network).

    Raises
    ------
    LayerError
        If the network has no plaza layer, the file breaks the plaza schema, or an
        override property (``exits``, ``exit_widths_m``, ``usable_area_m2``,
        ``walk_distance_m``) is malformed; the message names the feature and property.
    """
    g = geometry or PlazaGeometryConfig()
    where = "plaza layer"
    if isinstance(source, RoadNetwork):
        net = source
        if "plazas" not in source.layers:
            raise LayerError(
                "the network has no 'plazas' layer; load it with attach_layers(net, folder) "
                "or pass the path of a plazas.geojson file."
            )
        gdf = source.layers["plazas"]
    elif isinstance(source, gpd.GeoDataFrame):
        gdf = source
    else:
        where = str(source)
        gdf = read_layer(source, layer="plazas", net=net)
    missing = [f.name for f in LAYER_SCHEMAS["plazas"].fields if f.required and f.name not in gdf]
    if missing:
        raise LayerError(f"{where}: the plaza layer lacks column(s) {missing}.")

    polys = gdf.geometry.to_numpy()
    n = len(gdf)
    cen = shapely.get_coordinates(shapely.centroid(polys)) if n else np.zeros((0, 2))
    area = gdf["area_m2"].to_numpy(dtype=np.float64)
    usable = np.empty(n)
    walk = np.empty(n)
    widths: list[FloatArray] = []
    elon: list[FloatArray] = []
    elat: list[FloatArray] = []
    eplaza: list[IntArray] = []
    eids: list[str] = []
    records = gdf.to_dict("records")
    for i, (row, poly) in enumerate(zip(records, polys, strict=True)):
        here = f"{where}: feature #{i} (id {row['id']!r})"
        if poly is None or poly.geom_type != "Polygon":
            raise LayerError(
                f"{here}: geometry must be a Polygon, got {getattr(poly, 'geom_type', None)}."
            )
        ua = _optional(row, "usable_area_m2")
        usable[i] = (
            area[i] * g.usable_fraction
            if ua is None
            else _positive_number(ua, here, "usable_area_m2", "m²")
        )
        wd = _optional(row, "walk_distance_m")
        walk[i] = (
            g.walk_distance_factor * math.sqrt(usable[i])
            if wd is None
            else _positive_number(wd, here, "walk_distance_m", "m")
        )
        w, lo, la = _exits_of(row, poly, g, here)
        widths.append(w)
        elon.append(lo)
        elat.append(la)
        eplaza.append(np.full(w.size, i, dtype=np.int64))
        eids.extend(f"{row['id']}/exit-{k + 1}" for k in range(w.size))
    if net is not None and n:
        if "node" in gdf:
            node = net.node_position(gdf["node"].to_numpy(dtype=np.int64))
        else:
            tol = LAYER_SCHEMAS["plazas"].max_snap_m
            node = net.nearest_nodes(cen[:, 0], cen[:, 1], max_distance=tol).node
    else:
        node = np.full(n, -1, dtype=np.int64)
    m = len(eids)
    plazas = Plazas(
        id=gdf["id"].to_numpy(dtype=str), name=gdf["name"].to_numpy(dtype=str),
        kind=gdf["kind"].to_numpy(dtype=str), lon=cen[:, 0], lat=cen[:, 1],
        node=np.asarray(node, dtype=np.int64), area=area, usable_area=usable, walk_distance=walk,
        exit_id=np.asarray(eids, dtype=np.str_),
        exit_plaza=np.concatenate(eplaza) if m else np.zeros(0, np.int64),
        exit_width=np.concatenate(widths) if m else np.zeros(0),
        exit_lon=np.concatenate(elon) if m else np.zeros(0),
        exit_lat=np.concatenate(elat) if m else np.zeros(0),
        exit_open_from=np.full(m, -math.inf), exit_open_until=np.full(m, math.inf),
        geometry=np.asarray(list(polys), dtype=object),
    )  # fmt: skip
    logger.info(
        "plazas: %d with %d exits (%.0f m of exit width, %.0f m² usable) from %s",
        n, m, float(plazas.exit_width.sum()), float(usable.sum()), where,
    )  # fmt: skip
    return plazas
