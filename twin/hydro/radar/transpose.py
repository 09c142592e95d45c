"""Storm transposition: place a radar rain field over the district.

None of the shipped radar storms fell on Hangzhou. To drive the twin with rain that
moves and varies in space, a window of a real radar field is **transposed**: moved (and
optionally rotated) so that a chosen point of the field sits over the district's centre,
then resampled onto a regular grid in the district's local UTM zone. Every array made
here says so in its attributes (``transposed_over``, ``transposition``), and
:func:`twin.hydro.radar.array.radar_caption` writes it into every figure title.

Placement
---------
The district's centre (its polygon's centroid) is put over the point of the radar field
at ``(dx_km, dy_km)`` from an **anchor**: the centre of the radar grid (``"crop"``; the
shipped events are cropped around their heaviest rain) or the storm's centre, the
depth-weighted centroid of the event's total rain (``"storm"``). Offsets run along the
radar grid's own x (east) and y (north) axes. ``rotation_deg`` turns the field
counter-clockwise about that point. Distances keep their ground length: the radar
projection's scale factor at the anchor (4 % at 52°N on KNMI's polar stereographic grid)
is taken out.

Resampling takes, in each target cell, the mean of ``3 × 3`` sub-samples, each the value
of the radar cell it falls in (:func:`twin.hydro.radar.grid.resample`), so the areal
rain depth over the district is kept within resampling error, and no value is invented.
The coordinate ``district(y, x)`` is the fraction of each cell inside the district.

References
----------
Wright, D. B., Smith, J. A. and Baeck, M. L. (2014). Flood frequency analysis using
radar rainfall fields and stochastic storm transposition. *Water Resour. Res.* 50,
1592–1615.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import xarray as xr
from pyproj import CRS, Proj, Transformer

from twin._types import FloatArray, IntArray
from twin.hydro.radar.array import radar_array, radar_crs
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.grid import (
    cell_fractions,
    crs_string,
    nearest_cells,
    resample_points,
    subcell_offsets,
)

if TYPE_CHECKING:
    from twin.network.road_network import RoadNetwork

__all__ = [
    "Anchor",
    "District",
    "Placement",
    "TargetGrid",
    "anchor_point",
    "as_district",
    "district_in_source",
    "district_rain",
    "radar_at_points",
    "source_points",
    "storm_centre",
    "target_grid",
    "transpose_radar",
    "transposed_rain_at_points",
]

logger = logging.getLogger(__name__)

Anchor = Literal["crop", "storm"]
#: Target grids: side [km] and cell [m] by default (128 km leaves an hour or two of
#: advection around Gongshu for nowcasts).
DEFAULT_SIZE_KM = 128.0
DEFAULT_CELL_M = 1000.0
#: Sub-samples per target cell along each axis.
SUPERSAMPLE = 3


@dataclass(frozen=True)
class District:
    """The area the rain is placed over.

    Attributes
    ----------
    name
        For attributes and titles (``"Gongshu"``).
    lon, lat
        Its centre [deg]: the polygon's centroid, or the given point.
    polygon
        The outline in WGS84 lon/lat (a shapely geometry), or ``None`` for a point.
    """

    name: str
    lon: float
    lat: float
    polygon: Any = None

    @classmethod
    def default(cls) -> District:
        """Gongshu district, from the bundled boundary (``data/boundaries/gongshu.geojson``)."""
        from twin.network.build import DEFAULT_BOUNDARY, data_dir, load_boundary

        return cls.from_polygon(load_boundary(data_dir() / DEFAULT_BOUNDARY), name="Gongshu")

    @classmethod
    def from_polygon(cls, polygon: Any, *, name: str) -> District:
        """A district from a shapely (Multi)Polygon in WGS84 lon/lat."""
        c = polygon.centroid
        return cls(name=name, lon=float(c.x), lat=float(c.y), polygon=polygon)

    @classmethod
    def from_bounds(cls, bounds: tuple[float, float, float, float], *, name: str) -> District:
        """A rectangular district ``(lon0, lat0, lon1, lat1)`` [deg]."""
        import shapely

        return cls.from_polygon(shapely.box(*bounds), name=name)

    @classmethod
    def from_network(cls, net: RoadNetwork) -> District:
        """The area of a road network: its crop boundary, else the hull of its nodes."""
        import shapely

        name = str(net.meta.get("name") or "the network").split(",")[0]
        wkt = net.meta.get("boundary_wkt")
        if wkt:
            return cls.from_polygon(shapely.from_wkt(wkt), name=name)
        pts = shapely.multipoints(np.column_stack([net.node_lon, net.node_lat]))
        return cls.from_polygon(shapely.convex_hull(pts), name=name)


def as_district(target: Any = None, *, name: str | None = None) -> District:
    """A :class:`District` from what callers have at hand.

    Parameters
    ----------
    target
        ``None`` (Gongshu), a :class:`District`, a road network, a shapely polygon,
        a ``(lon, lat)`` point or ``(lon0, lat0, lon1, lat1)`` bounds [deg].
    name
        Its name (for polygons, points and bounds).
    """
    if target is None:
        return District.default()
    if isinstance(target, District):
        return target
    if hasattr(target, "node_lon") and hasattr(target, "meta"):
        return District.from_network(target)
    if hasattr(target, "geom_type"):
        return District.from_polygon(target, name=name or "the district")
    values = tuple(float(v) for v in target)
    if len(values) == 2:
        return District(name=name or f"{values[0]:.3f}E {values[1]:.3f}N", lon=values[0],
                        lat=values[1])  # fmt: skip
    if len(values) == 4:
        return District.from_bounds(
            (values[0], values[1], values[2], values[3]), name=name or "the district"
        )
    raise RadarError(
        f"target {target!r}: give a District, a road network, a polygon, (lon, lat) or "
        "(lon0, lat0, lon1, lat1)."
    )


@dataclass(frozen=True)
class TargetGrid:
    """A regular grid in the district's local UTM zone, centred on the district.

    Attributes
    ----------
    crs
        The UTM CRS.
    x, y
        Cell centres [m] (``y`` decreasing).
    centre
        The district's centre in the grid's CRS [m].
    district
        The fraction of each cell inside the district [-], shape ``(y, x)`` (for a point
        district, 1 in the cell that holds it).
    name
        The district's name.
    """

    crs: CRS
    x: FloatArray
    y: FloatArray
    centre: tuple[float, float]
    district: FloatArray
    name: str

    @property
    def cell_m(self) -> float:
        """Cell size [m]."""
        return float(self.x[1] - self.x[0])


def _utm(lon: float, lat: float) -> CRS:
    zone = int((lon + 180.0) // 6.0) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def target_grid(
    target: Any = None, *, size_km: float = DEFAULT_SIZE_KM, cell_m: float = DEFAULT_CELL_M
) -> TargetGrid:
    """The grid transposed rain is resampled onto.

    Parameters
    ----------
    target
        The district (see :func:`as_district`; default Gongshu).
    size_km
        Side of the square grid [km].
    cell_m
        Cell size [m].
    """
    if not (size_km > 0 and cell_m > 0):
        raise RadarError(f"size_km and cell_m must be positive (got {size_km}, {cell_m}).")
    district = as_district(target)
    crs = _utm(district.lon, district.lat)
    to_xy = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    cx, cy = (float(v) for v in to_xy.transform(district.lon, district.lat))
    n = max(2, round(size_km * 1000.0 / cell_m))
    offsets = (np.arange(n, dtype=float) - (n - 1) / 2) * cell_m
    x = cx + offsets
    y = (cy + offsets)[::-1].copy()
    if district.polygon is not None:
        import shapely

        poly = shapely.transform(district.polygon, lambda c: np.column_stack(
            to_xy.transform(c[:, 0], c[:, 1])))  # fmt: skip
        frac = cell_fractions(x, y, poly)
    else:
        frac = np.zeros((n, n))
        frac[int(np.argmin(np.abs(y - cy))), int(np.argmin(np.abs(x - cx)))] = 1.0
    if frac.sum() == 0:
        raise RadarError(f"{district.name}: the district covers no cell of the target grid.")
    return TargetGrid(crs, x, y, (cx, cy), frac, district.name)


@dataclass(frozen=True)
class Placement:
    """Where a radar field is put over the district (see the module docstring).

    Attributes
    ----------
    dx_km, dy_km
        The point of the radar field placed over the district's centre, from the anchor,
        along the radar grid's x (east) and y (north) axes [km].
    rotation_deg
        Counter-clockwise rotation of the field about that point [deg].
    anchor
        ``"crop"`` (the centre of the radar grid) or ``"storm"`` (the centroid of the
        event's total rain).
    """

    dx_km: float = 0.0
    dy_km: float = 0.0
    rotation_deg: float = 0.0
    anchor: Anchor = "crop"

    def __post_init__(self) -> None:
        if self.anchor not in ("crop", "storm"):
            raise RadarError(f"anchor {self.anchor!r}: choose 'crop' or 'storm'.")

    def describe(self) -> str:
        """One line: offsets, rotation and anchor."""
        anchor = "radar grid centre" if self.anchor == "crop" else "storm centre"
        return (
            f"district centre over the radar point {self.dx_km:+g} km east, {self.dy_km:+g} km "
            f"north of the {anchor}, field rotated {self.rotation_deg:g} deg"
        )


def storm_centre(radar: xr.DataArray) -> tuple[float, float]:
    """The centroid of an event's total rain, weighted by depth [m, radar CRS]."""
    total = np.nansum(np.asarray(radar.transpose("time", "y", "x").values, dtype=float), axis=0)
    if not total.sum() > 0:
        raise RadarError(
            f"{radar.attrs.get('event', 'radar')}: no rain at all, so no storm centre; use "
            "anchor='crop'."
        )
    w = total / total.sum()
    x = np.asarray(radar["x"].values, dtype=float)
    y = np.asarray(radar["y"].values, dtype=float)
    return float((w.sum(axis=0) * x).sum()), float((w.sum(axis=1) * y).sum())


def anchor_point(radar: xr.DataArray, placement: Placement) -> tuple[float, float]:
    """The anchor of a placement on the radar grid [m, radar CRS] (before the offset)."""
    return _anchor(radar, placement)


def _anchor(radar: xr.DataArray, placement: Placement) -> tuple[float, float]:
    if placement.anchor == "storm":
        return storm_centre(radar)
    x = np.asarray(radar["x"].values, dtype=float)
    y = np.asarray(radar["y"].values, dtype=float)
    return float((x[0] + x[-1]) / 2), float((y[0] + y[-1]) / 2)


def _scale(crs: CRS, x: float, y: float) -> float:
    """Linear scale factor of a projection at a point [-] (projected / ground length)."""
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    factors = Proj(crs).get_factors(lon, lat)
    return float(np.sqrt(factors.areal_scale))


def _mapping(
    radar: xr.DataArray,
    grid: TargetGrid,
    placement: Placement,
    anchor_xy: tuple[float, float] | None = None,
) -> tuple[float, float, float, float, float]:
    """Affine map target → radar: (ax, ay, k, cos, sin) with s = a + k R(-θ) (p - c)."""
    ax, ay = anchor_xy if anchor_xy is not None else _anchor(radar, placement)
    ax += placement.dx_km * 1000.0
    ay += placement.dy_km * 1000.0
    k = _scale(radar_crs(radar), ax, ay)
    th = np.radians(placement.rotation_deg)
    return ax, ay, k, float(np.cos(th)), float(np.sin(th))


def source_points(
    radar: xr.DataArray,
    grid: TargetGrid,
    placement: Placement,
    *,
    cells: tuple[IntArray, IntArray] | None = None,
    supersample: int = SUPERSAMPLE,
    anchor_xy: tuple[float, float] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Where the sub-samples of target cells fall on the radar grid [m, radar CRS].

    Parameters
    ----------
    radar
        The radar field (its grid and CRS).
    grid
        The target grid.
    placement
        The placement.
    cells
        Row and column indices of the target cells (default: all).
    supersample
        Sub-samples per cell along each axis.
    anchor_xy
        The anchor point [m, radar CRS], when already known (saves finding the storm
        centre again).

    Returns
    -------
    sx, sy
        Shape ``(n_cells, k*k)``, or ``(ny, nx, k*k)`` for all cells.
    """
    ax, ay, k, cos, sin = _mapping(radar, grid, placement, anchor_xy)
    off = subcell_offsets(supersample) * grid.cell_m
    if cells is None:
        px = grid.x[None, :, None] + off[None, None, :, 0]
        py = grid.y[:, None, None] + off[None, None, :, 1]
    else:
        rows, cols = cells
        px = grid.x[cols][:, None] + off[None, :, 0]
        py = grid.y[rows][:, None] + off[None, :, 1]
    px, py = np.broadcast_arrays(px, py)
    u, v = px - grid.centre[0], py - grid.centre[1]
    # Undo the counter-clockwise rotation of the field, then scale to projected length.
    sx = ax + k * (cos * u + sin * v)
    sy = ay + k * (-sin * u + cos * v)
    return sx, sy


def district_in_source(radar: xr.DataArray, grid: TargetGrid, placement: Placement,
                       polygon: Any) -> Any:  # fmt: skip
    """The district's outline (WGS84 ``polygon``) drawn on the radar grid [m, radar CRS]."""
    import shapely

    ax, ay, k, cos, sin = _mapping(radar, grid, placement)
    to_xy = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)

    def move(c: FloatArray) -> FloatArray:
        px, py = to_xy.transform(c[:, 0], c[:, 1])
        u, v = np.asarray(px) - grid.centre[0], np.asarray(py) - grid.centre[1]
        return np.column_stack([ax + k * (cos * u + sin * v), ay + k * (-sin * u + cos * v)])

    return shapely.transform(polygon, move)


def transpose_radar(
    radar: xr.DataArray,
    target: Any = None,
    *,
    dx_km: float = 0.0,
    dy_km: float = 0.0,
    rotation_deg: float = 0.0,
    anchor: Anchor = "crop",
    size_km: float = DEFAULT_SIZE_KM,
    cell_m: float = DEFAULT_CELL_M,
    supersample: int = SUPERSAMPLE,
    grid: TargetGrid | None = None,
) -> xr.DataArray:
    """Place a radar rain field over the district, on a local UTM grid.

    Parameters
    ----------
    radar
        Radar rain (:mod:`twin.hydro.radar.array`), e.g. a shipped event
        (:func:`twin.hydro.radar.events.load_event`).
    target
        The district (:func:`as_district`; default Gongshu).
    dx_km, dy_km, rotation_deg, anchor
        The placement (:class:`Placement`) [km, km, deg].
    size_km, cell_m
        Side of the square target grid [km] and its cell [m].
    supersample
        Sub-samples per cell along each axis [-].
    grid
        A ready target grid (overrides ``target``, ``size_km``, ``cell_m``).

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(time, y, x)`` in UTM metres, ``lon``/``lat``
        (y, x) and ``district`` (y, x, the fraction of each cell in the district);
        the radar's provenance attributes plus ``transposed_over``, ``transposition``,
        ``dx_km``, ``dy_km``, ``rotation_deg``, ``anchor``. NaN where the window leaves
        the radar's grid or reach.
    """
    grid = grid or target_grid(target, size_km=size_km, cell_m=cell_m)
    placement = Placement(dx_km, dy_km, rotation_deg, anchor)
    radar = radar.transpose("time", "y", "x")
    sx, sy = source_points(radar, grid, placement, supersample=supersample)
    x = np.asarray(radar["x"].values, dtype=float)
    y = np.asarray(radar["y"].values, dtype=float)
    index = nearest_cells(sx, sy, x, y)
    values = resample_points(np.asarray(radar.values, dtype=float), index)
    outside = float(np.mean(index < 0))
    if outside == 1.0:
        raise RadarError(
            f"{radar.attrs.get('event', 'radar')}: the placed window ({placement.describe()}) "
            "misses the radar grid entirely; choose smaller offsets."
        )
    if outside > 0:
        logger.info("%.0f %% of the target grid lies outside the radar grid (NaN)", 100 * outside)
    attrs = {k: v for k, v in radar.attrs.items() if k != "crs"}
    attrs |= {
        "transposed_over": grid.name,
        "transposition": f"transposed: this rain did not fall on {grid.name}; "
        + placement.describe(),
        "dx_km": float(dx_km),
        "dy_km": float(dy_km),
        "rotation_deg": float(rotation_deg),
        "anchor": anchor,
        "source_crs": crs_string(radar_crs(radar)),
    }
    out = radar_array(values, radar["time"].values, grid.x, grid.y, grid.crs,
                      interval_s=float(radar.attrs["interval_s"]), attrs=attrs)  # fmt: skip
    return out.assign_coords(
        district=(("y", "x"), grid.district, {"long_name": f"fraction of the cell in {grid.name}"})
    )


def district_rain(rain: xr.DataArray) -> xr.DataArray:
    """Areal-mean rain rate over the district [mm/h], dims ``(time,)`` (or ``(..., )``).

    Uses the ``district`` coordinate (cell fractions) of a transposed array; NaN cells
    are left out with their weight.

    Raises
    ------
    RadarError
        No ``district`` coordinate.
    """
    if "district" not in rain.coords:
        raise RadarError("rain has no `district` coordinate; transpose it first (transpose_radar).")
    w = rain["district"].fillna(0.0)
    out = rain.weighted(w).mean(("y", "x"))
    where = rain.attrs.get("transposed_over", "the district")
    out.attrs = {**rain.attrs, "long_name": f"areal-mean rain rate over {where}"}
    return out.rename("rain_rate")


def radar_at_points(
    rain: xr.DataArray, lon: npt.ArrayLike, lat: npt.ArrayLike, **kwargs: Any
) -> xr.DataArray:
    """Rain of the cell that holds each point (nearest cell), checking the grid covers them.

    Parameters
    ----------
    rain
        Radar rain ``(time, y, x)`` with a ``crs`` attribute and ``lon``/``lat``.
    lon, lat
        WGS84 positions [deg].
    **kwargs
        Passed to :func:`twin.hydro.interpolation.rain_at_points` (``point=``).

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(time, point)``.

    Raises
    ------
    RadarError
        A point lies outside the grid (the grid misses the district).
    """
    from twin.hydro.interpolation import rain_at_points

    lon_p = np.atleast_1d(np.asarray(lon, dtype=float))
    lat_p = np.atleast_1d(np.asarray(lat, dtype=float))
    check_covers(rain, lon_p, lat_p, str(rain.attrs.get("event", "radar rain")))
    return rain_at_points(rain, lon_p, lat_p, method="nearest", **kwargs)


def check_covers(rain: xr.DataArray, lon: FloatArray, lat: FloatArray, where: str) -> None:
    """Raise :class:`RadarError` if any point lies outside the rain grid.

    Parameters
    ----------
    rain
        A gridded array with a ``crs`` attribute and ``x``/``y`` [m].
    lon, lat
        Points [deg].
    where
        The source of the grid (a file), for the message.
    """
    crs = radar_crs(rain)
    px, py = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    x = np.asarray(rain["x"].values, dtype=float)
    y = np.asarray(rain["y"].values, dtype=float)
    inside = nearest_cells(np.asarray(px), np.asarray(py), x, y) >= 0
    if not inside.all():
        raise RadarError(
            f"{where}: the grid misses {int((~inside).sum())} of {inside.size} points of the "
            f"district (first at {float(lon[~inside][0]):.4f}E {float(lat[~inside][0]):.4f}N); "
            "give a grid that covers the district, or transpose the rain over it."
        )


def transposed_rain_at_points(
    radar: xr.DataArray,
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    target: Any = None,
    **placement: Any,
) -> xr.DataArray:
    """Transposed rain at points (e.g. low points): the rain of each one's cell.

    Parameters
    ----------
    radar
        Radar rain (a shipped event or any radar array).
    lon, lat
        WGS84 positions [deg].
    target
        The district (default Gongshu).
    **placement
        ``dx_km``, ``dy_km``, ``rotation_deg``, ``anchor``, ``size_km``, ``cell_m``
        (see :func:`transpose_radar`).

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(time, point)``, the transposition in its
        attributes.
    """
    return radar_at_points(transpose_radar(radar, target, **placement), lon, lat)
