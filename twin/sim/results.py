"""Results of a run: an ``xarray.Dataset`` (time × agent), tidy tables, and writers.

Reports, the app and benchmarks read these objects (or the files they write), never the
simulation's internals.

Files written by :meth:`RunResult.write`:

- ``run.nc``: the Dataset (CF-style NetCDF; times in UTC, ``timezone`` attribute);
- ``cases.parquet``: one row per case, with its stage times and durations;
- ``kpis.parquet`` and ``kpis.csv``: the tidy KPI table (``kpi, value, unit, description``);
- ``escalations.parquet``: one row per escalation;
- ``summary.html``: a short report with plots (see :mod:`twin.sim.report`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from twin import __version__
from twin.crowds.coupling import CrowdRun, crowd_kpis
from twin.network.road_network import RoadNetwork
from twin.scenario import Scenario
from twin.sim.engine import STAGES, Simulation
from twin.sim.fleet import Status
from twin.trucks.results import TruckResult

__all__ = ["RunResult", "collect_results", "compute_kpis"]


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

    def kpi(self, name: str) -> float:
        """The value of one KPI."""
        row = self.kpis.loc[self.kpis["kpi"] == name, "value"]
        if row.empty:
            raise KeyError(f"no KPI {name!r}; known: {', '.join(self.kpis['kpi'])}")
        return float(row.iloc[0])

    def write(self, folder: str | Path, *, report: bool = True) -> dict[str, Path]:
        """Write NetCDF, Parquet, CSV and (optionally) the HTML summary; return the paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            "dataset": folder / "run.nc",
            "cases": folder / "cases.parquet",
            "kpis": folder / "kpis.parquet",
            "kpis_csv": folder / "kpis.csv",
            "escalations": folder / "escalations.parquet",
        }
        self.dataset.to_netcdf(paths["dataset"])
        self.cases.to_parquet(paths["cases"], index=False)
        self.kpis.to_parquet(paths["kpis"], index=False)
        self.kpis.to_csv(paths["kpis_csv"], index=False)
        self.escalations.to_parquet(paths["escalations"], index=False)
        if self.road_states is not None and len(self.road_states):
            paths["road_states"] = folder / "road_states.csv"
            self.road_states.to_csv(paths["road_states"], index=False)
        if self.crowds is not None:
            paths["crowd_alerts"] = folder / "crowd_alerts.csv"
            self.crowds.alerts.to_csv(paths["crowd_alerts"], index=False)
            paths["crowd_effect"] = folder / "crowd_effect.csv"
            self.crowds.effect.to_csv(paths["crowd_effect"])
        if self.forecast_alerts is not None:
            paths["forecast_alerts"] = folder / "forecast_alerts.csv"
            self.forecast_alerts.to_csv(paths["forecast_alerts"], index=False)
        if self.cap_messages:
            from twin.alerts import cap_json, cap_xml

            cap = folder / "cap"
            cap.mkdir(exist_ok=True)
            for i, msg in enumerate(self.cap_messages):
                (cap / f"{i:04d}-{msg.msg_type.lower()}.xml").write_text(
                    cap_xml(msg), encoding="utf-8"
                )
            feed = [cap_json(m) for m in self.cap_messages]
            paths["cap_feed"] = cap / "alerts.json"
            paths["cap_feed"].write_text(json.dumps(feed, ensure_ascii=False, indent=1))
        if self.trucks is not None:
            for key, p in self.trucks.write(folder / "trucks").items():
                paths[f"trucks_{key}"] = p
        if report:
            from twin.sim.report import write_summary

            paths["summary"] = write_summary(self, folder / "summary.html", network=self.network)
        return paths


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


def _share_within(values: np.ndarray[Any, Any], target: float) -> float:
    """Share of cases whose duration is within ``target``; unfinished ones count as late."""
    if values.size == 0:
        return float("nan")
    return float(np.mean(np.nan_to_num(values, nan=np.inf) <= target))


def _state_seconds(w: Any, state: int, horizon: float) -> float:
    """Total time low points spent in ``state`` [s], summed over points."""
    total = 0.0
    current: dict[int, tuple[int, float]] = {}
    for t, p, st in zip(w.change_time.tolist(), w.change_point.tolist(),
                        w.change_state.tolist(), strict=True):  # fmt: skip
        prev = current.get(p)
        if prev is not None and prev[0] == state:
            total += t - prev[1]
        current[p] = (st, t)
    for st, t0 in current.values():
        if st == state:
            total += horizon - t0
    return total


def compute_kpis(sim: Simulation, cases: pd.DataFrame, series: xr.Dataset) -> pd.DataFrame:
    """The tidy KPI table of a run."""
    tg = sim.scenario.targets
    rows: list[tuple[str, float, str, str]] = []

    def add(kpi: str, value: float, unit: str, description: str) -> None:
        rows.append((kpi, float(value), unit, description))

    n = len(cases)
    add("cases_reported", n, "cases", "cases reported within the horizon")
    add("cases_closed", cases["closed"].notna().sum(), "cases", "cases closed within the horizon")
    add("cases_open_at_end", cases["closed"].isna().sum(), "cases", "cases still open at the end")
    for name, col, target in (
        ("dispatch", "time_to_dispatch_s", tg.dispatch),
        ("arrive", "time_to_arrive_s", tg.arrive),
        ("resolve", "time_to_resolve_s", tg.resolve),
    ):
        v = cases[col].to_numpy(dtype=float)
        done = v[~np.isnan(v)]
        add(f"time_to_{name}_mean", np.mean(done) / 60 if done.size else np.nan, "min",
            f"mean time from report to {name} (cases that got there)")  # fmt: skip
        add(f"time_to_{name}_p90", np.percentile(done, 90) / 60 if done.size else np.nan, "min",
            f"90th percentile of time from report to {name}")  # fmt: skip
        add(f"share_{name}_within_target", _share_within(v, target), "-",
            f"share of cases reaching {name} within {target / 60:g} min of report")  # fmt: skip
    close = cases["time_to_close_s"].to_numpy(dtype=float)
    add("time_to_close_mean", np.nanmean(close) / 60 if np.isfinite(close).any() else np.nan,
        "min", "mean time from report to closure")  # fmt: skip
    f = sim.fleet
    duty = f.duty_time.sum()
    add("crew_utilisation", f.busy_time.sum() / duty if duty > 0 else np.nan, "-",
        "time travelling to or working on cases / time on duty")  # fmt: skip
    add("mean_backlog", float(series["backlog"].mean()), "cases", "time-average of open cases")
    add("max_backlog", float(series["backlog"].max()), "cases", "most open cases at a record time")
    add("escalations", len(sim.escalations), "escalations", "escalations of overdue cases")
    levels = np.array([lv for _, lv, _ in sim.escalations], dtype=np.int64)
    for level, who in enumerate(sim.scenario.escalation.names, start=1):
        add(f"escalations_level_{level}", int((levels == level).sum()), "escalations",
            f"escalations to level {level} ({who})")  # fmt: skip
    add("preemptions", int(sim.preemptions.sum()), "jobs", "low-priority jobs preempted")
    if sim.water is not None and sim.hazards is not None:
        w = sim.water
        hy = sim.scenario.hydro
        add("rain_depth", float(w.rain_rate.mean(axis=1).sum() * hy.step / 3600.0), "mm",
            "rain fallen over the run (mean over the low points)")  # fmt: skip
        add("max_water_depth", float(w.depth.max()), "m", "deepest water at any low point")
        add("points_impeded", int((w.depth.max(axis=0) >= hy.impeded_depth).sum()), "points",
            f"low points that reached {hy.impeded_depth} m (traffic impeded)")  # fmt: skip
        add("points_closed", int((w.depth.max(axis=0) >= hy.closed_depth).sum()), "points",
            f"low points that reached {hy.closed_depth} m (road closed)")  # fmt: skip
        closed_s = _state_seconds(w, 2, sim.scenario.horizon)
        add("road_closure_hours", closed_s / 3600.0, "point-hours",
            "time low points spent closed, summed over points")  # fmt: skip
        add("reroutes", sim.hazards.reroutes, "crews", "crews rerouted by a closure or slow-down")
        add("ponding_cases", sim.water_cases, "cases", "road ponding cases raised by the water")
        pond = cases["category"] == hy.ponding_category
        arrive = cases.loc[pond, "time_to_arrive_s"].to_numpy(dtype=float)
        add("ponding_time_to_arrive_mean",
            np.nanmean(arrive) / 60 if np.isfinite(arrive).any() else np.nan, "min",
            "mean time from report to a crew on site, road ponding cases")  # fmt: skip
        staging = _staging(sim)
        if staging is not None:
            rows.extend(_forecast_kpis(staging, w))
    crowd = _crowd_run(sim)
    if crowd is not None:
        rows.extend(crowd_kpis(crowd, sim))
    if sim.trucks is not None:
        rows.extend(_truck_kpis(sim.trucks, sim.truck_cases))
    travel = cases["travel_time_s"].to_numpy(dtype=float)
    add("travel_time_mean", travel[~np.isnan(cases["time_to_arrive_s"])].mean() / 60
        if cases["time_to_arrive_s"].notna().any() else np.nan, "min",
        "mean crew travel time per case")  # fmt: skip
    return pd.DataFrame(rows, columns=["kpi", "value", "unit", "description"])


#: Truck KPIs copied into the run's KPI table: (name, unit, description).
_TRUCK_KPIS = (
    ("trips_started", "trips", "muck-truck trips started"),
    ("trips_delivered", "trips", "muck-truck trips unloaded at a dock"),
    ("trips_dumped", "trips", "loads dumped illegally away from a dock"),
    ("dock_queue_mean_s", "s", "mean wait of a truck for a dock berth"),
    ("truck_km_total_km", "km", "distance driven by muck trucks"),
    ("trucks_on_road_peak", "trucks", "most muck trucks driving at a record time"),
    ("spill_length_camera_share", "-", "share of spilled road length on camera-covered edges"),
    ("detection_delay_mean_s", "s", "mean time from a violation to its detection"),
    ("spoil_balance_error_m3", "m³", "loaded − delivered − dumped − spilled − in transit"),
)


def _truck_kpis(trucks: TruckResult, raised: int) -> list[tuple[str, float, str, str]]:
    """Headline truck KPIs and violation counts (occurred / detected / traced / cases)."""
    from twin.trucks import VIOLATION_KINDS

    k = trucks.kpis
    rows = [(f"truck_{n}" if not n.startswith("truck") else n, float(k[n]), u, d)
            for n, u, d in _TRUCK_KPIS if n in k]  # fmt: skip
    for stage in ("occurred", "detected", "traced"):
        total = sum(float(k.get(f"violations_{v}_{stage}", 0.0)) for v in VIOLATION_KINDS)
        rows.append((f"truck_violations_{stage}", total, "violations",
                     f"muck-truck violations {stage} (all kinds)"))  # fmt: skip
    rows.append(("truck_violation_cases", float(raised), "cases",
                 "cases raised by detected and traced truck violations"))  # fmt: skip
    return rows


def _staging(sim: Simulation) -> Any:
    from twin.sim.staging import AlertStaging

    for model in sim.models:
        if isinstance(model, AlertStaging) and model.timeline is not None:
            return model
    return None


def _forecast_kpis(staging: Any, water: Any) -> list[tuple[str, float, str, str]]:
    """Forecast alerts against the water's actual onsets (impeded from dry)."""
    from twin.hydro.coupling import onsets as onset_mask

    tl = staging.timeline
    alerts = tl[tl["msgType"] == "Alert"]
    is_onset = onset_mask(water)
    onsets = list(zip(water.change_point[is_onset].tolist(),
                      water.change_time[is_onset].tolist(), strict=True))  # fmt: skip
    warned, lead = 0, []
    issue = alerts["issue_time"].to_numpy(dtype=float)
    point = alerts["point_index"].to_numpy(dtype=np.int64)
    for p, t in onsets:
        before = issue[(point == p) & (issue <= t)]
        if before.size:
            warned += 1
            lead.append(t - before.max())
    source = str(tl.attrs.get("rain_source", "")) if hasattr(tl, "attrs") else ""
    rain = f" (future rain: {source})" if source else ""
    return [
        ("forecast_alerts", float(len(alerts)), "alerts", f"waterlogging alerts issued{rain}"),
        ("forecast_onsets_warned", float(warned), "onsets",
         f"ponding onsets an alert came before, of {len(onsets)}"),
        ("forecast_warning_mean", float(np.mean(lead) / 60) if lead else np.nan, "min",
         "mean time from the latest alert to the onset it warned of"),
        ("forecast_crews_staged", float(len(staging.log)), "crews",
         "crews sent toward alerted low points"),
    ]  # fmt: skip


def _crowd_run(sim: Simulation) -> CrowdRun | None:
    from twin.crowds.coupling import CrowdController

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
    k = sim._rec_i
    start_utc = pd.Timestamp(sim.start).tz_convert("UTC").tz_localize(None)
    times = start_utc + pd.to_timedelta(sim.record_times[:k], unit="s")
    model = sim.model.datacollector.get_model_vars_dataframe().iloc[:k]
    f = sim.fleet
    status_meanings = " ".join(s.name.lower() for s in Status)
    data_vars: dict[str, Any] = {
        "crew_status": (("time", "agent"), sim.rec_status[:k], {
            "long_name": "crew status", "flag_values": np.array([s.value for s in Status], np.int8),
            "flag_meanings": status_meanings}),
        "crew_lon": (("time", "agent"), sim.rec_lon[:k], {"units": "degrees_east"}),
        "crew_lat": (("time", "agent"), sim.rec_lat[:k], {"units": "degrees_north"}),
    }  # fmt: skip
    for col in model.columns:
        data_vars[col] = (("time",), model[col].to_numpy(dtype=np.int64), {"units": "1"})
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
    kpis = compute_kpis(sim, cases, ds)
    esc = pd.DataFrame(sim.escalations, columns=["case", "level", "elapsed_s"])
    esc["time"] = pd.Timestamp(sim.start) + pd.to_timedelta(esc["elapsed_s"], unit="s")
    return RunResult(
        sim.scenario, ds, cases, kpis, esc, dict(timing or {}),
        road_states=road_state_table(sim), network=sim.net, crowds=crowd, trucks=sim.trucks,
        forecast_alerts=None if staging is None else staging.timeline,
        cap_messages=[] if staging is None else list(staging.messages),
    )  # fmt: skip
