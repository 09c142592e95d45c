"""The seed registry: named random streams derived from a scenario's one seed.

A run draws every random number from a stream of its own, derived from the scenario seed
and a fixed *salt* per stream (``numpy.random.SeedSequence([seed, salt])``). Streams are
independent of each other, so adding draws to one (more crowd alerts, say) never shifts
another (the cases), and runs of different policies with the same seed see the same
cases (common random numbers). The salts are part of the results: changing one changes
every run that uses its stream, bit for bit.

=============  ========  ==============================================================
stream         salt      what it draws
=============  ========  ==============================================================
``cases``      0xCA5E    the case stream: times, places, categories, service times
``engine``     0x7717    spawned 4×: crews, operations, the dispatch policy, raised cases
``ponding``    0x4A7E    ponding cases raised by the water at low points
``trucks``     0x7B0C    the muck-truck day (spawned by the truck model)
``truck_model`` 0x7C0C   inside the truck model: trips, violations, detection
``crowds``     0xC70D    crowd-control cases raised by crowd alerts
``hydro_truth`` 0x7207   how each point's real drains differ from design (hydro.truth)
``forecast``   0xF0CA    the physics-ensemble forecaster's priors and filter noise
=============  ========  ==============================================================
"""

from __future__ import annotations

import numpy as np

from twin.errors import ArgumentError

__all__ = ["MAX_SEED", "STREAMS", "check_seed", "stream_rng", "stream_seed"]

#: The largest seed: a seed is stored with the results as a signed 64-bit integer
#: (NetCDF and Parquet attributes), so it must fit in one (2**63 - 1).
MAX_SEED = 2**63 - 1

#: Stream name → salt mixed with the scenario seed.
STREAMS: dict[str, int] = {
    "cases": 0xCA5E,
    "engine": 0x7717,
    "ponding": 0x4A7E,
    "trucks": 0x7B0C,
    "truck_model": 0x7C0C,
    "crowds": 0xC70D,
    "hydro_truth": 0x7207,
    "forecast": 0xF0CA,
}


def stream_seed(seed: int, stream: str) -> np.random.SeedSequence:
    """The seed sequence of a named stream for a scenario ``seed``.

    Raises
    ------
    KeyError
        ``stream`` is not registered in :data:`STREAMS`.
    """
    if stream not in STREAMS:
        raise KeyError(f"unknown random stream {stream!r}; registered: {', '.join(STREAMS)}")
    return np.random.SeedSequence([seed, STREAMS[stream]])


def stream_rng(seed: int, stream: str) -> np.random.Generator:
    """A generator on a named stream for a scenario ``seed``."""
    return np.random.default_rng(stream_seed(seed, stream))


def check_seed(seed: int, where: str = "seed", *, runs: int = 1) -> int:
    """Check that ``seed`` (and ``seed + runs - 1``, for replications) is a valid seed.

    Raises
    ------
    ArgumentError
        The seed is negative or larger than :data:`MAX_SEED`; the message names
        ``where`` (e.g. ``"--seed"``) and the range.
    """
    if not 0 <= seed <= MAX_SEED - max(runs - 1, 0):
        last = "" if runs <= 1 else f" (and seed + {runs - 1} for the replications)"
        raise ArgumentError(
            f"{where} {seed}: a seed must be a whole number from 0 to {MAX_SEED - max(runs - 1, 0)}"
            f"{last}; give one in that range"
        )
    return seed
