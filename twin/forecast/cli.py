"""``twin forecast``: train, evaluate and run the waterlogging forecasters.

Registered in :mod:`twin.cli` as ``twin forecast``; errors are
:class:`~twin.forecast.errors.ForecastError` (one line, exit status 1, from
``twin.cli.main``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from twin.forecast.errors import ForecastError

__all__ = ["app"]

console = Console()
logger = logging.getLogger(__name__)

app = typer.Typer(
    help=(
        "Waterlogging forecasts at the low points: train, evaluate (backtests on "
        "held-out storms) and predict with CAP 1.2 alerts."
    ),
    no_args_is_help=True,
)

_KINDS_HELP = "Comma-separated forecasters: persistence, linear, sarimax, nhits."


def _kinds(text: str) -> tuple[str, ...]:
    from twin.forecast.train import KINDS

    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ForecastError(f"--kinds {text!r}: choose from {', '.join(KINDS)}.")
    return kinds


@app.command()
def train(
    out: Annotated[Path, typer.Option(help="Models folder to write.")] = Path("models"),
    kinds: Annotated[str, typer.Option(help=_KINDS_HELP)] = "persistence,linear,sarimax,nhits",
    seed: Annotated[int, typer.Option(help="Seed of data and training.")] = 0,
    max_storms: Annotated[
        int | None, typer.Option(help="At most this many catalogue storms per split (quick runs).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="N-HiTS epochs (default 8).")] = None,
    evaluate: Annotated[
        bool, typer.Option(help="Score on the test storms and write the model cards.")
    ] = True,
) -> None:
    """Generate the storm set, fit the forecasters and save them with model cards."""
    from twin.forecast.evaluate import backtest
    from twin.forecast.io import model_folder, save_forecaster
    from twin.forecast.report import model_card
    from twin.forecast.train import build_storm_set, train_forecasters

    chosen = _kinds(kinds)
    console.print("Generating the storm set (physics at every Gongshu low point)…")
    data = build_storm_set(seed=seed, max_storms=max_storms)
    settings = {"max_epochs": epochs} if epochs else None
    models = train_forecasters(data, kinds=chosen, out=out, seed=seed, nhits_settings=settings)
    test = data.select("test")
    for kind, model in models.items():
        results = []
        if evaluate:
            for source in ("observed", "persistence"):
                results.append(backtest(model, test, rain_source=source, seed=seed))
        save_forecaster(model, model_folder(kind, out), card=model_card(model, results))
        console.print(
            f"{kind}: fitted in {model.info['fit_seconds']:.0f} s → {model_folder(kind, out)}"
        )


@app.command()
def evaluate(
    models: Annotated[Path | None, typer.Option(help="Models folder (default: shipped).")] = None,
    out: Annotated[Path, typer.Option(help="Report folder.")] = Path("twin-out/forecast-report"),
    kinds: Annotated[str, typer.Option(help=_KINDS_HELP)] = "persistence,linear,sarimax,nhits",
    rain_source: Annotated[
        str, typer.Option(help="Future rain: observed, persistence, perturbed or all.")
    ] = "all",
    max_storms: Annotated[int | None, typer.Option(help="At most this many test storms.")] = None,
    stride: Annotated[int, typer.Option(help="Steps of 5 min between issue times.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the sensor model and nowcasts.")] = 0,
    cards: Annotated[
        bool, typer.Option(help="Rewrite the model cards of the models folder with the metrics.")
    ] = False,
) -> None:
    """Backtest forecasters on held-out storms and write a report with plots."""
    from twin.forecast.data import generate_storm_set
    from twin.forecast.evaluate import backtest
    from twin.forecast.io import load_shipped
    from twin.forecast.nowcast import RAIN_SOURCES
    from twin.forecast.report import write_report
    from twin.hydro.lowpoints import low_points
    from twin.network import default_network

    sources = RAIN_SOURCES if rain_source == "all" else (rain_source,)
    loaded = [load_shipped(k, models) for k in _kinds(kinds)]
    test = generate_storm_set(
        low_points(default_network()), splits=("test",), max_storms=max_storms, seed=seed
    )
    results = [
        backtest(m, test, rain_source=s, stride=stride, seed=seed) for s in sources for m in loaded
    ]
    path = write_report(results, out)
    if cards:
        from twin.forecast.io import model_folder
        from twin.forecast.report import model_card

        for m in loaded:
            card = model_card(m, [r for r in results if r.kind == m.kind])
            (model_folder(m.kind, models) / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    console.print(f"Report: [bold]{path}[/]")


@app.command()
def predict(
    storm: Annotated[
        str, typer.Option(help="A catalogue event id or a design storm id (design-P10-D120-r40).")
    ] = "design-P10-D120-r40",
    models: Annotated[Path | None, typer.Option(help="Models folder (default: shipped).")] = None,
    kind: Annotated[
        str,
        typer.Option(help="Forecaster: nhits, sarimax, linear, persistence or physics_ensemble."),
    ] = "nhits",
    rain_source: Annotated[str, typer.Option(help="observed, persistence or perturbed.")] = (
        "persistence"
    ),
    out: Annotated[Path, typer.Option(help="Folder for the CAP alerts (XML and JSON).")] = Path(
        "twin-out/forecast-alerts"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the sensor model.")] = 0,
) -> None:
    """Replay a storm through the forecaster at every low point; write CAP 1.2 alerts."""
    from twin.alerts import cap_json, cap_xml, validate_cap
    from twin.forecast.data import STEP_S, design_storms
    from twin.forecast.io import load_shipped
    from twin.forecast.online import replay_alerts
    from twin.forecast.sensors import SensorModel
    from twin.hydro.lowpoints import low_points
    from twin.hydro.reservoir import simulate_ponding
    from twin.network import default_network

    physics = kind == "physics_ensemble"
    model = None if physics else load_shipped(kind, models)
    points = low_points(default_network())
    design = dict(design_storms())
    if storm in design:
        rain = np.r_[design[storm], np.zeros(36)]
    else:
        from twin.hydro.rainfall import default_rain
        from twin.hydro.storms import load_catalogue, storm_event

        cat = load_catalogue()
        row = cat[cat["event_id"] == storm]
        if row.empty:
            raise ForecastError(
                f"unknown storm {storm!r}: give a catalogue event id (`twin rain events`) or "
                f"a design storm such as {next(iter(design))}."
            )
        ev = storm_event(default_rain(), row.iloc[0], pad="3h")
        rain = np.nan_to_num(np.asarray(ev.values, dtype=np.float64))
    result = simulate_ponding(points.params, rain, STEP_S)
    times = np.arange(rain.size + 1) * STEP_S
    if physics:
        from twin.forecast.physics_replay import replay_physics

        replay = replay_physics(
            result.water_depth, np.repeat(rain[:, None], len(points), axis=1), times, points,
            rain_source=rain_source, sensor=SensorModel(), seed=seed,
        )  # fmt: skip
        label = "physics ensemble (EnKF)"
    else:
        assert model is not None
        replay = replay_alerts(
            result.water_depth, rain, times, points, model, rain_source=rain_source,
            sensor=SensorModel(), seed=seed,
        )  # fmt: skip
        label = model.label
    out.mkdir(parents=True, exist_ok=True)
    for msg in replay.messages:
        xml = cap_xml(msg)
        validate_cap(xml)
        (out / f"{msg.identifier}.xml").write_text(xml, encoding="utf-8")
        (out / f"{msg.identifier}.json").write_text(
            json.dumps(cap_json(msg), ensure_ascii=False, indent=1), encoding="utf-8"
        )
    table = Table(title=f"Alerts, {storm} ({label}; {replay.table.attrs['rain_source']})")
    for col in ("issue [min]", "point", "level", "msgType", "p", "onset in [min]"):
        table.add_column(col)
    for _, r in replay.table.iterrows():
        lead = "" if np.isnan(r["lead_time"]) else f"{r['lead_time'] / 60:.0f}"
        table.add_row(
            f"{r['issue_time'] / 60:.0f}",
            str(r["point"]),
            str(r["level"]),
            str(r["msgType"]),
            f"{r['probability']:.2f}",
            lead,
        )
    console.print(table)
    console.print(f"{len(replay.messages)} CAP 1.2 messages (validated) in [bold]{out}[/]")
