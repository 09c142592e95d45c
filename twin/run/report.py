"""A short, self-contained HTML summary of one run: header, KPI cards, KPI table and plots.

The page embeds plotly.js once (inline, no CDN) and fetches no map tiles, so it opens
offline from a file. Every piece of text taken from the scenario or the results is
escaped with :func:`html.escape` before it goes into the page.

Times on the plots are local wall-clock times in the scenario's time zone (the
dataset's ``time`` is UTC; its ``local_timezone`` attribute names the zone).
"""

from __future__ import annotations

import itertools
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import FloatArray
from twin.network.plot import ATTRIBUTION, CLASS_STYLE
from twin.report.maps import MAP_ROAD_CLASSES, network_line_arrays
from twin.report.page import (
    card,
    esc,
    figure_html,
    fmt_duration,
    fmt_minutes,
    fmt_number,
    fmt_share,
    frame_html,
    html_page,
    write_page,
)

if TYPE_CHECKING:
    from twin.network.road_network import RoadNetwork
    from twin.run.results import RunResult

__all__ = [
    "STATE_COLOURS",
    "TARGET_COLOUR",
    "clipped_histogram",
    "kpi_value",
    "local_times",
    "write_summary",
]

logger = logging.getLogger(__name__)

#: Stages with a service target: (stage, duration column of the case table).
STAGES_WITH_TARGET: tuple[tuple[str, str], ...] = (
    ("dispatch", "time_to_dispatch_s"),
    ("arrive", "time_to_arrive_s"),
    ("resolve", "time_to_resolve_s"),
)
#: Colour of each crew state on the crew-state plot.
STATE_COLOURS: dict[str, str] = {
    "working": "#2f9e44",
    "travelling": "#f08c00",
    "idle": "#a5d8ff",
}
TARGET_COLOUR = "#e03131"


# ---------------------------------------------------------------------------- formatting
def kpi_value(kpis: pd.DataFrame, name: str) -> float:
    """The value of a KPI, or NaN when the table has none of that name."""
    row = kpis.loc[kpis["kpi"] == name, "value"]
    return float(row.iloc[0]) if not row.empty else float("nan")


# ---------------------------------------------------------------------------- time helpers
def _local_timezone(result: RunResult) -> str:
    return str(result.dataset.attrs.get("local_timezone") or result.scenario.timezone)


def local_times(result: RunResult, tz: str | None = None) -> pd.DatetimeIndex:
    """The dataset's record times as naive local wall-clock times (plotly ignores offsets).

    ``tz`` defaults to the run's local time zone.
    """
    tz = tz or _local_timezone(result)
    utc = pd.DatetimeIndex(result.dataset["time"].to_numpy())
    if utc.tz is None:
        utc = utc.tz_localize("UTC")
    return utc.tz_convert(tz).tz_localize(None)


def _local_naive(times: pd.Series, tz: str) -> pd.Series:
    """Timezone-aware timestamps as naive local times (naive input is taken as local)."""
    if times.dt.tz is None:
        return times
    local: pd.Series = times.dt.tz_convert(tz).dt.tz_localize(None)
    return local


# ---------------------------------------------------------------------------- array kernels
def clipped_histogram(
    values: FloatArray, *, upper: float, bins: int = 40
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Histogram on ``[0, upper]`` with values above ``upper`` counted in the last bin.

    Parameters
    ----------
    values
        Finite, non-negative values [any unit].
    upper
        Right edge of the last bin [same unit as ``values``].
    bins
        Number of equal-width bins.

    Returns
    -------
    edges
        Bin edges, ``bins + 1`` of them [same unit as ``values``].
    counts
        Values in each bin.
    """
    edges = np.linspace(0.0, upper, bins + 1)
    counts, _ = np.histogram(np.minimum(values, upper), bins=edges)
    return edges, counts.astype(np.int64)


# ---------------------------------------------------------------------------- figures
def _series_figure(result: RunResult, tz: str) -> Any:
    """Backlog and crew states over time (local time on the x axis)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    ds = result.dataset
    x = local_times(result, tz)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
        subplot_titles=("open cases [cases]", "crews [crews]"),
    )  # fmt: skip
    for name, label, colour in (
        ("backlog", "open cases (backlog)", "#1971c2"),
        ("waiting_dispatch", "waiting for dispatch", "#e8590c"),
        ("in_verification", "in verification", "#7048e8"),
    ):
        if name in ds:
            fig.add_trace(
                go.Scatter(x=x, y=ds[name].to_numpy(), name=label, mode="lines",
                           line={"color": colour, "width": 1.5}, legendgroup="cases"),
                row=1, col=1,
            )  # fmt: skip
    for name, label in (("working", "working"), ("travelling", "travelling"),
                        ("idle", "idle / repositioning")):  # fmt: skip
        if name in ds:
            fig.add_trace(
                go.Scatter(x=x, y=ds[name].to_numpy(), name=label, mode="lines",
                           stackgroup="crews", line={"width": 0.5, "color": STATE_COLOURS[name]},
                           legendgroup="crews"),
                row=2, col=1,
            )  # fmt: skip
    if "on_duty" in ds:
        fig.add_trace(
            go.Scatter(x=x, y=ds["on_duty"].to_numpy(), name="on duty", mode="lines",
                       line={"color": "#212529", "width": 1, "dash": "dot"}, legendgroup="crews"),
            row=2, col=1,
        )  # fmt: skip
    fig.update_xaxes(title_text=f"local time ({tz})", row=2, col=1)
    fig.update_layout(height=560, margin={"t": 40, "b": 50, "l": 60, "r": 20},
                      hovermode="x unified", template="plotly_white")  # fmt: skip
    return fig


def _histogram_figure(result: RunResult) -> Any:
    """Histograms of time to dispatch / arrive / resolve, each with its target line."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    cases = result.cases
    tg = result.scenario.targets
    targets = {"dispatch": tg.dispatch, "arrive": tg.arrive, "resolve": tg.resolve}
    titles = []
    panels: list[tuple[str, FloatArray, float]] = []
    for stage, col in STAGES_WITH_TARGET:
        v = cases[col].to_numpy(dtype=float) / 60.0
        done = v[np.isfinite(v)]
        target = targets[stage] / 60.0
        panels.append((stage, done, target))
        titles.append(f"time to {stage} [min] ({len(v) - done.size:,} never got there)")
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.07)
    for i, (stage, done, target) in enumerate(panels, start=1):
        p99 = float(np.percentile(done, 99)) if done.size else 0.0
        upper = max(p99, 1.5 * target)
        edges, counts = clipped_histogram(done, upper=upper)
        labels = [f"{a:.1f}–{b:.1f} min" for a, b in itertools.pairwise(edges)]
        labels[-1] = f"≥ {edges[-2]:.1f} min"
        fig.add_trace(
            go.Bar(x=0.5 * (edges[:-1] + edges[1:]), y=counts, width=float(np.diff(edges)[0]),
                   marker={"color": "#4dabf7", "line": {"width": 0}}, name=stage,
                   customdata=labels, hovertemplate="%{customdata}: %{y} cases<extra></extra>",
                   showlegend=False),
            row=1, col=i,
        )  # fmt: skip
        fig.add_vline(
            x=target, line={"color": TARGET_COLOUR, "width": 2, "dash": "dash"},
            annotation_text=f"target {target:g} min", annotation_font_color=TARGET_COLOUR,
            row=1, col=i,
        )  # fmt: skip
        fig.update_xaxes(title_text="minutes after report", range=[0, upper], row=1, col=i)
    fig.update_yaxes(title_text="cases", row=1, col=1)
    fig.update_layout(height=360, bargap=0.0, template="plotly_white",
                      margin={"t": 50, "b": 50, "l": 60, "r": 20})  # fmt: skip
    return fig


def _hourly_figure(result: RunResult, tz: str) -> Any:
    """Cases reported per hour, stacked by discovery source."""
    import plotly.graph_objects as go

    cases = result.cases
    start = pd.Timestamp(result.scenario.start).tz_convert(tz).tz_localize(None)
    end = start + pd.Timedelta(seconds=result.scenario.horizon)
    hours = pd.date_range(start.floor("h"), end, freq="h", inclusive="left")
    reported = _local_naive(cases["reported"], tz).dt.floor("h")
    counts = pd.crosstab(reported, cases["source"]).reindex(hours, fill_value=0)
    fig = go.Figure()
    for source in counts.columns:
        fig.add_trace(
            go.Bar(x=hours, y=counts[source].to_numpy(), name=str(source), offset=0,
                   width=3.6e6 * 0.92,
                   hovertemplate="%{x|%H:00}: %{y} cases<extra>" + esc(source) + "</extra>")
        )  # fmt: skip
    fig.update_layout(
        barmode="stack", height=360, template="plotly_white",
        xaxis={"title": f"local time ({tz}), hour of report"},
        yaxis={"title": "cases reported [cases/h]"},
        margin={"t": 20, "b": 50, "l": 60, "r": 20}, legend={"title": "source"},
    )  # fmt: skip
    return fig


def _category_figure(result: RunResult) -> Any:
    """Cases per category and their mean time to resolve."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    cases = result.cases
    by = (
        cases.assign(resolve_min=cases["time_to_resolve_s"] / 60.0)
        .groupby("category")
        .agg(cases=("case", "size"), resolve_min=("resolve_min", "mean"), kind=("kind", "first"))
        .sort_values("cases")
    )
    fig = make_subplots(
        rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
        subplot_titles=("cases [cases]", "mean time to resolve [min]"),
    )  # fmt: skip
    palette = ("#1971c2", "#f08c00", "#2f9e44", "#ae3ec9", "#868e96")
    for j, kind in enumerate(sorted(by["kind"].astype(str).unique())):
        part = by[by["kind"].astype(str) == kind]
        colour = palette[j % len(palette)]
        fig.add_trace(
            go.Bar(y=part.index.astype(str), x=part["cases"].to_numpy(), orientation="h",
                   name=kind, legendgroup=kind, marker={"color": colour},
                   hovertemplate="%{y}: %{x} cases<extra></extra>"),
            row=1, col=1,
        )  # fmt: skip
        fig.add_trace(
            go.Bar(y=part.index.astype(str), x=part["resolve_min"].to_numpy(), orientation="h",
                   name=kind, legendgroup=kind, showlegend=False, marker={"color": colour},
                   hovertemplate="%{y}: %{x:.1f} min<extra></extra>"),
            row=1, col=2,
        )  # fmt: skip
    fig.add_vline(
        x=result.scenario.targets.resolve / 60.0, row=1, col=2,
        line={"color": TARGET_COLOUR, "width": 2, "dash": "dash"},
    )  # fmt: skip
    fig.update_yaxes(categoryorder="array", categoryarray=by.index.astype(str).tolist())
    fig.update_layout(height=max(300, 22 * len(by) + 120), template="plotly_white",
                      margin={"t": 40, "b": 40, "l": 180, "r": 20},
                      legend={"title": "kind"})  # fmt: skip
    return fig


def _map_figure(result: RunResult, network: RoadNetwork | None) -> Any:
    """Cases on a lon/lat map, coloured by time to resolve, over the main roads if known."""
    import plotly.graph_objects as go

    cases = result.cases
    fig = go.Figure()
    if network is not None:
        for cls_name in MAP_ROAD_CLASSES:
            colour, width = CLASS_STYLE[cls_name]
            xs, ys = network_line_arrays(network, cls_name)
            fig.add_trace(
                go.Scattergl(x=xs, y=ys, mode="lines", name=f"{cls_name} roads",
                             line={"color": colour, "width": max(width * 1.2, 0.8)},
                             hoverinfo="skip")
            )  # fmt: skip
    resolve = cases["time_to_resolve_s"].to_numpy(dtype=float) / 60.0
    text = np.array(
        [f"{esc(c)}<br>{esc(s)} · priority {p}"
         for c, s, p in zip(cases["category"], cases["source"], cases["priority"], strict=True)],
        dtype=object,
    )  # fmt: skip
    done = np.isfinite(resolve)
    cmax = max(float(np.percentile(resolve[done], 95)) if done.any() else 0.0,
               2.0 * result.scenario.targets.resolve / 60.0)  # fmt: skip
    lon = cases["lon"].to_numpy(dtype=float)
    lat = cases["lat"].to_numpy(dtype=float)
    fig.add_trace(
        go.Scattergl(
            x=lon[done], y=lat[done], mode="markers", name=f"resolved ({int(done.sum()):,})",
            marker={"size": 6, "color": resolve[done], "colorscale": "Viridis", "cmin": 0.0,
                    "cmax": cmax, "opacity": 0.85,
                    "colorbar": {"title": {"text": "time to<br>resolve [min]"}}},
            text=text[done], customdata=resolve[done],
            hovertemplate="%{text}<br>resolved after %{customdata:.1f} min<extra></extra>",
        )
    )  # fmt: skip
    if (~done).any():
        fig.add_trace(
            go.Scattergl(
                x=lon[~done], y=lat[~done], mode="markers",
                name=f"not resolved ({int((~done).sum()):,})",
                marker={"size": 8, "color": TARGET_COLOUR, "symbol": "x"},
                text=text[~done], hovertemplate="%{text}<br>not resolved<extra></extra>",
            )
        )  # fmt: skip
    lats = network.node_lat if network is not None else lat
    lat0 = float(np.mean(lats)) if len(lats) else 30.0
    annotations = []
    if network is not None:
        annotations.append({"text": ATTRIBUTION, "xref": "paper", "yref": "paper", "x": 0,
                            "y": -0.08, "showarrow": False,
                            "font": {"size": 10, "color": "#495057"}})  # fmt: skip
    fig.update_layout(
        height=720, template="plotly_white", margin={"t": 20, "b": 60, "l": 60, "r": 20},
        xaxis={"title": "longitude [deg]", "showgrid": False},
        yaxis={"title": "latitude [deg]", "showgrid": False, "scaleanchor": "x",
               "scaleratio": 1.0 / math.cos(math.radians(lat0))},
        legend={"itemsizing": "constant", "x": 0, "y": 1, "bgcolor": "rgba(255,255,255,0.8)"},
        annotations=annotations,
    )  # fmt: skip
    return fig


# ---------------------------------------------------------------------------- HTML pieces
def _header_html(result: RunResult, tz: str) -> str:
    sc = result.scenario
    start = pd.Timestamp(sc.start).tz_convert(tz)
    end = start + pd.Timedelta(seconds=sc.horizon)
    tg = sc.targets
    facts: list[tuple[str, str]] = [
        ("start", f"{start:%Y-%m-%d %H:%M} ({tz}, UTC{start.isoformat()[-6:]})"),
        ("end", f"{end:%Y-%m-%d %H:%M}"),
        ("horizon", fmt_duration(sc.horizon)),
        ("seed", str(sc.seed)),
        ("dispatch policy", sc.dispatch.policy),
        ("crews", f"{sc.crews.count:,} on {len(sc.crews.shifts)} shift(s)"),
        ("targets", f"dispatch {fmt_duration(tg.dispatch)} · arrive {fmt_duration(tg.arrive)}"
                    f" · resolve {fmt_duration(tg.resolve)} (from report)"),
        ("network", sc.network.source),
    ]  # fmt: skip
    timing = result.timing
    if timing:
        wall = sum(float(timing.get(k, 0.0)) for k in ("prepare_s", "simulate_s", "collect_s"))
        sim_s = float(timing.get("simulate_s", math.nan))
        facts.append(("wall time", f"{wall:.1f} s (simulation {sim_s:.2f} s)"))
        for key, label, unit in (("real_time_factor", "real-time factor", "×"),
                                 ("events", "events processed", "")):  # fmt: skip
            if key in timing:
                facts.append((label, f"{float(timing[key]):,.0f}{unit}"))
    rows = "\n".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
    description = (
        f'<p class="description">{esc(sc.description.strip())}</p>' if sc.description else ""
    )
    return f'<h1>{esc(sc.name)}</h1>\n{description}\n<dl class="facts">\n{rows}\n</dl>'


def _cards_html(result: RunResult) -> str:
    k = result.kpis
    tg = result.scenario.targets
    reported = kpi_value(k, "cases_reported")
    closed = kpi_value(k, "cases_closed")
    cards = [
        card(fmt_number(reported), "cases reported",
              f"{fmt_number(kpi_value(k, 'cases_open_at_end'))} still open at the end"),
        card(fmt_number(closed), "cases closed",
              fmt_share(closed / reported) + " of reported" if reported > 0 else ""),
    ]  # fmt: skip
    for stage, target in (("dispatch", tg.dispatch), ("arrive", tg.arrive),
                          ("resolve", tg.resolve)):  # fmt: skip
        cards.append(
            card(
                fmt_share(kpi_value(k, f"share_{stage}_within_target")),
                f"{stage} within {fmt_duration(target)}",
                f"mean {fmt_minutes(kpi_value(k, f'time_to_{stage}_mean'))} · "
                f"p90 {fmt_minutes(kpi_value(k, f'time_to_{stage}_p90'))}",
            )
        )
    levels = [
        f"L{i}: {fmt_number(kpi_value(k, f'escalations_level_{i}'))}"
        for i in range(1, len(result.scenario.escalation.levels) + 1)
    ]
    cards += [
        card(fmt_minutes(kpi_value(k, "time_to_close_mean")), "mean time to close"),
        card(fmt_share(kpi_value(k, "crew_utilisation")), "crew utilisation",
              "busy (travel + work) / on-duty time"),
        card(f"{kpi_value(k, 'mean_backlog'):.1f}", "mean backlog [cases]",
              f"max {fmt_number(kpi_value(k, 'max_backlog'))}"),
        card(fmt_number(kpi_value(k, "escalations")), "escalations", " · ".join(levels)),
        card(fmt_number(kpi_value(k, "preemptions")), "preemptions",
              "low-priority jobs interrupted"),
    ]  # fmt: skip
    return '<div class="cards">\n' + "\n".join(cards) + "\n</div>"


def _kpi_table_html(kpis: pd.DataFrame) -> str:
    values = kpis["value"].to_numpy(dtype=float)
    rows = "\n".join(
        f'<tr><td><code>{esc(name)}</code></td><td class="num">{esc(fmt_number(value))}'
        f"</td><td>{esc(unit)}</td><td>{esc(text)}</td></tr>"
        for name, value, unit, text in zip(
            kpis["kpi"], values, kpis["unit"], kpis["description"], strict=True
        )
    )
    return (
        '<table class="kpis"><thead><tr><th>KPI</th><th>value</th><th>unit</th>'
        f"<th>description</th></tr></thead>\n<tbody>\n{rows}\n</tbody></table>"
    )


def _truck_note(result: RunResult) -> str:
    """One paragraph: trips, queues, violations and the cases they raised."""
    k = result.kpis.set_index("kpi")["value"]
    return (
        f'<p class="note">{fmt_number(k["truck_trips_started"])} muck-truck trips started '
        f"({fmt_number(k['truck_trips_delivered'])} unloaded at a dock, "
        f"{fmt_number(k['truck_trips_dumped'])} dumped on the way); mean wait for a berth "
        f"{fmt_minutes(k['truck_dock_queue_mean_s'] / 60.0)}; "
        f"{fmt_number(k['truck_km_total_km'] // 1)} truck-km. Violations: "
        f"{fmt_number(k['truck_violations_occurred'])} occurred, "
        f"{fmt_number(k['truck_violations_detected'])} detected, "
        f"{fmt_number(k['truck_violations_traced'])} traced to their site and company; "
        f"{fmt_number(k['truck_violation_cases'])} became cases for the crews.</p>"
    )


def _crowd_note(result: RunResult) -> str:
    """One paragraph: alerts, crews sent, and their measured effect."""
    k = result.kpis.set_index("kpi")["value"]
    run = result.crowds
    assert run is not None
    q_with, q_without = k["crowd_max_exit_queue"], k["crowd_max_exit_queue_without_staff"]
    m_with = k["crowd_minutes_above_threshold"]
    m_without = k["crowd_minutes_above_threshold_without_staff"]
    return (
        f'<p class="note">{int(k["crowd_alerts"])} crowd alert(s) and '
        f"{int(k['crowd_reinforcements'])} renewal(s) raised {int(k['crowd_cases'])} "
        f"crowd-control cases; forecast lead time {fmt_minutes(k['crowd_alert_lead_time_mean'])}"
        f" on average, crews on site {fmt_minutes(k['crowd_staff_arrive_mean'])} after the "
        f"alert. Measured against the same evening without staff: the longest exit queue "
        f"{fmt_number(round(q_without))} → {fmt_number(round(q_with))} persons, time above "
        f"{run.threshold:.3g} persons/m² {fmt_number(m_without)} → {fmt_number(m_with)} "
        "plaza-minutes.</p>"
    )


# ---------------------------------------------------------------------------- the page
def write_summary(
    result: RunResult, path: str | Path, *, network: RoadNetwork | None = None
) -> Path:
    """Write a short, self-contained HTML report of a run.

    The page shows the scenario (name, description, start in local time, horizon, seed,
    dispatch policy) and the run's wall time [s] and real-time factor [-]; cards with the
    headline KPIs; the full KPI table; the backlog [cases] and crew states [crews] over
    local time; histograms of the time from report to dispatch, arrival and resolution
    [min] with their targets; cases reported per hour by source [cases/h]; the cases and
    mean time to resolve [min] per category; and a map of the cases coloured by time to
    resolve [min], over the arterial and collector roads when ``network`` is given.

    plotly.js is embedded once, inline; the page loads nothing from the internet.

    Parameters
    ----------
    result
        The run to report on.
    path
        Output HTML file; its folder is created if missing.
    network
        The network the run used; when given, its arterial and collector roads are drawn
        under the case map (about 0.3 MB for Gongshu). Without it the map shows the cases
        alone.

    Returns
    -------
    Path
        The file written.
    """
    tz = _local_timezone(result)
    has_cases = len(result.cases) > 0
    sections = [
        "<h2>Headline numbers</h2>",
        _cards_html(result),
        "<h2>Backlog and crews over time</h2>",
        figure_html(_series_figure(result, tz), "series"),
    ]
    if has_cases:
        sections += [
            "<h2>Time from report to dispatch, arrival and resolution</h2>",
            figure_html(_histogram_figure(result), "histograms"),
            "<h2>Cases reported per hour, by source</h2>",
            figure_html(_hourly_figure(result, tz), "hourly"),
            "<h2>Categories</h2>",
            figure_html(_category_figure(result), "categories"),
            "<h2>Where the cases were</h2>",
            figure_html(_map_figure(result, network), "map"),
        ]
        if network is None:
            sections.append('<p class="note">Road network not drawn (none was given).</p>')
    else:
        sections.append('<p class="note">No cases were reported in this run.</p>')
    if "water_depth" in result.dataset:
        from twin.hydro.plots import water_figure

        hy = result.scenario.hydro
        fig = water_figure(result.dataset, local_times(result, tz),
                           impeded=hy.impeded_depth, closed=hy.closed_depth)  # fmt: skip
        sections += ["<h2>Rain and waterlogging</h2>", figure_html(fig, "water")]
        caption = str(result.dataset.attrs.get("rain_caption", ""))
        if caption:
            sections.append(f'<p class="note">Rain: {esc(caption)}.</p>')
    if result.forecast_rain is not None and len(result.forecast_rain):
        from twin.forecast.plots import forecast_rain_figure

        fig = forecast_rain_figure(
            result.forecast_rain, pd.Timestamp(result.scenario.start), tz,
            caption=str(result.dataset.attrs.get("rain_caption", "")),
        )  # fmt: skip
        sections += ["<h3>Forecast rain against observed rain</h3>", figure_html(fig, "nowcast")]
    if result.trucks is not None:
        from twin.trucks.plots import dock_queue_figure, on_road_figure, violation_map

        tr = result.trucks
        sections += [
            "<h2>Muck trucks</h2>",
            _truck_note(result),
            figure_html(on_road_figure(tr), "trucks-on-road"),
            figure_html(dock_queue_figure(tr), "trucks-docks"),
            "<h3>Violations: where they happened, which were detected</h3>",
            figure_html(violation_map(tr), "trucks-violations"),
            "<h3>Violations by kind</h3>",
            frame_html(tr.violation_summary()),
            "<h3>Haulage companies, from the day's records</h3>",
            frame_html(tr.company_profile()),
        ]
    if result.crowds is not None:
        from twin.crowds.plots import crowd_figure

        sections += [
            "<h2>Crowds at plazas</h2>",
            _crowd_note(result),
            figure_html(crowd_figure(result.crowds, tz), "crowds"),
        ]
    sections += ["<h2>All KPIs</h2>", _kpi_table_html(result.kpis)]
    version = result.dataset.attrs.get("twin_version", "")
    footer = (
        f"<footer><p>city-twin {esc(version)} · scenario {esc(result.scenario.name)} · "
        f"times in {esc(tz)}</p></footer>"
    )
    page = html_page(
        f"{result.scenario.name} · run summary", [_header_html(result, tz), *sections, footer]
    )
    return write_page(path, page)
