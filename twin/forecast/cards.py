"""Model cards that say what a forecaster was trained on: data, future-rain covariate, split.

:func:`forecaster_card` writes the card of a forecaster trained by
:func:`twin.forecast.train.train_forecasters`: the storms by source and split, the
future rain its training windows carried (the nowcast available at the issue time, or
the observed rain), and its scores on held-out storms by lead time and as alerts.
"""

from __future__ import annotations

from typing import Any

from twin.forecast.base import Forecaster
from twin.forecast.evaluate import Backtest, model_name, skill_table
from twin.forecast.nowcast import rain_source_label
from twin.forecast.radar_storms import RADAR_EVENT_SPLIT
from twin.forecast.report import markdown_table

__all__ = ["covariate_text", "forecaster_card"]

_COVARIATE = {
    "nowcast": (
        "**nowcast** — each training window carries the rain nowcast that was available at "
        "its issue time: the pysteps radar nowcast at the low point for radar storms, the "
        "gauge persistence nowcast (mean of the last 15 min held) for gauge storms; never "
        "the rain that fell"
    ),
    "observed": (
        "**observed** — each training window carries the rain that really fell over its "
        "lead times (an oracle that operations never have)"
    ),
}


def covariate_text(future_rain: str) -> str:
    """One line on a training covariate (``"nowcast"`` or ``"observed"``)."""
    return _COVARIATE.get(future_rain, f"{future_rain} (unknown)")


def _events(split: str) -> str:
    return ", ".join(e for e, s in RADAR_EVENT_SPLIT.items() if s == split)


def forecaster_card(model: Forecaster, results: list[Backtest]) -> str:
    """Markdown model card (data, covariate, split, scores, how to retrain).

    Parameters
    ----------
    model
        A fitted forecaster (its ``info`` holds the training facts).
    results
        Backtests on held-out storms; ``settings["storms"]`` names the storms of each,
        and a non-empty ``alerts`` table adds the alert scores.
    """
    from twin import __version__

    info: dict[str, Any] = {k: v for k, v in model.info.items() if k != "metadata"}
    future = str(info.get("future_rain", getattr(model, "future_rain", "observed")))
    name = model_name(model)
    radar = list(info.get("radar_storms", []))
    lines = [
        f"# Model card: {model.label} waterlogging forecaster (`{name}`)",
        "",
        f"- **Kind**: `{model.kind}`, shipped as `waterlogging-{name}`; twin {__version__}; "
        "file format `twin-waterlogging-forecaster` v1 (`model.json` + `arrays.npz`).",
        f"- **Task**: quantiles {list(model.quantiles)} of the water depth [m] at "
        f"{len(model.points or [])} Gongshu low points, lead times 5–120 min (24 steps of "
        f"5 min), from {model.encoder} steps (2 h) of gauge readings and rain and the "
        "expected rain over the horizon.",
        f"- **Future rain covariate**: {covariate_text(future)}. In operation give it the "
        "best nowcast there is (a radar nowcast where radar exists).",
        "- **Intended use**: predictive waterlogging alerts in the twin (`twin.alerts`); "
        "pre-positioning crews in what-if runs. Not validated on real Hangzhou gauges.",
        "",
        "## Training data",
        "",
        "Simulated, not measured. Gauge storms: the twin's ponding model (EPA SWMM runoff + "
        "storage, `twin.hydro.reservoir`) at every low point, driven by the real 5-minute "
        "storm catalogue of the shipped Singapore gauges (data.gov.sg, Singapore Open Data "
        "Licence) and by 72 Chicago design storms with an **illustrative** intensity "
        "formula (training only), with per-point rain factors (log-sd 0.15, illustrative).",
        "",
        "Drains of the true water: "
        + str(
            info.get("drains")
            or "nominal (the derived parameters of `twin.hydro.lowpoints`; "
            "a model trained before the storm sets had hidden drains)"
        )
        + ".",
    ]
    if radar:
        lines += [
            "",
            "Radar storms: the shipped radar events transposed over Gongshu at the heaviest "
            "distinct placements of the radar storm catalogue, intensified (storm "
            "maximisation, illustrative) and run with **hidden drains** (capacity and area "
            "off by lognormal factors, a fifth of the drains clogging early; one draw per "
            "storm that no forecaster is told); future rain: "
            f"{info.get('radar_nowcast', 'radar nowcast')}. None of these storms fell on "
            f"Hangzhou. Storms: {', '.join(f'`{r}`' for r in radar)}.",
        ]
    lines += [
        "",
        "Depths are read through a gauge model with noise, drift and gaps "
        "(`twin.forecast.sensors`, illustrative).",
        "",
        "**Split, by event, never inside one**: catalogue storms by storm day (the "
        "catalogue's `split`); radar storms by radar event (train: "
        f"{_events('train')}; validation: {_events('validation')}; test: "
        f"{_events('test')}, never used in fitting). Fitted on: "
        f"{', '.join(info.get('fit_splits', ['train']))}.",
        "",
    ]
    for key in (
        "train_storms", "train_storms_design", "train_storms_radar",
        "validation_storms_catalogue", "validation_storms_radar", "seed", "fit_seconds",
        "train_windows", "epochs", "val_loss", "n_parameters", "sarimax_storms",
        "nowcast_windows", "lead_scale",
    ):  # fmt: skip
        if key in info:
            value = info[key]
            text = f"{value:.3g}" if isinstance(value, float) else str(value)
            lines.append(f"- {key.replace('_', ' ')}: {text}")
    lines += ["", "## Scores on held-out (test) storms", ""]
    if not results:
        lines += ["Not evaluated yet: run `twin forecast evaluate --cards`.", ""]
    for r in results:
        table = skill_table([r]).drop(columns=["forecaster", "kind", "rain_source"])
        lines += [
            f"**{r.settings.get('storms', 'held-out storms')}**, future rain: "
            f"{rain_source_label(r.rain_source)}; {r.n_storms} storms, issue every "
            f"{r.settings.get('stride', 2) * 5} min.",
            "",
            markdown_table(table),
            "",
        ]
        if not r.alerts.empty:
            lines += [
                "Alerts replayed every 5 min (p* = 0.5), scored against the water "
                "(lead in minutes):",
                "",
                markdown_table(r.alerts, digits=2),
                "",
            ]
    threads = getattr(model, "settings", {}).get("n_threads")
    train_cmd = f"twin forecast train --out models/ --kinds {model.kind} --future-rain {future}"
    if threads:
        train_cmd += f" --threads {threads}"
    lines += [
        "## Limitations",
        "",
        "- The truth is a simulation with assumed catchments and drains "
        "(`twin.hydro.lowpoints`); real gauges will differ. Retrain on real records "
        "when they exist.",
        "- Gauge storms are Singaporean convective events and radar storms fell in the "
        "Netherlands, Finland and Texas, not Hangzhou plum-rain or typhoon rain; one "
        "gauge's record is used for the whole district in the gauge storms.",
        "- Skill depends on the future rain: oracle (observed) figures are an upper "
        "bound; nowcast figures are what operations would see.",
        "",
        "## How to retrain",
        "",
        "```",
        train_cmd,
        f"twin forecast evaluate --models models/ --kinds {name} --cards",
        "```",
        "",
        "Deterministic for a given seed, machine and thread count (`n_threads`).",
        "",
    ]
    return "\n".join(lines)
