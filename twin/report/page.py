"""The report kit: one HTML page shell, KPI cards, formatting and embedded figures.

Used by every HTML report of the twin (a run's summary, a sweep, a sensor placement) and
by the planners' app for the same numbers, so a KPI reads the same everywhere. Pages are
self-contained: plotly.js is embedded once, inline, and nothing loads from the internet.
"""

from __future__ import annotations

import html
import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd

from twin.report.output_folder import write_text_atomic

__all__ = [
    "CSS",
    "card",
    "esc",
    "figure_html",
    "fmt_duration",
    "fmt_minutes",
    "fmt_number",
    "fmt_share",
    "frame_html",
    "html_page",
    "write_page",
]

logger = logging.getLogger(__name__)

_PLOT_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}

#: The stylesheet every page shares.
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #212529; background: #f8f9fa; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { margin: 0.5rem 0 0.25rem; font-size: 1.6rem; }
h2 { margin-top: 2rem; font-size: 1.2rem; border-bottom: 1px solid #dee2e6; }
p.description { color: #495057; max-width: 60rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1rem;
           font-size: 0.9rem; }
dl.facts dt { color: #868e96; } dl.facts dd { margin: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr));
         gap: 0.75rem; }
.card { background: #fff; border: 1px solid #dee2e6; border-radius: 6px; padding: 0.6rem 0.8rem; }
.card .value { font-size: 1.5rem; font-weight: 600; }
.card .label { font-size: 0.85rem; color: #495057; }
.card .sub { font-size: 0.75rem; color: #868e96; margin-top: 0.2rem; }
table.kpis { border-collapse: collapse; font-size: 0.85rem; background: #fff; width: 100%; }
table.kpis th, table.kpis td { border: 1px solid #dee2e6; padding: 0.25rem 0.5rem;
                               text-align: left; }
table.kpis td.num { text-align: right; font-variant-numeric: tabular-nums; }
.figure { background: #fff; border: 1px solid #dee2e6; border-radius: 6px; margin: 0.75rem 0; }
p.note, footer { font-size: 0.8rem; color: #868e96; }
"""


def esc(value: object) -> str:
    """Text escaped for HTML (quotes too)."""
    return html.escape(str(value), quote=True)


def fmt_duration(seconds: float) -> str:
    """A duration as text: ``45 s``, ``20 min``, ``24 h``, ``1 h 30 min``."""
    if not math.isfinite(seconds):
        return "–"
    if seconds < 60:
        return f"{seconds:g} s"
    if seconds < 3600:
        return f"{seconds / 60:g} min"
    hours, rest = divmod(seconds, 3600)
    return f"{hours:g} h" + (f" {rest / 60:.0f} min" if rest >= 30 else "")


def fmt_number(value: float) -> str:
    """A KPI value as text: integers with thousands separators, else three decimals."""
    if not math.isfinite(value):
        return "–"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3f}"


def fmt_share(value: float) -> str:
    """A share as a percentage with one decimal."""
    return "–" if not math.isfinite(value) else f"{100 * value:.1f} %"


def fmt_minutes(value: float) -> str:
    """Minutes with two decimals below ten, else one."""
    if not math.isfinite(value):
        return "–"
    return f"{value:.2f} min" if abs(value) < 10 else f"{value:.1f} min"


def card(value: str, label: str, sub: str = "") -> str:
    """A KPI card: a big value, its label and an optional line below."""
    sub_html = f'<div class="sub">{esc(sub)}</div>' if sub else ""
    return (
        f'<div class="card"><div class="value">{esc(value)}</div>'
        f'<div class="label">{esc(label)}</div>{sub_html}</div>'
    )


def figure_html(fig: Any, key: str) -> str:
    """A figure as a ``<div>``; plotly.js is not included (the page embeds it once)."""
    body: str = fig.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"twin-{key}", config=_PLOT_CONFIG
    )
    return f'<div class="figure">{body}</div>'


def frame_html(df: pd.DataFrame) -> str:
    """A small table as HTML (numbers rounded for reading)."""
    shown = df.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].round(3)
    body: str = shown.to_html(index=False, classes="kpis", border=0, na_rep="–")
    return body


def html_page(title: str, body: list[str], *, extra_css: str = "", plotly: bool = True) -> str:
    """A whole self-contained HTML page.

    Parameters
    ----------
    title
        The page title (escaped here).
    body
        HTML fragments, in order, inside ``<main>``.
    extra_css
        CSS appended to :data:`CSS`.
    plotly
        Embed plotly.js once, inline (pages with figures).
    """
    script = ""
    if plotly:
        from plotly.offline import get_plotlyjs

        script = f'<script type="text/javascript">{get_plotlyjs()}</script>'
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>",
            f"<style>{CSS}{extra_css}</style>",
            script,
            "</head>",
            "<body><main>",
            *body,
            "</main></body>",
            "</html>",
        ]
    )


def write_page(path: str | Path, page: str) -> Path:
    """Write a page (creating its folder) and log its size.

    The page is written whole or not at all (a temporary file in the same folder, then
    renamed): a full disk leaves no truncated page.

    Raises
    ------
    OutputError
        The page cannot be written (disk full, read-only).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, page)
    logger.info("Wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path
