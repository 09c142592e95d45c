"""Conformal bands of the physics ensemble: fitted on radar storms, saved with the model.

The physics ensemble's raw 10–90 % band is far too narrow on radar storms (it covers
about 0.3–0.4 of the wet outcomes in ``bench_forecast_radar``: its members share the
rain nowcast, whose error dominates). This module fits the split-conformal corrections
(CQR per lead, :class:`~twin.forecast.conformal.ConformalCalibrator` defaults: additive,
on wet-relevant windows) that every entry point applies to its bands:

- the **storms**: the train and validation events of
  :data:`~twin.forecast.radar_storms.RADAR_EVENT_SPLIT` (the test event is never used),
  each at its ``placements`` heaviest positions in the radar catalogue, intensified to a
  ``peak`` at the wettest low point, with hidden drains of their own
  (:func:`~twin.forecast.radar_storms.transposed_storm`); the storms (placements) are the
  calibration's exchangeable units (``events``);
- the **forecasts**: the physics ensemble replayed as a service runs it
  (:func:`~twin.forecast.physics_replay.replay_physics`: noisy gauges, assimilation every
  5 minutes) with the pysteps nowcast of the radar known at each issue time
  (``source``, extrapolation by default: the live service's default);
- the **outcomes**: the true depth at each lead (not the gauges).

:func:`save_calibrator` writes ``conformal.json`` and ``conformal.npz`` into a physics
model folder; :func:`~twin.forecast.physics_model.load_physics_model` reads them back.
It also chooses, on the validation storms, how a service steers the band online (split
conformal alone, or adaptive conformal inference carried from storm to storm, with its
step and one α per lead or for all: :mod:`twin.forecast.band_methods`); the choice is
saved beside the corrections and the live service follows it
(:class:`~twin.live.bands.LiveBands`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.forecast.band_methods import BandMethod, band_methods, choose_band_method
from twin.forecast.conformal import ConformalCalibrator
from twin.forecast.errors import ForecastError, ModelFileError
from twin.forecast.radar_storms import RADAR_EVENT_SPLIT

__all__ = [
    "CALIBRATION_EVENTS",
    "CONFORMAL_FILES",
    "calibration_runs",
    "fit_physics_calibrator",
    "read_calibrator",
    "save_calibrator",
]

logger = logging.getLogger(__name__)

#: The radar events the shipped bands are calibrated on (never the test event).
CALIBRATION_EVENTS: tuple[str, ...] = tuple(
    e for e, split in RADAR_EVENT_SPLIT.items() if split != "test"
)
#: The files of a calibrator in a model folder (settings, arrays).
CONFORMAL_FILES = ("conformal.json", "conformal.npz")


def calibration_runs(
    *,
    events: Sequence[str] = CALIBRATION_EVENTS,
    placements: int = 3,
    peak: float = 100.0,
    source: str = "extrapolation",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """The physics ensemble's forecasts and the true depths on placed radar storms.

    Parameters
    ----------
    events
        Radar events (default :data:`CALIBRATION_EVENTS`).
    placements
        Heaviest placements of each event.
    peak
        Rain rate the wettest low point of each storm is intensified to [mm/h].
    source
        pysteps nowcast method (:data:`twin.forecast.radar_rain.RADAR_METHODS`).
    seed
        Storm ``i`` takes ``seed + i`` (its hidden drains, gauges and nowcast).
    progress
        Called with one line per storm.

    Returns
    -------
    list of dict
        One run per storm (:mod:`twin.forecast.band_methods`): ``q`` quantiles
        ``(K·n, H, len(QUANTILES))`` [m] and ``y`` true depths ``(K·n, H)`` [m] of K
        issue times × n low points; ``issues``, ``points``, ``rows`` (issue steps);
        ``storm`` and ``split``.
    """
    from twin.forecast.online import five_minute_grid
    from twin.forecast.physics_replay import replay_physics
    from twin.forecast.radar_rain import RADAR_METHODS, radar_nowcaster
    from twin.forecast.radar_storms import radar_placements, transposed_storm
    from twin.forecast.sensors import SensorModel
    from twin.network import default_network

    if source not in RADAR_METHODS:
        raise ForecastError(f"nowcast method {source!r}: use {', '.join(RADAR_METHODS)}.")
    unknown = [e for e in events if e not in RADAR_EVENT_SPLIT]
    if unknown or not events or placements < 1:
        raise ForecastError(
            f"calibrate on shipped radar events ({', '.join(RADAR_EVENT_SPLIT)}) with at "
            f"least one placement; got events {list(events)}, placements {placements}."
        )
    net = default_network()
    runs: list[dict[str, Any]] = []
    chosen = [p for e in events for p in radar_placements(e, placements)]
    for i, pl in enumerate(chosen):
        s, w, scale = transposed_storm(pl, peak=peak, seed=seed + i, net=net)
        depth5, _ = five_minute_grid(w.depth, w.rain_rate, w.times)
        start = pd.Timestamp(s.start).tz_convert("UTC").tz_localize(None)
        rain = radar_nowcaster(
            w.radar, start, w.points.lon, w.points.lat, method=source, horizon_steps=24,
            seed=seed + i,
        )  # fmt: skip
        rep = replay_physics(
            w.depth, w.rain_rate, w.times, w.points, rain_source=source, nowcast=rain,
            start=s.start, sensor=SensorModel(), seed=seed + i,
        )  # fmt: skip
        q = np.asarray(rep.quantiles)  # (issue, point, H, Q)
        rows = np.round(np.asarray(rep.issue_times) / 300.0).astype(np.int64)
        h = q.shape[2]
        idx = np.minimum(rows[:, None] + np.arange(1, h + 1)[None, :], depth5.shape[0] - 1)
        truth = np.transpose(depth5[idx], (0, 2, 1))  # (issue, point, H)
        runs.append({
            "q": q.reshape(-1, h, q.shape[3]), "y": truth.reshape(-1, h), "rows": rows,
            "issues": int(q.shape[0]), "points": int(q.shape[1]), "storm": pl.storm_id,
            "split": pl.split,
        })  # fmt: skip
        line = f"{pl.storm_id} ({pl.split}, ×{scale:.2f}): {len(rows)} issue times"
        logger.info("calibration storm %s", line)
        if progress is not None:
            progress(line)
    return runs


def fit_physics_calibrator(
    runs: Sequence[dict[str, Any]],
) -> tuple[ConformalCalibrator, BandMethod, list[tuple[tuple[float, ...], BandMethod]]]:
    """Split CQR per lead of the physics ensemble on the runs of :func:`calibration_runs`.

    Also chooses how a service steers the band online: among split conformal and ACI
    carried from storm to storm (:func:`~twin.forecast.band_methods.band_methods`), on
    the validation storms with a calibrator fitted on the train storms, by the least
    mean interval score (coverage and sharpness together;
    :func:`~twin.forecast.band_methods.choose_band_method`). The calibrator returned is
    fitted on every storm.

    Returns
    -------
    (ConformalCalibrator, BandMethod, list)
        The calibrator, the online method chosen, and every method's validation
        scores (coverage: all leads, least and most by lead; mean width [m]; mean
        interval score [m]).
    """
    train = [r for r in runs if r["split"] == "train"]
    valid = [r for r in runs if r["split"] == "validation"]
    if train and valid:
        choice, best = choose_band_method(
            train, valid, band_methods(carried_only=True), criterion="interval"
        )
    else:
        choice, best = [], BandMethod()  # nothing to choose on: split conformal
    storms = [r["storm"] for r in runs for _ in range(r["y"].shape[0])]
    cal = ConformalCalibrator().fit(
        np.concatenate([r["q"] for r in runs]),
        np.concatenate([r["y"] for r in runs]),
        events=storms,
    )
    return cal, best, choice


def save_calibrator(
    cal: ConformalCalibrator,
    folder: str | Path,
    online: BandMethod | None = None,
    **about: object,
) -> Path:
    """Write ``conformal.json`` (settings, ``online``, ``about``) and ``conformal.npz``.

    ``online``: how a service steers the band (default split conformal alone).
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    config, arrays = cal.get_state()
    m = online or BandMethod()
    doc = {**config, "online": {"gamma": m.gamma, "per_lead": m.per_lead}, "about": about}
    (out / CONFORMAL_FILES[0]).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    np.savez_compressed(out / CONFORMAL_FILES[1], **arrays)  # type: ignore[arg-type]
    return out


def read_calibrator(folder: str | Path) -> tuple[ConformalCalibrator, BandMethod] | None:
    """The calibrator saved in ``folder`` and its online method (None where there is none).

    Raises
    ------
    ModelFileError
        One of the two files without the other, or a file that is not a calibrator.
    """
    paths = [Path(folder) / f for f in CONFORMAL_FILES]
    there = [p.is_file() for p in paths]
    if not any(there):
        return None
    if not all(there):
        missing = paths[there.index(False)]
        raise ModelFileError(
            f"{missing} is missing beside {paths[there.index(True)].name}: write both with "
            "`twin forecast calibrate`, or remove the other to forecast without calibration."
        )
    try:
        config = json.loads(paths[0].read_text(encoding="utf-8"))
        with np.load(paths[1], allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        online = config.get("online") or {}
        gamma = online.get("gamma")
        method = BandMethod(
            None if gamma is None else float(gamma), bool(online.get("per_lead")), True
        )
        return ConformalCalibrator.from_state(config, arrays), method
    except (OSError, ValueError, TypeError, AttributeError, ForecastError) as exc:
        raise ModelFileError(
            f"{paths[0].parent}: the conformal calibration cannot be read ({exc}); write it "
            "again with `twin forecast calibrate`."
        ) from None
