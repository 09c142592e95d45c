"""Reference outputs of every shipped scenario on a short horizon (the restructuring check).

``python -m tests.run.reference`` rewrites the fixtures in ``tests/data/reference/``;
``tests/run/test_reference_outputs.py`` checks that the code still gives them bit for bit.
Regenerate only when a change of behaviour is intended, and say so in the commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
FIXTURES = ROOT / "tests" / "data" / "reference"

#: name → (scenario file, updates): short horizons that still reach each model.
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "baseline_day": ("gongshu_baseline_day.yaml", {"horizon": 3 * 3600}),
    "rainstorm": ("gongshu_rainstorm.yaml", {"horizon": 4 * 3600, "rain.start": 1800}),
    "rainstorm_forecast": (
        "gongshu_rainstorm.yaml",
        {"horizon": 4 * 3600, "rain.start": 1800, "hydro.forecast.enabled": True},
    ),
    "event_night": ("gongshu_event_night.yaml", {"horizon": 6 * 3600}),
    "muck_night": ("gongshu_muck_night.yaml", {"horizon": 12 * 3600}),
    "replay_311": ("gongshu_replay_311.yaml", {"horizon": 3 * 3600}),
}


def run_case(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The KPI table (kpi, value) and the case table of one reference case."""
    from twin.run.runner import run_scenario
    from twin.scenario import load_scenario

    file, updates = CASES[name]
    scenario = load_scenario(SCENARIOS / file).with_updates(**updates)
    result = run_scenario(scenario, base_dir=SCENARIOS)
    kpis = result.kpis[["kpi", "value"]].reset_index(drop=True)
    return kpis, result.cases.reset_index(drop=True)


def main() -> None:
    """Rewrite every fixture."""
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name in CASES:
        kpis, cases = run_case(name)
        kpis.to_parquet(FIXTURES / f"{name}_kpis.parquet", index=False)
        cases.to_parquet(FIXTURES / f"{name}_cases.parquet", index=False)
        print(name, len(cases), "cases")


if __name__ == "__main__":
    main()
