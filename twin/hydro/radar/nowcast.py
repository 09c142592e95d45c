"""Radar rain nowcasts, 5 to 120 minutes ahead, with pysteps.

A nowcast is issued at ``issue_time`` from the radar frames seen by then and forecasts
the following intervals on the same grid (usually the transposed grid over the
district, :mod:`.transpose`). Methods (:data:`NOWCAST_METHODS`):

``eulerian``
    Eulerian persistence: the last frame, unchanged.
``extrapolation``
    Lagrangian persistence: the last frame advected along the motion field by
    semi-Lagrangian extrapolation (Germann and Zawadzki 2002).
``sprog``
    S-PROG (Seed 2003): the field, in dBR, split into a cascade of spatial scales, each
    extrapolated and smoothed by its own AR(2) process, so small features fade as their
    predictability is lost.
``linda``
    LINDA (Pulkkinen et al. 2021): the field, in rain rate, advected like extrapolation
    and evolved by an integro-difference equation with an ARI(1, 1) process, so rain
    cells grow and decay along their track as they did over the last frames (the
    convolution kernel and the AR coefficients are fitted to the last three frames).
    Deterministic, over the whole grid (``feature_method="domain"``: no localisation,
    about 2 s for two hours here; pysteps' default localises around up to 25 rain
    cells at 3 to 8 times the cost, with about the same skill on the radar
    benchmark's validation storm).
``steps``
    STEPS (Bowler et al. 2006; Seed et al. 2013): an ensemble, the S-PROG cascade plus
    stochastic noise and velocity perturbations; reproducible with ``seed``.
``external``
    A nowcast grid supplied as CF NetCDF (a met bureau's product), read with validation
    (:func:`read_external_nowcast`) and resampled onto the grid.

The motion field comes from the last ``n_past`` frames (3 by default) by the
Lucas–Kanade optical flow of pysteps (``pysteps.motion.get_method("LK")``) in dBR
(``10 log10 R``, with rain below 0.1 mm/h set to -15 dBR).

Conventions
-----------
The frames labelled up to ``issue_time - interval`` are known at ``issue_time`` (a
label is the start of its interval, see :mod:`twin.hydro.radar.array`). The value at
``lead_time = ℓ`` is the mean rate over ``[issue_time + ℓ - interval, issue_time + ℓ)``:
lead 5 min is the next 5-min interval, and it verifies against the frame labelled
``issue_time + ℓ - interval``. Output: ``rain_rate`` [mm/h], dims
``(member, lead_time, y, x)`` (one member for deterministic methods), a scalar
``issue_time`` coordinate (naive UTC) and a ``method`` attribute. Cells with no radar
data in the input are taken as dry; cells that the motion brings in from outside the
grid are NaN (no information). An all-dry input gives zeros, without calling pysteps.

References
----------
Pulkkinen, S. et al. (2019). Pysteps: an open-source Python library for probabilistic
precipitation nowcasting (v1.0). *Geosci. Model Dev.* 12, 4185–4219.

Germann, U. and Zawadzki, I. (2002). Scale-dependence of the predictability of
precipitation from continental radar images. Part I. *Mon. Wea. Rev.* 130, 2859–2873.

Seed, A. W. (2003). A dynamic and spatial scaling approach to advection forecasting.
*J. Appl. Meteor.* 42, 381–388.

Pulkkinen, S., Chandrasekar, V. and Niemi, T. (2021). Lagrangian integro-difference
equation model for precipitation nowcasting. *J. Atmos. Oceanic Technol.* 38,
2125–2145.

Bowler, N. E., Pierce, C. E. and Seed, A. W. (2006). STEPS: a probabilistic
precipitation forecasting scheme which merges an extrapolation nowcast with downscaled
NWP. *Q. J. R. Meteorol. Soc.* 132, 2127–2155.

Seed, A. W., Pierce, C. E. and Norman, K. (2013). Formulation and evaluation of a
scale decomposition-based stochastic precipitation nowcast scheme. *Water Resour. Res.*
49, 6624–6641.
"""

from __future__ import annotations

import logging
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import xarray as xr

from twin._types import FloatArray
from twin.hydro.radar._pysteps import pysteps_module, quiet
from twin.hydro.radar.array import radar_caption, radar_crs, to_utc
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.grid import resample

__all__ = [
    "NOWCAST_METHODS",
    "RAIN_THRESHOLD",
    "THREE_FRAMES",
    "NowcastMethod",
    "ensemble_mean",
    "motion_field",
    "nowcast",
    "nowcast_at_points",
    "nowcast_to_rain",
    "past_frames",
    "to_utc",
]

logger = logging.getLogger(__name__)

NowcastMethod = Literal["eulerian", "extrapolation", "sprog", "linda", "steps", "external"]
#: Every nowcast method, in order of sophistication.
NOWCAST_METHODS: tuple[str, ...] = (
    "eulerian", "extrapolation", "sprog", "linda", "steps", "external"
)  # fmt: skip
#: Methods that need three frames (the others two, Eulerian persistence one).
THREE_FRAMES: tuple[str, ...] = ("sprog", "linda", "steps")
#: Rain below this is no rain for the dB transform, S-PROG and STEPS [mm/h].
RAIN_THRESHOLD = 0.1
#: dBR value given to no rain [dBR].
DB_ZERO = -15.0
_LABELS = {
    "eulerian": "Eulerian persistence",
    "extrapolation": "semi-Lagrangian extrapolation (Lucas-Kanade motion)",
    "sprog": "S-PROG (6 cascade levels, AR(2))",
    "linda": "LINDA (integro-difference equation, ARI(1,1), whole domain)",
    "steps": "STEPS ensemble",
    "external": "external nowcast product",
}


def past_frames(radar: xr.DataArray, issue_time: Any, n: int) -> FloatArray:
    """The ``n`` frames seen at ``issue_time``: labels ``issue - n·Δt`` … ``issue - Δt``.

    Returns
    -------
    numpy.ndarray
        Rain rate [mm/h], shape ``(n, y, x)``, oldest first (NaN kept).

    Raises
    ------
    RadarError
        A frame is missing (the message gives the valid range of issue times).
    """
    t = np.asarray(radar["time"].values, dtype="datetime64[ns]")
    step = np.timedelta64(round(float(radar.attrs["interval_s"]) * 1e9), "ns")
    issue = to_utc(issue_time)
    wanted = issue - step * np.arange(n, 0, -1)
    idx = np.searchsorted(t, wanted)
    ok = (idx < t.size) & (t[np.minimum(idx, t.size - 1)] == wanted)
    if not ok.all():
        first, last = t[0] + n * step, t[-1] + step
        raise RadarError(
            f"{radar.attrs.get('event', 'radar')}: no {n} frames before issue time {issue} "
            f"(need labels {wanted[0]} to {wanted[-1]}); issue between {first} and {last} on "
            f"the {float(step / np.timedelta64(1, 's')) / 60:g}-min grid."
        )
    return np.asarray(radar.transpose("time", "y", "x").values[idx], dtype=float)


def _db(rate: FloatArray, threshold: float) -> FloatArray:
    """Rain rate [mm/h] → dBR, rain below ``threshold`` to :data:`DB_ZERO`."""
    out = np.full(rate.shape, DB_ZERO)
    wet = rate >= threshold
    out[wet] = 10.0 * np.log10(rate[wet])
    return out


def _undb(db: FloatArray, threshold: float) -> FloatArray:
    """DBR → rain rate [mm/h]; below the threshold 0; NaN stays NaN."""
    with np.errstate(invalid="ignore"):
        rate = np.power(10.0, db / 10.0)
        out = np.where(np.isnan(db), np.nan, np.where(rate >= threshold, rate, 0.0))
    return np.asarray(out, dtype=float)


def motion_field(frames: FloatArray, *, threshold: float = RAIN_THRESHOLD) -> FloatArray:
    """Motion of the rain by Lucas–Kanade optical flow [cells per step].

    Parameters
    ----------
    frames
        Rain rate [mm/h], shape ``(n, y, x)``, oldest first, n ≥ 2 (NaN taken as dry).
    threshold
        No rain below this [mm/h].

    Returns
    -------
    numpy.ndarray
        Shape ``(2, y, x)``: displacement along x (columns) and y (rows, downwards)
        per time step. Zero when fewer than two frames hold rain.
    """
    rate = np.nan_to_num(np.asarray(frames, dtype=float), nan=0.0)
    wet = (rate >= threshold).reshape(rate.shape[0], -1).sum(axis=1)
    if rate.shape[0] < 2 or np.count_nonzero(wet >= 10) < 2:
        return np.zeros((2, *rate.shape[1:]))
    motion = pysteps_module("pysteps.motion")
    lk = motion.get_method("LK")
    with quiet():
        return np.asarray(lk(_db(rate, threshold)), dtype=float)


def nowcast(
    radar: xr.DataArray,
    issue_time: Any,
    *,
    method: NowcastMethod = "extrapolation",
    lead_max_min: float = 120.0,
    n_past: int = 3,
    n_members: int = 20,
    seed: int = 0,
    threshold: float = RAIN_THRESHOLD,
    velocity: FloatArray | None = None,
    external: str | Path | xr.DataArray | None = None,
    n_cascade_levels: int = 6,
    num_workers: int = 1,
    outside: float | None = None,
) -> xr.DataArray:
    """A radar rain nowcast at ``issue_time``.

    Parameters
    ----------
    radar
        Radar rain ``(time, y, x)`` on a projected grid (e.g. transposed over the
        district), with frames up to ``issue_time``.
    issue_time
        When the nowcast is issued (naive UTC, or aware).
    method
        One of :data:`NOWCAST_METHODS`.
    lead_max_min
        Longest lead time [min]; leads are every radar step up to it.
    n_past
        Frames for the motion field (and S-PROG/STEPS, which use the last 3) [-].
    n_members
        STEPS ensemble size [-].
    seed
        Seed of the STEPS noise and velocity perturbations.
    threshold
        No rain below this [mm/h].
    velocity
        A ready motion field ``(2, y, x)`` [cells per step] (else computed).
    external
        For ``method="external"``: a CF NetCDF file or a DataArray
        (:func:`read_external_nowcast`).
    n_cascade_levels
        Cascade levels of S-PROG and STEPS [-].
    num_workers
        Threads for STEPS members [-].
    outside
        Value for cells that the motion brings in from outside the grid [mm/h]
        (default: NaN, no information; 0 assumes no rain comes in).

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(member, lead_time, y, x)``, coordinates
        ``lead_time`` (timedelta), ``issue_time`` (scalar), ``lon``/``lat``; attributes
        ``method``, ``method_label``, ``interval_s`` and the radar's provenance.

    Raises
    ------
    RadarError
        Unknown method, too few frames before the issue time, bad arguments.
    """
    if method not in NOWCAST_METHODS:
        raise RadarError(f"nowcast method {method!r}: choose from {', '.join(NOWCAST_METHODS)}.")
    step_s = float(radar.attrs["interval_s"])
    n_leads = int(np.floor(lead_max_min * 60.0 / step_s + 1e-9))
    if n_leads < 1:
        raise RadarError(f"lead_max_min {lead_max_min} is shorter than one step ({step_s:g} s).")
    if method == "external":
        if external is None:
            raise RadarError("method='external' needs external= (a CF NetCDF nowcast file).")
        return _external(radar, issue_time, external, n_leads)
    if n_past < 2 and method != "eulerian":
        raise RadarError(f"n_past must be at least 2 for {method} (got {n_past}).")
    need = max(n_past, 3) if method in THREE_FRAMES else max(n_past, 1)
    frames = past_frames(radar, issue_time, need)
    rate = np.nan_to_num(frames, nan=0.0)
    members = n_members if method == "steps" else 1
    ny, nx = rate.shape[1:]
    extra: dict[str, Any] = {}
    if not np.any(rate[-1] >= threshold):
        logger.info("nowcast at %s: no rain in the last frame; all zeros", issue_time)
        values = np.zeros((members, n_leads, ny, nx))
        extra["dry_input"] = 1
    else:
        if velocity is None and method != "eulerian":
            velocity = motion_field(rate[-n_past:], threshold=threshold)
        v = np.zeros((2, ny, nx)) if velocity is None else np.asarray(velocity, dtype=float)
        with quiet():
            values = _run(method, rate, v, n_leads, members, seed, threshold, step_s,
                          n_cascade_levels, num_workers, radar)  # fmt: skip
        extra["motion_mean_m_s"] = float(np.hypot(v[0], v[1]).mean() * _cell_m(radar) / step_s)
    if method == "steps":
        extra |= {"n_members": members, "seed": seed}
    if outside is not None:
        values = np.where(np.isnan(values), float(outside), values)
        extra["outside"] = f"cells advected in from outside the grid set to {outside:g} mm/h"
    return _nowcast_array(radar, values, issue_time, method, extra)


def _cell_m(radar: xr.DataArray) -> float:
    return abs(float(radar["x"].values[1] - radar["x"].values[0]))


def _run(
    method: str,
    rate: FloatArray,
    v: FloatArray,
    n_leads: int,
    members: int,
    seed: int,
    threshold: float,
    step_s: float,
    n_cascade_levels: int,
    num_workers: int,
    radar: xr.DataArray,
) -> FloatArray:
    ny, nx = rate.shape[1:]
    if method == "eulerian":
        nowcasts = pysteps_module("pysteps.nowcasts")
        out = nowcasts.get_method("eulerian")(rate[-1], v, n_leads)
        return np.asarray(out, dtype=float).reshape(1, n_leads, ny, nx)
    if method == "extrapolation":
        extrapolation = pysteps_module("pysteps.extrapolation")
        out = extrapolation.get_method("semilagrangian")(rate[-1], v, n_leads)
        moved = np.asarray(out, dtype=float).reshape(1, n_leads, ny, nx)
        return np.where(moved < 0.0, 0.0, moved)
    if method == "linda":
        nowcasts = pysteps_module("pysteps.nowcasts")
        with np.errstate(divide="ignore", invalid="ignore"):  # its kernel fit on flat fields
            out = nowcasts.get_method("linda")(
                np.where(rate[-3:] >= threshold, rate[-3:], 0.0),
                v,
                n_leads,
                feature_method="domain",
                ari_order=1,
                add_perturbations=False,
                kmperpixel=_cell_m(radar) / 1000.0,
                timestep=step_s / 60.0,
                num_workers=num_workers,
            )
        moved = np.asarray(out, dtype=float).reshape(1, n_leads, ny, nx)
        return np.where(moved < threshold, 0.0, moved)
    db = _db(rate[-3:], threshold)
    thr_db = 10.0 * np.log10(threshold)
    if method == "sprog":
        nowcasts = pysteps_module("pysteps.nowcasts")
        out = nowcasts.get_method("sprog")(
            db, v, n_leads, precip_thr=thr_db, n_cascade_levels=n_cascade_levels
        )
        return _undb(np.asarray(out, dtype=float), threshold).reshape(1, n_leads, ny, nx)
    nowcasts = pysteps_module("pysteps.nowcasts")
    out = nowcasts.get_method("steps")(
        db,
        v,
        n_leads,
        n_ens_members=members,
        n_cascade_levels=n_cascade_levels,
        precip_thr=thr_db,
        kmperpixel=_cell_m(radar) / 1000.0,
        timestep=step_s / 60.0,
        noise_method="nonparametric",
        vel_pert_method="bps",
        mask_method="incremental",
        seed=seed,
        num_workers=num_workers,
    )
    return _undb(np.asarray(out, dtype=float), threshold).reshape(members, n_leads, ny, nx)


def _nowcast_array(
    radar: xr.DataArray,
    values: FloatArray,
    issue_time: Any,
    method: str,
    extra: dict[str, Any],
) -> xr.DataArray:
    step_s = float(radar.attrs["interval_s"])
    n_leads = values.shape[1]
    lead = (np.arange(1, n_leads + 1) * round(step_s * 1e9)).astype("timedelta64[ns]")
    coords: dict[str, Any] = {
        "member": ("member", np.arange(values.shape[0])),
        "lead_time": ("lead_time", lead, {"long_name": "end of the forecast interval after "
                                          "issue_time"}),
        "y": radar["y"],
        "x": radar["x"],
        "lon": radar["lon"],
        "lat": radar["lat"],
        "issue_time": ((), to_utc(issue_time), {"timezone": "UTC"}),
    }  # fmt: skip
    if "district" in radar.coords:
        coords["district"] = radar["district"]
    attrs = {k: v for k, v in radar.attrs.items() if k != "time_convention"}
    attrs |= {
        "method": method,
        "method_label": _LABELS[method],
        "lead_time_convention": "the value at lead_time l is the mean rate over "
        "[issue_time + l - interval_s, issue_time + l)",
        "pysteps_version": version("pysteps"),
        "caption": f"{_LABELS[method]} nowcast of {radar_caption(radar)}",
        **extra,
    }
    return xr.DataArray(values, dims=("member", "lead_time", "y", "x"), coords=coords,
                        name="rain_rate", attrs=attrs)  # fmt: skip


def ensemble_mean(nowcast: xr.DataArray) -> xr.DataArray:
    """The mean over members (the nowcast itself for one member), keeping ``member`` = 1."""
    if nowcast.sizes.get("member", 1) == 1:
        return nowcast
    out = nowcast.mean("member", keep_attrs=True).expand_dims(member=[0])
    out.attrs["ensemble"] = f"mean of {nowcast.sizes['member']} members"
    return out.transpose("member", "lead_time", "y", "x")


def nowcast_to_rain(
    nowcast: xr.DataArray, *, member: int | Literal["mean"] = "mean"
) -> xr.DataArray:
    """A nowcast as a rain series ``(time, y, x)`` labelled by interval starts.

    Parameters
    ----------
    nowcast
        A nowcast (:func:`nowcast`).
    member
        A member index, or ``"mean"`` (the ensemble mean).

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], ``time = issue_time + lead_time - interval_s``, the grid
        of the nowcast, ``interval_s`` set: the layout of :mod:`twin.hydro.rainfall`.
    """
    one = ensemble_mean(nowcast).isel(member=0) if member == "mean" else nowcast.isel(
        member=int(member))  # fmt: skip
    step = np.timedelta64(round(float(nowcast.attrs["interval_s"]) * 1e9), "ns")
    t = to_utc(nowcast["issue_time"].values) + one["lead_time"].values - step
    out = one.rename(lead_time="time").assign_coords(
        time=("time", t, {"standard_name": "time", "timezone": "UTC", "local_timezone": "UTC",
                          "long_name": "start of the interval (UTC)"}))  # fmt: skip
    return out.drop_vars(["member", "issue_time"], errors="ignore").transpose("time", "y", "x")


def nowcast_at_points(
    nowcast: xr.DataArray,
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    point: npt.ArrayLike | None = None,
) -> xr.DataArray:
    """A nowcast at points (e.g. low points): the value of the cell that holds each.

    Parameters
    ----------
    nowcast
        A nowcast ``(member, lead_time, y, x)``.
    lon, lat
        WGS84 positions [deg].
    point
        Labels of the points (default ``0..n-1``).

    Returns
    -------
    xarray.DataArray
        ``rain_rate`` [mm/h], dims ``(member, lead_time, point)``.

    Raises
    ------
    RadarError
        A point outside the grid.
    """
    from twin.hydro.radar.transpose import radar_at_points

    m, n = nowcast.sizes["member"], nowcast.sizes["lead_time"]
    flat = xr.DataArray(
        nowcast.transpose("member", "lead_time", "y", "x").values.reshape(m * n,
            nowcast.sizes["y"], nowcast.sizes["x"]),
        dims=("time", "y", "x"),
        coords={"time": np.arange(m * n), "y": nowcast["y"], "x": nowcast["x"],
                "lon": nowcast["lon"], "lat": nowcast["lat"]},
        attrs=nowcast.attrs,
    )  # fmt: skip
    at = radar_at_points(flat, lon, lat, point=point)
    out = xr.DataArray(
        at.values.reshape(m, n, -1),
        dims=("member", "lead_time", "point"),
        coords={"member": nowcast["member"], "lead_time": nowcast["lead_time"],
                "point": at["point"], "lon": at["lon"], "lat": at["lat"],
                "issue_time": nowcast["issue_time"]},
        name="rain_rate",
        attrs=nowcast.attrs,
    )  # fmt: skip
    return out


# --- external products -----------------------------------------------------------------


def _external(radar: xr.DataArray, issue_time: Any, external: str | Path | xr.DataArray,
              n_leads: int) -> xr.DataArray:  # fmt: skip
    from twin.hydro.radar.external import read_external_nowcast

    ext = external if isinstance(external, xr.DataArray) else read_external_nowcast(
        external, issue_time=issue_time)  # fmt: skip
    where = str(external) if not isinstance(external, xr.DataArray) else "external nowcast"
    if to_utc(ext["issue_time"].values) != to_utc(issue_time):
        raise RadarError(f"{where}: issued at {ext['issue_time'].values}, not {issue_time}.")
    step_s = float(radar.attrs["interval_s"])
    if abs(float(ext.attrs["interval_s"]) - step_s) > 1.0:
        raise RadarError(
            f"{where}: leads every {float(ext.attrs['interval_s']):g} s, the radar every "
            f"{step_s:g} s; resample one of them first."
        )
    ext = ext.isel(lead_time=slice(0, n_leads))
    src = np.asarray(ext.values, dtype=float)
    m, n = src.shape[:2]
    flat = resample(
        src.reshape(m * n, *src.shape[2:]),
        np.asarray(ext["x"].values, dtype=float),
        np.asarray(ext["y"].values, dtype=float),
        radar_crs(ext),
        np.asarray(radar["x"].values, dtype=float),
        np.asarray(radar["y"].values, dtype=float),
        radar_crs(radar),
    )
    values = flat.reshape(m, n, radar.sizes["y"], radar.sizes["x"])
    if "district" in radar.coords:
        inside = np.asarray(radar["district"].values) > 0
        if np.isnan(values[:, :, inside]).all(axis=(0, 1)).any():
            raise RadarError(
                f"{where}: the nowcast grid misses the district (cells of "
                f"{radar.attrs.get('transposed_over', 'the district')} without values); give a "
                "product that covers it."
            )
    extra = {"external_source": str(ext.attrs.get("source", where))}
    return _nowcast_array(radar, values, issue_time, "external", extra)
