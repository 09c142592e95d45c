"""Where a run's rain comes from: a design storm, a catalogued real event, or a file.

Each source gives a ``rain_rate`` series [mm/h] at the hydrology step. Rain is taken as
uniform over the district (one series for every low point): the shipped gauge records
have no station coordinates, and a design storm has no spatial pattern. A gauge file
with several stations is averaged over its stations (an areal mean).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from twin.errors import ScenarioError
from twin.hydro import rainfall, storms
from twin.scenario import RainConfig

__all__ = ["event_series", "file_series", "scenario_storm", "series_from_values"]

FloatArray = npt.NDArray[np.float64]


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


def file_series(path: Path) -> xr.DataArray:
    """Areal-mean rain from a gauge CSV (one or more stations) or a CF NetCDF file."""
    rain = (
        rainfall.read_netcdf(path)
        if path.suffix in (".nc", ".nc4")
        else rainfall.read_gauge_csv(path)
    )
    spatial = [d for d in rain.dims if d != "time"]
    return rain.mean(dim=spatial, skipna=True) if spatial else rain


def scenario_storm(cfg: RainConfig, dt: float, base_dir: Path | None = None) -> FloatArray:
    """The storm of a scenario at step ``dt`` [s], from its start [mm/h] (NaN → 0)."""
    if cfg.kind == "design_storm":
        ds = cfg.design_storm
        series = storms.chicago_hyetograph(
            A=ds.A, C=ds.C, n=ds.n, b=ds.b, units=ds.units, return_period=ds.return_period,
            duration=ds.duration, peak_position=ds.peak_position, dt=dt,
        )  # fmt: skip
    elif cfg.kind == "event":
        series = rainfall.resample_rain(event_series(str(cfg.event)), dt)
    elif cfg.kind == "file":
        path = Path(str(cfg.file))
        if not path.is_absolute() and base_dir is not None and (base_dir / path).exists():
            path = base_dir / path
        series = rainfall.resample_rain(file_series(path), dt)
    else:
        return np.zeros(0)
    values: FloatArray = np.nan_to_num(np.asarray(series.values, dtype=float)) * cfg.scale
    return values
