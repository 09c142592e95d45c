r"""How a forecaster's 10–90 % band is calibrated online, chosen on a validation storm.

Candidates (:class:`BandMethod`): split conformal alone, or adaptive conformal inference
on top of it (ACI, :class:`~twin.forecast.adaptive.AdaptiveConformal`) with a step size
``gamma``, one :math:`\alpha_t` for all leads or one per lead, started afresh on each
storm or **carried** from storm to storm (as a service's state is: the ACI object
replays the calibration storms first, and every outcome of a storm is fed back before
the next). Each is replayed over validation storms with only the outcomes already
observed (:meth:`AdaptiveConformal.replay`), and the one whose worst coverage over the
leads is nearest the band's 0.8 (then: all leads together) is chosen
(:func:`choose_band_method`, ``criterion="coverage"``, what the coverage targets ask), or
the one with the least mean interval score (``criterion="interval"``: Winkler's score of
the 10–90 % band, :math:`(u - l) + \tfrac{2}{\alpha}\,[(l - y)^+ + (y - u)^+]` with
:math:`\alpha = 0.2`, a proper score that rewards coverage and sharpness together;
Gneiting & Raftery 2007, JASA 102:359, §6.2; what a service publishing the band wants:
coverage alone is won by bands that ACI has widened to the largest calibration error).
Used by ``benchmarks/bench_forecast_radar.py`` (coverage, its targets') and by
``twin forecast calibrate`` (interval score; the live service follows its choice).

A storm's run is a dict: ``q`` quantiles ``(K·n, H, levels)`` [m] and ``y`` outcomes
``(K·n, H)`` [m] of ``issues`` (K) issue times × ``points`` (n) windows, issue-major;
``rows`` the issue times in steps ``(K,)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from twin._types import FloatArray
from twin.forecast.adaptive import AdaptiveConformal
from twin.forecast.base import QUANTILES
from twin.forecast.conformal import ConformalCalibrator
from twin.forecast.coverage import coverage, wet_mask

__all__ = [
    "ACI_GAMMAS",
    "BandMethod",
    "band_methods",
    "choose_band_method",
    "coverage_by_lead",
    "interval_score",
    "method_bands",
]

#: ACI step sizes tried.
ACI_GAMMAS = (0.005, 0.01, 0.02, 0.05)


@dataclass(frozen=True)
class BandMethod:
    """Split conformal (``gamma`` None) or ACI with a step, per lead or not, carried or not."""

    gamma: float | None = None
    per_lead: bool = False
    carried: bool = False

    def __str__(self) -> str:
        if self.gamma is None:
            return "split conformal"
        return (f"online ACI, gamma {self.gamma:g}, "
                f"{'an α_t per lead' if self.per_lead else 'one α_t for all leads'}"
                f"{', carried from storm to storm' if self.carried else ''}")  # fmt: skip

    def short(self) -> str:
        """A few words (for lists)."""
        if self.gamma is None:
            return "split"
        return (f"γ {self.gamma:g}{', per lead' if self.per_lead else ''}"
                f"{', carried' if self.carried else ''}")  # fmt: skip


def band_methods(*, carried_only: bool = False) -> list[BandMethod]:
    """Split conformal and every ACI variant (only those carried over, for a service)."""
    carried = (True,) if carried_only else (False, True)
    variants = [(g, lead, c) for c in carried for lead in (False, True) for g in ACI_GAMMAS]
    return [BandMethod()] + [BandMethod(g, lead, c) for g, lead, c in variants]


def method_bands(
    cal: ConformalCalibrator,
    runs: Sequence[dict[str, Any]],
    method: BandMethod,
    warm: Sequence[dict[str, Any]] = (),
) -> FloatArray:
    """The bands ``method`` issues over ``runs`` (concatenated), learning online.

    ``method.carried``: one ACI object replays the ``warm`` runs (the calibration storms)
    and then ``runs`` in turn, every outcome fed back by the next storm; otherwise each
    run starts afresh. Split conformal ignores ``warm``.
    """
    if method.gamma is None:
        return np.concatenate([cal.apply(r["q"]) for r in runs])

    def replay(aci: AdaptiveConformal, r: dict[str, Any]) -> FloatArray:
        k, n = r["issues"], r["points"]
        h = r["q"].shape[1]
        q4 = r["q"].reshape(k, n, h, -1)
        m3 = wet_mask(r["q"], r["y"]).reshape(k, n, h)
        out = aci.replay(q4, r["y"].reshape(k, n, h), r["rows"], mask=m3, flush=method.carried)
        return out.reshape(k * n, h, -1)

    def fresh() -> AdaptiveConformal:
        return AdaptiveConformal(cal, gamma=float(method.gamma or 0.0), per_lead=method.per_lead)

    if not method.carried:
        return np.concatenate([replay(fresh(), r) for r in runs])
    aci = fresh()
    for r in warm:
        replay(aci, r)
    return np.concatenate([replay(aci, r) for r in runs])


def coverage_by_lead(bands: FloatArray, q: FloatArray, y: FloatArray) -> tuple[float, float, float]:
    """Coverage of the 10–90 % band on wet windows (of the raw ``q``): all, least, most by lead."""
    m = wet_mask(q, y)
    per = [coverage(bands[:, h : h + 1], y[:, h : h + 1], mask=m[:, h : h + 1])
           for h in range(bands.shape[1])]  # fmt: skip
    return coverage(bands, y, mask=m), float(np.nanmin(per)), float(np.nanmax(per))


def interval_score(bands: FloatArray, q: FloatArray, y: FloatArray) -> float:
    """Mean interval score [m] of the 10–90 % band on wet windows (of the raw ``q``)."""
    m = wet_mask(q, y)
    lo = bands[:, :, QUANTILES.index(0.1)][m]
    hi = bands[:, :, QUANTILES.index(0.9)][m]
    yy = y[m]
    score = (hi - lo) + (2.0 / 0.2) * (np.maximum(lo - yy, 0.0) + np.maximum(yy - hi, 0.0))
    return float(score.mean()) if score.size else float("nan")


def choose_band_method(
    train: Sequence[dict[str, Any]],
    valid: Sequence[dict[str, Any]],
    methods: Sequence[BandMethod] | None = None,
    *,
    criterion: Literal["coverage", "interval"] = "coverage",
) -> tuple[list[tuple[tuple[float, ...], BandMethod]], BandMethod]:
    """Every method's validation scores and the chosen one.

    A calibrator is fitted on the ``train`` runs; each method replays the ``valid`` runs
    (carried ones after the ``train`` runs). Scores: coverage (all leads, least and
    most by lead), mean 10–90 % width [m] and mean interval score [m]. ``coverage``: the
    least worst deviation from 0.8 over the leads (then over all leads together);
    ``interval``: the least mean interval score.
    """
    if criterion not in ("coverage", "interval"):
        raise ValueError(f"criterion {criterion!r}: use 'coverage' or 'interval'")
    cal = ConformalCalibrator().fit(
        np.concatenate([r["q"] for r in train]), np.concatenate([r["y"] for r in train])
    )
    vq = np.concatenate([r["q"] for r in valid])
    vy = np.concatenate([r["y"] for r in valid])
    m = wet_mask(vq, vy)
    lo, hi = QUANTILES.index(0.1), QUANTILES.index(0.9)
    choice: list[tuple[tuple[float, ...], BandMethod]] = []
    for method in methods if methods is not None else band_methods():
        b = method_bands(cal, valid, method, train)
        width = float((b[:, :, hi] - b[:, :, lo])[m].mean())
        scores = (*coverage_by_lead(b, vq, vy), width, interval_score(b, vq, vy))
        choice.append((scores, method))

    def rank(c: tuple[float, ...]) -> tuple[float, ...]:
        if criterion == "interval":
            return (c[4],)
        return max(abs(c[1] - 0.8), abs(c[2] - 0.8)), abs(c[0] - 0.8)

    return choice, min(choice, key=lambda c: rank(c[0]))[1]
