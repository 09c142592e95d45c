"""The shipped radar events: real storms from KNMI, FMI and NOAA/NSSL MRMS.

Four real radar sequences, each converted (:mod:`.convert`) from the public pysteps
example data into a cropped, compressed CF NetCDF in ``data/radar/<event>.nc``. None
fell on Hangzhou: they are used over Gongshu only by transposition
(:mod:`.transpose`), and every figure and attribute says where they came from.

=============  ==========================================  ====================================
event          what (file times, UTC)                      licence, attribution
=============  ==========================================  ====================================
knmi-20100826  KNMI composite, 5-min accumulations, the    CC BY 4.0, "Source: KNMI (Royal
               Netherlands, 2010-08-26 00:00–07:35         Netherlands Meteorological Institute)"
fmi-20160928   FMI composite reflectivity, Finland,        CC BY 4.0, "Source: Finnish
               2016-09-28 14:45–18:00 (convective)         Meteorological Institute"
fmi-20170509   FMI composite reflectivity, Finland,        CC BY 4.0, "Source: Finnish
               2017-05-09 10:45–14:00                      Meteorological Institute"
mrms-20190610  NOAA/NSSL MRMS PrecipRate, Texas, USA,      US Government work, public domain,
               2019-06-10 00:00–01:10, 2-min steps         "Source: NOAA/NSSL MRMS"
=============  ==========================================  ====================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from twin.errors import InputFileNotFoundError
from twin.hydro.radar.errors import RadarError

__all__ = [
    "EVENTS",
    "EVENT_NAMES",
    "RadarEvent",
    "event_path",
    "event_summary",
    "load_event",
    "radar_data_dir",
    "shared_radar_dir",
]


@dataclass(frozen=True)
class RadarEvent:
    """A real radar event the project ships (its provenance).

    Attributes
    ----------
    name
        Stable id, ``<source>-<yyyymmdd>``.
    product
        Reader (``knmi_hdf5``, ``fmi_pgm``, ``mrms_grib``).
    folder
        Where the original files are, relative to the shared ``data/radar`` folder.
    institution
        Short name of who made it (``KNMI``).
    origin
        Where it fell (``the Netherlands``): never Hangzhou.
    source
        What the product is.
    licence, attribution
        Terms that must ship with it.
    """

    name: str
    product: str
    folder: str
    institution: str
    origin: str
    source: str
    licence: str
    attribution: str

    def attrs(self) -> dict[str, str]:
        """Provenance attributes for arrays and files."""
        return {
            "event": self.name,
            "institution_short": self.institution,
            "origin": self.origin,
            "source": self.source,
            "licence": self.licence,
            "attribution": self.attribution,
            "not_hangzhou": (
                f"This storm fell on {self.origin}, not on Hangzhou; over Gongshu it is only "
                "used transposed (storm transposition), and every figure says so."
            ),
        }


_FMI = dict(
    product="fmi_pgm",
    institution="FMI",
    origin="Finland",
    source="FMI radar composite of Finland, lowest-elevation reflectivity [dBZ], 1 km, 5 min; "
    "rain rate by Marshall-Palmer Z = 200 R^1.6",
    licence="CC BY 4.0 (FMI open data)",
    attribution="Source: Finnish Meteorological Institute",
)
#: The shipped events, by name.
EVENTS: dict[str, RadarEvent] = {
    "knmi-20100826": RadarEvent(
        name="knmi-20100826",
        product="knmi_hdf5",
        folder="knmi/2010/08",
        institution="KNMI",
        origin="the Netherlands",
        source="KNMI national radar composite (RAD_NL25_RAP), 5-min rain accumulations, 1 km",
        licence="CC BY 4.0 (KNMI open data)",
        attribution="Source: KNMI (Royal Netherlands Meteorological Institute)",
    ),
    "fmi-20160928": RadarEvent(name="fmi-20160928", folder="fmi/20160928", **_FMI),
    "fmi-20170509": RadarEvent(name="fmi-20170509", folder="fmi/20170509", **_FMI),
    "mrms-20190610": RadarEvent(
        name="mrms-20190610",
        product="mrms_grib",
        folder="mrms/2019/06/10",
        institution="NOAA/NSSL MRMS",
        origin="Texas, the United States",
        source="NOAA/NSSL Multi-Radar Multi-Sensor PrecipRate [mm/h], 0.01 deg, 2 min, "
        "resampled to a 1-km Lambert azimuthal equal-area grid",
        licence="US Government work, public domain",
        attribution="Source: NOAA/NSSL MRMS",
    ),
}
EVENT_NAMES: tuple[str, ...] = tuple(EVENTS)


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def radar_data_dir() -> Path:
    """The shipped radar folder: ``$TWIN_DATA_DIR/radar``, else ``data/radar``.

    The same rule as :func:`twin.network.build.data_dir` (repeated here so that listing
    events does not import the road-network stack).
    """
    root = os.environ.get("TWIN_DATA_DIR")
    return (Path(root) if root else _repo_root() / "data") / "radar"


def shared_radar_dir() -> Path:
    """The original composites: ``$TWIN_SHARED_DIR/data/radar``, else ``../shared/data/radar``.

    ``../shared`` is the shared data folder beside the repository's clone.
    """
    root = os.environ.get("TWIN_SHARED_DIR")
    base = Path(root) if root else _repo_root().parent / "shared"
    return base / "data" / "radar"


def _event(name: str) -> RadarEvent:
    if name not in EVENTS:
        raise RadarError(f"unknown radar event {name!r}; choose from {', '.join(EVENT_NAMES)}.")
    return EVENTS[name]


def event_path(name: str, folder: str | Path | None = None) -> Path:
    """The NetCDF file of a shipped event (``data/radar/<name>.nc``)."""
    _event(name)
    return Path(folder or radar_data_dir()) / f"{name}.nc"


def load_event(name: str, *, folder: str | Path | None = None) -> xr.DataArray:
    """Read a shipped radar event.

    Parameters
    ----------
    name
        One of :data:`EVENT_NAMES`.
    folder
        Where the NetCDF files are (default ``data/radar``).

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(time, y, x)`` on the event's projected grid
        (:mod:`twin.hydro.radar.array`), with provenance attributes (``event``,
        ``origin``, ``licence``, ``attribution``, ...).

    Raises
    ------
    RadarError
        An unknown event, or a file that fails validation.
    InputFileNotFoundError
        The file is missing (convert it with ``twin rain radar convert``).
    """
    from twin.hydro.radar.netcdf import read_radar_netcdf

    path = event_path(name, folder)
    if not path.is_file():
        raise InputFileNotFoundError(
            f"{path}: radar event {name!r} is not there; convert the shared composites with "
            "`twin rain radar convert` (see data/radar/README.md)."
        )
    radar = read_radar_netcdf(path)
    radar.attrs = {**radar.attrs, **_event(name).attrs(), "event": name}
    return radar


def event_summary(radar: xr.DataArray) -> dict[str, Any]:
    """Facts about a radar sequence: span, step, grid, peak rate and depth.

    Returns
    -------
    dict
        ``event``, ``start`` / ``end`` (interval starts, UTC), ``steps``, ``step_min``
        [min], ``grid`` (``"256 × 256 × 1.0 km"``), ``peak_mm_h`` (largest cell rate),
        ``max_depth_mm`` (largest cell depth over the event), ``mean_depth_mm`` (areal
        mean depth over the valid cells), ``wet_fraction`` (share of valid cell-steps
        with at least 0.1 mm/h) and ``valid_fraction`` (share of cell-steps with data).
    """
    values = np.asarray(radar.transpose("time", "y", "x").values, dtype=float)
    dt_h = float(radar.attrs["interval_s"]) / 3600.0
    finite = np.isfinite(values)
    depth = np.where(finite, values, 0.0).sum(axis=0) * dt_h
    valid_cells = finite.any(axis=0)
    t = pd.DatetimeIndex(radar["time"].values)
    cell_km = abs(float(radar["x"].values[1] - radar["x"].values[0])) / 1000.0
    return {
        "event": str(radar.attrs.get("event", "")),
        "start": t[0],
        "end": t[-1],
        "steps": int(values.shape[0]),
        "step_min": float(radar.attrs["interval_s"]) / 60.0,
        "grid": f"{values.shape[1]} × {values.shape[2]} × {cell_km:.3g} km",
        "peak_mm_h": float(np.max(values[finite])) if finite.any() else float("nan"),
        "max_depth_mm": float(depth.max()),
        "mean_depth_mm": float(depth[valid_cells].mean()) if valid_cells.any() else 0.0,
        "wet_fraction": float((values[finite] >= 0.1).mean()) if finite.any() else 0.0,
        "valid_fraction": float(finite.mean()),
    }
