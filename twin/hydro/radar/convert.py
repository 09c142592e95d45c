"""Convert the shared radar composites into the project's shipped NetCDF events.

For each event of :data:`twin.hydro.radar.events.EVENTS`: read every composite with
pysteps' importer, find the heaviest rain (the largest total depth averaged over a
64-km box, among windows that lie inside the radars' reach), cut a square window around
it (256 km at 1 km by default: room for two hours of advection around a 128-km nowcast
grid), and write it as compressed CF NetCDF (int16 packed at 0.01 mm/h, zlib) with its
provenance. KNMI and FMI keep their native 1-km polar stereographic grids; MRMS's
0.01° lon/lat grid is resampled onto a local 1-km Lambert azimuthal equal-area grid.
Only the converter needs the product readers (``h5py``, ``pygrib``); afterwards the
twin reads only the NetCDF files.

The result is deterministic: the same files give byte-identical NetCDF (no time stamp
is written).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy.ndimage import uniform_filter

from twin._types import FloatArray
from twin.hydro.radar.array import radar_array
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.events import (
    EVENT_NAMES,
    EVENTS,
    event_path,
    event_summary,
    radar_data_dir,
    shared_radar_dir,
)
from twin.hydro.radar.io import iter_frames, read_mrms_grib, scan_files
from twin.hydro.radar.netcdf import write_radar_netcdf

__all__ = ["convert_all", "convert_event", "find_storm_window", "write_readme"]

logger = logging.getLogger(__name__)

#: Side of the shipped window [km] and its cell [m].
CROP_KM = 256.0
CELL_M = 1000.0
#: Box over which the total depth is averaged to find the storm [km].
STORM_BOX_KM = 64.0
#: Least share of a window's cells with data in every frame.
MIN_VALID = 0.9

Progress = Callable[[int, int], None]


def find_storm_window(
    total: FloatArray, valid: FloatArray, n_crop: int, *, box: int
) -> tuple[int, int]:
    """Centre (row, column) of the window of ``n_crop`` cells around the heaviest rain.

    Parameters
    ----------
    total
        Total depth per cell [mm] (0 where there is no data).
    valid
        1 where a cell has data in every frame, else 0.
    n_crop
        Side of the window [cells].
    box
        Side of the box the depth is averaged over [cells].

    Returns
    -------
    row, col
        The centre, chosen among windows that lie inside the grid with at least 90 % of
        their cells valid (or, failing that, the most valid ones).
    """
    ny, nx = total.shape
    if n_crop > min(ny, nx):
        raise RadarError(f"a window of {n_crop} cells does not fit a grid of {ny} × {nx}.")
    smooth = uniform_filter(total, size=box, mode="constant")
    cover = uniform_filter(valid.astype(float), size=n_crop, mode="constant")
    half = n_crop // 2
    inside = np.zeros_like(total, dtype=bool)
    inside[half : ny - (n_crop - half) + 1, half : nx - (n_crop - half) + 1] = True
    ok = inside & (cover >= MIN_VALID)
    if not ok.any():
        best = cover[inside].max()
        logger.warning("no window is %d %% valid; using the most valid (%.0f %%)",
                       100 * MIN_VALID, 100 * best)  # fmt: skip
        ok = inside & (cover >= best - 1e-9)
    score = np.where(ok, smooth, -np.inf)
    row, col = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(row), int(col)


def _projected_event(name: str, files: list[Path], stamps: np.ndarray, step: float,
                     crop_km: float, progress: Progress | None) -> xr.DataArray:  # fmt: skip
    """Read a KNMI/FMI event, find the storm and cut the window (native grid)."""
    ev = EVENTS[name]
    frames = []
    fr = None
    for i, fr in enumerate(iter_frames(files, ev.product)):
        frames.append(fr.values)
        if progress:
            progress(i + 1, len(files))
    assert fr is not None
    stack = np.stack(frames)
    finite = np.isfinite(stack)
    total = np.where(finite, stack, 0.0).sum(axis=0) * fr.accutime_s / 3600.0
    cell = abs(float(fr.x[1] - fr.x[0]))
    n_crop = round(crop_km * 1000.0 / cell)
    row, col = find_storm_window(total, finite.all(axis=0).astype(float), n_crop,
                                 box=round(STORM_BOX_KM * 1000.0 / cell))  # fmt: skip
    r0, c0 = row - n_crop // 2, col - n_crop // 2
    rows, cols = slice(r0, r0 + n_crop), slice(c0, c0 + n_crop)
    interval = step or fr.accutime_s
    label = stamps - np.timedelta64(round(interval * 1e9), "ns")
    return radar_array(stack[:, rows, cols], label, fr.x[cols], fr.y[rows], fr.crs,
                       interval_s=interval)  # fmt: skip


def _mrms_event(name: str, files: list[Path], crop_km: float, cell_m: float,
                progress: Progress | None) -> xr.DataArray:  # fmt: skip
    """Find the storm on the 0.04° grid, then read the window at 0.01° onto 1-km LAEA."""
    total: FloatArray | None = None
    valid: FloatArray | None = None
    fr = None
    for i, fr in enumerate(iter_frames(files, "mrms_grib", window=4)):
        v = np.asarray(fr.values, dtype=float)
        ok = np.isfinite(v)
        total = np.where(ok, v, 0.0) + (0.0 if total is None else total)
        valid = ok.astype(float) * (1.0 if valid is None else valid)
        if progress:
            progress(i + 1, 2 * len(files))
    assert fr is not None and total is not None and valid is not None
    lat_mid = float(np.mean(fr.y))
    cell_km = abs(float(fr.y[1] - fr.y[0])) * 111.2 * np.cos(np.radians(lat_mid))
    n_crop = round(crop_km / cell_km)
    row, col = find_storm_window(total, valid, n_crop, box=round(STORM_BOX_KM / cell_km))
    centre = (float(fr.x[col]), float(fr.y[row]))
    logger.info("%s: storm window centred on %.3f, %.3f", name, *centre)
    radar = read_mrms_grib(files, centre=centre, size_km=crop_km, cell_m=cell_m)
    if progress:
        progress(2 * len(files), 2 * len(files))
    return radar


def convert_event(
    name: str,
    *,
    source_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    crop_km: float = CROP_KM,
    cell_m: float = CELL_M,
    progress: Progress | None = None,
) -> Path:
    """Convert one event's original composites into ``<out_dir>/<name>.nc``.

    Parameters
    ----------
    name
        One of :data:`twin.hydro.radar.events.EVENT_NAMES`.
    source_dir
        The shared radar folder (default ``../shared/data/radar``).
    out_dir
        Where to write (default ``data/radar``).
    crop_km
        Side of the square window around the heaviest rain [km].
    cell_m
        Cell of the MRMS output grid [m] (KNMI and FMI keep their 1-km grids).
    progress
        Called with (done, total) frames.

    Returns
    -------
    pathlib.Path
        The NetCDF file.

    Raises
    ------
    RadarError, InputFileNotFoundError
        Unknown event, missing or bad files.
    """
    if name not in EVENTS:
        raise RadarError(f"unknown radar event {name!r}; choose from {', '.join(EVENT_NAMES)}.")
    ev = EVENTS[name]
    folder = Path(source_dir or shared_radar_dir()) / ev.folder
    if not folder.is_dir():
        raise RadarError(f"{folder}: no such folder of {ev.institution} composites; pass the "
                         "shared data/radar folder as source_dir.")  # fmt: skip
    files, stamps, step = scan_files(folder, ev.product)
    if ev.product == "mrms_grib":
        radar = _mrms_event(name, files, crop_km, cell_m, progress)
    else:
        radar = _projected_event(name, files, stamps, step, crop_km, progress)
    names = [f.name for f in files]
    radar.attrs |= ev.attrs()
    radar.attrs["original_files"] = f"{ev.folder}/{names[0]} … {names[-1]} ({len(names)} files)"
    lon_c = float(radar["lon"].values[radar.sizes["y"] // 2, radar.sizes["x"] // 2])
    lat_c = float(radar["lat"].values[radar.sizes["y"] // 2, radar.sizes["x"] // 2])
    global_attrs = {
        "title": f"Radar rain rate, {name} ({ev.institution}, {ev.origin}) — not Hangzhou",
        "event": name,
        "institution": ev.institution,
        "source": ev.source,
        "licence": ev.licence,
        "attribution": ev.attribution,
        "origin": ev.origin,
        "not_hangzhou": ev.attrs()["not_hangzhou"],
        "original_files": radar.attrs["original_files"],
        "original_source": "pysteps example data (pySTEPS/pysteps-data), files unmodified",
        "processing": (
            f"read with pysteps importers; {radar.sizes['y']} x {radar.sizes['x']} cells "
            f"cropped around the heaviest rain (window centre {lon_c:.3f}E {lat_c:.3f}N); "
            "stamps relabelled to interval starts; packed as int16 at 0.01 mm/h; by "
            "twin.hydro.radar.convert"
        ),
        "references": "Pulkkinen et al. (2019), Geosci. Model Dev. 12, 4185-4219 (pysteps)",
    }
    path = event_path(name, out_dir)
    write_radar_netcdf(radar, path, attrs=global_attrs)
    logger.info("%s: wrote %s (%.1f MB)", name, path, path.stat().st_size / 1e6)
    return path


def convert_all(
    *,
    source_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    events: tuple[str, ...] = EVENT_NAMES,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Path]:
    """Convert every event and write ``README.md`` beside them.

    Parameters
    ----------
    source_dir
        The shared radar folder (default ``../shared/data/radar``).
    out_dir
        Where to write (default ``data/radar``).
    events
        The events to convert.
    progress
        Called with (event, done, total) frames.
    """
    out = Path(out_dir or radar_data_dir())
    paths = []
    for name in events:
        report = (lambda d, t, n=name: progress(n, d, t)) if progress else None
        paths.append(convert_event(name, source_dir=source_dir, out_dir=out, progress=report))
    write_readme(out)
    return paths


def write_readme(folder: str | Path | None = None) -> Path:
    """Write ``README.md`` of the shipped radar folder: one row per event found there."""
    from twin.hydro.radar.netcdf import read_radar_netcdf

    folder = Path(folder or radar_data_dir())
    rows = []
    total = 0
    for name in EVENT_NAMES:
        path = event_path(name, folder)
        if not path.is_file():
            continue
        radar = read_radar_netcdf(path)
        s = event_summary(radar)
        ev = EVENTS[name]
        size = path.stat().st_size
        total += size
        end = s["end"] + pd.Timedelta(minutes=s["step_min"])
        span = f"{s['start']:%Y-%m-%d %H:%M}–" + (
            f"{end:%H:%M}" if end.date() == s["start"].date() else f"{end:%Y-%m-%d %H:%M}"
        )
        mid_y, mid_x = radar.sizes["y"] // 2, radar.sizes["x"] // 2
        lon = float(radar["lon"].values[mid_y, mid_x])
        lat = float(radar["lat"].values[mid_y, mid_x])
        centre = (
            f"{abs(lon):.2f}°{'E' if lon >= 0 else 'W'} {abs(lat):.2f}°{'N' if lat >= 0 else 'S'}"
        )
        rows.append(
            f"| `{name}.nc` | {ev.source}; fell on {ev.origin} (window centre {centre}) | "
            f'{ev.licence} — "{ev.attribution}" | {s["grid"]} | {s["step_min"]:g} min | '
            f"{span} UTC ({s['steps']} steps) | "
            f"{s['peak_mm_h']:.0f} mm/h, {s['max_depth_mm']:.0f} mm | {size / 1e6:.2f} MB |"
        )
    header = (
        "| file | what | licence / attribution | grid | step | span (UTC, interval starts) | "
        "peak rate, max cell depth | size |"
    )
    text = _README.format(header=header, rows="\n".join(rows), total=total / 1e6)
    path = folder / "README.md"
    path.write_text(text, encoding="utf-8")
    return path


_README = """# Radar rain events (real, not Hangzhou)

Real weather-radar rain sequences for nowcasting and for driving the waterlogging model
with rain that moves and varies in space. **None of these storms fell on Hangzhou.** The
twin uses them over Gongshu only by *storm transposition* (`twin.hydro.radar.transpose`):
a window of the field is placed over the district, and every figure, table and attribute
says where the rain came from ("radar from KNMI, the Netherlands, transposed over
Gongshu"). Nothing here was measured by this project.

{header}
|---|---|---|---|---|---|---|---|
{rows}

Total: {total:.1f} MB.

## Where they come from

The original composites are the public pysteps example data (pySTEPS/pysteps-data), kept
unmodified in the shared data folder (`../shared/data/radar`). `twin rain radar convert`
(`twin.hydro.radar.convert`) made these files:

- read every composite with pysteps' importers (`import_knmi_hdf5`, `import_fmi_pgm` with
  reflectivity converted to rain rate by Marshall–Palmer, Z = 200 R^1.6,
  `import_mrms_grib` at 0.01° via `pygrib`);
- find the heaviest rain (largest total depth averaged over a 64-km box, among windows
  with data in at least 90 % of their cells in every frame) and cut a 256 km square
  around it: KNMI and FMI on their own 1-km polar stereographic grids; MRMS resampled
  (3 × 3 sub-samples per cell) onto a 1-km Lambert azimuthal equal-area grid;
- relabel each product's time stamp (the end of its interval: a KNMI accumulation up to
  that time, an FMI or MRMS scan at that time) to the start of the interval, as all rain
  in the twin;
- write CF-1.8 NetCDF: `rain_rate` [mm h-1] packed as int16 at 0.01 mm/h, zlib, with a
  CF grid mapping (`crs`), 2-D `lon`/`lat`, and the provenance in the attributes. Cells
  outside the radars' reach are missing values, not zero.

The FMI composites contain some residual ground clutter (a few cells of persistent
echo), as published.

## Licences

- KNMI: KNMI open data, CC BY 4.0 — "Source: KNMI (Royal Netherlands Meteorological
  Institute)".
- FMI: FMI open data, CC BY 4.0 — "Source: Finnish Meteorological Institute".
- MRMS: work of the US Government, public domain — "Source: NOAA/NSSL MRMS".
"""
