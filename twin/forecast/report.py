"""Backtest report (markdown + PNG plots) and model cards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.forecast.base import Forecaster
from twin.forecast.evaluate import THRESHOLDS, Backtest, skill_table
from twin.forecast.nowcast import rain_source_label

__all__ = ["markdown_table", "model_card", "plot_skill", "write_report"]

_PANELS = (
    ("mae", "MAE of the median [m]"),
    ("nse", "NSE [-]"),
    ("csi_impeded", f"CSI, impeded (≥ {THRESHOLDS['impeded']} m)"),
    ("csi_closed", f"CSI, closed (≥ {THRESHOLDS['closed']} m)"),
    ("coverage_80", "coverage of the 10–90 % band [-]"),
)


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub markdown table of a data frame (numbers rounded)."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in frame.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            cells.append(f"{v:.{digits}f}" if isinstance(v, float | np.floating) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_skill(results: list[Backtest], path_png: str | Path) -> Path:
    """Scores by lead time of several forecasters (one rain source) as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(_PANELS))
    for ax, (key, title) in zip(axes, _PANELS, strict=True):
        for r in results:
            ax.plot(r.by_lead["lead_min"], r.by_lead[key], marker=".", label=r.label)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("lead time [min]")
        ax.grid(alpha=0.3)
        if key == "coverage_80":
            ax.axhline(0.8, color="k", lw=0.8, ls="--")
    axes[0].legend(fontsize=7)
    sources = sorted({r.rain_source for r in results})
    fig.suptitle(
        "Held-out storms; future rain: " + "; ".join(rain_source_label(s) for s in sources),
        fontsize=10,
    )
    fig.tight_layout()
    path = Path(path_png)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def write_report(results: list[Backtest], folder: str | Path) -> Path:
    """Write ``report.md``, ``skill_<source>.png`` and ``skill.csv`` into ``folder``.

    Returns
    -------
    pathlib.Path
        The markdown file.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Waterlogging forecasts: backtest on held-out storms", ""]
    frames = []
    for source in dict.fromkeys(r.rain_source for r in results):
        group = [r for r in results if r.rain_source == source]
        png = plot_skill(group, out / f"skill_{source}.png")
        table = skill_table(group)
        frames.append(table)
        n_storms = group[0].n_storms
        lines += [
            f"## Future rain: {rain_source_label(source)}",
            "",
            f"{n_storms} held-out storms; {group[0].n_windows:,} forecasts per forecaster "
            "(issue times × 53 low points), scored against the true depth.",
            "",
            f"![skill by lead time]({png.name})",
            "",
            markdown_table(table.drop(columns=["kind", "rain_source"])),
            "",
            "Warning lead times (mean over scored episodes; missed ones count 0):",
            "",
        ]
        for r in group:
            ws = r.warning_summary()
            ws.insert(0, "forecaster", r.label)
            lines += [markdown_table(ws), ""]
    pd.concat(frames).to_csv(out / "skill.csv", index=False)
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def model_card(
    model: Forecaster, results: list[Backtest], *, data: dict[str, Any] | None = None
) -> str:
    """Markdown model card: what the model is, its data, metrics, version, how to retrain."""
    from twin import __version__

    info = {k: v for k, v in model.info.items() if k != "metadata"}
    d = data or {}
    lines = [
        f"# Model card: {model.label} waterlogging forecaster",
        "",
        f"- **Kind**: `{model.kind}`; twin {__version__}; file format "
        "`twin-waterlogging-forecaster` v1 (`model.json` + `arrays.npz`).",
        f"- **Task**: quantiles {list(model.quantiles)} of the water depth [m] at "
        f"{len(model.points or [])} Gongshu low points, lead times 5–120 min (24 steps of "
        f"5 min), from {model.encoder} steps (2 h) of gauge readings and rain and the "
        "expected rain over the horizon.",
        "- **Intended use**: predictive waterlogging alerts in the twin (`twin.alerts`); "
        "pre-positioning crews in what-if runs. Not validated on real Hangzhou gauges.",
        "",
        "## Training data",
        "",
        "Simulated, not measured: the twin's ponding model (EPA SWMM runoff + storage, "
        "`twin.hydro.reservoir`) at every low point of `data/layers/low_points.geojson`, "
        "driven by the real 5-minute storm catalogue of the shipped Singapore gauges "
        "(`twin.hydro.storms.load_catalogue`, data.gov.sg, Singapore Open Data Licence) "
        "and by 72 Chicago design storms with an **illustrative** intensity formula "
        "(training only); per-point rain factors (log-sd 0.15, illustrative); depths read "
        "through a gauge model with noise, drift and gaps (`twin.forecast.sensors`, "
        "illustrative). Split by storm day (catalogue `split`), never inside a storm.",
        "",
        "Drains of the true water: "
        + str(info.get("drains") or "nominal (the derived parameters of `twin.hydro.lowpoints`)")
        + ".",
        "",
        f"- training storms: {info.get('train_storms', d.get('train_storms', '?'))} "
        f"(of which design: {info.get('train_storms_design', '?')}); seed "
        f"{info.get('seed', '?')}; fit time {info.get('fit_seconds', float('nan')):.0f} s.",
    ]
    for key in ("train_windows", "epochs", "val_loss", "n_parameters", "sarimax_storms"):
        if key in info:
            lines.append(f"- {key.replace('_', ' ')}: {info[key]}")
    lines += ["", "## Metrics on held-out (test) storms", ""]
    if results:
        for r in results:
            table = skill_table([r]).drop(columns=["forecaster", "kind", "rain_source"])
            lines += [
                f"Future rain: {rain_source_label(r.rain_source)}; {r.n_storms} storms, "
                f"issue every {r.settings.get('stride', 2) * 5} min.",
                "",
                markdown_table(table),
                "",
            ]
    else:
        lines += ["Not evaluated yet: run `twin forecast evaluate --cards`.", ""]
    lines += [
        "## Limitations",
        "",
        "- The truth is a simulation with assumed catchments and drains "
        "(`twin.hydro.lowpoints`); real gauges will differ. Retrain on real records "
        "when they exist.",
        "- Storms are Singaporean convective events, not Hangzhou plum-rain or typhoon "
        "rain; one gauge's record is used for the whole district.",
        "- Skill depends on the future rain: the oracle (observed) figures are an upper "
        "bound; persistence-nowcast figures are what operations would see.",
        "",
        "## How to retrain",
        "",
        "```",
        f"twin forecast train --out models/ --kinds {model.kind} --future-rain "
        f"{getattr(model, 'future_rain', 'observed')}"
        + ("" if info.get("train_storms_radar") else " --radar-placements 0"),
        "twin forecast evaluate --models models/ --cards --out twin-out/forecast-report",
        "```",
        "",
        "Deterministic for a given seed, machine and thread count (`n_threads`).",
        "",
    ]
    return "\n".join(lines)
