"""Rolling-origin backtests on held-out storms, scored by lead time.

For every test storm, forecasts are issued every ``stride`` steps from the first time
with two hours of history to the last with two hours of truth after it, at every low
point, with the future rain of the chosen source (:mod:`twin.forecast.nowcast`; a radar
source takes the radar nowcast the records hold for each issue time, see
:mod:`twin.forecast.radar_storms`). Each forecast uses only the gauge readings and rain
up to its issue time. Scores are those of :mod:`twin.forecast.metrics`, against the
true depth. The physics ensemble, which is replayed online rather than fed windows, is
scored the same way by :func:`twin.forecast.replay_scores.backtest_physics`, which also
adds the alert scores (POD, FAR, warning lead; :mod:`twin.forecast.alert_scores`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twin._types import BoolArray, FloatArray, IntArray
from twin.forecast.base import Forecaster
from twin.forecast.errors import ForecastError
from twin.forecast.metrics import LeadAccumulator, episode_onsets, warning_leads
from twin.forecast.nowcast import RADAR_SOURCES, check_source, rain_source_label, with_source
from twin.forecast.records import StormRecords
from twin.forecast.windows import prepared_rows, storm_origins, windows_at

__all__ = [
    "ALERT_COLUMNS",
    "THRESHOLDS",
    "Backtest",
    "backtest",
    "episode_rows",
    "lead_table",
    "model_label",
    "model_name",
    "skill_table",
]

logger = logging.getLogger(__name__)

#: Thresholds scored: impeded and closed water depth [m] (the hydro defaults).
THRESHOLDS: dict[str, float] = {"impeded": 0.15, "closed": 0.27}
#: Columns of :attr:`Backtest.alerts`.
ALERT_COLUMNS = (
    "threshold", "crossings", "detected", "alerts", "false_alarms", "pod", "far", "csi",
    "lead_mean_min", "lead_median_min",
)  # fmt: skip


def model_name(model: Forecaster) -> str:
    """A forecaster's shipped name: its kind, ``-nowcast`` when trained on the nowcast."""
    trained = getattr(model, "future_rain", "observed")
    return f"{model.kind}-nowcast" if trained == "nowcast" else model.kind


def model_label(model: Forecaster) -> str:
    """A forecaster's label, saying when it was trained on the nowcast."""
    trained = getattr(model, "future_rain", "observed")
    return f"{model.label}, trained on nowcast" if trained == "nowcast" else model.label


@dataclass(frozen=True)
class Backtest:
    """Scores of one forecaster with one rain source on a set of storms.

    Attributes
    ----------
    kind, label
        The forecaster (``kind``: its shipped name, e.g. ``nhits-nowcast`` or
        ``physics_ensemble``).
    rain_source
        The future rain used (a source of :mod:`twin.forecast.nowcast`).
    by_lead
        One row per lead time: ``lead_min``, ``mae``, ``rmse``, ``nse`` [m, m, -],
        ``coverage_80`` [-], and ``pod_<thr>``, ``far_<thr>``, ``csi_<thr>`` for each
        threshold name.
    episodes
        One row per scored exceedance episode: ``storm``, ``point``, ``threshold``,
        ``onset_min`` (since the storm record began), ``lead_min`` (0: missed).
    n_windows, n_storms
        Forecasts scored (issue times × points) and storms.
    predict_seconds
        Wall time of all predictions [s].
    settings
        How it was run (stride, seed, the rain source's label).
    alerts
        Alert scores of an online replay with the alert lifecycle, one row per
        threshold (:data:`ALERT_COLUMNS`; empty when not replayed).
    """

    kind: str
    label: str
    rain_source: str
    by_lead: pd.DataFrame
    episodes: pd.DataFrame
    n_windows: int
    n_storms: int
    predict_seconds: float
    settings: dict[str, Any] = field(default_factory=dict)
    alerts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ALERT_COLUMNS))

    def warning_summary(self) -> pd.DataFrame:
        """Per threshold: episodes, share warned, mean lead of warned ones [min]."""
        rows = []
        for name in THRESHOLDS:
            ep = self.episodes[self.episodes["threshold"] == name]
            warned = ep["lead_min"] > 0
            rows.append(
                {
                    "threshold": name,
                    "episodes": len(ep),
                    "warned_share": float(warned.mean()) if len(ep) else float("nan"),
                    "mean_lead_min": float(ep.loc[warned, "lead_min"].mean())
                    if warned.any()
                    else float("nan"),
                    "mean_lead_all_min": float(ep["lead_min"].mean()) if len(ep) else float("nan"),
                }
            )
        return pd.DataFrame(rows)


def backtest(
    model: Forecaster,
    data: StormRecords,
    *,
    rain_source: str = "observed",
    stride: int = 2,
    seed: int,
    chunk_storms: int = 20,
) -> Backtest:
    """Rolling-origin backtest of ``model`` on every storm of ``data``.

    Parameters
    ----------
    model
        A fitted forecaster.
    data
        Held-out storms (e.g. ``storm_set.select("test")``).
    rain_source
        Future rain: ``"observed"`` (oracle), ``"persistence"``, ``"perturbed"``, or a
        radar method whose nowcasts the records hold (every storm of ``data``).
    stride
        Steps between issue times (2: every 10 minutes).
    seed
        Seed of the perturbed nowcast.
    chunk_storms
        Storms predicted at once (memory).

    Returns
    -------
    Backtest
    """
    check_source(rain_source)
    if data.n_storms == 0:
        raise ForecastError("no storms to evaluate on; select a split with storms.")
    if model.points is None:
        raise ForecastError(f"the {model.kind} forecaster is not fitted.")
    if list(model.points.ids) != list(data.points.ids):
        raise ForecastError(
            "the storm set's low points differ from the model's; generate the storms for "
            "the points the model was trained on."
        )
    radar = rain_source in RADAR_SOURCES
    if radar and any(str(sid) not in data.nowcast for sid in data.storm_id):
        raise ForecastError(
            f"rain source {rain_source!r} needs the radar nowcast of every storm; evaluate "
            "radar storms (twin.forecast.radar_storms.radar_storm_set) with it."
        )
    rng = np.random.default_rng(seed)
    horizon, n_pts = model.horizon, len(data.points)
    acc = LeadAccumulator(horizon, tuple(THRESHOLDS.values()))
    episodes: list[dict[str, Any]] = []
    seconds = 0.0
    n_windows = 0
    for lo in range(0, data.n_storms, chunk_storms):
        part = data.subset(np.arange(lo, min(lo + chunk_storms, data.n_storms)))
        g, s = storm_origins(part, stride=stride, encoder=model.encoder, horizon=horizon)
        if g.size == 0:
            continue
        w = windows_at(
            part,
            np.repeat(g, n_pts),
            np.tile(np.arange(n_pts), g.size),
            prepared=prepared_rows(part, "depth"),
            encoder=model.encoder,
            horizon=horizon,
            future_rain="nowcast" if radar else "observed",
        )
        if not radar:
            w = with_source(w, rain_source, rng=rng)
        t0 = time.perf_counter()
        q = model.predict(w)
        seconds += time.perf_counter() - t0
        n_windows += len(w)
        assert w.target is not None
        qi = {lvl: i for i, lvl in enumerate(model.quantiles)}
        med = q[:, :, qi[0.5]]
        acc.add(med, q[:, :, qi.get(0.1, 0)], q[:, :, qi.get(0.9, -1)], w.target)
        warned = {
            name: (med >= thr).any(axis=1).reshape(g.size, n_pts)
            for name, thr in THRESHOLDS.items()
        }
        for j in range(part.n_storms):
            sel = s == j
            episodes += episode_rows(
                part, j, g[sel] - part.offsets[j], {k: v[sel] for k, v in warned.items()},
                horizon,
            )  # fmt: skip
    logger.info(
        "backtest %s (%s): %d windows in %.1f s", model.kind, rain_source, n_windows, seconds
    )
    return Backtest(
        kind=model_name(model),
        label=model_label(model),
        rain_source=rain_source,
        by_lead=lead_table(acc, data.step_s),
        episodes=pd.DataFrame(
            episodes, columns=["storm", "point", "threshold", "onset_min", "lead_min"]
        ),
        n_windows=n_windows,
        n_storms=data.n_storms,
        predict_seconds=seconds,
        settings={
            "stride": stride,
            "seed": seed,
            "rain_source_label": rain_source_label(rain_source),
        },
    )


def episode_rows(
    data: StormRecords,
    storm: int,
    issue_rows: IntArray,
    warned: dict[str, BoolArray],
    horizon: int,
) -> list[dict[str, Any]]:
    """Scored exceedance episodes of one storm (rows of :attr:`Backtest.episodes`).

    Parameters
    ----------
    data, storm
        The storms and the storm's position.
    issue_rows
        Issue rows within the storm, increasing.
    warned
        By threshold name, whether each issue's median forecast reached the threshold
        within the horizon, shape ``(n_issue, n_points)``.
    horizon
        Lead steps.
    """
    step_min = data.step_s / 60.0
    depth = data.depth[data.rows(storm)]
    out = []
    for name, thr in THRESHOLDS.items():
        for p in range(depth.shape[1]):
            on = episode_onsets(depth[:, p], thr)
            if on.size == 0:
                continue
            lead, scored = warning_leads(on, issue_rows, warned[name][:, p], horizon)
            for k_on, ld in zip(on[scored].tolist(), lead[scored].tolist(), strict=True):
                out.append(
                    {
                        "storm": str(data.storm_id[storm]),
                        "point": str(data.points.ids[p]),
                        "threshold": name,
                        "onset_min": k_on * step_min,
                        "lead_min": ld * step_min,
                    }
                )
    return out


def lead_table(acc: LeadAccumulator, step_s: float) -> pd.DataFrame:
    """Scores by lead time (the :attr:`Backtest.by_lead` table) from an accumulator."""
    sc: dict[str, FloatArray] = acc.scores()
    table = pd.DataFrame({"lead_min": (np.arange(acc.horizon) + 1) * step_s / 60.0})
    for key in ("mae", "rmse", "nse", "coverage_80"):
        table[key] = sc[key]
    for i, name in enumerate(THRESHOLDS):
        for key in ("pod", "far", "csi"):
            table[f"{key}_{name}"] = sc[f"{key}_{i}"]
    return table


def skill_table(
    results: list[Backtest], leads_min: tuple[float, ...] = (15, 30, 60, 120)
) -> pd.DataFrame:
    """Forecasters side by side at selected lead times (long format).

    Columns: ``forecaster``, ``rain_source``, ``lead_min``, ``mae``, ``nse``,
    ``csi_impeded``, ``csi_closed``, ``pod_impeded``, ``far_impeded``, ``coverage_80``,
    ``lead_impeded_min`` and ``lead_closed_min`` (mean warning lead over all scored
    episodes, missed ones counting 0).
    """
    rows = []
    for r in results:
        summary = r.warning_summary().set_index("threshold")
        for lead in leads_min:
            row = r.by_lead.loc[np.isclose(r.by_lead["lead_min"], lead)]
            if row.empty:
                continue
            x = row.iloc[0]
            rows.append(
                {
                    "forecaster": r.label,
                    "kind": r.kind,
                    "rain_source": r.rain_source,
                    "lead_min": lead,
                    "mae": x["mae"],
                    "nse": x["nse"],
                    "csi_impeded": x["csi_impeded"],
                    "csi_closed": x["csi_closed"],
                    "pod_impeded": x["pod_impeded"],
                    "far_impeded": x["far_impeded"],
                    "coverage_80": x["coverage_80"],
                    "lead_impeded_min": summary.loc["impeded", "mean_lead_all_min"],
                    "lead_closed_min": summary.loc["closed", "mean_lead_all_min"],
                }
            )
    return pd.DataFrame(rows)
