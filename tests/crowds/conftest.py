"""Shared fixtures of the crowd tests: the bundled plazas and a day of demand."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from twin.crowds.config import CrowdConfig, CrowdEvent, MetroFeed
from twin.crowds.demand import Demand, build_demand
from twin.crowds.plazas import Plazas, load_plazas
from twin.network.build import data_dir

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 6, 1, 0, 0, tzinfo=TZ)
PLAZAS_FILE = data_dir() / "layers" / "plazas.geojson"


@pytest.fixture(scope="session")
def plazas() -> Plazas:
    """The five bundled Gongshu plazas with their default exits."""
    return load_plazas(PLAZAS_FILE)


def event_config(**changes: object) -> CrowdConfig:
    """The defaults plus a 30,000-person concert on Wulin Square, 19:30–22:00."""
    event = CrowdEvent(
        name="concert",
        plaza="plaza-wulin-square",
        start=datetime(2024, 6, 1, 19, 30),
        end=datetime(2024, 6, 1, 22, 0),
        attendance=30_000,
        egress_window_s=600,
        metro_share=0.4,
    )
    metro = (
        MetroFeed(name="station plazas", plaza="kind:station_plaza"),
        MetroFeed(name="Wulin Square station", plaza="plaza-wulin-square"),
    )
    return CrowdConfig(events=(event,), metro=metro).model_copy(update=changes)


@pytest.fixture(scope="session")
def concert() -> CrowdConfig:
    """The configuration of :func:`event_config` (defaults plus the concert)."""
    return event_config()


@pytest.fixture(scope="session")
def day(plazas: Plazas) -> Demand:
    """A full day of demand at the bundled plazas with the concert."""
    return build_demand(plazas, event_config(), START, 86_400.0)
