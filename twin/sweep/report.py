"""Self-contained HTML reports of a sweep, and ``twin report`` for run or sweep folders.

A sweep's page (:func:`write_sweep_report`) shows the sweep (scenario, grid, seeds, runs
finished, failed and reused); the response of headline KPIs to each swept parameter,
with Student-t confidence intervals over replications as error bars; the distribution
of each headline KPI over replications, per grid point; the backlog [cases] and busy
crews [crews] over local time per grid point (mean over replications, with the range as a
band); for rain sweeps the mean water depth [m] and rain rate [mm/h] over time; a map of
where service was slow (share of cases resolved within target, on ~500 m cells, one
layer per grid point, chosen from a menu); the KPI table per grid point; and every
failed run with its error, seed, parameters and traceback.

:func:`write_report` re-renders from files, running nothing again: a sweep folder gives
``report.html``, a run folder (``twin run`` or one of a sweep's ``runs/<key>/``) gives
``summary.html`` through :func:`twin.run.report.write_summary`.

Like the run summary, the page embeds plotly.js once, inline, loads nothing from the
internet, and escapes every piece of text from the scenario or the results.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from twin.errors import TwinError
from twin.report.page import card, esc, figure_html, fmt_duration, fmt_number, html_page
from twin.run.report import TARGET_COLOUR, write_summary
from twin.sweep.figures import (
    CELL_M,
    axis_title,
    distribution_figure,
    fmt_value,
    headline_kpis,
    kpi_stats,
    kpi_units,
    map_figure,
    point_flat,
    response_figure,
    series_figure,
    water_figure,
)
from twin.sweep.results import SweepResult, folder_kind, read_run, read_sweep

if TYPE_CHECKING:
    from twin.network.road_network import RoadNetwork
    from twin.scenario import Scenario

__all__ = ["write_report", "write_sweep_report"]

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- HTML pieces
def _header_html(result: SweepResult) -> str:
    sc = result.scenario
    tz = sc.timezone
    start = pd.Timestamp(sc.start).tz_convert(tz)
    r = result.replications
    grid_text = "; ".join(f"{a.path} = {', '.join(a.labels)}" for a in result.grid.axes)
    facts: list[tuple[str, str]] = [
        ("grid", grid_text or "none (an ensemble of one scenario)"),
        ("grid points", f"{result.grid.size:,}"),
        ("replications", f"{r} (seeds {sc.seed}–{sc.seed + r - 1}, the same at every point)"),
        ("runs", f"{len(result.outcomes):,}: {len(result.finished):,} finished "
                 f"({len(result.reused):,} reused from an earlier run), "
                 f"{len(result.failures):,} failed"),
        ("start", f"{start:%Y-%m-%d %H:%M} ({tz})"),
        ("horizon", fmt_duration(sc.horizon)),
        ("confidence", f"{100 * result.confidence:g} % Student-t intervals over replications"),
    ]  # fmt: skip
    where = result.info.get("scheduler")
    if where:
        workers = result.info.get("workers") or result.info.get("workers_seen")
        facts.append(("ran on", f"{where}" + (f", {workers} workers" if workers else "")))
    if result.timing.get("total_s"):
        facts.append(("wall time", f"{result.timing['total_s']:.1f} s"))
    rows = "\n".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
    description = (
        f'<p class="description">{esc(sc.description.strip())}</p>' if sc.description else ""
    )
    return (f"<h1>{esc(sc.name)} · sweep</h1>\n{description}\n"
            f'<dl class="facts">\n{rows}\n</dl>')  # fmt: skip


def _cards_html(result: SweepResult) -> str:
    cards = [
        card(fmt_number(len(result.outcomes)), "runs",
              f"{result.grid.size} grid points × {result.replications} replications"),
        card(fmt_number(len(result.finished)), "finished",
              f"{len(result.reused)} reused from an earlier run"),
        card(fmt_number(len(result.failures)), "failed",
              "listed at the end of the page" if result.failures else "none"),
    ]  # fmt: skip
    return '<div class="cards">\n' + "\n".join(cards) + "\n</div>"


def _summary_table_html(result: SweepResult, kpis: list[str]) -> str:
    units = kpi_units(result)
    stats = kpi_stats(result)
    head = "".join(f"<th>{esc(a.path)}</th>" for a in result.grid.axes)
    head += "".join(f"<th>{esc(axis_title(k, units.get(k, '')))}</th>" for k in kpis)
    body = []
    for point in result.grid.points():
        flat = point_flat(result.grid, point.index)
        cells = "".join(f"<td>{esc(v)}</td>" for v in point.labels.values())
        for k in kpis:
            if (flat, k) in stats:
                m, lo, hi = stats[(flat, k)]
                u = units.get(k, "")
                text = f"{fmt_value(m, u)} [{fmt_value(lo, u)}, {fmt_value(hi, u)}]"
            else:
                text = "–"
            cells += f'<td class="num">{esc(text)}</td>'
        body.append(f"<tr>{cells}</tr>")
    return (f'<table class="kpis"><thead><tr>{head}</tr></thead>\n<tbody>\n'
            + "\n".join(body) + "\n</tbody></table>")  # fmt: skip


def _all_kpis_html(result: SweepResult) -> str:
    s = result.summary
    cols = [*result.grid.dims, "kpi", "unit", "n", "mean", "std", "ci_low", "ci_high"]
    cols = [c for c in cols if c in s.columns]
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    body = []
    for _, row in s[cols].iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if c in ("mean", "std", "ci_low", "ci_high") and isinstance(v, (int, float)):
                cells.append(f'<td class="num">{esc(fmt_number(float(v)))}</td>')
            else:
                cells.append(f"<td>{esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<details><summary>All KPIs per grid point ({len(s):,} rows; also in '
            f'summary.csv)</summary>\n<table class="kpis"><thead><tr>{head}</tr></thead>\n'
            "<tbody>\n" + "\n".join(body) + "\n</tbody></table></details>")  # fmt: skip


def _failures_html(result: SweepResult) -> str:
    rows = []
    for o in result.failures:
        params = ", ".join(f"{k}={v}" for k, v in o.labels.items()) or "–"
        rows.append(
            f"<tr><td><code>{esc(o.key)}</code></td><td>{esc(params)}</td>"
            f'<td class="num">{o.replication}</td><td class="num">{o.seed}</td>'
            f"<td>{esc(o.error)}</td></tr>"
        )
    traces = "\n".join(
        f"<details><summary><code>{esc(o.key)}</code> traceback</summary>"
        f"<pre>{esc(o.traceback or 'no traceback recorded')}</pre></details>"
        for o in result.failures
    )
    return (
        '<table class="kpis"><thead><tr><th>run</th><th>parameters</th><th>replication</th>'
        "<th>seed</th><th>error</th></tr></thead>\n<tbody>\n" + "\n".join(rows)
        + f"\n</tbody></table>\n{traces}\n"
        '<p class="note">Each failed run keeps its error in runs/&lt;run&gt;/error.json; '
        "rerunning the sweep into the same folder retries only failed and missing runs.</p>"
    )  # fmt: skip


def _page(title: str, parts: list[str], footer: str) -> str:
    extra = (
        "\npre { font-size: 0.75rem; white-space: pre-wrap; background: #fff; padding: 0.5rem; }"
    )
    return html_page(title, [*parts, footer], extra_css=extra)


# ---------------------------------------------------------------------------- the pages
def write_sweep_report(
    result: SweepResult, path: str | Path, *, network: RoadNetwork | None = None
) -> Path:
    """Write a self-contained HTML report of a sweep (see the module doc).

    Parameters
    ----------
    result
        The sweep (from :func:`twin.sweep.run_sweep` or :func:`twin.sweep.read_sweep`).
    path
        Output HTML file; its folder is created if missing.
    network
        When given, its arterial and collector roads are drawn under the map.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    kpis = headline_kpis(result)
    parts = [_header_html(result), "<h2>Runs</h2>", _cards_html(result)]
    if kpis and result.grid.axes:
        parts += ["<h2>KPI response to each parameter</h2>",
                  '<p class="note">Mean over replications with its confidence interval; one '
                  "line per value of the other parameters (pooled when there are many).</p>",
                  figure_html(response_figure(result, kpis), "response")]  # fmt: skip
    if kpis:
        parts += ["<h2>KPI distributions over replications</h2>",
                  figure_html(distribution_figure(result, kpis), "distributions"),
                  "<h2>KPIs per grid point</h2>", _summary_table_html(result, kpis),
                  _all_kpis_html(result)]  # fmt: skip
    if result.dataset is not None and "backlog" in result.dataset:
        parts += ["<h2>Backlog and crews over time</h2>",
                  figure_html(series_figure(result), "series")]  # fmt: skip
    if result.dataset is not None and "water_depth" in result.dataset:
        parts += ["<h2>Rain and waterlogging</h2>",
                  figure_html(water_figure(result), "water")]  # fmt: skip
    fig = map_figure(result, network) if result.finished else None
    if fig is not None:
        parts += ["<h2>Where service was slow</h2>",
                  '<p class="note">Cases of all replications on '
                  f"{CELL_M:g} m cells: colour is the share resolved within target, size the "
                  "cases per run. Choose the grid point from the menu.</p>",
                  figure_html(fig, "map")]  # fmt: skip
    if result.failures:
        parts += [f'<h2 style="color: {TARGET_COLOUR}">Failed runs</h2>', _failures_html(result)]
    if not result.finished:
        parts.append('<p class="note">No run finished: nothing to plot.</p>')
    footer = (f"<footer><p>city-twin sweep · {esc(result.scenario.name)} · times in "
              f"{esc(result.scenario.timezone)}</p></footer>")  # fmt: skip
    html_text = _page(f"{result.scenario.name} · sweep report", parts, footer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_text, encoding="utf-8")
    logger.info("Wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path


def _network_for(scenario: Scenario, base_dir: str | None) -> RoadNetwork | None:
    from twin.run.runner import load_scenario_network

    try:
        return load_scenario_network(scenario.network,
                                     base_dir=Path(base_dir) if base_dir else None)  # fmt: skip
    except (TwinError, OSError) as exc:
        logger.warning("Roads not drawn: the network %r could not be loaded (%s)",
                       scenario.network.source, exc)  # fmt: skip
        return None


def write_report(folder: str | Path, *, out: str | Path | None = None, roads: bool = True) -> Path:
    """Re-render the HTML report of a run or sweep folder from its files (no rerun).

    Parameters
    ----------
    folder
        A sweep folder (``sweep.json``) or a run folder (``run.nc`` + ``kpis.parquet``:
        ``twin run``, :meth:`~twin.run.results.RunResult.write`, or a sweep's
        ``runs/<key>/``).
    out
        Output file [default: ``report.html`` in a sweep folder, ``summary.html`` in a
        run folder].
    roads
        Draw the main roads under the maps (loads the scenario's network: a few seconds
        the first time in a process).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    SweepError
        The folder is neither a run nor a sweep folder.
    """
    folder = Path(folder)
    if folder_kind(folder) == "sweep":
        result = read_sweep(folder)
        net = _network_for(result.scenario, result.info.get("base_dir")) if roads else None
        return write_sweep_report(result, out or folder / "report.html", network=net)
    run = read_run(folder)
    net = _network_for(run.scenario, None) if roads else None
    return write_summary(run, out or folder / "summary.html", network=net)
