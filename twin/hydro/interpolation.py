"""Rain at points: inverse distance weighting of gauges, nearest cell of grids.

Bare-array kernels first (great-circle distance, weighted means), then
:func:`rain_at_points` on ``rain_rate`` arrays from :mod:`twin.hydro.rainfall`.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import numpy.typing as npt
import xarray as xr

from twin._types import FloatArray
from twin.errors import ScenarioError
from twin.hydro.rainfall import RAIN_ATTRS

__all__ = ["EARTH_RADIUS_M", "haversine_m", "rain_at_points"]

logger = logging.getLogger(__name__)

#: Mean Earth radius [m] (IUGG), used for great-circle distances.
EARTH_RADIUS_M = 6_371_008.8
#: Points closer than this to a gauge take that gauge's value [m].
_SAME_PLACE_M = 1.0


def haversine_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance between points, broadcast as numpy does [m].

    Parameters
    ----------
    lon1, lat1, lon2, lat2
        WGS84 longitudes and latitudes [deg].
    """
    lam1, phi1, lam2, phi2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2)
    )
    h = (
        np.sin((phi2 - phi1) / 2) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin((lam2 - lam1) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))), dtype=float)


def _idw(values: FloatArray, weights: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Weighted mean over stations of ``values`` (time, station) for each point.

    ``weights`` is (point, station). NaN values are left out and the weights of the
    others renormalised. Returns the (time, point) means (NaN where no weight is left)
    and the (time, point) sums of weights used.
    """
    valid = np.isfinite(values)
    num = np.where(valid, values, 0.0) @ weights.T
    den = valid.astype(float) @ weights.T
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out, den


# --- the data model ------------------------------------------------------------------


def rain_at_points(
    rain: xr.DataArray,
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    method: Literal["idw", "nearest"] | None = None,
    power: float = 2.0,
    max_distance_m: float | None = None,
    point: npt.ArrayLike | None = None,
) -> xr.DataArray:
    """Rain rate at points, from gauges, a grid or a single series.

    - gauges ``(time, station)`` with ``lon``/``lat`` coordinates: inverse distance
      weighting on great-circle distances [m] (``method="idw"``, the default) or the
      nearest gauge (``"nearest"``). At each time step, gauges with NaN are left out and
      the weights of the others renormalised (the nearest *reporting* gauge for
      ``"nearest"``); a point within 1 m of a gauge takes its value.
    - grids ``(time, y, x)`` with ``lat``/``lon`` coordinates: the nearest cell
      (the default; ``"idw"`` is refused). With 1-D coordinates, a point more than
      half a cell outside the grid gets NaN.
    - a series ``(time,)``: the same rain everywhere.

    Parameters
    ----------
    rain
        Rain rate [mm/h].
    lon, lat
        WGS84 longitude and latitude of the points [deg].
    method
        ``"idw"`` or ``"nearest"``; ``None`` picks IDW for gauges, nearest for grids.
    power
        IDW exponent (weight ∝ distance^-power) [-].
    max_distance_m
        Gauges farther than this from a point are ignored for it [m] (IDW only).
    point
        Labels of the points (default ``0..n-1``).

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(time, point)``, coordinates ``lon(point)``,
        ``lat(point)``.

    Raises
    ------
    ScenarioError
        Unknown layout, missing coordinates, bad ``power`` or mismatched lon/lat.
    """
    lon_p = np.atleast_1d(np.asarray(lon, dtype=float))
    lat_p = np.atleast_1d(np.asarray(lat, dtype=float))
    if lon_p.shape != lat_p.shape or lon_p.ndim != 1:
        raise ScenarioError(
            f"lon and lat must be 1-D of one length (got {lon_p.shape}, {lat_p.shape})."
        )
    if "time" not in rain.dims:
        raise ScenarioError(f"rain has dims {rain.dims}; it needs a `time` dimension.")
    if method not in (None, "idw", "nearest"):
        raise ScenarioError(f"method {method!r}: choose 'idw' or 'nearest'.")
    if not power > 0:
        raise ScenarioError(f"power must be positive (got {power}).")
    spatial = set(rain.dims) - {"time"}
    if not spatial:
        values = np.repeat(rain.values[:, None].astype(float), lon_p.size, axis=1)
        used = "uniform"
    elif spatial == {"station"}:
        values = _from_gauges(rain.transpose("time", "station"), lon_p, lat_p, method or "idw",
                              power, max_distance_m)  # fmt: skip
        used = method or "idw"
    elif spatial == {"y", "x"}:
        if method == "idw":
            raise ScenarioError("IDW over a grid is not supported; use method='nearest' (or None).")
        values = _from_grid(rain.transpose("time", "y", "x"), lon_p, lat_p)
        used = "nearest"
    else:
        raise ScenarioError(
            f"rain has dims {rain.dims}; expected (time,), (time, station) or (time, y, x)."
        )
    labels = np.arange(lon_p.size) if point is None else np.asarray(point)
    return xr.DataArray(
        values,
        dims=("time", "point"),
        coords={
            "time": rain["time"],
            "point": ("point", labels),
            "lon": ("point", lon_p, {"units": "degrees_east", "standard_name": "longitude"}),
            "lat": ("point", lat_p, {"units": "degrees_north", "standard_name": "latitude"}),
        },
        name="rain_rate",
        attrs={**rain.attrs, **RAIN_ATTRS, "interpolation": used},
    )


def _coord(rain: xr.DataArray, names: tuple[str, ...], what: str) -> xr.DataArray:
    for name in names:
        if name in rain.coords:
            return rain[name]
    raise ScenarioError(
        f"rain has no {what} coordinate ({' or '.join(names)}); for gauges add positions "
        "with with_station_coords(rain, lon, lat)."
    )


def _from_gauges(
    rain: xr.DataArray,
    lon_p: FloatArray,
    lat_p: FloatArray,
    method: str,
    power: float,
    max_distance_m: float | None,
) -> FloatArray:
    lon_s = np.asarray(_coord(rain, ("lon", "longitude"), "longitude").values, dtype=float)
    lat_s = np.asarray(_coord(rain, ("lat", "latitude"), "latitude").values, dtype=float)
    values = np.asarray(rain.values, dtype=float)
    placed = np.isfinite(lon_s) & np.isfinite(lat_s)
    if not placed.all():
        logger.warning("%d gauge(s) without a position are left out", int((~placed).sum()))
        lon_s, lat_s, values = lon_s[placed], lat_s[placed], values[:, placed]
    if not placed.any():
        raise ScenarioError("no gauge has a position; see with_station_coords(rain, lon, lat).")
    dist = haversine_m(lon_p[:, None], lat_p[:, None], lon_s[None, :], lat_s[None, :])
    if method == "nearest":
        order = np.argsort(dist, axis=1, kind="stable")
        out = values[:, order[:, 0]]
        for k in range(1, order.shape[1]):
            gaps = np.isnan(out)
            if not gaps.any():
                break
            out = np.where(gaps, values[:, order[:, k]], out)
        return out
    same = dist < _SAME_PLACE_M
    far = dist > max_distance_m if max_distance_m is not None else np.zeros_like(same)
    with np.errstate(divide="ignore"):
        weights = np.where(same | far, 0.0, np.maximum(dist, _SAME_PLACE_M) ** -power)
    at_gauge = same.any(axis=1)
    out, _ = _idw(values, weights)
    if at_gauge.any():
        exact, den = _idw(values, same[at_gauge].astype(float))
        out[:, at_gauge] = np.where(den > 0, exact, out[:, at_gauge])
    return out


def _from_grid(rain: xr.DataArray, lon_p: FloatArray, lat_p: FloatArray) -> FloatArray:
    lat_g = _coord(rain, ("lat", "latitude"), "latitude")
    lon_g = _coord(rain, ("lon", "longitude"), "longitude")
    values = np.asarray(rain.values, dtype=float)
    if lat_g.dims == ("y",) and lon_g.dims == ("x",):
        iy, out_y = _nearest_1d(np.asarray(lat_g.values, dtype=float), lat_p)
        ix, out_x = _nearest_1d(np.asarray(lon_g.values, dtype=float), lon_p)
        out = values[:, iy, ix]
        outside = out_y | out_x
        if outside.any():
            logger.warning(
                "%d of %d points lie outside the rain grid: NaN", outside.sum(), outside.size
            )
            out[:, outside] = np.nan
        return out
    if set(lat_g.dims) == {"y", "x"} and set(lon_g.dims) == {"y", "x"}:
        from scipy.spatial import cKDTree

        lat2 = lat_g.transpose("y", "x").values.ravel()
        lon2 = lon_g.transpose("y", "x").values.ravel()
        tree = cKDTree(_unit_vectors(lon2, lat2))
        _, flat = tree.query(_unit_vectors(lon_p, lat_p))
        iy, ix = np.unravel_index(
            np.asarray(flat, dtype=np.int64), (rain.sizes["y"], rain.sizes["x"])
        )
        return np.asarray(values[:, iy, ix], dtype=float)
    raise ScenarioError(
        f"grid lat/lon must be 1-D along y/x or 2-D (y, x); got {lat_g.dims}, {lon_g.dims}."
    )


def _nearest_1d(
    axis: FloatArray, x: FloatArray
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Index of the nearest axis value for each x, and whether x is beyond half a cell out."""
    idx = np.abs(axis[None, :] - x[:, None]).argmin(axis=1)
    half = 0.5 * (float(np.abs(np.diff(axis)).max()) if axis.size > 1 else np.inf)
    lo, hi = float(axis.min()), float(axis.max())
    return idx, (x < lo - half) | (x > hi + half)


def _unit_vectors(lon: FloatArray, lat: FloatArray) -> FloatArray:
    lam, phi = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
