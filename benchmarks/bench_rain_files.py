"""Rain files users bring: a national 0.1° multi-day grid read within 1 GB, and checks.

Issue 19 found that a national 0.1° grid of several days crashed the old reader with a
MemoryError (it loaded the whole variable, then made a float64 copy). This benchmark
builds such a grid **synthetically** on disk with dask (nothing of it is ever in memory
at once): 60° × 40° at 0.1° (600 × 400 cells over 75–135° E, 15–55° N), a 10-minute step
over ``--days`` days, float32, zlib, chunked on disk. Its rain is a made-up band that
crosses the country each day plus a storm over Hangzhou: a size and layout test, not a
climate, with textured drizzle over part of the country so that the file compresses like
real data rather than like zeros. Then, in a fresh process each:

- **the reader** (:func:`twin.hydro.rain_netcdf.read_netcdf`) with the Gongshu network's
  bounding box: it opens the file lazily with dask chunks, crops to the cells over the
  network and only then loads them. Measured: peak RSS of the process
  (``ru_maxrss``), the same for a process that only imports the reader (the
  interpreter and libraries), the peak of Python allocations (``tracemalloc``, which
  numpy reports to), the cells and steps loaded, and the wall time (for information).
  Peak RSS is ``VmHWM`` of ``/proc/self/status``: ``ru_maxrss`` would report the
  parent's peak, which Linux carries across fork and exec.
  Target: the reading process stays within 1 GB of RSS.
- **the scenario's path** (:func:`twin.hydro.rain_files.file_rain`) on the same file
  with the Gongshu low points: the rain at every point, same bound.

For comparison the table gives the in-memory size of the whole variable as float32 and
as float64, and (unless ``--no-whole``) the peak RSS of a process that reads it the old
way: the whole variable loaded, converted to float64, then cropped. Run
``python benchmarks/bench_rain_files.py --write`` to re-measure and record the table in
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _report import markdown_table, write_section

ROOT = Path(__file__).resolve().parent.parent
TARGET_GB = 1.0
LON0, LAT0, NX, NY, CELL = 75.0, 15.0, 600, 400, 0.1
STEP_MIN = 10

#: Reads the grid over Gongshu in a fresh process; prints JSON.
PROBE = """
import json, sys, time, tracemalloc
mode, path = sys.argv[1], sys.argv[2]


def hwm_gb():  # peak RSS of this process since exec (VmHWM; ru_maxrss keeps the parent's)
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2

import numpy as np
from twin.hydro.rain_netcdf import read_netcdf
from twin.hydro.rain_files import file_rain
from twin.scenario import RainFileConfig
out = {"rss_imports_gb": hwm_gb()}
if mode != "imports":
    from twin.network.build import default_network
    from twin.hydro.lowpoints import low_points
    pts = low_points(default_network())
    bbox = (float(pts.lon.min()), float(pts.lat.min()), float(pts.lon.max()), float(pts.lat.max()))
    tracemalloc.start()
    t0 = time.perf_counter()
    if mode == "whole":  # what the old reader did: load it all, float64, then use a corner
        import xarray as xr
        with xr.open_dataset(path) as ds:
            rain = ds["precipitation"].load().astype(float) * 1.0
        box = {"lat": slice(bbox[1] - 0.1, bbox[3] + 0.1),
               "lon": slice(bbox[0] - 0.1, bbox[2] + 0.1)}
        rain = rain.sel(box)
        out["loaded"] = dict(rain.sizes)
    elif mode == "read":
        rain = read_netcdf(path, bbox=bbox)
        out["loaded"] = dict(rain.sizes)
        out["cropped_to"] = rain.attrs["cropped_to"]
    else:
        rain = file_rain(path, RainFileConfig(), lon=pts.lon, lat=pts.lat)
        out["loaded"] = dict(rain.sizes)
        out["depth_mm"] = float(rain.mean("point").sum()) * rain.attrs["interval_s"] / 3600
    out["wall_s"] = time.perf_counter() - t0
    out["tracemalloc_peak_gb"] = tracemalloc.get_traced_memory()[1] / 1024**3
    out["bbox"] = bbox
out["rss_peak_gb"] = hwm_gb()
print(json.dumps(out))
"""


def _block(block: Any, block_info: Any = None) -> Any:
    """Rain [mm/h] of one chunk (time, lat, lon): a band crossing east, a Hangzhou storm."""
    import numpy as np

    (t0, t1), (y0, y1), (x0, x1) = block_info[None]["array-location"]
    hours = np.arange(t0, t1)[:, None, None] * STEP_MIN / 60.0
    lat = LAT0 + CELL * np.arange(y0, y1)[None, :, None]
    lon = LON0 + CELL * np.arange(x0, x1)[None, None, :]
    front = LON0 + (hours % 24.0) * 2.5  # a band crossing the country each day
    band = 12.0 * np.exp(-((lon - front) ** 2) / (2 * 1.5**2)) * (np.abs(lat - 32.0) < 8.0)
    pulse = np.exp(-(((hours % 24.0) - 10.0) ** 2) / (2 * 1.5**2))
    storm = 45.0 * pulse * np.exp(-((lon - 120.15) ** 2 + (lat - 30.3) ** 2) / (2 * 0.4**2))
    # Drizzle with texture on part of the country, so the file compresses like real data.
    texture = np.sin(lon * 37.1 + lat * 91.7 + hours * 3.3) * np.cos(lon * 13.7 - lat * 7.3)
    drizzle = np.where(texture > 0.2, 2.0 * texture, 0.0) * (lat > 25.0)
    rain = band + storm + drizzle
    return np.where(rain > 0.2, rain, 0.0).astype(np.float32)


def build_grid(path: Path, days: int) -> dict[str, float]:
    """Write the national grid with dask, chunk by chunk; returns its facts."""
    import dask.array as dsa
    import numpy as np
    import pandas as pd
    import xarray as xr

    n_time = days * 24 * 60 // STEP_MIN
    shape, chunks = (n_time, NY, NX), (36, NY, NX)
    data = dsa.map_blocks(_block, dsa.zeros(shape, chunks=chunks, dtype=np.float32),
                          dtype=np.float32)  # fmt: skip
    time_ = pd.date_range("2026-06-01", periods=n_time, freq=f"{STEP_MIN}min")
    ds = xr.Dataset(
        {"precipitation": (("time", "lat", "lon"), data, {"units": "mm h-1",
                           "standard_name": "rainfall_rate"})},
        coords={"time": time_, "lat": LAT0 + CELL * np.arange(NY),
                "lon": LON0 + CELL * np.arange(NX)},
        attrs={"title": "SYNTHETIC national 0.1 deg rain grid (benchmark)"},
    )  # fmt: skip
    t0 = time.perf_counter()
    enc = {"precipitation": {"zlib": True, "complevel": 1, "chunksizes": (36, 100, 100)}}
    ds.to_netcdf(path, encoding=enc)
    return {
        "n_time": n_time,
        "write_s": time.perf_counter() - t0,
        "file_gb": path.stat().st_size / 1024**3,
        "float32_gb": n_time * NY * NX * 4 / 1024**3,
        "float64_gb": n_time * NY * NX * 8 / 1024**3,
    }


def probe(mode: str, path: Path) -> dict[str, Any]:
    """Run :data:`PROBE` in a fresh interpreter."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", PROBE, mode, str(path)], capture_output=True,
                       text=True, env=env, cwd=ROOT, timeout=1800)  # fmt: skip
    if r.returncode != 0:
        raise SystemExit(f"probe {mode} failed:\n{r.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=7, help="days of 10-minute steps")
    parser.add_argument(
        "--no-whole",
        dest="whole",
        action="store_false",
        help="skip loading the whole grid the old way (needs ~3× its size)",
    )
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_rain_") as tmp:
        path = Path(tmp) / "national.nc"
        grid = build_grid(path, args.days)
        base = probe("imports", path)
        read = probe("read", path)
        scen = probe("file_rain", path)
        whole = probe("whole", path) if args.whole else None
    cells = NY * NX
    loaded = read["loaded"]
    kept = loaded.get("y", 1) * loaded.get("x", 1)
    rows = [
        ["grid (synthetic)", f"{NX} × {NY} cells at 0.1°, {grid['n_time']:,} steps of "
         f"{STEP_MIN} min ({args.days} days), float32", ""],
        ["file on disk (zlib, chunks 36 × 100 × 100)",
         f"{grid['file_gb'] * 1024:.0f} MB, written in {grid['write_s']:.0f} s by dask", ""],
        ["whole variable in memory: float32 / float64 (old reader)",
         f"{grid['float32_gb']:.2f} GB / {grid['float64_gb']:.2f} GB", "(not loaded)"],
        ["cells loaded by the reader (Gongshu + 1 cell)", f"{kept} of {cells:,} "
         f"({kept / cells:.4%}) × {loaded['time']:,} steps", ""],
        ["peak RSS: reader process / imports only", f"{read['rss_peak_gb']:.2f} GB / "
         f"{base['rss_peak_gb']:.2f} GB", f"≤ {TARGET_GB:g} GB"],
        ["tracemalloc peak during the read", f"{read['tracemalloc_peak_gb'] * 1024:.0f} MB", ""],
        ["read wall (information)", f"{read['wall_s']:.1f} s", ""],
        ["scenario path (rain at the low points): peak RSS", f"{scen['rss_peak_gb']:.2f} GB",
         f"≤ {TARGET_GB:g} GB"],
        ["scenario path: depth over the district, wall", f"{scen['depth_mm']:.1f} mm, "
         f"{scen['wall_s']:.1f} s", ""],
    ]  # fmt: skip
    if whole is not None:
        rows.append(
            [
                "old way (load it all as float64, then crop): peak RSS, wall",
                f"{whole['rss_peak_gb']:.2f} GB, {whole['wall_s']:.1f} s",
                "",
            ]
        )
    met_read = read["rss_peak_gb"] <= TARGET_GB
    met_scen = scen["rss_peak_gb"] <= TARGET_GB
    met_crop = kept / cells <= 0.01
    table = markdown_table(["figure", "measured", "target"], rows)
    body = "\n\n".join([
        "## Rain files: a national 0.1° multi-day grid read over Gongshu",
        table,
        f"Bounding box of the Gongshu low points: lon {read['bbox'][0]:.3f}–"
        f"{read['bbox'][2]:.3f}°, lat {read['bbox'][1]:.3f}–{read['bbox'][3]:.3f}°; "
        f"{read['cropped_to']}. Each read in a fresh process; RSS is the process's peak "
        "(`VmHWM`), interpreter, libraries and the Gongshu network included. The grid "
        "is synthetic (a size and layout test).",
        f"target national grid read within {TARGET_GB:g} GB (peak RSS of the reading "
        f"process): {'met' if met_read else 'not met'}",
        f"target scenario path (rain at the low points) within {TARGET_GB:g} GB: "
        f"{'met' if met_scen else 'not met'}",
        f"target at most 1 % of the grid's cells loaded: {'met' if met_crop else 'not met'}",
    ])  # fmt: skip
    print(body)
    if args.write:
        write_section("bench_rain_files", body)


if __name__ == "__main__":
    main()
