"""`twin trucks run` reads --start in --timezone; a conflicting offset is an error."""

from __future__ import annotations

import pytest

from twin.errors import ArgumentError
from twin.trucks.cli import parse_start


def test_naive_start_is_local_time() -> None:
    t = parse_start("2024-06-01T12:00", "Asia/Shanghai")
    assert t.isoformat() == "2024-06-01T12:00:00+08:00"


def test_offset_of_the_zone_is_kept() -> None:
    t = parse_start("2024-06-01T12:00+08:00", "Asia/Shanghai")
    assert str(t.tzinfo) == "Asia/Shanghai" and t.hour == 12


@pytest.mark.parametrize(
    ("start", "zone", "words"),
    [
        ("2024-06-01T12:00Z", "Asia/Shanghai", "--start 2024-06-01T12:00Z: its UTC offset"),
        ("2024-06-01T12:00+09:00", "Asia/Shanghai", "2024-06-01T11:00:00+08:00"),
        ("noon", "Asia/Shanghai", "not an ISO 8601 time"),
        ("2024-06-01T12:00", "Mars/Base", "unknown time zone"),
    ],
)
def test_bad_start_or_zone(start: str, zone: str, words: str) -> None:
    with pytest.raises(ArgumentError) as info:
        parse_start(start, zone)
    assert words in str(info.value)
