"""The data model of radar rain: one ``rain_rate`` DataArray on a projected grid.

Every radar sequence in the twin is one :class:`xarray.DataArray`, the grid case of
:mod:`twin.hydro.rainfall`:

- name ``rain_rate`` [mm/h], attributes ``units = "mm h-1"``, ``interval_s`` [s],
  ``crs`` (the WKT string of the grid's coordinate reference system) and provenance
  (``source``, ``institution``, ``licence``, ``attribution``, ``origin``);
- dims ``(time, y, x)``; ``x`` and ``y`` the cell centres [m] of a **projected** CRS
  (``y`` decreasing: the first row is the northern edge, as pysteps' ``yorigin =
  "upper"``); 2-D coordinates ``lon(y, x)`` and ``lat(y, x)`` [deg, WGS84], so that
  :func:`twin.hydro.interpolation.rain_at_points` takes the nearest cell;
- missing data (outside the radars' reach) NaN, never 0.

Time convention
---------------
As for all rain in the twin, ``time`` is timezone-naive UTC (attribute
``timezone = "UTC"``) and each label is the **start** of the interval whose mean rate is
the value. A radar product stamped ``s`` describes the interval that **ends** at ``s``:

- an accumulation (KNMI: the depth in the 5 minutes up to ``s``) is exactly the mean
  rate of ``[s - Δt, s)``;
- an instantaneous rate (FMI reflectivity, MRMS ``PrecipRate``, scanned at ``s``) is
  taken as the mean rate of the interval ``[s - Δt, s)`` that it closes, ``Δt`` being the
  step between scans.

So the value labelled ``t`` is known at ``t + interval_s``, and a nowcast issued at
``T`` has seen the frames labelled up to ``T - interval_s`` (:mod:`.nowcast`).

Reflectivity ``Z`` [dBZ] becomes rain rate by the Marshall–Palmer relation
``Z = 200 R^1.6`` (``pysteps.utils.conversion.to_rainrate``) unless other coefficients
are given.

References
----------
Marshall, J. S. and Palmer, W. McK. (1948). The distribution of raindrops with size.
*J. Meteor.* 5, 165–166.

Pulkkinen, S. et al. (2019). Pysteps: an open-source Python library for probabilistic
precipitation nowcasting (v1.0). *Geosci. Model Dev.* 12, 4185–4219.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr
from pyproj import CRS

from twin._types import FloatArray
from twin.hydro.radar._pysteps import pysteps_module
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.grid import crs_string, lonlat_grid, parse_crs
from twin.hydro.rainfall import RAIN_ATTRS

__all__ = [
    "MARSHALL_PALMER",
    "TIME_CONVENTION",
    "check_times",
    "radar_array",
    "radar_caption",
    "radar_crs",
    "reflectivity_to_rain_rate",
    "to_utc",
]

#: Marshall–Palmer Z-R coefficients (Z = a R^b, Z in mm^6 m^-3, R in mm/h).
MARSHALL_PALMER: tuple[float, float] = (200.0, 1.6)
#: The ``time_convention`` attribute of every radar array.
TIME_CONVENTION = (
    "label = start of the interval [t, t + interval_s) whose mean rate is the value; a "
    "product stamped s (accumulation up to s, or scan at s) gives the label s - interval_s"
)


def radar_crs(radar: xr.DataArray) -> CRS:
    """The coordinate reference system of a radar array (its ``crs`` attribute).

    Raises
    ------
    RadarError
        No ``crs`` attribute, or not a CRS.
    """
    return parse_crs(radar.attrs.get("crs"), f"radar array {radar.name!r}")


def _time_attrs() -> dict[str, str]:
    return {
        "standard_name": "time",
        "long_name": "start of the interval (UTC)",
        "timezone": "UTC",
        "local_timezone": "UTC",
    }


def radar_array(
    values: npt.ArrayLike,
    time: npt.ArrayLike,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    crs: CRS,
    *,
    interval_s: float,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Build a radar ``rain_rate`` array in the twin's representation.

    Parameters
    ----------
    values
        Rain rate [mm/h], shape ``(time, y, x)``; NaN where unknown.
    time
        Interval starts (naive UTC, see the module's time convention).
    x, y
        Cell centres [m] in ``crs``.
    crs
        A projected CRS.
    interval_s
        The step of ``time`` [s].
    attrs
        Provenance attributes (``source``, ``licence``, ...).

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(time, y, x)`` with ``lon``/``lat`` (y, x).
    """
    xv = np.asarray(x, dtype=float)
    yv = np.asarray(y, dtype=float)
    data = np.asarray(values, dtype=float)
    lon, lat = lonlat_grid(xv, yv, crs)
    t = pd.DatetimeIndex(np.asarray(time, dtype="datetime64[ns]")).to_numpy()
    x_attrs = {"standard_name": "projection_x_coordinate", "units": "m", "axis": "X"}
    y_attrs = {"standard_name": "projection_y_coordinate", "units": "m", "axis": "Y"}
    return xr.DataArray(
        data,
        dims=("time", "y", "x"),
        coords={
            "time": ("time", t, _time_attrs()),
            "y": ("y", yv, y_attrs),
            "x": ("x", xv, x_attrs),
            "lon": (("y", "x"), lon, {"standard_name": "longitude", "units": "degrees_east"}),
            "lat": (("y", "x"), lat, {"standard_name": "latitude", "units": "degrees_north"}),
        },
        name="rain_rate",
        attrs={
            **RAIN_ATTRS,
            "interval_s": float(interval_s),
            "time_convention": TIME_CONVENTION,
            **dict(attrs or {}),
            "crs": crs_string(crs),
        },
    )


def radar_caption(radar: xr.DataArray) -> str:
    """One line naming where the radar rain comes from, for titles and tables.

    For example ``"radar from KNMI, the Netherlands (2010-08-26), transposed over
    Gongshu"``.
    """
    who = str(radar.attrs.get("institution_short") or radar.attrs.get("institution", "radar"))
    origin = radar.attrs.get("origin")
    when = ""
    if radar.attrs.get("radar_begin"):  # moved onto a scenario's clock: the real date
        when = f" ({pd.Timestamp(str(radar.attrs['radar_begin'])):%Y-%m-%d})"
    elif "time" in radar.coords and radar.sizes.get("time", 0):
        when = f" ({pd.Timestamp(radar['time'].values[0]):%Y-%m-%d})"
    text = f"radar from {who}" + (f", {origin}" if origin else "") + when
    if radar.attrs.get("transposed_over"):
        text += f", transposed over {radar.attrs['transposed_over']}"
    return text


def check_times(stamps: npt.ArrayLike, where: str) -> None:
    """Raise :class:`RadarError` for unsorted, duplicate, missing or irregular times.

    Parameters
    ----------
    stamps
        Times (``datetime64``).
    where
        The file or folder, for the message.
    """
    t = np.asarray(stamps, dtype="datetime64[ns]")
    if t.size < 2:
        return
    index = pd.Index(t)
    dup = index[index.duplicated()]
    if len(dup):
        shown = ", ".join(str(d) for d in dup[:5])
        raise RadarError(f"{where}: duplicate time(s) {shown}; keep one frame per time.")
    if np.any(np.diff(t) < np.timedelta64(0, "ns")):
        raise RadarError(f"{where}: times are not in increasing order; sort the frames by time.")
    steps = np.diff(t)
    step = steps.min()
    bad = np.flatnonzero(steps != step)
    if bad.size:
        i = int(bad[0])
        gap = float(steps[i] / np.timedelta64(1, "s")) / 60.0
        raise RadarError(
            f"{where}: irregular or missing times: {t[i]} to {t[i + 1]} is {gap:g} min where "
            f"the step is {float(step / np.timedelta64(1, 's')) / 60.0:g} min ({bad.size} "
            "gap(s)); supply the missing frames or cut the sequence at the gap."
        )


def reflectivity_to_rain_rate(
    dbz: npt.ArrayLike,
    *,
    zr_a: float = MARSHALL_PALMER[0],
    zr_b: float = MARSHALL_PALMER[1],
    threshold_dbz: float | None = None,
) -> FloatArray:
    """Rain rate [mm/h] from reflectivity [dBZ] by ``Z = a R^b``.

    Uses ``pysteps.utils.conversion.to_rainrate``. Echoes below ``threshold_dbz`` (the
    product's "no echo" level) give 0; NaN stays NaN.

    Parameters
    ----------
    dbz
        Reflectivity [dBZ].
    zr_a, zr_b
        Z-R coefficients [-] (default Marshall–Palmer, 200 and 1.6).
    threshold_dbz
        Reflectivity below which there is no rain [dBZ].

    References
    ----------
    Marshall, J. S. and Palmer, W. McK. (1948). The distribution of raindrops with size.
    *J. Meteor.* 5, 165–166.
    """
    if not (zr_a > 0 and zr_b > 0):
        raise RadarError(f"Z-R coefficients must be positive (got a = {zr_a}, b = {zr_b}).")
    conversion = pysteps_module("pysteps.utils.conversion")
    z = np.asarray(dbz, dtype=float)
    meta = {"unit": "dBZ", "transform": "dB", "threshold": -np.inf, "zerovalue": -np.inf}
    meta["accutime"] = 5.0
    rate, _ = conversion.to_rainrate(z.copy(), meta, zr_a=zr_a, zr_b=zr_b)
    out = np.asarray(rate, dtype=float)
    if threshold_dbz is not None:
        out[z < threshold_dbz] = 0.0
    return out


def to_utc(value: Any) -> np.datetime64:
    """A time as naive UTC ``datetime64[ns]`` (an aware time is converted to UTC)."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise RadarError(f"issue time {value!r} is not a time (give ISO 8601, UTC).") from exc
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    out: np.datetime64 = ts.as_unit("ns").to_datetime64()
    return out
