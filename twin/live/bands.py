r"""Calibrated bands of the live physics ensemble: split conformal, steered online by ACI.

The physics ensemble's raw 10–90 % band is far too narrow on radar storms. Where its
model folder holds a conformal calibration (:mod:`twin.forecast.physics_calibration`:
split CQR per lead, fitted on placed radar storms), the service publishes the
calibrated quantiles, and steers the 10–90 % band online with adaptive conformal
inference (ACI, Gibbs & Candès 2021; :class:`~twin.forecast.adaptive.AdaptiveConformal`,
one :math:`\alpha_t` per lead):

.. math::

    \alpha_{t+1}(h) = \alpha_t(h) + \gamma\,(\alpha - \mathrm{err}_t(h)),

where :math:`\mathrm{err}_t(h)` counts the low points whose level-gauge reading at an
issue time fell outside the band issued :math:`h` steps before (wet-relevant ones only,
as the calibration). The service learns only from readings it has: an outcome is fed
back when the reading at its lead arrives, and the state carries from storm to storm.
The step :math:`\gamma` and whether there is one :math:`\alpha_t` per lead or one for all
are those ``twin forecast calibrate`` chose on the validation storms (saved with the
corrections) unless ``forecast.aci_gamma`` / ``aci_per_lead`` say otherwise.

Simplifications: the outcome is the gauge reading (noisy), not the true depth the
calibration used; the α_t survive a restart (stored with the alert state), the bands
issued before a restart do not, so their outcomes are not fed back. The alert
probabilities come from the ensemble members and are not changed by the bands.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from twin._types import FloatArray
from twin.forecast.adaptive import AdaptiveConformal
from twin.forecast.band_methods import BandMethod
from twin.forecast.conformal import ConformalCalibrator
from twin.forecast.coverage import level_index, wet_mask

if TYPE_CHECKING:
    from twin.forecast.physics_model import PhysicsModel
    from twin.live.config import ForecastConfig

__all__ = ["LiveBands"]

_VERSION = 1


class LiveBands:
    """Calibrated bands issue after issue (see the module docstring).

    Parameters
    ----------
    calibrator
        The model folder's fitted calibrator.
    gamma
        ACI step size [-]; 0: the split-conformal bands alone.
    step_ms
        Time between issue times [ms].
    """

    def __init__(
        self,
        calibrator: ConformalCalibrator,
        *,
        gamma: float,
        step_ms: int,
        per_lead: bool = True,
    ) -> None:
        self.calibrator = calibrator
        self.gamma = float(gamma)
        self.per_lead = bool(per_lead)
        self.step_ms = int(step_ms)
        self.horizon = h = calibrator.horizon
        self.aci = (
            AdaptiveConformal(calibrator, gamma=self.gamma, per_lead=self.per_lead)
            if self.gamma > 0
            else None
        )
        #: Issue time [ms] → (issued, raw) quantiles of the last ``horizon`` issues.
        self._issued: dict[int, tuple[FloatArray, FloatArray]] = {}
        #: Per lead: outcomes fed back, how many were covered, the bands' summed width [m].
        self._n, self._covered, self._width = np.zeros(h), np.zeros(h), np.zeros(h)
        lv = calibrator.settings.levels
        self._ends = (level_index(lv, 0.1, "lower"), level_index(lv, 0.9, "upper"))

    @classmethod
    def for_model(cls, model: PhysicsModel, forecast: ForecastConfig, *, step_ms: int) -> Self:
        """The bands of a calibrated model, steered as its folder chose unless configured.

        ``forecast.aci_gamma`` / ``aci_per_lead`` override the folder's choice
        (``twin forecast calibrate`` chose it on the validation storms).
        """
        assert model.calibrator is not None
        chosen = model.band_method or BandMethod()
        gamma = forecast.aci_gamma if forecast.aci_gamma is not None else chosen.gamma or 0.0
        per_lead = forecast.aci_per_lead
        return cls(
            model.calibrator, gamma=gamma, step_ms=step_ms,
            per_lead=chosen.per_lead if per_lead is None else per_lead,
        )  # fmt: skip

    @property
    def method(self) -> str:
        """How the bands are made, in words."""
        if self.aci is None:
            return "split conformal (radar storms)"
        how = "an α per lead" if self.per_lead else "one α for all leads"
        return f"split conformal (radar storms), ACI with {how}, gamma {self.gamma:g}"

    def issue(self, b_ms: int, raw: FloatArray, last: FloatArray) -> FloatArray:
        """Feed back the readings at ``b_ms``, then calibrate this issue's quantiles.

        Parameters
        ----------
        b_ms
            Issue time [ms].
        raw
            The ensemble's quantiles [m], ``(n_points, horizon, n_levels)``.
        last
            The level readings at ``b_ms`` [m] (NaN: none), ``(n_points,)``.
        """
        s = self.calibrator.settings
        lo, hi = self._ends
        y_now = np.asarray(last, dtype=np.float64)
        for b0, (issued, raw0) in sorted(self._issued.items()):
            lead, rest = divmod(b_ms - b0, self.step_ms)
            if rest or not 1 <= lead <= self.horizon or issued.shape[0] != y_now.size:
                continue
            h = lead - 1
            sel = (
                wet_mask(raw0[:, h : h + 1], y_now[:, None], wet_depth=s.wet_depth,
                         level=s.wet_level, levels=s.levels)[:, 0]
                if s.wet_depth is not None
                else np.isfinite(y_now)
            )  # fmt: skip
            if not sel.any():
                continue
            col = issued[sel, h]
            inside = (y_now[sel] >= col[:, lo]) & (y_now[sel] <= col[:, hi])
            self._n[h] += sel.sum()
            self._covered[h] += inside.sum()
            self._width[h] += float((col[:, hi] - col[:, lo]).sum())
            if self.aci is not None:
                y = np.full(issued.shape[:2], np.nan)
                y[:, h] = y_now
                mask = np.zeros(y.shape, dtype=bool)
                mask[:, h] = sel
                self.aci.observe(issued, y, mask=mask)
        out = self.aci.apply(raw) if self.aci is not None else self.calibrator.apply(raw)
        self._issued[b_ms] = (out, np.asarray(raw, dtype=np.float64))
        oldest = b_ms - self.horizon * self.step_ms
        self._issued = {b: v for b, v in self._issued.items() if oldest <= b <= b_ms}
        return out

    def summary(self) -> dict[str, Any]:
        """What the latest forecast says about its bands.

        The method; with ACI, its α_t (per lead, or one); per lead, the coverage so far of
        the readings fed back (None before any); in all: the outcomes, their coverage and
        the mean width of their 10–90 % bands [m]. ACI steers the coverage towards 0.8
        whatever the forecast, so the width says how sharp that coverage is.
        """
        out: dict[str, Any] = {"method": self.method}
        if self.aci is not None:
            if self.per_lead:
                alphas = [self.aci.stream("all", h).alpha_t for h in range(self.horizon)]
                out["alpha_t_by_lead"] = [round(a, 4) for a in alphas]
            else:
                out["alpha_t"] = round(self.aci.stream("all").alpha_t, 4)
        n = float(self._n.sum())
        by_lead = np.divide(self._covered, self._n, out=np.full(self.horizon, np.nan),
                            where=self._n > 0)  # fmt: skip
        return out | {
            "coverage_by_lead": [None if np.isnan(c) else round(float(c), 4) for c in by_lead],
            "outcomes": int(n),
            "coverage_10_90": round(float(self._covered.sum()) / n, 4) if n else None,
            "mean_width_10_90_m": round(float(self._width.sum()) / n, 4) if n else None,
        }

    def dumps(self) -> str:
        """The α_t streams and the tallies as JSON (the issued bands are not kept)."""
        streams = {}
        if self.aci is not None:
            for (_, lead), st in self.aci.streams.items():
                streams[str(lead)] = [st.alpha_t, st.n, st.n_covered]
        return json.dumps({
            "version": _VERSION, "gamma": self.gamma, "per_lead": self.per_lead,
            "streams": streams, "n": self._n.tolist(), "covered": self._covered.tolist(),
            "width": self._width.tolist(),
        })  # fmt: skip

    def restore(self, raw: str | None) -> None:
        """Back to a :meth:`dumps` state (None, another γ, mode or version: start afresh)."""
        self._reset()
        if raw is None:
            return
        try:
            doc = json.loads(raw)
            same = (doc.get("version"), float(doc.get("gamma")), doc.get("per_lead"))
            if same != (_VERSION, self.gamma, self.per_lead):
                return
            tallies = [np.asarray(doc[k], dtype=np.float64) for k in ("n", "covered", "width")]
            if any(t.shape != (self.horizon,) for t in tallies):
                return
            self._n, self._covered, self._width = tallies
            if self.aci is not None:
                for lead, (alpha_t, n, n_cov) in doc["streams"].items():
                    st = self.aci.stream("all", int(lead))
                    st.alpha_t, st.n, st.n_covered = float(alpha_t), int(n), int(n_cov)
        except (ValueError, TypeError, KeyError, AttributeError):
            self._reset()

    def _reset(self) -> None:
        if self.aci is not None:
            self.aci.streams.clear()
        h = self.horizon
        self._n, self._covered, self._width = np.zeros(h), np.zeros(h), np.zeros(h)
