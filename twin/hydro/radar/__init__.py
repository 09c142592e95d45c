"""Weather-radar rain: real radar storms transposed over the district, nowcasts, scores.

Real radar sequences (KNMI, FMI, NOAA/NSSL MRMS; none fell on Hangzhou) are read with
pysteps' importers into one ``rain_rate`` representation (:mod:`.array`), shipped as
cropped CF NetCDF events (:mod:`.convert`, :mod:`.events`), placed over the district by
storm transposition (:mod:`.transpose`), enumerated into a catalogue of heavy storms
(:mod:`.catalogue`), nowcast 5–120 minutes ahead with pysteps (:mod:`.nowcast`,
:mod:`.external`) and verified (:mod:`.verify`). Figures are in :mod:`.plots`, the
command line in :mod:`.cli`.

The names below are imported on first use, so ``import twin.hydro.radar`` stays cheap
(pysteps is imported only inside the functions that need it). The nowcast function is
``twin.hydro.radar.nowcast.nowcast`` (``twin.hydro.radar.nowcast`` is its module).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twin.hydro.radar.array import radar_array, radar_caption, radar_crs
    from twin.hydro.radar.catalogue import RadarCatalogue, storm_catalogue
    from twin.hydro.radar.errors import RadarError
    from twin.hydro.radar.events import EVENT_NAMES, event_summary, load_event
    from twin.hydro.radar.external import read_external_nowcast, write_nowcast
    from twin.hydro.radar.io import read_radar
    from twin.hydro.radar.netcdf import read_radar_netcdf, write_radar_netcdf
    from twin.hydro.radar.nowcast import NOWCAST_METHODS, nowcast_at_points, nowcast_to_rain
    from twin.hydro.radar.transpose import (
        District,
        district_rain,
        radar_at_points,
        transpose_radar,
        transposed_rain_at_points,
    )
    from twin.hydro.radar.verify import verify_nowcast

__all__ = [
    "EVENT_NAMES",
    "NOWCAST_METHODS",
    "District",
    "RadarCatalogue",
    "RadarError",
    "district_rain",
    "event_summary",
    "load_event",
    "nowcast_at_points",
    "nowcast_to_rain",
    "radar_array",
    "radar_at_points",
    "radar_caption",
    "radar_crs",
    "read_external_nowcast",
    "read_radar",
    "read_radar_netcdf",
    "storm_catalogue",
    "transpose_radar",
    "transposed_rain_at_points",
    "verify_nowcast",
    "write_nowcast",
    "write_radar_netcdf",
]

_WHERE = {
    "radar_array": "array", "radar_caption": "array", "radar_crs": "array",
    "RadarCatalogue": "catalogue", "storm_catalogue": "catalogue",
    "RadarError": "errors",
    "EVENT_NAMES": "events", "event_summary": "events", "load_event": "events",
    "read_external_nowcast": "external", "write_nowcast": "external",
    "read_radar": "io",
    "read_radar_netcdf": "netcdf", "write_radar_netcdf": "netcdf",
    "NOWCAST_METHODS": "nowcast", "nowcast_at_points": "nowcast",
    "nowcast_to_rain": "nowcast",
    "District": "transpose", "district_rain": "transpose", "radar_at_points": "transpose",
    "transpose_radar": "transpose", "transposed_rain_at_points": "transpose",
    "verify_nowcast": "verify",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"twin.hydro.radar.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
