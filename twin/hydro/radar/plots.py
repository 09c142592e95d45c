"""Figures of radar rain: small multiples of frames and of nowcasts against what fell.

Every title names where the radar came from and, for transposed rain, that it was
transposed over the district (:func:`twin.hydro.radar.array.radar_caption`). Axes are
kilometres from the grid's centre; the district outline and the low points are drawn
when given.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr
from pyproj import Transformer

from twin.hydro.radar.array import radar_caption, radar_crs
from twin.hydro.radar.errors import RadarError

__all__ = ["RAIN_LEVELS", "plot_frames", "plot_nowcast"]

#: Colour levels of rain rate [mm/h].
RAIN_LEVELS: tuple[float, ...] = (0.1, 0.5, 1, 2, 5, 10, 20, 50, 100, 200)


def _km(rain: xr.DataArray) -> tuple[Any, Any, float, float]:
    x = np.asarray(rain["x"].values, dtype=float)
    y = np.asarray(rain["y"].values, dtype=float)
    cx, cy = float((x[0] + x[-1]) / 2), float((y[0] + y[-1]) / 2)
    return (x - cx) / 1000.0, (y - cy) / 1000.0, cx, cy


def _overlay(
    ax: Any,
    rain: xr.DataArray,
    district: Any,
    points: tuple[npt.ArrayLike, npt.ArrayLike] | None,
    centre: tuple[float, float],
) -> None:
    to_xy = Transformer.from_crs("EPSG:4326", radar_crs(rain), always_xy=True)
    cx, cy = centre
    if district is not None and getattr(district, "polygon", None) is not None:
        polys = getattr(district.polygon, "geoms", [district.polygon])
        for poly in polys:
            lon, lat = np.asarray(poly.exterior.coords).T
            px, py = to_xy.transform(lon, lat)
            ax.plot((np.asarray(px) - cx) / 1000, (np.asarray(py) - cy) / 1000, color="k", lw=0.8)
    if points is not None:
        px, py = to_xy.transform(np.asarray(points[0], float), np.asarray(points[1], float))
        ax.scatter((np.asarray(px) - cx) / 1000, (np.asarray(py) - cy) / 1000, s=1.5,
                   c="white", marker="o", edgecolors="k", linewidths=0.2, zorder=3)  # fmt: skip


def _panel(ax: Any, field: Any, xk: Any, yk: Any, norm: Any, cmap: Any, title: str) -> Any:
    img = ax.pcolormesh(xk, yk, np.ma.masked_invalid(field), norm=norm, cmap=cmap,
                        shading="nearest")  # fmt: skip
    ax.set_title(title, fontsize=8)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=6)
    return img


def _style() -> tuple[Any, Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm

    cmap = plt.get_cmap("turbo").with_extremes(under="white", bad="#d9d9d9")
    norm = BoundaryNorm(RAIN_LEVELS, cmap.N, extend="max")
    return plt, norm, cmap


def plot_frames(
    rain: xr.DataArray,
    path: str | Path,
    *,
    times: Sequence[Any] | None = None,
    n: int = 6,
    district: Any = None,
    points: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    title: str | None = None,
) -> Path:
    """Small multiples of radar frames (PNG).

    Parameters
    ----------
    rain
        Radar rain ``(time, y, x)``, transposed or not.
    path
        The PNG to write.
    times
        Frames to draw (interval starts); default ``n`` frames evenly over the span.
    n
        How many frames when ``times`` is not given.
    district
        A :class:`twin.hydro.radar.transpose.District` to outline.
    points
        ``(lon, lat)`` of points to mark (low points) [deg].
    title
        Title (default: the radar's origin, and "transposed over …" when it is).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    plt, norm, cmap = _style()
    if times is None:
        idx = np.unique(np.linspace(0, rain.sizes["time"] - 1, n).round().astype(int))
    else:
        idx = np.array([int(np.argmin(np.abs(rain["time"].values - np.datetime64(
            pd.Timestamp(t))))) for t in times])  # fmt: skip
    if idx.size == 0:
        raise RadarError("no frame to draw.")
    cols = min(3, idx.size)
    rows = int(np.ceil(idx.size / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols + 1.2, 3.0 * rows + 0.8),
                             squeeze=False, layout="constrained")  # fmt: skip
    xk, yk, cx, cy = _km(rain)
    img = None
    for ax, i in zip(axes.ravel(), idx, strict=False):
        t = pd.Timestamp(rain["time"].values[i])
        img = _panel(ax, rain.isel(time=int(i)).values, xk, yk, norm, cmap,
                     f"{t:%Y-%m-%d %H:%M} UTC")  # fmt: skip
        _overlay(ax, rain, district, points, (cx, cy))
    for ax in axes.ravel()[idx.size :]:
        ax.axis("off")
    fig.suptitle(title or f"Rain rate [mm/h], {radar_caption(rain)}", fontsize=9)
    fig.supxlabel("km east of the grid centre", fontsize=7)
    fig.supylabel("km north", fontsize=7)
    fig.colorbar(img, ax=axes, shrink=0.8, label="rain rate [mm/h]")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_nowcast(
    nowcast: xr.DataArray,
    observed: xr.DataArray,
    path: str | Path,
    *,
    leads_min: Sequence[float] = (10, 30, 60, 90, 120),
    member: int | str = "mean",
    district: Any = None,
    points: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
) -> Path:
    """Observed frames (top row) against a nowcast (bottom row) at a few lead times (PNG).

    Parameters
    ----------
    nowcast
        A nowcast ``(member, lead_time, y, x)``.
    observed
        The radar on the same grid ``(time, y, x)``.
    path
        The PNG to write.
    leads_min
        Lead times to draw [min] (those the nowcast has).
    member
        A member index, or ``"mean"``.
    district, points
        As for :func:`plot_frames`.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from twin.hydro.radar.nowcast import ensemble_mean, to_utc

    plt, norm, cmap = _style()
    nc = ensemble_mean(nowcast).isel(member=0) if member == "mean" else nowcast.isel(
        member=int(member))  # fmt: skip
    lead_min = nc["lead_time"].values / np.timedelta64(60, "s")
    picks = [int(np.argmin(np.abs(lead_min - m))) for m in leads_min if m <= lead_min.max()]
    picks = sorted(set(picks)) or [0]
    issue = to_utc(nowcast["issue_time"].values)
    step = np.timedelta64(round(float(nowcast.attrs["interval_s"]) * 1e9), "ns")
    times = np.asarray(observed["time"].values, dtype="datetime64[ns]")
    fig, axes = plt.subplots(2, len(picks), figsize=(2.6 * len(picks) + 1.2, 6.0),
                             squeeze=False, layout="constrained")  # fmt: skip
    xk, yk, cx, cy = _km(observed)
    img = None
    for j, k in enumerate(picks):
        label = issue + nc["lead_time"].values[k] - step
        hit = np.flatnonzero(times == label)
        obs = observed.isel(time=int(hit[0])).values if hit.size else np.full(nc.shape[1:], np.nan)
        head = f"+{lead_min[k]:.0f} min"
        img = _panel(axes[0, j], obs, xk, yk, norm, cmap, f"observed {head}")
        _panel(axes[1, j], nc.values[k], xk, yk, norm, cmap, f"nowcast {head}")
        for ax in axes[:, j]:
            _overlay(ax, observed, district, points, (cx, cy))
    label = nowcast.attrs.get("method_label", nowcast.attrs.get("method", "nowcast"))
    which = f", {nowcast.sizes['member']}-member mean" if member == "mean" and nowcast.sizes[
        "member"] > 1 else ""  # fmt: skip
    fig.suptitle(
        f"{label}{which} issued {pd.Timestamp(issue):%Y-%m-%d %H:%M} UTC vs observed\n"
        f"{radar_caption(observed)}",
        fontsize=9,
    )
    fig.colorbar(img, ax=axes, shrink=0.8, label="rain rate [mm/h]")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
