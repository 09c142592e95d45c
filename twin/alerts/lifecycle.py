"""From forecast quantiles to alert decisions: hysteresis, de-duplication, lifecycle.

At each issue time the decision per low point and water level (``impeded``,
``closed``) reads two numbers: the probability ``p`` that the depth reaches the level
at some lead within the horizon (the largest exceedance probability over the lead
times, :func:`twin.forecast.base.exceedance_probability`), and whether the gauge
already reads above it. The rule:

- **raise** (``Alert``) when ``p ≥ p_raise`` or the water is observed above the level;
- while active, **update** (``Update``, referencing the previous message) only when
  what a reader acts on changes: the urgency, severity or certainty class, or the
  forecast onset moving by ``onset_shift`` or more — and never more often than every
  ``min_update_interval`` unless the urgency or certainty rises (**de-duplication**);
- **cancel** (``Cancel``) after ``clear_after`` consecutive issues with
  ``p < p_clear`` and the water observed below the level minus ``depth_hysteresis``
  (**hysteresis**: ``p_clear < p_raise``, so a probability wavering around
  ``p_raise`` does not flap).

CAP classes (OASIS CAP 1.2, §3.2.2)
    *urgency*: ``Immediate`` when the water is observed above the level or the onset
    is forecast within ``immediate_within`` (30 min), ``Expected`` within the horizon,
    ``Past`` for a cancel. *severity*: ``Severe`` for ``closed`` (the road is shut),
    ``Moderate`` for ``impeded``. *certainty*: ``Observed`` when the gauge reads above
    the level, ``Likely`` for ``p > 0.5`` (CAP: "p > ~50 %"), ``Possible`` for
    ``p ≥ 0.2`` and ``Unlikely`` below.

**Illustrative defaults**: the probability thresholds and timings are a starting point
for an operations centre to tune, not published values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin._types import BoolArray, FloatArray, StrArray
from twin.alerts.errors import AlertError

__all__ = ["AlertManager", "AlertMessage", "AlertPoints", "AlertPolicy", "OpenAlert"]

_URGENCY_RANK = {"Past": 0, "Future": 1, "Expected": 2, "Immediate": 3}
_CERTAINTY_RANK = {"Unlikely": 0, "Possible": 1, "Likely": 2, "Observed": 3}


class AlertPolicy(BaseModel):
    """Decision rule and CAP settings of waterlogging alerts (illustrative defaults)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    levels: dict[str, float] = Field(
        default_factory=lambda: {"impeded": 0.15, "closed": 0.27},
        description="alert levels: name → water depth [m]",
    )
    p_raise: float = Field(default=0.5, gt=0.0, le=1.0, description="raise at p ≥ this")
    p_clear: float = Field(default=0.2, ge=0.0, lt=1.0, description="clear below this")
    clear_after: int = Field(default=2, ge=1, description="issues below p_clear to cancel")
    depth_hysteresis: float = Field(default=0.02, ge=0.0, description="[m] below level")
    onset_shift: float = Field(default=900.0, gt=0.0, description="update on onset move [s]")
    min_update_interval: float = Field(default=600.0, ge=0.0, description="[s]")
    immediate_within: float = Field(default=1800.0, gt=0.0, description="Immediate if [s]")
    expires_after: float = Field(default=3600.0, gt=0.0, description="CAP expires [s]")
    sender: str = Field(default="city-twin@gongshu.hangzhou", min_length=1)
    sender_name: str = "City twin, Gongshu district operations centre (simulated)"
    status: str = Field(default="Actual", description="CAP status (Actual, Exercise, Test…)")

    @model_validator(mode="after")
    def _check(self) -> AlertPolicy:
        if self.p_clear >= self.p_raise:
            raise ValueError(f"p_clear ({self.p_clear}) must be below p_raise ({self.p_raise})")
        if not self.levels:
            raise ValueError("levels: give at least one level, e.g. {'impeded': 0.15}")
        for name, depth in self.levels.items():
            if name not in ("impeded", "closed") or not depth > 0:
                raise ValueError(
                    f"levels: {name}={depth}: use 'impeded' and/or 'closed' with a depth > 0 [m]"
                )
        if any(c in self.sender for c in " ,<&"):
            raise ValueError("sender: no spaces, commas, '<' or '&' (CAP 1.2 §3.2.1)")
        if self.status not in ("Actual", "Exercise", "System", "Test", "Draft"):
            raise ValueError("status: one of Actual, Exercise, System, Test, Draft")
        return self


@dataclass(frozen=True)
class AlertPoints:
    """Low points as alert areas: id, name, position and radius of the affected roads.

    Attributes
    ----------
    ids, names
        Identity.
    lon, lat
        Position [deg, WGS84].
    radius_m
        Radius of the CAP circle [m] (the point's ``affect_radius``).
    """

    ids: StrArray
    names: StrArray
    lon: FloatArray
    lat: FloatArray
    radius_m: FloatArray

    @classmethod
    def from_low_points(cls, points: Any) -> AlertPoints:
        """From :class:`twin.hydro.lowpoints.LowPoints` (radius by kind of point)."""
        from twin.hydro.lowpoints import LOW_POINT_DEFAULTS

        radius = np.array([LOW_POINT_DEFAULTS[str(k)]["affect_radius"] for k in points.kinds])
        return cls(
            ids=np.asarray(points.ids).astype(str),
            names=np.asarray(points.names).astype(str),
            lon=np.asarray(points.lon, dtype=np.float64),
            lat=np.asarray(points.lat, dtype=np.float64),
            radius_m=radius.astype(np.float64),
        )

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True)
class AlertMessage:
    """One alert message (what CAP renders).

    Times are timezone-aware. ``probability`` is the forecast probability of reaching
    the level within the horizon [-]; ``onset`` the forecast (or observed) time it is
    reached; ``references`` the ``(identifier, sent)`` of earlier messages of the same
    alert (for Update and Cancel).
    """

    identifier: str
    msg_type: str
    sent: datetime
    point_id: str
    point_name: str
    level: str
    depth_threshold: float
    probability: float
    onset: datetime | None
    urgency: str
    severity: str
    certainty: str
    lon: float
    lat: float
    radius_m: float
    sender: str
    sender_name: str
    status: str
    expires: datetime
    references: tuple[tuple[str, datetime], ...] = ()
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def lead_time_s(self) -> float | None:
        """Forecast onset minus the issue time [s] (None without an onset)."""
        return None if self.onset is None else (self.onset - self.sent).total_seconds()


@dataclass(frozen=True)
class OpenAlert:
    """An alert raised and not yet cancelled: what the lifecycle remembers of it.

    :meth:`AlertManager.state` lists them and :meth:`AlertManager.restore` puts them
    back, so a service can store the lifecycle and resume it after a restart.

    Attributes
    ----------
    point_id
        The low point's id.
    level
        The alert level (a key of :attr:`AlertPolicy.levels`).
    messages
        ``(identifier, sent)`` of the alert's messages so far (Alert, then Updates),
        oldest first; a later Update or Cancel references them.
    last_sent
        When the last Alert or Update was sent (timezone-aware).
    urgency, certainty
        CAP classes of the last message.
    onset
        Forecast (or observed) onset of the last message (None without one).
    below
        Consecutive issues so far with the probability below ``p_clear`` and the water
        below the level (a Cancel comes at ``clear_after``).
    """

    point_id: str
    level: str
    messages: tuple[tuple[str, datetime], ...]
    last_sent: datetime
    urgency: str
    certainty: str
    onset: datetime | None
    below: int = 0


@dataclass
class _Active:
    messages: list[tuple[str, datetime]]
    last_sent: datetime
    urgency: str
    certainty: str
    onset: datetime | None
    below: int = 0


class AlertManager:
    """Alert / Update / Cancel lifecycle of every low point and level (see the module doc).

    Parameters
    ----------
    points
        The alert areas.
    policy
        The decision rule.
    """

    def __init__(self, points: AlertPoints, policy: AlertPolicy | None = None) -> None:
        self.points = points
        self.policy = policy or AlertPolicy()
        self._active: dict[tuple[int, str], _Active] = {}
        self._last_time: datetime | None = None

    def state(self) -> list[OpenAlert]:
        """The open alerts, by low point (in the order of ``points``) and level name.

        Returns
        -------
        list of OpenAlert
            A snapshot: later steps do not change it.
        """
        return [
            OpenAlert(
                point_id=str(self.points.ids[i]),
                level=level,
                messages=tuple(st.messages),
                last_sent=st.last_sent,
                urgency=st.urgency,
                certainty=st.certainty,
                onset=st.onset,
                below=st.below,
            )
            for (i, level), st in sorted(self._active.items())
        ]

    def restore(self, alerts: Iterable[OpenAlert]) -> list[OpenAlert]:
        """Replace the open alerts with those of an earlier :meth:`state`.

        Parameters
        ----------
        alerts
            Open alerts, e.g. stored from :meth:`state` before a restart.

        Returns
        -------
        list of OpenAlert
            The alerts not restored: their low point is not in ``points`` or their
            level not in the policy's ``levels``.
        """
        pos = {str(p): i for i, p in enumerate(self.points.ids.tolist())}
        active: dict[tuple[int, str], _Active] = {}
        dropped: list[OpenAlert] = []
        for a in alerts:
            i = pos.get(a.point_id)
            if i is None or a.level not in self.policy.levels:
                dropped.append(a)
                continue
            active[(i, a.level)] = _Active(
                list(a.messages), a.last_sent, a.urgency, a.certainty, a.onset, a.below
            )
        self._active = active
        return dropped

    def _identifier(self, point: int, level: str, sent: datetime, msg_type: str) -> str:
        key = f"{self.points.ids[point]}|{level}|{sent.isoformat()}|{msg_type}"
        digest = hashlib.blake2b(key.encode(), digest_size=4).hexdigest()
        return f"twin-wl-{self.points.ids[point]}-{level}-{sent:%Y%m%dT%H%M%S}-{digest}"

    def _classes(
        self, level: str, p: float, lead_s: float | None, observed: bool
    ) -> tuple[str, str, str]:
        pol = self.policy
        urgency = (
            "Immediate"
            if observed or (lead_s is not None and lead_s <= pol.immediate_within)
            else "Expected"
        )
        severity = "Severe" if level == "closed" else "Moderate"
        certainty = (
            "Observed"
            if observed
            else "Likely"
            if p > 0.5
            else "Possible"
            if p >= 0.2
            else "Unlikely"
        )
        return urgency, severity, certainty

    def step(
        self,
        issue_time: datetime,
        probability: FloatArray,
        onset_lead_s: FloatArray,
        observed_depth: FloatArray,
        *,
        extra: dict[str, FloatArray] | None = None,
    ) -> list[AlertMessage]:
        """Decide at one issue time; return the messages to send (maybe none).

        Parameters
        ----------
        issue_time
            Timezone-aware issue time; must increase from call to call.
        probability
            Probability of reaching each level within the horizon, shape
            ``(n_points, n_levels)`` in the order of ``policy.levels`` [-].
        onset_lead_s
            Forecast lead of the onset [s] (NaN when none), same shape.
        observed_depth
            Last gauge reading of each point [m], shape ``(n_points,)`` (NaN if none).
        extra
            Optional per-point values added as CAP parameters (name → ``(n_points,)``).

        Returns
        -------
        list of AlertMessage
        """
        pol = self.policy
        if issue_time.tzinfo is None:
            raise AlertError("issue_time must be timezone-aware (CAP times carry an offset).")
        if self._last_time is not None and issue_time <= self._last_time:
            raise AlertError(
                f"issue times must increase: {issue_time.isoformat()} after "
                f"{self._last_time.isoformat()}."
            )
        n, levels = len(self.points), list(pol.levels)
        prob = np.asarray(probability, dtype=np.float64)
        lead = np.asarray(onset_lead_s, dtype=np.float64)
        obs = np.asarray(observed_depth, dtype=np.float64)
        if prob.shape != (n, len(levels)) or lead.shape != prob.shape or obs.shape != (n,):
            raise AlertError(
                f"probability and onset_lead_s need shape ({n}, {len(levels)}) (points × "
                f"levels {levels}) and observed_depth ({n},); got {prob.shape}, "
                f"{lead.shape}, {obs.shape}."
            )
        if np.any(~np.isfinite(prob)) or np.any((prob < 0) | (prob > 1)):
            raise AlertError("probability must be finite and within [0, 1].")
        self._last_time = issue_time
        out: list[AlertMessage] = []
        for j, level in enumerate(levels):
            thr = pol.levels[level]
            observed: BoolArray = np.nan_to_num(obs, nan=-1.0) >= thr
            clear_depth = np.nan_to_num(obs, nan=0.0) < thr - pol.depth_hysteresis
            for i in range(n):
                p = float(prob[i, j])
                lead_s = None if observed[i] or not np.isfinite(lead[i, j]) else float(lead[i, j])
                onset = (
                    issue_time
                    if observed[i]
                    else (None if lead_s is None else issue_time + timedelta(seconds=lead_s))
                )
                key = (i, level)
                state = self._active.get(key)
                if state is None:
                    if p >= pol.p_raise or observed[i]:
                        u, s, c = self._classes(level, p, lead_s, bool(observed[i]))
                        msg = self._message(
                            i, level, "Alert", issue_time, p, onset, u, s, c, (), extra
                        )
                        self._active[key] = _Active(
                            [(msg.identifier, issue_time)], issue_time, u, c, onset
                        )
                        out.append(msg)
                    continue
                if p < pol.p_clear and clear_depth[i]:
                    state.below += 1
                    if state.below >= pol.clear_after:
                        msg = self._message(
                            i,
                            level,
                            "Cancel",
                            issue_time,
                            p,
                            None,
                            "Past",
                            "Minor",
                            "Unlikely",
                            tuple(state.messages),
                            extra,
                        )
                        out.append(msg)
                        del self._active[key]
                    continue
                state.below = 0
                u, s, c = self._classes(level, p, lead_s, bool(observed[i]))
                escalates = (
                    _URGENCY_RANK[u] > _URGENCY_RANK[state.urgency]
                    or _CERTAINTY_RANK[c] > _CERTAINTY_RANK[state.certainty]
                )
                moved = (
                    onset is not None
                    and state.onset is not None
                    and abs((onset - state.onset).total_seconds()) >= pol.onset_shift
                    and state.certainty != "Observed"
                )
                changed = u != state.urgency or c != state.certainty or moved
                waited = (issue_time - state.last_sent).total_seconds() >= pol.min_update_interval
                if changed and (escalates or waited):
                    msg = self._message(
                        i,
                        level,
                        "Update",
                        issue_time,
                        p,
                        onset,
                        u,
                        s,
                        c,
                        tuple(state.messages),
                        extra,
                    )
                    state.messages.append((msg.identifier, issue_time))
                    state.last_sent, state.urgency, state.certainty = issue_time, u, c
                    state.onset = onset
                    out.append(msg)
        return out

    def _message(
        self,
        i: int,
        level: str,
        msg_type: str,
        sent: datetime,
        p: float,
        onset: datetime | None,
        urgency: str,
        severity: str,
        certainty: str,
        references: tuple[tuple[str, datetime], ...],
        extra: dict[str, FloatArray] | None,
    ) -> AlertMessage:
        pol = self.policy
        params = {"probability": f"{p:.2f}", "depth_threshold_m": f"{pol.levels[level]:.2f}"}
        for name, values in (extra or {}).items():
            params[name] = f"{float(np.asarray(values)[i]):.3f}"
        return AlertMessage(
            identifier=self._identifier(i, level, sent, msg_type),
            msg_type=msg_type,
            sent=sent,
            point_id=str(self.points.ids[i]),
            point_name=str(self.points.names[i]),
            level=level,
            depth_threshold=pol.levels[level],
            probability=p,
            onset=onset,
            urgency=urgency,
            severity=severity,
            certainty=certainty,
            lon=float(self.points.lon[i]),
            lat=float(self.points.lat[i]),
            radius_m=float(self.points.radius_m[i]),
            sender=pol.sender,
            sender_name=pol.sender_name,
            status=pol.status,
            expires=sent + timedelta(seconds=pol.expires_after),
            references=references,
            parameters=params,
        )
