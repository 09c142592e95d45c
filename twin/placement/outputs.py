"""Outputs of a placement run: GeoJSON of the sensors, CSV tables, an HTML report.

The GeoJSON (RFC 7946, WGS84 lon/lat) holds one feature per chosen sensor: a gauge is
a Point at its low point, a camera the LineString of its edge, a probe vehicle the
MultiLineString of the edges it drove in the training run (a vehicle has no fixed
place). The report is one self-contained page: plotly.js embedded once, the map drawn
from the twin's own network edges on plain lon/lat axes, so nothing is fetched from the
internet (no tile server).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin._types import IntArray
from twin.network.road_network import RoadNetwork
from twin.placement.pipeline import PlacementRun
from twin.placement.solvers import Placement
from twin.report.output_folder import staged_outputs

__all__ = [
    "OUTPUT_NAMES",
    "curve_figure",
    "map_figure",
    "placement_geojson",
    "write_outputs",
    "write_report",
]

logger = logging.getLogger(__name__)

_TECH_COLOUR = {"gauge": "#1971c2", "camera": "#e8590c", "probe": "#2f9e44"}
_ROADS = {"arterial": ("#adb5bd", 1.6), "collector": ("#ced4da", 1.0), "local": ("#e9ecef", 0.6)}
_UNITS = {
    "coverage": "share of events detected [-]",
    "time": "mean time to detection [s]",
    "impact": "expected undetected impact",
    "skill": "mean explained variance of peak depth [-]",
}


_INTEGER_COLUMNS = ("point", "node", "edge", "vehicle")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _property(key: str, value: Any) -> Any:
    value = _plain(value)
    if key in _INTEGER_COLUMNS and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _edge_lines(net: RoadNetwork, edges: np.ndarray) -> list[list[list[float]]]:
    geoms = net.edge_geometries()
    return [[[round(x, 6), round(y, 6)] for x, y in geoms[e].coords] for e in edges]


def placement_geojson(
    run: PlacementRun, net: RoadNetwork, placement: Placement | None = None
) -> dict[str, Any]:
    """The chosen sensors as a GeoJSON FeatureCollection (a dict).

    Each feature's properties: ``candidate_id``, ``technology``, ``cost``, ``rank``
    (order chosen), ``events_detected`` (training events it can detect) and the
    candidate's own columns (low point name and kind, edge, vehicle traits...).
    The collection carries a ``placement`` member with the solver, objective, value,
    budget and seed.
    """
    p = placement or run.best
    cands = run.train.candidates
    counts = np.bincount(run.train.candidate, minlength=run.train.n_candidates)
    log = run.extras.get("trip_log")
    features = []
    skip = {"lon", "lat", "candidate_id", "technology", "cost"}
    for rank, c in enumerate(p.selected.tolist(), start=1):
        row = cands.iloc[c]
        tech = str(row["technology"])
        props = {
            "candidate_id": str(row["candidate_id"]),
            "technology": tech,
            "cost": float(row["cost"]),
            "rank": rank,
            "events_detected": int(counts[c]),
        }
        props.update({k: _property(k, v) for k, v in row.items() if k not in skip and pd.notna(v)})
        if tech == "camera":
            geometry: dict[str, Any] = {
                "type": "LineString",
                "coordinates": _edge_lines(net, np.array([row["edge"]]))[0],
            }
        elif tech == "probe" and log is not None:
            edges = np.unique(log.edge[log.vehicle == int(row["vehicle"])])
            geometry = {"type": "MultiLineString", "coordinates": _edge_lines(net, edges)}
        else:
            geometry = {
                "type": "Point",
                "coordinates": [round(float(row["lon"]), 7), round(float(row["lat"]), 7)],
            }
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return {
        "type": "FeatureCollection",
        "placement": {
            "scenario": run.scenario.name,
            "solver": p.solver,
            "status": p.status,
            "objective": p.objective,
            "value": p.value,
            "budget": p.budget,
            "cost": p.cost,
            "seed": run.seed,
            "technologies": list(run.config.technologies),
        },
        "features": features,
    }


def curve_figure(run: PlacementRun) -> Any:
    """Budget against objective: MILP and greedy, and the greedy's guaranteed floor."""
    import plotly.graph_objects as go

    fig = go.Figure()
    curve = run.curve
    objective = run.config.objective
    for solver, dash in (("milp", "solid"), ("greedy", "dot"), ("brute_force", "dash")):
        part = curve[curve["solver"] == solver]
        if part.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=part["budget"],
                y=part["value"],
                mode="lines+markers",
                name=solver,
                line={"dash": dash},
                text=part["selected"].str.replace(";", "<br>"),
                hovertemplate="budget %{x}<br>value %{y:.4g}<br>%{text}<extra>"
                + solver
                + "</extra>",
            )
        )
    milp = curve[curve["solver"] == "milp"]
    greedy = curve[curve["solver"] == "greedy"]
    if not milp.empty and not greedy.empty:
        factor = greedy["factor"].fillna(0.0).to_numpy()
        floor_loss = milp["empty_loss"].to_numpy() - factor * milp["reduction"].to_numpy()
        total = float(run.train.weight.sum())
        from twin.placement.objectives import reported

        floor = [reported(objective, float(v), total) for v in floor_loss]
        fig.add_trace(
            go.Scatter(
                x=milp["budget"],
                y=floor,
                mode="lines",
                name="greedy guarantee (a priori)",
                line={"color": "#adb5bd", "dash": "dash"},
            )
        )
    fig.update_layout(
        template="plotly_white",
        height=420,
        xaxis_title="budget [cost units]",
        yaxis_title=_UNITS[objective],
        margin={"t": 30},
    )
    return fig


def _polylines(geoms: Any, edges: IntArray) -> tuple[list[float | None], list[float | None]]:
    """Lon and lat of the edges' geometries, one plotly line each (``None`` between)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for e in edges:
        c = np.asarray(geoms[e].coords)
        xs += [*c[:, 0].tolist(), None]
        ys += [*c[:, 1].tolist(), None]
    return xs, ys


def map_figure(run: PlacementRun, net: RoadNetwork) -> Any:
    """The network's edges, every candidate, and the chosen sensors (offline, lon/lat)."""
    import plotly.graph_objects as go

    geoms = net.edge_geometries()
    fig = go.Figure()
    for cls, (colour, width) in _ROADS.items():
        xs, ys = _polylines(geoms, np.flatnonzero(net.road_class == cls))
        fig.add_trace(
            go.Scattergl(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": colour, "width": width},
                name=f"{cls} roads",
                hoverinfo="skip",
            )
        )
    cands = run.train.candidates
    sel = set(run.best.selected.tolist())
    log = run.extras.get("trip_log")
    for tech, colour in _TECH_COLOUR.items():
        mask = (cands["technology"] == tech).to_numpy()
        if not mask.any():
            continue
        idx = np.flatnonzero(mask)
        chosen = np.array([i for i in idx if i in sel], dtype=np.int64)
        fig.add_trace(
            go.Scattergl(
                x=cands["lon"].to_numpy()[idx],
                y=cands["lat"].to_numpy()[idx],
                mode="markers",
                marker={"color": colour, "size": 5, "opacity": 0.35},
                name=f"{tech} candidates",
                text=cands["candidate_id"].to_numpy()[idx],
                hoverinfo="text",
            )
        )
        if tech == "probe" and log is not None and chosen.size:
            veh = cands["vehicle"].to_numpy()[chosen].astype(np.int64)
            edges = np.unique(log.edge[np.isin(log.vehicle, veh)])
            xs, ys = _polylines(geoms, edges)
            fig.add_trace(
                go.Scattergl(
                    x=xs,
                    y=ys,
                    mode="lines",
                    line={"color": colour, "width": 2},
                    name="roads driven by the equipped vehicles",
                    hoverinfo="skip",
                )
            )
        if chosen.size:
            fig.add_trace(
                go.Scatter(
                    x=cands["lon"].to_numpy()[chosen],
                    y=cands["lat"].to_numpy()[chosen],
                    mode="markers",
                    name=f"chosen {tech} ({chosen.size})",
                    marker={
                        "color": colour,
                        "size": 13,
                        "symbol": "star",
                        "line": {"color": "black", "width": 1},
                    },
                    text=cands["candidate_id"].to_numpy()[chosen],
                    hoverinfo="text",
                )
            )
    lat0 = float(np.mean(net.node_lat))
    fig.update_layout(
        template="plotly_white",
        height=750,
        margin={"t": 30},
        xaxis={"title": "longitude [deg]", "showgrid": False},
        yaxis={
            "title": "latitude [deg]",
            "showgrid": False,
            "scaleanchor": "x",
            "scaleratio": 1.0 / math.cos(math.radians(lat0)),
        },
        legend={"itemsizing": "constant"},
    )
    return fig


def _table(df: pd.DataFrame) -> str:
    return str(
        df.to_html(
            index=False, float_format=lambda v: f"{v:.4g}", border=0, classes="kpis", escape=True
        )
    )


def write_report(run: PlacementRun, net: RoadNetwork, path: str | Path) -> Path:
    """Write the self-contained HTML report (curve, map, scores); return its path."""
    from twin.report.page import card, esc, figure_html, html_page, write_page

    path = Path(path)
    p = run.best
    cfg = run.config
    ev = run.evaluation
    out_row = ev[(ev["placement"] == p.solver) & (ev["sample"] == "out")].iloc[0]
    cards = [
        card(f"{p.value:.4g}", f"{cfg.objective}, in sample", _UNITS[cfg.objective]),
        card(f"{out_row['objective']:.4g}", f"{cfg.objective}, out of sample", "fresh runs"),
        card(f"{len(p.selected)}", "sensors chosen", f"cost {p.cost:g} of {p.budget:g}"),
        card(f"{p.seconds:.2f} s", f"{p.solver} solve", p.status),
    ]
    greedy = run.placements.get("greedy")
    if greedy is not None:
        ratio = greedy.reduction / p.reduction if p.reduction > 0 and p is not greedy else 1.0
        bound = "none a priori" if greedy.factor is None else f"≥ {greedy.factor:.3f} a priori"
        cards.append(
            card(
                f"{ratio:.4f}",
                "greedy / optimum (reduction)",
                f"{bound}; certified {greedy.certified_ratio:.3f}",
            )
        )
    techs = ", ".join(cfg.technologies)
    parts = [
        f"<h1>Sensor placement · {esc(run.scenario.name)}</h1>",
        f'<p class="description">{esc(techs)} · objective {esc(cfg.objective)} · budget '
        f"{cfg.budget:g} · seed {run.seed} · {run.train.n_events} training events, "
        f"{run.test.n_events} fresh events, {run.train.n_candidates} candidates.</p>",
        f'<div class="cards">{"".join(cards)}</div>',
        "<h2>Budget against objective (Pareto curve)</h2>",
        figure_html(curve_figure(run), "curve"),
        "<h2>Where the sensors go</h2>",
        figure_html(map_figure(run, net), "map"),
        "<h2>In sample and out of sample</h2>",
        '<p class="note">The placement is optimised on the training runs and scored '
        "unchanged on fresh runs (held-out storms, new seeds).</p>",
        _table(ev),
        "<h2>Chosen sensors</h2>",
        _table(
            pd.DataFrame([pl.as_dict() for pl in run.placements.values()])
            .drop(columns=["selected"])
            .assign(selected=[", ".join(pl.candidate_ids) for pl in run.placements.values()])
        ),
    ]
    skill = run.extras.get("gauge_skill")
    if skill:
        parts += [
            "<h2>Forecast skill at ungauged points (held-out storms)</h2>",
            _table(pd.DataFrame([{"placement": k, **v} for k, v in skill.items()])),
        ]
    page = html_page(
        f"{run.scenario.name} · sensor placement",
        [*parts, "<footer><p>city-twin · twin place</p></footer>"],
    )
    return write_page(path, page)


def write_outputs(run: PlacementRun, net: RoadNetwork, folder: str | Path) -> dict[str, Path]:
    """Write the outputs of a run into ``folder``; return their paths by name.

    The files: ``placement.geojson``, ``curve.csv``, ``evaluation.csv``,
    ``placement.json`` and ``report.html``, each written whole or not at all (through a
    staging folder, :func:`twin.report.output_folder.staged_outputs`).

    Raises
    ------
    OutputError
        A file could not be written (disk full, read-only); nothing was replaced.
    """
    folder = Path(folder)
    with staged_outputs(folder, owned=OUTPUT_NAMES) as stage:
        staged = _write(run, net, stage)
    return {key: folder / path.name for key, path in staged.items()}


#: The files :func:`write_outputs` writes.
OUTPUT_NAMES = (
    "placement.geojson",
    "curve.csv",
    "evaluation.csv",
    "placement.json",
    "report.html",
)


def _write(run: PlacementRun, net: RoadNetwork, folder: Path) -> dict[str, Path]:
    paths = {
        "geojson": folder / "placement.geojson",
        "curve": folder / "curve.csv",
        "evaluation": folder / "evaluation.csv",
        "summary": folder / "placement.json",
    }
    gj = placement_geojson(run, net)
    paths["geojson"].write_text(
        json.dumps(gj, ensure_ascii=False, default=_plain), encoding="utf-8"
    )
    run.curve.to_csv(paths["curve"], index=False)
    run.evaluation.to_csv(paths["evaluation"], index=False)
    summary = {
        "scenario": run.scenario.name,
        "seed": run.seed,
        "config": run.config.model_dump(mode="json"),
        "placements": {k: v.as_dict() for k, v in run.placements.items()},
        "train": {
            "events": run.train.n_events,
            "candidates": run.train.n_candidates,
            "records": run.train.n_records,
        },
        "test": {"events": run.test.n_events, "records": run.test.n_records},
        "gauge_skill": run.extras.get("gauge_skill"),
    }
    paths["summary"].write_text(json.dumps(summary, indent=2, default=_plain), encoding="utf-8")
    paths["report"] = write_report(run, net, folder / "report.html")
    return paths
