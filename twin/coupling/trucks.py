"""Detected and traced violations → cases of the six-stage case loop.

A violation becomes a case when it was detected, traced to a trip (hence to its site and
company, "by the map"), and its kind maps to a case category
(``trucks.cases.categories``). The case occurs at the violation's time and place (the
spill's start, the dumped pile, the first banned edge, the site for an overload) and is
reported ``trucks.cases.report_delay`` after the detection, through the case source of
the detector (``trucks.cases.sources``). Filing, on-site work and verification times are
drawn as for every other case.

By default spillage and illegal dumping (city management's, 城管) become cases of the
bundled ``muck_spillage`` category (the table's muck category, 渣土撒漏; a dedicated
dumping category can be added to a categories CSV and mapped here); speeding,
overloading and deviations into banned roads are the traffic police's and raise no
city-management case unless mapped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.cases.categories import CategoryTable
from twin.cases.stream import CaseStream
from twin.trucks.errors import TruckError
from twin.trucks.results import TruckResult

if TYPE_CHECKING:
    from twin.scenario import OperationsConfig

__all__ = ["violation_cases"]


def violation_cases(
    result: TruckResult,
    categories: CategoryTable,
    *,
    sources: Sequence[str],
    operations: OperationsConfig,
    rng: np.random.Generator,
    horizon: float | None = None,
) -> CaseStream:
    """The cases raised by a truck run's detected and traced violations.

    Parameters
    ----------
    result
        A truck run (on the same start and time base as the case loop).
    categories
        The run's case categories.
    sources
        Names of the scenario's case sources (``[s.name for s in scenario.cases.sources]``).
    operations
        The operations centre's settings (filing and verification times).
    rng
        Stream for the service times.
    horizon
        Cases reported at or after this time [s] are dropped; the run's horizon when
        ``None``.

    Returns
    -------
    CaseStream
        Sorted by report time; merge with :func:`twin.hydro.waterlogging.merge_streams`.

    Raises
    ------
    TruckError
        A mapped category is not in the table, or a detector's source is not a source.
    """
    from twin.cases.arrivals import draw_service_times

    cfg = result.config.cases
    if not cfg.enabled:
        return CaseStream.empty()
    cat_index: dict[str, int] = {}
    for kind, code in cfg.categories.items():
        if code is None:
            continue
        if not categories.has_code(code):
            raise TruckError(
                f"trucks.cases.categories.{kind}: {code!r} is not a case category of "
                f"{categories.source}; use one of {', '.join(categories.codes())} or null"
            )
        cat_index[kind] = categories.index_of(code)
    names = list(sources)
    src_index: dict[str, int] = {}
    for det, name in cfg.sources.items():
        if name not in names:
            raise TruckError(
                f"trucks.cases.sources.{det}: {name!r} is not a case source; use one of "
                f"{', '.join(names)}"
            )
        src_index[det] = names.index(name)
    v = result.violations
    keep = (
        v["detected"].to_numpy(bool)
        & (v["traced_trip"].to_numpy(np.int64) >= 0)
        & v["kind"].isin(list(cat_index)).to_numpy()
        & v["detected_by"].isin(list(src_index)).to_numpy()
        & (v["node"].to_numpy(np.int64) >= 0)
    )
    sel = v[keep]
    end = result.horizon if horizon is None else float(horizon)
    report = sel["detection_time"].to_numpy(np.float64) + cfg.report_delay
    sel = sel[report < end]
    report = report[report < end]
    if len(sel) == 0:
        return CaseStream.empty()
    if result.network is None:
        raise TruckError("the truck result holds no network; run it with simulate_trucks()")
    category = np.array([cat_index[k] for k in sel["kind"]], dtype=np.int64)
    source = np.array([src_index[d] for d in sel["detected_by"]], dtype=np.int64)
    node = result.network.node_position(sel["node"].to_numpy(np.int64))
    file_t, work_t, verify_t = draw_service_times(category, categories, operations, rng)
    order = np.argsort(report, kind="stable")

    def pick(a: np.ndarray[Any, Any], dtype: Any) -> np.ndarray[Any, Any]:
        return np.asarray(a, dtype=dtype)[order]

    return CaseStream(
        occur_time=pick(sel["time"].to_numpy(), np.float64),
        report_time=pick(report, np.float64),
        category=pick(category, np.int64),
        source=pick(source, np.int64),
        node=pick(node, np.int64),
        file_time=pick(file_t, np.float64),
        work_time=pick(work_t, np.float64),
        verify_time=pick(verify_t, np.float64),
    )
