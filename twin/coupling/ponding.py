"""Ponding cases: the water at the low points raises road-ponding cases for the crews.

The first time a point reaches the impeded depth (and again after it has dried), a *road
ponding* case enters the case loop, reported through the scenario's ponding source (the
IoT channel by default) with its detection delay.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from twin.cases.arrivals import draw_service_times
from twin.cases.categories import CategoryTable
from twin.cases.distributions import sample
from twin.cases.stream import CaseStream
from twin.errors import ScenarioError
from twin.hydro.waterlogging import Waterlogging, onsets
from twin.scenario import Scenario

__all__ = ["ponding_cases"]


def ponding_cases(
    water: Waterlogging,
    scenario: Scenario,
    table: CategoryTable,
    rng: np.random.Generator,
) -> CaseStream:
    """A road-ponding case each time a point becomes impeded from dry."""
    hy = scenario.hydro
    if not hy.ponding_cases or water.change_time.size == 0:
        return CaseStream.empty()
    if not table.has_code(hy.ponding_category):
        raise ScenarioError(
            f"hydro.ponding_category: {hy.ponding_category!r} is not a case category; use "
            f"one of {', '.join(table.codes())}"
        )
    names = [s.name for s in scenario.cases.sources]
    if hy.ponding_source not in names:
        raise ScenarioError(
            f"hydro.ponding_source: {hy.ponding_source!r} is not a case source; use one of "
            f"{', '.join(names)}"
        )
    onset = onsets(water)
    occur = water.change_time[onset]
    n = occur.size
    source = names.index(hy.ponding_source)
    delay = sample(scenario.cases.sources[source].delay, n, rng)
    category = np.full(n, table.index_of(hy.ponding_category), dtype=np.int64)
    file_t, work_t, verify_t = draw_service_times(category, table, scenario.operations, rng)
    report = occur + delay
    keep = report < scenario.horizon
    order = np.argsort(report[keep], kind="stable")

    def pick(a: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
        return a[keep][order]

    return CaseStream(
        occur_time=pick(occur).astype(float),
        report_time=pick(report).astype(float),
        category=pick(category).astype(np.int64),
        source=np.full(int(keep.sum()), source, dtype=np.int64),
        node=pick(water.points.node[water.change_point[onset]]).astype(np.int64),
        file_time=pick(file_t).astype(float),
        work_time=pick(work_t).astype(float),
        verify_time=pick(verify_t).astype(float),
    )
