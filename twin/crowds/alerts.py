"""Crowd alerts: forecast density crossing a threshold within a horizon.

The flow model is deterministic given the demand, so a forecast issued at time
:math:`t_i` is a run of the model from the state at :math:`t_i` over the horizon with
the demand *planned* for it (timetables, events, expected background). An alert is
raised for each plaza whose forecast density exceeds the threshold at some step end in
:math:`(t_i, t_i + H]`; its ``lead_time`` is the first such time minus :math:`t_i`.
Where the planned demand is wrong (a surge nobody announced), the forecast is too:
pass the demand you believe at issue time.

:func:`rolling_alerts` issues forecasts every ``every`` seconds along a run and keeps
the first alert of each episode (a plaza stays alerted while successive forecasts
keep crossing); :func:`crossings` lists the episodes a run actually had, for scoring
lead times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin.crowds.config import FlowModelConfig, Intervention
from twin.crowds.demand import Demand
from twin.crowds.los import level_of_service
from twin.crowds.model import simulate
from twin.crowds.plazas import Plazas
from twin.crowds.results import CrowdResult, CrowdState

__all__ = ["CrowdAlert", "alerts_frame", "crossings", "forecast_alerts", "rolling_alerts"]


@dataclass(frozen=True)
class CrowdAlert:
    """A forecast that a plaza's density will exceed a threshold.

    Attributes
    ----------
    plaza, plaza_name
        The plaza.
    issue_time
        When the forecast was issued, run clock [s].
    onset_time
        First forecast step end above the threshold, run clock [s].
    lead_time
        ``onset_time - issue_time`` [s].
    peak_density
        Largest forecast density within the horizon [persons/m²].
    peak_time
        When it is forecast, run clock [s].
    level
        Fruin level of service at the peak.
    threshold
        The threshold [persons/m²].
    already_above
        Whether the density was already above the threshold at issue time.
    """

    plaza: str
    plaza_name: str
    issue_time: float
    onset_time: float
    lead_time: float
    peak_density: float
    peak_time: float
    level: str
    threshold: float
    already_above: bool


def _window_of(demand: Demand, time: float, horizon: float) -> tuple[int, int]:
    k0 = (time - demand.t0) / demand.dt
    if abs(k0 - round(k0)) > 1e-6 or not 0 <= round(k0) <= demand.n_steps:
        raise ValueError(
            f"the state's time {time:g} s is not a step boundary of the demand "
            f"({demand.t0:g} s + k × {demand.dt:g} s, k ≤ {demand.n_steps})"
        )
    first = round(k0)
    return first, min(demand.n_steps, first + math.ceil(horizon / demand.dt - 1e-9))


def forecast_alerts(
    state: CrowdState,
    demand: Demand,
    horizon: float,
    threshold: float,
    *,
    params: FlowModelConfig | None = None,
    interventions: Sequence[Intervention] = (),
    staff: npt.ArrayLike | None = None,
) -> list[CrowdAlert]:
    """Alerts for plazas whose forecast density exceeds ``threshold`` within ``horizon``.

    Parameters
    ----------
    state
        The state at issue time (e.g. ``result.state_at(k)``); its ``time`` must be a
        step boundary of ``demand``.
    demand
        The planned demand, covering at least the state's time (steps beyond its end
        are not forecast).
    horizon
        Forecast horizon [s].
    threshold
        Density that raises an alert [persons/m²].
    params
        Flow model parameters.
    interventions
        Interventions planned (run-clock times).
    staff
        Staff present per step of ``demand`` and plaza [persons], ``(T, P)``.

    Returns
    -------
    list of CrowdAlert
        One per plaza crossing, in plaza order; empty if none does (or the demand has
        no step left).
    """
    first, stop = _window_of(demand, state.time, horizon)
    if stop <= first:
        return []
    st = None if staff is None else np.asarray(staff, dtype=np.float64)[first:stop]
    res = simulate(
        state.plazas, demand.window(first, stop), params=params,
        interventions=interventions, staff=st, initial=state,
    )  # fmt: skip
    rho = res.density
    above = rho > threshold
    now = state.density > threshold
    table = res.params.los_table
    alerts = []
    for q in np.flatnonzero(above.any(axis=0)).tolist():
        k_on = int(np.argmax(above[:, q]))
        k_pk = int(np.argmax(rho[:, q]))
        alerts.append(
            CrowdAlert(
                plaza=str(state.plazas.id[q]), plaza_name=str(state.plazas.name[q]),
                issue_time=state.time, onset_time=float(res.time[k_on]),
                lead_time=float(res.time[k_on] - state.time),
                peak_density=float(rho[k_pk, q]), peak_time=float(res.time[k_pk]),
                level=str(level_of_service(rho[k_pk, q], table)), threshold=float(threshold),
                already_above=bool(now[q]),
            )
        )  # fmt: skip
    return alerts


def rolling_alerts(
    plazas: Plazas,
    demand: Demand,
    *,
    every: float,
    horizon: float,
    threshold: float,
    params: FlowModelConfig | None = None,
    interventions: Sequence[Intervention] = (),
    staff: npt.ArrayLike | None = None,
    forecast_demand: Demand | None = None,
) -> tuple[CrowdResult, list[CrowdAlert]]:
    """Run the model and issue forecasts every ``every`` seconds along the run.

    Parameters
    ----------
    plazas, demand
        The plazas and the demand that actually happens.
    every
        Issue interval [s] (a whole number of steps).
    horizon, threshold
        See :func:`forecast_alerts`.
    params, interventions, staff
        As for :func:`~twin.crowds.model.simulate`.
    forecast_demand
        The demand forecasts assume (the plan); ``demand`` itself when ``None``.

    Returns
    -------
    result : CrowdResult
        The run.
    alerts : list of CrowdAlert
        The first alert of each episode: a plaza is alerted again only after a forecast
        for it showed no crossing.
    """
    truth = simulate(plazas, demand, params=params, interventions=interventions, staff=staff)
    plan = demand if forecast_demand is None else forecast_demand
    stride = round(every / demand.dt)
    if stride < 1 or abs(stride * demand.dt - every) > 1e-6:
        raise ValueError(f"every ({every:g} s) must be a whole number of {demand.dt:g}-s steps")
    active = np.zeros(plazas.n_plazas, dtype=bool)
    issued: list[CrowdAlert] = []
    for k in range(stride - 1, truth.n_steps, stride):
        fc = forecast_alerts(
            truth.state_at(k), plan, horizon, threshold, params=params,
            interventions=interventions, staff=staff,
        )  # fmt: skip
        hit = np.zeros(plazas.n_plazas, dtype=bool)
        for a in fc:
            q = int(np.flatnonzero(truth.plazas.id == a.plaza)[0])
            hit[q] = True
            if not active[q]:
                issued.append(a)
        active = hit
    return truth, issued


def crossings(result: CrowdResult, threshold: float) -> pd.DataFrame:
    """Episodes in a run when a plaza's density was above ``threshold``.

    Returns
    -------
    pandas.DataFrame
        One row per episode: ``plaza``, ``start`` (first step end above) and ``end``
        (last step end above) [s, run clock], ``peak_density`` [persons/m²].
    """
    rho = result.density
    rows = []
    for q in range(rho.shape[1]):
        above = np.r_[False, rho[:, q] > threshold, False].astype(np.int8)
        starts = np.flatnonzero(np.diff(above) == 1)
        ends = np.flatnonzero(np.diff(above) == -1) - 1
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            rows.append((str(result.plazas.id[q]), float(result.time[a]), float(result.time[b]),
                         float(rho[a : b + 1, q].max())))  # fmt: skip
    return pd.DataFrame(rows, columns=["plaza", "start", "end", "peak_density"])


def alerts_frame(alerts: Sequence[CrowdAlert], start: datetime | None = None) -> pd.DataFrame:
    """Alerts as a table; with ``start`` (run-clock 0), times also as timestamps."""
    df = pd.DataFrame([asdict(a) for a in alerts], columns=list(CrowdAlert.__dataclass_fields__))
    if start is not None:
        t0 = pd.Timestamp(start)
        for col in ("issue_time", "onset_time", "peak_time"):
            df[col.replace("_time", "_at")] = t0 + pd.to_timedelta(df[col], unit="s")
    return df
