"""``twin forecast``: train, evaluate and run the waterlogging forecasters.

Registered in :mod:`twin.cli` as ``twin forecast``; errors are
:class:`~twin.forecast.errors.ForecastError` (one line, exit status 1, from
``twin.cli.main``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

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
        "Waterlogging forecasts at the low points: train, calibrate the physics "
        "ensemble's bands, evaluate (backtests on held-out storms) and predict with CAP 1.2 "
        "alerts."
    ),
    no_args_is_help=True,
)

_KINDS_HELP = (
    "Comma-separated forecasters: persistence, linear, sarimax, nhits (with --future-rain "
    "nowcast they are saved as <kind>-nowcast)."
)
_EVAL_KINDS_HELP = (
    "Comma-separated forecasters: shipped names (persistence, linear, sarimax, nhits, "
    "sarimax-nowcast, nhits-nowcast) and physics_ensemble."
)
_DRAINS_HELP = (
    "Gauge storms' water from the city's real drains, which no forecaster is told "
    "(capacity and area off their design, a fifth clogging in each storm); "
    "--no-hidden-drains: the nominal drains."
)
#: The radar test event of the held-out radar storm (never used in fitting).
_RADAR_TEST_EVENT = "fmi-20160928"
#: Rain sources scored on the gauge storms and on the radar test storm with "all".
_GAUGE_SOURCES = ("observed", "persistence", "perturbed")
_RADAR_SOURCES = ("persistence", "extrapolation", "observed")


def _kinds(text: str) -> tuple[str, ...]:
    from twin.forecast.train import KINDS

    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ForecastError(f"--kinds {text!r}: choose from {', '.join(KINDS)}.")
    return kinds


def _names(text: str) -> tuple[str, ...]:
    from twin.forecast.io import shipped_kind
    from twin.forecast.replay_scores import PHYSICS_KIND

    names = tuple(k.strip() for k in text.split(",") if k.strip())
    if not names:
        raise ForecastError(f"--kinds {text!r}: name at least one forecaster.")
    for n in names:
        if n != PHYSICS_KIND:
            shipped_kind(n)
    return names


def _radar_test_set(net: Any, seed: int) -> tuple[Any, str]:
    """The held-out radar storm: the test event's heaviest placement, peak 100 mm/h."""
    from twin.forecast.radar_storms import radar_storm_set

    radar = radar_storm_set(
        events=(_RADAR_TEST_EVENT,), placements=1, peaks=(100.0,), net=net, seed=seed
    )
    return radar, (
        f"radar test event {_RADAR_TEST_EVENT} (transposed over Gongshu, intensified to a "
        "100 mm/h peak, hidden drains; held out)"
    )


def _score(
    models: list[Any],
    sets: list[tuple[Any, str, tuple[str, ...]]],
    points: Any,
    *,
    stride: int,
    seed: int,
    alerts: bool,
) -> list[Any]:
    """Backtests (with alert scores) of forecasters or the physics ensemble on storm sets."""
    from dataclasses import replace

    from twin.forecast.evaluate import backtest
    from twin.forecast.physics_model import load_physics_model
    from twin.forecast.replay_scores import (
        PHYSICS_KIND,
        backtest_physics,
        replay_alert_scores,
        with_alerts,
    )

    out = []
    for data, label, sources in sets:
        for source in sources:
            for m in models:
                if m == PHYSICS_KIND:
                    if source == "perturbed":
                        continue  # the physics replay takes no perturbed observed rain
                    console.print(f"  physics ensemble, {source}, {data.n_storms} storms…")
                    physics = load_physics_model()  # its published (calibrated) bands
                    r = backtest_physics(
                        data, points, rain_source=source, stride=stride,
                        settings=physics.settings, calibrator=physics.calibrator, seed=seed,
                    )  # fmt: skip
                else:
                    r = backtest(m, data, rain_source=source, stride=stride, seed=seed)
                    if alerts:
                        scores = replay_alert_scores(m, data, points, rain_source=source, seed=seed)
                        r = with_alerts(r, scores)
                out.append(replace(r, settings={**r.settings, "storms": label}))
    return out


@app.command()
def train(
    out: Annotated[Path, typer.Option(help="Models folder to write.")] = Path("models"),
    kinds: Annotated[str, typer.Option(help=_KINDS_HELP)] = "persistence,linear,sarimax,nhits",
    seed: Annotated[int, typer.Option(help="Seed of data and training.")] = 0,
    max_storms: Annotated[
        int | None, typer.Option(help="At most this many catalogue storms per split (quick runs).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="N-HiTS epochs (default 12).")] = None,
    threads: Annotated[int | None, typer.Option(help="N-HiTS CPU threads (default 2).")] = None,
    future_rain: Annotated[
        str,
        typer.Option(
            help="Future rain of the training windows: nowcast (what operations had at the "
            "issue time; saved as <kind>-nowcast) or observed (the rain that fell, an oracle)."
        ),
    ] = "nowcast",
    radar_placements: Annotated[
        int,
        typer.Option(help="Placements per training/validation radar event (0: gauge storms only)."),
    ] = 4,
    evaluate: Annotated[
        bool, typer.Option(help="Score on the test storms and write the model cards.")
    ] = True,
    hidden_drains: Annotated[bool, typer.Option(help=_DRAINS_HELP)] = True,
) -> None:
    """Generate the storm set, fit the forecasters and save them with model cards."""
    from twin.forecast.cards import forecaster_card
    from twin.forecast.io import model_folder, save_forecaster
    from twin.forecast.train import build_storm_set, shipped_name, train_forecasters
    from twin.forecast.windows import check_future_rain
    from twin.hydro.lowpoints import low_points
    from twin.network import default_network

    chosen = _kinds(kinds)
    check_future_rain(future_rain)
    console.print("Generating the storm set (physics at every Gongshu low point)…")
    data = build_storm_set(
        seed=seed, max_storms=max_storms, radar_placements=radar_placements,
        hidden_drains=hidden_drains,
    )  # fmt: skip
    settings: dict[str, Any] = {}
    if epochs:
        settings["max_epochs"] = epochs
    if threads:
        settings["n_threads"] = threads
    models = train_forecasters(
        data, kinds=chosen, out=out, seed=seed, nhits_settings=settings or None,
        future_rain=future_rain,  # type: ignore[arg-type]
    )  # fmt: skip
    sets: list[tuple[Any, str, tuple[str, ...]]] = []
    points = None
    if evaluate:
        net = default_network()
        points = low_points(net)
        radar, label = _radar_test_set(net, seed + 7)
        sets = [
            (data.select("test"), "catalogue test storms", ("observed", "persistence")),
            (radar, label, _RADAR_SOURCES),
        ]
    for kind, model in models.items():
        results = _score([model], sets, points, stride=2, seed=seed, alerts=True)
        folder = model_folder(shipped_name(kind, future_rain), out)
        save_forecaster(model, folder, card=forecaster_card(model, results))
        console.print(f"{kind}: fitted in {model.info['fit_seconds']:.0f} s → {folder}")


@app.command()
def calibrate(
    out: Annotated[
        Path | None,
        typer.Option(
            help="Physics-ensemble model folder to write into (default: the shipped one)."
        ),
    ] = None,
    placements: Annotated[
        int, typer.Option(help="Heaviest placements of each train/validation radar event.")
    ] = 3,
    method: Annotated[
        str, typer.Option(help="pysteps nowcast the ensemble is run with (the live default).")
    ] = "extrapolation",
    seed: Annotated[int, typer.Option(help="Seed of the storms' hidden drains and gauges.")] = 0,
) -> None:
    """Fit the physics ensemble's conformal bands on radar storms (never the test event)."""
    from twin.forecast.physics_calibration import (
        CALIBRATION_EVENTS,
        CONFORMAL_FILES,
        calibration_runs,
        fit_physics_calibrator,
        save_calibrator,
    )
    from twin.forecast.physics_model import is_physics_model, shipped_physics_folder

    folder = out if out is not None else shipped_physics_folder()
    if not is_physics_model(folder):
        raise ForecastError(
            f"{folder} is not a physics-ensemble model folder (no settings.json of kind "
            "physics_ensemble); write one with `python -m twin.forecast.physics_model DIR`."
        )
    console.print(
        f"Replaying the physics ensemble ({method} nowcast) over {placements} placements of "
        f"{', '.join(CALIBRATION_EVENTS)}…"
    )
    runs = calibration_runs(
        placements=placements, source=method, seed=seed, progress=lambda s: console.print(f"  {s}")
    )
    cal, online, choice = fit_physics_calibrator(runs)
    save_calibrator(
        cal, folder, online, events=list(CALIBRATION_EVENTS), placements=placements,
        method=method, seed=seed, command="twin forecast calibrate",
        validation_coverage={m.short(): [round(x, 4) for x in c] for c, m in choice},
    )  # fmt: skip
    c = cal.corrections_frame().query("band == '0.1-0.9' and group == '*pooled*'")
    if choice:
        console.print(
            "Online methods on the validation storms (coverage, least–most by lead; mean "
            "width; interval score, the choice):"
        )
        for sc, m in choice:
            console.print(
                f"  {m.short()}: {sc[0]:.2f} ({sc[1]:.2f}–{sc[2]:.2f}); {sc[3]:.3f} m; "
                f"{sc[4]:.3f} m"
            )
    console.print(
        f"10–90 % band widened by {c['correction'].min():.3f}–{c['correction'].max():.3f} m "
        f"over the leads; online: {online}; wrote {folder / CONFORMAL_FILES[0]} and "
        f"{CONFORMAL_FILES[1]}"
    )


@app.command()
def evaluate(
    models: Annotated[Path | None, typer.Option(help="Models folder (default: shipped).")] = None,
    out: Annotated[Path, typer.Option(help="Report folder.")] = Path("twin-out/forecast-report"),
    kinds: Annotated[str, typer.Option(help=_EVAL_KINDS_HELP)] = (
        "persistence,linear,sarimax,nhits,sarimax-nowcast,nhits-nowcast"
    ),
    rain_source: Annotated[
        str,
        typer.Option(
            help="Future rain: observed, persistence, perturbed, extrapolation (radar storm "
            "only) or all."
        ),
    ] = "all",
    max_storms: Annotated[int | None, typer.Option(help="At most this many test storms.")] = None,
    stride: Annotated[int, typer.Option(help="Steps of 5 min between issue times.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the sensor model and nowcasts.")] = 0,
    radar: Annotated[
        bool, typer.Option(help=f"Also the held-out radar storm ({_RADAR_TEST_EVENT}).")
    ] = True,
    alerts: Annotated[
        bool, typer.Option(help="Replay the alert lifecycle: POD, FAR and lead per storm set.")
    ] = True,
    cards: Annotated[
        bool, typer.Option(help="Rewrite the model cards of the models folder with the metrics.")
    ] = False,
    hidden_drains: Annotated[bool, typer.Option(help=_DRAINS_HELP)] = True,
) -> None:
    """Backtest forecasters on held-out storms and write a report with plots.

    The physics ensemble (``physics_ensemble``, settings from
    ``models/waterlogging-physics-ensemble``) is replayed online over every storm (a few
    seconds per storm: use ``--max-storms`` for a quick look).
    """
    from twin.forecast.data import generate_storm_set
    from twin.forecast.io import load_shipped
    from twin.forecast.nowcast import check_source
    from twin.forecast.replay_scores import PHYSICS_KIND
    from twin.hydro.lowpoints import low_points
    from twin.hydro.truth import DRAIN_CLIMATOLOGY
    from twin.network import default_network

    names = _names(kinds)
    if rain_source != "all":
        check_source(rain_source)
    loaded: list[Any] = [n if n == PHYSICS_KIND else load_shipped(n, models) for n in names]
    net = default_network()
    points = low_points(net)
    test = generate_storm_set(
        points, splits=("test",), max_storms=max_storms, seed=seed,
        drains=DRAIN_CLIMATOLOGY if hidden_drains else None,
    )  # fmt: skip
    every = _GAUGE_SOURCES if rain_source == "all" else (rain_source,)
    sets = [(test, "catalogue test storms", tuple(s for s in every if s in _GAUGE_SOURCES))]
    if radar:
        every = _RADAR_SOURCES if rain_source == "all" else (rain_source,)
        sets.append(
            (*_radar_test_set(net, seed + 7), tuple(s for s in every if s in _RADAR_SOURCES))
        )
    results = _score(
        loaded, [x for x in sets if x[2]], points, stride=stride, seed=seed, alerts=alerts
    )
    path = _write_reports(results, out)
    if cards:
        from twin.forecast.cards import forecaster_card
        from twin.forecast.evaluate import model_name
        from twin.forecast.io import model_folder

        for m in loaded:
            if m == PHYSICS_KIND:
                continue
            name = model_name(m)
            card = forecaster_card(m, [r for r in results if r.kind == name])
            (model_folder(name, models) / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    console.print(f"Report: [bold]{path}[/]")


def _write_reports(results: list[Any], out: Path) -> Path:
    """One report per storm set, and every alert score in ``alerts.md`` / ``alerts.csv``."""
    import pandas as pd

    from twin.forecast.report import markdown_table, write_report

    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Waterlogging forecasts on held-out storms", ""]
    frames = []
    for label in dict.fromkeys(r.settings["storms"] for r in results):
        group = [r for r in results if r.settings["storms"] == label]
        slug = "radar-test" if label.startswith("radar") else "catalogue-test"
        write_report(group, out / slug)
        lines += [
            f"## {label}",
            "",
            f"Skill by lead time: [{slug}/report.md]({slug}/report.md)",
            "",
        ]
        bands = {r.settings["bands"] for r in group if "bands" in r.settings}
        if bands:
            lines += [f"Physics ensemble's 10–90 % band: {', '.join(sorted(bands))}.", ""]
        for r in group:
            if r.alerts.empty:
                continue
            frame = r.alerts.assign(forecaster=r.label, rain_source=r.rain_source, storms=label)
            frames.append(frame)
    if frames:
        table = pd.concat(frames)
        table.to_csv(out / "alerts.csv", index=False)
        cols = ["forecaster", "rain_source", "threshold", "crossings", "pod", "far", "csi",
                "lead_mean_min"]  # fmt: skip
        for label in dict.fromkeys(table["storms"]):
            part = table[table["storms"] == label][cols]
            lines += [f"### Alerts, {label}", "", markdown_table(part, digits=2), ""]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@app.command()
def predict(
    storm: Annotated[
        str, typer.Option(help="A catalogue event id or a design storm id (design-P10-D120-r40).")
    ] = "design-P10-D120-r40",
    models: Annotated[Path | None, typer.Option(help="Models folder (default: shipped).")] = None,
    kind: Annotated[
        str,
        typer.Option(
            help="Forecaster: a shipped name (nhits, nhits-nowcast, sarimax, sarimax-nowcast, "
            "linear, persistence) or physics_ensemble."
        ),
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
