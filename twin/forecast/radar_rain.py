"""Future rain at the low points from radar nowcasts (pysteps), issue time by issue time.

A forecaster issued at time ``T`` is given, as its known-future covariate, the rain of a
radar nowcast issued at ``T``: pysteps extrapolates the radar frames seen up to ``T``
(:func:`twin.hydro.radar.nowcast.nowcast`; the frame labelled ``T − Δt`` is the last
one known) over the next two hours, and each low point takes the rain of its cell. The
radar steps (5 min, or 2 min for MRMS) are averaged to the forecasters' 5-minute steps,
conserving depth. A STEPS nowcast keeps its members (the physics ensemble runs one per
member); point forecasters take their mean.

Before the radar has the frames a method needs, and after its last frame, the future
rain is zero: the twin only knows what the radar has seen.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from twin._types import FloatArray
from twin.forecast.errors import ForecastError

__all__ = [
    "RADAR_METHODS",
    "displaced_at_points",
    "external_nowcaster",
    "nowcast_rain_at_points",
    "radar_nowcaster",
    "to_step",
]

logger = logging.getLogger(__name__)

#: Nowcasts already made in this process, by their inputs (runs that differ only in what
#: the crews do, as in a comparison, make the same nowcasts).
_CACHE: dict[tuple[object, ...], FloatArray] = {}
_CACHE_SIZE = 8

#: The forecasts' step [s].
STEP = 300.0

#: Radar nowcast methods usable as a forecast's future-rain source.
RADAR_METHODS: tuple[str, ...] = ("eulerian", "extrapolation", "sprog", "linda", "steps")


def to_step(
    values: FloatArray, interval_s: float, step_s: float, n_steps: int, *, offset_s: float = 0.0
) -> FloatArray:
    """Rates on leads of ``interval_s`` averaged to ``n_steps`` leads of ``step_s`` [mm/h].

    ``values`` has the lead axis second to last; depth is conserved (piecewise-constant
    rates). The new leads start ``offset_s`` after the old ones (a nowcast issued on the
    radar's grid before the forecast's issue time); leads beyond the nowcast are zero.
    """
    v = np.nan_to_num(np.asarray(values, dtype=np.float64))
    n_old = v.shape[-2]
    zero = np.zeros((*v.shape[:-2], 1, v.shape[-1]))
    cum = np.concatenate([zero, np.cumsum(v * interval_s, axis=-2)], axis=-2)
    # Cumulative depth at the new edges: linear between the old edges (one index and
    # weight for every series, as all share the edges).
    pos = np.minimum(offset_s + np.arange(n_steps + 1) * step_s, n_old * interval_s)
    pos = pos / interval_s
    i = np.minimum(np.floor(pos).astype(np.int64), n_old - 1)
    w = (pos - i)[:, None]
    at = cum[..., i, :] * (1.0 - w) + cum[..., i + 1, :] * w
    rate = np.diff(at, axis=-2) / step_s
    return np.asarray(rate, dtype=np.float64)


def displaced_at_points(
    nowcast: xr.DataArray,
    lon: FloatArray,
    lat: FloatArray,
    *,
    members: int,
    speed_sd_m_s: float,
    rng: np.random.Generator,
) -> FloatArray:
    r"""A deterministic nowcast sampled at displaced points: a motion-error ensemble.

    Extrapolation misplaces rain more the further ahead it looks, because the motion
    field is wrong by some velocity error and cells grow and decay off their track.
    Member :math:`k` reads the nowcast, at lead time :math:`t`, in the cell that holds
    the point moved by :math:`\delta_k t`, with one velocity error per member
    :math:`\delta_k \sim N(0, \sigma_v^2 I_2)` (member 0 keeps :math:`\delta = 0`, the
    nowcast itself). The displacement grows linearly with lead, as the location error
    of Lagrangian persistence does (Germann and Zawadzki 2002, their Fig. 9; the
    "displacement" perturbations of Pierce et al. 2012's nowcast ensembles). A cell
    moved off the grid reads no rain.

    Simplification, stated: the error is a pure translation, the same for all points
    and constant over the horizon for a member; growth, decay and shape errors are not
    modelled.

    Parameters
    ----------
    nowcast
        A one-member nowcast ``(member, lead_time, y, x)``
        (:func:`~twin.hydro.radar.nowcast.nowcast`).
    lon, lat
        The points [deg].
    members
        Members to draw [-].
    speed_sd_m_s
        :math:`\sigma_v`, standard deviation of each velocity component [m/s].
    rng
        Random numbers for :math:`\delta_k`.

    Returns
    -------
    numpy.ndarray
        Rain rate [mm/h], shape ``(members, lead_time, n_points)``.
    """
    from pyproj import Transformer

    from twin.hydro.radar.array import radar_crs
    from twin.hydro.radar.grid import nearest_cells

    if members < 1 or speed_sd_m_s < 0.0:
        raise ForecastError(f"displacement members {members} ≥ 1 and speed sd {speed_sd_m_s} ≥ 0")
    field = np.nan_to_num(np.asarray(nowcast.isel(member=0).values, dtype=np.float64))
    n_lead, ny, nx = field.shape
    x = np.asarray(nowcast["x"].values, dtype=np.float64)
    y = np.asarray(nowcast["y"].values, dtype=np.float64)
    crs = radar_crs(nowcast)
    px, py = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    lead_s = np.asarray(nowcast["lead_time"].values, dtype="timedelta64[ns]").astype(np.float64)
    lead_s = lead_s / 1e9
    delta = rng.normal(0.0, speed_sd_m_s, (members, 2))
    delta[0] = 0.0
    # (members, leads, points) positions in the grid's CRS, then their cells.
    qx = np.asarray(px)[None, None, :] + delta[:, 0, None, None] * lead_s[None, :, None]
    qy = np.asarray(py)[None, None, :] + delta[:, 1, None, None] * lead_s[None, :, None]
    cell = nearest_cells(qx, qy, x, y)  # flat iy * nx + ix, -1 off the grid
    flat = field.reshape(n_lead, ny * nx)
    lead_idx = np.broadcast_to(np.arange(n_lead)[None, :, None], cell.shape)
    out = flat[lead_idx, np.maximum(cell, 0)]
    return np.asarray(np.where(cell >= 0, out, 0.0), dtype=np.float64)


def nowcast_rain_at_points(
    radar: xr.DataArray,
    issue_times: pd.DatetimeIndex,
    lon: FloatArray,
    lat: FloatArray,
    *,
    method: str,
    horizon_steps: int,
    step_s: float = 300.0,
    members: int = 20,
    seed: int,
    displacement_m_s: float = 0.0,
) -> FloatArray:
    """Radar nowcast rain at points for each issue time [mm/h].

    Parameters
    ----------
    radar
        Radar rain ``(time, y, x)`` on the scenario's UTC clock (a transposed storm).
    issue_times
        When each forecast is issued (naive UTC).
    lon, lat
        The points [deg].
    method
        One of :data:`RADAR_METHODS`.
    horizon_steps
        Lead steps of the forecasts (24 for 2 h at 5 min).
    step_s
        The forecasts' step [s].
    members
        STEPS members (other methods give one).
    seed
        Seed of the STEPS noise and of the displacements (issue ``k`` uses ``seed + k``).
    displacement_m_s
        For the deterministic methods: when above 0, ``members`` members read the
        nowcast at displaced points (:func:`displaced_at_points`, this velocity error
        [m/s]); 0 gives the nowcast itself, one member.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_issue, n_members, horizon_steps, n_points)``; ``n_members`` is
        ``members`` for STEPS or a displaced nowcast, else 1.
    """
    from twin.hydro.radar.nowcast import THREE_FRAMES, nowcast, nowcast_at_points

    if method not in RADAR_METHODS:
        raise ForecastError(f"radar nowcast method {method!r}: use {', '.join(RADAR_METHODS)}")
    interval = float(radar.attrs["interval_s"])
    displaced = method != "steps" and displacement_m_s > 0.0
    n_members = members if method == "steps" or displaced else 1
    need = 3 if method in THREE_FRAMES else 2
    times = pd.DatetimeIndex(radar["time"].values)
    first_known = times[0] + pd.Timedelta(seconds=need * interval)
    last_known = times[-1] + pd.Timedelta(seconds=interval)
    out = np.zeros((len(issue_times), n_members, horizon_steps, len(lon)))
    made = 0
    for k, issue in enumerate(issue_times):
        if issue < first_known or issue > last_known:
            continue
        # Issue on the radar's grid: the last frame boundary at or before the issue time.
        behind = (issue - times[0]).total_seconds() % interval
        on_grid = issue - pd.Timedelta(seconds=behind)
        lead_max = (horizon_steps * step_s + behind) / 60.0
        nc = nowcast(
            radar, on_grid.to_datetime64(), method=method,  # type: ignore[arg-type]
            lead_max_min=lead_max + interval / 60.0, n_past=need, n_members=members,
            seed=seed + k, outside=0.0,
        )  # fmt: skip
        if displaced:
            values = displaced_at_points(
                nc, lon, lat, members=members, speed_sd_m_s=displacement_m_s,
                rng=np.random.default_rng(seed + k),
            )  # fmt: skip
        else:
            at = nowcast_at_points(nc, lon, lat).transpose("member", "lead_time", "point")
            values = np.asarray(at.values)
        out[k] = to_step(values, interval, step_s, horizon_steps, offset_s=behind)
        made += 1
    logger.info("radar nowcasts (%s): %d of %d issue times had frames", method, made, out.shape[0])
    return out


def radar_nowcaster(
    radar: xr.DataArray,
    start_utc: pd.Timestamp,
    lon: FloatArray,
    lat: FloatArray,
    *,
    method: str,
    horizon_steps: int,
    members: int = 20,
    seed: int,
    displacement_m_s: float = 0.0,
) -> Callable[[FloatArray], FloatArray]:
    """A function from issue times [s since ``start_utc``] to nowcast rain at the points.

    The result has shape ``(n_issue, n_members, horizon_steps, n_points)`` [mm/h] (see
    :func:`nowcast_rain_at_points`, also for ``displacement_m_s``).
    """

    def at(issue_s: FloatArray) -> FloatArray:
        issue = pd.DatetimeIndex(
            start_utc + pd.to_timedelta(np.asarray(issue_s, dtype=float), unit="s")
        )
        digest = hashlib.sha1(np.ascontiguousarray(radar.values).tobytes())
        for part in (radar["time"].values, issue.asi8, np.asarray(lon), np.asarray(lat)):
            digest.update(np.ascontiguousarray(part).tobytes())
        key = (digest.hexdigest(), method, horizon_steps, members, seed, displacement_m_s)
        if key not in _CACHE:
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = nowcast_rain_at_points(
                radar, issue, lon, lat, method=method, horizon_steps=horizon_steps,
                members=members, seed=seed, displacement_m_s=displacement_m_s,
            )  # fmt: skip
        return _CACHE[key].copy()

    return at


def external_nowcaster(
    radar: xr.DataArray,
    start_utc: pd.Timestamp,
    lon: FloatArray,
    lat: FloatArray,
    products: str | Path,
    *,
    horizon_steps: int,
    max_age_s: float = 1800.0,
) -> Callable[[FloatArray], FloatArray]:
    """Future rain at the points from external nowcast products (a met bureau's).

    Parameters
    ----------
    radar
        The radar grid of the run (in place over the area, on the scenario's clock; its
        ``radar_begin`` attribute maps scenario time back to real time).
    start_utc
        The scenario's start (naive UTC).
    lon, lat
        The points [deg].
    products
        A CF NetCDF product, or a folder of them, one issue time per file
        (:func:`twin.hydro.radar.external.read_external_nowcast` checks each).
    horizon_steps
        Lead steps (5 min).
    max_age_s
        A forecast uses the latest product issued at most this long before it; with
        none, the future rain is zero [s].

    Returns
    -------
    callable
        Issue times [s since ``start_utc``] → rain ``(n_issue, members, horizon, n)``.
    """
    from twin.hydro.radar.external import read_external_nowcast
    from twin.hydro.radar.nowcast import nowcast, nowcast_at_points

    path = Path(products)
    files = sorted(path.glob("*.nc")) if path.is_dir() else [path]
    if not files:
        raise ForecastError(f"{path}: no CF NetCDF nowcast products (*.nc) there.")
    loaded = [read_external_nowcast(f) for f in files]
    issued = pd.DatetimeIndex([p["issue_time"].values for p in loaded])
    order = np.argsort(issued.asi8)
    loaded = [loaded[i] for i in order]
    issued = issued[order]
    # Scenario time → real time: the first radar frame stands at rain.start.
    first = pd.DatetimeIndex(radar["time"].values)[0]
    begin = pd.Timestamp(str(radar.attrs.get("radar_begin", first)))
    shift = first - begin

    def at(issue_s: FloatArray) -> FloatArray:
        issue = pd.DatetimeIndex(
            start_utc + pd.to_timedelta(np.asarray(issue_s, dtype=float), unit="s")
        )
        out = np.zeros((len(issue), 1, horizon_steps, len(lon)))
        for k, t in enumerate(issue - shift):
            j = int(np.searchsorted(issued.asi8, t.value, side="right")) - 1
            if j < 0 or (t - issued[j]).total_seconds() > max_age_s:
                continue
            product = loaded[j]
            age = (t - issued[j]).total_seconds()
            interval = float(product.attrs["interval_s"])
            n_leads = product.sizes["lead_time"]
            nc = nowcast(
                radar, issued[j].to_datetime64(), method="external", external=product,
                lead_max_min=n_leads * interval / 60.0,
            )  # fmt: skip
            pts = nowcast_at_points(nc, lon, lat).transpose("member", "lead_time", "point")
            out[k] = to_step(
                np.asarray(pts.values).mean(axis=0, keepdims=True), interval, STEP,
                horizon_steps, offset_s=age,
            )  # fmt: skip
        return out

    return at
