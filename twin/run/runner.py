"""Orchestration: from a :class:`~twin.scenario.Scenario` to a :class:`RunResult`.

``run_scenario`` loads (or reuses) the network, draws the case stream from the
scenario's seed, places the crews at their depots, runs the simulation and gathers the
results. Random streams are split by purpose from one seed (cases; crews; operations;
policy), so the same scenario and seed give identical outputs, and runs that differ only
in their dispatch policy see exactly the same cases (common random numbers).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from twin._types import FloatArray, IntArray
from twin.cases.arrivals import demand_weights, generate_cases
from twin.cases.categories import CategoryTable, load_categories
from twin.cases.stream import CaseStream, merge_streams
from twin.coupling.hazards import HazardController
from twin.coupling.ponding import ponding_cases
from twin.errors import ScenarioError, TwinError
from twin.hydro.waterlogging import simulate_waterlogging
from twin.network.build import build_network, default_network, load_network
from twin.network.road_network import RoadNetwork
from twin.run.results import RunResult, collect_results
from twin.scenario import NetworkConfig, Scenario
from twin.seeds import stream_rng
from twin.sim.engine import Simulation

__all__ = ["load_scenario_network", "prepare", "run_scenario"]

logger = logging.getLogger(__name__)

_NETWORKS: dict[tuple[str, str | None, float, float], RoadNetwork] = {}


def load_scenario_network(cfg: NetworkConfig, *, base_dir: Path | None = None) -> RoadNetwork:
    """The network a scenario names, built once per process and reused.

    The returned network's closures are cleared and its congestion profile set from the
    scenario, so a reused network starts every run in the same state.
    """
    key = (cfg.source, cfg.boundary, cfg.buffer_m, cfg.min_component_fraction)
    net = _NETWORKS.get(key)
    if net is None:
        if cfg.source == "default":
            net = default_network()
        else:
            path = Path(cfg.source)
            if not path.is_absolute() and base_dir is not None and (base_dir / path).exists():
                path = base_dir / path
            if path.is_dir():
                net = load_network(path)
            else:
                net = build_network(
                    path, boundary=cfg.boundary, buffer_m=cfg.buffer_m, name=path.stem,
                    min_component_fraction=cfg.min_component_fraction,
                )  # fmt: skip
        _NETWORKS[key] = net
    net.reopen_edges()
    net.set_congestion(cfg.congestion)
    return net


def _depot_nodes(scenario: Scenario, net: RoadNetwork, base_dir: Path | None) -> IntArray:
    spec = scenario.crews.depots
    if spec == "layer":
        if "depots" not in net.layers:
            raise ScenarioError(
                "crews.depots: 'layer' needs a depots layer on the network, and this network "
                "has none; give crews.depots as the path of a depots GeoJSON file"
            )
        gdf = net.layers["depots"]
    else:
        from twin.network.layers import read_layer

        path = Path(spec)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            gdf = read_layer(path, layer="depots", net=net)
        except TwinError as exc:
            raise ScenarioError(f"crews.depots: {exc}") from exc
    return net.node_position(gdf["node"].to_numpy(dtype=np.int64))


def _demand_share(net: RoadNetwork, scenario: Scenario, hotspots: IntArray) -> FloatArray:
    """The expected share of demand nearest to each hot-spot node [-].

    A tenth of a second for Gongshu, and only pre-positioning reads it: the run passes
    this to the simulation as a function, called on first use.
    """
    if hotspots.size == 0:
        return np.empty(0)
    weight = demand_weights(net, scenario.cases, hotspots)
    x, y = net.projector.forward(net.node_lon, net.node_lat)
    _, owner = cKDTree(np.column_stack([x[hotspots], y[hotspots]])).query(np.column_stack([x, y]))
    share = np.bincount(owner, weights=weight, minlength=hotspots.size)
    out: FloatArray = share / share.sum()
    return out


def prepare(
    scenario: Scenario, *, network: RoadNetwork | None = None, base_dir: Path | None = None
) -> Simulation:
    """Build a ready-to-run :class:`Simulation` for a scenario (network, cases, crews)."""
    net = (
        network
        if network is not None
        else load_scenario_network(scenario.network, base_dir=base_dir)
    )
    table: CategoryTable = load_categories(scenario.cases.categories, skills=scenario.crews.skills)
    case_rng = stream_rng(scenario.seed, "cases")
    cfg = scenario.cases
    hotspots = np.empty(0, dtype=np.int64)
    if not cfg.enabled:
        stream = CaseStream.empty()
    elif cfg.replay is not None:
        from twin.cases.replay import replay_cases

        replayed = replay_cases(
            net, cfg, table, start=scenario.start, horizon=scenario.horizon, rng=case_rng,
            operations=scenario.operations, base_dir=base_dir,
        )  # fmt: skip
        logger.info("Replay: %s", replayed.report.summary())
        stream, hotspots = replayed.stream, replayed.hotspot_nodes
    else:
        gen = generate_cases(
            net, cfg, table, start=scenario.start, horizon=scenario.horizon, rng=case_rng,
            operations=scenario.operations,
        )  # fmt: skip
        stream, hotspots = gen.stream, gen.hotspot_nodes
    water = simulate_waterlogging(net, scenario, base_dir=base_dir)
    n_water = 0
    if water is not None:
        hydro_rng = stream_rng(scenario.seed, "ponding")
        raised = ponding_cases(water, scenario, table, hydro_rng)
        n_water = len(raised)
        stream = merge_streams(stream, raised)
    trucks, n_truck = None, 0
    if scenario.trucks.enabled:
        trucks, raised = _truck_day(net, scenario, table, water)
        n_truck = len(raised)
        stream = merge_streams(stream, raised)
    depots = _depot_nodes(scenario, net, base_dir)
    sim = Simulation(
        scenario, net, stream, table, depots, demand_nodes=hotspots,
        demand_weight=functools.partial(_demand_share, net, scenario, hotspots), water=water,
    )  # fmt: skip
    if water is not None:
        sim.hazards = HazardController(sim, water)
    sim.water_cases = n_water
    sim.trucks = trucks
    sim.truck_cases = n_truck
    if scenario.crowds.enabled:
        sim.models.append(_crowd_controller(sim, net, scenario))
    if water is not None and scenario.hydro.forecast.enabled:
        sim.models.append(_forecast_staging(sim, water, scenario, table, base_dir))
    _warm_up(net)
    return sim


def _warm_up(net: RoadNetwork) -> None:
    """Load the compiled searches the case loop calls, before its clock starts.

    The first call of numba's cached kernels in a process sets numba up (about 0.3 s,
    once); done here it counts as preparation, not simulation. The searches run at free
    flow (weights the loop never uses), so the loop's state is untouched.
    """
    from twin.network.movement import RouteBuffer, positions_at

    if net.n_nodes < 2:
        return
    net.nearest_marked(0, np.zeros(net.n_nodes, dtype=bool), k=1)
    with contextlib.suppress(TwinError):  # no route between the two: the search ran
        net.shortest_path(0, 1, by_position=True)
    none = np.zeros(0, dtype=np.int64)
    positions_at(0.0, np.zeros(0), none, none, RouteBuffer(), net.node_lon, net.node_lat)


#: The ``hydro.forecast.model`` of the physics-ensemble forecaster.
PHYSICS_ENSEMBLE = "physics_ensemble"


def alert_policy(scenario: Scenario) -> Any:
    """The alert rule of a scenario: its depth levels, p* from the costs, its conventions."""
    from pydantic import ValidationError

    from twin.alerts import AlertConventions, AlertPolicy

    hy, fc = scenario.hydro, scenario.hydro.forecast
    try:
        conventions = AlertConventions.model_validate(fc.conventions)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(x) for x in first["loc"])
        raise ScenarioError(
            f"hydro.forecast.conventions.{field}: {first['msg']} (see twin.alerts."
            "AlertConventions for the fields)"
        ) from None
    p_raise = fc.p_alert
    return AlertPolicy(
        levels={"impeded": hy.impeded_depth, "closed": hy.closed_depth},
        p_raise=p_raise, p_clear=min(0.2, 0.5 * p_raise), conventions=conventions,
    )  # fmt: skip


def _forecast_staging(
    sim: Simulation, water: Any, scenario: Scenario, table: CategoryTable, base_dir: Path | None
) -> Any:
    """Forecast alerts replayed online over the run's water, staging crews at alerts."""
    from twin.coupling.staging import AlertStaging
    from twin.forecast import load_forecaster, load_shipped, replay_alerts
    from twin.forecast.data import HORIZON_STEPS
    from twin.forecast.io import model_folder
    from twin.forecast.radar_rain import RADAR_METHODS

    fc = scenario.hydro.forecast
    physics = fc.model == PHYSICS_ENSEMBLE
    model: Any = None
    if not physics:
        path = Path(fc.model)
        if not path.is_absolute() and base_dir is not None and (base_dir / path).is_dir():
            path = base_dir / path
        try:
            model = load_forecaster(path) if path.is_dir() else load_shipped(fc.model)
        except TwinError as exc:
            shipped = model_folder(fc.model).parent
            raise ScenarioError(
                f"hydro.forecast.model: {exc} (give {PHYSICS_ENSEMBLE}, a model folder or a "
                f"kind shipped in {shipped})"
            ) from exc
    nowcaster = None
    if fc.rain_source == "external" and fc.external_nowcasts is not None:
        from twin.forecast.radar_rain import external_nowcaster

        products = Path(fc.external_nowcasts)
        if not products.is_absolute() and base_dir is not None:
            products = base_dir / products
        nowcaster = external_nowcaster(
            water.radar, pd.Timestamp(scenario.start).tz_convert("UTC").tz_localize(None),
            water.points.lon, water.points.lat, products, horizon_steps=HORIZON_STEPS,
        )  # fmt: skip
    elif fc.rain_source in RADAR_METHODS:
        from twin.forecast.radar_rain import radar_nowcaster

        start_utc = pd.Timestamp(scenario.start).tz_convert("UTC").tz_localize(None)
        nowcaster = radar_nowcaster(
            water.radar, start_utc, water.points.lon, water.points.lat,
            method=fc.rain_source, horizon_steps=HORIZON_STEPS, members=fc.nowcast_members,
            seed=scenario.seed, displacement_m_s=fc.nowcast_displacement if physics else 0.0,
        )  # fmt: skip
    if physics:
        from twin.forecast.physics_replay import replay_physics
        from twin.forecast.sensors import SensorModel
        from twin.seeds import stream_seed

        replay = replay_physics(
            water.depth, water.rain_rate, water.times, water.points,
            rain_source=fc.rain_source, nowcast=nowcaster, every=fc.every,
            policy=alert_policy(scenario), start=scenario.start, sensor=SensorModel(),
            seed=int(stream_seed(scenario.seed, "forecast").generate_state(1)[0]),
        )  # fmt: skip
    else:
        replay = replay_alerts(
            water.depth, water.rain_rate, water.times, water.points, model,
            rain_source=fc.rain_source, every=fc.every, start=scenario.start,
            seed=scenario.seed, nowcast=nowcaster, policy=alert_policy(scenario),
        )  # fmt: skip
    timeline = replay.table
    alerts = timeline[timeline["msgType"] == "Alert"]
    skill_name = str(table.skill[table.index_of(scenario.hydro.ponding_category)])
    if skill_name not in sim.fleet.skills:
        raise ScenarioError(
            f"hydro.forecast: crews with skill {skill_name!r} (for "
            f"{scenario.hydro.ponding_category} cases) are needed; add it to crews.skills"
        )
    nodes = water.points.node[alerts["point_index"].to_numpy(dtype=np.int64)]
    staging = AlertStaging(
        sim, alerts["issue_time"].to_numpy(dtype=float), nodes,
        skill=sim.fleet.skills.index(skill_name), crews=fc.crews_per_alert,
    )  # fmt: skip
    staging.timeline = timeline
    staging.messages = replay.messages
    staging.replay = replay
    return staging


def _truck_day(
    net: RoadNetwork, scenario: Scenario, table: CategoryTable, water: Any = None
) -> tuple[Any, CaseStream]:
    """The muck trucks' day and the cases its detected violations raise.

    The trucks do not depend on the crews, so their day is simulated first, on a simpy
    clock of its own with the run's start and time base; each detected, traced
    violation enters the case loop at its report time (detection + report delay). With
    water, they route on the same road states as the crews (closures and slow-downs at
    the low points, :func:`twin.coupling.hazards.road_states`) and re-plan when a road
    ahead closes.
    """
    from twin.coupling.hazards import road_states
    from twin.coupling.trucks import violation_cases
    from twin.trucks import simulate_trucks

    states = (
        None if water is None
        else road_states(water, net.n_edges, scenario.hydro.slow_factor)
    )  # fmt: skip
    result = simulate_trucks(
        net, scenario.trucks, start=scenario.start, horizon=scenario.horizon,
        seed=scenario.seed, record_interval=scenario.record_interval, road_states=states,
    )  # fmt: skip
    rng = stream_rng(scenario.seed, "trucks")
    raised = violation_cases(
        result, table, sources=[s.name for s in scenario.cases.sources],
        operations=scenario.operations, rng=rng, horizon=scenario.horizon,
    )  # fmt: skip
    return result, raised


def _crowd_controller(sim: Simulation, net: RoadNetwork, scenario: Scenario) -> Any:
    """The crowd model stepped on the run's clock (see :mod:`twin.coupling.crowds`)."""
    from twin.coupling.crowds import CrowdController
    from twin.crowds.demand import build_demand
    from twin.crowds.plazas import load_plazas

    cfg = scenario.crowds
    if "plazas" not in net.layers or len(net.layers["plazas"]) == 0:
        raise ScenarioError(
            "crowds: the network has no plazas layer; put a plazas.geojson in its layers "
            "folder (see data/layers/README.md) or set crowds.enabled: false"
        )
    try:
        plazas = load_plazas(net, geometry=cfg.geometry)
        demand = build_demand(plazas, cfg, scenario.start, scenario.horizon, dt=cfg.model.step)
    except (KeyError, ValueError) as exc:
        raise ScenarioError(f"crowds: {exc}") from exc
    return CrowdController(sim, plazas, demand, cfg)


def run_scenario(
    scenario: Scenario,
    *,
    network: RoadNetwork | None = None,
    base_dir: Path | None = None,
    progress: Callable[[float], None] | None = None,
) -> RunResult:
    """Run a scenario once and return its results.

    Parameters
    ----------
    scenario
        The validated scenario (its ``seed`` fixes every random draw).
    network
        A network to use instead of the one the scenario names.
    base_dir
        Folder that relative paths in the scenario are resolved against (the scenario
        file's folder when run from the CLI).
    progress
        Called with the fraction of the horizon done, at every record time.
    """
    t0 = time.perf_counter()
    sim = prepare(scenario, network=network, base_dir=base_dir)
    t1 = time.perf_counter()
    sim.run(progress=progress)
    t2 = time.perf_counter()
    timing = {
        "prepare_s": t1 - t0,
        "simulate_s": t2 - t1,
        "events": float(sim.events_processed),
        "real_time_factor": scenario.horizon / max(t2 - t1, 1e-9),
    }
    result = collect_results(sim, timing)
    result.timing["collect_s"] = time.perf_counter() - t2
    return result
