"""``twin live``: run the live service, replay storms into it, mint API tokens.

Register in :mod:`twin.cli` with ``app.add_typer(twin.live.cli.app, name="live")``;
errors are :class:`~twin.errors.TwinError` subclasses (one line, exit status 1, from
``twin.cli.main``). ``python -m twin.live`` runs the same commands on their own.

::

    twin live --config data/live/config.yaml            # serve (same as `twin live serve`)
    twin live token create ops --scope ingest --scope read --config data/live/config.yaml
    twin live replay --config data/live/config.yaml --storm design-P10-D120-r40 --speed 120
    twin live replay --config data/live/config.yaml --radar fmi-20160928 --speed 120
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from twin.live.config import SCOPES, LiveConfig, load_live_config

__all__ = ["app"]

console = Console()
logger = logging.getLogger(__name__)

app = typer.Typer(
    help=(
        "The live service: ingest sensor readings, forecast waterlogging at every low "
        "point, push CAP 1.2 alerts to webhooks. Without a command: serve."
    ),
    invoke_without_command=True,
    no_args_is_help=False,
)
token_app = typer.Typer(help="API tokens (scopes: ingest, read, admin).", no_args_is_help=True)
app.add_typer(token_app, name="token")

_CONFIG_HELP = "Service config (YAML; the Gongshu example is data/live/config.yaml)."
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help=_CONFIG_HELP)]


def _config(path: Path | None) -> LiveConfig:
    return LiveConfig() if path is None else load_live_config(path)


def _serve(config: LiveConfig, host: str | None, port: int | None, log_level: str) -> None:
    from twin.live.server import serve as run_server

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run_server(config, host=host, port=port, log_level=log_level)


@app.callback()
def _default(
    ctx: typer.Context,
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="Override server.host.")] = None,
    port: Annotated[int | None, typer.Option(help="Override server.port.")] = None,
) -> None:
    """Serve when no command is given (``twin live --config FILE``)."""
    if ctx.invoked_subcommand is None:
        _serve(_config(config), host, port, "info")


@app.command()
def serve(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="Override server.host.")] = None,
    port: Annotated[int | None, typer.Option(help="Override server.port.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Start the service (FastAPI on uvicorn) until Ctrl-C or SIGTERM."""
    _serve(_config(config), host, port, log_level)


def _base_url(cfg: LiveConfig, url: str | None) -> str:
    if url:
        return url.rstrip("/")
    host = cfg.server.host if cfg.server.host not in ("0.0.0.0", "::") else "127.0.0.1"
    return f"http://{host}:{cfg.server.port}"


def _replay_token(cfg: LiveConfig, token: str | None) -> str:
    if token:
        return token
    env = os.environ.get("TWIN_LIVE_TOKEN")
    if env:
        return env
    from twin.live.auth import mint_token, token_hash
    from twin.live.backends import open_store
    from twin.live.records import now_ms

    minted = mint_token()
    store = open_store(cfg.store.url, synchronous=cfg.store.sqlite_synchronous)
    try:
        store.put_token(
            "replay", token_hash(minted), ("ingest", "read"), source="cli", at_ms=now_ms()
        )
    finally:
        store.close()
    console.print(
        f"Minted an ingest+read token 'replay' in {escape(store.describe())} (pass --token or "
        "set TWIN_LIVE_TOKEN to use your own)."
    )
    return minted


@app.command()
def replay(
    config: ConfigOpt = None,
    storm: Annotated[
        str, typer.Option(help="Design storm id or catalogue event id to simulate.")
    ] = "design-P10-D120-r40",
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Replay a recorded sensor,time,value CSV instead.")
    ] = None,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall second.")] = 120.0,
    start: Annotated[
        str, typer.Option(help="Storm start (local time of the config's zone, or with offset).")
    ] = "2024-06-15T08:00:00",
    shift: Annotated[
        bool, typer.Option(help="Move a recorded CSV so that it begins at --start.")
    ] = False,
    after: Annotated[float, typer.Option(help="Dry time after a simulated storm [h].")] = 2.0,
    noise: Annotated[
        bool, typer.Option(help="Read the simulated depth through the gauge model.")
    ] = True,
    seed: Annotated[int, typer.Option(help="Seed of the gauge model.")] = 0,
    url: Annotated[str | None, typer.Option(help="Service URL (default: from the config).")] = None,
    token: Annotated[
        str | None, typer.Option(help="Ingest token (default $TWIN_LIVE_TOKEN, else minted).")
    ] = None,
    batch_rows: Annotated[int, typer.Option(help="Rows per batch.")] = 5000,
    write_csv: Annotated[
        Path | None, typer.Option(help="Also write the readings to this CSV.")
    ] = None,
    radar: Annotated[
        str | None,
        typer.Option(
            help="Replay a shipped radar event (twin rain radar events) transposed over the "
            "district instead of --storm: its frames go to /radar, its rain drives the gauges."
        ),
    ] = None,
    radar_dx_km: Annotated[float, typer.Option(help="Radar placement: east offset [km].")] = 0.0,
    radar_dy_km: Annotated[float, typer.Option(help="Radar placement: north offset [km].")] = 0.0,
    radar_rotation_deg: Annotated[
        float, typer.Option(help="Radar placement: rotation [deg, counter-clockwise].")
    ] = 0.0,
    radar_size_km: Annotated[float, typer.Option(help="Transposed grid side [km].")] = 128.0,
    radar_cell_m: Annotated[float, typer.Option(help="Transposed grid cell [m].")] = 1000.0,
    radar_scale: Annotated[
        float, typer.Option(help="Multiply the radar rain rate (≠ 1: intensified, labelled).")
    ] = 1.0,
) -> None:
    """Feed simulated or recorded readings (and radar frames) to a running service."""
    import httpx

    from twin.live.ingest import iso_ms, parse_time_ms
    from twin.live.replay import (
        SimulatedStorm,
        load_readings_csv,
        simulated_storm,
        start_of,
        write_readings_csv,
    )
    from twin.live.replay import replay as run_replay

    cfg = _config(config)
    zone = cfg.zone
    t_start = start_of(start, zone)
    base = _base_url(cfg, url)
    try:
        httpx.get(f"{base}/health", timeout=5.0)
    except httpx.TransportError:
        from twin.live.errors import LiveConnectionError

        raise LiveConnectionError(
            f"no live service answers at {base}; start it first with `twin live --config "
            f"{config or 'FILE'}` (or pass --url)."
        ) from None
    sim: SimulatedStorm | None = None
    feed: Any = None
    paced: int | None
    if radar is not None and csv_file is not None:
        from twin.live.errors import LiveError

        raise LiveError("give --radar or --csv, not both.")
    if radar is not None:
        from twin.forecast.sensors import SensorModel
        from twin.hydro.lowpoints import low_points
        from twin.live.replay_radar import radar_storm
        from twin.network import default_network

        console.print("Building the Gongshu network for the storm physics…")
        points = low_points(default_network())
        console.print(f"Transposing the radar event {escape(radar)} over the district…")
        sim, feed = radar_storm(
            radar,
            points,
            start=t_start,
            gauges=[
                (g.id, float(g.lon or 0.0), float(g.lat or 0.0)) for g in cfg.sensors.rain_gauges
            ],
            after_s=after * 3600.0,
            sensor=SensorModel() if noise else None,
            seed=seed,
            size_km=radar_size_km,
            cell_m=radar_cell_m,
            dx_km=radar_dx_km,
            dy_km=radar_dy_km,
            rotation_deg=radar_rotation_deg,
            scale=radar_scale,
        )
        readings = sim.readings
        paced = parse_time_ms(t_start.isoformat())
    elif csv_file is not None:
        readings = load_readings_csv(csv_file)
        if shift:
            readings = readings.shifted(parse_time_ms(t_start.isoformat()))
        paced = int(readings.t_ms[0]) if len(readings) else None
    else:
        from twin.forecast.sensors import SensorModel
        from twin.hydro.lowpoints import low_points
        from twin.network import default_network

        console.print("Building the Gongshu network for the storm physics…")
        points = low_points(default_network())
        gauges = [g.id for g in cfg.sensors.rain_gauges]
        sim = simulated_storm(
            storm,
            points,
            start=t_start,
            after_s=after * 3600.0,
            rain_gauges=gauges,
            sensor=SensorModel() if noise else None,
            seed=seed,
        )
        readings = sim.readings
        paced = parse_time_ms(t_start.isoformat())
    if write_csv is not None:
        write_readings_csv(readings, write_csv, tz=zone)
        console.print(f"Readings written to [bold]{escape(str(write_csv))}[/]")
    tok = _replay_token(cfg, token)
    n_steps = len(set(readings.t_ms.tolist()))
    frames = "" if feed is None else f" and {len(feed)} radar frames"
    console.print(
        f"Replaying {len(readings):,} readings ({n_steps} time steps){frames} to {base} at "
        f"{speed:g}× …"
    )
    if feed is not None:
        _check_radar_enabled(base, tok)

    def progress(step: Any, answer: dict[str, Any]) -> None:
        if answer.get("rejected"):
            console.print(f"  {iso_ms(step.t_ms, zone)}: {answer['rejected']} row(s) rejected")

    report = run_replay(
        readings,
        base,
        tok,
        speed=speed,
        paced_from_ms=paced,
        batch_rows=batch_rows,
        tz=zone,
        on_step=progress,
        radar=feed,
    )
    console.print(
        f"Sent {report.rows:,} rows in {report.batches} batches over {report.wall_s:.1f} s: "
        f"{report.stored:,} stored, {report.duplicates:,} duplicates, {report.rejected} rejected."
    )
    if feed is not None:
        console.print(f"Sent {report.frames} radar frames: {report.frames_stored} stored.")
    with httpx.Client(timeout=30.0) as client:
        r = client.get(
            f"{base}/alerts", params={"state": "all"}, headers={"Authorization": f"Bearer {tok}"}
        )
    if r.status_code != 200:
        console.print(f"Could not list the alerts (HTTP {r.status_code}): {escape(r.text[:200])}")
        return
    alerts = r.json()["alerts"]
    _print_alerts(alerts, cfg, sim)


def _check_radar_enabled(base: str, token: str) -> None:
    """Warn when the service will keep the frames but not use them."""
    import httpx

    try:
        r = httpx.get(f"{base}/radar", headers={"Authorization": f"Bearer {token}"}, timeout=10.0)
    except httpx.TransportError:
        return
    if r.status_code == 200 and not r.json().get("enabled", False):
        console.print(
            "[yellow]The service keeps radar frames but does not use them (radar.enabled is "
            "false): its forecasts take the gauge persistence rain.[/]"
        )


def _print_alerts(alerts: list[dict[str, Any]], cfg: LiveConfig, sim: Any) -> None:
    """One row per low point and level: first alert, when the water got there, lead."""
    from twin.live.ingest import iso_ms, parse_time_ms

    zone = cfg.zone
    crossing: dict[tuple[str, str], int] = {}
    if sim is not None:
        for level, thr in cfg.alerts.levels.items():
            for pid, t in sim.crossing_ms(thr).items():
                crossing[(pid, level)] = t
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for a in alerts:
        key = (a["point"], a["level"])
        row = rows.setdefault(key, {"first": None, "n": 0, "last": ""})
        row["n"] += 1
        row["last"] = a["msgType"]
        if a["msgType"] == "Alert" and row["first"] is None:
            row["first"] = parse_time_ms(a["sent"])
    keys = sorted(set(rows) | set(crossing), key=lambda k: (rows.get(k, {}).get("first") or 0, k))
    table = Table(title=f"{len(alerts)} alert messages, by low point and level")
    for col in ("point", "level", "first alert", "water reached level", "lead [min]", "msgs"):
        table.add_column(col)
    early = 0
    for key in keys:
        row = rows.get(key, {"first": None, "n": 0, "last": ""})
        first, cross = row["first"], crossing.get(key)
        lead = "" if first is None or cross is None else f"{(cross - first) / 60000:.0f}"
        if first is not None and cross is not None and first < cross:
            early += 1
        table.add_row(
            key[0],
            key[1],
            "" if first is None else iso_ms(first, zone)[11:16],
            "" if cross is None else iso_ms(cross, zone)[11:16],
            lead,
            f"{row['n']} (last {row['last']})" if row["n"] else "0",
        )
    console.print(table)
    if sim is not None:
        console.print(
            f"{len(crossing)} point-levels reached their threshold; {early} were alerted "
            "before the water got there."
        )


# ---------------------------------------------------------------------------- tokens
@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="Token name (replaces a token of that name).")],
    scope: Annotated[
        list[str], typer.Option("--scope", "-s", help=f"Scope: {', '.join(SCOPES)} (repeat).")
    ],
    config: ConfigOpt = None,
) -> None:
    """Mint a token into the config's store and print it (it is shown only once)."""
    from twin.live.auth import check_scopes, mint_token, token_hash
    from twin.live.backends import open_store
    from twin.live.records import now_ms

    cfg = _config(config)
    scopes = check_scopes(scope)
    token = mint_token()
    store = open_store(cfg.store.url, synchronous=cfg.store.sqlite_synchronous)
    try:
        store.put_token(name, token_hash(token), scopes, source="cli", at_ms=now_ms())
    finally:
        store.close()
    console.print(f"Token [bold]{escape(name)}[/] ({', '.join(scopes)}):", highlight=False)
    sys.stdout.write(token + "\n")


@token_app.command("list")
def token_list(config: ConfigOpt = None) -> None:
    """List token names, scopes and state."""
    from twin.live.backends import open_store
    from twin.live.ingest import iso_ms

    cfg = _config(config)
    store = open_store(cfg.store.url, synchronous=cfg.store.sqlite_synchronous)
    try:
        recs = store.tokens()
    finally:
        store.close()
    table = Table(title="API tokens")
    for col in ("name", "scopes", "source", "created", "revoked"):
        table.add_column(col)
    for r in recs:
        revoked = "" if r.revoked_ms is None else iso_ms(r.revoked_ms, cfg.zone)
        created = iso_ms(r.created_ms, cfg.zone)
        table.add_row(r.name, ",".join(r.scopes), r.source, created, revoked)
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    name: Annotated[str, typer.Argument(help="Token name.")], config: ConfigOpt = None
) -> None:
    """Revoke a token (a running service refuses it from its next request on)."""
    from twin.live.backends import open_store
    from twin.live.errors import LiveError
    from twin.live.records import now_ms

    cfg = _config(config)
    store = open_store(cfg.store.url, synchronous=cfg.store.sqlite_synchronous)
    try:
        if not store.revoke_token(name, at_ms=now_ms()):
            raise LiveError(f"no live token {name!r}; `twin live token list` shows them.")
    finally:
        store.close()
    console.print(f"Revoked {escape(name)}.")


@token_app.command("hash")
def token_hash_cmd(
    token: Annotated[str, typer.Argument(help="The token (or '-' to read it from stdin).")],
) -> None:
    """Print a token's SHA-256, for the ``sha256`` of a token in the config."""
    from twin.live.auth import token_hash

    value = sys.stdin.readline().strip() if token == "-" else token
    sys.stdout.write(json.dumps({"sha256": token_hash(value)}) + "\n")
