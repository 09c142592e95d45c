r"""Merge the runs of a sweep: one ``xarray.Dataset`` and KPI tables with intervals.

The merged Dataset has one dimension per swept parameter (named by its dotted path, e.g.
``dispatch.policy``), then ``replication``, then ``time`` (and ``point`` for the water
series of rain runs):

- the model-level series of every run: ``backlog``, ``waiting_dispatch``, ``travelling``,
  ``working``, ``idle``, ``on_duty``, ``in_verification`` [cases or crews], and for rain
  runs ``water_depth`` [m] and ``rain_rate`` [mm h-1] (``time × point``) and
  ``point_max_depth`` [m];
- ``kpi_value``: every KPI of every run (dimension ``kpi``, with ``kpi_unit``);
- ``run_key`` (the run's folder under ``runs/``), ``run_status`` (1 finished, 0 failed)
  and ``seed`` (per replication).

The per-agent arrays (``crew_status``, ``crew_lon``, ``crew_lat``: ``time × agent``) are
left out by default, since they are most of a run's size; ``agents=True`` keeps them
(padded to the largest crew count). They always stay in each run's own ``run.nc``.

Runs are aligned on the time since their start (``elapsed`` [s]); ``time`` is the base
scenario's start plus ``elapsed`` (UTC, as in a run's Dataset). Values missing because a
run failed, or because its horizon was shorter, are NaN, so every series is float.

The summary gives, per grid point and KPI, the mean over replications and a Student-t
confidence interval, as :mod:`twin.run.compare` does:

.. math::

    \bar x \pm t_{1-\alpha/2,\,n-1} \, s / \sqrt{n}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from twin import __version__
from twin.run.compare import t_interval
from twin.scenario import Scenario
from twin.sweep.grid import Grid
from twin.sweep.task import RunOutcome, RunTask

__all__ = ["kpi_runs_table", "merge_runs", "summarise_grid"]

FloatArray = npt.NDArray[np.float64]

#: Per-agent data variables, kept in the merged Dataset only with ``agents=True``.
AGENT_VARIABLES = ("crew_status", "crew_lon", "crew_lat")
#: Per-agent coordinates of a run, turned into variables with ``agents=True``.
AGENT_COORDS = ("crew_busy_time", "crew_duty_time", "crew_cases")


def _open(folder: Path) -> xr.Dataset:
    with xr.open_dataset(folder / "run.nc") as ds:
        return ds.load()


def _positions(values: Sequence[Any], index: dict[Any, int]) -> npt.NDArray[np.int64]:
    return np.array([index[v] for v in values], dtype=np.int64)


class _Stack:
    """Arrays of shape (grid…, replication, dims…), filled run by run, NaN where missing."""

    def __init__(self, head: tuple[int, ...]) -> None:
        self.head = head
        self.data: dict[str, FloatArray] = {}
        self.dims: dict[str, tuple[str, ...]] = {}
        self.attrs: dict[str, dict[str, Any]] = {}

    def put(self, name: str, dims: tuple[str, ...], sizes: tuple[int, ...],
            where: tuple[Any, ...], values: Any, attrs: dict[str, Any]) -> None:  # fmt: skip
        if name not in self.data:
            self.data[name] = np.full((*self.head, *sizes), np.nan)
            self.dims[name] = dims
            self.attrs[name] = {k: v for k, v in attrs.items() if k == "units" or k == "long_name"}
        self.data[name][where] = values


def merge_runs(
    tasks: Sequence[RunTask],
    outcomes: dict[str, RunOutcome],
    grid: Grid,
    *,
    scenario: Scenario,
    replications: int,
    agents: bool = False,
    confidence: float = 0.95,
) -> xr.Dataset | None:
    """Merge the finished runs' Datasets and KPIs into one Dataset (see the module doc).

    Parameters
    ----------
    tasks
        Every run of the sweep.
    outcomes
        ``key → outcome``; runs that are not ``ok`` are left as NaN.
    grid
        The sweep's grid.
    scenario
        The base scenario (its start anchors ``time``).
    replications
        Number of replications.
    agents
        Keep the per-agent arrays (``time × agent``).
    confidence
        Confidence level recorded in the attributes [-].

    Returns
    -------
    xarray.Dataset or None
        ``None`` when no run finished.
    """
    done = [t for t in tasks if outcomes.get(t.key) is not None and outcomes[t.key].ok]
    if not done:
        return None
    runs = {t.key: _open(Path(t.folder)) for t in done}
    kpis = {t.key: pd.read_parquet(Path(t.folder) / "kpis.parquet") for t in done}

    elapsed = np.unique(np.concatenate([ds["elapsed"].to_numpy() for ds in runs.values()]))
    t_index = {float(v): i for i, v in enumerate(elapsed.tolist())}
    point_ids: dict[str, int] = {}
    point_coords: dict[str, dict[str, Any]] = {}
    n_agents = 0
    kpi_names: dict[str, int] = {}
    kpi_meta: dict[str, tuple[str, str]] = {}
    for key, ds in runs.items():
        if "point" in ds.dims:
            for i, pid in enumerate(ds["point_id"].to_numpy().tolist()):
                if pid not in point_ids:
                    point_ids[pid] = len(point_ids)
                    point_coords[pid] = {
                        str(c): ds[c].to_numpy()[i] for c in ds.coords
                        if ds[c].dims == ("point",) and c not in ("point", "point_max_depth")
                    }  # fmt: skip
        n_agents = max(n_agents, int(ds.sizes.get("agent", 0)))
        for name, unit, text in kpis[key][["kpi", "unit", "description"]].itertuples(index=False):
            if name not in kpi_names:
                kpi_names[name] = len(kpi_names)
                kpi_meta[name] = (str(unit), str(text))

    head = (*grid.shape, replications)
    stack = _Stack(head)
    sizes = {"time": len(elapsed), "point": len(point_ids), "agent": n_agents}
    for t in done:
        ds = runs[t.key]
        where = (*t.index, t.replication)
        tpos = _positions(ds["elapsed"].to_numpy().tolist(), t_index)
        ppos = (
            _positions(ds["point_id"].to_numpy().tolist(), point_ids) if "point" in ds.dims
            else np.empty(0, dtype=np.int64)
        )  # fmt: skip
        for name, var in ds.data_vars.items():
            dims = tuple(str(d) for d in var.dims)
            if "agent" in dims and not agents:
                continue
            shape = tuple(sizes[d] for d in dims)
            sel: list[Any] = []
            for d in dims:
                sel.append(
                    tpos if d == "time" else ppos if d == "point"
                    else np.arange(ds.sizes["agent"])
                )  # fmt: skip
            block = np.full(shape, np.nan)
            block[np.ix_(*sel)] = var.to_numpy().astype(float)
            stack.put(str(name), dims, shape, where, block, dict(var.attrs))
        extra = ["point_max_depth"] + (list(AGENT_COORDS) if agents else [])
        for name in extra:
            if name in ds.coords:
                dim = str(ds[name].dims[0])
                block = np.full(sizes[dim], np.nan)
                pos = ppos if dim == "point" else np.arange(ds.sizes[dim])
                block[pos] = ds[name].to_numpy().astype(float)
                stack.put(name, (dim,), (sizes[dim],), where, block, dict(ds[name].attrs))
        kv = np.full(len(kpi_names), np.nan)
        table = kpis[t.key]
        kv[_positions(table["kpi"].tolist(), kpi_names)] = table["value"].to_numpy(dtype=float)
        stack.put("kpi_value", ("kpi",), (len(kpi_names),), where, kv, {})

    grid_dims = (*grid.dims, "replication")
    data_vars: dict[str, Any] = {
        name: ((*grid_dims, *stack.dims[name]), arr, stack.attrs[name])
        for name, arr in stack.data.items()
    }
    data_vars["kpi_value"][2].update({"long_name": "KPI value of each run (units: kpi_unit)"})
    keys = np.empty(head, dtype=object)
    status = np.zeros(head, dtype=np.int8)
    for t in tasks:
        keys[(*t.index, t.replication)] = t.key
        o = outcomes.get(t.key)
        status[(*t.index, t.replication)] = 1 if o is not None and o.ok else 0
    data_vars["run_key"] = (grid_dims, keys.astype(str), {"long_name": "folder under runs/"})
    data_vars["run_status"] = (grid_dims, status, {
        "long_name": "run status", "flag_values": np.array([0, 1], np.int8),
        "flag_meanings": "failed finished"})  # fmt: skip

    start_utc = pd.Timestamp(scenario.start).tz_convert("UTC").tz_localize(None)
    coords: dict[str, Any] = {
        a.path: (a.path, a.coordinate(), {"long_name": f"swept scenario field {a.path}",
                                          "labels": json.dumps(list(a.labels))})
        for a in grid.axes
    }  # fmt: skip
    coords["replication"] = ("replication", np.arange(replications))
    coords["seed"] = ("replication", scenario.seed + np.arange(replications))
    coords["time"] = (
        "time",
        (start_utc + pd.to_timedelta(elapsed, unit="s")).to_numpy(),
        {"standard_name": "time", "timezone": "UTC"},
    )
    coords["elapsed"] = ("time", elapsed, {"units": "s", "long_name": "time since start"})
    coords["kpi"] = ("kpi", list(kpi_names))
    coords["kpi_unit"] = ("kpi", [kpi_meta[k][0] for k in kpi_names])
    coords["kpi_description"] = ("kpi", [kpi_meta[k][1] for k in kpi_names])
    if point_ids:
        coords["point"] = ("point", np.arange(len(point_ids)))
        first = next(iter(point_coords.values()))
        for c in first:
            coords[c] = ("point", [point_coords[pid][c] for pid in point_ids])
    if agents and n_agents:
        coords["agent"] = ("agent", np.arange(n_agents))
    first_ds = next(iter(runs.values()))
    attrs = {
        "title": f"twin sweep: {scenario.name}",
        "scenario": scenario.name,
        "grid": json.dumps(grid.to_json(), ensure_ascii=False, default=str),
        "replications": replications,
        "base_seed": scenario.seed,
        "confidence": confidence,
        "start": scenario.start.isoformat(),
        "local_timezone": scenario.timezone,
        "horizon_s": scenario.horizon,
        "agents_kept": int(agents),
        "twin_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenario_json": json.dumps(scenario.model_dump(mode="json"), ensure_ascii=False),
        "Conventions": first_ds.attrs.get("Conventions", "CF-1.8"),
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def kpi_runs_table(
    tasks: Sequence[RunTask], outcomes: dict[str, RunOutcome], grid: Grid
) -> pd.DataFrame:
    """Per-run KPIs, one row per run and KPI.

    Columns: ``point`` (flat grid index), one column per swept parameter (its dotted
    path), ``replication``, ``seed``, ``key``, ``kpi``, ``value``, ``unit``. Only
    finished runs appear.
    """
    frames = []
    for t in tasks:
        o = outcomes.get(t.key)
        if o is None or not o.ok:
            continue
        k = pd.read_parquet(Path(t.folder) / "kpis.parquet", columns=["kpi", "value", "unit"])
        head = {"point": t.point, **t.params, "replication": t.replication, "seed": t.seed,
                "key": t.key}  # fmt: skip
        frames.append(k.assign(**{c: [v] * len(k) for c, v in head.items()}))
    columns = ["point", *grid.dims, "replication", "seed", "key", "kpi", "value", "unit"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def summarise_grid(runs: pd.DataFrame, grid: Grid, confidence: float = 0.95) -> pd.DataFrame:
    """Per grid point and KPI: mean over replications and its Student-t interval.

    Parameters
    ----------
    runs
        The table of :func:`kpi_runs_table`.
    grid
        The sweep's grid.
    confidence
        Confidence level of the intervals [-].

    Returns
    -------
    pandas.DataFrame
        ``point``, one column per swept parameter, ``kpi``, ``unit``, ``n`` (finite
        values), ``mean``, ``std`` (sample standard deviation), ``ci_low``, ``ci_high``
        (NaN with fewer than two values).
    """
    columns = ["point", *grid.dims, "kpi", "unit", "n", "mean", "std", "ci_low", "ci_high"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    units = dict(zip(runs["kpi"], runs["unit"], strict=True))
    kpi_order = list(dict.fromkeys(runs["kpi"]))
    by_point = {int(str(p)): block for p, block in runs.groupby("point", sort=True)}
    rows = []
    for point in grid.points():
        flat = int(np.ravel_multi_index(point.index, grid.shape)) if grid.axes else 0
        block = by_point.get(flat)
        if block is None:
            continue
        values = {
            str(k): b["value"].to_numpy(dtype=float) for k, b in block.groupby("kpi", sort=False)
        }
        for kpi in kpi_order:
            x = values.get(kpi, np.empty(0))
            finite = x[np.isfinite(x)]
            m, lo, hi = t_interval(x, confidence)
            sd = float(finite.std(ddof=1)) if finite.size > 1 else np.nan
            rows.append((flat, *point.params.values(), kpi, units[kpi], int(finite.size),
                         m, sd, lo, hi))  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
