"""Orchestration: from a scenario and a :class:`PlacementConfig` to a placement and its scores.

:func:`build_matrices` builds a training and a test impact matrix per technology from
ensembles of twin runs; :func:`run_placement` merges them (costs applied), solves at the
budget, draws the Pareto curve and scores the chosen placements out of sample.

Seeds (all from one ``seed``, the config's or else the scenario's):

- gauges: rain variability of the training storms ``seed``, of the test storms
  ``seed + evaluation_seed_offset``; the catalogue sample ``seed``;
- probes: the fleet ``seed`` (the same vehicles in both), trips/defects/detections
  ``seed + 1`` (training) and ``seed + evaluation_seed_offset`` (test); hot-spot centres
  of the demand ``seed``;
- cameras (generated trips): ``seed`` and ``seed + evaluation_seed_offset``; a file of
  events is split in time, the first 70 % for training and the rest for the test.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin._types import FloatArray, IntArray
from twin.hydro.ensemble import StormSet, catalogue_storms, design_storms
from twin.hydro.lowpoints import LowPoints, low_points
from twin.network.road_network import RoadNetwork
from twin.placement.cameras import camera_impact, truck_trip_events
from twin.placement.errors import PlacementError
from twin.placement.evaluation import out_of_sample
from twin.placement.gauges import gauge_impact
from twin.placement.impact import ImpactMatrix, concat_matrices
from twin.placement.pareto import curve_budgets, pareto_curve
from twin.placement.ponding_events import PondingEnsemble, simulate_storms
from twin.placement.probes import probe_ensemble
from twin.placement.skill import forecast_skill, forecast_skill_impact
from twin.placement.solvers import Placement, solve
from twin.scenario import Scenario
from twin.scenario.placement import PlacementConfig

__all__ = ["PlacementRun", "build_matrices", "camera_event_table", "run_placement"]

logger = logging.getLogger(__name__)

#: Share of a camera event file (by time) used for training; the rest is the test.
CAMERA_TRAIN_SHARE = 0.7

Progress = Callable[[str], None]


@dataclass
class PlacementRun:
    """Everything a placement run produced.

    Attributes
    ----------
    scenario
        The scenario.
    config
        The placement settings used.
    seed
        The seed used.
    train, test
        Impact matrices (costs applied) for optimising and for out-of-sample scoring.
    placements
        The placement at the budget, by solver.
    curve
        The Pareto curve (:func:`twin.placement.pareto.pareto_curve`).
    evaluation
        In- and out-of-sample scores (:func:`twin.placement.evaluation.out_of_sample`).
    extras
        Builder outputs for the maps: ``trip_log`` (probes), ``camera_events``,
        ``gauge_skill`` (out-of-sample forecast skill by solver), ``ensemble`` sizes.
    """

    scenario: Scenario
    config: PlacementConfig
    seed: int
    train: ImpactMatrix
    test: ImpactMatrix
    placements: dict[str, Placement]
    curve: pd.DataFrame
    evaluation: pd.DataFrame
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> Placement:
        """The placement to publish: the MILP's when solved, else the greedy's."""
        return self.placements.get("milp") or self.placements["greedy"]


def _storms(
    cfg: PlacementConfig, scenario: Scenario, splits: tuple[str, ...], seed: int, design: bool
) -> StormSet:
    g = cfg.gauge
    parts: list[StormSet] = []
    if g.storms in ("catalogue", "both") and splits:
        parts.append(
            catalogue_storms(
                splits=splits,
                step=g.step,
                pad=g.pad,
                tail=g.tail,
                max_storms=g.max_storms,
                seed=seed,
            )
        )
    if design and g.storms in ("design", "both"):
        parts.append(
            design_storms(
                scenario.rain.design_storm,
                return_periods=g.design_return_periods,
                durations=g.design_durations,
                step=g.step,
                pad=g.pad,
                tail=g.tail,
            )
        )
    if not parts:
        raise PlacementError(
            "no storms: gauge.storms and the splits select nothing; use catalogue, design or both"
        )
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


def _gauges(
    net: RoadNetwork, scenario: Scenario, cfg: PlacementConfig, seed: int, progress: Progress
) -> tuple[ImpactMatrix, ImpactMatrix, dict[str, Any]]:
    g = cfg.gauge
    layer = None
    if "low_points" not in net.layers:
        _, layer = _layer_nodes(net, "low_points")
    points: LowPoints = low_points(
        net, design_rain_rate=scenario.hydro.design_rain_rate, layer=layer
    )
    depth = g.event_depth or scenario.hydro.impeded_depth
    kw = {
        "event_depth": depth,
        "alarm_depth": g.alarm_depth,
        "rain_cv": g.rain_cv,
        "rain_correlation_m": g.rain_correlation_m,
    }
    progress("storms: training ensemble")
    train_storms = _storms(cfg, scenario, tuple(g.train_splits), seed, design=True)
    train_ens = simulate_storms(points, train_storms, seed=seed, **kw)  # type: ignore[arg-type]
    progress("storms: held-out ensemble")
    held_out_design = g.storms == "design"
    test_storms = _storms(cfg, scenario, tuple(g.test_splits), seed, design=held_out_design)
    test_ens = simulate_storms(points, test_storms, seed=seed + cfg.evaluation_seed_offset, **kw)  # type: ignore[arg-type]
    extras: dict[str, Any] = {
        "points": points,
        "train_ensemble": train_ens,
        "test_ensemble": test_ens,
    }
    if cfg.objective == "skill":
        return (
            forecast_skill_impact(train_ens, points),
            forecast_skill_impact(test_ens, points),
            extras,
        )
    return (
        gauge_impact(train_ens, points, net, proxy_max_travel=g.proxy_max_travel),
        gauge_impact(test_ens, points, net, proxy_max_travel=g.proxy_max_travel),
        extras,
    )


def _demand(net: RoadNetwork, scenario: Scenario, seed: int) -> FloatArray:
    from twin.cases.arrivals import demand_weights, hotspot_centres

    centres = hotspot_centres(net, scenario.cases.hotspots, np.random.default_rng(seed))
    return demand_weights(net, scenario.cases, centres)


def _layer_nodes(net: RoadNetwork, name: str) -> tuple[IntArray, pd.DataFrame]:
    gdf = net.layers.get(name)
    if gdf is None:
        from twin.network.build import bundled_layer  # Gongshu without its layers attached

        gdf = bundled_layer(net, name)
    if gdf is None:
        # Never Gongshu's files on another network: they would snap 100+ km away.
        hint = (
            ", or give camera events as a file (placement.camera.events)"
            if name in ("sites", "docks")
            else ""
        )
        raise PlacementError(
            f"{net.meta.get('name') or 'the network'} has no '{name}' layer; add "
            f"layers/{name}.geojson to the network's folder (schema in data/layers/README.md)"
            + hint
        )
    return net.node_position(gdf["node"].to_numpy(dtype=np.int64)), gdf


def camera_event_table(path: str | Path) -> pd.DataFrame:
    """Read camera events from CSV (list columns as JSON text) or Parquet."""
    path = Path(path)
    if not path.exists():
        raise PlacementError(f"{path}: no such camera event file (CSV or Parquet)")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    table = pd.read_csv(path)
    for col in ("edges", "edge_times"):
        if col in table.columns:
            try:
                table[col] = [json.loads(x) if isinstance(x, str) else x for x in table[col]]
            except json.JSONDecodeError as exc:
                raise PlacementError(
                    f"{path}: column {col!r} must hold JSON lists such as [12, 13] ({exc})"
                ) from exc
    return table


def _cameras(
    net: RoadNetwork, cfg: PlacementConfig, seed: int, base_dir: Path | None, progress: Progress
) -> tuple[ImpactMatrix, ImpactMatrix, dict[str, Any]]:
    c = cfg.camera
    cands = None if c.candidate_edges is None else np.asarray(c.candidate_edges, dtype=np.int64)
    if c.events is not None:
        path = Path(c.events)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        table = camera_event_table(path).sort_values("time", kind="stable")
        cut = round(len(table) * CAMERA_TRAIN_SHARE)
        if cut == 0 or cut == len(table):
            raise PlacementError(
                f"{path}: {len(table)} events are too few to split into training and test"
            )
        train_t, test_t = table.iloc[:cut], table.iloc[cut:]
    else:
        progress("truck trips: site → dock")
        sites, site_gdf = _layer_nodes(net, "sites")
        docks, _ = _layer_nodes(net, "docks")
        weight = (
            site_gdf["spoil_m3_per_day"].to_numpy(float) if "spoil_m3_per_day" in site_gdf else None
        )
        kw: dict[str, Any] = {
            "sites": sites,
            "docks": docks,
            "trips": c.trips,
            "violation_share": c.violation_share,
            "site_weight": weight,
        }
        train_t = truck_trip_events(net, seed=seed, **kw)
        test_t = truck_trip_events(net, seed=seed + cfg.evaluation_seed_offset, **kw)
    if cands is None:  # the same candidates for both: the edges of any event
        cands = np.unique(
            np.concatenate(
                [np.asarray(e, dtype=np.int64) for e in pd.concat([train_t, test_t])["edges"]]
            )
        )
    return (
        camera_impact(net, train_t, candidate_edges=cands),
        camera_impact(net, test_t, candidate_edges=cands),
        {"camera_events": train_t},
    )


def _probes(
    net: RoadNetwork, scenario: Scenario, cfg: PlacementConfig, seed: int, progress: Progress
) -> tuple[ImpactMatrix, ImpactMatrix, dict[str, Any]]:
    demand = _demand(net, scenario, seed)
    progress("probe vehicles: training trips")
    train, log = probe_ensemble(net, cfg.probe, demand, fleet_seed=seed, seed=seed + 1)
    progress("probe vehicles: fresh trips")
    test, _ = probe_ensemble(
        net, cfg.probe, demand, fleet_seed=seed, seed=seed + cfg.evaluation_seed_offset
    )
    return train, test, {"trip_log": log}


def build_matrices(
    net: RoadNetwork,
    scenario: Scenario,
    cfg: PlacementConfig,
    *,
    seed: int,
    base_dir: Path | None = None,
    progress: Progress | None = None,
) -> tuple[ImpactMatrix, ImpactMatrix, dict[str, Any]]:
    """Training and test impact matrices of the configured technologies, costs applied.

    Returns
    -------
    train, test : ImpactMatrix
    extras : dict
        Builder outputs (ensembles, trip log, camera events) for reports.
    """
    say = progress or (lambda _m: None)
    trains, tests = [], []
    extras: dict[str, Any] = {}
    for tech in cfg.technologies:
        if tech == "gauge":
            a, b, x = _gauges(net, scenario, cfg, seed, say)
        elif tech == "probe":
            a, b, x = _probes(net, scenario, cfg, seed, say)
        else:
            a, b, x = _cameras(net, cfg, seed, base_dir, say)
        trains.append(a)
        tests.append(b)
        extras.update(x)
    costs = cfg.costs
    return (
        concat_matrices(trains).with_costs(costs),
        concat_matrices(tests).with_costs(costs),
        extras,
    )


def run_placement(
    net: RoadNetwork,
    scenario: Scenario,
    cfg: PlacementConfig,
    *,
    base_dir: Path | None = None,
    progress: Progress | None = None,
) -> PlacementRun:
    """Build the matrices, solve at the budget, draw the curve, evaluate out of sample.

    Parameters
    ----------
    net
        The scenario's network (never changed).
    scenario
        Hydro thresholds, the design-storm formula, the case demand and the seed.
    cfg
        The placement settings.
    base_dir
        Folder that relative paths (camera events) are relative to.
    progress
        Called with a short message at each stage.

    Returns
    -------
    PlacementRun
    """
    say = progress or (lambda _m: None)
    seed = scenario.seed if cfg.seed is None else cfg.seed
    train, test, extras = build_matrices(
        net, scenario, cfg, seed=seed, base_dir=base_dir, progress=say
    )
    solvers = ["milp", "greedy"] if cfg.solver == "both" else [cfg.solver]
    caps: dict[str, int] = {str(k): int(v) for k, v in cfg.max_per_technology.items()}
    placements: dict[str, Placement] = {}
    for s in solvers:
        say(f"{s} at budget {cfg.budget:g}")
        placements[s] = solve(
            train,
            cfg.budget,
            solver=s,
            objective=cfg.objective,
            max_per_technology=caps,
            time_limit=cfg.time_limit,
        )
    budgets = curve_budgets(cfg.budget, train.cost, cfg.curve_points)
    curve = pareto_curve(
        train,
        budgets,
        objective=cfg.objective,
        solvers=solvers,
        max_per_technology=caps,
        time_limit=cfg.time_limit,
        progress=lambda m: say(f"curve: {m}"),
    )
    evaluation = out_of_sample(placements, train, test)
    if cfg.objective == "skill":
        extras["gauge_skill"] = {
            label: forecast_skill(
                _ens(extras, "train"),
                _ens(extras, "test"),
                train.candidates.loc[p.selected, "point"].to_numpy(int),
            )
            for label, p in placements.items()
        }
    return PlacementRun(scenario, cfg, seed, train, test, placements, curve, evaluation, extras)


def _ens(extras: dict[str, Any], which: str) -> PondingEnsemble:
    ens = extras[f"{which}_ensemble"]
    assert isinstance(ens, PondingEnsemble)
    return ens
