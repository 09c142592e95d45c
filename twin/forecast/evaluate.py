"""Rolling-origin backtests on held-out storms, scored by lead time.

For every test storm, forecasts are issued every ``stride`` steps from the first time
with two hours of history to the last with two hours of truth after it, at every low
point, with the future rain of the chosen source (:mod:`twin.forecast.nowcast`). Each
forecast uses only the gauge readings and rain up to its issue time. Scores are those of
:mod:`twin.forecast.metrics`, against the true depth.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twin.forecast.base import Forecaster
from twin.forecast.errors import ForecastError
from twin.forecast.metrics import LeadAccumulator, episode_onsets, warning_leads
from twin.forecast.nowcast import check_source, rain_source_label, with_source
from twin.forecast.records import StormRecords
from twin.forecast.windows import prepared_rows, storm_origins, windows_at

__all__ = ["THRESHOLDS", "Backtest", "backtest", "skill_table"]

logger = logging.getLogger(__name__)

#: Thresholds scored: impeded and closed water depth [m] (the hydro defaults).
THRESHOLDS: dict[str, float] = {"impeded": 0.15, "closed": 0.27}


@dataclass(frozen=True)
class Backtest:
    """Scores of one forecaster with one rain source on a set of storms.

    Attributes
    ----------
    kind, label
        The forecaster.
    rain_source
        The future rain used (``observed``, ``persistence`` or ``perturbed``).
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
        Future rain: ``"observed"`` (oracle), ``"persistence"`` or ``"perturbed"``.
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
    rng = np.random.default_rng(seed)
    horizon, n_pts = model.horizon, len(data.points)
    step_min = data.step_s / 60.0
    acc = LeadAccumulator(horizon, tuple(THRESHOLDS.values()))
    episodes: list[dict[str, Any]] = []
    seconds = 0.0
    n_windows = 0
    for lo in range(0, data.n_storms, chunk_storms):
        part = data.subset(np.arange(lo, min(lo + chunk_storms, data.n_storms)))
        g, s = storm_origins(part, stride=stride, encoder=model.encoder, horizon=horizon)
        if g.size == 0:
            continue
        prep = prepared_rows(part, "depth")
        w = windows_at(
            part,
            np.repeat(g, n_pts),
            np.tile(np.arange(n_pts), g.size),
            prepared=prep,
            encoder=model.encoder,
            horizon=horizon,
        )
        w = with_source(w, rain_source, rng=rng)
        t0 = time.perf_counter()
        q = model.predict(w)
        seconds += time.perf_counter() - t0
        n_windows += len(w)
        assert w.target is not None
        qi = {lvl: i for i, lvl in enumerate(model.quantiles)}
        med = q[:, :, qi[0.5]]
        acc.add(med, q[:, :, qi.get(0.1, 0)], q[:, :, qi.get(0.9, -1)], w.target)
        for t_i, (name, thr) in enumerate(THRESHOLDS.items()):
            warned_all = (med >= thr).any(axis=1).reshape(g.size, n_pts)
            for j in range(part.n_storms):
                sel = s == j
                rows = g[sel] - part.offsets[j]
                depth = part.depth[part.rows(j)]
                for p in range(n_pts):
                    on = episode_onsets(depth[:, p], thr)
                    if on.size == 0:
                        continue
                    lead, scored = warning_leads(on, rows, warned_all[sel, p], horizon)
                    for k_on, ld in zip(on[scored].tolist(), lead[scored].tolist(), strict=True):
                        episodes.append(
                            {
                                "storm": str(part.storm_id[j]),
                                "point": str(part.points.ids[p]),
                                "threshold": name,
                                "onset_min": k_on * step_min,
                                "lead_min": ld * step_min,
                            }
                        )
            del t_i
    sc = acc.scores()
    table = pd.DataFrame({"lead_min": (np.arange(horizon) + 1) * step_min})
    for key in ("mae", "rmse", "nse", "coverage_80"):
        table[key] = sc[key]
    for i, name in enumerate(THRESHOLDS):
        for key in ("pod", "far", "csi"):
            table[f"{key}_{name}"] = sc[f"{key}_{i}"]
    logger.info(
        "backtest %s (%s): %d windows in %.1f s", model.kind, rain_source, n_windows, seconds
    )
    return Backtest(
        kind=model.kind,
        label=model.label,
        rain_source=rain_source,
        by_lead=table,
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
