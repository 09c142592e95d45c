"""Results of a muck-truck run: trip records, violations, positions, KPIs, profiles.

A :class:`TruckResult` holds tidy tables (pandas) and a positions ``xarray.Dataset``
(``time × truck``), all in seconds since the run's start unless a column says otherwise
(``*_time`` columns of the violations are seconds too; :attr:`TruckResult.start` gives
the local clock). :meth:`TruckResult.to_dataset` adds the hourly series;
:meth:`TruckResult.write` writes NetCDF, Parquet and CSV files.

Files written by :meth:`TruckResult.write`: ``trucks.nc`` (positions and hourly
series), ``trips.parquet``, ``violations.parquet``, ``track.parquet`` (every edge
traversal), ``kpis.csv``, ``site_profile.csv``, ``company_profile.csv``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from twin._types import BoolArray
from twin.network.road_network import RoadNetwork
from twin.trucks.actors import Docks, Fleet, Sites
from twin.trucks.config import VIOLATION_KINDS, TrucksConfig
from twin.trucks.risk import profile

__all__ = ["KPI_UNITS", "TruckResult"]

#: Unit of each KPI family (by name prefix or suffix).
KPI_UNITS = {"_s": "s", "_km": "km", "_m3": "m³", "share": "-", "trips": "trips"}


@dataclass
class TruckResult:
    """Everything a muck-truck run produced.

    Attributes
    ----------
    config
        The configuration that ran.
    start
        Timezone-aware start of the run.
    horizon
        Length of the run [s].
    seed
        The seed.
    trips
        One row per trip: ``trip, truck, company, site, dock`` (names and ids),
        ``load_start, depart, arrive, unload_start, unload_end, return_start,
        return_end`` [s], ``queue_time`` [s] (dock arrival → berth), ``route_length_km``
        (loaded leg driven), ``return_length_km``, ``spoil_m3`` (loaded),
        ``spilled_m3, delivered_m3, dumped_m3``, ``fate`` (``delivered``, ``dumped``,
        ``in_transit``, ``loading``), ``banned_edges_used`` (edges driven while banned:
        0 unless the trip is a deviation), ``deviation`` (the driver ignored bans).
    violations
        One row per violation that occurred: ``kind, time`` [s], ``edge`` (position),
        ``node`` (OSM id), ``lon, lat``, ``trip, truck, site, company``, ``length_m``
        (the stretch), ``volume_m3`` (spilled or dumped), ``detected, detected_by,
        sighting_time, detection_time, detection_delay`` [s], ``traced_trip,
        traced_site, traced_company``, ``traced_ok``.
    track
        Every edge traversal: ``trip, leg`` (0 loaded, 1 return), ``edge, enter, leave``.
    stretch
        Edges of every violation's stretch: ``violation, edge, enter, m`` (metres of the
        edge inside the stretch; for spills the trail's overlap).
    stops
        GPS stops of loaded trucks away from docks: ``truck, node`` (position),
        ``start, end``.
    positions
        ``lon, lat, status`` (``time × truck``) and ``dock_queue`` (``time × dock``).
    kpis
        Headline figures by name.
    balance
        Spoil books [m³]: ``loaded, delivered, dumped, spilled, in_transit``.
    sites, docks, fleet
        The actors.
    camera
        Whether each edge has a camera.
    checkpoint
        Whether each dock has a checkpoint.
    network
        The network the run used (for maps; not written).
    """

    config: TrucksConfig
    start: datetime
    horizon: float
    seed: int
    trips: pd.DataFrame
    violations: pd.DataFrame
    track: pd.DataFrame
    stretch: pd.DataFrame
    stops: pd.DataFrame
    positions: xr.Dataset
    kpis: dict[str, float]
    balance: dict[str, float]
    sites: Sites
    docks: Docks
    fleet: Fleet
    camera: BoolArray
    checkpoint: BoolArray
    network: RoadNetwork | None = field(default=None, repr=False)
    timing: dict[str, float] = field(default_factory=dict)

    # ------------------------------------------------------------------ tables
    def kpi_table(self) -> pd.DataFrame:
        """KPIs as a tidy table: ``kpi, value, unit``."""
        rows = []
        for k, v in self.kpis.items():
            unit = next((u for key, u in KPI_UNITS.items() if k.endswith(key) or
                         k.startswith(key)), "1")  # fmt: skip
            rows.append((k, float(v), unit))
        return pd.DataFrame(rows, columns=["kpi", "value", "unit"])

    def dock_hourly(self) -> pd.DataFrame:
        """Trucks unloaded per dock and local hour (rows: hour 0-23, columns: dock ids)."""
        done = self.trips.dropna(subset=["unload_start"])
        hour = self.local_hour(done["unload_start"].to_numpy(np.float64)).astype(int)
        table = pd.crosstab(pd.Series(hour, name="hour"), done["dock"].to_numpy())
        table = table.reindex(index=range(24), columns=[str(d) for d in self.docks.id])
        return table.fillna(0).astype(int)

    def on_road_hourly(self) -> pd.Series:
        """Mean number of trucks driving (loaded or empty) in each local hour."""
        st = self.positions["status"].to_numpy()
        driving = np.isin(st, [3, 7]).sum(axis=1)
        hour = self.local_hour(self.positions["elapsed"].to_numpy()).astype(int)
        s = pd.Series(driving, index=pd.Index(hour, name="hour")).groupby(level=0).mean()
        return s.reindex(range(24)).fillna(0.0).rename("trucks_on_road")

    def violation_summary(self) -> pd.DataFrame:
        """Violations by kind: ``occurred, detected, traced`` (correctly) and rates."""
        v = self.violations
        rows = []
        for k in VIOLATION_KINDS:
            sub = v[v["kind"] == k]
            occ, det = len(sub), int(sub["detected"].sum())
            traced = int(sub["traced_ok"].sum())
            rows.append((k, occ, det, traced, det / occ if occ else np.nan))
        return pd.DataFrame(
            rows, columns=["kind", "occurred", "detected", "traced", "detection_rate"]
        ).set_index("kind")

    def local_hour(self, t: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Local hour of day [h] of times ``t`` [s since start]."""
        s = self.start
        h0 = s.hour + s.minute / 60.0 + s.second / 3600.0
        return np.asarray((h0 + np.asarray(t, dtype=np.float64) / 3600.0) % 24.0)

    # ------------------------------------------------------------------ profiles
    def site_profile(self) -> pd.DataFrame:
        """Per-site risk profile from the detections (see :func:`twin.trucks.risk.profile`)."""
        entities = [str(s) for s in self.sites.id]
        return profile(self.trips, self.violations, entities, self.config.risk, by="site")

    def company_profile(self) -> pd.DataFrame:
        """Per-company risk profile (see :func:`twin.trucks.risk.profile`)."""
        entities = [str(s) for s in self.fleet.company]
        return profile(self.trips, self.violations, entities, self.config.risk, by="company")

    # ------------------------------------------------------------------ data
    def to_dataset(self) -> xr.Dataset:
        """Positions plus hourly series (trips per dock and hour, trucks on the road)."""
        ds = self.positions.copy()
        hourly = self.dock_hourly()
        ds["dock_trips_by_hour"] = (("hour", "dock"), hourly.to_numpy(np.int64), {
            "long_name": "trucks unloaded per dock and local hour", "units": "1"})  # fmt: skip
        ds["trucks_on_road_by_hour"] = (("hour",), self.on_road_hourly().to_numpy(), {
            "long_name": "mean trucks driving in each local hour", "units": "1"})  # fmt: skip
        ds = ds.assign_coords(hour=("hour", np.arange(24)))
        ds.attrs["kpis_json"] = json.dumps(self.kpis)
        return ds

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write the result's files into ``folder``; return their paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            "dataset": folder / "trucks.nc",
            "trips": folder / "trips.parquet",
            "violations": folder / "violations.parquet",
            "track": folder / "track.parquet",
            "kpis": folder / "kpis.csv",
            "site_profile": folder / "site_profile.csv",
            "company_profile": folder / "company_profile.csv",
        }
        self.to_dataset().to_netcdf(paths["dataset"])
        self.trips.to_parquet(paths["trips"], index=False)
        self.violations.to_parquet(paths["violations"], index=False)
        self.track.to_parquet(paths["track"], index=False)
        self.kpi_table().to_csv(paths["kpis"], index=False)
        self.site_profile().to_csv(paths["site_profile"], index=False)
        self.company_profile().to_csv(paths["company_profile"], index=False)
        return paths
