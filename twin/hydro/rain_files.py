"""A scenario's rain file (``rain.kind: file``), read over the network and checked.

:func:`file_rain` reads a gauge CSV (:mod:`twin.hydro.rain_gauges`) or a CF NetCDF file
(:mod:`twin.hydro.rain_netcdf`) with the options of ``rain.file_options``, crops a grid
to the network's area before loading it, takes the rain at the network's points
(gauges with positions by inverse distance weighting, a grid by its nearest cell,
gauges without positions as an areal mean), applies the declared policy for missing
steps, and says in its attributes what it did: the step, the unit conversion, the crop,
and how many steps were missing. Every summary of file rain (``twin rain show``) is
made from this: the rain over the district, never over the file's extent.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import xarray as xr

from twin._types import FloatArray
from twin.errors import ScenarioError
from twin.hydro.rain_gauges import NEA_COLUMNS, read_gauge_csv
from twin.hydro.rain_netcdf import read_netcdf
from twin.hydro.rain_steps import RAIN_ATTRS, fill_missing, format_seconds
from twin.scenario import RainFileConfig

__all__ = ["OPTION_PREFIX", "file_rain", "network_bbox", "read_rain_file", "resolve_path"]

logger = logging.getLogger(__name__)

#: Where the reader options live in a scenario (for messages).
OPTION_PREFIX = "rain.file_options."
_NETCDF = (".nc", ".nc4", ".netcdf", ".cdf")


def resolve_path(file: str, base_dir: Path | None) -> Path:
    """A rain file's path, relative to the scenario's folder when it exists there."""
    path = Path(file)
    if not path.is_absolute() and base_dir is not None and (base_dir / path).exists():
        return base_dir / path
    return path


def read_rain_file(
    path: str | Path,
    options: RainFileConfig | None = None,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    timezone: str = "UTC",
) -> xr.DataArray:
    """A rain file as ``rain_rate`` [mm/h] on its own step, missing steps still NaN.

    Parameters
    ----------
    path
        A gauge CSV (``.csv``, ``.csv.gz``) or a CF NetCDF file (``.nc``).
    options
        The reader options (default: all inferred or from the file).
    bbox
        ``(lon_min, lat_min, lon_max, lat_max)`` [deg]: a grid is cropped to it before
        loading, and must cover it.
    timezone
        Zone of naive CSV timestamps when ``options.timezone`` is unset.
    """
    opts = options or RainFileConfig()
    path = Path(path)
    if path.suffix.lower() in _NETCDF:
        return read_netcdf(
            path, variable=opts.variable, units=opts.units, interval=opts.interval,
            time_label=opts.time_label or "start", bbox=bbox, margin_cells=opts.margin_cells,
            option_prefix=OPTION_PREFIX,
        )  # fmt: skip
    columns = (opts.station_col, opts.value_col, opts.time_col)
    zone = opts.timezone or ("Asia/Singapore" if columns == NEA_COLUMNS else timezone)
    return read_gauge_csv(
        path, timezone=zone, interval=opts.interval, units=opts.units,
        time_label=opts.time_label or "end", station_col=opts.station_col,
        value_col=opts.value_col, time_col=opts.time_col, lon_col=opts.lon_col,
        lat_col=opts.lat_col, option_prefix=OPTION_PREFIX,
    )  # fmt: skip


def network_bbox(lon: FloatArray, lat: FloatArray) -> tuple[float, float, float, float]:
    """The bounding box of points [deg]."""
    return float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))


def file_rain(
    path: str | Path,
    options: RainFileConfig | None = None,
    *,
    lon: FloatArray | None = None,
    lat: FloatArray | None = None,
    timezone: str = "UTC",
) -> xr.DataArray:
    """The rain of a file over the network's points, on the file's own step [mm/h].

    Parameters
    ----------
    path
        The rain file.
    options
        ``rain.file_options``.
    lon, lat
        WGS84 positions of the network's points [deg] (the low points of a run). A grid
        needs them; gauges with positions are interpolated to them.
    timezone
        Zone of naive CSV timestamps when ``options.timezone`` is unset (the scenario's).

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], ``(time, point)`` or ``(time,)`` (uniform rain), no NaN
        left; attributes ``interval_s``, ``converted_from``, ``missing_steps`` (steps
        with no value at some point, before the policy), ``missing_policy`` and, for a
        grid, ``cropped_to``.

    Raises
    ------
    ScenarioError
        Everything :func:`read_rain_file` refuses; a grid without the points; missing
        steps under the policy ``error``.
    """
    opts = options or RainFileConfig()
    path = Path(path)
    placed = lon is not None and lat is not None
    bbox = network_bbox(np.asarray(lon), np.asarray(lat)) if placed else None
    rain = read_rain_file(path, opts, bbox=bbox, timezone=timezone)
    spatial = [d for d in rain.dims if d != "time"]
    has_xy = "lon" in rain.coords and "lat" in rain.coords
    if spatial and has_xy and placed:
        from twin.hydro.interpolation import rain_at_points

        at = rain_at_points(rain, np.asarray(lon), np.asarray(lat))
    elif {"y", "x"} <= set(spatial):
        raise ScenarioError(
            f"{path}: a rain grid needs the network's points to be read over the district."
        )
    elif spatial:
        at = rain.mean(dim=spatial, skipna=True)  # gauges without positions: areal mean
    else:
        at = rain
    values, n_missing = fill_missing(
        np.asarray(at.values, dtype=float), opts.missing, where=str(path),
        option=f"{OPTION_PREFIX}missing", times=at.get_index("time"),
    )  # fmt: skip
    out = at.copy(data=values)
    out.name = "rain_rate"
    out.attrs = {
        **{k: v for k, v in rain.attrs.items() if k in ("converted_from", "cropped_to", "source")},
        **RAIN_ATTRS,
        "interval_s": float(rain.attrs["interval_s"]),
        "missing_steps": n_missing,
        "missing_policy": opts.missing,
        "source_file": str(path),
    }
    out["time"].attrs = dict(rain["time"].attrs)
    logger.info(
        "rain file %s: step %s, %s, %d missing step(s) (%s)%s", path,
        format_seconds(out.attrs["interval_s"]), out.attrs.get("converted_from", "?"), n_missing,
        opts.missing, f"; cropped to {rain.attrs['cropped_to']}" if "cropped_to" in rain.attrs
        else "",
    )  # fmt: skip
    return out
