from __future__ import annotations

import pytest

from twin.alerts.names import chinese_name
from twin.live.sensors import load_alert_points


@pytest.mark.parametrize(
    ("name", "zh"),
    [
        ("丽水路 underpass", "丽水路下穿通道"),
        ("新天地街隧道", "新天地街隧道"),
        ("unnamed underpass near 永福桥路", "永福桥路附近下穿通道"),
        ("unnamed underpass", "未命名下穿通道"),
        ("湖墅南路 × 潮王路 intersection", "湖墅南路与潮王路交叉口"),
        ("石桥路 road section south of 华丰路", "石桥路（华丰路以南路段）"),
        ("上塘路 road section north of 大关路", "上塘路（大关路以北路段）"),
        ("Main Street underpass", None),
        ("point 3", None),
    ],
)
def test_chinese_names(name: str, zh: str | None) -> None:
    assert chinese_name(name) == zh


def test_every_shipped_low_point_has_a_chinese_name() -> None:
    points = load_alert_points()
    assert all(points.name_zh(i) for i in range(len(points)))
