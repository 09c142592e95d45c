"""The physics-ensemble forecaster in the live service: one ensemble carried across issues.

With ``forecast.model: shipped:physics_ensemble`` (or a folder written by
:func:`twin.forecast.physics_model.save_physics_model`), the service keeps one
:class:`twin.forecast.physics.PhysicsEnsemble` of the configured low points. At each
issue time ``b`` it

1. **catches up**: from the ensemble's last issue time to ``b``, step by step, each
   member moves over the rain of the step (the radar at the point where stored frames
   cover the step, else the point's rain gauge) and the water-level readings are
   assimilated (a missing reading skips the analysis);
2. **forecasts**: every member runs two hours ahead over the future rain (the members of
   the radar nowcast, or its single deterministic path, or the gauge persistence);
   quantiles and the probability of each alert level come from the members, as in the
   offline replay (:func:`twin.forecast.physics_replay.level_probabilities`).

The ensemble (states, parameter multipliers and its random stream) is serialised and
committed with the issue time's messages in one transaction, so a restart continues it
bit for bit, and a crash before the commit re-issues the same time from the same state.
A fresh store, or a gap longer than the readings looked back on (2 h), starts a new
ensemble from the prior and spins it up over the last 2 h of readings; its seed comes
from ``forecast.seed`` and the issue time (the registry's ``forecast`` salt), so two
services fed the same readings issue the same alerts.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np

from twin._types import FloatArray
from twin.forecast.physics import member_quantiles
from twin.forecast.physics_model import PhysicsModel
from twin.forecast.physics_replay import level_probabilities
from twin.live.errors import LiveError
from twin.seeds import STREAMS

__all__ = ["LivePhysics"]

_ARRAYS = ("values", "log_c", "log_a", "log_r")


class LivePhysics:
    """The live ensemble of some low points (see the module docstring).

    Parameters
    ----------
    model
        The physics-ensemble model (settings and nominal catchments).
    ids
        The configured low points, in the service's order.
    seed
        ``forecast.seed``.
    step_ms
        The issue grid [ms].
    """

    def __init__(self, model: PhysicsModel, ids: list[str], *, seed: int, step_ms: int) -> None:
        try:
            self.model = model.subset(ids)
        except ValueError as exc:
            raise LiveError(f"forecast.model (physics_ensemble): {exc}") from None
        self.seed = int(seed)
        self.step_ms = int(step_ms)
        self.ensemble = self.model.ensemble(self._seed_at(0))
        self.at_ms: int | None = None

    def _seed_at(self, b_ms: int) -> int:
        ss = np.random.SeedSequence([self.seed, STREAMS["forecast"], b_ms // self.step_ms])
        return int(ss.generate_state(1)[0])

    # ------------------------------------------------------------------ persistence
    def dumps(self) -> str:
        """The ensemble as JSON (arrays as a base64 ``.npy`` archive)."""
        if self.at_ms is None:
            return json.dumps({"version": 1, "at_ms": None})
        st = self.ensemble.state_dict()
        buf = io.BytesIO()
        arrays: dict[str, Any] = {k: np.asarray(st[k]) for k in _ARRAYS}
        np.savez(buf, allow_pickle=False, **arrays)
        return json.dumps(
            {
                "version": 1,
                "at_ms": self.at_ms,
                "ids": list(self.model.ids),
                "steps": st["steps"],
                "rng": st["rng"],
                "arrays": base64.b64encode(buf.getvalue()).decode("ascii"),
            }
        )

    def restore(self, raw: str | None) -> None:
        """Continue from :meth:`dumps` (None, or saved for other points: start afresh)."""
        self.at_ms = None
        if not raw:
            return
        doc = json.loads(raw)
        if doc.get("at_ms") is None or doc.get("ids") != list(self.model.ids):
            return
        with np.load(io.BytesIO(base64.b64decode(doc["arrays"]))) as z:
            arrays = {k: np.array(z[k]) for k in _ARRAYS}
        ens = self.model.ensemble(0)
        try:
            ens.load_state({**arrays, "steps": doc["steps"], "rng": doc["rng"]})
        except ValueError:  # other members or settings: a new ensemble
            return
        self.ensemble = ens
        self.at_ms = int(doc["at_ms"])

    # ------------------------------------------------------------------ the cycle
    def catch_up(self, b_ms: int, readings: FloatArray, rain: FloatArray) -> dict[str, Any]:
        """Move the ensemble to issue time ``b_ms``.

        Parameters
        ----------
        readings
            Water level at the step boundaries ending at ``b_ms`` [m], ``(rows,
            n_points)``, NaN where a gauge sent nothing.
        rain
            Rain over the steps ending at those boundaries [mm/h], same shape.

        Returns
        -------
        dict
            ``steps`` moved and whether the ensemble was started afresh (``spin_up``).
        """
        rows = readings.shape[0]
        gap = None if self.at_ms is None else (b_ms - self.at_ms) // self.step_ms
        spin_up = gap is None or gap < 1 or gap > rows
        if spin_up:
            self.ensemble = self.model.ensemble(self._seed_at(b_ms))
            k = rows
        else:
            assert gap is not None
            k = int(gap)
        for r in range(rows - k, rows):
            self.ensemble.advance(rain[r : r + 1])
            self.ensemble.assimilate(readings[r])
        self.at_ms = b_ms
        return {"steps": k, "spin_up": spin_up}

    def forecast(
        self, rain_members: FloatArray, levels: dict[str, float], p_raise: float
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """The forecast over ``rain_members`` [mm/h] ``(K, H, n)``.

        Returns quantiles ``(n, H, Q)`` [m], level probabilities and onset leads
        ``(n, L)`` [steps], and the members' median peak depth ``(n,)`` [m].
        """
        paths = self.ensemble.forecast(rain_members)
        q = member_quantiles(paths, self.model.quantiles)
        prob, lead = level_probabilities(paths, levels, p_raise)
        return q, prob, lead, np.median(paths.max(axis=1), axis=0)
