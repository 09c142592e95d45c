"""Adaptive conformal inference (ACI) for forecasts issued online.

The split-conformal corrections of :mod:`twin.forecast.conformal` hold on average over
storms like the calibration storms. Online, where storms drift, ACI (Gibbs & Candès 2021)
steers each band's miscoverage level with the coverage actually seen:
``α_{t+1} = α_t + γ (α − err_t)``.

References
----------
.. [1] I. Gibbs, E. Candès, "Adaptive conformal inference under distribution shift",
   NeurIPS 2021.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from twin._types import BoolArray, FloatArray
from twin.forecast.conformal import ConformalCalibrator
from twin.forecast.coverage import check_arrays, factorize, level_index
from twin.forecast.errors import ForecastError

__all__ = ["AdaptiveAlpha", "AdaptiveConformal"]


# ---------------------------------------------------------------------- ACI
@dataclass
class AdaptiveAlpha:
    r"""One stream of adaptive conformal inference (ACI, Gibbs & Candès 2021).

    :math:`\alpha_{t+1} = \alpha_t + \gamma(\alpha - \mathrm{err}_t)`, with
    :math:`\mathrm{err}_t = 1` when the observation fell outside the band.

    Attributes
    ----------
    target
        Target miscoverage :math:`\alpha` [-] (0.2 for the 10–90 % band).
    gamma
        Step size :math:`\gamma` [-] (larger: faster, noisier).
    alpha_t
        Current :math:`\alpha_t` (starts at ``target``).
    n, n_covered
        Feedback received and how much of it was covered.
    """

    target: float
    gamma: float = 0.005
    alpha_t: float = float("nan")
    n: int = 0
    n_covered: int = 0

    def __post_init__(self) -> None:
        if not (0.0 < self.target < 1.0 and self.gamma > 0.0):
            raise ForecastError(f"ACI target {self.target} must be in (0, 1), gamma > 0.")
        if math.isnan(self.alpha_t):
            self.alpha_t = self.target

    def update(self, covered: bool) -> float:
        """Feed one outcome (was the observation in the band?); returns the new α_t."""
        return self.update_many(np.array([bool(covered)]))

    def update_many(self, covered: npt.ArrayLike) -> float:
        """Feed outcomes in time order, all issued with the current α_t (a batch)."""
        c = np.asarray(covered, dtype=bool).ravel()
        self.alpha_t += self.gamma * (c.size * self.target - float((~c).sum()))
        self.n += c.size
        self.n_covered += int(c.sum())
        return self.alpha_t

    @property
    def coverage(self) -> float:
        """Running coverage of the feedback [-] (NaN before any)."""
        return self.n_covered / self.n if self.n else float("nan")


class AdaptiveConformal:
    r"""ACI on top of a fitted :class:`ConformalCalibrator`, one α_t per group (and lead).

    The band ``lower``–``upper`` is steered to its nominal coverage; every pair's α is
    scaled by the same ratio :math:`\alpha_t / \alpha`, so the bands stay nested.
    Feed outcomes when the observation at a lead arrives (``lead`` steps after issue).

    Parameters
    ----------
    calibrator
        A fitted calibrator (its score grids are used).
    lower, upper
        The steered band [-].
    gamma
        ACI step size [-].
    per_lead
        One α_t per (group, lead) (default) or per group.

    Examples
    --------
    At each issue time, calibrate with the current α_t; when the depths at the lead
    times arrive, feed back the outcomes of the quantiles that were issued:

    >>> aci = AdaptiveConformal(cal, gamma=0.005)
    >>> issued = aci.apply(raw, groups)
    >>> aci.observe(issued, observed, groups, mask=wet_mask(raw, observed))
    """

    def __init__(
        self,
        calibrator: ConformalCalibrator,
        *,
        lower: float = 0.1,
        upper: float = 0.9,
        gamma: float = 0.005,
        per_lead: bool = True,
    ) -> None:
        if not calibrator.fitted:
            raise ForecastError("the conformal calibrator is not fitted; call fit() first.")
        lv = calibrator.settings.levels
        i, j = level_index(lv, lower, "lower"), level_index(lv, upper, "upper")
        if i + j != len(lv) - 1 or i >= j:
            raise ForecastError(f"levels {lower}/{upper} are not a symmetric pair of {lv}.")
        self.calibrator, self.lower, self.upper, self._ends = calibrator, lower, upper, (i, j)
        self.target, self.gamma, self.per_lead = 2.0 * lv[i], gamma, per_lead
        self.streams: dict[tuple[Hashable, int], AdaptiveAlpha] = {}

    def stream(self, group: Hashable, lead: int = 0) -> AdaptiveAlpha:
        """The α_t stream of a group (and lead, 0-based), created at the target."""
        key = (group, lead if self.per_lead else -1)
        if key not in self.streams:
            self.streams[key] = AdaptiveAlpha(self.target, self.gamma)
        return self.streams[key]

    def update(self, covered: bool, *, group: Hashable = "all", lead: int = 0) -> float:
        """Feed one outcome of a group (and lead); returns the new α_t."""
        return self.stream(group, lead).update(covered)

    def apply(
        self, quantiles: npt.ArrayLike, groups: npt.ArrayLike | Iterable[Hashable] | None = None
    ) -> FloatArray:
        """Calibrated quantiles [m] with the current α_t of each window's group and lead."""
        cal = self.calibrator
        q, _ = check_arrays(quantiles, None, len(cal.settings.levels))
        cal._check_fitted(q)
        n, horizon = q.shape[:2]
        codes, labels = factorize(groups, n)
        ratio = np.array(
            [[self.stream(lab, h).alpha_t / self.target for h in range(horizon)] for lab in labels]
        )[codes]
        rows = cal._rows(codes, labels)
        return cal._assemble(q, rows, cal.corrections_at(rows, ratio))

    def observe(
        self,
        quantiles: npt.ArrayLike,
        observed: npt.ArrayLike,
        groups: npt.ArrayLike | Iterable[Hashable] | None = None,
        *,
        mask: npt.ArrayLike | None = None,
    ) -> BoolArray:
        """Feed the outcomes of issued (calibrated) quantiles; returns ``covered`` ``(n, H)``.

        Entries that are NaN or outside ``mask`` are skipped. To steer the same population
        the calibrator was fitted on, pass ``mask=wet_mask(raw_quantiles, observed)``.
        """
        q, y = check_arrays(quantiles, observed, len(self.calibrator.settings.levels))
        assert y is not None
        lo, hi = q[:, :, self._ends[0]], q[:, :, self._ends[1]]
        covered = (y >= lo) & (y <= hi)
        use = np.isfinite(y) if mask is None else np.isfinite(y) & np.asarray(mask, dtype=bool)
        codes, labels = factorize(groups, q.shape[0])
        for g, lab in enumerate(labels):
            for h in range(q.shape[1]):
                sel = use[:, h] & (codes == g)
                if sel.any():
                    self.stream(lab, h).update_many(covered[sel, h])
        return np.asarray(covered, dtype=bool)

    def replay(
        self,
        quantiles: npt.ArrayLike,
        observed: npt.ArrayLike,
        issue_steps: npt.ArrayLike,
        *,
        mask: npt.ArrayLike | None = None,
        flush: bool = False,
    ) -> FloatArray:
        """Issue calibrated bands over a replay, learning only from outcomes already seen.

        At each issue time the bands are calibrated with the current α_t; before that,
        every outcome that has arrived by then is fed back: the depth at lead ``h``
        (1-based) of an issue at step ``s`` is known from step ``s + h`` on. Nothing of
        the future steers a band, so the coverage of what this returns is an honest
        online figure.

        Parameters
        ----------
        quantiles
            Raw quantiles [m], shape ``(K, n, H, len(levels))``: ``K`` issue times of ``n``
            windows (e.g. the low points) with ``H`` leads, one step apart.
        observed
            Observed depths [m] ``(K, n, H)``, fed back only once they are known.
        issue_steps
            Issue times in steps (increasing integers), shape ``(K,)``.
        mask
            Outcomes to feed back ``(K, n, H)`` (e.g. :func:`wet_mask`); default all
            observed ones.
        flush
            Once the last band is issued, feed back every outcome not fed yet (they all
            arrive after the replay): the α_t streams then carry the whole event into
            the next replay with the same object, as a service's would from storm to
            storm.

        Returns
        -------
        numpy.ndarray
            The issued (calibrated) quantiles, shape ``(K, n, H, len(levels))``.
        """
        q = np.asarray(quantiles, dtype=np.float64)
        y = np.asarray(observed, dtype=np.float64)
        steps = np.asarray(issue_steps, dtype=np.int64)
        if q.ndim != 4 or y.shape != q.shape[:3] or steps.shape != q.shape[:1]:
            raise ForecastError(
                f"quantiles {q.shape}, observed {y.shape} and issue_steps {steps.shape} do "
                "not fit: give (K, n, H, levels), (K, n, H) and (K,)"
            )
        if steps.size > 1 and np.any(np.diff(steps) <= 0):
            raise ForecastError("issue_steps must increase")
        use = np.isfinite(y) if mask is None else np.isfinite(y) & np.asarray(mask, dtype=bool)
        k_all, _, horizon = y.shape
        known_at = steps[:, None] + np.arange(1, horizon + 1)[None, :]  # (K, H)
        fed = np.zeros((k_all, horizon), dtype=bool)
        issued = np.empty_like(q)
        for k in range(k_all + int(flush)):
            now = steps[k] if k < k_all else np.iinfo(np.int64).max
            ready = ~fed[:k] & (known_at[:k] <= now)
            # In the order the outcomes arrive (then by issue): what a service would see.
            order = sorted(zip(*np.nonzero(ready), strict=True), key=lambda jh: known_at[jh])
            for j, h in order:
                only = np.zeros(use.shape[1:], dtype=bool)
                only[:, h] = use[j, :, h]
                if only.any():
                    self.observe(issued[j], y[j], mask=only)
            fed[:k] |= ready
            if k < k_all:
                issued[k] = self.apply(q[k])
        return issued
