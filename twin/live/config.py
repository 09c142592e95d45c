"""The live service's configuration: a frozen pydantic model loaded from YAML.

Every model is frozen and rejects unknown fields, so a typo is an error, not a silently
ignored setting. Durations are seconds or strings with a unit (``"30s"``, ``"5min"``,
``"2h"``). Errors name the file, the line, the field and what is allowed::

    data/live/config.yaml:12: forecast.settle: must be a finite number ≥ 0, got -1.0

Relative paths (the SQLite file, a model folder, a low-point layer) are taken from the
current working directory, like every other ``twin`` command. The model is a folder
written by :func:`twin.forecast.io.save_forecaster`, or ``shipped:<kind>`` for the
repository's ``models/waterlogging-<kind>``.

The ``alerts`` section is :class:`twin.alerts.AlertPolicy`; its ``conventions``
(:class:`twin.alerts.AlertConventions`) choose the identifiers (the twin's own, or GB/T
35965.1's ``<sender code>_<yyyyMMddHHmmss>_<N>``), the blue / yellow / orange / red
colour levels and the languages of the CAP messages (``[en-US, zh-CN]``: an English and
a Chinese ``info`` block); the defaults are plain CAP 1.2, the Gongshu example switches
the Chinese conventions on.

The ``radar`` section (:class:`RadarConfig`) turns on weather-radar rain: frames
(``POST /radar`` or a watched folder) are nowcast with pysteps at every issue time and
become the future rain of the forecasts; ``method: external`` takes a met bureau's
nowcast grids (``POST /nowcasts``) instead.

Secrets never sit in the file: an API token is given by its SHA-256 (``sha256``) or by
the name of an environment variable that holds it (``env``); a webhook's signing key by
the name of an environment variable (``secret_env``), which must start with
``TWIN_WEBHOOK_SECRET_`` (:data:`WEBHOOK_SECRET_PREFIX`): the service reads no other
variable on a webhook's behalf.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from twin.alerts import AlertPolicy
from twin.durations import Duration, PositiveDuration
from twin.live.errors import LiveError
from twin.yamlconfig import Frozen, read_yaml, validate_model

__all__ = [
    "SCOPES",
    "WEBHOOK_SECRET_PREFIX",
    "DeliveryConfig",
    "ForecastConfig",
    "IngestConfig",
    "LiveConfig",
    "RadarConfig",
    "SensorSpec",
    "SensorsConfig",
    "ServerConfig",
    "StoreConfig",
    "TokenConfig",
    "WebhookConfig",
    "check_secret_env",
    "check_webhook_url",
    "load_live_config",
    "validate_live_config",
]

#: API token scopes; ``admin`` implies the other two.
SCOPES: tuple[str, ...] = ("ingest", "read", "admin")
#: A webhook's ``secret_env`` must start with this: the service reads no other variable
#: on a subscriber's behalf (an admin could otherwise make it sign with any secret).
WEBHOOK_SECRET_PREFIX = "TWIN_WEBHOOK_SECRET_"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_URL = re.compile(r"^https?://[^\s\x00-\x1f\x7f]{1,2000}$")


def check_secret_env(name: str) -> str:
    """A webhook signing key's environment variable name, checked.

    Raises
    ------
    ValueError
        Not a variable name, or one without the prefix :data:`WEBHOOK_SECRET_PREFIX`.
    """
    if not _ENV.match(name) or not name.startswith(WEBHOOK_SECRET_PREFIX) or len(name) > 128:
        raise ValueError(
            "secret_env must name an environment variable that starts with "
            f"{WEBHOOK_SECRET_PREFIX} (e.g. {WEBHOOK_SECRET_PREFIX}OPS); the service reads no "
            "other variable for a webhook's signing key"
        )
    return name


def check_webhook_url(url: str) -> str:
    """A webhook URL, checked: ``http(s)://`` and printable text (at most 2,000 characters).

    Raises
    ------
    ValueError
        With what to send instead.
    """
    import httpx

    problem = "give an http:// or https:// URL of printable characters (no spaces or " \
        "control characters; at most 2,000)"  # fmt: skip
    if not _URL.match(url):
        raise ValueError(problem)
    try:
        url.encode("utf-8")
        parsed = httpx.URL(url)
    except (UnicodeError, httpx.InvalidURL, ValueError) as exc:
        raise ValueError(f"{problem}: {exc}") from None
    if not parsed.host:
        raise ValueError(f"{problem}: the URL names no host")
    return url


class ServerConfig(Frozen):
    """Where the HTTP service listens, how large a body may be, how many wrong tokens.

    The bad-token limit counts per client address as the server sees it: behind a
    reverse proxy every client shares the proxy's address.
    """

    host: str = Field(default="127.0.0.1", description="interface to bind (0.0.0.0: all)")
    port: int = Field(default=8765, ge=1, le=65535)
    public_metrics: bool = Field(
        default=True, description="serve /metrics without a token (for a Prometheus scraper)"
    )
    max_body_mb: float = Field(default=64.0, gt=0.0, description="largest request body [MiB]")
    bad_token_limit: int = Field(
        default=20,
        ge=1,
        description="wrong API tokens one client address may send per bad_token_window; "
        "then every request from it that needs a token gets 429 until the window frees",
    )
    bad_token_window: PositiveDuration = Field(
        default=60.0, description="the window of bad_token_limit [s]"
    )


class StoreConfig(Frozen):
    """The reading/alert store: embedded SQLite (WAL) by default, or PostgreSQL by URL."""

    url: str = Field(
        default="sqlite:///twin-out/live/live.db",
        description="sqlite:///PATH (relative to the working directory) or postgresql://…",
    )
    sqlite_synchronous: Literal["normal", "full"] = Field(
        default="full",
        description="full: an acknowledged batch survives a power cut; normal: only a crash",
    )

    @field_validator("url")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if not (v.startswith("sqlite:///") or v.startswith(("postgresql://", "postgres://"))):
            raise ValueError(
                "use sqlite:///PATH (e.g. sqlite:///twin-out/live/live.db) or "
                "postgresql://USER@HOST:PORT/DB"
            )
        if v.startswith("sqlite:///") and not v.removeprefix("sqlite:///").strip():
            raise ValueError("sqlite:/// needs a file path, e.g. sqlite:///twin-out/live/live.db")
        return v


class SensorSpec(Frozen):
    """One sensor the service accepts readings from.

    ``water_level``: depth of standing water above the road [m] at low point ``point``.
    ``rain_gauge``: rain rate over the interval ending at the reading [mm/h], at
    ``lon``/``lat`` (low points use their nearest gauge). ``crowd_counter``: persons
    counted in plaza ``point`` [persons].
    """

    id: str
    kind: Literal["water_level", "rain_gauge", "crowd_counter"]
    point: str | None = Field(default=None, description="low point or plaza id")
    lon: float | None = Field(default=None, ge=-180.0, le=180.0)
    lat: float | None = Field(default=None, ge=-90.0, le=90.0)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(
                "a sensor id is 1-128 letters, digits or . _ : / @ + - (no spaces), "
                "starting with a letter or digit"
            )
        return v

    @model_validator(mode="after")
    def _where(self) -> SensorSpec:
        if self.kind == "rain_gauge" and (self.lon is None or self.lat is None):
            raise ValueError(f"rain gauge {self.id}: give lon and lat (WGS84 degrees)")
        if self.kind != "rain_gauge" and not self.point:
            raise ValueError(
                f"{self.kind} {self.id}: give point (the low point or plaza id it watches)"
            )
        return self


def _default_rain_gauges() -> tuple[SensorSpec, ...]:
    # One illustrative district gauge near the middle of Gongshu's low points.
    return (SensorSpec(id="rg-gongshu", kind="rain_gauge", lon=120.160, lat=30.300),)


class SensorsConfig(Frozen):
    """The sensor registry: readings from other sensors are rejected (and reported)."""

    auto_water_level: bool = Field(
        default=True, description="one water-level gauge per low point, id 'wl-<point id>'"
    )
    auto_crowd_counters: bool = Field(
        default=True, description="one crowd counter per plaza layer feature, 'cc-<plaza id>'"
    )
    rain_gauges: tuple[SensorSpec, ...] = Field(default_factory=_default_rain_gauges)
    extra: tuple[SensorSpec, ...] = Field(default=(), description="more sensors, any kind")

    @field_validator("rain_gauges")
    @classmethod
    def _rain(cls, v: tuple[SensorSpec, ...]) -> tuple[SensorSpec, ...]:
        for s in v:
            if s.kind != "rain_gauge":
                raise ValueError(f"{s.id}: only kind rain_gauge belongs here (use extra)")
        return v


class IngestConfig(Frozen):
    """Validation limits of ingested readings."""

    max_rows: int = Field(default=200_000, ge=1, description="rows per batch")
    max_future: Duration = Field(
        default=300.0, description="how far a reading may lie ahead of the server's clock [s]"
    )
    earliest: datetime = Field(
        default=datetime(2000, 1, 1, tzinfo=UTC), description="oldest reading accepted"
    )
    max_water_level: float = Field(default=5.0, gt=0.0, description="[m]")
    max_rain_rate: float = Field(default=500.0, gt=0.0, description="[mm/h]")
    max_crowd_count: float = Field(default=1_000_000.0, gt=0.0, description="[persons]")

    @field_validator("earliest")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("give a UTC offset, e.g. 2000-01-01T00:00:00+08:00")
        return v


class ForecastConfig(Frozen):
    """The forecast/alert loop."""

    model: str = Field(
        default="shipped:linear",
        description=(
            "forecaster folder (save_forecaster or save_physics_model) or shipped:<kind> "
            "(models/; shipped:physics_ensemble is the physics ensemble with assimilation)"
        ),
    )
    seed: int = Field(
        default=0, ge=0, description="seed of the physics ensemble's priors and filter noise"
    )
    low_points: str = Field(
        default="default", description="'default' (data/layers/low_points.geojson) or a GeoJSON"
    )
    plazas: str = Field(default="default", description="'default' or a GeoJSON of plazas")
    clock: Literal["data", "wall"] = Field(
        default="data",
        description=(
            "data: issue times follow the readings' timestamps (live and replays); "
            "wall: they follow the server's clock"
        ),
    )
    every: PositiveDuration = Field(default=30.0, description="scheduled check [s]")
    settle: Duration = Field(
        default=10.0,
        description="wait at most this long for late gauges before issuing a step [s]",
    )
    max_reading_age: PositiveDuration = Field(
        default=3600.0, description="a silent gauge's last reading counts this long [s]"
    )
    max_catchup: PositiveDuration = Field(
        default=86400.0, description="after an outage, skip issue times older than this [s]"
    )
    validate_cap: bool = Field(default=True, description="validate every CAP XML (XSD)")
    calibrate: bool = Field(
        default=True,
        description=(
            "publish the physics ensemble's conformal bands where its model folder has a "
            "calibration (twin forecast calibrate); false: the raw ensemble quantiles"
        ),
    )
    aci_gamma: float | None = Field(
        default=None,
        ge=0.0,
        le=0.5,
        description=(
            "step of the adaptive conformal inference that steers the bands with the "
            "readings (0: the split-conformal bands alone); default: the model folder's "
            "choice (twin forecast calibrate, on validation storms)"
        ),
    )
    aci_per_lead: bool | None = Field(
        default=None,
        description="one ACI alpha per lead (else one for all); default: the model folder's",
    )


class RadarConfig(Frozen):
    """Weather-radar rain: frames kept, nowcast at each issue time, used as future rain.

    With ``enabled``, at each issue time the service nowcasts the stored radar frames
    (``method``: a pysteps method of :mod:`twin.hydro.radar.nowcast`) or takes the
    latest external nowcast (``external``), samples it at the low points and gives it
    to the forecaster as the rain of the next two hours; without usable frames it
    falls back to the gauge-persistence rain (and says so). Frames are accepted and
    kept whether or not radar is enabled.
    """

    enabled: bool = Field(default=False, description="use radar nowcasts as the future rain")
    method: Literal["extrapolation", "sprog", "linda", "eulerian", "steps", "external"] = Field(
        default="extrapolation",
        description="pysteps nowcast of the stored frames, or external: POST /nowcasts",
    )
    members: int = Field(
        default=20, ge=1, le=100, description="members of a STEPS or a displaced nowcast"
    )
    seed: int = Field(default=0, ge=0, description="seed of the STEPS noise")
    displacement: float = Field(
        default=0.0,
        ge=0.0,
        le=20.0,
        description="eulerian, extrapolation, sprog, linda: also give `members` members that read "
        "the nowcast at points moved by this velocity error × lead [m/s] (the physics "
        "ensemble runs over them; point forecasters take the nowcast itself); 0: none",
    )
    keep: PositiveDuration = Field(
        default=7200.0, description="frames and nowcasts kept, back from the newest [s]"
    )
    max_lag: PositiveDuration = Field(
        default=900.0,
        description="an issue time uses frames (or an external nowcast) at most this old [s]",
    )
    interval: PositiveDuration = Field(default=300.0, description="expected frame step [s]")
    crs: str | None = Field(
        default=None,
        description="expected CRS of uploads (e.g. EPSG:32651); None: any projected CRS",
    )
    max_cell_m: float = Field(default=5000.0, gt=0.0, description="coarsest grid cell [m]")
    margin_km: float | None = Field(
        default=64.0,
        gt=0.0,
        description="frames are cropped to the low points plus this margin [km] (None: not)",
    )
    watch_dir: str | None = Field(
        default=None, description="folder polled for new .nc files (frames or nowcasts)"
    )
    watch_every: PositiveDuration = Field(default=10.0, description="polling period [s]")

    @field_validator("crs")
    @classmethod
    def _crs(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            crs = CRS.from_user_input(v)
        except CRSError:
            raise ValueError(f"{v!r} is not a CRS; give e.g. EPSG:32651 or a WKT") from None
        if not crs.is_projected:
            raise ValueError(f"{v!r} is not a projected CRS; radar grids are in metres")
        return v


class WebhookConfig(Frozen):
    """A subscriber that receives every alert message by HTTP POST."""

    name: str
    url: str
    format: Literal["cap-xml", "cap-json"] = "cap-xml"
    secret_env: str | None = Field(
        default=None,
        description=f"environment variable with the HMAC-SHA256 signing key; its name starts "
        f"with {WEBHOOK_SECRET_PREFIX}",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError("a webhook name is 1-128 letters, digits or . _ : / @ + -")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_webhook_url(v)

    @field_validator("secret_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        return None if v is None else check_secret_env(v)


class DeliveryConfig(Frozen):
    """Webhook delivery from the durable outbox: retries with exponential backoff."""

    timeout: PositiveDuration = Field(default=10.0, description="per request [s]")
    retry_base: PositiveDuration = Field(default=1.0, description="first retry delay [s]")
    retry_max: PositiveDuration = Field(default=300.0, description="longest retry delay [s]")
    give_up_after: PositiveDuration = Field(
        default=2 * 86400.0, description="park a message as failed after this long [s]"
    )
    concurrency: int = Field(
        default=8, ge=1, le=256, description="requests in flight per subscriber"
    )


class TokenConfig(Frozen):
    """An API token known from the config (by hash, or read from the environment)."""

    name: str
    scopes: tuple[Literal["ingest", "read", "admin"], ...] = Field(min_length=1)
    sha256: str | None = Field(default=None, description="hex SHA-256 of the token")
    env: str | None = Field(default=None, description="environment variable holding it")

    @model_validator(mode="after")
    def _one_source(self) -> TokenConfig:
        if (self.sha256 is None) == (self.env is None):
            raise ValueError(f"token {self.name}: give exactly one of sha256 or env")
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError(
                f"token {self.name}: sha256 must be 64 lower-case hex digits "
                "(`twin live token hash` prints it)"
            )
        if self.env is not None and not _ENV.match(self.env):
            raise ValueError(f"token {self.name}: env must name an environment variable")
        return self


class LiveConfig(Frozen):
    """Everything ``twin live`` needs (see the module docstring)."""

    name: str = "gongshu-live"
    timezone: str = Field(default="Asia/Shanghai", description="zone of CAP times")
    server: ServerConfig = Field(default_factory=ServerConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    sensors: SensorsConfig = Field(default_factory=SensorsConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    forecast: ForecastConfig = Field(default_factory=ForecastConfig)
    alerts: AlertPolicy = Field(default_factory=AlertPolicy)
    webhooks: tuple[WebhookConfig, ...] = ()
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    radar: RadarConfig = Field(default_factory=RadarConfig)
    tokens: tuple[TokenConfig, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r}; use an IANA name such as Asia/Shanghai"
            ) from None
        return v

    @model_validator(mode="after")
    def _unique(self) -> LiveConfig:
        for what, names in (
            ("webhooks", [w.name for w in self.webhooks]),
            ("tokens", [t.name for t in self.tokens]),
        ):
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"{what}: names must be unique; repeated: {', '.join(dup)}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)

    def check_environment(self) -> None:
        """Raise :class:`LiveError` if an environment variable the config names is unset."""
        for i, tok in enumerate(self.tokens):
            if tok.env is not None and not os.environ.get(tok.env):
                raise LiveError(
                    f"tokens[{i}] ({tok.name}): environment variable {tok.env} is not set; "
                    "export it, or give the token's sha256 instead."
                )
        for i, hook in enumerate(self.webhooks):
            if hook.secret_env is not None and not os.environ.get(hook.secret_env):
                raise LiveError(
                    f"webhooks[{i}] ({hook.name}): environment variable {hook.secret_env} "
                    "(its signing key) is not set; export it or drop secret_env."
                )


# ---------------------------------------------------------------------------- loading
def validate_live_config(
    data: Any, *, where: str = "<live config>", lines: dict[tuple[Any, ...], int] | None = None
) -> LiveConfig:
    """Validate a mapping as a :class:`LiveConfig`, raising :class:`LiveError`."""
    return validate_model(
        LiveConfig, {} if data is None else data, LiveError, where=where,
        what="a live config", lines=lines,
    )  # fmt: skip


def load_live_config(path: str | Path) -> LiveConfig:
    """Read and validate a live-service YAML file.

    Parameters
    ----------
    path
        The YAML file (``data/live/config.yaml`` is the Gongshu example).

    Returns
    -------
    LiveConfig

    Raises
    ------
    LiveError
        The file is missing, is not YAML, or does not follow the schema; the message
        names the file, the line and the field.
    """
    data, lines = read_yaml(
        Path(path),
        LiveError,
        what="config",
        missing="start from data/live/config.yaml (the Gongshu example) or run without "
        "--config for the defaults.",
    )
    return validate_live_config(data, where=str(path), lines=lines)
