"""Results of the crowd model: the state at a moment, and a run over steps.

:class:`CrowdState` is everyone at, in or waiting for the plazas at one moment (what a
run starts from and what a forecast restarts from); :class:`CrowdResult` holds a run
(:func:`twin.crowds.model.simulate`) as arrays, with tables (:meth:`CrowdResult.kpis`,
:meth:`CrowdResult.balance`) and an ``xarray.Dataset`` (:meth:`CrowdResult.to_dataset`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from twin._types import FloatArray, IntArray, StrArray
from twin.crowds.config import FlowModelConfig
from twin.crowds.demand import Demand
from twin.crowds.los import level_of_service, los_index, los_thresholds
from twin.crowds.plazas import Plazas

__all__ = ["CrowdResult", "CrowdRun", "CrowdState"]


def _vec(a: npt.ArrayLike | None, n: int, name: str) -> FloatArray:
    out = np.zeros(n) if a is None else np.array(a, dtype=np.float64).reshape(-1)
    if out.shape != (n,) or not np.all(np.isfinite(out)) or np.any(out < 0.0):
        raise ValueError(f"CrowdState.{name}: expected {n} finite values >= 0 [persons]")
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class CrowdState:
    """Everyone at, in or waiting for the plazas at one moment.

    Attributes
    ----------
    time
        Run-clock time [s].
    plazas
        The plazas (and exits) the state refers to.
    visiting, walking
        Visitors staying / people heading for an exit, per plaza [persons].
    queue
        People queuing at each exit [persons].
    waiting_through, waiting_visit
        Arrivals waiting outside a full plaza, per plaza [persons].
    held_metro
        Timetabled arrivals held upstream by a hold, per plaza [persons].
    event_name, event_plaza
        Events held on plazas (name, plaza position).
    event_present, event_waiting, held_event
        Per event: attendees on the plaza, waiting outside, held upstream [persons].
    """

    time: float
    plazas: Plazas
    visiting: FloatArray = field(default_factory=lambda: np.zeros(0))
    walking: FloatArray = field(default_factory=lambda: np.zeros(0))
    queue: FloatArray = field(default_factory=lambda: np.zeros(0))
    waiting_through: FloatArray = field(default_factory=lambda: np.zeros(0))
    waiting_visit: FloatArray = field(default_factory=lambda: np.zeros(0))
    held_metro: FloatArray = field(default_factory=lambda: np.zeros(0))
    event_name: StrArray = field(default_factory=lambda: np.zeros(0, dtype=str))
    event_plaza: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    event_present: FloatArray = field(default_factory=lambda: np.zeros(0))
    event_waiting: FloatArray = field(default_factory=lambda: np.zeros(0))
    held_event: FloatArray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        p, x = self.plazas.n_plazas, self.plazas.n_exits
        for name in ("visiting", "walking", "waiting_through", "waiting_visit", "held_metro"):
            raw = getattr(self, name)
            object.__setattr__(self, name, _vec(raw if np.size(raw) else None, p, name))
        object.__setattr__(
            self, "queue", _vec(self.queue if np.size(self.queue) else None, x, "queue")
        )
        names = np.asarray(self.event_name, dtype=str).reshape(-1)
        e = names.shape[0]
        where = np.asarray(self.event_plaza, dtype=np.int64).reshape(-1)
        if where.shape != (e,) or (e and (where.min() < 0 or where.max() >= p)):
            raise ValueError("CrowdState.event_plaza: one plaza position per event")
        object.__setattr__(self, "event_name", names)
        object.__setattr__(self, "event_plaza", where)
        for name in ("event_present", "event_waiting", "held_event"):
            raw = getattr(self, name)
            object.__setattr__(self, name, _vec(raw if np.size(raw) else None, e, name))

    @property
    def occupants(self) -> FloatArray:
        """People on each plaza [persons]."""
        n = self.visiting + self.walking
        n = n + np.bincount(self.plazas.exit_plaza, weights=self.queue, minlength=n.size)
        return np.asarray(
            n + np.bincount(self.event_plaza, weights=self.event_present, minlength=n.size)
        )

    @property
    def density(self) -> FloatArray:
        """Density on each plaza [persons/m²]."""
        return np.asarray(self.occupants / self.plazas.usable_area)

    @property
    def waiting(self) -> FloatArray:
        """People waiting outside each plaza [persons]."""
        w = self.waiting_through + self.waiting_visit
        return np.asarray(
            w + np.bincount(self.event_plaza, weights=self.event_waiting, minlength=w.size)
        )


@dataclass(frozen=True, eq=False)
class CrowdResult:
    """Crowds at every plaza over a run: states at step ends, flows over steps.

    Shapes: ``(T, P)`` per plaza, ``(T, X)`` per exit, ``(T, E)`` per event on a plaza.

    Attributes
    ----------
    plazas
        The plazas simulated (with any exits opened by interventions).
    demand
        The demand as it reached the plazas (timetabled arrivals metered by holds).
    params
        The flow model's parameters.
    initial
        The state at the start.
    arrivals
        People arriving at each plaza [persons/step].
    inflow, outflow
        People entering the plaza / leaving through its exits [persons/step].
    occupants
        People on the plaza [persons].
    walking, visiting
        Walkers heading for an exit / visitors staying [persons].
    waiting_through, waiting_visit
        Arrivals waiting outside [persons].
    speed
        Walking speed at the plaza's density [m/s].
    efficiency
        Exit efficiency (share of capacity usable) [-], mean over the step.
    staff
        Staff present [persons], mean over the step.
    held_metro
        Timetabled arrivals held upstream [persons]; ``held_event`` per event.
    diverted
        Timetabled arrivals sent elsewhere by a hold [persons/step].
    event_present, event_waiting
        Attendees on the plaza / waiting outside, per event [persons].
    queue, exit_flow
        People queuing at / discharged through each exit [persons], [persons/step].
    """

    plazas: Plazas
    demand: Demand
    params: FlowModelConfig
    initial: CrowdState
    arrivals: FloatArray
    inflow: FloatArray
    outflow: FloatArray
    occupants: FloatArray
    walking: FloatArray
    visiting: FloatArray
    waiting_through: FloatArray
    waiting_visit: FloatArray
    speed: FloatArray
    efficiency: FloatArray
    staff: FloatArray
    held_metro: FloatArray
    held_event: FloatArray
    diverted: FloatArray
    event_present: FloatArray
    event_waiting: FloatArray
    queue: FloatArray
    exit_flow: FloatArray

    # ------------------------------------------------------------------ basics
    @property
    def n_steps(self) -> int:
        """Number of steps."""
        return int(self.occupants.shape[0])

    @property
    def dt(self) -> float:
        """Step [s]."""
        return self.demand.dt

    @property
    def t0(self) -> float:
        """Run-clock time of the start [s]."""
        return self.demand.t0

    @property
    def time(self) -> FloatArray:
        """Run-clock time at the end of each step [s] (states refer to it)."""
        return self.t0 + self.dt * np.arange(1, self.n_steps + 1, dtype=np.float64)

    @property
    def density(self) -> FloatArray:
        """Density on each plaza [persons/m²]."""
        return np.asarray(self.occupants / self.plazas.usable_area)

    @property
    def los(self) -> StrArray:
        """Fruin level of service of each plaza (the table in ``params.los_table``)."""
        return level_of_service(self.density, self.params.los_table)

    def event_by_plaza(self, values: FloatArray) -> FloatArray:
        """Sum a ``(T, E)`` array of events onto their plazas."""
        return self.demand.event_by_plaza(values)

    @property
    def waiting(self) -> FloatArray:
        """People waiting outside each plaza [persons]."""
        return np.asarray(
            self.waiting_through + self.waiting_visit + self.event_by_plaza(self.event_waiting)
        )

    @property
    def attending(self) -> FloatArray:
        """Event attendees on each plaza [persons]."""
        return self.event_by_plaza(self.event_present)

    @property
    def plaza_queue(self) -> FloatArray:
        """People queuing at each plaza's exits [persons]."""
        if self.plazas.n_plazas == 0:
            return np.zeros((self.n_steps, 0))
        # Exits are grouped by plaza and every plaza has one: segment sums.
        starts = self.plazas.exit_ptr[:-1]
        return np.asarray(np.add.reduceat(self.queue, starts, axis=1), dtype=np.float64)

    @property
    def held(self) -> FloatArray:
        """Timetabled arrivals held upstream of each plaza [persons]."""
        return np.asarray(self.held_metro + self.event_by_plaza(self.held_event))

    # ------------------------------------------------------------------ states
    def state_at(self, step: int) -> CrowdState:
        """The state at the end of a step (``-1``: the last), to restart or forecast from."""
        k = range(self.n_steps)[step]
        return CrowdState(
            time=float(self.time[k]), plazas=self.plazas, visiting=self.visiting[k],
            walking=self.walking[k], queue=self.queue[k],
            waiting_through=self.waiting_through[k], waiting_visit=self.waiting_visit[k],
            held_metro=self.held_metro[k], event_name=self.demand.event_name,
            event_plaza=self.demand.event_plaza, event_present=self.event_present[k],
            event_waiting=self.event_waiting[k], held_event=self.held_event[k],
        )  # fmt: skip

    @property
    def final(self) -> CrowdState:
        """The state at the end of the run."""
        return self.state_at(-1)

    def balance(self) -> pd.DataFrame:
        """People conservation per plaza over the run.

        Returns
        -------
        pandas.DataFrame
            One row per plaza [persons]: ``inflow``, ``outflow``, ``present_start``,
            ``present_end``, ``error`` (inflow − outflow − change of present);
            ``arrivals``, ``waiting_start``, ``waiting_end``, ``arrival_error``
            (arrivals − inflow − change of waiting); ``relative_error`` (the larger
            error over the people handled).
        """
        p0, p1 = self.initial.occupants, self.occupants[-1]
        w0, w1 = self.initial.waiting, self.waiting[-1]
        inflow, outflow = self.inflow.sum(0), self.outflow.sum(0)
        arrivals = self.arrivals.sum(0)
        err = inflow - outflow - (p1 - p0)
        err_a = arrivals - inflow - (w1 - w0)
        scale = np.maximum(np.maximum(inflow + p0, arrivals + w0), 1.0)
        return pd.DataFrame(
            {
                "plaza": self.plazas.id, "inflow": inflow, "outflow": outflow,
                "present_start": p0, "present_end": p1, "error": err, "arrivals": arrivals,
                "waiting_start": w0, "waiting_end": w1, "arrival_error": err_a,
                "relative_error": np.maximum(np.abs(err), np.abs(err_a)) / scale,
            }
        )  # fmt: skip

    # ------------------------------------------------------------------ tables
    def kpis(self, *, threshold: float | None = None) -> pd.DataFrame:
        """Key figures per plaza, as a tidy table.

        Parameters
        ----------
        threshold
            Density for ``minutes_above_threshold`` [persons/m²]; by default where
            Fruin's level E begins in the run's table.

        Returns
        -------
        pandas.DataFrame
            Columns ``plaza``, ``kpi``, ``value``, ``unit``, ``description``.
        """
        rho = self.density
        thr = float(los_thresholds(self.params.los_table)[3]) if threshold is None else threshold
        worst = los_index(rho.max(axis=0), self.params.los_table)
        k_peak = rho.argmax(axis=0)
        rows: list[tuple[str, str, float, str, str]] = []
        minutes = self.dt / 60.0
        table: list[tuple[str, FloatArray, str, str]] = [
            ("peak_density", rho.max(axis=0), "persons/m²", "largest density"),
            ("peak_time", self.time[k_peak], "s", "run-clock time of the largest density"),
            ("peak_occupants", self.occupants.max(axis=0), "persons", "most people on the plaza"),
            ("worst_los", worst.astype(np.float64), "0=A … 5=F",
             f"worst Fruin {self.params.los_table} level of service"),
            ("minutes_above_threshold", (rho > thr).sum(axis=0) * minutes, "min",
             f"time above {thr:.3g} persons/m²"),
            ("max_exit_queue", self.plaza_queue.max(axis=0), "persons",
             "most people queuing at the exits"),
            ("max_waiting_outside", self.waiting.max(axis=0), "persons",
             "most arrivals kept out of a full plaza"),
            ("max_held_upstream", self.held.max(axis=0), "persons",
             "most timetabled arrivals held by a hold"),
            ("arrivals", self.arrivals.sum(axis=0), "persons", "people who arrived"),
            ("outflow", self.outflow.sum(axis=0), "persons", "people who left"),
        ]  # fmt: skip
        for name, values, unit, desc in table:
            rows.extend(
                (pid, name, float(v), unit, desc)
                for pid, v in zip(self.plazas.id.tolist(), values, strict=True)
            )
        return pd.DataFrame(rows, columns=["plaza", "kpi", "value", "unit", "description"])

    def to_dataset(self, times: Any = None) -> xr.Dataset:
        """The run as an ``xarray.Dataset`` with dims ``time`` × ``plaza`` (and ``exit``).

        Parameters
        ----------
        times
            Labels of the ``time`` axis, one per step (the end of each step). By default
            UTC times from the demand's ``start`` (``timezone`` attribute "UTC"), else
            run-clock seconds.

        Returns
        -------
        xarray.Dataset
        """
        if times is None:
            secs = self.time
            if self.demand.start is not None:
                start = pd.Timestamp(self.demand.start)
                start = start.tz_convert("UTC").tz_localize(None) if start.tzinfo else start
                tvals: Any = (start + pd.to_timedelta(secs, unit="s")).to_numpy()
                tattrs = {"standard_name": "time", "timezone": "UTC",
                          "local_timezone": str(self.demand.start.tzinfo or "")}  # fmt: skip
            else:
                tvals, tattrs = secs, {"units": "s", "long_name": "run-clock time"}
        else:
            tvals = np.asarray(times)
            if tvals.shape != (self.n_steps,):
                raise ValueError(f"times must hold {self.n_steps} labels, got shape {tvals.shape}")
            tattrs = {}
        pl = self.plazas
        tp, tx = ("time", "plaza"), ("time", "exit")

        def var(dims: tuple[str, str], data: FloatArray, units: str, long: str) -> Any:
            return (dims, data, {"units": units, "long_name": long})

        ds = xr.Dataset(
            {
                "occupants": var(tp, self.occupants, "persons", "people on the plaza"),
                "density": var(tp, self.density, "persons m-2", "crowd density"),
                "los": (
                    tp,
                    self.los,
                    {"long_name": f"Fruin {self.params.los_table} level of service"},
                ),
                "arrivals": var(tp, self.arrivals, "persons", "arrivals in the step"),
                "inflow": var(tp, self.inflow, "persons", "people entering in the step"),
                "outflow": var(tp, self.outflow, "persons", "people leaving in the step"),
                "walking": var(tp, self.walking, "persons", "people heading for an exit"),
                "visiting": var(tp, self.visiting, "persons", "visitors staying"),
                "attending": var(tp, self.attending, "persons", "event attendees on the plaza"),
                "exit_queue": var(tp, self.plaza_queue, "persons", "people queuing at the exits"),
                "waiting": var(tp, self.waiting, "persons", "arrivals kept outside"),
                "held": var(tp, self.held, "persons", "timetabled arrivals held upstream"),
                "diverted": var(tp, self.diverted, "persons", "timetabled arrivals sent elsewhere"),
                "speed": var(tp, self.speed, "m s-1", "walking speed at the density"),
                "efficiency": var(tp, self.efficiency, "1", "share of exit capacity usable"),
                "staff": var(tp, self.staff, "persons", "staff present"),
                "queue": var(tx, self.queue, "persons", "people queuing at the exit"),
                "exit_flow": var(tx, self.exit_flow, "persons", "people through the exit"),
            },
            coords={
                "time": ("time", tvals, tattrs),
                "plaza": ("plaza", pl.id),
                "plaza_name": ("plaza", pl.name),
                "plaza_kind": ("plaza", pl.kind),
                "usable_area": ("plaza", pl.usable_area, {"units": "m2"}),
                "lon": ("plaza", pl.lon, {"units": "degrees_east"}),
                "lat": ("plaza", pl.lat, {"units": "degrees_north"}),
                "exit": ("exit", pl.exit_id),
                "exit_plaza": ("exit", pl.id[pl.exit_plaza]),
                "exit_width": ("exit", pl.exit_width, {"units": "m"}),
            },
            attrs={
                "title": "Crowds at plazas (zone-level flow model, twin.crowds)",
                "step_s": self.dt,
                "substeps": self.params.substeps,
                "exit_capacity_persons_per_m_s": self.params.exit_capacity,
                "los_table": self.params.los_table,
                "states": "at the end of each step; flows summed over the step",
            },
        )
        return ds


@dataclass(frozen=True, eq=False)
class CrowdRun:
    """What the crowds did in a scenario run.

    Attributes
    ----------
    coupled
        The run with the staff the crews brought.
    baseline
        The same demand with no staff sent (interventions of the scenario still apply).
    alerts
        One row per alert issued on the clock (:func:`~twin.crowds.alerts.alerts_frame`
        columns), plus ``kind`` (``alert``: a new episode; ``reinforce``: renewed when
        every crew sent had left) and ``cases`` (indices of the cases raised).
    episodes
        Episodes above the threshold in the coupled run, with whether an alert preceded
        each (``alerted``) and by how long (``warning_s``).
    effect
        Per plaza KPIs of both runs and their change (coupled − baseline).
    threshold
        Alert density [persons/m²].
    """

    coupled: CrowdResult
    baseline: CrowdResult
    alerts: pd.DataFrame
    episodes: pd.DataFrame
    effect: pd.DataFrame
    threshold: float

    @property
    def plazas(self) -> Plazas:
        """The plazas."""
        return self.coupled.plazas

    def to_dataset(self) -> xr.Dataset:
        """Density, occupants, queues and staff per plaza (``crowd_time`` × ``plaza``).

        The step ends of the crowd model (one a minute by default) form their own time
        axis, ``crowd_time`` (UTC), beside the run's record times.
        """
        ds = self.coupled.to_dataset()
        keep = ["occupants", "density", "los", "exit_queue", "waiting", "staff", "efficiency"]
        ds = ds[keep].rename({k: f"crowd_{k}" for k in keep}).rename({"time": "crowd_time"})
        ds = ds.drop_dims("exit", errors="ignore")
        ds["crowd_density_without_staff"] = (
            ("crowd_time", "plaza"),
            self.baseline.density,
            {"units": "persons m-2", "long_name": "crowd density had no staff been sent"},
        )
        ds.attrs = {}
        ds["crowd_density"].attrs["alert_threshold"] = self.threshold
        return ds
