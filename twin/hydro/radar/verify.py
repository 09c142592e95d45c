"""Verification of radar nowcasts against the radar frames that followed.

Scores by lead time, from ``pysteps.verification``:

- CSI, the critical success index ``hits / (hits + misses + false alarms)`` of rain at or
  above a threshold (1, 5 and 10 mm/h by default), cell by cell
  (``det_cat_fct``);
- FSS, the fractions skill score (Roberts and Lean 2008) of rain at or above 5 mm/h
  over square neighbourhoods of 1, 4 and 16 km (``spatialscores.fss``): 1 for a
  perfect nowcast, and it rewards a nowcast that puts the rain nearly in the right place.

An ensemble is verified by its mean. Cells without radar data in either field are left
out (CSI) or counted as dry in both (FSS). A score whose events are absent from both
fields (no rain at the threshold anywhere) is NaN, not 1.

References
----------
Roberts, N. M. and Lean, H. W. (2008). Scale-selective verification of rainfall
accumulations from high-resolution forecasts of convective events. *Mon. Wea. Rev.*
136, 78–97.

Pulkkinen, S. et al. (2019). Pysteps: an open-source Python library for probabilistic
precipitation nowcasting (v1.0). *Geosci. Model Dev.* 12, 4185–4219.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from twin._types import FloatArray
from twin.hydro.radar._pysteps import pysteps_module
from twin.hydro.radar.errors import RadarError
from twin.hydro.radar.nowcast import ensemble_mean, to_utc

__all__ = ["CSI_THRESHOLDS", "FSS_SCALES_KM", "VERIFY_COLUMNS", "verify_nowcast"]

#: Rain-rate thresholds of the CSI [mm/h].
CSI_THRESHOLDS: tuple[float, ...] = (1.0, 5.0, 10.0)
#: Neighbourhood sizes of the FSS [km], and its threshold [mm/h].
FSS_SCALES_KM: tuple[float, ...] = (1.0, 4.0, 16.0)
FSS_THRESHOLD = 5.0
#: Columns of every verification table.
VERIFY_COLUMNS = ("event", "method", "issue_time", "lead_min", "metric", "threshold",
                  "scale_km", "value")  # fmt: skip


def _csi(pred: FloatArray, obs: FloatArray, thr: float) -> float:
    if not (np.any(pred >= thr) or np.any(obs >= thr)):
        return float("nan")
    detcat = pysteps_module("pysteps.verification.detcatscores")
    with np.errstate(invalid="ignore", divide="ignore"):  # POD, FAR of empty categories
        return float(detcat.det_cat_fct(pred, obs, thr, scores=["CSI"])["CSI"])


def _fss(pred: FloatArray, obs: FloatArray, thr: float, scale: int) -> float:
    if not (np.any(pred >= thr) or np.any(obs >= thr)):
        return float("nan")
    spatial = pysteps_module("pysteps.verification.spatialscores")
    return float(spatial.fss(pred, obs, thr, scale))


def verify_nowcast(
    nowcast: xr.DataArray,
    observed: xr.DataArray,
    *,
    event: str | None = None,
    thresholds: Sequence[float] = CSI_THRESHOLDS,
    fss_threshold: float = FSS_THRESHOLD,
    scales_km: Sequence[float] = FSS_SCALES_KM,
    leads_min: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Scores of a nowcast by lead time against the radar frames that followed.

    Parameters
    ----------
    nowcast
        A nowcast ``(member, lead_time, y, x)`` (:func:`twin.hydro.radar.nowcast.nowcast`).
    observed
        The radar on the same grid ``(time, y, x)``; the lead ``ℓ`` verifies against the
        frame labelled ``issue_time + ℓ - interval`` (leads without a frame are skipped).
    event
        Name for the ``event`` column (default: the radar's ``event`` attribute).
    thresholds
        CSI thresholds [mm/h].
    fss_threshold
        FSS threshold [mm/h].
    scales_km
        FSS neighbourhood sizes [km] (rounded to whole cells).
    leads_min
        Only these lead times [min] (default: all).

    Returns
    -------
    pandas.DataFrame
        One row per lead and score, columns :data:`VERIFY_COLUMNS`: ``metric`` is
        ``"CSI"`` (``threshold`` set, ``scale_km`` NaN) or ``"FSS"`` (both set).

    Raises
    ------
    RadarError
        The grids differ.
    """
    if nowcast.sizes["y"] != observed.sizes["y"] or not np.allclose(
        nowcast["x"].values, observed["x"].values
    ):
        raise RadarError("nowcast and observed radar are on different grids; resample first.")
    mean = ensemble_mean(nowcast).isel(member=0)
    issue = to_utc(nowcast["issue_time"].values)
    step = np.timedelta64(round(float(nowcast.attrs["interval_s"]) * 1e9), "ns")
    times = np.asarray(observed["time"].values, dtype="datetime64[ns]")
    obs_all = observed.transpose("time", "y", "x").values
    cell_km = abs(float(nowcast["x"].values[1] - nowcast["x"].values[0])) / 1000.0
    name = event if event is not None else str(observed.attrs.get("event", ""))
    method = str(nowcast.attrs.get("method", "?"))
    rows = []
    for k, lead in enumerate(np.asarray(mean["lead_time"].values, dtype="timedelta64[ns]")):
        lead_min = float(lead / np.timedelta64(1, "s")) / 60.0
        if leads_min is not None and not np.any(np.isclose(lead_min, leads_min)):
            continue
        hit = np.flatnonzero(times == issue + lead - step)
        if hit.size == 0:
            continue
        pred = np.asarray(mean.values[k], dtype=float)
        obs = np.asarray(obs_all[hit[0]], dtype=float)
        both = np.isfinite(pred) & np.isfinite(obs)
        base = (name, method, issue, lead_min)
        for thr in thresholds:
            rows.append((*base, "CSI", float(thr), np.nan, _csi(pred[both], obs[both], thr)))
        p0, o0 = np.where(both, pred, 0.0), np.where(both, obs, 0.0)
        for scale in scales_km:
            cells = max(1, round(scale / cell_km))
            rows.append((*base, "FSS", float(fss_threshold), float(scale),
                         _fss(p0, o0, fss_threshold, cells)))  # fmt: skip
    return pd.DataFrame(rows, columns=list(VERIFY_COLUMNS))
