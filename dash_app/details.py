"""What a click on the map shows: a crew's job, a case's stages, a low point's water.

The map's dynamic traces (:func:`dash_app.replay.frame_traces`) give every point a key,
``case:<i>``, ``crew:<i>``, ``point:<i>``, ``plaza:<i>`` or ``truck:<i>``;
:func:`details` turns a key and the record time shown into a panel.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html

from dash_app.components import GRAPH_CONFIG
from dash_app.replay import CASE_STAGES, CREW_STATES, RunFrames
from twin.run.results import RunResult

__all__ = ["STAGE_COLUMNS", "details", "parse_key"]

#: The stage times of a case, in order, with their names on the panel.
STAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("occurred", "occurred"),
    ("reported", "reported"),
    ("dispatched", "crew dispatched"),
    ("arrived", "crew arrived"),
    ("resolved", "resolved"),
    ("closed", "closed"),
)


def parse_key(key: Any) -> tuple[str, str] | None:
    """``("case", "12")`` of ``"case:12"``; ``None`` of anything else.

    The part after the colon is an index (``case``, ``crew``, ``point``, ``plaza``,
    ``truck``) or, for ``lowpoint`` (a low point of the base map), the point's id.
    """
    kind, sep, rest = str(key).partition(":")
    if not sep or not rest or not (rest.isdigit() or kind == "lowpoint"):
        return None
    return kind, rest


def _clock(stamp: Any, tz: str) -> str:
    if stamp is None or pd.isna(stamp):
        return "–"
    return f"{pd.Timestamp(stamp).tz_convert(tz):%H:%M:%S}"


def _table(rows: list[tuple[str, str]]) -> html.Table:
    return html.Table(
        html.Tbody([html.Tr([html.Th(k), html.Td(v)]) for k, v in rows]), className="table"
    )


def details(result: RunResult, frames: RunFrames, key: Any, k: int) -> html.Div:
    """The panel of the item ``key`` at record ``k`` (``map-details``).

    A ``lowpoint:<id>`` of a run without water says so.
    """
    parsed = parse_key(key)
    k = int(min(max(k, 0), len(frames.elapsed) - 1))
    body: list[Any]
    if parsed is None:
        body = [html.Div("Click a crew, a case, a low point or a truck.", className="muted")]
    else:
        kind, rest = parsed
        if kind == "lowpoint":  # a low point of the base map: by its id
            ids = [str(p) for p in result.dataset["point_id"].to_numpy()] if (
                "point_id" in result.dataset) else []  # fmt: skip
            kind, rest = "point", str(ids.index(rest)) if rest in ids else "-1"
        show = {"case": _case, "crew": _crew, "point": _point, "plaza": _plaza, "truck": _truck}
        body = show.get(kind, _unknown)(result, frames, int(rest), k)
    return html.Div(body, className="panel", id="map-details")


def _unknown(result: RunResult, frames: RunFrames, i: int, k: int) -> list[Any]:
    return [html.Div("Nothing to show for that point.", className="muted")]


def _case(result: RunResult, frames: RunFrames, i: int, k: int) -> list[Any]:
    cases = result.cases
    if not 0 <= i < len(cases):
        return _unknown(result, frames, i, k)
    row = cases.iloc[i]
    tz = result.scenario.timezone
    stage = int(frames.case_stage(float(frames.elapsed[k]))[i])
    now = CASE_STAGES[stage][0] if stage >= 0 else "not reported yet"
    crew = row.get("crew")
    rows = [
        ("category", str(row["category"])),
        ("priority", str(row["priority"])),
        ("source", str(row["source"])),
        (f"at {frames.labels[k]}", now),
        ("crew", "–" if crew is None or pd.isna(crew) or crew < 0 else f"crew {int(crew)}"),
        *[(label, _clock(row.get(col), tz)) for col, label in STAGE_COLUMNS],
        ("escalation level", str(row.get("escalation_level", 0))),
    ]
    return [html.H3(f"Case {row['case']}"), _table(rows)]


def _crew(result: RunResult, frames: RunFrames, i: int, k: int) -> list[Any]:
    ds = result.dataset
    if not 0 <= i < ds.sizes.get("agent", 0):
        return _unknown(result, frames, i, k)
    status = int(ds["crew_status"].to_numpy()[k, i])
    states = {value: label for value, label, _ in CREW_STATES}
    t = float(frames.elapsed[k])
    cases = result.cases
    s = frames.stage_s
    mine = np.asarray(cases["crew"].to_numpy(dtype=float) == i) if "crew" in cases else None
    rows = [
        ("skill", str(ds["crew_skill"].to_numpy()[i])),
        (f"at {frames.labels[k]}", states.get(status, "off duty")),
    ]
    if mine is not None:
        dispatched = np.nan_to_num(s["dispatched"], nan=np.inf) <= t
        done = np.nan_to_num(s["resolved"], nan=np.inf) <= t
        current = np.flatnonzero(mine & dispatched & ~done)
        tz = result.scenario.timezone
        if current.size:
            c = cases.iloc[int(current[-1])]
            rows += [
                ("job", f"case {c['case']} · {c['category']} · priority {c['priority']}"),
                ("dispatched", _clock(c["dispatched"], tz)),
                ("arrives", _clock(c["arrived"], tz)),
                ("resolves", _clock(c["resolved"], tz)),
            ]
        else:
            rows.append(("job", "none"))
        rows.append(("cases resolved so far", f"{int(np.sum(mine & done)):,}"))
    return [html.H3(f"Crew {i}"), _table(rows)]


def _point(result: RunResult, frames: RunFrames, i: int, k: int) -> list[Any]:
    ds = result.dataset
    if "water_depth" not in ds or not 0 <= i < ds.sizes.get("point", 0):
        return _unknown(result, frames, i, k)
    depth = np.asarray(ds["water_depth"].to_numpy()[:, i], dtype=float)
    name = frames.point_names[i] if frames.point_names else str(ds["point_name"].to_numpy()[i])
    hy = result.scenario.hydro
    peak = int(np.nanargmax(depth)) if np.isfinite(depth).any() else 0
    rows = [
        (f"depth at {frames.labels[k]}", f"{depth[k]:.2f} m"),
        ("deepest", f"{depth[peak]:.2f} m at {frames.labels[peak]}"),
        ("impeded from", f"{hy.impeded_depth:g} m"),
        ("closed from", f"{hy.closed_depth:g} m"),
    ]
    hours = frames.elapsed / 3600.0
    fig = go.Figure(
        go.Scatter(x=hours, y=depth, mode="lines", name="water depth", line={"color": "#1864ab"})
    )
    for level, colour in ((hy.impeded_depth, "#f08c00"), (hy.closed_depth, "#e03131")):
        fig.add_hline(y=level, line={"color": colour, "dash": "dash", "width": 1})
    fig.add_vline(x=float(hours[k]), line={"color": "#495057", "dash": "dot", "width": 1})
    top = max(float(np.nanmax(depth)) if np.isfinite(depth).any() else 0.0, hy.closed_depth)
    fig.update_layout(
        height=220,
        template="plotly_white",
        margin={"t": 10, "b": 40, "l": 50, "r": 10},
        showlegend=False,
        xaxis={"title": "hours since start [h]"},
        yaxis={"title": "water depth [m]", "range": [0.0, 1.1 * math.ceil(top * 10) / 10]},
    )
    graph = dcc.Graph(figure=fig, config=GRAPH_CONFIG, id="map-details-graph")
    return [html.H3(name), _table(rows), graph]


def _plaza(result: RunResult, frames: RunFrames, i: int, k: int) -> list[Any]:
    ds = result.dataset
    if "crowd_density" not in ds or not frames.crowd_index.size:
        return _unknown(result, frames, i, k)
    j = int(frames.crowd_index[k])
    density = np.asarray(ds["crowd_density"].to_numpy(), dtype=float)
    name = str(ds["plaza_name"].to_numpy()[i])
    rows = [
        (f"density at {frames.labels[k]}", f"{density[j, i]:.2f} persons/m²"),
        ("densest", f"{np.nanmax(density[:, i]):.2f} persons/m²"),
        ("alert from", f"{result.scenario.crowds.alerts.density_threshold:g} persons/m²"),
    ]
    return [html.H3(name), _table(rows)]


def _truck(result: RunResult, frames: RunFrames, i: int, k: int) -> list[Any]:
    ds = result.dataset
    if "truck_status" not in ds:
        return _unknown(result, frames, i, k)
    meanings = str(ds["truck_status"].attrs.get("flag_meanings", "")).split()
    code = float(ds["truck_status"].to_numpy()[k, i])
    state = meanings[int(code)] if math.isfinite(code) and 0 <= code < len(meanings) else "–"
    company = str(ds["truck_company"].to_numpy()[i]) if "truck_company" in ds.coords else "–"
    rows = [("company", company), (f"at {frames.labels[k]}", state.replace("_", " "))]
    return [html.H3(f"Truck {i}"), _table(rows)]
