"""What a run will cost before it starts: record times, cases, memory and output size.

The figures are rough (within a factor of about two), fitted on runs of the bundled
Gongshu network (``twin run`` of 1 to 20 days with 40 to 600 crews): a process base of
about 450 MB, about 50 bytes of memory and 20 bytes of output per crew per record time
(positions and status), about 1 KB of memory and 0.5 KB of output per case, and about
6 MB of output for any run (the HTML summary embeds plotly.js). They are meant to warn
before a long horizon exhausts the memory or the disk, not to plan capacity.

:data:`MAX_HORIZON` is the documented limit of ``twin run`` and ``twin compare``: a
longer horizon, or one whose estimated memory exceeds the memory available now, is
refused unless ``--force`` is given; a horizon over :data:`WARN_HORIZON` is run with a
warning that gives the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

from twin.errors import ArgumentError
from twin.scenario import Scenario

__all__ = [
    "MAX_HORIZON",
    "WARN_HORIZON",
    "RunEstimate",
    "available_memory",
    "check_horizon",
    "estimate_run",
]

#: Longest horizon run without ``--force`` [s] (366 days).
MAX_HORIZON = 366 * 86400.0
#: Longer horizons are announced with the estimate [s] (31 days).
WARN_HORIZON = 31 * 86400.0

#: Fitted per-unit costs [bytes] (see the module docstring).
_BASE_MEMORY = 450e6
_MEMORY_PER_CREW_RECORD = 50.0
_OUTPUT_PER_CREW_RECORD = 20.0
_MEMORY_PER_CASE = 1000.0
_OUTPUT_PER_CASE = 500.0
_OUTPUT_BASE = 6e6  # summary.html embeds plotly.js (about 4.6 MB)


@dataclass(frozen=True)
class RunEstimate:
    """Rough cost of one run of a scenario.

    Attributes
    ----------
    records
        Record times (``horizon / record_interval + 1``) [-].
    crews
        Crews recorded at each record time [-].
    cases
        Expected generated cases (0 when cases are replayed or disabled) [-].
    memory_bytes
        Peak memory of the process [bytes].
    output_bytes
        Size of the run folder [bytes].
    """

    records: int
    crews: int
    cases: int
    memory_bytes: float
    output_bytes: float

    def describe(self) -> str:
        """One line: cases, record times, memory and output, e.g. for a warning."""
        return (
            f"about {self.cases:,} cases, {self.records:,} record times × {self.crews} "
            f"crews, {_gb(self.memory_bytes)} of memory and {_gb(self.output_bytes)} "
            "of output"
        )


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def estimate_run(scenario: Scenario) -> RunEstimate:
    """A rough estimate of the memory and output of a run of ``scenario``."""
    records = int(scenario.horizon // scenario.record_interval) + 1
    crews = scenario.crews.count
    cfg = scenario.cases
    cases = 0
    if cfg.enabled and cfg.replay is None:
        cases = round(cfg.daily_total * scenario.horizon / 86400.0)
    crew_records = float(records) * crews
    return RunEstimate(
        records=records,
        crews=crews,
        cases=cases,
        memory_bytes=_BASE_MEMORY + _MEMORY_PER_CREW_RECORD * crew_records
        + _MEMORY_PER_CASE * cases,
        output_bytes=_OUTPUT_BASE + _OUTPUT_PER_CREW_RECORD * crew_records
        + _OUTPUT_PER_CASE * cases,
    )  # fmt: skip


def available_memory() -> float | None:
    """Memory available to a new process now [bytes]; None where it cannot be told.

    Linux's ``MemAvailable`` (free memory plus the page cache that can be dropped); free
    memory alone, which a large page cache makes look small, is not used.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_horizon(
    scenario: Scenario,
    *,
    force: bool = False,
    available: float | None = None,
    where: str = "horizon",
) -> str | None:
    """Refuse a run too long for the limit or the memory; a warning for a long one.

    Parameters
    ----------
    scenario
        The scenario to run.
    force
        Run even over :data:`MAX_HORIZON` or the available memory.
    available
        Memory available [bytes]; default :func:`available_memory`.
    where
        What the messages start with (e.g. ``"scenarios/x.yaml: horizon"``).

    Returns
    -------
    str or None
        A warning with the estimate when the horizon is over :data:`WARN_HORIZON` (or
        forced over a limit); None otherwise.

    Raises
    ------
    ArgumentError
        Without ``force``: the horizon is over :data:`MAX_HORIZON`, or the estimated
        memory is over what is available.
    """
    est = estimate_run(scenario)
    days = scenario.horizon / 86400.0
    available = available_memory() if available is None else available
    over_memory = available is not None and est.memory_bytes > available
    if not force and scenario.horizon > MAX_HORIZON:
        raise ArgumentError(
            f"{where}: {days:,.0f} days is over the limit of {MAX_HORIZON / 86400:.0f} days "
            f"({est.describe()}); shorten the horizon or give --force to run it anyway"
        )
    if not force and over_memory:
        raise ArgumentError(
            f"{where}: {days:,.1f} days needs {est.describe()}, more than the "
            f"{_gb(available or 0.0)} of memory available; shorten the horizon, raise "
            "record_interval or lower crews.count, or give --force to run it anyway"
        )
    if scenario.horizon > WARN_HORIZON or over_memory:
        return f"{where}: {days:,.0f} days, {est.describe()}; this will take a while"
    return None
