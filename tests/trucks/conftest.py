"""Shared fixtures of the truck tests: one seeded night on the Gongshu network."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from twin.network import RoadNetwork
from twin.trucks import TruckResult, TrucksConfig, simulate_trucks
from twin.trucks.config import Ban, _default_bans

TZ = ZoneInfo("Asia/Shanghai")
NOON = datetime(2024, 6, 1, 12, 0, tzinfo=TZ)
EVENING = datetime(2024, 6, 1, 19, 0, tzinfo=TZ)

#: The defaults plus arterials closed to trucks 17:00-21:00, so that compliant routes
#: detour and deviating drivers break a ban.
EVENING_BAN = Ban(name="arterials 17-21", hours="17:00-21:00", road_classes=("arterial",))


def busy_config(**changes: object) -> TrucksConfig:
    """Defaults + the evening ban + more cameras, so every kind of violation shows up."""
    cfg = TrucksConfig(enabled=True, bans=(*_default_bans(), EVENING_BAN))
    return cfg.model_copy(update=changes) if changes else cfg


@pytest.fixture(scope="session")
def day(gongshu: RoadNetwork) -> TruckResult:
    """A full day (noon to noon) of the default Gongshu sites and docks."""
    return simulate_trucks(gongshu, busy_config(), start=NOON, horizon=86_400.0, seed=7)


def short_run(net: RoadNetwork, cfg: TrucksConfig | None = None, *, seed: int = 1,
              hours: float = 4.0) -> TruckResult:  # fmt: skip
    """A few evening hours at a fifth of the default trips (quick)."""
    cfg = cfg or TrucksConfig(enabled=True, trips_per_day=460)
    return simulate_trucks(net, cfg, start=EVENING, horizon=hours * 3600.0, seed=seed)
