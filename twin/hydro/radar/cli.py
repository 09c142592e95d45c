"""``twin rain radar``: real radar storms transposed over the district, nowcasts, scores.

A :class:`typer.Typer` app, to be registered under ``twin rain`` as ``radar``. Errors
are :class:`~twin.hydro.radar.errors.RadarError` (or another
:class:`~twin.errors.TwinError`), printed by ``twin.cli.main`` as one line with exit
status 1.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, cast

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from twin.hydro.radar.errors import RadarError

__all__ = ["app"]

console = Console()
logger = logging.getLogger(__name__)

app = typer.Typer(
    help=(
        "Real weather-radar storms (KNMI, FMI, NOAA MRMS; none from Hangzhou) transposed "
        "over the district: convert, list, show, plot, nowcast with pysteps, verify."
    ),
    no_args_is_help=True,
)

_EVENT = typer.Argument(help="A shipped radar event (see `events`).")
DxOpt = Annotated[float, typer.Option("--dx", help="Offset of the radar field east [km].")]
DyOpt = Annotated[float, typer.Option("--dy", help="Offset of the radar field north [km].")]
RotOpt = Annotated[float, typer.Option("--rotation", help="Rotation, counter-clockwise [deg].")]
AnchorOpt = Annotated[str, typer.Option(help="Offsets from the radar grid's centre (crop) or "
                                             "the storm's centre (storm).")]  # fmt: skip
SizeOpt = Annotated[float, typer.Option("--size-km", help="Side of the grid over the district.")]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _transposed(event: str, dx: float, dy: float, rotation: float, anchor: str,
                size_km: float) -> Any:  # fmt: skip
    from twin.hydro.radar.events import load_event
    from twin.hydro.radar.transpose import transpose_radar

    if anchor not in ("crop", "storm"):
        raise RadarError(f"--anchor {anchor!r}: choose crop or storm.")
    radar = load_event(event)
    return transpose_radar(radar, dx_km=dx, dy_km=dy, rotation_deg=rotation,
                           anchor=anchor, size_km=size_km)  # type: ignore[arg-type]  # fmt: skip


def _low_points() -> tuple[Any, Any] | None:
    """Lon/lat of the bundled low points (``data/layers/low_points.geojson``), if there."""
    try:
        from twin.network.build import data_dir
        from twin.network.layers import read_layer

        gdf = read_layer(data_dir() / "layers" / "low_points.geojson")
    except Exception as exc:  # the figure is still useful without them
        logger.warning("low points not drawn: %s", exc)
        return None
    pts = gdf.geometry.representative_point()
    return pts.x.to_numpy(dtype=float), pts.y.to_numpy(dtype=float)


@app.command()
def convert(
    source: Annotated[
        Path | None, typer.Option(help="Shared radar folder (default ../shared/data/radar).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default data/radar).")] = None,
    events: Annotated[
        str | None, typer.Option(help="Comma-separated events (default: all).")
    ] = None,
) -> None:
    """Convert the shared radar composites into the shipped CF NetCDF events."""
    from twin.hydro.radar.convert import convert_all
    from twin.hydro.radar.events import EVENT_NAMES

    names = tuple(e.strip() for e in events.split(",")) if events else EVENT_NAMES
    bad = [e for e in names if e not in EVENT_NAMES]
    if bad:
        raise RadarError(
            f"--events: unknown {', '.join(bad)}; choose from {', '.join(EVENT_NAMES)}."
        )
    with _progress() as bar:
        tasks: dict[str, Any] = {}

        def report(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"converting {name}", total=total)
            bar.update(tasks[name], completed=done)

        paths = convert_all(source_dir=source, out_dir=out, events=names, progress=report)
    for p in paths:
        console.print(f"{p}  ({p.stat().st_size / 1e6:.2f} MB)")


@app.command()
def events() -> None:
    """List the shipped radar events with their span and peak rain."""
    from twin.hydro.radar.events import EVENTS, event_path, event_summary, load_event

    table = Table(title="Shipped radar events (real storms, none from Hangzhou)")
    for col in ("event", "from", "start (UTC)", "span", "step", "peak [mm/h]", "max depth [mm]"):
        table.add_column(escape(col), no_wrap=col in ("event", "start (UTC)"))
    notes = []
    for name, ev in EVENTS.items():
        notes.append(escape(f'{name}: {ev.licence}, "{ev.attribution}"'))
        if not event_path(name).is_file():
            table.add_row(name, ev.institution, "not converted", "", "", "", "")
            continue
        s = event_summary(load_event(name))
        span_h = s["steps"] * s["step_min"] / 60.0
        table.add_row(
            name, f"{ev.institution}, {ev.origin}", f"{s['start']:%Y-%m-%d %H:%M}",
            f"{span_h:.1f} h", f"{s['step_min']:g} min", f"{s['peak_mm_h']:.0f}",
            f"{s['max_depth_mm']:.1f}",
        )  # fmt: skip
    console.print(table)
    console.print("Grids: 256 × 256 cells of 1 km, cropped around each event's heaviest rain.")
    for note in notes:
        console.print(note)


@app.command()
def show(
    event: Annotated[str, _EVENT],
    dx: DxOpt = 0.0,
    dy: DyOpt = 0.0,
    rotation: RotOpt = 0.0,
    anchor: AnchorOpt = "crop",
    size_km: SizeOpt = 128.0,
) -> None:
    """Summarise an event as transposed over the district: depth, peak, times."""
    from twin.hydro.radar.array import radar_caption
    from twin.hydro.radar.transpose import district_rain

    rain = _transposed(event, dx, dy, rotation, anchor, size_km)
    areal = district_rain(rain)
    dt_h = float(rain.attrs["interval_s"]) / 3600.0
    values = np.nan_to_num(areal.values)
    inside = rain["district"].values > 0
    cells = rain.values[:, inside]
    t = pd.DatetimeIndex(rain["time"].values)
    wet = np.flatnonzero(values >= 0.1)
    table = Table(title=escape(radar_caption(rain)))
    table.add_column("")
    table.add_column("value")
    rows = [
        ("placement", rain.attrs["transposition"]),
        ("span (UTC, interval starts)", f"{t[0]:%Y-%m-%d %H:%M} – {t[-1]:%H:%M}, "
                                        f"{rain.attrs['interval_s'] / 60:g}-min steps"),
        ("areal-mean depth over the district [mm]", f"{values.sum() * dt_h:.1f}"),
        ("peak areal-mean rate [mm/h]", f"{values.max():.1f} at {t[int(values.argmax())]:%H:%M}"),
        ("peak cell rate in the district [mm/h]", f"{np.nanmax(cells):.1f}"),
        ("largest cell depth in the district [mm]", f"{np.nansum(cells, axis=0).max() * dt_h:.1f}"),
        ("rain on the district (≥ 0.1 mm/h)", f"{t[wet[0]]:%H:%M} – {t[wet[-1]]:%H:%M}"
                                              if wet.size else "none"),
        ("licence", f"{rain.attrs.get('licence', '')}; {rain.attrs.get('attribution', '')}"),
    ]  # fmt: skip
    for k, v in rows:
        table.add_row(escape(k), escape(v))
    console.print(table)


@app.command()
def plot(
    event: Annotated[str, _EVENT],
    out: Annotated[Path | None, typer.Option(help="PNG to write.")] = None,
    frames: Annotated[int, typer.Option(help="How many frames.")] = 6,
    dx: DxOpt = 0.0,
    dy: DyOpt = 0.0,
    rotation: RotOpt = 0.0,
    anchor: AnchorOpt = "crop",
    size_km: SizeOpt = 128.0,
) -> None:
    """Draw frames of an event transposed over the district, with its outline and low points."""
    from twin.hydro.radar.plots import plot_frames
    from twin.hydro.radar.transpose import District

    rain = _transposed(event, dx, dy, rotation, anchor, size_km)
    path = out or Path("twin-out") / "radar" / f"{event}.png"
    plot_frames(rain, path, n=frames, district=District.default(), points=_low_points())
    console.print(f"Figure: [bold]{path}[/]")


@app.command()
def nowcast(
    event: Annotated[str, _EVENT],
    issue: Annotated[
        str | None, typer.Option(help="Issue time, UTC (default: 30 min before the peak).")
    ] = None,
    method: Annotated[
        str, typer.Option(help="eulerian, extrapolation, sprog, linda, steps, external.")
    ] = "steps",
    members: Annotated[int, typer.Option(help="STEPS ensemble size.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the STEPS ensemble.")] = 0,
    lead: Annotated[float, typer.Option(help="Longest lead time [min].")] = 120.0,
    external: Annotated[
        Path | None, typer.Option(help="For --method external: a CF NetCDF nowcast.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("twin-out/radar"),
    dx: DxOpt = 0.0,
    dy: DyOpt = 0.0,
    rotation: RotOpt = 0.0,
    anchor: AnchorOpt = "crop",
    size_km: SizeOpt = 128.0,
) -> None:
    """Nowcast an event over the district; write NetCDF and observed-vs-nowcast figure."""
    from twin.hydro.radar.external import write_nowcast
    from twin.hydro.radar.nowcast import NOWCAST_METHODS, to_utc
    from twin.hydro.radar.nowcast import nowcast as run_nowcast
    from twin.hydro.radar.plots import plot_nowcast
    from twin.hydro.radar.transpose import District, district_rain

    if method not in NOWCAST_METHODS:
        raise RadarError(f"--method {method!r}: choose from {', '.join(NOWCAST_METHODS)}.")
    rain = _transposed(event, dx, dy, rotation, anchor, size_km)
    step = np.timedelta64(round(float(rain.attrs["interval_s"]) * 1e9), "ns")
    times = rain["time"].values
    if issue is None:
        peak = int(np.nanargmax(district_rain(rain).values))
        back = round(1800e9 / step.astype(np.int64))
        when = times[int(np.clip(peak - back, 3, times.size - 1))]
    else:
        when = issue
    with console.status(f"{method} nowcast…"):
        nc = run_nowcast(rain, when, method=method, n_members=members, seed=seed,  # type: ignore[arg-type]
                         lead_max_min=lead, external=external)  # fmt: skip
    stamp = f"{pd.Timestamp(to_utc(nc['issue_time'].values)):%Y%m%dT%H%M}"
    nc_path = write_nowcast(nc, out / f"{event}-{method}-{stamp}.nc")
    png = plot_nowcast(nc, rain, out / f"{event}-{method}-{stamp}.png",
                       district=District.default(), points=_low_points())  # fmt: skip
    console.print(f"Nowcast: [bold]{nc_path}[/]\nFigure: [bold]{png}[/]")


@app.command()
def verify(
    events: Annotated[
        str | None, typer.Option(help="Comma-separated events (default all).")
    ] = None,
    methods: Annotated[
        str, typer.Option(help="Comma-separated methods.")
    ] = "eulerian,extrapolation,sprog,steps",
    issues: Annotated[int, typer.Option(help="Issue times per event.")] = 3,
    members: Annotated[int, typer.Option(help="STEPS ensemble size.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the STEPS ensemble.")] = 0,
    out: Annotated[Path, typer.Option(help="CSV of all scores.")] = Path(
        "twin-out/radar/verification.csv"
    ),
    size_km: SizeOpt = 128.0,
) -> None:
    """Score nowcasts against the radar that followed: CSI and FSS by lead and method."""
    from twin.hydro.radar.events import EVENT_NAMES, load_event
    from twin.hydro.radar.nowcast import NOWCAST_METHODS, motion_field, past_frames
    from twin.hydro.radar.nowcast import nowcast as run_nowcast
    from twin.hydro.radar.transpose import transpose_radar
    from twin.hydro.radar.verify import verify_nowcast

    names = [e.strip() for e in events.split(",")] if events else list(EVENT_NAMES)
    chosen = [m.strip() for m in methods.split(",") if m.strip()]
    bad = [m for m in chosen if m not in NOWCAST_METHODS or m == "external"]
    if bad:
        raise RadarError(f"--methods: {', '.join(bad)} cannot be verified here; choose from "
                         "eulerian, extrapolation, sprog, linda, steps.")  # fmt: skip
    frames = []
    jobs = [(e, t) for e in names for t in range(issues)]
    with _progress() as bar:
        task = bar.add_task("nowcasts", total=len(jobs) * len(chosen))
        for name in names:
            rain = transpose_radar(load_event(name), size_km=size_km)
            for when in _issue_times(rain, issues):
                v = motion_field(past_frames(rain, when, 3))
                for m in chosen:
                    nc = run_nowcast(rain, when, method=m, velocity=v,  # type: ignore[arg-type]
                                     n_members=members, seed=seed)  # fmt: skip
                    frames.append(verify_nowcast(nc, rain, event=name))
                    bar.advance(task)
    table_df = pd.concat(frames, ignore_index=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    table_df.to_csv(out, index=False)
    summary = table_df[table_df["lead_min"].isin([10, 30, 60, 90, 120])]
    summary = summary[(summary["metric"] == "CSI") & (summary["threshold"] == 5.0)]
    pivot = summary.pivot_table(index=["event", "lead_min"], columns="method", values="value")
    table = Table(title="CSI at 5 mm/h by lead (mean over issue times), radar transposed over "
                        "Gongshu")  # fmt: skip
    table.add_column("event")
    table.add_column("lead [min]")
    for m in pivot.columns:
        table.add_column(str(m))
    for key, row in pivot.iterrows():
        ev, lead = cast(tuple[str, float], key)
        table.add_row(str(ev), f"{lead:g}", *[f"{x:.2f}" for x in row.to_numpy()])
    console.print(table)
    console.print(f"All scores: [bold]{out}[/]")


def _issue_times(rain: Any, n: int) -> list[Any]:
    """``n`` issue times spread over the event, each with 3 frames before it."""
    times = rain["time"].values
    first, last = 3, times.size - 1
    if last < first:
        raise RadarError(f"{rain.attrs.get('event')}: too few frames to nowcast.")
    picks = np.unique(np.linspace(first, last - max(1, (last - first) // 4), n).round().astype(int))
    return [times[i] for i in picks]
