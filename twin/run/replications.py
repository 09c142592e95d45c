"""Replications on common random numbers: the one rule shared by comparisons and sweeps.

Replication ``r`` of every variant of a scenario (a policy, a grid point) runs with the
seed ``scenario.seed + r``. All variants of a replication therefore see the same random
numbers (the same cases, storms, trucks), so their differences are paired.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twin.errors import ScenarioError
from twin.scenario import Scenario

__all__ = ["replica", "replica_seed"]


def replica_seed(scenario: Scenario, replication: int) -> int:
    """The seed of replication ``replication`` (0-based) of ``scenario``."""
    if replication < 0:
        raise ScenarioError(f"replication {replication}: replications count from 0")
    return scenario.seed + replication


def replica(scenario: Scenario, changes: Mapping[str, Any], replication: int) -> Scenario:
    """``scenario`` with dotted-path ``changes`` applied, as replication ``replication``."""
    return scenario.with_updates(**changes, seed=replica_seed(scenario, replication))
