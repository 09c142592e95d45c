"""Where a run's rain comes from: a design storm, a catalogued event, a file, or radar.

Each source gives ``rain_rate`` [mm/h] at the hydrology step for every low point. A
design storm and a catalogued event fall uniformly on the district (the shipped gauge
records have no station coordinates). A file brings its own space: gauges with
``lon``/``lat`` coordinates are interpolated to the points by inverse distance
weighting, a grid by its nearest cell; gauges without coordinates are averaged (an
areal mean). A radar event is transposed over the network's area
(:mod:`twin.hydro.radar.transpose`) and each point takes the rain of its cell: rain that
moves across the district and differs from point to point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from twin._types import FloatArray
from twin.errors import ScenarioError
from twin.hydro import rainfall, storms
from twin.scenario import RainConfig, RainFileConfig

__all__ = [
    "event_series",
    "file_notes",
    "file_series",
    "radar_storm",
    "scenario_rain",
    "scenario_storm",
    "series_from_values",
    "transposed_storm",
]


def series_from_values(values: FloatArray, dt: float) -> xr.DataArray:
    """A ``rain_rate`` series [mm/h] on a time-since-start axis with step ``dt`` [s]."""
    elapsed = np.arange(values.shape[0], dtype=float) * dt
    time = pd.to_timedelta(elapsed, unit="s").to_numpy(dtype="timedelta64[ns]")
    return xr.DataArray(
        np.asarray(values, dtype=float),
        dims=("time",),
        coords={"time": time, "elapsed": ("time", elapsed, {"units": "s"})},
        name="rain_rate",
        attrs={**rainfall.RAIN_ATTRS, "interval_s": float(dt)},
    )


def event_series(event_id: str) -> xr.DataArray:
    """The hyetograph of one event of the shipped storm catalogue (5-min, real times)."""
    cat = storms.load_catalogue()
    row = cat[cat["event_id"] == event_id]
    if row.empty:
        deepest = cat.sort_values("depth_mm", ascending=False)["event_id"].head(5).tolist()
        raise ScenarioError(
            f"rain.event: no event {event_id!r} in the storm catalogue; list them with "
            f"`twin rain events` (the deepest are {', '.join(deepest)})"
        )
    event = row.iloc[0]
    months = sorted({pd.Timestamp(event["start"]).strftime("%Y-%m"),
                     pd.Timestamp(event["end"]).strftime("%Y-%m")})  # fmt: skip
    return storms.storm_event(rainfall.default_rain(months=months), event)


def file_series(path: Path, options: RainFileConfig | None = None) -> xr.DataArray:
    """Rain from a gauge CSV or a CF NetCDF file; gauges without positions are averaged.

    The whole file, on its own step, missing steps NaN (a scenario reads files over the
    network with :func:`twin.hydro.rain_files.file_rain`).
    """
    from twin.hydro.rain_files import read_rain_file

    rain = read_rain_file(path, options)
    placed = "lon" in rain.coords and "lat" in rain.coords
    spatial = [d for d in rain.dims if d != "time"]
    if spatial and not placed:
        return rain.mean(dim=spatial, skipna=True).assign_attrs(rain.attrs)
    return rain


def radar_storm(
    cfg: RainConfig,
    *,
    rain_start: np.datetime64,
    target: object = None,
    base_dir: Path | None = None,
) -> xr.DataArray:
    """The scenario's radar event transposed over ``target``, on the scenario's clock.

    Parameters
    ----------
    cfg
        The rain section (``kind: radar``).
    rain_start
        When the rain starts (UTC, naive): the radar frame at ``radar.begin`` (default
        the first) is moved to this time, and every later frame with it.
    target
        What to place the storm over (a road network, a polygon, a point; ``None``:
        Gongshu), see :func:`twin.hydro.radar.transpose.as_district`.
    base_dir
        Folder for a relative NetCDF path.

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], ``(time, y, x)`` on the transposed grid, times on the
        scenario's UTC clock, times ``cfg.scale``; attributes say where the rain came
        from, that it was transposed, the real time of its first frame
        (``radar_begin``) and, when ``scale ≠ 1``, that it was intensified.
    """
    from twin.hydro.radar.array import to_utc
    from twin.hydro.radar.events import EVENT_NAMES, load_event
    from twin.hydro.radar.netcdf import read_radar_netcdf

    rc = cfg.radar
    if rc is None:
        raise ScenarioError("rain.radar: kind 'radar' needs `radar: {event: ...}`")
    path = Path(rc.event)
    if not path.is_absolute() and base_dir is not None and (base_dir / path).exists():
        path = base_dir / path
    if rc.event in EVENT_NAMES:
        radar = load_event(rc.event)
    elif path.suffix in (".nc", ".nc4"):
        radar = read_radar_netcdf(path)
    else:
        raise ScenarioError(
            f"rain.radar.event: {rc.event!r} is neither a shipped radar event "
            f"({', '.join(EVENT_NAMES)}) nor a CF NetCDF file (.nc)"
        )
    times = radar["time"].values
    begin = to_utc(rc.begin) if rc.begin is not None else times[0]
    if not times[0] <= begin <= times[-1]:
        raise ScenarioError(
            f"rain.radar.begin: {rc.begin} lies outside the event "
            f"({str(times[0])[:16]} – {str(times[-1])[:16]} UTC)"
        )
    radar = radar.sel(time=slice(begin, None))
    dx_km, dy_km, anchor = rc.dx_km, rc.dy_km, rc.anchor
    if rc.in_place:
        dx_km, dy_km = _offset_to(radar, target)
        anchor = "crop"
    out = transposed_storm(
        radar, rain_start=rain_start, target=target, dx_km=dx_km, dy_km=dy_km,
        rotation_deg=rc.rotation_deg, anchor=anchor, size_km=rc.size_km, cell_m=rc.cell_m,
        scale=cfg.scale,
    )  # fmt: skip
    if rc.in_place:
        out.attrs.pop("transposed_over", None)
        out.attrs["transposition"] = "in place: the radar of the area itself"
    return out


def transposed_storm(
    radar: xr.DataArray,
    *,
    rain_start: np.datetime64,
    target: object = None,
    dx_km: float = 0.0,
    dy_km: float = 0.0,
    rotation_deg: float = 0.0,
    anchor: Literal["crop", "storm"] = "crop",
    size_km: float = 128.0,
    cell_m: float = 1000.0,
    scale: float = 1.0,
) -> xr.DataArray:
    """A radar storm placed over ``target`` and moved onto another clock.

    Its first frame starts at ``rain_start`` (naive UTC) and the real time of that frame
    is kept in the ``radar_begin`` attribute; rates are multiplied by ``scale`` and, when
    it is not 1, the ``intensity_scale`` attribute says so. Used by scenarios
    (:func:`radar_storm`) and the live service's replay.
    """
    from twin.hydro.radar.transpose import transpose_radar

    grid = transpose_radar(
        radar, target, dx_km=dx_km, dy_km=dy_km, rotation_deg=rotation_deg, anchor=anchor,
        size_km=size_km, cell_m=cell_m,
    )  # fmt: skip
    first = grid["time"].values[0]
    shifted = grid["time"].values - first + rain_start
    out = (grid * scale).assign_coords(time=("time", shifted, grid["time"].attrs))
    out.name = "rain_rate"
    out.attrs = dict(grid.attrs)
    out.attrs["radar_begin"] = str(np.datetime_as_string(first, unit="s"))
    if scale != 1.0:
        out.attrs["intensity_scale"] = f"rain rates multiplied by {scale:g} (intensified)"
    return out


def _offset_to(radar: xr.DataArray, target: object) -> tuple[float, float]:
    """The offset [km] from a radar grid's centre to the target's centre, in its CRS."""
    from pyproj import Transformer

    from twin.hydro.radar.array import radar_crs
    from twin.hydro.radar.transpose import as_district

    district = as_district(target)
    to_xy = Transformer.from_crs("EPSG:4326", radar_crs(radar), always_xy=True)
    x, y = to_xy.transform(district.lon, district.lat)
    xs = np.asarray(radar["x"].values, dtype=float)
    ys = np.asarray(radar["y"].values, dtype=float)
    return (x - (xs[0] + xs[-1]) / 2) / 1000.0, (y - (ys[0] + ys[-1]) / 2) / 1000.0


def scenario_storm(
    cfg: RainConfig,
    dt: float,
    base_dir: Path | None = None,
    *,
    lon: FloatArray | None = None,
    lat: FloatArray | None = None,
    radar: xr.DataArray | None = None,
    timezone: str = "UTC",
) -> FloatArray:
    """The storm of a scenario at step ``dt`` [s], from its start [mm/h].

    Returns shape ``(n_steps,)`` for rain uniform in space, or ``(n_steps, n_points)``
    when the source has a spatial pattern and the points' ``lon``/``lat`` are given.
    A radar storm needs its transposed grid (:func:`radar_storm`) as ``radar`` (already
    scaled). See :func:`scenario_rain` for what the source says about itself.
    """
    values, _ = scenario_rain(cfg, dt, base_dir, lon=lon, lat=lat, radar=radar,
                              timezone=timezone)  # fmt: skip
    return values


def scenario_rain(
    cfg: RainConfig,
    dt: float,
    base_dir: Path | None = None,
    *,
    lon: FloatArray | None = None,
    lat: FloatArray | None = None,
    radar: xr.DataArray | None = None,
    timezone: str = "UTC",
) -> tuple[FloatArray, dict[str, str]]:
    """:func:`scenario_storm` and notes on the rain's source (``rain_*`` keys, text).

    A file's rain is read over the points (:func:`twin.hydro.rain_files.file_rain`):
    its notes say the file, its step, the unit conversion, the crop of a grid and the
    missing steps with their policy. Missing steps follow ``rain.file_options.missing``
    (NaN never silently becomes dry); radar and catalogue gaps are dry.
    """
    notes: dict[str, str] = {}
    if cfg.kind == "radar":
        if radar is None or lon is None or lat is None:
            raise ScenarioError("rain.kind radar: the transposed grid and the points are needed")
        from twin.hydro.radar.transpose import radar_at_points

        at = rainfall.resample_rain(radar_at_points(radar, lon, lat), dt)
        grid_values: FloatArray = np.nan_to_num(np.asarray(at.values, dtype=float))
        return grid_values, notes
    if cfg.kind == "design_storm":
        ds = cfg.design_storm
        series = storms.chicago_hyetograph(
            A=ds.A, C=ds.C, n=ds.n, b=ds.b, units=ds.units, return_period=ds.return_period,
            duration=ds.duration, peak_position=ds.peak_position, dt=dt,
        )  # fmt: skip
    elif cfg.kind == "event":
        series = rainfall.resample_rain(event_series(str(cfg.event)), dt)
    elif cfg.kind == "file":
        from twin.hydro.rain_files import file_rain, resolve_path

        native = file_rain(resolve_path(str(cfg.file), base_dir), cfg.file_options,
                           lon=lon, lat=lat, timezone=timezone)  # fmt: skip
        notes = file_notes(native)
        series = rainfall.resample_rain(native, dt)
    else:
        return np.zeros(0), notes
    values: FloatArray = np.nan_to_num(np.asarray(series.values, dtype=float)) * cfg.scale
    return values, notes


def file_notes(rain: xr.DataArray) -> dict[str, str]:
    """What a file's rain says about itself, as ``rain_*`` notes for a run's outputs."""
    from twin.hydro.rain_steps import format_seconds

    a = rain.attrs
    notes = {
        "rain_file": str(a.get("source_file", "")),
        "rain_file_step": format_seconds(float(a["interval_s"])),
        "rain_file_units": str(a.get("converted_from", "")),
        "rain_missing_steps": f"{a.get('missing_steps', 0)} (policy: {a.get('missing_policy')})",
    }
    if "cropped_to" in a:
        notes["rain_file_crop"] = str(a["cropped_to"])
    return notes
