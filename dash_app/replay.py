"""A run replayed on the map: crews, cases, water, closed roads, crowds and trucks at a time.

A run adds to the base map (:mod:`dash_app.basemap`), at one record time: crews by
status, cases by stage, water depth at the low points, roads closed or impeded by
water, crowd density at the plazas and muck trucks by state. :class:`RunFrames` holds
what is computed once per run; :func:`frame_traces` gives the dynamic traces at one
record time, always :data:`DYNAMIC` in that order, so that moving the time slider only
replaces them (a :class:`dash.Patch`).

Colours of values (water depth, crowd density) are explicit lists, light to dark
(:data:`WATER_SCALE`, :data:`CROWD_SCALE`), never a scale's name, and their colour bars
span the whole run (:func:`colour_bar_max`), so a full draw and a patched one agree.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from plotly.colors import make_colorscale, sequential

from dash_app.basemap import line_xy, point_names
from twin._types import FloatArray, IntArray
from twin.network.road_network import RoadNetwork
from twin.run.results import RunResult

__all__ = [
    "CASE_STAGES",
    "CREW_STATES",
    "CROWD_SCALE",
    "DYNAMIC",
    "TRUCK_STATES",
    "WATER_SCALE",
    "RunFrames",
    "colour_bar_max",
    "frame_label",
    "frame_traces",
]

logger = logging.getLogger(__name__)

#: Crew states drawn (status value, label, colour); off-duty crews are not drawn.
CREW_STATES: tuple[tuple[int, str, str], ...] = (
    (1, "idle", "#74c0fc"),
    (2, "travelling", "#f08c00"),
    (3, "working", "#2f9e44"),
    (4, "repositioning", "#9775fa"),
)
#: Case stages drawn (label, colour, size).
CASE_STAGES: tuple[tuple[str, str, int], ...] = (
    ("waiting", "#e03131", 8),
    ("dispatched", "#f59f00", 8),
    ("on site", "#37b24d", 8),
    ("resolved", "#1c7ed6", 7),
    ("closed", "#adb5bd", 5),
)
#: Muck-truck states drawn (label, colour, status names of :mod:`twin.trucks`); idle
#: trucks are not drawn.
TRUCK_STATES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("hauling", "#8b4513", ("loaded",)),
    ("at a site or dock", "#d9480f", ("waiting_to_load", "loading", "at_dock", "unloading")),
    ("returning", "#c0a080", ("returning", "waiting_for_route")),
    ("dumping illegally", "#c2255c", ("dumping",)),
)
#: The dynamic traces, in figure order, after the base traces.
DYNAMIC: tuple[str, ...] = (
    "roads closed",
    "roads impeded",
    "water depth",
    "crowd density",
    *(f"cases {s}" for s, _, _ in CASE_STAGES),
    *(f"crews {s}" for _, s, _ in CREW_STATES),
    *(f"trucks {s}" for s, _, _ in TRUCK_STATES),
)
CLOSED_COLOUR = "#e03131"
IMPEDED_COLOUR = "#f08c00"
#: Colour scales as explicit ``[position, colour]`` lists, light (low) to dark (high).
#: Never a scale's name: plotly.py and plotly.js give some names opposite directions
#: (``"Blues"`` runs dark to light in plotly.js), so a figure built here and a
#: :class:`dash.Patch` of it would disagree.
WATER_SCALE: list[list[Any]] = [list(s) for s in make_colorscale(sequential.Blues)]
CROWD_SCALE: list[list[Any]] = [list(s) for s in make_colorscale(sequential.YlOrRd)]


# ---------------------------------------------------------------------------- a run
@dataclass
class RunFrames:
    """What the map needs of a run, precomputed once: times and case stage times.

    Attributes
    ----------
    elapsed
        Record times [s since the start].
    labels
        Record times as local ``HH:MM`` (``D+1 HH:MM`` after the first day).
    stage_s
        Per case: seconds since the start at which it was reported, dispatched,
        arrived, resolved, closed (NaN: not reached).
    case_text
        Hover text per case.
    lowpoint_edges
        Edge positions affected by each low point (runs with water), else empty.
    crowd_index
        For each record time, the crowd step to show (runs with crowds), else empty.
    water_max
        The deepest water at any low point at any time of the run [m] (0: no rain).
    crowd_max
        The highest crowd density at any plaza at any time [persons/m²] (0: no crowds).
    point_names
        A unique, readable name per low point of the run (runs with water), else empty.
    """

    elapsed: FloatArray
    labels: list[str]
    stage_s: dict[str, FloatArray]
    case_text: list[str]
    lowpoint_edges: tuple[IntArray, ...]
    crowd_index: IntArray
    water_max: float = 0.0
    crowd_max: float = 0.0
    point_names: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, result: RunResult, net: RoadNetwork | None) -> RunFrames:
        """Precompute the frames of a run (``net``: the network the run used)."""
        ds = result.dataset
        elapsed = np.asarray(ds["elapsed"].to_numpy(), dtype=np.float64)
        tz = str(ds.attrs.get("local_timezone") or result.scenario.timezone)
        start = pd.Timestamp(result.scenario.start).tz_convert(tz)
        local = start + pd.to_timedelta(elapsed, unit="s")
        day0 = start.normalize()
        labels = [
            f"{t:%H:%M}"
            if (t.normalize() - day0).days == 0
            else f"D+{(t.normalize() - day0).days} {t:%H:%M}"
            for t in local
        ]
        cases = result.cases
        stage_s: dict[str, FloatArray] = {}
        for col in ("reported", "dispatched", "arrived", "resolved", "closed"):
            stamps = pd.to_datetime(cases[col])
            stage_s[col] = np.asarray((stamps - start).dt.total_seconds(), dtype=np.float64)
        case_text = [
            f"case {c} · {cat}<br>priority {p} · {src}"
            for c, cat, p, src in zip(
                cases["case"], cases["category"], cases["priority"], cases["source"], strict=True
            )
        ]
        edges: tuple[IntArray, ...] = ()
        point_labels: list[str] = []
        if "water_depth" in ds:
            unique = point_names(net)
            point_labels = [
                unique.get(str(i), str(n))
                for i, n in zip(ds["point_id"].to_numpy(), ds["point_name"].to_numpy(), strict=True)
            ]
        if "water_depth" in ds and net is not None:
            from twin.hydro.lowpoints import low_points

            pts = low_points(net, design_rain_rate=result.scenario.hydro.design_rain_rate)
            by_id = dict(zip(pts.ids.tolist(), pts.edges, strict=True))
            empty = np.empty(0, dtype=np.int64)
            edges = tuple(by_id.get(str(p), empty) for p in ds["point_id"].to_numpy())
        crowd_index = np.empty(0, dtype=np.int64)
        if "crowd_density" in ds:
            ct = pd.DatetimeIndex(ds["crowd_time"].to_numpy()).to_numpy()
            tt = pd.DatetimeIndex(ds["time"].to_numpy()).to_numpy()
            crowd_index = np.clip(np.searchsorted(ct, tt, side="right") - 1, 0, len(ct) - 1)
        return cls(
            elapsed,
            labels,
            stage_s,
            case_text,
            edges,
            crowd_index,
            water_max=_run_max(ds, "water_depth"),
            crowd_max=_run_max(ds, "crowd_density"),
            point_names=point_labels,
        )

    def case_stage(self, t: float) -> npt.NDArray[np.int64]:
        """Stage of every case at ``t`` [s]: index into :data:`CASE_STAGES`, −1 not yet."""
        s = self.stage_s

        def reached(col: str) -> npt.NDArray[np.bool_]:
            return np.asarray(np.nan_to_num(s[col], nan=np.inf) <= t)

        stage = np.full(s["reported"].shape, -1, dtype=np.int64)
        for i, col in enumerate(("reported", "dispatched", "arrived", "resolved", "closed")):
            stage[reached(col)] = i
        return stage


def _run_max(ds: Any, name: str) -> float:
    """The largest finite value of variable ``name`` over the whole run (0 without it)."""
    if name not in ds:
        return 0.0
    values = np.asarray(ds[name].to_numpy(), dtype=np.float64)
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else 0.0


def colour_bar_max(reference: float, run_max: float) -> float:
    """The top of a colour bar: ``reference`` or the run's maximum, whichever is higher.

    Rounded up to two significant figures, so that every value of the run is on the
    bar (no point is drawn at the colour of the top while it is higher still).
    """
    top = max(reference, run_max)
    if top <= 0:
        return 1.0
    digits = 1 - math.floor(math.log10(top))
    return float(round(math.ceil(top * 10.0**digits - 1e-9) / 10.0**digits, digits))


def _closures_at(result: RunResult, t: float) -> dict[str, list[int]]:
    """Low points closed and impeded at ``t`` [s] (the last state change at or before t)."""
    states = result.road_states
    out: dict[str, list[int]] = {"closed": [], "impeded": []}
    if states is None or len(states) == 0:
        return out
    upto = states[states["elapsed_s"] <= t]
    if upto.empty:
        return out
    last = upto.groupby("point", sort=True)["state"].last()
    for point, state in last.items():
        if state in out:
            out[str(state)].append(int(str(point)))
    return out


def frame_traces(
    result: RunResult | None,
    frames: RunFrames | None,
    k: int,
    *,
    layers: set[str],
    net: RoadNetwork | None,
) -> list[dict[str, Any]]:
    """The dynamic traces (:data:`DYNAMIC`, in order) at record ``k``, as trace dicts.

    Traces a run does not have, or whose layer is switched off, are empty and hidden,
    so the figure always has the same traces in the same order.
    """
    empty: dict[str, Any] = {"type": "scatter", "x": [], "y": [], "visible": False}
    out: dict[str, dict[str, Any]] = {name: dict(empty, name=name) for name in DYNAMIC}
    if result is None or frames is None:
        return [out[name] for name in DYNAMIC]
    ds = result.dataset
    k = int(min(max(k, 0), ds.sizes["time"] - 1))
    t = float(frames.elapsed[k])
    hy = result.scenario.hydro
    if "water" in layers and "water_depth" in ds:
        if net is not None and frames.lowpoint_edges:
            geoms = net.edge_geometries()
            closures = _closures_at(result, t)
            for state, colour, width in (
                ("closed", CLOSED_COLOUR, 5),
                ("impeded", IMPEDED_COLOUR, 4),
            ):
                pts = closures[state]
                sel = (
                    np.unique(np.concatenate([frames.lowpoint_edges[p] for p in pts]))
                    if pts
                    else np.empty(0, dtype=np.int64)
                )
                xs, ys = line_xy(geoms[sel]) if sel.size else ([], [])
                out[f"roads {state}"] = {
                    "type": "scatter",
                    "x": xs,
                    "y": ys,
                    "mode": "lines",
                    "hoverinfo": "skip",
                    "name": f"roads {state} ({len(pts)} points)",
                    "visible": True,
                    "line": {"color": colour, "width": width},
                }
        depth = ds["water_depth"].to_numpy()[k]
        names = frames.point_names or ds["point_name"].to_numpy().astype(str).tolist()
        out["water depth"] = _shaded_points(
            "water depth [m]",
            ds["point_lon"].to_numpy(),
            ds["point_lat"].to_numpy(),
            depth,
            size=7 + 30 * np.minimum(depth, 0.5),
            text=[f"{n}: {d:.2f} m" for n, d in zip(names, depth, strict=True)],
            layer="water",
            key="point",
            colorscale=WATER_SCALE,
            cmax=colour_bar_max(1.5 * hy.closed_depth, frames.water_max),
            bar=("water [m]", 0.25),
            opacity=0.8,
            line={"color": "#1864ab", "width": 1},
        )
    if "crowds" in layers and "crowd_density" in ds and frames.crowd_index.size:
        j = int(frames.crowd_index[k])
        density = ds["crowd_density"].to_numpy()[j]
        threshold = result.scenario.crowds.alerts.density_threshold
        names = ds["plaza_name"].to_numpy().astype(str)
        out["crowd density"] = _shaded_points(
            "crowd density [persons/m²]",
            ds["lon"].to_numpy(),
            ds["lat"].to_numpy(),
            density,
            size=14 + 12 * np.minimum(density / threshold, 2.0),
            text=[f"{n}: {d:.2f} persons/m²" for n, d in zip(names, density, strict=True)],
            layer="crowd",
            key="plaza",
            colorscale=CROWD_SCALE,
            cmax=colour_bar_max(1.5 * threshold, frames.crowd_max),
            bar=("persons/m²", 0.75),
            symbol="diamond",
            line={"color": "#862e9c", "width": 1.5},
        )
    if "cases" in layers and len(result.cases):
        stage = frames.case_stage(t)
        lon = result.cases["lon"].to_numpy(dtype=float).round(5)
        lat = result.cases["lat"].to_numpy(dtype=float).round(5)
        text = np.array(frames.case_text, dtype=object)
        for i, (label, colour, size) in enumerate(CASE_STAGES):
            sel = stage == i
            out[f"cases {label}"] = _state_points(
                "cases",
                label,
                lon,
                lat,
                sel,
                text[sel].tolist(),
                color=colour,
                size=size,
                symbol="circle-open" if label == "closed" else "circle",
                line={"width": 1.5},
            )
    if "crews" in layers:
        status = ds["crew_status"].to_numpy()[k]
        lon = ds["crew_lon"].to_numpy()[k].round(5)
        lat = ds["crew_lat"].to_numpy()[k].round(5)
        skill = ds["crew_skill"].to_numpy().astype(str)
        for value, label, colour in CREW_STATES:
            sel = status == value
            out[f"crews {label}"] = _state_points(
                "crews",
                label,
                lon,
                lat,
                sel,
                [f"crew {a} · {s}" for a, s in zip(np.flatnonzero(sel), skill[sel], strict=True)],
                color=colour,
                size=9,
                symbol="triangle-up",
                line={"color": "#212529", "width": 0.8},
            )
    if "trucks" in layers and "truck_status" in ds:
        out.update(_truck_traces(ds, k))
    return [out[name] for name in DYNAMIC]


def _shaded_points(
    name: str,
    lon: FloatArray,
    lat: FloatArray,
    value: FloatArray,
    *,
    size: FloatArray,
    text: list[str],
    layer: str,
    key: str,
    colorscale: list[list[Any]],
    cmax: float,
    bar: tuple[str, float],
    **marker: Any,
) -> dict[str, Any]:
    """Points coloured by a value from 0 to ``cmax``, with a colour bar on the right.

    ``bar`` is the colour bar's title and the height of its middle [fraction of the
    plot]; ``marker`` holds more marker styles. Each point's ``customdata`` is
    ``<key>:<index>`` (what a click on it inspects).
    """
    title, bar_y = bar
    return {
        "type": "scatter",
        "mode": "markers",
        "name": name,
        "visible": True,
        "x": lon.round(5).tolist(),
        "y": lat.round(5).tolist(),
        "marker": {
            "size": size.round(1).tolist(),
            "color": value.round(3).tolist(),
            "colorscale": colorscale,
            "cmin": 0.0,
            "cmax": cmax,
            **marker,
            "colorbar": {"title": {"text": title}, "x": 1.0, "len": 0.45, "y": bar_y},
        },
        "customdata": [f"{key}:{i}" for i in range(len(lon))],
        "text": text,
        "hovertemplate": "%{text}<extra>" + layer + "</extra>",
    }


def _truck_traces(ds: Any, k: int) -> dict[str, dict[str, Any]]:
    """Muck trucks at record ``k`` by state (runs with trucks: ``truck_*`` variables)."""
    status = np.asarray(ds["truck_status"].to_numpy()[k], dtype=float)
    lon = np.asarray(ds["truck_lon"].to_numpy()[k], dtype=float)
    lat = np.asarray(ds["truck_lat"].to_numpy()[k], dtype=float)
    meanings = str(ds["truck_status"].attrs.get("flag_meanings", "")).split()
    code = {name: i for i, name in enumerate(meanings)}
    company = (
        ds["truck_company"].to_numpy().astype(str)
        if "truck_company" in ds.coords
        else np.full(lon.size, "")
    )
    out: dict[str, dict[str, Any]] = {}
    for label, colour, names in TRUCK_STATES:
        codes = [code[n] for n in names if n in code]
        sel = np.isin(status, codes) & np.isfinite(lon) & np.isfinite(lat)
        out[f"trucks {label}"] = _state_points(
            "trucks", label, lon.round(5), lat.round(5), sel,
            [f"truck {i} · {c}" for i, c in zip(np.flatnonzero(sel), company[sel], strict=True)],
            color=colour, size=8, symbol="square", line={"color": "white", "width": 0.8},
        )  # fmt: skip
    return out


def _state_points(
    kind: str,
    label: str,
    lon: FloatArray,
    lat: FloatArray,
    sel: npt.NDArray[np.bool_],
    text: list[str],
    **marker: Any,
) -> dict[str, Any]:
    """The ``kind`` (cases, crews, trucks) in one state: the ``sel`` of the points.

    ``lon`` and ``lat`` [deg] are rounded already; the legend counts the points. Each
    point's ``customdata`` is ``case:<i>``, ``crew:<i>`` or ``truck:<i>`` (what a click
    on it inspects).
    """
    return {
        "type": "scatter",
        "mode": "markers",
        "visible": True,
        "name": f"{kind} {label} ({int(sel.sum())})",
        "x": lon[sel].tolist(),
        "y": lat[sel].tolist(),
        "text": text,
        "customdata": [f"{kind.rstrip('s')}:{i}" for i in np.flatnonzero(sel).tolist()],
        "marker": marker,
        "hovertemplate": "%{text}<extra>" + label + "</extra>",
    }


def frame_label(frames: RunFrames, k: int) -> str:
    """The label of record ``k`` under the slider: ``HH:MM (x.x h)``."""
    k = min(max(int(k), 0), len(frames.labels) - 1)
    return f"{frames.labels[k]} ({frames.elapsed[k] / 3600:.1f} h)"
