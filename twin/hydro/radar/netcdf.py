"""Radar rain as CF NetCDF: compressed writing and validated reading.

The shipped events (``data/radar/*.nc``, :mod:`.events`) and any radar or nowcast
product a user brings are CF-1.8 NetCDF: ``(time, y, x)`` of a rain rate or a
reflectivity on a projected grid with a CF grid mapping. Reading checks everything the
twin relies on and says, naming the file, what is wrong and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from pyproj import CRS

from twin._types import FloatArray
from twin.errors import InputFileNotFoundError
from twin.hydro.radar.array import (
    MARSHALL_PALMER,
    check_times,
    radar_array,
    radar_crs,
    reflectivity_to_rain_rate,
)
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.grid import parse_crs, regular_axis

__all__ = [
    "check_file",
    "grid_mapping_crs",
    "projected_axes",
    "rain_variable",
    "read_radar_netcdf",
    "write_radar_netcdf",
]

#: Conversion of CF rain-rate units to mm/h.
_RATE_UNITS: dict[str, float] = {
    "mm h-1": 1.0, "mm/h": 1.0, "mm hr-1": 1.0, "mm/hr": 1.0, "mm h**-1": 1.0,
    "mm s-1": 3600.0, "mm/s": 3600.0, "kg m-2 s-1": 3600.0, "m s-1": 3.6e6,
}  # fmt: skip
_DBZ_UNITS = ("dBZ", "dbz", "dBz", "DBZ")
_LENGTH_UNITS: dict[str, float] = {
    "m": 1.0, "metre": 1.0, "meter": 1.0, "metres": 1.0, "meters": 1.0,
    "km": 1000.0, "kilometre": 1000.0, "kilometer": 1000.0,
}  # fmt: skip
#: int16 packing: the largest storable packed value.
_INT16_MAX = 32767


def check_file(path: Path) -> None:
    """Raise for a missing (:class:`InputFileNotFoundError`) or empty file (RadarError)."""
    if not path.is_file():
        raise InputFileNotFoundError(f"{path}: no such radar file.")
    if path.stat().st_size == 0:
        raise RadarError(f"{path}: the file is empty; download it again or leave it out.")


def write_radar_netcdf(
    radar: xr.DataArray,
    path: str | Path,
    *,
    scale: float = 0.01,
    attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Write radar rain (or a nowcast of it) as compressed CF-1.8 NetCDF.

    ``rain_rate`` is packed as int16 with ``scale_factor = scale`` (0.01 mm/h by
    default: rates up to 327 mm/h), zlib level 9 with shuffle, one chunk per frame; a
    scalar ``crs`` variable carries the CF grid mapping (``crs_wkt`` and the CF
    parameters); ``lon``/``lat`` are float32 to 1e-5 deg.

    Parameters
    ----------
    radar
        A radar array (:func:`twin.hydro.radar.array.radar_array`), dims
        ``(time, y, x)``, or a nowcast ``(member, lead_time, y, x)`` (lead times in
        minutes, ``issue_time`` in seconds since 1970).
    path
        The ``.nc`` file; parent folders are created.
    scale
        Packing step [mm/h].
    attrs
        Global attributes (title, provenance).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    RadarError
        A rate too large for the packing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    crs = radar_crs(radar)
    da = radar.rename("rain_rate").transpose(..., "y", "x")
    finite = np.isfinite(da.values)
    top = float(np.max(da.values[finite])) if finite.any() else 0.0
    if top > _INT16_MAX * scale:
        raise RadarError(
            f"{path}: rain rate {top:.1f} mm/h exceeds what int16 with scale {scale:g} holds; "
            "pass a larger scale."
        )
    var_attrs = {
        k: (int(v) if isinstance(v, bool) else v) for k, v in da.attrs.items() if k != "crs"
    }
    da = da.copy()
    da.attrs = {**var_attrs, "grid_mapping": "crs"}
    ds = da.to_dataset()
    cf = {k: v for k, v in crs.to_cf().items() if v is not None}
    ds["crs"] = xr.DataArray(np.int32(0), attrs=cf)
    ds.attrs = {"Conventions": "CF-1.8", "title": "radar rain rate", **dict(attrs or {})}
    chunks = (*(1 for _ in da.dims[:-2]), da.sizes["y"], da.sizes["x"])
    encoding: dict[str, dict[str, Any]] = {
        "rain_rate": {
            "dtype": "int16",
            "scale_factor": scale,
            "add_offset": 0.0,
            "_FillValue": np.int16(-32768),
            "zlib": True,
            "complevel": 9,
            "shuffle": True,
            "chunksizes": chunks,
        },
    }
    for name in ("time", "issue_time"):
        if name in ds.coords and np.issubdtype(ds[name].dtype, np.datetime64):
            encoding[name] = {"units": "seconds since 1970-01-01 00:00:00", "dtype": "int64"}
    if "lead_time" in ds.coords:
        encoding["lead_time"] = {"units": "minutes", "dtype": "float64"}
    for name in ("lon", "lat"):
        if name in ds.coords:
            encoding[name] = {"dtype": "float32", "zlib": True, "least_significant_digit": 5}
    for coord in list(ds.coords):
        if coord not in encoding and ds[coord].dtype == bool:
            ds[coord] = ds[coord].astype(np.int8)
    ds.to_netcdf(path, encoding=encoding)
    return path


def grid_mapping_crs(ds: xr.Dataset, var: xr.DataArray, path: Path) -> CRS:
    """The projected CRS of a variable: its CF ``grid_mapping``, else a ``crs`` attribute.

    Raises
    ------
    RadarError
        No CRS, one that cannot be parsed, or a geographic one (wrong CRS).
    """
    where = f"{path}: variable {var.name!r}"
    gm = var.attrs.get("grid_mapping") or var.encoding.get("grid_mapping")
    if gm:
        gm = str(gm).split(":")[0].strip()
        if gm not in ds.variables:
            raise RadarError(
                f"{where} names grid_mapping {gm!r}, which is not in the file; add the CF "
                "grid-mapping variable."
            )
        g_attrs = dict(ds[gm].attrs)
        text = g_attrs.get("crs_wkt") or g_attrs.get("spatial_ref") or g_attrs.get("proj4")
        crs = parse_crs(text if text else g_attrs, f"{where} (grid mapping {gm!r})")
    elif var.attrs.get("crs") or ds.attrs.get("crs"):
        crs = parse_crs(var.attrs.get("crs") or ds.attrs.get("crs"), where)
    else:
        crs = parse_crs(None, where)
    if not crs.is_projected:
        raise RadarError(
            f"{where}: wrong CRS: {crs.name!r} is not projected; radar grids need x/y in metres "
            "of a projected CRS (reproject, e.g. to a local UTM or LAEA grid)."
        )
    return crs


def rain_variable(
    ds: xr.Dataset,
    path: Path,
    *,
    variable: str | None = None,
    zr_a: float | None = None,
    zr_b: float | None = None,
) -> tuple[xr.DataArray, xr.DataArray]:
    """The rain variable of a dataset as a rate [mm/h], and the variable as stored.

    The variable is ``variable``, else ``rain_rate`` or ``reflectivity``, else the one
    whose ``standard_name`` is ``rainfall_rate``, ``lwe_precipitation_rate`` or
    ``equivalent_reflectivity_factor``. Reflectivity [dBZ] is converted by
    ``Z = a R^b`` (arguments, else the variable's ``zr_a``/``zr_b``, else
    Marshall–Palmer).

    Raises
    ------
    RadarError
        No such variable, or units that are neither a rain rate nor dBZ.
    """
    name = variable or _pick_variable(ds, path)
    if name not in ds.data_vars:
        raise RadarError(f"{path}: no variable {name!r} (has {[str(v) for v in ds.data_vars]}).")
    var = ds[name]
    units = str(var.attrs.get("units", "")).strip()
    kept = {k: v for k, v in var.attrs.items() if k not in ("units", "standard_name")}
    if units in _RATE_UNITS:
        out = var.astype(float) * _RATE_UNITS[units]
    elif units in _DBZ_UNITS:
        a = zr_a if zr_a is not None else float(var.attrs.get("zr_a", MARSHALL_PALMER[0]))
        b = zr_b if zr_b is not None else float(var.attrs.get("zr_b", MARSHALL_PALMER[1]))
        out = var.copy(data=reflectivity_to_rain_rate(var.values, zr_a=a, zr_b=b))
        kept |= {"zr_a": a, "zr_b": b, "converted_from": "reflectivity [dBZ] by Z = a R^b"}
    else:
        raise RadarError(
            f"{path}: variable {name!r} has units {units!r}; expected a rain rate "
            f"({', '.join(_RATE_UNITS)}) or a reflectivity (dBZ). Set the units attribute."
        )
    out.attrs = kept
    return out.rename("rain_rate"), var


def _pick_variable(ds: xr.Dataset, path: Path) -> str:
    for name in ("rain_rate", "reflectivity"):
        if name in ds.data_vars:
            return name
    wanted = {"rainfall_rate", "lwe_precipitation_rate", "equivalent_reflectivity_factor"}
    found = [str(k) for k, v in ds.data_vars.items() if v.attrs.get("standard_name") in wanted]
    if len(found) != 1:
        raise RadarError(
            f"{path}: cannot tell which variable is rain (candidates "
            f"{found or [str(v) for v in ds.data_vars]}); name it rain_rate [mm/h] or "
            "reflectivity [dBZ], or pass variable=."
        )
    return found[0]


def projected_axes(da: xr.DataArray, path: Path) -> tuple[FloatArray, FloatArray]:
    """The regular ``x`` and ``y`` cell-centre axes of a variable [m].

    Raises
    ------
    RadarError
        A missing axis, units other than m or km, or an irregular axis.
    """
    axes = []
    for dim in ("x", "y"):
        if dim not in da.coords:
            raise RadarError(f"{path}: no {dim!r} coordinate; give cell centres in metres.")
        units = str(da[dim].attrs.get("units", "m")).strip()
        if units not in _LENGTH_UNITS:
            raise RadarError(
                f"{path}: coordinate {dim!r} has units {units!r}; projected x/y must be in m "
                "or km (a geographic grid is not accepted)."
            )
        values = np.asarray(da[dim].values, dtype=float) * _LENGTH_UNITS[units]
        regular_axis(values, dim, str(path))
        axes.append(values)
    return axes[0], axes[1]


def read_radar_netcdf(
    path: str | Path,
    *,
    variable: str | None = None,
    zr_a: float | None = None,
    zr_b: float | None = None,
) -> xr.DataArray:
    """Read radar rain from a CF NetCDF file into the twin's representation.

    The file holds ``(time, y, x)`` of a rain rate (``rain_rate``, or a variable whose
    ``standard_name`` is ``rainfall_rate`` or ``lwe_precipitation_rate``; units mm/h,
    mm/s, kg m-2 s-1 or m/s) or a reflectivity [dBZ] (see :func:`rain_variable`).
    ``x``/``y`` [m or km] are the cell centres of a projected CRS given by a CF
    ``grid_mapping`` variable (``crs_wkt``, ``spatial_ref`` or CF parameters) or a
    ``crs`` attribute (proj4 or WKT). Times are naive UTC interval starts (see
    :mod:`twin.hydro.radar.array`).

    Parameters
    ----------
    path
        A NetCDF file.
    variable
        The variable to read (default: found by name or standard name).
    zr_a, zr_b
        Z-R coefficients for reflectivity [-].

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(time, y, x)`` with ``lon``/``lat`` (y, x); the
        file's global and variable attributes are kept (``source``, ``licence``, ...).

    Raises
    ------
    InputFileNotFoundError
        No such file.
    RadarError
        An empty or unreadable file; no rain variable; unknown units; dims other than
        ``(time, y, x)``; a missing, invalid or geographic CRS, or ``lon``/``lat`` that
        disagree with it (wrong CRS); irregular axes; missing, duplicate or irregular
        times. The message names the file.
    """
    path = Path(path)
    check_file(path)
    try:
        ds = xr.open_dataset(path, decode_timedelta=False)
    except (OSError, ValueError) as exc:
        raise RadarError(f"{path}: cannot be read as NetCDF ({exc}).") from exc
    with ds:
        rate, var = rain_variable(ds, path, variable=variable, zr_a=zr_a, zr_b=zr_b)
        if set(rate.dims) != {"time", "y", "x"}:
            raise RadarError(
                f"{path}: variable {var.name!r} has dims {rate.dims}; expected (time, y, x) "
                "(rename the dimensions)."
            )
        crs = grid_mapping_crs(ds, var, path)
        file_attrs = {k: v for k, v in ds.attrs.items() if k not in ("Conventions", "title")}
        rate = rate.transpose("time", "y", "x").load()
    if 0 in rate.shape:
        raise RadarError(f"{path}: no data (shape {rate.shape}); the file is empty.")
    x, y = projected_axes(rate, path)
    if not np.issubdtype(rate["time"].dtype, np.datetime64):
        raise RadarError(
            f"{path}: `time` is not a date-time coordinate (CF units 'seconds since …')."
        )
    t = np.asarray(rate["time"].values, dtype="datetime64[ns]")
    check_times(t, str(path))
    attrs = {**file_attrs, **rate.attrs}
    for key in ("grid_mapping", "crs", "coordinates"):
        attrs.pop(key, None)
    if t.size > 1:
        step_s = float((t[1] - t[0]) / np.timedelta64(1, "s"))
        if "interval_s" in attrs and abs(float(attrs["interval_s"]) - step_s) > 1.0:
            raise RadarError(
                f"{path}: interval_s = {attrs['interval_s']} s but the frames are {step_s:g} s "
                "apart; fix the attribute."
            )
        attrs["interval_s"] = step_s
    elif "interval_s" not in attrs:
        raise RadarError(f"{path}: a single frame needs an interval_s attribute [s].")
    out = radar_array(rate.values, t, x, y, crs, interval_s=float(attrs["interval_s"]),
                      attrs=attrs)  # fmt: skip
    if "district" in rate.coords and rate["district"].dims == ("y", "x"):
        frac = np.asarray(rate["district"].values, dtype=float)
        out = out.assign_coords(district=(("y", "x"), frac, dict(rate["district"].attrs)))
    if "lon" in rate.coords and "lat" in rate.coords and rate["lon"].ndim == 2:
        cell = min(abs(float(x[1] - x[0])), abs(float(y[1] - y[0])))
        check_lonlat(out, rate["lon"].values, rate["lat"].values, str(path), cell)
    return out


def check_lonlat(radar: xr.DataArray, lon: Any, lat: Any, where: str, tolerance_m: float) -> None:
    """Raise RadarError (wrong CRS) where given lon/lat stray from the grid's own.

    Parameters
    ----------
    radar
        A radar array whose ``lon``/``lat`` come from its CRS.
    lon, lat
        The lon/lat a file stated for the same cells [deg], shape ``(y, x)``.
    where
        The file, for the message.
    tolerance_m
        Largest distance accepted [m] (a cell).
    """
    from twin.hydro.interpolation import haversine_m

    dist = haversine_m(lon, lat, radar["lon"].values, radar["lat"].values)
    worst = float(np.nanmax(dist))
    if not worst <= max(tolerance_m, 1.0):
        raise RadarError(
            f"{where}: wrong CRS: the file's lon/lat are up to {worst / 1000:.1f} km from where "
            "its CRS puts the cells; fix the grid_mapping (or the x/y units)."
        )
