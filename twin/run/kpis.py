"""The KPI table of a run, computed from its results (never from the engine's state).

:func:`compute_kpis` reads the case table, the time series and a :class:`KpiInputs`: the
few run-level facts that are not in those tables (crew duty and busy time, the water at
the low points, the truck day, the crowds, the forecast alerts), handed over as values by
:func:`twin.run.results.collect_results`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from twin._types import FloatArray
from twin.crowds.results import CrowdRun
from twin.hydro.waterlogging import Waterlogging
from twin.hydro.waterlogging import onsets as onset_mask
from twin.scenario import Scenario
from twin.trucks.results import TruckResult

__all__ = ["KpiInputs", "compute_kpis", "crowd_kpis"]


@dataclass(frozen=True)
class KpiInputs:
    """Run-level facts the KPIs need beyond the case table and the series.

    Attributes
    ----------
    scenario
        The scenario that ran (targets, escalation levels, hydro thresholds).
    escalations
        One row per escalation (``case``, ``level``, ``elapsed_s``).
    crew_duty_time, crew_busy_time
        Per crew: time on duty, and time travelling to or working on cases [s].
    water
        The water at the low points (rain runs only).
    reroutes
        Crews rerouted by a closure or slow-down.
    water_cases, truck_cases
        Cases raised by the water and by detected truck violations.
    forecast_timeline
        The forecast alert messages replayed online (with ``hydro.forecast``).
    crews_staged
        Crews sent toward alerted low points.
    crowds
        The crowds' run (scenarios with crowds).
    trucks
        The muck trucks' day (scenarios with trucks).
    """

    scenario: Scenario
    escalations: pd.DataFrame
    crew_duty_time: FloatArray
    crew_busy_time: FloatArray
    water: Waterlogging | None = None
    reroutes: int = 0
    water_cases: int = 0
    truck_cases: int = 0
    forecast_timeline: pd.DataFrame | None = None
    crews_staged: int = 0
    crowds: CrowdRun | None = None
    trucks: TruckResult | None = None


def _share_within(values: np.ndarray[Any, Any], target: float) -> float:
    """Share of cases whose duration is within ``target``; unfinished ones count as late."""
    if values.size == 0:
        return float("nan")
    return float(np.mean(np.nan_to_num(values, nan=np.inf) <= target))


def _state_seconds(w: Waterlogging, state: int, horizon: float) -> float:
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


def compute_kpis(run: KpiInputs, cases: pd.DataFrame, series: xr.Dataset) -> pd.DataFrame:
    """The tidy KPI table of a run, from its case table, its series and :class:`KpiInputs`."""
    tg = run.scenario.targets
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
    duty = run.crew_duty_time.sum()
    add("crew_utilisation", run.crew_busy_time.sum() / duty if duty > 0 else np.nan, "-",
        "time travelling to or working on cases / time on duty")  # fmt: skip
    add("mean_backlog", float(series["backlog"].mean()), "cases", "time-average of open cases")
    add("max_backlog", float(series["backlog"].max()), "cases", "most open cases at a record time")
    add("escalations", len(run.escalations), "escalations", "escalations of overdue cases")
    levels = run.escalations["level"].to_numpy(dtype=np.int64)
    for level, who in enumerate(run.scenario.escalation.names, start=1):
        add(f"escalations_level_{level}", int((levels == level).sum()), "escalations",
            f"escalations to level {level} ({who})")  # fmt: skip
    add("preemptions", int(cases["preemptions"].sum()), "jobs", "low-priority jobs preempted")
    if run.water is not None:
        w = run.water
        hy = run.scenario.hydro
        add("rain_depth", float(w.rain_rate.mean(axis=1).sum() * hy.step / 3600.0), "mm",
            "rain fallen over the run (mean over the low points)")  # fmt: skip
        add("max_water_depth", float(w.depth.max()), "m", "deepest water at any low point")
        add("points_impeded", int((w.depth.max(axis=0) >= hy.impeded_depth).sum()), "points",
            f"low points that reached {hy.impeded_depth} m (traffic impeded)")  # fmt: skip
        add("points_closed", int((w.depth.max(axis=0) >= hy.closed_depth).sum()), "points",
            f"low points that reached {hy.closed_depth} m (road closed)")  # fmt: skip
        closed_s = _state_seconds(w, 2, run.scenario.horizon)
        add("road_closure_hours", closed_s / 3600.0, "point-hours",
            "time low points spent closed, summed over points")  # fmt: skip
        add("reroutes", run.reroutes, "crews", "crews rerouted by a closure or slow-down")
        add("ponding_cases", run.water_cases, "cases", "road ponding cases raised by the water")
        pond = cases["category"] == hy.ponding_category
        arrive = cases.loc[pond, "time_to_arrive_s"].to_numpy(dtype=float)
        add("ponding_time_to_arrive_mean",
            np.nanmean(arrive) / 60 if np.isfinite(arrive).any() else np.nan, "min",
            "mean time from report to a crew on site, road ponding cases")  # fmt: skip
        if run.forecast_timeline is not None:
            rows.extend(_forecast_kpis(run.forecast_timeline, run.crews_staged, w))
            rows.extend(_alert_score_kpis(run.forecast_timeline, w, hy))
    if run.crowds is not None:
        rows.extend(crowd_kpis(run.crowds, cases))
    if run.trucks is not None:
        rows.extend(_truck_kpis(run.trucks, run.truck_cases))
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
    ("flood_reroutes", "reroutes", "truck routes re-planned because a road ahead flooded shut"),
    ("trips_rerouted_by_flood", "trips", "muck-truck trips rerouted by waterlogging"),
    ("flood_delay_total_min", "min", "arrival delay of muck trucks caused by waterlogging"),
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


def _forecast_kpis(
    tl: pd.DataFrame, crews_staged: int, water: Waterlogging
) -> list[tuple[str, float, str, str]]:
    """Forecast alerts against the water's actual onsets (impeded from dry)."""
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
        ("forecast_crews_staged", float(crews_staged), "crews",
         "crews sent toward alerted low points"),
    ]  # fmt: skip


def _alert_score_kpis(
    tl: pd.DataFrame, water: Waterlogging, hy: Any
) -> list[tuple[str, float, str, str]]:
    """POD, FAR and warning lead of the alerts per level (twin.forecast.alert_scores)."""
    from twin.forecast.alert_scores import score_alerts

    levels = {"impeded": hy.impeded_depth, "closed": hy.closed_depth}
    scores = score_alerts(tl, water.depth, water.times, levels, hysteresis=hy.hysteresis)
    rows: list[tuple[str, float, str, str]] = []
    for name, s in scores.items():
        rows += [
            (f"forecast_pod_{name}", s.pod, "-",
             f"share of the {s.crossings} crossings of {name} an alert came before"),
            (f"forecast_far_{name}", s.far, "-",
             f"share of the {s.alerts} {name} alerts the water did not follow within 2 h"),
            (f"forecast_lead_{name}_mean", s.lead_mean / 60.0, "min",
             f"mean warning lead of the detected {name} crossings"),
            (f"forecast_lead_{name}_median", s.lead_median / 60.0, "min",
             f"median warning lead of the detected {name} crossings"),
        ]  # fmt: skip
    return rows


def crowd_kpis(run: CrowdRun, cases_table: pd.DataFrame) -> list[tuple[str, float, str, str]]:
    """Run-level crowd KPIs: alerts, cases, lead times, densities with and without staff."""
    thr = run.threshold
    minutes = run.coupled.dt / 60.0
    cases = (
        np.concatenate([np.asarray(c, dtype=np.int64) for c in run.alerts["cases"]])
        if len(run.alerts)
        else np.empty(0, dtype=np.int64)
    )
    to_arrive = cases_table["time_to_arrive_s"].to_numpy(dtype=float)
    arrive = to_arrive[cases] if cases.size else cases
    arrived = arrive[~np.isnan(arrive)] if cases.size else np.empty(0)
    ep = run.episodes
    warned = ep["warning_s"].to_numpy(dtype=float)
    return [
        ("crowd_alerts", float((run.alerts["kind"] == "alert").sum()) if len(run.alerts) else 0.0,
         "alerts", "crowd alerts issued on the clock (new episodes)"),
        ("crowd_reinforcements",
         float((run.alerts["kind"] == "reinforce").sum()) if len(run.alerts) else 0.0,
         "alerts", "alerts renewed because every crew sent had left"),
        ("crowd_cases", float(cases.size), "cases", "crowd-control cases raised by the alerts"),
        ("crowd_alert_lead_time_mean",
         float(run.alerts.loc[run.alerts["kind"] == "alert", "lead_time"].mean() / 60.0)
         if len(run.alerts) else np.nan, "min",
         "mean forecast lead time of the alerts (issue to forecast crossing)"),
        ("crowd_episodes", float(len(ep)), "episodes",
         f"episodes above {thr:.3g} persons/m² (with staff)"),
        ("crowd_episodes_warned", float(ep["alerted"].sum()) if len(ep) else 0.0, "episodes",
         "episodes an alert came before"),
        ("crowd_warning_time_mean",
         float(np.nanmean(warned) / 60.0) if np.isfinite(warned).any() else np.nan, "min",
         "mean time from the alert to the start of its episode"),
        ("crowd_staff_arrive_mean", float(arrived.mean() / 60.0) if arrived.size else np.nan,
         "min", "mean time from a crowd alert to its crew on site"),
        ("crowd_staff_hours", float(run.coupled.staff.sum() * minutes / 60.0), "staff-hours",
         "staff on site at plazas, summed"),
        ("crowd_peak_density", float(run.coupled.density.max()) if run.coupled.n_steps else 0.0,
         "persons/m²", "largest density at any plaza"),
        ("crowd_peak_density_without_staff",
         float(run.baseline.density.max()) if run.baseline.n_steps else 0.0, "persons/m²",
         "largest density had no staff been sent"),
        ("crowd_minutes_above_threshold",
         float((run.coupled.density > thr).sum() * minutes), "plaza-min",
         f"time plazas spent above {thr:.3g} persons/m²"),
        ("crowd_minutes_above_threshold_without_staff",
         float((run.baseline.density > thr).sum() * minutes), "plaza-min",
         "the same had no staff been sent"),
        ("crowd_max_exit_queue", float(run.coupled.plaza_queue.max()) if run.coupled.n_steps
         else 0.0, "persons", "most people queuing at one plaza's exits"),
        ("crowd_max_exit_queue_without_staff", float(run.baseline.plaza_queue.max())
         if run.baseline.n_steps else 0.0, "persons", "the same had no staff been sent"),
    ]  # fmt: skip
