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
back when the reading at its lead arrives, and the state carries from storm to storm
(``bench_forecast_radar`` scores this way of running ACI among others).

Simplifications: the outcome is the gauge reading (noisy), not the true depth the
calibration used; the α_t survive a restart (stored with the alert state), the bands
issued before a restart do not, so their outcomes are not fed back. The alert
probabilities come from the ensemble members and are not changed by the bands.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from twin._types import FloatArray
from twin.forecast.adaptive import AdaptiveConformal
from twin.forecast.conformal import ConformalCalibrator
from twin.forecast.coverage import level_index, wet_mask

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

    def __init__(self, calibrator: ConformalCalibrator, *, gamma: float, step_ms: int) -> None:
        self.calibrator = calibrator
        self.gamma = float(gamma)
        self.step_ms = int(step_ms)
        self.horizon = calibrator.horizon
        self.aci = (
            AdaptiveConformal(calibrator, gamma=self.gamma, per_lead=True)
            if self.gamma > 0
            else None
        )
        #: Issue time [ms] → (issued, raw) quantiles of the last ``horizon`` issues.
        self._issued: dict[int, tuple[FloatArray, FloatArray]] = {}
        #: Summed 10–90 % width [m] of the bands whose outcomes were fed back.
        self._width_sum = 0.0
        lv = calibrator.settings.levels
        self._ends = (level_index(lv, 0.1, "lower"), level_index(lv, 0.9, "upper"))

    @property
    def method(self) -> str:
        """How the bands are made, in words."""
        if self.aci is None:
            return "split conformal (radar storms)"
        return f"split conformal (radar storms), ACI per lead, gamma {self.gamma:g}"

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
        if self.aci is not None:
            y_now = np.asarray(last, dtype=np.float64)
            for b0, (issued, raw0) in sorted(self._issued.items()):
                lead, rest = divmod(b_ms - b0, self.step_ms)
                if rest or not 1 <= lead <= self.horizon or issued.shape[0] != y_now.size:
                    continue
                y = np.full(issued.shape[:2], np.nan)
                y[:, lead - 1] = y_now
                mask = (
                    wet_mask(raw0, y, wet_depth=s.wet_depth, level=s.wet_level, levels=s.levels)
                    if s.wet_depth is not None
                    else np.isfinite(y)
                )
                if mask.any():
                    self.aci.observe(issued, y, mask=mask)
                    lo, hi = self._ends
                    col = issued[:, lead - 1]
                    self._width_sum += float((col[:, hi] - col[:, lo])[mask[:, lead - 1]].sum())
            out = self.aci.apply(raw)
        else:
            out = self.calibrator.apply(raw)
        self._issued[b_ms] = (out, np.asarray(raw, dtype=np.float64))
        oldest = b_ms - self.horizon * self.step_ms
        self._issued = {b: v for b, v in self._issued.items() if oldest <= b <= b_ms}
        return out

    def summary(self) -> dict[str, Any]:
        """What the latest forecast says about its bands.

        The method; with ACI, per lead: α_t and the coverage so far of the readings fed
        back (None before any); in all: the outcomes, their coverage and the mean width
        of their 10–90 % bands [m]. ACI steers the coverage to 0.8 whatever the
        forecast, so the width says how sharp that coverage is.
        """
        out: dict[str, Any] = {"method": self.method}
        if self.aci is not None:
            streams = [self.aci.stream("all", h) for h in range(self.horizon)]
            n = sum(st.n for st in streams)
            out |= {
                "alpha_t_by_lead": [round(st.alpha_t, 4) for st in streams],
                "coverage_by_lead": [round(st.coverage, 4) if st.n else None for st in streams],
                "outcomes": n,
                "coverage_10_90": round(sum(st.n_covered for st in streams) / n, 4) if n else None,
                "mean_width_10_90_m": round(self._width_sum / n, 4) if n else None,
            }
        return out

    def dumps(self) -> str:
        """The α_t streams as JSON (the issued bands are not kept)."""
        streams = {}
        if self.aci is not None:
            for (_, lead), st in self.aci.streams.items():
                streams[str(lead)] = [st.alpha_t, st.n, st.n_covered]
        doc = {"version": _VERSION, "gamma": self.gamma, "streams": streams}
        return json.dumps(doc | {"width_sum": self._width_sum})

    def restore(self, raw: str | None) -> None:
        """Back to a :meth:`dumps` state (None, another γ or version: start afresh)."""
        if self.aci is None:
            return
        self.aci.streams.clear()
        self._width_sum = 0.0
        if raw is None:
            return
        try:
            doc = json.loads(raw)
            if doc.get("version") != _VERSION or float(doc.get("gamma")) != self.gamma:
                return
            for lead, (alpha_t, n, n_cov) in doc["streams"].items():
                st = self.aci.stream("all", int(lead))
                st.alpha_t, st.n, st.n_covered = float(alpha_t), int(n), int(n_cov)
            self._width_sum = float(doc.get("width_sum", 0.0))
        except (ValueError, TypeError, KeyError, AttributeError):
            self.aci.streams.clear()
            self._width_sum = 0.0
