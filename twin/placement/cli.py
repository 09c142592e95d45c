"""``twin place``: choose where to put gauges, cameras and probe vehicles.

Register it on the main command with ``app.command("place")(place)`` (from
:mod:`twin.cli`). Settings come, in increasing priority, from the defaults of
:class:`~twin.scenario.placement.PlacementConfig`, the scenario's ``placement:`` section
(when the scenario schema has one), a ``--config`` YAML, and the command's options.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from twin.placement.errors import PlacementError
from twin.report.output_folder import check_output_folder
from twin.scenario.placement import PlacementConfig
from twin.scenario.textfile import check_text_file
from twin.seeds import check_seed
from twin.yamlconfig import format_validation_errors, read_yaml

__all__ = ["app", "check_budget", "load_placement_config", "place"]

logger = logging.getLogger(__name__)
console = Console(stderr=False)
err_console = Console(stderr=True)

DEFAULT_OUT = Path("twin-out") / "placement"


def load_placement_config(
    scenario: Any, config_file: Path | None = None, **overrides: Any
) -> PlacementConfig:
    """Merge the placement settings: scenario section < ``config_file`` < overrides.

    ``overrides`` with the value ``None`` are ignored.

    Raises
    ------
    PlacementError
        An unreadable file or settings that do not follow :class:`PlacementConfig`
        (the message names the field).
    """
    data: dict[str, Any] = {}
    section = getattr(scenario, "placement", None)
    if section is not None:
        data.update(section.model_dump() if hasattr(section, "model_dump") else dict(section))
    lines: dict[tuple[Any, ...], int] = {}
    if config_file is not None:
        check_text_file(config_file, PlacementError, what="placement settings")
        loaded, lines = read_yaml(
            config_file,
            PlacementError,
            what="placement settings",
            missing="give a YAML file of placement settings",
        )
        loaded = loaded or {}
        if not isinstance(loaded, dict):
            raise PlacementError(f"{config_file}: placement settings must be a mapping")
        if "placement" in loaded:
            loaded = loaded["placement"]
            lines = {k[1:]: v for k, v in lines.items() if k[:1] == ("placement",)}
        data.update(loaded)
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return PlacementConfig.model_validate(data)
    except ValidationError as exc:
        where = str(config_file) if config_file else "placement settings"
        raise PlacementError(format_validation_errors(exc, where, lines)) from None


def check_budget(cfg: PlacementConfig, *, option: str = "--budget") -> None:
    """Check, before any work, that the budget buys at least one sensor.

    Raises
    ------
    PlacementError
        The budget is not finite, or below the cost of the cheapest sensor of the chosen
        technologies.
    """
    if not math.isfinite(cfg.budget):
        raise PlacementError(
            f"{option} {cfg.budget:g}: give a finite budget, in the unit of the sensor costs"
        )
    costs = {tech: float(getattr(cfg.costs, tech)) for tech in cfg.technologies}
    cheapest = min(costs, key=costs.__getitem__)
    if cfg.budget < costs[cheapest]:
        raise PlacementError(
            f"{option} {cfg.budget:g}: buys no sensor (the cheapest, a {cheapest}, costs "
            f"{costs[cheapest]:g}); give a budget of at least {costs[cheapest]:g}"
        )


def place(
    scenario_file: Annotated[
        Path, typer.Option("--scenario", help="Scenario YAML file (see scenarios/).")
    ],
    budget: Annotated[
        float | None,
        typer.Option(help="Budget in cost units (a number of sensors with the default costs)."),
    ] = None,
    technology: Annotated[
        list[str] | None,
        typer.Option("--technology", help="gauge, camera or probe; repeat to combine."),
    ] = None,
    objective: Annotated[
        str | None, typer.Option(help="coverage, time, impact, or skill (gauges only).")
    ] = None,
    solver: Annotated[str | None, typer.Option(help="milp, greedy or both.")] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config", help="YAML of PlacementConfig settings.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed \\[default: the scenario's].")] = None,
    curve_points: Annotated[
        int | None, typer.Option(help="Budgets on the Pareto curve (0: none).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder \\[default: twin-out/placement/NAME].")
    ] = None,
) -> None:
    """Place sensors under a budget; write the placement (GeoJSON) and a report.

    Builds impact matrices from ensembles of twin runs (storms → ponding at the low
    points for gauges; taxi trips and road defects for probe vehicles; truck violations
    for cameras), solves by MILP (CBC) and lazy greedy, draws the budget–objective curve
    and scores the placement on fresh runs. Writes placement.geojson, report.html,
    curve.csv, evaluation.csv and placement.json.

    The settings (budget, seed) and the output folder are checked before any work. The
    files are written whole or not at all, replacing those of an earlier placement in
    the folder; other files in it are kept.
    """
    from twin.placement.outputs import write_outputs
    from twin.placement.pipeline import run_placement
    from twin.run.runner import load_scenario_network
    from twin.scenario import load_scenario

    if seed is not None:
        check_seed(seed, "--seed")
    scenario = load_scenario(scenario_file)
    cfg = load_placement_config(
        scenario,
        config_file,
        budget=budget,
        technologies=tuple(technology) if technology else None,
        objective=objective,
        solver=solver,
        seed=seed,
        curve_points=curve_points,
    )
    check_budget(cfg, option="--budget" if budget is not None else "budget")
    check_seed(
        cfg.seed if cfg.seed is not None else scenario.seed,
        "--seed" if seed is not None else "seed",
        runs=cfg.evaluation_seed_offset + 1,
    )
    folder = check_output_folder(out or DEFAULT_OUT / scenario.name)
    with console.status("Loading the network") as status:
        net = load_scenario_network(scenario.network, base_dir=scenario_file.parent)

        def progress(message: str) -> None:
            status.update(escape(message))

        run = run_placement(net, scenario, cfg, base_dir=scenario_file.parent, progress=progress)
        status.update("Writing outputs")
        paths = write_outputs(run, net, folder)
    for label, p in run.placements.items():
        oos = run.evaluation
        value_out = oos[(oos["placement"] == label) & (oos["sample"] == "out")]["objective"].iloc[0]
        bound = "" if p.factor is None or label == "milp" else f", a-priori ≥ {p.factor:.3f}"
        console.print(
            f"[bold]{label}[/] ({p.status}, {p.seconds:.2f} s{bound}): {cfg.objective} "
            f"{p.value:.4g} in sample, {value_out:.4g} on fresh runs; cost {p.cost:g} of "
            f"{p.budget:g}: {escape(', '.join(p.candidate_ids)) or '(none)'}"
        )
    console.print(
        f"Results in [bold]{escape(str(folder))}/[/]: " + ", ".join(p.name for p in paths.values())
    )


app = typer.Typer(help="Sensor placement.", no_args_is_help=True, add_completion=False)


@app.callback()
def _group() -> None:
    """Sensor placement (``twin place``)."""


app.command("place")(place)
