"""Verification of the case loop against queueing theory.

Two analytical answers the engine must reproduce:

1. **Erlang C (M/M/c).** With Poisson reports at rate λ [1/s], one category, every case
   and every crew at one node (travel 0 s), filing, dispatch decision, verification and
   closing all 0 s, exponential on-site work with mean 1/μ [s], and ``c`` crews on one
   24 h shift, the wait for a crew is the wait in queue of an M/M/c FCFS queue. With
   offered load a = λ/μ [-] and utilisation ρ = a/c < 1 [-], the probability that a case
   waits (by PASTA, the share of cases that wait) is Erlang's C formula [1]_

   .. math::

      C(c, a) = \\frac{\\frac{a^c}{c!} \\frac{c}{c - a}}
                     {\\sum_{k=0}^{c-1} \\frac{a^k}{k!} + \\frac{a^c}{c!} \\frac{c}{c - a}}

   and the mean wait in queue [s] is

   .. math::

      W_q = \\frac{C(c, a)}{c μ - λ}.

   Both are estimated from independent replications (different seeds), each started empty
   and discarding the cases reported in its first day (warm-up). The analytical values
   must lie in the 99 % Student-t confidence intervals of the replication means, and the
   values for one crew more, or for work 5 % shorter or longer, must not.

   Before any statistics, each replication's waits are checked case by case against the
   FCFS c-server recursion of Kiefer and Wolfowitz [2]_ on the same report and work times:
   case n starts at max(r_n, min_k V_k), where V_k is when server k is next free.

2. **Little's law** L = λW [3]_ on the baseline day. Over a horizon T [s] that starts
   empty, the sample-path form [4]_ is an identity: with report times r_i and closing
   times c_i (∞ for a case still open at T),

   .. math::

      L = \\frac{1}{T} \\int_0^T N(t)\\,dt
        = \\frac{n}{T} \\cdot \\frac{1}{n} \\sum_{i=1}^{n} (\\min(c_i, T) - r_i)
        = λ_{eff} W,

   where N(t) = #{i : r_i ≤ t < c_i} is the number of open cases [-]. The engine keeps
   its own counter of open cases and records it every ``record_interval`` as the
   ``backlog`` series. The test checks that series against N(t) rebuilt from the case
   table at every record time, its time average against λ_eff·W within the sampling
   error of the record interval, and the textbook form over closed cases only
   (λ = n_closed/T, W = their mean time to close) within a few per cent.

References
----------
.. [1] L. Kleinrock, *Queueing Systems, Volume 1: Theory*. Wiley, 1975, sec. 3.5 (the
   M/M/m queue: Erlang's C formula and the mean wait).
.. [2] J. Kiefer and J. Wolfowitz, "On the theory of queues with many servers",
   *Transactions of the American Mathematical Society* 78(1), 1-18, 1955.
.. [3] J. D. C. Little, "A proof for the queuing formula: L = λW", *Operations Research*
   9(3), 383-387, 1961.
.. [4] S. Stidham, "A last word on L = λW", *Operations Research* 22(2), 417-421, 1974.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from scipy import stats

from twin.cases.categories import load_categories
from twin.cases.stream import CaseStream
from twin.network import RoadNetwork
from twin.run.results import RunResult, collect_results
from twin.run.runner import prepare
from twin.scenario import Scenario, load_scenario, validate_scenario
from twin.sim.engine import Simulation

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "gongshu_baseline_day.yaml"
#: The bundled depots layer (the session's ``gongshu`` network is built without layers).
DEPOTS = ROOT / "data" / "layers" / "depots.geojson"

FloatArray = npt.NDArray[np.float64]

CONFIDENCE = 0.99

# ------------------------------------------------------------------ M/M/c parameters
CREWS = 5  # c [-]
MEAN_WORK = 1800.0  # 1/μ [s]
RHO = 0.8  # utilisation λ/(cμ) [-]
RATE = RHO * CREWS / MEAN_WORK  # λ [1/s]: 8 reports per hour
DAYS = 30  # reports arrive over this many days in each replication
WARMUP = 86400.0  # cases reported earlier are left out [s]
DRAIN = 2 * 86400.0  # the run goes on after the last report, so every case is served [s]
REPLICATIONS = 20


def erlang_c(c: int, a: float) -> float:
    """Probability that a case waits in an M/M/c queue with offered load ``a`` [-].

    Evaluated through the Erlang B recursion B_k = a B_{k-1} / (k + a B_{k-1}), B_0 = 1,
    and C = c B_c / (c - a (1 - B_c)), which needs no factorials.
    """
    if not 0 < a < c:
        raise ValueError(f"offered load a={a} must lie in (0, c={c}) for a stable queue")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return c * b / (c - a * (1.0 - b))


def mmc_mean_wait(c: int, rate: float, mean_work: float) -> float:
    """Mean wait in queue of an M/M/c queue, W_q = C(c, a) / (cμ - λ) [s]."""
    mu = 1.0 / mean_work
    return erlang_c(c, rate / mu) / (c * mu - rate)


def fcfs_waits(report: FloatArray, work: FloatArray, c: int) -> FloatArray:
    """Waits in queue [s] of FCFS cases on ``c`` identical servers (Kiefer-Wolfowitz)."""
    free = [0.0] * c  # when each server is next free [s], as a heap
    wait = np.empty(report.shape[0])
    for i, (r, w) in enumerate(zip(report.tolist(), work.tolist(), strict=True)):
        begin = max(r, heapq.heappop(free))
        wait[i] = begin - r
        heapq.heappush(free, begin + w)
    return wait


def test_erlang_c_reproduces_textbook_values() -> None:
    # M/M/1: C = ρ and W_q = ρ / (μ - λ).
    assert erlang_c(1, 0.6) == pytest.approx(0.6)
    assert mmc_mean_wait(1, 0.6, 1.0) == pytest.approx(0.6 / 0.4)
    # M/M/2 with a = 1: C = 1 / (1 + 1 + 1) = 1/3.
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # The factorial form, for the parameters of the simulation test.
    a = RATE * MEAN_WORK
    top = a**CREWS / math.factorial(CREWS) * CREWS / (CREWS - a)
    bottom = sum(a**k / math.factorial(k) for k in range(CREWS)) + top
    assert erlang_c(CREWS, a) == pytest.approx(top / bottom, rel=1e-12)
    assert erlang_c(CREWS, a) == pytest.approx(0.5541, abs=1e-4)
    assert mmc_mean_wait(CREWS, RATE, MEAN_WORK) == pytest.approx(997.4, abs=0.1)


def test_fcfs_recursion_on_a_hand_worked_example() -> None:
    report = np.array([0.0, 1.0, 2.0, 3.0])
    work = np.array([10.0, 10.0, 1.0, 1.0])
    # Two servers: cases 0 and 1 start at once; case 2 waits for server 0 (free at 10),
    # case 3 for server 1 (free at 11).
    assert np.array_equal(fcfs_waits(report, work, 2), [0.0, 0.0, 8.0, 8.0])


# ------------------------------------------------------------------ M/M/c in the engine
def mmc_scenario(seed: int, skill: str) -> Scenario:
    """Crews of one skill on one 24 h shift from the start; every other stage 0 s."""
    zero = {"kind": "fixed", "mean": 0}
    return validate_scenario(
        {
            "name": "mmc_verification",
            "start": "2026-06-01T00:00:00",
            "horizon": DAYS * 86400.0 + DRAIN,
            "seed": seed,
            "record_interval": 3600,
            "crews": {
                "count": CREWS,
                "skills": {skill: 1.0},
                # Starts at the scenario's time of day and lasts 24 h: every crew is on
                # duty from t = 0 to the horizon (off and back on at the same instant
                # each midnight, which changes nothing).
                "shifts": [{"name": "all_day", "start": "00:00", "hours": 24, "share": 1.0}],
            },
            "operations": {
                "operators": 100_000,
                "inspectors": 100_000,
                "file_time": zero,
                "dispatch_time": zero,
                "verify_time": zero,
                "close_time": zero,
            },
            "escalation": {"enabled": False},
        },
        where="<mmc>",
    )


def poisson_stream(rng: np.random.Generator, *, node: int, category: int) -> CaseStream:
    """Poisson reports at rate :data:`RATE` over :data:`DAYS` days; exponential work."""
    horizon = DAYS * 86400.0
    report = np.cumsum(rng.exponential(1.0 / RATE, int(RATE * horizon * 1.2) + 100))
    assert report[-1] > horizon, "draw more gaps between reports"
    report = report[report < horizon]
    n = report.shape[0]
    return CaseStream(
        occur_time=report.copy(),
        report_time=report,
        category=np.full(n, category, dtype=np.int64),
        source=np.zeros(n, dtype=np.int64),
        node=np.full(n, node, dtype=np.int64),
        file_time=np.zeros(n),
        work_time=rng.exponential(MEAN_WORK, n),
        verify_time=np.zeros(n),
    )


def run_mmc(net: RoadNetwork, seed: int) -> tuple[Simulation, RunResult]:
    """One replication: ``CREWS`` crews and every case at one node of the network."""
    table = load_categories()
    category = 0
    node = net.n_nodes // 2
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x3C]))
    stream = poisson_stream(rng, node=node, category=category)
    scenario = mmc_scenario(seed, str(table.skill[category]))
    sim = Simulation(scenario, net, stream, table, np.array([node], dtype=np.int64)).run()
    return sim, collect_results(sim)


@dataclass(frozen=True)
class Replications:
    """Per-replication results of the M/M/c runs (one entry per replication)."""

    mean_wait: FloatArray  # mean wait of the cases after the warm-up [s]
    share_waiting: FloatArray  # share of those cases that waited [-]
    cases: int  # cases after the warm-up, all replications
    open_at_end: FloatArray  # cases never closed [-]
    max_travel: FloatArray  # longest travel to a case [s]
    min_duty: FloatArray  # shortest time on duty of a crew / horizon [-]
    wait_vs_kpi: FloatArray  # max |wait − time_to_dispatch_s| [s]
    wait_vs_fcfs: FloatArray  # max |wait − FCFS c-server recursion| [s]


@pytest.fixture(scope="module")
def mmc(gongshu: RoadNetwork) -> Replications:
    rows, cases = [], 0
    for seed in range(REPLICATIONS):
        sim, result = run_mmc(gongshu, seed)
        report = sim.cases.report_time
        # The wait for a crew: dispatched − (reported + filing + dispatch decision).
        wait = sim.stamp["dispatched"] - sim.stamp["filed"] - sim.dispatch_time
        fcfs = fcfs_waits(report, sim.cases.work_time, CREWS)
        keep = report >= WARMUP
        cases += int(keep.sum())
        rows.append(
            (
                wait[keep].mean(),
                # Guard against a zero wait landing an ulp off (now + (t − now)): < 1 µs is none.
                np.mean(wait[keep] > 1e-6),
                np.isnan(sim.stamp["closed"]).sum(),
                sim.travel_time.max(),
                sim.fleet.duty_time.min() / sim.scenario.horizon,
                np.nanmax(np.abs(wait - result.cases["time_to_dispatch_s"].to_numpy())),
                np.nanmax(np.abs(wait - fcfs)),
            )
        )
    cols = [np.array(c, dtype=np.float64) for c in zip(*rows, strict=True)]
    return Replications(cols[0], cols[1], cases, *cols[2:])


@pytest.mark.slow
def test_mmc_engine_is_an_exact_fcfs_c_server_queue(mmc: Replications) -> None:
    # The loop around the queue takes no time and no travel, crews never go off duty ...
    assert np.all(mmc.open_at_end == 0), "every case must be served before the horizon"
    assert np.all(mmc.max_travel == 0.0)
    assert np.all(mmc.min_duty == 1.0), "a 24 h shift keeps every crew on duty throughout"
    assert np.all(mmc.wait_vs_kpi < 1e-6)
    # ... so, case by case, the engine's waits are those of an FCFS c-server queue.
    assert np.all(mmc.wait_vs_fcfs < 1e-6), mmc.wait_vs_fcfs


def t_interval(x: FloatArray) -> tuple[float, float]:
    """Student-t confidence interval (:data:`CONFIDENCE`) of the mean of replications."""
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, x.shape[0] - 1) * stats.sem(x)
    return float(x.mean() - half), float(x.mean() + half)


def inside(value: float, interval: tuple[float, float]) -> bool:
    return interval[0] <= value <= interval[1]


@pytest.mark.slow
def test_mmc_mean_wait_matches_erlang_c(mmc: Replications) -> None:
    expected = mmc_mean_wait(CREWS, RATE, MEAN_WORK)  # 997 s
    # Replication means of waits are skewed to the right, so short replications make the
    # t interval cover less than it should; with 20 × 30 days it held W_q in 149 of 150
    # independent sets of replications (and C in all of them).
    ci = t_interval(mmc.mean_wait)
    assert inside(expected, ci), f"W_q = {expected:.0f} s outside {ci} ({mmc.cases} cases)"
    # The test can fail: one crew more (256 s), or work 5 % shorter (683 s) or longer
    # (1,497 s), lies outside the interval.
    assert not inside(mmc_mean_wait(CREWS + 1, RATE, MEAN_WORK), ci)
    assert not inside(mmc_mean_wait(CREWS, RATE, 0.95 * MEAN_WORK), ci)
    assert not inside(mmc_mean_wait(CREWS, RATE, 1.05 * MEAN_WORK), ci)


@pytest.mark.slow
def test_mmc_share_of_cases_that_wait_matches_erlang_c(mmc: Replications) -> None:
    a = RATE * MEAN_WORK
    expected = erlang_c(CREWS, a)  # 0.554
    ci = t_interval(mmc.share_waiting)
    assert inside(expected, ci), f"C(c, a) = {expected:.4f} outside {ci}"
    # One crew more (0.285), or work 5 % shorter (0.480) or longer (0.634), is rejected.
    assert not inside(erlang_c(CREWS + 1, a), ci)
    assert not inside(erlang_c(CREWS, 0.95 * a), ci)
    assert not inside(erlang_c(CREWS, 1.05 * a), ci)


# ------------------------------------------------------------------ Little's law
@pytest.fixture(scope="module")
def baseline(gongshu: RoadNetwork) -> RunResult:
    """The baseline day, its backlog recorded every minute."""
    scenario = load_scenario(BASELINE).with_updates(
        **{"record_interval": 60, "crews.depots": str(DEPOTS)}
    )
    sim = prepare(scenario, network=gongshu).run()
    return collect_results(sim)


def case_seconds(result: RunResult) -> tuple[FloatArray, FloatArray]:
    """Report and closing times of every case [s since start]; NaN when still open."""
    start = pd.Timestamp(result.scenario.start)
    cases = result.cases
    report = (cases["reported"] - start).dt.total_seconds().to_numpy(dtype=float)
    closed = (cases["closed"] - start).dt.total_seconds().to_numpy(dtype=float)
    return report, closed


@pytest.mark.slow
def test_recorded_backlog_counts_the_open_cases_of_the_case_table(baseline: RunResult) -> None:
    report, closed = case_seconds(baseline)
    ends = np.nan_to_num(closed, nan=np.inf)
    t = baseline.dataset["elapsed"].to_numpy()
    assert t[1] - t[0] == 60.0
    # N(t) = #{i : r_i ≤ t < c_i}, counted from sorted stage times.
    open_now = np.searchsorted(np.sort(report), t, side="right") - np.searchsorted(
        np.sort(ends), t, side="right"
    )
    np.testing.assert_array_equal(baseline.dataset["backlog"].to_numpy(), open_now)


@pytest.mark.slow
def test_littles_law_on_the_baseline_day(baseline: RunResult) -> None:
    horizon = float(baseline.scenario.horizon)
    report, closed = case_seconds(baseline)
    assert report.max() < horizon and np.isnan(closed).sum() > 0  # censoring is exercised
    in_system = np.fmin(closed, horizon) - report  # NaN (still open) → horizon
    n = report.shape[0]
    rate = n / horizon  # λ_eff [1/s]
    mean_time = in_system.mean()  # W [s]
    # L from the engine's own counter: the left Riemann sum of the per-minute samples.
    dt = float(baseline.scenario.record_interval)
    backlog = baseline.dataset["backlog"].to_numpy()
    assert backlog.shape[0] == round(horizon / dt) + 1
    l_recorded = backlog[:-1].mean()
    # Sampling every dt changes each case's contribution by a phase error with mean 0
    # and variance dt²/6, so the time average has standard error √(n/6)·dt/T.
    se = math.sqrt(n / 6) * dt / horizon
    assert abs(l_recorded - rate * mean_time) < 4 * se, (l_recorded, rate * mean_time, se)
    # The mean_backlog KPI is the same time average (with the end point).
    assert baseline.kpi("mean_backlog") == pytest.approx(l_recorded, rel=0.01)
    # Textbook form over the cases closed within the horizon: the cases still open at
    # the end are the boundary term, a few per cent on one day.
    done = ~np.isnan(closed)
    textbook = done.sum() / horizon * (closed - report)[done].mean()
    assert textbook == pytest.approx(l_recorded, rel=0.03)
    assert textbook < l_recorded  # the open cases' time in system is left out
