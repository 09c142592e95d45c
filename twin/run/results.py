"""Results of a run: an ``xarray.Dataset`` (time × agent), tidy tables, and writers.

Reports, the app and benchmarks read these objects (or the files they write), never the
simulation's internals.

Files written by :meth:`RunResult.write`:

- ``run.nc``: the Dataset (CF-style NetCDF; times in UTC, ``timezone`` attribute);
- ``cases.parquet``: one row per case, with its stage times and durations;
- ``kpis.parquet`` and ``kpis.csv``: the tidy KPI table (``kpi, value, unit, description``);
- ``escalations.parquet``: one row per escalation;
- ``summary.html``: a short report with plots (see :mod:`twin.run.report`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from twin import __version__
from twin.crowds.results import CrowdRun
from twin.network.road_network import RoadNetwork
from twin.run.dask_free import dask_free
from twin.run.kpis import KpiInputs, compute_kpis
from twin.scenario import Scenario
from twin.sim.engine import STAGES, Simulation
from twin.sim.fleet import Status
from twin.trucks.results import TruckResult

__all__ = ["RunResult", "case_table", "collect_results", "road_state_table"]


@dataclass
class RunResult:
    """Everything a run produced.

    Attributes
    ----------
    scenario
        The scenario that ran.
    dataset
        Time series: crew status and position (``time × agent``) and model-level series
        (``time``).
    cases
        One row per case.
    kpis
        Tidy KPI table: ``kpi``, ``value``, ``unit``, ``description``.
    escalations
        One row per escalation: ``case``, ``level``, ``time``.
    timing
        Wall-clock facts of the run (seconds, events processed).
    road_states
        Road-state changes applied at low points (rain runs only).
    crowds
        The crowd model's run, alerts and measured effect (runs with crowds only).
    trucks
        The muck trucks' day: trips, violations, positions, KPIs (runs with trucks only).
    forecast_alerts
        Waterlogging alert messages replayed online (runs with ``hydro.forecast`` only).
    cap_messages
        The same alerts as message objects, written as CAP 1.2 XML and a JSON feed.
    forecast_rain
        What each replayed forecast believed would fall against what fell: one row per
        issue time and lead, rain averaged over the low points (``issue_time_s``,
        ``lead_min``, ``time_s``, ``forecast_mm_h``, ``observed_mm_h``).
    network
        The road network the run used (for maps; not written to disk).
    """

    scenario: Scenario
    dataset: xr.Dataset
    cases: pd.DataFrame
    kpis: pd.DataFrame
    escalations: pd.DataFrame
    timing: dict[str, float]
    road_states: pd.DataFrame | None = None
    network: RoadNetwork | None = None
    crowds: CrowdRun | None = None
    trucks: TruckResult | None = None
    forecast_alerts: pd.DataFrame | None = None
    cap_messages: list[Any] = field(default_factory=list)
    forecast_rain: pd.DataFrame | None = None

    def kpi(self, name: str) -> float:
        """The value of one KPI."""
        row = self.kpis.loc[self.kpis["kpi"] == name, "value"]
        if row.empty:
            raise KeyError(f"no KPI {name!r}; known: {', '.join(self.kpis['kpi'])}")
        return float(row.iloc[0])


def _seconds_to_time(start: pd.Timestamp, seconds: np.ndarray[Any, Any]) -> pd.DatetimeIndex:
    return start + pd.to_timedelta(seconds, unit="s")


def case_table(sim: Simulation) -> pd.DataFrame:
    """One row per case: what, where, from which source, and when each stage ended."""
    c = sim.cases
    table = sim.categories
    net = sim.net
    start = pd.Timestamp(sim.start)
    report = c.report_time
    df = pd.DataFrame(
        {
            "case": np.arange(len(c)),
            "category": table.code[c.category],
            "kind": table.kind[c.category],
            "priority": sim.case_priority,
            "skill": table.skill[c.category],
            "source": np.array([s.name for s in sim.scenario.cases.sources])[c.source],
            "node": net.node_ids[c.node],
            "lon": net.node_lon[c.node],
            "lat": net.node_lat[c.node],
            "occurred": _seconds_to_time(start, c.occur_time),
            "reported": _seconds_to_time(start, report),
        }
    )
    for stage in STAGES:
        df[stage] = _seconds_to_time(start, sim.stamp[stage])
    df["time_to_dispatch_s"] = sim.stamp["dispatched"] - report
    df["time_to_arrive_s"] = sim.stamp["arrived"] - report
    df["time_to_resolve_s"] = sim.stamp["resolved"] - report
    df["time_to_close_s"] = sim.stamp["closed"] - report
    df["travel_time_s"] = sim.travel_time
    df["work_time_s"] = c.work_time
    df["crew"] = sim.case_crew
    df["preemptions"] = sim.preemptions
    df["escalation_level"] = sim.escalation_level
    df["deadline_s"] = table.deadline[c.category]
    return df


def _staging(sim: Simulation) -> Any:
    if not sim.models:  # no model stepped on the clock: spare the import
        return None
    from twin.coupling.staging import AlertStaging

    for model in sim.models:
        if isinstance(model, AlertStaging) and model.timeline is not None:
            return model
    return None


def _crowd_run(sim: Simulation) -> CrowdRun | None:
    if not sim.models:  # no model stepped on the clock: spare the import
        return None
    from twin.coupling.crowds import CrowdController

    for model in sim.models:
        if isinstance(model, CrowdController):
            return model.result
    return None


def _add_water(ds: xr.Dataset, sim: Simulation) -> xr.Dataset:
    """Water depth at the low points (time × point) and the road-state changes."""
    w = sim.water
    assert w is not None
    k = ds.sizes["time"]
    step = sim.scenario.hydro.step
    idx = np.minimum(np.round(sim.record_times[:k] / step).astype(int), w.depth.shape[0] - 1)
    pts = w.points
    rain_idx = np.minimum(idx, w.rain_rate.shape[0] - 1)
    ds = ds.assign(
        water_depth=(("time", "point"), w.depth[idx], {"units": "m", "long_name": "water depth"}),
        rain_rate=(("time", "point"), w.rain_rate[rain_idx],
                   {"units": "mm h-1", "long_name": "rain rate"}),
    )  # fmt: skip
    ds.attrs.update(w.rain_notes)  # the rain's source, checks, and any horizon cut
    if w.radar is not None:
        from twin.hydro.radar.array import radar_caption

        caption = radar_caption(w.radar)
        if "intensity_scale" in w.radar.attrs:
            caption += f"; {w.radar.attrs['intensity_scale']}"
        ds.attrs["rain_caption"] = caption
    ds = ds.assign_coords(
        point=("point", np.arange(len(pts))),
        point_id=("point", pts.ids),
        point_name=("point", pts.names),
        point_kind=("point", pts.kinds),
        point_lon=("point", pts.lon, {"units": "degrees_east"}),
        point_lat=("point", pts.lat, {"units": "degrees_north"}),
        point_max_depth=("point", w.depth.max(axis=0), {"units": "m"}),
    )
    return ds


def _forecast_rain(staging: Any, sim: Simulation) -> pd.DataFrame | None:
    """Forecast rain against observed rain, both averaged over the low points [mm/h]."""
    replay = staging.replay
    w = sim.water
    if replay is None or replay.future_rain is None or w is None:
        return None
    step5 = 300.0
    ratio = max(1, round(step5 / sim.scenario.hydro.step))
    n5 = w.rain_rate.shape[0] // ratio
    observed = w.rain_rate[: n5 * ratio].reshape(n5, ratio, -1).mean(axis=(1, 2))
    fut = np.asarray(replay.future_rain).mean(axis=2)  # (n_issue, horizon)
    issue = np.asarray(replay.issue_times, dtype=float)
    horizon = fut.shape[1]
    lead = np.arange(1, horizon + 1)
    rows = {
        "issue_time_s": np.repeat(issue, horizon),
        "lead_min": np.tile(lead * step5 / 60.0, issue.size),
        "time_s": (issue[:, None] + (lead[None, :] - 1) * step5).ravel(),
        "forecast_mm_h": fut.ravel(),
    }
    k = np.round(rows["time_s"] / step5).astype(np.int64)
    rows["observed_mm_h"] = np.where(k < n5, observed[np.minimum(k, n5 - 1)], 0.0)
    out = pd.DataFrame(rows)
    out.attrs["rain_source"] = str(staging.timeline.attrs.get("rain_source", ""))
    return out


def _add_trucks(ds: xr.Dataset, trucks: TruckResult) -> xr.Dataset:
    """Truck positions (time × truck), dock queues (time × dock) and hourly series."""
    tr = trucks.to_dataset()
    tr = tr.rename({k: f"truck_{k}" for k in ("lon", "lat", "status") if k in tr})
    tr = tr.drop_vars("elapsed", errors="ignore")
    tr.attrs = {}
    return ds.merge(tr, join="left", compat="override")


def road_state_table(sim: Simulation) -> pd.DataFrame:
    """One row per applied road-state change: time, low point, state, edges."""
    cols = ["elapsed_s", "point", "state", "edges"]
    if sim.hazards is None:
        return pd.DataFrame(columns=[*cols, "point_id", "time"])
    df = pd.DataFrame(sim.hazards.log, columns=cols)
    df["point_id"] = sim.hazards.water.points.ids[df["point"].to_numpy(dtype=int)]
    df["state"] = df["state"].map({0: "open", 1: "impeded", 2: "closed"})
    df["time"] = pd.Timestamp(sim.start) + pd.to_timedelta(df["elapsed_s"], unit="s")
    return df


def collect_results(sim: Simulation, timing: dict[str, float] | None = None) -> RunResult:
    """Gather a finished simulation's outputs into a :class:`RunResult`."""
    with dask_free():  # numpy data only: spare the dask import (see twin.run.dask_free)
        return _collect(sim, timing)


def _collect(sim: Simulation, timing: dict[str, float] | None) -> RunResult:
    k = sim.recorded
    start_utc = pd.Timestamp(sim.start).tz_convert("UTC").tz_localize(None)
    times = start_utc + pd.to_timedelta(sim.record_times[:k], unit="s")
    series = sim.series.frame()
    f = sim.fleet
    status_meanings = " ".join(s.name.lower() for s in Status)
    data_vars: dict[str, Any] = {
        "crew_status": (("time", "agent"), sim.rec_status[:k], {
            "long_name": "crew status", "flag_values": np.array([s.value for s in Status], np.int8),
            "flag_meanings": status_meanings}),
        "crew_lon": (("time", "agent"), sim.rec_lon[:k], {"units": "degrees_east"}),
        "crew_lat": (("time", "agent"), sim.rec_lat[:k], {"units": "degrees_north"}),
    }  # fmt: skip
    for col, values in series.items():
        data_vars[col] = (("time",), values[:k].astype(np.int64), {"units": "1"})
    ds = xr.Dataset(
        data_vars,
        coords={
            "time": ("time", times.to_numpy(), {"standard_name": "time", "timezone": "UTC"}),
            "elapsed": (
                "time",
                sim.record_times[:k],
                {"units": "s", "long_name": "time since start"},
            ),
            "agent": ("agent", np.arange(len(f))),
            "crew_skill": ("agent", np.array(f.skills)[f.skill]),
            "crew_shift": ("agent", np.array([s.name for s in sim.scenario.crews.shifts])[f.shift]),
            "crew_depot": ("agent", sim.net.node_ids[f.depot]),
            "crew_busy_time": ("agent", f.busy_time, {"units": "s"}),
            "crew_duty_time": ("agent", f.duty_time, {"units": "s"}),
            "crew_cases": ("agent", f.cases_done),
        },
        attrs={
            "title": f"twin run: {sim.scenario.name}",
            "scenario": sim.scenario.name,
            "seed": sim.scenario.seed,
            "policy": sim.scenario.dispatch.policy,
            "start": sim.start.isoformat(),
            "local_timezone": sim.scenario.timezone,
            "horizon_s": sim.scenario.horizon,
            "twin_version": __version__,
            "scenario_json": json.dumps(sim.scenario.model_dump(mode="json"), ensure_ascii=False),
            "Conventions": "CF-1.8",
        },
    )
    if sim.water is not None:
        ds = _add_water(ds, sim)
    crowd = _crowd_run(sim)
    staging = _staging(sim)
    if crowd is not None:
        ds = ds.merge(crowd.to_dataset())
    if sim.trucks is not None:
        ds = _add_trucks(ds, sim.trucks)
    cases = case_table(sim)
    esc = pd.DataFrame(sim.escalations, columns=["case", "level", "elapsed_s"])
    esc["time"] = pd.Timestamp(sim.start) + pd.to_timedelta(esc["elapsed_s"], unit="s")
    facts = KpiInputs(
        sim.scenario, esc, sim.fleet.duty_time, sim.fleet.busy_time,
        water=sim.water if sim.hazards is not None else None,
        reroutes=sim.hazards.reroutes if sim.hazards is not None else 0,
        water_cases=sim.water_cases, truck_cases=sim.truck_cases,
        forecast_timeline=None if staging is None else staging.timeline,
        crews_staged=0 if staging is None else len(staging.log),
        crowds=crowd, trucks=sim.trucks,
    )  # fmt: skip
    kpis = compute_kpis(facts, cases, ds)
    return RunResult(
        sim.scenario, ds, cases, kpis, esc, dict(timing or {}),
        road_states=road_state_table(sim), network=sim.net, crowds=crowd, trucks=sim.trucks,
        forecast_alerts=None if staging is None else staging.timeline,
        cap_messages=[] if staging is None else list(staging.messages),
        forecast_rain=None if staging is None else _forecast_rain(staging, sim),
    )  # fmt: skip
