"""Running scenarios: orchestration, results, the run folder, comparisons, the run report.

- :mod:`~twin.run.runner`: :func:`run_scenario` builds the network, the case stream, the
  water, the trucks and the crowds for a scenario and runs the engine;
- :mod:`~twin.run.results`: :class:`RunResult`, everything a run produced, as data;
- :mod:`~twin.run.kpis`: the KPI table, computed from the results;
- :mod:`~twin.run.folder`: the one writer and reader of a run folder;
- :mod:`~twin.run.compare`: policies compared on common random numbers;
- :mod:`~twin.run.report`: the run's HTML summary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin._lazy import lazy_exports

if TYPE_CHECKING:
    from twin.run.compare import compare_policies
    from twin.run.results import RunResult
    from twin.run.runner import load_scenario_network, prepare, run_scenario

__all__ = ["RunResult", "compare_policies", "load_scenario_network", "prepare", "run_scenario"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "RunResult": "twin.run.results",
        "compare_policies": "twin.run.compare",
        "load_scenario_network": "twin.run.runner",
        "prepare": "twin.run.runner",
        "run_scenario": "twin.run.runner",
    },
)
