"""Figures of a sweep for its HTML report (plotly; see :mod:`twin.sweep.report`).

Each function takes a :class:`~twin.sweep.results.SweepResult` and returns a plotly
figure: the response of KPIs to each swept parameter with confidence intervals, KPI
distributions over replications, backlog and busy crews over time per grid point, rain
and water depth over time, and a map of where service was slow (cases on square cells).
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin.network.plot import ATTRIBUTION, CLASS_STYLE
from twin.report.maps import MAP_ROAD_CLASSES, network_lines
from twin.report.page import esc
from twin.run.compare import t_interval
from twin.sweep.grid import Grid, GridPoint
from twin.sweep.results import RUNS_DIR, SweepResult

if TYPE_CHECKING:
    from twin.network.road_network import RoadNetwork
    from twin.scenario import Scenario

__all__ = [
    "axis_title",
    "case_cells",
    "distribution_figure",
    "fmt_value",
    "headline_kpis",
    "kpi_stats",
    "kpi_units",
    "map_figure",
    "point_flat",
    "response_figure",
    "series_figure",
    "water_figure",
]

FloatArray = npt.NDArray[np.float64]

#: KPIs drawn in the response and distribution figures (those a sweep has).
HEADLINE_KPIS: tuple[str, ...] = (
    "share_dispatch_within_target",
    "share_arrive_within_target",
    "share_resolve_within_target",
    "time_to_arrive_mean",
    "time_to_resolve_mean",
    "crew_utilisation",
    "mean_backlog",
    "escalations",
    "max_water_depth",
    "road_closure_hours",
    "reroutes",
)
#: Above this many combinations of the other parameters, a response panel pools them.
MAX_RESPONSE_LINES = 6
#: Above this many grid points, series are drawn without their range band.
MAX_BANDS = 12
#: Side of the map cells [m].
CELL_M = 500.0
PALETTE = ("#1971c2", "#e8590c", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#c2255c",
           "#5c940d", "#495057", "#845ef7")  # fmt: skip


# ---------------------------------------------------------------------------- helpers
def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def point_flat(grid: Grid, index: tuple[int, ...]) -> int:
    """The flat number of a grid point (the ``point`` column of the KPI tables)."""
    return int(np.ravel_multi_index(index, grid.shape)) if grid.axes else 0


def headline_kpis(result: SweepResult) -> list[str]:
    """The :data:`HEADLINE_KPIS` that the sweep's summary holds, in that order."""
    have = set(result.summary["kpi"]) if not result.summary.empty else set()
    return [k for k in HEADLINE_KPIS if k in have]


def kpi_stats(result: SweepResult) -> dict[tuple[int, str], tuple[float, float, float]]:
    """``(point, kpi) → (mean, ci_low, ci_high)`` from the summary table."""
    s = result.summary
    if s.empty:
        return {}
    cols = [s[c].to_numpy() for c in ("point", "kpi", "mean", "ci_low", "ci_high")]
    return {
        (int(p), str(k)): (float(m), float(lo), float(hi))
        for p, k, m, lo, hi in zip(*cols, strict=True)
    }


def kpi_units(result: SweepResult) -> dict[str, str]:
    """``kpi → unit`` from the summary table."""
    if result.summary.empty:
        return {}
    return dict(zip(result.summary["kpi"], result.summary["unit"].astype(str), strict=True))


def axis_title(kpi: str, unit: str) -> str:
    """A KPI's name as a title, with its unit in brackets (none for shares)."""
    return f"{kpi.replace('_', ' ')}" + ("" if unit in ("-", "nan", "") else f" [{unit}]")


def fmt_value(value: float, unit: str) -> str:
    """A KPI value as text: shares [-] as percentages, others to three digits."""
    if not math.isfinite(value):
        return "–"
    if unit == "-":
        return f"{100 * value:.1f} %"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _local_times(result: SweepResult) -> pd.DatetimeIndex:
    assert result.dataset is not None
    utc = pd.DatetimeIndex(result.dataset["time"].to_numpy())
    if utc.tz is None:
        utc = utc.tz_localize("UTC")
    return utc.tz_convert(result.scenario.timezone).tz_localize(None)


def _point_series(result: SweepResult, name: str, point: GridPoint) -> FloatArray | None:
    """A variable at one grid point: (replication, time[, point]) as floats."""
    ds = result.dataset
    if ds is None or name not in ds:
        return None
    sel = {a.path: i for a, i in zip(result.grid.axes, point.index, strict=True)}
    arr: FloatArray = ds[name].isel(sel).to_numpy().astype(float)
    return arr


def _nan_stat(fn: Any, arr: FloatArray, axis: int) -> FloatArray:
    """``np.nanmean``-like reduction that returns NaN for all-NaN slices, quietly."""
    with np.errstate(all="ignore"):
        mask = np.isfinite(arr).any(axis=axis)
        out = np.full(mask.shape, np.nan)
        if mask.any():
            filled = fn(np.where(np.isfinite(arr), arr, np.nan), axis=axis)
            out[mask] = np.asarray(filled)[mask]
    return out


# ---------------------------------------------------------------------------- figures
def response_figure(result: SweepResult, kpis: list[str]) -> Any:
    """Mean KPI (with its interval) against each swept parameter."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    grid = result.grid
    units = kpi_units(result)
    stats = kpi_stats(result)
    runs = result.runs
    fig = make_subplots(
        rows=len(kpis), cols=len(grid.axes), shared_xaxes="columns",
        vertical_spacing=min(0.04, 0.3 / max(len(kpis), 1)), horizontal_spacing=0.08,
        column_titles=[a.path for a in grid.axes],
    )  # fmt: skip
    for j, axis in enumerate(grid.axes, start=1):
        others = [a for a in grid.axes if a is not axis]
        combos = list(itertools.product(*(range(len(a.values)) for a in others)))
        x = list(axis.values) if axis.numeric else list(axis.labels)
        pooled = len(combos) > MAX_RESPONSE_LINES
        for row, kpi in enumerate(kpis, start=1):
            lines: list[tuple[str, list[float], list[float], list[float]]] = []
            if pooled:
                m, lo, hi = [], [], []
                for i in range(len(axis.values)):
                    flats = [point_flat(grid, (*c[: j - 1], i, *c[j - 1 :])) for c in combos]
                    v = runs.loc[runs["point"].isin(flats) & (runs["kpi"] == kpi), "value"]
                    mi, li, hi_ = t_interval(v.to_numpy(dtype=float), result.confidence)
                    m.append(mi)
                    lo.append(li)
                    hi.append(hi_)
                lines.append(("other parameters pooled", m, lo, hi))
            else:
                for c in combos:
                    name = ", ".join(f"{a.name}={a.labels[k]}" for a, k in
                                     zip(others, c, strict=True)) or "mean"  # fmt: skip
                    nan3 = (np.nan, np.nan, np.nan)
                    got = [stats.get((point_flat(grid, (*c[: j - 1], i, *c[j - 1 :])), kpi), nan3)
                           for i in range(len(axis.values))]  # fmt: skip
                    lines.append((name, [g[0] for g in got], [g[1] for g in got],
                                  [g[2] for g in got]))  # fmt: skip
            for li, (name, m, lo, hi) in enumerate(lines):
                ma, la, ha = np.array(m), np.array(lo), np.array(hi)
                if not np.isfinite(ma).any():  # every run of this line failed
                    continue
                fig.add_trace(
                    go.Scatter(
                        x=x, y=ma, mode="lines+markers", name=f"{axis.name}: {name}",
                        legendgroup=f"{j}-{li}", showlegend=row == 1,
                        line={"color": _colour(li), "width": 1.5}, marker={"size": 7},
                        error_y={"type": "data", "symmetric": False,
                                 "array": np.nan_to_num(ha - ma).tolist(),
                                 "arrayminus": np.nan_to_num(ma - la).tolist(),
                                 "thickness": 1.2, "width": 4},
                        hovertemplate=f"{esc(kpi)}: %{{y:.4g}}<extra>{esc(name)}</extra>",
                    ),
                    row=row, col=j,
                )  # fmt: skip
            if j == 1:
                fig.update_yaxes(title_text=axis_title(kpi, units.get(kpi, "")), row=row, col=j,
                                 title_font={"size": 10})  # fmt: skip
        fig.update_xaxes(title_text=axis.path, row=len(kpis), col=j,
                         type="linear" if axis.numeric else "category")  # fmt: skip
    fig.update_layout(
        height=max(360, 200 * len(kpis)), template="plotly_white",
        margin={"t": 50, "b": 50, "l": 90, "r": 20}, legend={"title": "lines"},
    )  # fmt: skip
    return fig


def distribution_figure(result: SweepResult, kpis: list[str]) -> Any:
    """Each headline KPI over replications, one box (with its runs) per grid point."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    units = kpi_units(result)
    runs = result.runs
    points = result.grid.points()
    fig = make_subplots(rows=len(kpis), cols=1, shared_xaxes=True,
                        vertical_spacing=min(0.04, 0.3 / max(len(kpis), 1)))  # fmt: skip
    for row, kpi in enumerate(kpis, start=1):
        sub = runs[runs["kpi"] == kpi]
        for i, point in enumerate(points):
            flat = point_flat(result.grid, point.index)
            v = sub.loc[sub["point"] == flat, "value"].to_numpy(dtype=float)
            if v.size == 0:  # no finished run at this point
                continue
            fig.add_trace(
                go.Box(y=v, x=[point.label()] * len(v), name=point.label(),
                       legendgroup=str(i), showlegend=False, boxpoints="all", jitter=0.4,
                       pointpos=0, marker={"color": _colour(i), "size": 5},
                       line={"width": 1}),
                row=row, col=1,
            )  # fmt: skip
        fig.update_yaxes(title_text=axis_title(kpi, units.get(kpi, "")), row=row, col=1,
                         title_font={"size": 10})  # fmt: skip
    fig.update_layout(height=max(320, 190 * len(kpis)), template="plotly_white",
                      margin={"t": 20, "b": 80, "l": 90, "r": 20})  # fmt: skip
    return fig


def series_figure(result: SweepResult) -> Any:
    """Backlog and busy crews over local time, per grid point (mean, range band)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    x = _local_times(result)
    points = result.grid.points()
    bands = len(points) <= MAX_BANDS
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("open cases (backlog) [cases]",
                                        "busy crews (travelling + working) [crews]"))  # fmt: skip
    for i, point in enumerate(points):
        backlog = _point_series(result, "backlog", point)
        working = _point_series(result, "working", point)
        travelling = _point_series(result, "travelling", point)
        busy = working + travelling if working is not None and travelling is not None else None
        for row, arr in ((1, backlog), (2, busy)):
            if arr is None or not np.isfinite(arr).any():
                continue
            mean = _nan_stat(np.nanmean, arr, 0)
            if bands and arr.shape[0] > 1:
                lo, hi = _nan_stat(np.nanmin, arr, 0), _nan_stat(np.nanmax, arr, 0)
                fig.add_trace(
                    go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([hi, lo[::-1]]),
                               fill="toself", fillcolor=_colour(i), opacity=0.15,
                               line={"width": 0}, hoverinfo="skip", showlegend=False,
                               legendgroup=str(i)),
                    row=row, col=1,
                )  # fmt: skip
            fig.add_trace(
                go.Scatter(x=x, y=mean, mode="lines", name=point.label(), legendgroup=str(i),
                           showlegend=row == 1, line={"color": _colour(i), "width": 1.5}),
                row=row, col=1,
            )  # fmt: skip
    fig.update_xaxes(title_text=f"local time ({result.scenario.timezone})", row=2, col=1)
    fig.update_layout(height=580, template="plotly_white", hovermode="x unified",
                      margin={"t": 40, "b": 50, "l": 60, "r": 20},
                      legend={"title": "grid point (mean; band: range)"})  # fmt: skip
    return fig


def water_figure(result: SweepResult) -> Any:
    """Rain rate and mean water depth over the low points, per grid point."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    x = _local_times(result)
    hy = result.scenario.hydro
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        row_heights=[0.35, 0.65],
                        subplot_titles=("rain rate, mean over low points [mm/h]",
                                        "water depth, mean over low points [m]"))  # fmt: skip
    for i, point in enumerate(result.grid.points()):
        for row, name in ((1, "rain_rate"), (2, "water_depth")):
            arr = _point_series(result, name, point)
            if arr is None or not np.isfinite(arr).any():
                continue
            mean = _nan_stat(np.nanmean, _nan_stat(np.nanmean, arr, 2), 0)
            fig.add_trace(
                go.Scatter(x=x, y=mean, mode="lines", name=point.label(), legendgroup=str(i),
                           showlegend=row == 2, line={"color": _colour(i), "width": 1.5}),
                row=row, col=1,
            )  # fmt: skip
    fig.add_hline(y=hy.impeded_depth, line={"color": "#f08c00", "dash": "dash", "width": 1},
                  annotation_text=f"impeded {hy.impeded_depth:g} m", row=2, col=1)  # fmt: skip
    fig.update_layout(height=520, template="plotly_white", hovermode="x unified",
                      margin={"t": 40, "b": 50, "l": 60, "r": 20})  # fmt: skip
    return fig


def case_cells(cases: pd.DataFrame, target_s: float, lat0: float) -> pd.DataFrame:
    """Cases binned on square cells of :data:`CELL_M`: centre, count, share in target."""
    dlat = CELL_M / 111_320.0
    dlon = dlat / math.cos(math.radians(lat0))
    t = cases["time_to_resolve_s"].to_numpy(dtype=float)
    frame = pd.DataFrame({
        "i": np.floor(cases["lon"].to_numpy(dtype=float) / dlon).astype(np.int64),
        "j": np.floor(cases["lat"].to_numpy(dtype=float) / dlat).astype(np.int64),
        "ok": np.nan_to_num(t, nan=np.inf) <= target_s,
    })  # fmt: skip
    g = frame.groupby(["i", "j"]).agg(n=("ok", "size"), share=("ok", "mean")).reset_index()
    g["lon"] = (g["i"] + 0.5) * dlon
    g["lat"] = (g["j"] + 0.5) * dlat
    return g


def map_figure(result: SweepResult, network: RoadNetwork | None) -> Any | None:
    """Share of cases resolved within target on cells, one layer per grid point."""
    import plotly.graph_objects as go

    folder = result.folder / RUNS_DIR
    per_point: list[tuple[GridPoint, pd.DataFrame, int]] = []
    lat_all: list[float] = []
    for point in result.grid.points():
        keys = [o.key for o in result.finished if o.point == point_flat(result.grid, point.index)]
        frames = []
        for key in keys:
            path = folder / key / "cases.parquet"
            if path.is_file():
                frames.append(pd.read_parquet(path, columns=["lon", "lat", "time_to_resolve_s"]))
        if frames:
            cases = pd.concat(frames, ignore_index=True)
            per_point.append((point, cases, len(frames)))
            lat_all.append(float(cases["lat"].mean()))
    if not per_point:
        return None
    lat0 = float(np.mean(lat_all))
    fig = go.Figure()
    n_bg = 0
    if network is not None:
        for cls_name in MAP_ROAD_CLASSES:
            colour, width = CLASS_STYLE[cls_name]
            xs, ys = network_lines(network, cls_name)
            fig.add_trace(go.Scattergl(x=xs, y=ys, mode="lines", name=f"{cls_name} roads",
                                       line={"color": colour, "width": max(width, 0.8)},
                                       hoverinfo="skip"))  # fmt: skip
            n_bg += 1
    base = result.scenario
    for k, (point, cases, n_runs) in enumerate(per_point):
        target = _resolve_target(base, point)
        cells = case_cells(cases, target, lat0)
        per_run = cells["n"].to_numpy(dtype=float) / n_runs
        fig.add_trace(
            go.Scattergl(
                x=cells["lon"], y=cells["lat"], mode="markers", visible=k == 0,
                name=point.label(),
                marker={"size": np.clip(4 + 3 * np.sqrt(per_run), 4, 30), "color": cells["share"],
                        "colorscale": "RdYlGn", "cmin": 0.0, "cmax": 1.0, "opacity": 0.85,
                        "colorbar": {"title": {"text": "resolved<br>in target"},
                                     "tickformat": ".0%"}},
                customdata=np.column_stack([per_run, cells["share"] * 100]),
                hovertemplate="%{customdata[0]:.1f} cases per run<br>"
                              "%{customdata[1]:.0f} % resolved within target<extra></extra>",
            )
        )  # fmt: skip
    buttons = []
    for k, (point, _, n_runs) in enumerate(per_point):
        visible = [True] * n_bg + [i == k for i in range(len(per_point))]
        buttons.append({"label": f"{point.label()} ({n_runs} runs)", "method": "update",
                        "args": [{"visible": visible}]})  # fmt: skip
    fig.update_layout(
        height=680, template="plotly_white", margin={"t": 60, "b": 60, "l": 60, "r": 20},
        xaxis={"title": "longitude [deg]", "showgrid": False},
        yaxis={"title": "latitude [deg]", "showgrid": False, "scaleanchor": "x",
               "scaleratio": 1.0 / math.cos(math.radians(lat0))},
        updatemenus=[{"buttons": buttons, "direction": "down", "x": 0.0, "y": 1.08,
                      "xanchor": "left", "yanchor": "bottom", "showactive": True}],
        legend={"itemsizing": "constant", "x": 1.0, "y": 1.08, "xanchor": "right",
                "yanchor": "bottom", "orientation": "h"},
        annotations=[{"text": ATTRIBUTION, "xref": "paper", "yref": "paper", "x": 0,
                      "y": -0.08, "showarrow": False, "font": {"size": 10, "color": "#495057"}}]
        if network is not None else [],
    )  # fmt: skip
    return fig


def _resolve_target(base: Scenario, point: GridPoint) -> float:
    """The resolve target [s] at a grid point (the grid may sweep it)."""
    return float(base.with_updates(**point.params).targets.resolve)
