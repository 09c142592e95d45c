"""Shared fixtures of the radar tests: real frames, shipped events, synthetic fields."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from pyproj import CRS

from twin.hydro.radar.array import radar_array
from twin.hydro.radar.transpose import District

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "data" / "radar"
KNMI_FILES = sorted(FIXTURES.glob("RAD_NL25_RAP_5min_*.h5"))
FMI_FILES = sorted(FIXTURES.glob("*_fmi.radar.composite.*.pgm.gz"))
#: The shared data beside the clone (CI has ../shared); MRMS tests skip without it.
SHARED_RADAR = REPO / ".." / "shared" / "data" / "radar"
MRMS_DIR = SHARED_RADAR / "mrms" / "2019" / "06" / "10"
#: UTM zone 51N, the zone of Gongshu.
UTM51 = CRS.from_epsg(32651)


def synthetic_radar(
    values: np.ndarray,
    *,
    step_s: float = 300.0,
    cell_m: float = 1000.0,
    centre: tuple[float, float] = (794_000.0, 3_358_000.0),
    crs: CRS = UTM51,
    start: str = "2024-06-01T00:00",
) -> xr.DataArray:
    """A radar array ``(time, y, x)`` on a regular UTM grid around ``centre`` (Gongshu)."""
    nt, ny, nx = values.shape
    x = centre[0] + (np.arange(nx) - (nx - 1) / 2) * cell_m
    y = centre[1] + ((np.arange(ny) - (ny - 1) / 2) * cell_m)[::-1]
    t = np.datetime64(start, "ns") + np.arange(nt) * np.timedelta64(int(step_s * 1e9), "ns")
    return radar_array(values, t, x, y, crs, interval_s=step_s,
                       attrs={"event": "synthetic", "source": "synthetic test field"})  # fmt: skip


def gaussian_blobs(
    shape: tuple[int, int, int],
    start: tuple[float, float],
    velocity: tuple[float, float],
    *,
    peak: float = 30.0,
    sigma: float = 5.0,
) -> np.ndarray:
    """Rain [mm/h] of a Gaussian blob (plus a weaker satellite) moving at ``velocity``.

    ``start`` and ``velocity`` are (column, row) and cells per step.
    """
    nt, ny, nx = shape
    rows, cols = np.mgrid[0:ny, 0:nx].astype(float)
    out = np.zeros(shape)
    for k in range(nt):
        c0 = start[0] + velocity[0] * k
        r0 = start[1] + velocity[1] * k
        out[k] = peak * np.exp(-((cols - c0) ** 2 + (rows - r0) ** 2) / (2 * sigma**2))
        out[k] += (
            0.5
            * peak
            * np.exp(-((cols - c0 - 12) ** 2 + (rows - r0 + 6) ** 2) / (2 * (0.6 * sigma) ** 2))
        )
    out[out < 0.05] = 0.0
    return out


@pytest.fixture(scope="session")
def gongshu_district() -> District:
    """Gongshu district, from the bundled boundary."""
    return District.default()


@pytest.fixture(scope="session")
def knmi_event() -> xr.DataArray:
    """The shipped KNMI event (data/radar/knmi-20100826.nc)."""
    from twin.hydro.radar.events import load_event

    return load_event("knmi-20100826")


@pytest.fixture
def no_mrms() -> Iterator[None]:
    """Skip when the shared MRMS files are not beside the clone."""
    if not MRMS_DIR.is_dir():
        pytest.skip(f"{MRMS_DIR} not present (the shared data folder is beside the clone in CI)")
    yield
