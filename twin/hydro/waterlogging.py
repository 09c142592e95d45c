"""Rain → water depth at low points → road states, on the simulation's clock.

The physics does not depend on what the agents do, so a run computes the whole water
depth series first (:func:`simulate_waterlogging`), vectorised over all low points, and
turns it into timed **road-state changes** with hysteresis:

- depth ≥ ``impeded_depth`` (≈ 0.15 m): the point's edges are slowed by ``slow_factor``;
- depth ≥ ``closed_depth`` (≈ 0.27 m): they are closed;
- they return to the milder state when the depth falls ``hysteresis`` below the
  threshold.

The engine applies the changes as simpy events: routes are computed on the network as it
is at that moment, and crews whose route crosses a newly closed or slowed edge reroute
from the last node they passed. The ponding cases raised at onsets are built in
:mod:`twin.coupling.ponding`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from twin._types import FloatArray, IntArray
from twin.errors import ScenarioError
from twin.hydro.lowpoints import LowPoints, low_points
from twin.hydro.reservoir import (
    GreenAmptParams,
    PondingResult,
    RunoffOptions,
    simulate_ponding,
)
from twin.network.road_network import RoadNetwork
from twin.scenario import HydroConfig, Scenario

__all__ = [
    "CLOSED",
    "IMPEDED",
    "OPEN",
    "Waterlogging",
    "district_storm",
    "onsets",
    "rain_for_scenario",
    "rain_with_notes",
    "simulate_waterlogging",
    "state_changes",
]

logger = logging.getLogger(__name__)

OPEN, IMPEDED, CLOSED = 0, 1, 2


@dataclass(frozen=True)
class Waterlogging:
    """Water at the low points over a run.

    Attributes
    ----------
    points
        The low points and their parameters.
    times
        Step boundaries [s since the scenario start], shape (n_steps + 1,).
    rain_rate
        Rain on each point during each step [mm/h], shape (n_steps, n_points).
    depth
        Water depth at each point at each step boundary [m], shape (n_steps + 1, n_points).
    ponding
        The physics result (flows and the mass balance).
    change_time, change_point, change_state
        Road-state changes in time order: when [s], which point, new state
        (:data:`OPEN`, :data:`IMPEDED`, :data:`CLOSED`).
    radar
        The radar storm on its transposed grid, on the scenario's UTC clock (``rain.kind
        radar`` only; radar nowcasts are made from it).
    rain_notes
        What the run says about its rain (``rain_*`` keys): a file's step, units and
        missing steps, a storm cut by the horizon (:func:`rain_with_notes`).
    """

    points: LowPoints
    times: FloatArray
    rain_rate: FloatArray
    depth: FloatArray
    ponding: PondingResult
    change_time: FloatArray
    change_point: IntArray
    change_state: IntArray
    radar: xr.DataArray | None = None
    rain_notes: dict[str, str] = field(default_factory=dict)


def rain_for_scenario(
    scenario: Scenario,
    n_steps: int,
    base_dir: Path | None = None,
    *,
    points: LowPoints | None = None,
    radar: xr.DataArray | None = None,
) -> FloatArray:
    """Rain rate on every step of the run [mm/h], shape (n_steps, n_points).

    With no ``points``, one column (the rain is then uniform). The rain begins
    ``rain.start`` after the scenario start; outside the storm it is dry. See
    :func:`rain_with_notes` for what is said about the rain (a storm cut by the horizon).
    """
    values, _ = rain_with_notes(scenario, n_steps, base_dir, points=points, radar=radar)
    return values


def rain_with_notes(
    scenario: Scenario,
    n_steps: int,
    base_dir: Path | None = None,
    *,
    points: LowPoints | None = None,
    radar: xr.DataArray | None = None,
) -> tuple[FloatArray, dict[str, str]]:
    """:func:`rain_for_scenario` and notes on the rain (``rain_*`` keys, text).

    A storm that runs past the horizon is cut there, with a warning and the note
    ``rain_cut_by_horizon`` (how much of its duration and depth the run keeps); a file's
    notes (:func:`twin.hydro.sources.scenario_rain`) say its step, units and missing
    steps.
    """
    from twin.hydro.sources import scenario_rain

    cfg = scenario.rain
    step = scenario.hydro.step
    n_points = len(points) if points is not None else 1
    out = np.zeros((n_steps, n_points))
    values, notes = scenario_rain(
        cfg, step, base_dir,
        lon=points.lon if points is not None else None,
        lat=points.lat if points is not None else None, radar=radar,
        timezone=scenario.timezone,
    )  # fmt: skip
    first = round(cfg.start / step)
    kept = max(0, min(values.shape[0], n_steps - first)) if values.size else 0
    cut = _horizon_cut(values, kept, step, scenario)
    if cut:
        logger.warning("rain: %s", cut)
        notes["rain_cut_by_horizon"] = cut
    if kept == 0:
        return out, notes
    block = values[:kept] if values.ndim == 2 else values[:kept, None]
    out[first : first + kept] = block
    return out, notes


def district_storm(
    scenario: Scenario, base_dir: Path | None = None, *, points: LowPoints | None = None
) -> tuple[xr.DataArray, dict[str, str]]:
    """The scenario's storm over the district (the mean over ``points``) and its notes.

    A file's rain is read over the points and kept on the file's own step and clock
    (its real times), so a summary's depth, peak and peak time are the district's, not
    the file's extent's; its ``missing_steps`` attribute counts the missing steps before
    the policy filled them. Other sources give the run's series from ``rain.start`` to
    the last wet step. The notes are the run's (:func:`rain_with_notes`).

    Parameters
    ----------
    scenario
        A scenario with rain.
    base_dir
        The scenario's folder (for a relative file path).
    points
        The network's low points (needed for a grid file).
    """
    from twin.hydro.rain_files import file_rain, resolve_path
    from twin.hydro.sources import series_from_values

    step = scenario.hydro.step
    n_steps = int(scenario.horizon // step)
    values, notes = rain_with_notes(scenario, n_steps, base_dir, points=points)
    cfg = scenario.rain
    if cfg.kind == "file":
        lon = points.lon if points is not None else None
        lat = points.lat if points is not None else None
        rain = file_rain(resolve_path(str(cfg.file), base_dir), cfg.file_options, lon=lon,
                         lat=lat, timezone=scenario.timezone)  # fmt: skip
        spatial = [d for d in rain.dims if d != "time"]
        series = (rain.mean(dim=spatial) if spatial else rain) * cfg.scale
        series.attrs = dict(rain.attrs)
        series["time"].attrs = dict(rain["time"].attrs)
        if series["time"].attrs.get("local_timezone", "UTC") == "UTC":  # e.g. NetCDF: UTC
            series["time"].attrs["local_timezone"] = scenario.timezone  # shown in local time
        return series.rename("rain_rate"), notes
    mean = values.mean(axis=1)
    first = int(cfg.start // step)
    wet = np.flatnonzero(mean > 0)
    mean = mean[first : (wet[-1] + 1 if wet.size else first + 1)]
    return series_from_values(mean, step), notes


def _horizon_cut(values: FloatArray, kept: int, step: float, scenario: Scenario) -> str:
    """What the horizon cuts off a storm ('' when nothing wet is cut)."""
    if values.size == 0:
        return ""
    mean = values.reshape(values.shape[0], -1).mean(axis=1)
    wet = np.flatnonzero(mean > 0)
    if wet.size == 0 or wet[-1] < kept:
        return ""
    total, kept_mm = (float(mean[:n].sum() * step / 3600.0) for n in (mean.size, kept))
    hours, kept_h = (wet[-1] + 1) * step / 3600.0, kept * step / 3600.0
    return (
        f"the storm lasts {hours:.4g} h from rain.start ({scenario.rain.start / 3600:.4g} h) "
        f"but the run ends at {scenario.horizon / 3600:.4g} h: {kept_h:.4g} of {hours:.4g} h "
        f"kept ({kept_mm:.4g} of {total:.4g} mm); lengthen horizon or move rain.start to "
        "keep it all"
    )


def state_changes(
    depth: FloatArray, times: FloatArray, *, impeded: float, closed: float, hysteresis: float
) -> tuple[FloatArray, IntArray, IntArray]:
    """Road-state changes from depth series, with hysteresis (in time order, then point).

    A point is ``CLOSED`` from ``closed`` depth until it falls below ``closed −
    hysteresis``; ``IMPEDED`` from ``impeded`` until below ``impeded − hysteresis``.
    """
    t_out: list[float] = []
    p_out: list[int] = []
    s_out: list[int] = []
    wet = np.flatnonzero(depth.max(axis=0) >= impeded)
    for p in wet.tolist():
        state = OPEN
        for k, x in enumerate(depth[:, p].tolist()):
            if x >= closed or (state == CLOSED and x >= closed - hysteresis):
                new = CLOSED
            elif x >= impeded or (state != OPEN and x >= impeded - hysteresis):
                new = IMPEDED
            else:
                new = OPEN
            if new != state:
                t_out.append(float(times[k]))
                p_out.append(p)
                s_out.append(new)
                state = new
    t = np.array(t_out, dtype=float)
    pt = np.array(p_out, dtype=np.int64)
    st = np.array(s_out, dtype=np.int64)
    order = np.lexsort((pt, t))
    return t[order], pt[order], st[order]


def simulate_waterlogging(
    net: RoadNetwork, scenario: Scenario, *, base_dir: Path | None = None
) -> Waterlogging | None:
    """Water depth at every low point over the run, or ``None`` when it does not rain."""
    if scenario.rain.kind == "none":
        return None
    hy = scenario.hydro
    points = low_points(net, design_rain_rate=hy.design_rain_rate)
    n_steps = int(np.ceil(scenario.horizon / hy.step))
    radar = None
    if scenario.rain.kind == "radar":
        from twin.hydro.sources import radar_storm

        start = pd.Timestamp(scenario.start).tz_convert("UTC").tz_localize(None)
        rain_start = (start + pd.Timedelta(seconds=scenario.rain.start)).to_datetime64()
        radar = radar_storm(scenario.rain, rain_start=rain_start, target=net, base_dir=base_dir)
    rain2d, notes = rain_with_notes(scenario, n_steps, base_dir, points=points, radar=radar)
    if rain2d.shape[1] == 1:
        rain2d = np.repeat(rain2d, len(points), axis=1)
    options = runoff_options(hy, points.ids)
    if hy.truth.active:
        result = _true_ponding(points, rain2d, scenario, options)
    else:
        result = simulate_ponding(points.params, rain2d, hy.step, options=options)
    depth = np.asarray(result.water_depth, dtype=float)
    times = np.arange(depth.shape[0], dtype=float) * hy.step
    t, p, s = state_changes(
        depth, times, impeded=hy.impeded_depth, closed=hy.closed_depth, hysteresis=hy.hysteresis
    )
    logger.info(
        "Waterlogging: peak depth %.2f m; %d road-state changes at %d points",
        float(depth.max()), t.size, np.unique(p).size,
    )  # fmt: skip
    return Waterlogging(points, times, rain2d, depth, result, t, p, s, radar, notes)


def runoff_options(hy: HydroConfig, point_ids: Iterable[str] = ()) -> RunoffOptions | None:
    """The scenario's optional SWMM runoff features (``hydro.runoff``), or ``None``.

    Parameters
    ----------
    hy
        The scenario's hydro section.
    point_ids
        Ids of the low points, in order (needed when ``hydro.runoff.spill_to`` names some).

    Raises
    ------
    ScenarioError
        ``spill_to`` names a point that is not a low point of the network.
    """
    rc = hy.runoff
    if not rc.active:
        return None
    ga = None
    if rc.green_ampt is not None:
        g = rc.green_ampt
        ga = GreenAmptParams(suction=g["suction"], conductivity=g["conductivity"] / 3.6e6,
                             deficit=g["deficit"])  # fmt: skip
    dry = math.inf if rc.dry_time is None else rc.dry_time
    spill = None
    if rc.spill_to:
        index = {str(p): k for k, p in enumerate(point_ids)}
        spill = np.full(len(index), -1, dtype=np.int64)
        for src, dst in rc.spill_to.items():
            for name in (src,) if dst == "away" else (src, dst):
                if name not in index:
                    known = ", ".join(list(index)[:4])
                    raise ScenarioError(
                        f"hydro.runoff.spill_to: {name!r} is not a low point of the network "
                        f"(ids like {known}, …; 'away' sends the water off the network)"
                    )
            spill[index[src]] = -1 if dst == "away" else index[dst]
    options = RunoffOptions(
        route_to_pervious=rc.route_to_pervious, dry_time=dry, green_ampt=ga, spill_to=spill
    )
    if spill is not None:
        try:
            options.spill_order(len(spill))
        except ValueError as exc:
            raise ScenarioError(
                "hydro.runoff.spill_to: points spill into each other in a loop (a point "
                "into itself, or A into B and B into A); send one of them 'away'"
            ) from exc
    return options


def _true_ponding(
    points: LowPoints, rain2d: FloatArray, scenario: Scenario, options: RunoffOptions | None
) -> PondingResult:
    """Ponding with the real drains (:func:`twin.hydro.truth.true_ponding`)."""
    from twin.hydro.truth import true_ponding
    from twin.seeds import stream_rng

    return true_ponding(
        points.params, rain2d, scenario.hydro.step, scenario.hydro.truth,
        stream_rng(scenario.seed, "hydro_truth"), rain_start=scenario.rain.start,
        options=options,
    )  # fmt: skip


def onsets(water: Waterlogging) -> npt.NDArray[np.bool_]:
    """Which of the water's road-state changes are onsets (to impeded or closed from open)."""
    prev = np.full(len(water.points), OPEN)
    onset = np.zeros(water.change_time.size, dtype=bool)
    for k, (p, s) in enumerate(zip(water.change_point, water.change_state, strict=True)):
        onset[k] = prev[p] == OPEN and s != OPEN
        prev[p] = s
    return onset
