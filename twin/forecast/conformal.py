r"""Conformal calibration of depth quantiles, per lead time and point class.

A forecaster's quantiles (:mod:`twin.forecast.base`) are often too narrow. This module
widens (or narrows) them so that the central bands cover what they claim on held-out
storms, with a finite-sample guarantee.

Split conformalised quantile regression (CQR, Romano et al. 2019 [1]_)
    For each symmetric pair of levels :math:`(\tau, 1-\tau)` (0.25/0.75, 0.1/0.9,
    0.05/0.95), nominal miscoverage :math:`\alpha = 2\tau`, every lead :math:`h` and every
    group :math:`g` (point class), the conformity score of a calibration entry is

    .. math::

        E_i = \max\bigl(\hat q_\tau(x_i) - y_i,\; y_i - \hat q_{1-\tau}(x_i)\bigr),

    and the correction is its :math:`k`-th smallest value,
    :math:`\hat Q = E_{(k)}`, :math:`k = \lceil (n+1)(1-\alpha) \rceil` (the empirical
    quantile at level :math:`\lceil (n+1)(1-\alpha) \rceil / n`). The band
    :math:`[\hat q_\tau - \hat Q,\ \hat q_{1-\tau} + \hat Q]` then covers a new
    exchangeable entry of the same group and lead with probability at least
    :math:`1-\alpha` (and below :math:`1-\alpha+1/(n+1)` for scores without ties).
    Calibrating within groups is Mondrian conformal prediction (Vovk et al. 2005 [4]_):
    the guarantee holds per group. With ``scale="log"`` the same is done on
    :math:`z = \ln(y + \varepsilon)`, so corrections multiply :math:`(q + \varepsilon)`
    by :math:`e^{\mp \hat Q}` (depth ≥ 0, errors that grow with depth).
Assembly (sorted and ≥ 0, never narrowing a band below its CQR band)
    The innermost corrected pair is collapsed to its midpoint if it crossed; each outer
    pair is widened to contain the next inner one (:math:`\ell_k \leftarrow
    \min(\ell_k, \ell_{k-1})`, :math:`u_k \leftarrow \max(u_k, u_{k-1})`); the median is
    placed (``median``: ``"keep"`` the forecaster's, ``"shift"`` it by the calibration
    median of :math:`y - \hat q_{0.5}`, or ``"centre"`` of the innermost band) and clipped
    into the innermost band; everything is clipped at 0. Widening and clipping at 0
    (depths are ≥ 0) can only raise coverage, so the lower bound above still holds.
Dry entries
    A dry entry (nothing observed, nothing forecast) is covered by any band and inflates
    coverage. By default (``wet_depth=0.01``) only *wet-relevant* entries are used: the
    observed depth or the forecast 0.9 quantile exceeds ``wet_depth`` [m]. Calibration and
    a test subset chosen by the same rule are exchangeable, so the guarantee holds on
    wet entries; the corrections are applied to every entry. Report both (see
    :func:`wet_mask` and :func:`coverage_table`).
Small groups
    A cell (group, lead) with fewer than ``min_count`` entries (or ``min_events`` events)
    uses the entries of all groups at that lead; failing that, of all groups and leads.
    Unknown groups at prediction time use the pooled corrections.
Adaptive conformal inference (ACI, Gibbs & Candès 2021 [2]_)
    Online, the target miscoverage :math:`\alpha` is replaced by :math:`\alpha_t`,

    .. math::

        \alpha_{t+1} = \alpha_t + \gamma\,(\alpha - \mathrm{err}_t), \qquad
        \mathrm{err}_t = \mathbf 1\{y_t \notin C_t(\alpha_t)\},

    so that :math:`|\tfrac1T \sum_t \mathrm{err}_t - \alpha| \le (\max(\alpha_1,
    1-\alpha_1) + \gamma)/(\gamma T)` whatever the drift. The bound assumes an infinite
    band when :math:`\alpha_t \le 0`; here the band then uses the largest calibration
    score, so it holds while the drift stays within the range of those scores. The
    score quantile at level :math:`1-\alpha_t` is read from a grid kept per cell.

Exchangeability: windows of one storm overlap and are correlated, so calibrate and test
on separate storms (:func:`split_events`), never on the storms the forecaster was trained
on. Storms, not windows, are then the exchangeable units: the coverage of a test set
varies with its number of storms more than with its number of windows. Angelopoulos &
Bates [3]_ give a gentle introduction.

References
----------
.. [1] Y. Romano, E. Patterson, E. J. Candès, "Conformalized quantile regression",
   *Advances in Neural Information Processing Systems* 32, 2019.
.. [2] I. Gibbs, E. J. Candès, "Adaptive conformal inference under distribution
   shift", *Advances in Neural Information Processing Systems* 34, 2021.
.. [3] A. N. Angelopoulos, S. Bates, "Conformal prediction: a gentle introduction",
   *Foundations and Trends in Machine Learning* 16(4), 494–591, 2023.
.. [4] V. Vovk, A. Gammerman, G. Shafer, *Algorithmic Learning in a Random World*,
   Springer, 2005 (Mondrian conformal predictors).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import BoolArray, FloatArray, IntArray, StrArray
from twin.forecast.base import QUANTILES
from twin.forecast.coverage import check_arrays, factorize, level_index, wet_mask
from twin.forecast.errors import ForecastError
from twin.forecast.features import STATIC_FEATURES, PointFeatures

__all__ = [
    "ConformalCalibrator",
    "ConformalSettings",
    "point_class",
    "split_events",
]

logger = logging.getLogger(__name__)

FORMAT = "twin-conformal-calibrator"
FORMAT_VERSION = 1
#: Where a cell's correction comes from: its own entries, all groups at its lead, all.
SOURCES = ("own", "pooled_groups", "pooled_all")


# ---------------------------------------------------------------------- array kernels
def _pairs(levels: tuple[float, ...]) -> list[tuple[int, int]]:
    """Index pairs ``(lower, upper)`` of symmetric levels, innermost first."""
    if list(levels) != sorted(set(levels)) or 0.5 not in levels:
        raise ForecastError(f"quantile levels {levels}: give strictly increasing levels with 0.5.")
    if levels[0] <= 0.0 or levels[-1] >= 1.0:
        raise ForecastError(f"quantile levels {levels}: each must lie in (0, 1).")
    mid = levels.index(0.5)
    lower, upper = levels[:mid], levels[mid + 1 :]
    if len(lower) != len(upper) or not np.allclose(lower, [1 - u for u in upper[::-1]]):
        raise ForecastError(
            f"quantile levels {levels} are not symmetric about 0.5; conformal pairs need "
            "each level τ < 0.5 with 1 - τ (e.g. 0.1 with 0.9)."
        )
    return [(mid - k, mid + k) for k in range(1, mid + 1)]


def point_class(points: PointFeatures) -> StrArray:
    """Class of each low point for calibration: ``"underpass"`` or ``"street"``.

    Read from the static feature ``is_underpass`` (the model's points know no more).
    Index with ``Windows.point`` to label windows.
    """
    col = points.static[:, STATIC_FEATURES.index("is_underpass")]
    return np.where(col > 0.5, "underpass", "street").astype(np.str_)


def split_events(
    events: npt.ArrayLike | Iterable[Hashable], *, share: float = 0.5, seed: int
) -> BoolArray:
    """Mask of the windows whose event (storm) falls in a random calibration share.

    Whole events go to one side, so calibration and test are exchangeable over events.

    Parameters
    ----------
    events
        An event id per window.
    share
        Share of the events that calibrate [-].
    seed
        Seed of the random choice.
    """
    if not 0.0 < share < 1.0:
        raise ForecastError(f"share {share}: give a share of events in (0, 1).")
    codes, labels = factorize(events, None)
    if len(labels) < 2:
        raise ForecastError("one event only: give windows of at least two events to split.")
    k = max(1, min(len(labels) - 1, round(share * len(labels))))
    chosen = np.random.default_rng(seed).permutation(len(labels))[:k]
    return np.isin(codes, chosen)


def _kth(scores: FloatArray, alphas: FloatArray) -> FloatArray:
    """Finite-sample CQR corrections of ``scores`` ``(m, P)``, one per α ``(P,)``."""
    m = scores.shape[0]
    k = np.ceil((m + 1) * (1.0 - alphas) - 1e-9).astype(np.int64)
    srt = np.sort(scores, axis=0)
    return np.asarray(srt[np.minimum(k, m) - 1, np.arange(alphas.size)], dtype=np.float64)


# ---------------------------------------------------------------------- split CQR
@dataclass(frozen=True)
class ConformalSettings:
    r"""Settings of :class:`ConformalCalibrator` (see the module docstring).

    Attributes
    ----------
    levels
        Quantile levels of the forecasts [-], symmetric about 0.5.
    scale
        ``"additive"`` corrections [m], or ``"log"``: on :math:`\ln(y + \varepsilon)`.
    log_offset
        :math:`\varepsilon` of the log scale [m].
    median
        ``"keep"``, ``"shift"`` (by the calibration median error) or ``"centre"``.
    wet_depth
        Calibrate on wet-relevant entries only (:func:`wet_mask`) [m]; None: all.
    wet_level
        Forecast level compared with ``wet_depth`` [-].
    min_count
        Fewest entries for a cell's own correction (at least enough for a finite
        :math:`\lceil (n+1)(1-\alpha) \rceil \le n` for every pair).
    min_events
        Fewest distinct events (storms) for a cell's own correction, when events are
        given: storms, not windows, are the exchangeable units.
    grid_size
        Points of each cell's score quantile grid kept for ACI.
    """

    levels: tuple[float, ...] = QUANTILES
    scale: Literal["additive", "log"] = "additive"
    log_offset: float = 0.01
    median: Literal["keep", "shift", "centre"] = "keep"
    wet_depth: float | None = 0.01
    wet_level: float = 0.9
    min_count: int = 50
    min_events: int = 5
    grid_size: int = 101

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(float(x) for x in self.levels))
        _pairs(self.levels)
        level_index(self.levels, self.wet_level, "wet")
        if self.scale not in ("additive", "log"):
            raise ForecastError(f"scale {self.scale!r}: use 'additive' or 'log'.")
        if self.median not in ("keep", "shift", "centre"):
            raise ForecastError(f"median {self.median!r}: use 'keep', 'shift' or 'centre'.")
        if self.log_offset <= 0 or self.min_count < 1 or self.min_events < 1:
            raise ForecastError("log_offset must be > 0 [m], min_count and min_events ≥ 1.")
        if self.grid_size < 3:
            raise ForecastError(f"grid_size {self.grid_size}: give at least 3.")

    @property
    def alphas(self) -> FloatArray:
        """Nominal miscoverage of each pair, innermost first [-]."""
        return np.array([2.0 * self.levels[lo] for lo, _ in _pairs(self.levels)])


@dataclass(eq=False)
class ConformalCalibrator:
    r"""Split CQR per (group, lead) for every symmetric pair of quantile levels.

    Examples
    --------
    >>> cal = ConformalCalibrator().fit(q_cal, y_cal, groups_cal, events=storm_cal)
    >>> q_test_calibrated = cal.apply(q_test, groups_test)

    Attributes
    ----------
    settings
        The settings.
    groups
        Group labels seen at fit; row ``len(groups)`` of the arrays is the pool of all.
    corrections
        :math:`\hat Q` per (group row, lead, pair), shape ``(G+1, H, P)`` [m, or -
        on the log scale]; pairs innermost first.
    median_shift
        Calibration median of :math:`y - \hat q_{0.5}`, shape ``(G+1, H)``.
    counts, events
        Own entries and distinct events per cell, shape ``(G+1, H)``.
    source
        Index into :data:`SOURCES` per cell, shape ``(G+1, H)``.
    n_used
        Entries behind each cell's correction, shape ``(G+1, H)``.
    grid
        Score quantiles at levels ``linspace(0, 1, grid_size)``, ``(G+1, H, P, K)``.
    """

    settings: ConformalSettings = field(default_factory=ConformalSettings)
    groups: list[Hashable] = field(default_factory=list)
    corrections: FloatArray = field(repr=False, default_factory=lambda: np.empty((0, 0, 0)))
    median_shift: FloatArray = field(repr=False, default_factory=lambda: np.empty((0, 0)))
    counts: IntArray = field(repr=False, default_factory=lambda: np.empty((0, 0), np.int64))
    events: IntArray = field(repr=False, default_factory=lambda: np.empty((0, 0), np.int64))
    source: IntArray = field(repr=False, default_factory=lambda: np.empty((0, 0), np.int64))
    n_used: IntArray = field(repr=False, default_factory=lambda: np.empty((0, 0), np.int64))
    grid: FloatArray = field(repr=False, default_factory=lambda: np.empty((0, 0, 0, 0)))

    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` has run (or the state was loaded)."""
        return self.corrections.size > 0

    @property
    def horizon(self) -> int:
        """Lead steps calibrated."""
        return int(self.corrections.shape[1])

    # -------------------------------------------------------------- transforms
    def _z(self, x: FloatArray) -> FloatArray:
        if self.settings.scale == "log":
            return np.log(np.maximum(x, 0.0) + self.settings.log_offset)
        return x

    def _unz(self, z: FloatArray) -> FloatArray:
        if self.settings.scale == "log":
            return np.exp(z) - self.settings.log_offset
        return z

    # -------------------------------------------------------------- fit
    def fit(
        self,
        quantiles: npt.ArrayLike,
        observed: npt.ArrayLike,
        groups: npt.ArrayLike | Iterable[Hashable] | None = None,
        *,
        events: npt.ArrayLike | Iterable[Hashable] | None = None,
    ) -> Self:
        """Compute corrections from calibration windows (not used to train the model).

        Parameters
        ----------
        quantiles
            Raw forecast depth quantiles [m], shape ``(n, H, len(levels))``.
        observed
            Observed (true) depths [m], shape ``(n, H)``; NaN entries are skipped.
        groups
            A hashable label per window (point class); default one group.
        events
            An event (storm) id per window, for ``min_events``.

        Returns
        -------
        ConformalCalibrator
            ``self``, fitted.

        Raises
        ------
        ForecastError
            Bad shapes or levels, or too few entries even when all are pooled.
        """
        s = self.settings
        q, y = check_arrays(quantiles, observed, len(s.levels))
        assert y is not None
        n, horizon = y.shape
        gcode, labels = factorize(groups, n)
        ecode = factorize(events, n)[0] if events is not None else np.arange(n)
        pairs = _pairs(s.levels)
        alphas = s.alphas
        mid = s.levels.index(0.5)
        valid = (
            wet_mask(q, y, wet_depth=s.wet_depth, level=s.wet_level, levels=s.levels)
            if s.wet_depth is not None
            else np.isfinite(y)
        )
        z, zy = self._z(q), self._z(np.nan_to_num(y))
        scores = np.stack(
            [np.maximum(z[:, :, lo] - zy, zy - z[:, :, hi]) for lo, hi in pairs], axis=-1
        )  # (n, H, P)
        resid = zy - z[:, :, mid]
        n_g, n_p, k_grid = len(labels), len(pairs), s.grid_size
        need = max(s.min_count, int(np.ceil((1.0 - alphas.min()) / alphas.min() - 1e-9)))
        grid_p = np.linspace(0.0, 1.0, k_grid)

        def summarise(
            sel: BoolArray, h: int | None
        ) -> tuple[int, int, FloatArray, float, FloatArray]:
            sc = scores[sel] if h is None else scores[:, h][sel]
            rs = resid[sel] if h is None else resid[:, h][sel]
            ev = np.broadcast_to(ecode[:, None], valid.shape)[sel] if h is None else ecode[sel]
            m = int(sc.shape[0])
            if m == 0:
                return 0, 0, np.full(n_p, np.nan), np.nan, np.full((n_p, k_grid), np.nan)
            grid = np.quantile(sc, grid_p, axis=0, method="inverted_cdf").T
            return m, int(np.unique(ev).size), _kth(sc, alphas), float(np.median(rs)), grid

        own = [
            [summarise(valid[:, h] & (gcode == g), h) for h in range(horizon)] for g in range(n_g)
        ]
        pooled = [summarise(valid[:, h], h) for h in range(horizon)]
        everything = summarise(valid, None)

        def ok(cell: tuple[Any, ...]) -> bool:
            return bool(cell[0] >= need and (events is None or cell[1] >= s.min_events))

        if not ok(everything):
            raise ForecastError(
                f"only {everything[0]} usable calibration entries (of {n * horizon}; "
                f"{'wet-relevant, ' if s.wet_depth is not None else ''}observed) in "
                f"{everything[1]} event(s); give at least {need} entries"
                f"{f' from {s.min_events} events' if events is not None else ''}, lower "
                "min_count, or set wet_depth=None."
            )
        shape = (n_g + 1, horizon)
        self.corrections = np.empty((*shape, n_p))
        self.grid = np.empty((*shape, n_p, k_grid))
        self.median_shift = np.empty(shape)
        self.counts, self.events = np.empty(shape, np.int64), np.empty(shape, np.int64)
        self.source, self.n_used = np.empty(shape, np.int64), np.empty(shape, np.int64)
        for g in range(n_g + 1):
            for h in range(horizon):
                cell = own[g][h] if g < n_g else pooled[h]
                chain = [cell, pooled[h], everything] if g < n_g else [cell, everything, everything]
                src = next(i for i, c in enumerate(chain) if ok(c))
                use = chain[src]
                self.counts[g, h], self.events[g, h] = cell[0], cell[1]
                self.source[g, h] = src if g < n_g else 2 * src
                self.n_used[g, h] = use[0]
                self.corrections[g, h], self.median_shift[g, h] = use[2], use[3]
                self.grid[g, h] = use[4]
        self.groups = labels
        n_fb = int((self.source[:n_g] > 0).sum())
        logger.info(
            "conformal fit: %d windows, %d groups, %d leads, %d usable entries, %d of %d "
            "cells fall back to pooled corrections",
            n, n_g, horizon, everything[0], n_fb, n_g * horizon,
        )  # fmt: skip
        return self

    # -------------------------------------------------------------- apply
    def _rows(self, codes: IntArray, labels: list[Hashable]) -> IntArray:
        """Row of each window's group in the arrays (unknown groups: the pooled row)."""
        lookup = {lab: i for i, lab in enumerate(self.groups)}
        unknown = [lab for lab in labels if lab not in lookup]
        if unknown:
            logger.info("conformal: unknown group(s) %s use pooled corrections", unknown[:5])
        lut = np.array([lookup.get(lab, len(self.groups)) for lab in labels], dtype=np.int64)
        return lut[codes]

    def _check_fitted(self, q: FloatArray) -> None:
        if not self.fitted:
            raise ForecastError("the conformal calibrator is not fitted; call fit() first.")
        if q.shape[1] != self.horizon:
            raise ForecastError(
                f"quantiles have {q.shape[1]} leads; the calibrator was fitted on {self.horizon}."
            )

    def apply(
        self,
        quantiles: npt.ArrayLike,
        groups: npt.ArrayLike | Iterable[Hashable] | None = None,
    ) -> FloatArray:
        """Calibrated depth quantiles [m], sorted along the last axis and ≥ 0.

        Parameters
        ----------
        quantiles
            Raw forecast quantiles [m], shape ``(n, H, len(levels))``.
        groups
            A label per window (default ``"all"``: right for a calibrator fitted without
            groups; otherwise an unknown group, which gets the pooled corrections).

        Returns
        -------
        numpy.ndarray
            Shape of ``quantiles``.
        """
        q, _ = check_arrays(quantiles, None, len(self.settings.levels))
        self._check_fitted(q)
        rows = self._rows(*factorize(groups, q.shape[0]))
        return self._assemble(q, rows, self.corrections[rows])

    def corrections_at(self, rows: IntArray, alpha_ratio: FloatArray) -> FloatArray:
        r"""Corrections when each pair's α is scaled by ``alpha_ratio`` (ACI).

        Pair ``k`` of a cell with ``m`` entries gets the score quantile at level
        :math:`\min(1, \lceil (m+1)(1 - r\alpha_k) \rceil / m)` (clipped to [0, 1]),
        interpolated linearly in the cell's grid (exactly the split corrections where
        the ratio is 1). Shapes: ``rows`` ``(n,)``, ``alpha_ratio`` ``(n, H)``; returns
        ``(n, H, P)``.
        """
        m = self.n_used[rows][:, :, None].astype(np.float64)
        a = np.maximum(alpha_ratio[:, :, None], 0.0) * self.settings.alphas
        p = np.clip(np.ceil((m + 1.0) * (1.0 - a) - 1e-9) / m, 0.0, 1.0)
        x = p * (self.settings.grid_size - 1)
        j = np.minimum(np.floor(x).astype(np.int64), self.settings.grid_size - 2)
        r, h, k = rows[:, None, None], np.arange(m.shape[1])[:, None], np.arange(a.shape[2])
        lo, hi = self.grid[r, h, k, j], self.grid[r, h, k, j + 1]
        out = lo + (x - j) * (hi - lo)
        exact = np.broadcast_to((alpha_ratio == 1.0)[:, :, None], out.shape)
        return np.asarray(np.where(exact, self.corrections[rows], out), dtype=np.float64)

    def _assemble(self, q: FloatArray, rows: IntArray, corr: FloatArray) -> FloatArray:
        """Corrected quantiles: pairs widened by ``corr`` ``(n, H, P)``, nested, median, ≥ 0."""
        s = self.settings
        z = self._z(q)
        out = np.empty_like(z)
        lo_prev = hi_prev = None
        for k, (lo, hi) in enumerate(_pairs(s.levels)):
            zl, zh = z[:, :, lo] - corr[:, :, k], z[:, :, hi] + corr[:, :, k]
            if lo_prev is None or hi_prev is None:
                cross = zl > zh
                midpoint = 0.5 * (zl + zh)
                zl, zh = np.where(cross, midpoint, zl), np.where(cross, midpoint, zh)
            else:
                zl, zh = np.minimum(zl, lo_prev), np.maximum(zh, hi_prev)
            out[:, :, lo], out[:, :, hi] = zl, zh
            lo_prev, hi_prev = zl, zh
        mid = s.levels.index(0.5)
        in_lo, in_hi = out[:, :, mid - 1], out[:, :, mid + 1]
        if s.median == "shift":
            zm = z[:, :, mid] + self.median_shift[rows]
        elif s.median == "centre":
            zm = 0.5 * (in_lo + in_hi)
        else:
            zm = z[:, :, mid]
        out[:, :, mid] = np.clip(zm, in_lo, in_hi)
        return np.maximum(self._unz(out), 0.0)

    # -------------------------------------------------------------- reporting and state
    def corrections_frame(self) -> pd.DataFrame:
        """One row per (group, lead, pair): correction, source, counts (for model cards)."""
        if not self.fitted:
            raise ForecastError("the conformal calibrator is not fitted; call fit() first.")
        lv = self.settings.levels
        shape = self.corrections.shape  # (G+1, H, P)
        g, h, k = (a.ravel() for a in np.indices(shape))
        labels = np.empty(shape[0], dtype=object)
        labels[:] = [*self.groups, "*pooled*"]
        bands = np.array([f"{lv[lo]:g}-{lv[hi]:g}" for lo, hi in _pairs(lv)])
        cols = {"group": labels[g], "lead": h + 1, "band": bands[k]}
        cols |= {
            "correction": self.corrections.ravel(),
            "source": np.array(SOURCES)[self.source[g, h]],
        }
        return pd.DataFrame({**cols, "n": self.counts[g, h], "n_used": self.n_used[g, h]})

    def get_state(self) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
        """JSON-able settings and group labels, and the named arrays.

        Raises
        ------
        ForecastError
            Not fitted, or a group label that JSON cannot hold (use str, int, float or bool).
        """
        if not self.fitted:
            raise ForecastError("the conformal calibrator is not fitted; nothing to save.")
        bad = [g for g in self.groups if not isinstance(g, str | int | float | bool)]
        if bad:
            raise ForecastError(
                f"group label(s) {bad[:3]} cannot be saved; use str, int, float or bool labels."
            )
        config = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "settings": {**asdict(self.settings), "levels": list(self.settings.levels)},
            "groups": list(self.groups),
            "sources": list(SOURCES),
        }
        arrays: dict[str, npt.NDArray[Any]] = {
            "corrections": self.corrections,
            "median_shift": self.median_shift,
            "counts": self.counts,
            "events": self.events,
            "source": self.source,
            "n_used": self.n_used,
            "grid": self.grid,
        }
        return config, arrays

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> Self:
        """Rebuild a fitted calibrator from :meth:`get_state`'s output."""
        if config.get("format") != FORMAT:
            raise ForecastError(f"not a conformal calibrator (format {config.get('format')!r}).")
        if int(config.get("format_version", 0)) > FORMAT_VERSION:
            raise ForecastError(
                f"conformal format version {config['format_version']} is newer than this twin "
                f"reads ({FORMAT_VERSION}); update the twin."
            )
        try:
            st = dict(config["settings"])
            st["levels"] = tuple(st["levels"])
            out = cls(
                settings=ConformalSettings(**st),
                groups=list(config["groups"]),
                corrections=np.asarray(arrays["corrections"], np.float64),
                median_shift=np.asarray(arrays["median_shift"], np.float64),
                counts=np.asarray(arrays["counts"], np.int64),
                events=np.asarray(arrays["events"], np.int64),
                source=np.asarray(arrays["source"], np.int64),
                n_used=np.asarray(arrays["n_used"], np.int64),
                grid=np.asarray(arrays["grid"], np.float64),
            )
        except (KeyError, TypeError) as exc:
            raise ForecastError(
                f"conformal state lacks or mangles {exc}; save it with get_state()."
            ) from exc
        if out.corrections.shape[0] != len(out.groups) + 1:
            raise ForecastError("conformal state: arrays do not match the group labels.")
        return out
