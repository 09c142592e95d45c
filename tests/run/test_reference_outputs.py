"""Bit-for-bit: every shipped scenario (short horizon) gives the recorded KPIs and cases.

The fixtures in ``tests/data/reference/`` were written by ``python -m tests.run.reference``
before the package was restructured; moving code must not change a single number.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.run.reference import CASES, FIXTURES, run_case


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_equal_the_reference(name: str) -> None:
    kpis, cases = run_case(name)
    want_kpis = pd.read_parquet(FIXTURES / f"{name}_kpis.parquet")
    want_cases = pd.read_parquet(FIXTURES / f"{name}_cases.parquet")
    assert len(cases) > 0
    # Every recorded KPI is still there with the same value (new KPIs may be added).
    got = kpis.set_index("kpi").loc[want_kpis["kpi"]].reset_index()
    pd.testing.assert_frame_equal(got, want_kpis, check_exact=True)
    pd.testing.assert_frame_equal(cases, want_cases, check_exact=True)
