"""The case stream: every case of a run, as arrays, known before the run starts.

All random attributes of a case (when and where it occurs, its category and source,
its detection delay, and the durations of filing, on-site work and verification) are
drawn up front from one random stream. The dispatch policy never touches that stream,
so runs of different policies with the same seed see exactly the same cases (common
random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin._types import FloatArray, IntArray

__all__ = ["CaseStream", "merge_streams"]


@dataclass(frozen=True)
class CaseStream:
    """Cases of a run; every attribute is an array of one entry per case.

    A stream drawn up front is sorted by ``report_time`` (:attr:`is_sorted`); a running
    simulation appends the cases its models raise on the clock (crowd alerts) at the end,
    in the order raised (:meth:`append`), so a case keeps its index for the whole run.

    Attributes
    ----------
    occur_time
        When the problem appears [s since the scenario start].
    report_time
        When it is discovered and reported [s since start] (occur + detection delay).
    category
        Index into the run's :class:`~twin.cases.categories.CategoryTable`.
    source
        Index into the scenario's ``cases.sources`` (patrol, camera AI, hotline, IoT…).
    node
        Node position (index into the network's node arrays) where the case is.
    file_time, work_time, verify_time
        Pre-drawn durations of filing, on-site work and verification [s].
    """

    occur_time: FloatArray
    report_time: FloatArray
    category: IntArray
    source: IntArray
    node: IntArray
    file_time: FloatArray
    work_time: FloatArray
    verify_time: FloatArray

    def __post_init__(self) -> None:
        n = self.report_time.shape[0]
        for f in fields(self):
            arr = getattr(self, f.name)
            if arr.shape != (n,):
                raise ValueError(f"CaseStream.{f.name} has shape {arr.shape}, expected ({n},)")

    @property
    def is_sorted(self) -> bool:
        """Whether the cases are in order of ``report_time``."""
        return not bool(np.any(np.diff(self.report_time) < 0))

    @classmethod
    def empty(cls) -> CaseStream:
        """A stream with no cases."""
        f, i = np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int64)
        return cls(f, f, i, i, i, f, f, f)

    def __len__(self) -> int:
        return int(self.report_time.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """One row per case."""
        return pd.DataFrame({f.name: getattr(self, f.name) for f in fields(self)})

    def append(self, other: CaseStream) -> CaseStream:
        """The cases of ``self`` followed by ``other``, not re-sorted (indices are kept)."""
        if len(other) == 0:
            return self
        return CaseStream(
            **{f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)])
               for f in fields(self)}
        )  # fmt: skip

    def select(self, mask: npt.NDArray[np.bool_]) -> CaseStream:
        """The cases where ``mask`` is true (order kept)."""
        return CaseStream(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})


def merge_streams(a: CaseStream, b: CaseStream) -> CaseStream:
    """Two case streams as one, sorted by report time (ties: ``a`` first)."""
    if len(b) == 0:
        return a
    merged = {f.name: np.concatenate([getattr(a, f.name), getattr(b, f.name)]) for f in fields(a)}
    order = np.argsort(merged["report_time"], kind="stable")
    return CaseStream(**{k: v[order] for k, v in merged.items()})
