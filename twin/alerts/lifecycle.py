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

Conventions (:class:`~twin.alerts.AlertConventions`, ``policy.conventions``)
    The identifier scheme (the twin's own, or GB/T 35965.1's sender code + time +
    sequence number), the colour levels (blue / yellow / orange / red: with them the
    severity follows the colour, red is ``Immediate``, and a change of colour is a
    change a reader acts on) and the languages of the CAP rendering; see
    :mod:`twin.alerts.conventions`. The defaults are plain CAP as above.

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
from twin.alerts.conventions import BEIJING, COLOR_SEVERITY, AlertConventions
from twin.alerts.errors import AlertError
from twin.alerts.names import chinese_name

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
    conventions: AlertConventions = Field(
        default_factory=AlertConventions,
        description="identifier scheme, colour levels and languages (default: plain CAP)",
    )

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
    names_zh
        Chinese names (empty where none); None: derived from ``names``
        (:func:`twin.alerts.names.chinese_name`).
    """

    ids: StrArray
    names: StrArray
    lon: FloatArray
    lat: FloatArray
    radius_m: FloatArray
    names_zh: StrArray | None = None

    @classmethod
    def from_low_points(cls, points: Any) -> AlertPoints:
        """From :class:`twin.hydro.lowpoints.LowPoints` (radius by kind of point)."""
        from twin.hydro.lowpoints import LOW_POINT_DEFAULTS

        radius = np.array([LOW_POINT_DEFAULTS[str(k)]["affect_radius"] for k in points.kinds])
        names_zh = getattr(points, "names_zh", None)
        return cls(
            ids=np.asarray(points.ids).astype(str),
            names=np.asarray(points.names).astype(str),
            lon=np.asarray(points.lon, dtype=np.float64),
            lat=np.asarray(points.lat, dtype=np.float64),
            radius_m=radius.astype(np.float64),
            names_zh=None if names_zh is None else np.asarray(names_zh).astype(str),
        )

    def name_zh(self, i: int) -> str | None:
        """The Chinese name of point ``i`` (None when it has none)."""
        if self.names_zh is not None and str(self.names_zh[i]).strip():
            return str(self.names_zh[i]).strip()
        return chinese_name(str(self.names[i]))

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True)
class AlertMessage:
    """One alert message (what CAP renders).

    Times are timezone-aware. ``probability`` is the forecast probability of reaching
    the level within the horizon [-]; ``onset`` the forecast (or observed) time it is
    reached; ``references`` the ``(identifier, sent)`` of earlier messages of the same
    alert (for Update and Cancel). ``color`` is the colour level (None without colour
    levels; for a Cancel, the colour lifted), ``point_name_zh`` the point's Chinese name
    and ``conventions`` those of the policy (what the CAP rendering follows).
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
    color: str | None = None
    point_name_zh: str | None = None
    conventions: AlertConventions = field(default_factory=AlertConventions)

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
    color
        Colour level of the last message (None without colour levels; restored as None,
        the manager takes the colour of the next issue as the last one's, silently).
    """

    point_id: str
    level: str
    messages: tuple[tuple[str, datetime], ...]
    last_sent: datetime
    urgency: str
    certainty: str
    onset: datetime | None
    below: int = 0
    color: str | None = None


@dataclass
class _Active:
    messages: list[tuple[str, datetime]]
    last_sent: datetime
    urgency: str
    certainty: str
    onset: datetime | None
    below: int = 0
    color: str | None = None


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
        # GB/T 35965.1 identifiers: entry time of this issue, next free one, position.
        self._entry: datetime | None = None
        self._next_entry: datetime | None = None
        self._k = 0

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
                color=st.color,
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
                list(a.messages), a.last_sent, a.urgency, a.certainty, a.onset, a.below, a.color
            )
        self._active = active
        return dropped

    def _identifier(self, point: int, level: str, sent: datetime, msg_type: str) -> str:
        conv = self.policy.conventions
        if conv.identifier_scheme == "gbt35965":
            assert self._entry is not None
            self._k += 1
            return conv.gbt_identifier(self._entry, self._k - 1)
        key = f"{self.points.ids[point]}|{level}|{sent.isoformat()}|{msg_type}"
        digest = hashlib.blake2b(key.encode(), digest_size=4).hexdigest()
        return f"twin-wl-{self.points.ids[point]}-{level}-{sent:%Y%m%dT%H%M%S}-{digest}"

    def _classes(
        self, level: str, p: float, lead_s: float | None, observed: bool, color: str | None
    ) -> tuple[str, str, str]:
        pol = self.policy
        urgency = (
            "Immediate"
            if observed or (lead_s is not None and lead_s <= pol.immediate_within) or color == "red"
            else "Expected"
        )
        if color is not None:
            severity = COLOR_SEVERITY[color]
        else:
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
        conv = pol.conventions
        entry = issue_time.astimezone(BEIJING).replace(microsecond=0)
        if self._next_entry is not None and entry < self._next_entry:
            entry = self._next_entry  # never re-use an entry time (module doc)
        self._entry, self._k = entry, 0
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
                color = conv.color_of(level, p, lead_s, bool(observed[i])) if conv.colors else None
                if state is None:
                    if p >= pol.p_raise or observed[i]:
                        u, s, c = self._classes(level, p, lead_s, bool(observed[i]), color)
                        msg = self._message(
                            i, level, "Alert", issue_time, p, onset, u, s, c, (), extra, color
                        )
                        self._active[key] = _Active(
                            [(msg.identifier, issue_time)], issue_time, u, c, onset, 0, color
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
                            state.color,
                        )
                        out.append(msg)
                        del self._active[key]
                    continue
                state.below = 0
                if state.color is None:
                    state.color = color  # restored without a colour: take this one
                u, s, c = self._classes(level, p, lead_s, bool(observed[i]), color)
                escalates = (
                    _URGENCY_RANK[u] > _URGENCY_RANK[state.urgency]
                    or _CERTAINTY_RANK[c] > _CERTAINTY_RANK[state.certainty]
                    or conv.color_rank(color) > conv.color_rank(state.color)
                )
                moved = (
                    onset is not None
                    and state.onset is not None
                    and abs((onset - state.onset).total_seconds()) >= pol.onset_shift
                    and state.certainty != "Observed"
                )
                changed = (
                    u != state.urgency or c != state.certainty or color != state.color or moved
                )
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
                        color,
                    )
                    state.messages.append((msg.identifier, issue_time))
                    state.last_sent, state.urgency, state.certainty = issue_time, u, c
                    state.onset, state.color = onset, color
                    out.append(msg)
        if out and conv.identifier_scheme == "gbt35965":
            self._next_entry = entry + timedelta(seconds=conv.entry_seconds(len(out)))
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
        color: str | None = None,
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
            color=color,
            point_name_zh=self.points.name_zh(i),
            conventions=pol.conventions,
        )
