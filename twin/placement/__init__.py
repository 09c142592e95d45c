"""Sensor placement: impact matrices from twin ensembles, greedy and MILP solvers.

Where to put water-level gauges (at low points), cameras (on edges) and which vehicles
to equip as probes, under a budget, scored on fresh runs. The pipeline:

1. builders turn ensembles of twin runs into :class:`ImpactMatrix` records (which
   candidate detects which event, when, at what impact):
   :mod:`~twin.placement.gauges`, :mod:`~twin.placement.probes`,
   :mod:`~twin.placement.cameras`;
2. :mod:`~twin.placement.objectives` scores placements (coverage, time to detection,
   undetected impact, forecast skill);
3. :mod:`~twin.placement.solvers` chooses: lazy greedy with its bounds, an exact MILP
   (pulp + CBC), brute force for checks; :mod:`~twin.placement.pareto` traces the
   budget–objective curve;
4. :mod:`~twin.placement.evaluation` scores the choice out of sample;
5. :mod:`~twin.placement.outputs` writes GeoJSON and an HTML report;
   :mod:`~twin.placement.pipeline` runs it all; :mod:`~twin.placement.cli` is ``twin place``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin._lazy import lazy_exports

if TYPE_CHECKING:
    from twin.placement.brute_force import solve_brute_force
    from twin.placement.errors import PlacementError
    from twin.placement.greedy import solve_greedy
    from twin.placement.impact import ImpactMatrix, concat_matrices
    from twin.placement.milp import solve_milp
    from twin.placement.objectives import summary
    from twin.placement.pareto import pareto_curve
    from twin.placement.solution import Placement
    from twin.placement.solvers import solve
    from twin.scenario.placement import PlacementConfig

__all__ = [
    "ImpactMatrix",
    "Placement",
    "PlacementConfig",
    "PlacementError",
    "concat_matrices",
    "pareto_curve",
    "solve",
    "solve_brute_force",
    "solve_greedy",
    "solve_milp",
    "summary",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ImpactMatrix": "twin.placement.impact",
        "Placement": "twin.placement.solution",
        "PlacementConfig": "twin.scenario.placement",
        "PlacementError": "twin.placement.errors",
        "concat_matrices": "twin.placement.impact",
        "pareto_curve": "twin.placement.pareto",
        "solve": "twin.placement.solvers",
        "solve_brute_force": "twin.placement.brute_force",
        "solve_greedy": "twin.placement.greedy",
        "solve_milp": "twin.placement.milp",
        "summary": "twin.placement.objectives",
    },
)
