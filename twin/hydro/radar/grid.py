"""Grids of radar rain: coordinate reference systems, cell centres and resampling.

Bare-array helpers (numpy in, numpy out) shared by the readers (:mod:`.io`), the
transposition (:mod:`.transpose`) and the catalogue (:mod:`.catalogue`). A radar grid is
regular: 1-D cell-centre axes ``x`` (west to east) and ``y`` (either direction) in the
metres of a projected coordinate reference system (CRS).

Resampling from one grid to another (:func:`resample`) takes, in every target cell, the
mean of ``k × k`` evenly spaced sub-samples, each the value of the source cell it falls
in. With ``k ≥ 3`` on grids of similar cell size this is close to a conservative
(area-weighted) remapping: the areal mean over a region is kept within a few per cent,
and no value is invented (a single cell keeps its value, peaks are not smoothed by
interpolation).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from twin._types import FloatArray, IntArray
from twin.hydro.radar.errors import RadarError

__all__ = [
    "cell_fractions",
    "crs_string",
    "lonlat_grid",
    "nearest_cells",
    "parse_crs",
    "regular_axis",
    "resample",
    "resample_points",
    "subcell_offsets",
]

#: Relative tolerance on the spacing of a regular axis [-].
_REGULAR_RTOL = 1e-3


def parse_crs(value: Any, where: str) -> CRS:
    """A :class:`pyproj.CRS` from a proj4 or WKT string, an EPSG code or a CF mapping.

    Parameters
    ----------
    value
        Anything :meth:`pyproj.CRS.from_user_input` takes, or a dict of CF grid-mapping
        attributes.
    where
        Where the CRS came from (a file, a variable), for the message.

    Raises
    ------
    RadarError
        The value is empty or not a CRS.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RadarError(
            f"{where}: no coordinate reference system; give the grid a CRS (a CF grid_mapping "
            "variable with crs_wkt, or a proj4/WKT string in the `crs` attribute)."
        )
    try:
        if isinstance(value, dict):
            return CRS.from_cf(value)
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise RadarError(
            f"{where}: {str(value)[:80]!r} is not a coordinate reference system ({exc}); give "
            "a proj4 or WKT string."
        ) from exc


def crs_string(crs: CRS) -> str:
    """The WKT (2019) string of a CRS, as stored in the ``crs`` attribute."""
    return str(crs.to_wkt())


def regular_axis(values: npt.ArrayLike, name: str, where: str) -> tuple[float, float]:
    """First value and step of a regular axis of cell centres.

    Raises
    ------
    RadarError
        Fewer than two values, a zero step, or unequal steps.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size < 2:
        raise RadarError(f"{where}: axis {name!r} needs at least two cell centres (got {v.size}).")
    steps = np.diff(v)
    step = float(np.median(steps))
    if step == 0 or not np.all(np.abs(steps - step) <= _REGULAR_RTOL * abs(step)):
        raise RadarError(
            f"{where}: axis {name!r} is not a regular grid (steps {steps.min():g} to "
            f"{steps.max():g}); radar rain must be on a regular projected grid."
        )
    return float(v[0]), step


def lonlat_grid(x: FloatArray, y: FloatArray, crs: CRS) -> tuple[FloatArray, FloatArray]:
    """Longitude and latitude [deg] of every cell centre, shape ``(y, x)``."""
    xx, yy = np.meshgrid(x, y)
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(xx, yy)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def subcell_offsets(k: int) -> FloatArray:
    """Offsets of ``k × k`` sub-samples inside a unit cell, shape ``(k*k, 2)`` [cells].

    Columns are (along x, along y), each in ``(-0.5, 0.5)``.
    """
    if k < 1:
        raise RadarError(f"supersample must be at least 1 (got {k}).")
    f = (np.arange(k) + 0.5) / k - 0.5
    fx, fy = np.meshgrid(f, f)
    return np.column_stack([fx.ravel(), fy.ravel()])


def nearest_cells(px: FloatArray, py: FloatArray, x: FloatArray, y: FloatArray) -> IntArray:
    """Flat index ``iy * nx + ix`` of the cell that holds each point (-1 outside).

    Parameters
    ----------
    px, py
        Points in the grid's CRS [m] (any shape).
    x, y
        Regular cell-centre axes of the grid [m].
    """
    x0, dx = float(x[0]), float(x[1] - x[0])
    y0, dy = float(y[0]), float(y[1] - y[0])
    ix = np.floor((px - x0) / dx + 0.5).astype(np.int64)
    iy = np.floor((py - y0) / dy + 0.5).astype(np.int64)
    inside = (ix >= 0) & (ix < x.size) & (iy >= 0) & (iy < y.size)
    flat = np.where(inside, iy * x.size + ix, -1)
    return np.asarray(flat, dtype=np.int64)


def resample_points(values: FloatArray, index: IntArray, *, chunk: int = 8) -> FloatArray:
    """Mean of sub-samples of ``values (time, ny, nx)`` at ``index (..., k)`` → ``(time, ...)``.

    A target whose sub-samples include one outside the grid (index -1) or a NaN value is
    NaN (unknown, never 0).
    """
    t = values.shape[0]
    flat = values.reshape(t, -1)
    outside = index < 0
    safe = np.where(outside, 0, index)
    out = np.empty((t, *index.shape[:-1]), dtype=float)
    for start in range(0, t, chunk):
        block = flat[start : start + chunk][:, safe]
        block[:, outside] = np.nan
        out[start : start + chunk] = block.mean(axis=-1)
    return out


def resample(
    values: FloatArray,
    src_x: FloatArray,
    src_y: FloatArray,
    src_crs: CRS,
    dst_x: FloatArray,
    dst_y: FloatArray,
    dst_crs: CRS,
    *,
    supersample: int = 3,
) -> FloatArray:
    """Resample ``(time, y, x)`` fields from one regular grid to another.

    Parameters
    ----------
    values
        Fields on the source grid, shape ``(time, len(src_y), len(src_x))``.
    src_x, src_y, src_crs
        Source cell-centre axes [CRS units] and CRS.
    dst_x, dst_y, dst_crs
        Target cell-centre axes [CRS units] and CRS.
    supersample
        Sub-samples per target cell along each axis [-].

    Returns
    -------
    numpy.ndarray
        Shape ``(time, len(dst_y), len(dst_x))``; NaN where any sub-sample falls outside
        the source grid or on a NaN.
    """
    off = subcell_offsets(supersample)
    ddx, ddy = float(dst_x[1] - dst_x[0]), float(dst_y[1] - dst_y[0])
    xx = dst_x[None, :, None] + off[None, None, :, 0] * ddx
    yy = dst_y[:, None, None] + off[None, None, :, 1] * ddy
    xx, yy = np.broadcast_arrays(xx, yy)
    if src_crs == dst_crs:
        sx, sy = xx, yy
    else:
        tr = Transformer.from_crs(dst_crs, src_crs, always_xy=True)
        sx, sy = tr.transform(xx.ravel(), yy.ravel())
        sx, sy = np.reshape(sx, xx.shape), np.reshape(sy, yy.shape)
    index = nearest_cells(np.asarray(sx), np.asarray(sy), src_x, src_y)
    return resample_points(values, index)


def cell_fractions(x: FloatArray, y: FloatArray, polygon: Any) -> FloatArray:
    """Fraction of each cell of a regular grid that lies inside ``polygon`` [-].

    Parameters
    ----------
    x, y
        Regular cell-centre axes [CRS units].
    polygon
        A shapely (Multi)Polygon in the same coordinates.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(y), len(x))``, values in ``[0, 1]``.
    """
    import shapely

    out = np.zeros((y.size, x.size))
    if polygon is None or polygon.is_empty:
        return out
    hx, hy = abs(float(x[1] - x[0])) / 2, abs(float(y[1] - y[0])) / 2
    x0, y0, x1, y1 = polygon.bounds
    ix = np.flatnonzero((x + hx > x0) & (x - hx < x1))
    iy = np.flatnonzero((y + hy > y0) & (y - hy < y1))
    if ix.size == 0 or iy.size == 0:
        return out
    gx, gy = np.meshgrid(x[ix], y[iy])
    boxes = shapely.box(gx - hx, gy - hy, gx + hx, gy + hy)
    shapely.prepare(polygon)
    area = shapely.area(shapely.intersection(boxes, polygon)) / (4 * hx * hy)
    out[np.ix_(iy, ix)] = np.clip(area, 0.0, 1.0)
    return out
