r"""Forecast verification: errors, threshold skill, warning lead time, calibration.

Continuous (per lead time :math:`h`, pooled over windows and points)
    MAE :math:`= \overline{|\hat y - y|}`, RMSE, and the Nash–Sutcliffe efficiency
    :math:`NSE = 1 - \sum(\hat y - y)^2 / \sum(y - \bar y)^2` (1 perfect, 0 no better
    than the mean of the observations), all of the median forecast against the **true**
    depth of the physics (the forecaster only saw the gauge).
Threshold exceedance (a ``2 × 2`` contingency table per lead and threshold; forecast
    "yes" when the median forecast reaches the threshold, i.e. probability ≥ 0.5)
    probability of detection :math:`POD = a/(a+c)`, false alarm ratio
    :math:`FAR = b/(a+b)`, critical success index :math:`CSI = a/(a+b+c)`, with
    :math:`a` hits, :math:`b` false alarms, :math:`c` misses (Wilks 2011, ch. 8).
Warning lead time (per exceedance episode)
    An episode starts at the first row where the true depth reaches the threshold
    (re-armed only after it falls ``hysteresis`` below). The warning lead is the time
    from the earliest issue of the **unbroken** run of warnings (issues whose forecast
    reaches the threshold at some lead within the horizon) that ends at the last issue
    before the onset, to the onset; 0 (missed) when that last issue gave no warning.
    Episodes with no issue time in the horizon before their onset are not scored.
Calibration
    Coverage of the central 80 % band: the share of true depths within
    ``[q_0.1, q_0.9]`` (0.8 for calibrated quantiles).

References
----------
Wilks, D. S. (2011). *Statistical Methods in the Atmospheric Sciences*, 3rd ed.,
Academic Press, ch. 8 (forecast verification).
Nash, J. E. and Sutcliffe, J. V. (1970). River flow forecasting through conceptual
models part I. *J. Hydrology* 10(3), 282–290.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twin._types import BoolArray, FloatArray, IntArray

__all__ = ["LeadAccumulator", "contingency_scores", "episode_onsets", "warning_leads"]


def contingency_scores(hits: float, false_alarms: float, misses: float) -> dict[str, float]:
    """POD, FAR and CSI from a contingency table (NaN where undefined)."""

    def ratio(a: float, b: float) -> float:
        return float(a / b) if b > 0 else float("nan")

    return {
        "pod": ratio(hits, hits + misses),
        "far": ratio(false_alarms, hits + false_alarms),
        "csi": ratio(hits, hits + false_alarms + misses),
    }


@dataclass
class LeadAccumulator:
    """Running sums of verification scores by lead time (so chunks can be added up)."""

    horizon: int
    thresholds: tuple[float, ...]
    n: FloatArray = field(init=False)
    abs_err: FloatArray = field(init=False)
    sq_err: FloatArray = field(init=False)
    obs_sum: FloatArray = field(init=False)
    obs_sq: FloatArray = field(init=False)
    covered: FloatArray = field(init=False)
    table: FloatArray = field(init=False)  # (thresholds, horizon, 3): hits, false alarms, misses

    def __post_init__(self) -> None:
        z = np.zeros(self.horizon)
        self.n, self.abs_err, self.sq_err = z.copy(), z.copy(), z.copy()
        self.obs_sum, self.obs_sq, self.covered = z.copy(), z.copy(), z.copy()
        self.table = np.zeros((len(self.thresholds), self.horizon, 3))

    def add(self, median: FloatArray, lo: FloatArray, hi: FloatArray, truth: FloatArray) -> None:
        """Add windows: median, 10 % and 90 % quantiles and truth, each ``(n, horizon)``."""
        err = median - truth
        self.n += truth.shape[0]
        self.abs_err += np.abs(err).sum(axis=0)
        self.sq_err += (err**2).sum(axis=0)
        self.obs_sum += truth.sum(axis=0)
        self.obs_sq += (truth**2).sum(axis=0)
        self.covered += ((truth >= lo) & (truth <= hi)).sum(axis=0)
        for i, thr in enumerate(self.thresholds):
            yes, obs = median >= thr, truth >= thr
            self.table[i, :, 0] += (yes & obs).sum(axis=0)
            self.table[i, :, 1] += (yes & ~obs).sum(axis=0)
            self.table[i, :, 2] += (~yes & obs).sum(axis=0)

    def scores(self) -> dict[str, FloatArray]:
        """MAE, RMSE, NSE, coverage and POD/FAR/CSI per threshold, by lead."""
        n = np.maximum(self.n, 1)
        sst = self.obs_sq - self.obs_sum**2 / n
        out: dict[str, FloatArray] = {
            "mae": self.abs_err / n,
            "rmse": np.sqrt(self.sq_err / n),
            "nse": np.where(sst > 0, 1.0 - self.sq_err / np.where(sst > 0, sst, 1.0), np.nan),
            "coverage_80": self.covered / n,
        }
        for i in range(len(self.thresholds)):
            sc = [contingency_scores(*self.table[i, h]) for h in range(self.horizon)]
            for key in ("pod", "far", "csi"):
                out[f"{key}_{i}"] = np.array([s[key] for s in sc])
        return out


def episode_onsets(depth: FloatArray, threshold: float, hysteresis: float = 0.02) -> IntArray:
    """Rows where a depth series starts an exceedance episode (see the module docstring)."""
    above = depth >= threshold
    low = depth < threshold - hysteresis
    onsets = []
    armed = True
    for k in range(depth.shape[0]):
        if armed and above[k]:
            onsets.append(k)
            armed = False
        elif not armed and low[k]:
            armed = True
    return np.array(onsets, dtype=np.int64)


def warning_leads(
    onsets: IntArray, issue_rows: IntArray, warned: BoolArray, horizon: int
) -> tuple[IntArray, BoolArray]:
    """Warning lead [steps] of each onset and whether it is scored.

    Parameters
    ----------
    onsets
        Onset rows of one series.
    issue_rows
        Rows of the issue times, increasing.
    warned
        Whether the forecast issued at each issue row reached the threshold within the
        horizon.
    horizon
        Lead steps.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lead [steps] (0: missed) and a mask of scored onsets.
    """
    leads = np.zeros(onsets.size, dtype=np.int64)
    scored = np.zeros(onsets.size, dtype=bool)
    for j, k_on in enumerate(onsets.tolist()):
        before = np.flatnonzero((issue_rows < k_on) & (issue_rows >= k_on - horizon))
        if before.size == 0:
            continue
        scored[j] = True
        i = int(before[-1])
        if not warned[i]:
            continue
        while i - 1 >= 0 and warned[i - 1] and issue_rows[i - 1] >= k_on - horizon:
            i -= 1
        leads[j] = k_on - int(issue_rows[i])
    return leads, scored
