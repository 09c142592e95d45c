"""Policy comparison: paired differences and their confidence intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from twin.errors import ArgumentError, ScenarioError
from twin.run.compare import compare_policies, summarise
from twin.scenario import load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "gongshu_baseline_day.yaml"


def test_summarise_matches_a_paired_t_interval() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(10, 2, 8)
    other = base + rng.normal(1, 0.5, 8)
    runs = pd.DataFrame(
        [("a", r, r, "k", v) for r, v in enumerate(base)]
        + [("b", r, r, "k", v) for r, v in enumerate(other)],
        columns=["policy", "replication", "seed", "kpi", "value"],
    )
    s = summarise(runs, "a", 0.95).set_index("policy")
    d = other - base
    half = stats.t.ppf(0.975, 7) * d.std(ddof=1) / np.sqrt(8)
    assert s.loc["b", "diff"] == pytest.approx(d.mean())
    assert s.loc["b", "diff_low"] == pytest.approx(d.mean() - half)
    assert s.loc["b", "diff_high"] == pytest.approx(d.mean() + half)
    assert np.isnan(s.loc["a", "diff"])
    assert s.loc["a", "mean"] == pytest.approx(base.mean())


def test_compare_runs_every_policy_and_replication(tmp_path: Path) -> None:
    s = load_scenario(BASELINE).with_updates(horizon=3 * 3600)
    c = compare_policies(s, ["nearest_idle", "workload_balancing"], replications=2)
    assert set(c.runs["policy"]) == {"nearest_idle", "workload_balancing"}
    assert set(c.runs["seed"]) == {s.seed, s.seed + 1}
    row = c.summary[(c.summary["kpi"] == "cases_reported")].set_index("policy")
    # Common random numbers: the same cases in every policy, so the difference is exactly 0.
    assert row.loc["workload_balancing", "diff"] == 0.0
    paths = c.write(tmp_path)
    assert pd.read_csv(paths["summary"]).shape[0] == c.summary.shape[0]


@pytest.mark.parametrize(
    ("policies", "reps", "confidence", "error", "words"),
    [(["nearest_idle", "teleport"], 2, 0.95, ScenarioError, "unknown policy"),
     (["nearest_idle"], 2, 0.95, ScenarioError, "two different"),
     (["nearest_idle", "fixed_zones"], 1, 0.95, ArgumentError, "2 replications"),
     (["nearest_idle", "fixed_zones"], 2, 1.5, ArgumentError, "between 0 and 1"),
     (["nearest_idle", "fixed_zones"], 2, 0.0, ArgumentError, "between 0 and 1")],
)  # fmt: skip
def test_compare_rejects_bad_requests(
    policies: list[str], reps: int, confidence: float, error: type[Exception], words: str
) -> None:
    s = load_scenario(BASELINE)
    with pytest.raises(error, match=words):
        compare_policies(s, policies, replications=reps, confidence=confidence)
