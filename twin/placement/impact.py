"""Impact matrices: which candidate sensor detects which simulated event, when, at what cost.

An :class:`ImpactMatrix` holds, in the spirit of Chama's impact format [1]_, one sparse
record per (event, candidate) pair where the candidate detects the event, with the
detection delay and the impact incurred before detection, plus two tables: the events
(their weight, lifetime and full impact, incurred when no sensor detects them) and the
candidates (technology, cost, location).

Conventions
-----------
time
    Detection delay since the event began [s], ``0 <= time <= lifetime``. A record is a
    detection *during* the event's lifetime; a later sighting is no detection.
lifetime
    How long the event lasts when no sensor sees it [s] (a pond stays above the onset
    depth; a defect is reported by another channel; a violating truck reaches its
    dock). It is the delay charged to an undetected event by the time objective.
impact
    The harm of the event if undetected (event table), and the harm incurred before
    detection (records): the builders take it to accrue linearly over the lifetime, so
    a record's impact is ``impact * time / lifetime``.
weight
    The event's probability or frequency (1 / number of storms, 1 / days, ...): the
    objectives are weighted sums over events.

Every detection model that fills a matrix is documented in its builder
(:mod:`twin.placement.gauges`, :mod:`twin.placement.probes`, :mod:`twin.placement.cameras`).

References
----------
.. [1] K. A. Klise, B. L. Nicholson, C. D. Laird, A. P. Ravikumar, A. R. Brandt,
   "Sensor placement optimization software applied to site-scale methane-emissions
   monitoring", *J. Environ. Eng.* 146(7), 04020054, 2020 (Chama).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import FloatArray, IntArray, StrArray
from twin.placement.errors import PlacementError
from twin.scenario.placement import TECHNOLOGIES, CostConfig

__all__ = ["CANDIDATE_COLUMNS", "EVENT_COLUMNS", "ImpactMatrix", "concat_matrices"]

#: Required columns of :attr:`ImpactMatrix.events`.
EVENT_COLUMNS = ("event_id", "technology", "weight", "lifetime", "impact")
#: Required columns of :attr:`ImpactMatrix.candidates`.
CANDIDATE_COLUMNS = ("candidate_id", "technology", "cost", "lon", "lat")
_REL_TOL = 1e-9


def _as_float(name: str, values: Any, n: int) -> FloatArray:
    out = np.asarray(values, dtype=np.float64).reshape(-1)
    if out.shape[0] != n:
        raise PlacementError(f"ImpactMatrix.{name}: {out.shape[0]} values for {n} records")
    return out


@dataclass(frozen=True, eq=False)
class ImpactMatrix:
    """Sparse detection records of candidate sensors over simulated events.

    Build one with a builder (:func:`twin.placement.gauges.gauge_impact`,
    :func:`twin.placement.probes.probe_impact`, :func:`twin.placement.cameras.camera_impact`)
    or directly from arrays. Construction checks every field and makes the arrays
    read-only.

    Attributes
    ----------
    events
        One row per event, columns :data:`EVENT_COLUMNS` (``event_id`` unique;
        ``weight`` > 0 [-]; ``lifetime`` > 0 [s]; ``impact`` >= 0 [unit of the
        technology]) and any others the builder adds (storm, point, edge...).
    candidates
        One row per candidate sensor, columns :data:`CANDIDATE_COLUMNS`
        (``candidate_id`` unique; ``cost`` > 0; ``lon``/``lat`` [deg], NaN where the
        candidate has no fixed place) and builder columns (point, node, edge, vehicle).
    event, candidate
        Event and candidate position of every record.
    time
        Detection delay of every record [s].
    impact
        Impact incurred before detection, per record [unit of the technology].
    meta
        Provenance (builder, seeds, storms, units).

    Raises
    ------
    PlacementError
        No events, a missing column, a duplicate id, a record pointing outside the
        tables, a duplicate (event, candidate) pair, or a value out of range.
    """

    events: pd.DataFrame
    candidates: pd.DataFrame
    event: IntArray
    candidate: IntArray
    time: FloatArray
    impact: FloatArray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ev, ca = self.events, self.candidates
        for name, table, cols in (
            ("events", ev, EVENT_COLUMNS),
            ("candidates", ca, CANDIDATE_COLUMNS),
        ):
            missing = [c for c in cols if c not in table.columns]
            if missing:
                raise PlacementError(
                    f"ImpactMatrix.{name} misses column(s) {missing}; it needs {list(cols)}"
                )
        if len(ev) == 0:
            raise PlacementError(
                "empty impact matrix: no events. The ensemble produced nothing to detect "
                "(no storm reached the onset depth, no defect, no violation); use more or "
                "stronger storms, more days, or lower thresholds."
            )
        for name, table, key in (("events", ev, "event_id"), ("candidates", ca, "candidate_id")):
            dup = table[key][table[key].duplicated()]
            if len(dup):
                raise PlacementError(
                    f"ImpactMatrix.{name}: duplicate {key} {dup.iloc[:3].tolist()}"
                )
        unknown = sorted(set(ca["technology"].astype(str)) - set(TECHNOLOGIES))
        if unknown:
            raise PlacementError(
                f"unknown technology {unknown} in ImpactMatrix.candidates; use one of "
                f"{', '.join(TECHNOLOGIES)}"
            )
        checks: tuple[tuple[str, FloatArray, str, bool], ...] = (
            ("events.weight", ev["weight"].to_numpy(float), "> 0", True),
            ("events.lifetime", ev["lifetime"].to_numpy(float), "> 0", True),
            ("events.impact", ev["impact"].to_numpy(float), ">= 0", False),
            ("candidates.cost", ca["cost"].to_numpy(float), "> 0", True),
        )
        for name, arr, rule, strict in checks:
            ok = arr > 0 if strict else arr >= 0
            bad = ~(np.isfinite(arr) & ok)
            if bad.any():
                j = int(np.flatnonzero(bad)[0])
                raise PlacementError(
                    f"ImpactMatrix.{name} must be finite and {rule}; row {j} has {arr[j]!r}"
                )
        n = int(np.asarray(self.event).shape[0])
        event = np.asarray(self.event, dtype=np.int64).reshape(-1)
        cand = np.asarray(self.candidate, dtype=np.int64).reshape(-1)
        if cand.shape[0] != n:
            raise PlacementError(f"ImpactMatrix: {n} record events but {cand.shape[0]} candidates")
        time = _as_float("time", self.time, n)
        impact = _as_float("impact", self.impact, n)
        if n:
            if event.min() < 0 or event.max() >= len(ev):
                raise PlacementError("ImpactMatrix.event: a record points outside the events")
            if cand.min() < 0 or cand.max() >= len(ca):
                raise PlacementError(
                    "ImpactMatrix.candidate: a record points outside the candidates"
                )
            pair = event * len(ca) + cand
            if np.unique(pair).shape[0] != n:
                raise PlacementError(
                    "ImpactMatrix: an (event, candidate) pair appears twice; keep the "
                    "earliest detection of each pair"
                )
            life = ev["lifetime"].to_numpy(float)[event]
            full = ev["impact"].to_numpy(float)[event]
            tol = _REL_TOL * np.maximum(1.0, life)
            bad = ~np.isfinite(time) | (time < 0) | (time > life + tol)
            if bad.any():
                j = int(np.flatnonzero(bad)[0])
                raise PlacementError(
                    f"ImpactMatrix.time: record {j} has delay {time[j]!r} s outside "
                    f"[0, lifetime = {life[j]!r} s] of its event"
                )
            bad = ~np.isfinite(impact) | (impact < 0) | (impact > full * (1 + _REL_TOL) + 1e-12)
            if bad.any():
                j = int(np.flatnonzero(bad)[0])
                raise PlacementError(
                    f"ImpactMatrix.impact: record {j} has {impact[j]!r}, outside [0, the "
                    f"event's impact {full[j]!r}]"
                )
            time = np.minimum(time, life)
            impact = np.minimum(impact, full)
        fields: tuple[tuple[str, npt.NDArray[Any]], ...] = (
            ("event", event),
            ("candidate", cand),
            ("time", time),
            ("impact", impact),
        )
        for name, arr in fields:
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "events", ev.reset_index(drop=True))
        object.__setattr__(self, "candidates", ca.reset_index(drop=True))

    # ------------------------------------------------------------------ facts
    @property
    def n_events(self) -> int:
        """Number of events."""
        return len(self.events)

    @property
    def n_candidates(self) -> int:
        """Number of candidate sensors."""
        return len(self.candidates)

    @property
    def n_records(self) -> int:
        """Number of (event, candidate) detection records."""
        return int(self.event.shape[0])

    @property
    def weight(self) -> FloatArray:
        """Event weights [-]."""
        return np.asarray(self.events["weight"].to_numpy(dtype=np.float64))

    @property
    def cost(self) -> FloatArray:
        """Candidate costs [budget unit]."""
        return np.asarray(self.candidates["cost"].to_numpy(dtype=np.float64))

    @property
    def technology(self) -> StrArray:
        """Technology of every candidate."""
        return np.asarray(self.candidates["technology"].astype(str).to_numpy(), dtype=np.str_)

    @property
    def candidate_ids(self) -> list[str]:
        """Candidate ids, in position order."""
        return [str(x) for x in self.candidates["candidate_id"]]

    def __repr__(self) -> str:
        techs = ", ".join(sorted(set(self.technology.tolist())))
        return (
            f"<ImpactMatrix {techs}: {self.n_events} events, {self.n_candidates} candidates, "
            f"{self.n_records} records>"
        )

    # ------------------------------------------------------------------ transforms
    def positions(self, candidate_ids: Sequence[str]) -> IntArray:
        """Positions of candidate ids; raise :class:`PlacementError` for unknown ones."""
        index = {c: i for i, c in enumerate(self.candidate_ids)}
        missing = [c for c in candidate_ids if c not in index]
        if missing:
            raise PlacementError(
                f"candidate(s) {missing[:5]} are not candidates of this impact matrix "
                f"({self.n_candidates} candidates, e.g. {self.candidate_ids[:3]})"
            )
        return np.array([index[c] for c in candidate_ids], dtype=np.int64)

    def with_costs(self, costs: CostConfig | Mapping[str, float]) -> ImpactMatrix:
        """A copy whose candidates cost what ``costs`` says for their technology."""
        table = costs.model_dump() if isinstance(costs, CostConfig) else dict(costs)
        tech = self.candidates["technology"].astype(str)
        missing = sorted(set(tech) - set(table))
        if missing:
            raise PlacementError(f"no cost given for technology {missing}")
        cands = self.candidates.copy()
        cands["cost"] = tech.map(table).astype(float)
        return ImpactMatrix(
            self.events, cands, self.event, self.candidate, self.time, self.impact, dict(self.meta)
        )

    def records(self) -> pd.DataFrame:
        """The records as a table: ``event_id, candidate_id, time, impact``."""
        return pd.DataFrame(
            {
                "event_id": self.events["event_id"].to_numpy()[self.event],
                "candidate_id": self.candidates["candidate_id"].to_numpy()[self.candidate],
                "time": self.time,
                "impact": self.impact,
            }
        )

    def to_chama(self, values: FloatArray, undetected: FloatArray) -> dict[str, pd.DataFrame]:
        """The matrix in Chama's impact format, for one objective's values.

        Parameters
        ----------
        values
            Per-record value of the objective (see :func:`twin.placement.objectives.values`).
        undetected
            Per-event value when undetected.

        Returns
        -------
        dict
            ``impact`` (columns ``Scenario, Sensor, Impact``), ``scenario`` (``Scenario,
            Undetected Impact, Probability``) and ``sensor`` (``Sensor, Cost``), with
            object-typed id columns as Chama requires.
        """
        ids = self.events["event_id"].astype(str).to_numpy(dtype=object)
        cids = self.candidates["candidate_id"].astype(str).to_numpy(dtype=object)
        w = self.weight
        return {
            "impact": pd.DataFrame(
                {
                    "Scenario": ids[self.event],
                    "Sensor": cids[self.candidate],
                    "Impact": np.asarray(values, dtype=float),
                }
            ).astype({"Scenario": object, "Sensor": object}),
            "scenario": pd.DataFrame(
                {
                    "Scenario": ids,
                    "Undetected Impact": np.asarray(undetected, dtype=float),
                    "Probability": w / w.sum(),
                }
            ).astype({"Scenario": object}),
            "sensor": pd.DataFrame({"Sensor": cids, "Cost": self.cost}).astype({"Sensor": object}),
        }


def concat_matrices(matrices: Sequence[ImpactMatrix]) -> ImpactMatrix:
    """One matrix over the events and candidates of several (e.g. gauges + probes).

    Event and candidate ids must not clash. The objectives then add the technologies'
    terms, so give them commensurate weights and impacts (e.g. money) before merging.
    """
    if not matrices:
        raise PlacementError("concat_matrices: no impact matrix given")
    if len(matrices) == 1:
        return matrices[0]
    ev_off = np.cumsum([0] + [m.n_events for m in matrices])
    ca_off = np.cumsum([0] + [m.n_candidates for m in matrices])
    return ImpactMatrix(
        events=pd.concat([m.events for m in matrices], ignore_index=True),
        candidates=pd.concat([m.candidates for m in matrices], ignore_index=True),
        event=np.concatenate([m.event + o for m, o in zip(matrices, ev_off, strict=False)]),
        candidate=np.concatenate([m.candidate + o for m, o in zip(matrices, ca_off, strict=False)]),
        time=np.concatenate([m.time for m in matrices]),
        impact=np.concatenate([m.impact for m in matrices]),
        meta={"parts": [m.meta for m in matrices]},
    )
