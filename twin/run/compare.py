r"""Compare dispatch policies on common random numbers, with confidence intervals.

Replication ``r`` of every policy runs with seed ``scenario.seed + r``, so all policies
see exactly the same cases (same times, places, categories and durations) in that
replication; only the decisions differ. Differences to the first (baseline) policy are
therefore paired, which removes most of the noise that independent runs would carry.

For each KPI and policy the table gives the mean over replications with a Student-t
confidence interval, and the mean paired difference to the baseline with its interval:

.. math::

    \bar d \pm t_{1-\alpha/2,\,n-1} \, s_d / \sqrt{n}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from twin.errors import ArgumentError, ScenarioError
from twin.report.output_folder import staged_outputs
from twin.run.replications import replica, replica_seed
from twin.run.runner import run_scenario
from twin.scenario import POLICIES, Scenario

__all__ = [
    "Comparison",
    "check_comparison",
    "compare_policies",
    "compare_variants",
    "summarise",
    "t_interval",
]


@dataclass
class Comparison:
    """Results of a policy comparison.

    Attributes
    ----------
    runs
        Tidy per-run KPIs: ``policy, replication, seed, kpi, value``.
    summary
        Per KPI and policy: ``mean, ci_low, ci_high`` and the paired difference to the
        baseline ``diff, diff_low, diff_high`` (NaN for the baseline itself).
    baseline
        The first policy.
    confidence
        Confidence level of the intervals [-].
    """

    runs: pd.DataFrame
    summary: pd.DataFrame
    baseline: str
    confidence: float

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write ``runs.csv`` and ``comparison.csv``; return the paths.

        Each file is written whole or not at all (see
        :func:`twin.report.output_folder.staged_outputs`).
        """
        folder = Path(folder)
        names = {"runs": "runs.csv", "summary": "comparison.csv"}
        with staged_outputs(folder, owned=names.values()) as stage:
            self.runs.to_csv(stage / names["runs"], index=False)
            self.summary.to_csv(stage / names["summary"], index=False)
        return {key: folder / name for key, name in names.items()}


def check_comparison(
    variants: Sequence[str], *, replications: int, confidence: float, option: str = ""
) -> None:
    """Check the settings of a comparison before any run.

    ``option`` prefixes the names in the messages (``"--"`` for the command line).

    Raises
    ------
    ArgumentError
        Fewer than two variants, fewer than two replications, or a confidence level
        outside (0, 1).
    """
    if len(set(variants)) < 2:
        raise ArgumentError(
            f"give at least two different variants (policies) to compare, got {list(variants)}"
        )
    if replications < 2:
        raise ArgumentError(
            f"{option}replications {replications}: give at least 2 replications, so intervals "
            "can be computed"
        )
    if not 0.0 < confidence < 1.0:
        raise ArgumentError(
            f"{option}confidence {confidence:g}: a confidence level lies strictly between 0 and 1; "
            "give e.g. 0.95 for 95 % intervals"
        )


def t_interval(x: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval ``(mean, low, high)`` of the finite values."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (np.nan, np.nan, np.nan)
    m = float(x.mean())
    if x.size < 2:
        return (m, np.nan, np.nan)
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return (m, m - half, m + half)


def summarise(runs: pd.DataFrame, baseline: str, confidence: float = 0.95) -> pd.DataFrame:
    """Means, intervals and paired differences to ``baseline`` from per-run KPIs."""
    wide = runs.pivot_table(index=["kpi", "replication"], columns="policy", values="value")
    rows = []
    for kpi, block in wide.groupby(level="kpi", sort=False):
        for policy in block.columns:
            m, lo, hi = t_interval(block[policy].to_numpy(dtype=float), confidence)
            if policy == baseline:
                d = (np.nan, np.nan, np.nan)
            else:
                diff = (block[policy] - block[baseline]).to_numpy(dtype=float)
                d = t_interval(diff, confidence)
            rows.append((kpi, policy, m, lo, hi, *d))
    out = pd.DataFrame(
        rows,
        columns=["kpi", "policy", "mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high"],
    )
    order = {k: i for i, k in enumerate(runs["kpi"].drop_duplicates())}
    porder = {p: i for i, p in enumerate(runs["policy"].drop_duplicates())}
    out = out.sort_values(
        by=["kpi", "policy"], key=lambda s: s.map(order if s.name == "kpi" else porder)
    )
    return out.reset_index(drop=True)


def compare_policies(
    scenario: Scenario,
    policies: Sequence[str],
    *,
    replications: int = 5,
    confidence: float = 0.95,
    base_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Run ``scenario`` under each policy for ``replications`` common-random-number seeds.

    Parameters
    ----------
    scenario
        The scenario; its ``dispatch.policy`` is replaced by each policy in turn.
    policies
        Policy names; the first is the baseline of the differences.
    replications
        Seeds ``scenario.seed … scenario.seed + replications − 1``.
    confidence
        Confidence level of the intervals [-].
    base_dir
        Folder for relative paths in the scenario.
    progress
        Called with a short label before each run.
    """
    policies = list(dict.fromkeys(policies))
    unknown = [p for p in policies if p not in POLICIES]
    if unknown:
        raise ScenarioError(f"unknown policy {unknown}; choose from {', '.join(POLICIES)}")
    if len(policies) < 2:
        raise ScenarioError("give at least two different policies to compare")
    return compare_variants(
        scenario, {p: {"dispatch.policy": p} for p in policies}, replications=replications,
        confidence=confidence, base_dir=base_dir, progress=progress,
    )  # fmt: skip


def compare_variants(
    scenario: Scenario,
    variants: Mapping[str, Mapping[str, Any]],
    *,
    replications: int = 5,
    confidence: float = 0.95,
    base_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Run variants of ``scenario`` on common random numbers and compare them, paired.

    Parameters
    ----------
    scenario
        The scenario.
    variants
        Label → dotted-path changes (e.g. ``{"no staging": {"hydro.forecast.
        crews_per_alert": 0}, "staging": {}}``); the first is the baseline of the
        differences. The ``policy`` column of the result holds the labels.
    replications
        Seeds ``scenario.seed … scenario.seed + replications − 1``.
    confidence, base_dir, progress
        As for :func:`compare_policies`.
    """
    check_comparison(list(variants), replications=replications, confidence=confidence)
    labels = list(variants)
    rows = []
    for r in range(replications):
        seed = replica_seed(scenario, r)
        for label in labels:
            if progress is not None:
                progress(f"{label}, replication {r + 1}/{replications}")
            s = replica(scenario, variants[label], r)
            result = run_scenario(s, base_dir=base_dir)
            for kpi, value in zip(result.kpis["kpi"], result.kpis["value"], strict=True):
                rows.append((label, r, seed, kpi, float(value)))
    runs = pd.DataFrame(rows, columns=["policy", "replication", "seed", "kpi", "value"])
    return Comparison(runs, summarise(runs, labels[0], confidence), labels[0], confidence)
