"""Write the example rain files of this folder (see README.md); run from the repo root.

``gauges_hourly.csv`` is real (NEA Singapore gauges, hourly sums of the shipped 5-minute
files); the other three are synthetic and say so in their attributes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from twin.hydro.rainfall import default_rain

HERE = Path(__file__).resolve().parent


def gauges_hourly() -> None:
    """Three real gauges, 2017-01-22 23:00 to 2017-01-23 18:00 SGT, mm per hour."""
    rain = default_rain(months=["2017-01"]).sel(station=["S77", "S113", "S119"])
    depth = (rain * 5 / 60).to_pandas()  # mm per 5 min, labelled by interval start (UTC)
    depth.index = depth.index.tz_localize("UTC").tz_convert("Asia/Singapore")
    hourly = depth.resample("1h", label="right", closed="left").sum(min_count=12)
    hourly = hourly["2017-01-22 23:00":"2017-01-23 18:00"]
    rows = hourly.stack().rename("rain_mm").reset_index()
    rows["time"] = rows["time"].map(lambda t: t.isoformat(timespec="minutes"))
    rows[["station", "rain_mm", "time"]].round(1).to_csv(HERE / "gauges_hourly.csv", index=False)


def gauges_positions_rate() -> None:
    """Three synthetic gauges in Gongshu with positions: 10-min rain rates [mm/h]."""
    t = pd.date_range("2026-06-01 08:00", periods=12, freq="10min")
    gauges = {"north": (120.150, 30.330), "centre": (120.160, 30.300), "south": (120.170, 30.270)}
    shape = np.array([0, 5, 20, 45, 60, 35, 20, 10, 5, 2, 0, 0], dtype=float)
    rows = []
    for k, (name, (lon, lat)) in enumerate(gauges.items()):
        for i, ti in enumerate(t):
            rows.append((name, lon, lat, f"{ti:%Y-%m-%dT%H:%M}+08:00", shape[i] * (1.0 - 0.2 * k)))
    frame = pd.DataFrame(rows, columns=["station", "lon", "lat", "time", "rate_mm_h"])
    frame.to_csv(HERE / "gauges_positions_rate.csv", index=False)


def _storm_cell(lon: np.ndarray, lat: np.ndarray, n: int) -> np.ndarray:
    """A synthetic rain cell crossing Hangzhou west to east [mm/h], (time, lat, lon)."""
    lo, la = np.meshgrid(lon, lat)
    out = np.zeros((n, lat.size, lon.size))
    for i in range(n):
        x0 = 119.95 + 0.1 * i
        peak = 40.0 * np.sin(np.pi * (i + 0.5) / n)
        out[i] = peak * np.exp(-((lo - x0) ** 2 + (la - 30.3) ** 2) / (2 * 0.08**2))
    return np.round(out, 2)


def grid_flux_hourly() -> None:
    """A synthetic 0.05° grid larger than Gongshu, hourly, precipitation flux."""
    lon = np.round(np.arange(119.80, 120.551, 0.05), 3)
    lat = np.round(np.arange(30.05, 30.601, 0.05), 3)
    t = pd.date_range("2026-06-01T00:00", periods=6, freq="1h")
    flux = (_storm_cell(lon, lat, t.size) / 3600.0).astype("float32")  # mm/h → kg m-2 s-1
    ds = xr.Dataset(
        {"precip": (("time", "lat", "lon"), flux, {"units": "kg m-2 s-1",
                    "standard_name": "precipitation_flux", "long_name": "precipitation"})},
        coords={"time": t, "lat": ("lat", lat, {"units": "degrees_north"}),
                "lon": ("lon", lon, {"units": "degrees_east"})},
        attrs={"Conventions": "CF-1.8", "title": "SYNTHETIC rain cell over Hangzhou (example)",
               "comment": "time labels the start of each hour (UTC)"},
    )  # fmt: skip
    ds.to_netcdf(HERE / "grid_flux_hourly.nc", encoding={"precip": {"zlib": True}})


def grid_depth_30min() -> None:
    """A synthetic 0.1° grid, 30-min accumulations [mm] labelled by the interval's end."""
    lon = np.round(np.arange(119.7, 120.61, 0.1), 3)
    lat = np.round(np.arange(29.9, 30.71, 0.1), 3)
    t = pd.date_range("2026-06-01T00:30", periods=8, freq="30min")
    depth = (_storm_cell(lon, lat, t.size) * 0.5).astype("float32")  # mm/h × 0.5 h
    ds = xr.Dataset(
        {"tp": (("time", "latitude", "longitude"), depth, {"units": "mm",
                "long_name": "rain depth in the 30 minutes up to the time",
                "cell_methods": "time: sum"})},
        coords={"time": t, "latitude": ("latitude", lat[::-1].copy(),
                                        {"units": "degrees_north"}),
                "longitude": ("longitude", lon, {"units": "degrees_east"})},
        attrs={"Conventions": "CF-1.8", "title": "SYNTHETIC rain cell over Hangzhou (example)"},
    )  # fmt: skip
    ds["tp"].values[:] = depth[:, ::-1, :]  # latitude descending, as many products store it
    ds.to_netcdf(HERE / "grid_depth_30min.nc", encoding={"tp": {"zlib": True}})


if __name__ == "__main__":
    gauges_hourly()
    gauges_positions_rate()
    grid_flux_hourly()
    grid_depth_30min()
