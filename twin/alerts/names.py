"""Chinese names of low points, from the names the low-point layer carries.

The layer (``data/layers/low_points.geojson``) names a point by its Chinese road names
with English words for the kind of point (``丽水路 underpass``, ``湖墅南路 × 潮王路
intersection``, ``石桥路 road section south of 华丰路``); the Chinese CAP ``info`` block
wants a Chinese name (``丽水路下穿通道``, ``湖墅南路与潮王路交叉口``, ``石桥路（华丰路以南
路段）``).
"""

from __future__ import annotations

import re

__all__ = ["chinese_name"]

_SIDE_ZH = {"north": "北", "south": "南", "east": "东", "west": "西"}
_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_NAME_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^unnamed underpass near (.+)$"), r"\1附近下穿通道"),
    (re.compile(r"^unnamed underpass$"), "未命名下穿通道"),
    (re.compile(r"^(.+?) underpass$"), r"\1下穿通道"),
    (re.compile(r"^(.+?) × (.+?) intersection$"), r"\1与\2交叉口"),
    (re.compile(r"^unnamed intersection near (.+)$"), r"\1附近交叉口"),
    (re.compile(r"^(.+?) intersection$"), r"\1交叉口"),
    (re.compile(r"^unnamed road section near (.+)$"), r"\1附近路段"),
    (re.compile(r"^(.+?) road section$"), r"\1路段"),
)
_SECTION = re.compile(r"^(.+?) road section (north|south|east|west) of (.+)$")


def chinese_name(name: str) -> str | None:
    """A low point's Chinese name, from its layer name (None when none can be made).

    A name with no Latin letters is already Chinese; ``<road> underpass``, ``unnamed
    underpass near <road>``, ``<road> × <road> intersection`` and ``<road> road section
    south of <road>`` (the forms of ``data/layers/low_points.geojson``) are translated
    when the roads are named in Chinese.
    """
    text = name.strip()
    if not text:
        return None
    if not _LATIN.search(text):
        return text
    m = _SECTION.match(text)
    if m:
        out = f"{m.group(1)}（{m.group(3)}以{_SIDE_ZH[m.group(2)]}路段）"
    else:
        for pattern, repl in _NAME_RULES:
            if pattern.match(text):
                out = pattern.sub(repl, text)
                break
        else:
            return None
    return out if not _LATIN.search(out) and _HAN.search(out) else None
