"""Alert conventions: plain CAP 1.2, or CAP 1.2 in the terms of China's early-warning exchange.

:class:`AlertConventions` (a field of :class:`twin.alerts.AlertPolicy`, so ``alerts:
conventions:`` in a live config) chooses how messages are identified, coloured and
worded. Its defaults are the twin's plain CAP 1.2 (``twin-wl-…`` identifiers, English
only, severity by level, no colour); each convention below is switched on by a field.

Identifiers (``identifier_scheme: gbt35965``)
    ``ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N``, as in the early-warning exchange protocol
    GB/T 35965.1-2018 ("应急信息交互协议 第1部分：预警信息") and the provincial data
    specifications that follow it:

    - ``ZZZZZZDDDUUUXX`` the sender code (预警信息发布单位代码), 14 digits: the
      6-digit administrative division code of GB/T 2260 (``area_code``; Gongshu
      district, Hangzhou: 330105), the 3-digit agency code of GB/T 4657
      (``agency_code``), a 3-digit sub-unit code (``unit_code``, default ``000``) and a
      2-digit extension (``extension_code``, default ``00``);
    - ``YYYYMMDDhhmmss`` the entry time (录入时间) in Beijing time (UTC+08:00), whatever
      the zone of the CAP times;
    - ``N`` the sequence number of the messages one sender enters at one time, from 0
      (同一单位、同一时间发布的预警信息的序列号，从 0 开始), ``sequence_digits`` wide.

    Example: ``33010500000000_20260601080500_0`` (31 characters with one digit).

    *How sure this is.* The layout, the code widths, Beijing time and the one-digit
    sequence from 0 are those of a normative annex ("取值规则及说明") that restates the
    standard, read in a public copy; the standard itself (its full text is sold) could
    not be read, and the codes of a real sender are not known to us. So:

    - **followed**: the layout, the 14-digit sender code, the 14-digit time in Beijing
      time, the sequence from 0;
    - **approximated**: ``agency_code`` defaults to ``000`` (a placeholder: the GB/T 4657
      code of the issuing unit — e.g. the district's city-management or emergency bureau —
      must be configured; ``416`` is often seen in meteorological identifiers and is not
      ours); with one digit, the 11th and later messages of one issue time are entered
      in the following seconds (entry time + ``k // 10`` s, ``N = k mod 10``) so the
      31-character form is kept; ``sequence_digits`` 2–4 widens ``N`` instead
      (``…_0001``-like forms seen in some platforms; they count from 0 here too);
    - **not done**: the standard's own XML (``senderCode``, ``eventType`` of GB/T 35561,
      a colour-valued ``severity``…) — the message stays CAP 1.2, valid against the OASIS
      XSD, with the sender code in a ``parameter`` (``senderCode``) and the division code
      in a ``geocode`` (``GB/T 2260``).

    *Uniqueness.* Messages of one issue time are numbered in the order
    :meth:`twin.alerts.AlertManager.step` returns them (by level, then by low point), so
    the same inputs give the same identifiers: an offline replay is deterministic, and a
    live service that crashes before committing an issue re-issues it with the same
    identifiers. Different issue times have different entry times, so identifiers repeat
    neither in a run nor across restarts, as long as the spill-over of one issue time
    (``messages // 10**sequence_digits`` seconds) stays shorter than the interval between
    issue times (300 s on the forecasters' grid: up to 3,000 messages per issue with one
    digit; the 53 Gongshu low points × 2 levels give at most 106). Within one process an
    entry time never goes back: a too-close issue time is entered after the last one.

Colour levels (``colors: true``)
    The four early-warning colours (蓝色 / 黄色 / 橙色 / 红色预警), from the level
    (``impeded``, ``closed``), the forecast probability ``p`` of reaching it and the lead
    time of the forecast onset. The colour is the highest one among ``color_rules`` that
    match (``level``, ``p ≥ min_probability``, ``lead ≤ max_lead_time``), else
    ``default_color``; water observed above the level counts as ``p = 1`` at lead 0.
    **Illustrative defaults** (a starting point for an operations centre to tune, not
    published values):

    ======  ===========================================================
    red     closed, p ≥ 0.8, onset within 30 min
    orange  closed, p ≥ 0.5, within 60 min; impeded, p ≥ 0.8, within 30 min
    yellow  closed (any p and lead); impeded, p ≥ 0.5, within 60 min
    blue    any other open alert (``default_color``)
    ======  ===========================================================

    With colours the CAP classes follow the colour: *severity* red → ``Extreme``,
    orange → ``Severe``, yellow → ``Moderate``, blue → ``Minor`` (the usual reading of
    the four colours as levels Ⅰ–Ⅳ); *urgency* ``Immediate`` for red whatever the lead,
    else as without colours. The colour is a CAP ``parameter`` (``alertColor``: blue,
    yellow, orange or red; and ``预警级别`` in the Chinese block), and a change of colour
    updates the alert like a change of urgency (a rise at once, a fall no more often
    than ``min_update_interval``). A Cancel carries the colour it lifts.

Languages (``languages``)
    One CAP ``info`` block per language, in the order given: an English tag (``en-US``,
    ``en``…) and/or a Chinese one (``zh-CN``…). The Chinese block words the event,
    headline, description, instruction, sender and area in Chinese, with the low point's
    Chinese name (:func:`twin.alerts.names.chinese_name`).

References
----------
GB/T 35965.1-2018. *应急信息交互协议 第1部分：预警信息* (Protocol for emergency information
exchange — Part 1: Early warning message). SAC, 2018.
GB/T 2260. *中华人民共和国行政区划代码* (Codes for the administrative divisions of the PRC).
GB/T 4657. *中央党政机关、人民团体及其他机构代码* (Codes of central organs and institutions).
OASIS (2010). *Common Alerting Protocol Version 1.2*. OASIS Standard, 1 July 2010.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from twin.durations import PositiveDuration

__all__ = [
    "BEIJING",
    "COLORS",
    "COLOR_SEVERITY",
    "COLOR_ZH",
    "AlertConventions",
    "Color",
    "ColorRule",
    "default_color_rules",
    "language_family",
]

Color = Literal["blue", "yellow", "orange", "red"]
#: The colours, lowest first.
COLORS: tuple[Color, ...] = ("blue", "yellow", "orange", "red")
#: CAP severity of each colour.
COLOR_SEVERITY: dict[str, str] = {
    "blue": "Minor",
    "yellow": "Moderate",
    "orange": "Severe",
    "red": "Extreme",
}
#: Chinese name of each colour (as in 黄色预警).
COLOR_ZH: dict[str, str] = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
#: Beijing time, the zone of GB/T 35965.1 identifiers.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
_RANK: dict[str, int] = {c: i for i, c in enumerate(COLORS)}
_WIDTH = {"area_code": 6, "agency_code": 3, "unit_code": 3, "extension_code": 2}
_LANG = re.compile(r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$")


def language_family(tag: str) -> str:
    """``"en"`` or ``"zh"``: the language of a tag such as ``en-US`` or ``zh-CN``."""
    return tag.split("-", 1)[0].lower()


class ColorRule(BaseModel):
    """One way to reach a colour: level, smallest probability and longest lead time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    color: Color
    level: Literal["impeded", "closed"] | None = Field(
        default=None, description="alert level it applies to (None: any)"
    )
    min_probability: float = Field(default=0.0, ge=0.0, le=1.0, description="p ≥ this [-]")
    max_lead_time: PositiveDuration | None = Field(
        default=None, description="onset within this [s] or '30min' (None: any lead)"
    )

    def matches(self, level: str, p: float, lead_s: float | None) -> bool:
        """Whether a level, probability [-] and onset lead [s] (None: none) qualify."""
        if self.level is not None and level != self.level:
            return False
        if p < self.min_probability:
            return False
        return self.max_lead_time is None or (lead_s is not None and lead_s <= self.max_lead_time)


def default_color_rules() -> tuple[ColorRule, ...]:
    """The illustrative colour rules of the module docstring."""
    return (
        ColorRule(color="red", level="closed", min_probability=0.8, max_lead_time=1800.0),
        ColorRule(color="orange", level="closed", min_probability=0.5, max_lead_time=3600.0),
        ColorRule(color="orange", level="impeded", min_probability=0.8, max_lead_time=1800.0),
        ColorRule(color="yellow", level="closed", min_probability=0.0),
        ColorRule(color="yellow", level="impeded", min_probability=0.5, max_lead_time=3600.0),
    )


def _digits(value: Any, width: int, name: str) -> Any:
    """Codes may come from YAML as numbers: take those that cannot be misread.

    ``330105`` and ``0`` are unambiguous; ``14`` may be YAML's reading of ``016``
    (an octal number), so a number shorter than the code must be quoted.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value == 0 or len(str(value)) == width:
            return str(value).zfill(width)
        raise ValueError(f"{name}: give the {width} digits in quotes, e.g. '{value:0{width}d}'")
    return value


class AlertConventions(BaseModel):
    """Identifiers, colours and languages of alert messages (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    identifier_scheme: Literal["cap", "gbt35965"] = Field(
        default="cap",
        description="cap: twin-wl-<point>-<level>-<time>-<hash>; gbt35965: "
        "<sender code>_<yyyyMMddHHmmss>_<N> (GB/T 35965.1)",
    )
    area_code: str = Field(
        default="330105", description="GB/T 2260 division code, 6 digits (Gongshu: 330105)"
    )
    agency_code: str = Field(
        default="000", description="GB/T 4657 agency code, 3 digits (set the issuing unit's)"
    )
    unit_code: str = Field(default="000", description="sub-unit code, 3 digits")
    extension_code: str = Field(default="00", description="extension code, 2 digits")
    sequence_digits: int = Field(
        default=1, ge=1, le=4, description="width of the sequence number N (1: the standard)"
    )
    languages: tuple[str, ...] = Field(
        default=("en-US",),
        description="one CAP info block per language, in order: an English and/or a Chinese tag",
    )
    sender_name_zh: str = Field(
        default="拱墅区城市运行管理中心（城市数字孪生，模拟）",
        min_length=1,
        description="senderName of the Chinese info block",
    )
    colors: bool = Field(default=False, description="blue/yellow/orange/red levels")
    color_rules: tuple[ColorRule, ...] = Field(default_factory=default_color_rules)
    default_color: Color = Field(default="blue", description="colour when no rule matches")

    @field_validator("area_code", "agency_code", "unit_code", "extension_code", mode="before")
    @classmethod
    def _code(cls, v: Any, info: ValidationInfo) -> Any:
        name = str(info.field_name)
        return _digits(v, _WIDTH[name], name)

    @model_validator(mode="after")
    def _check(self) -> AlertConventions:
        for name, width in _WIDTH.items():
            value = getattr(self, name)
            if not re.fullmatch(rf"[0-9]{{{width}}}", value):
                raise ValueError(f"{name}: give {width} digits, got {value!r}")
        if not self.languages:
            raise ValueError("languages: give at least one, e.g. ['en-US', 'zh-CN']")
        families = []
        for tag in self.languages:
            if not _LANG.match(tag) or language_family(tag) not in ("en", "zh"):
                raise ValueError(
                    f"languages: {tag!r}: use an English (en-US, en) or Chinese (zh-CN) tag"
                )
            families.append(language_family(tag))
        if len(set(families)) != len(families):
            raise ValueError("languages: give at most one English and one Chinese tag")
        return self

    @property
    def sender_code(self) -> str:
        """The 14-digit sender code (预警信息发布单位代码) of GB/T 35965.1 identifiers."""
        return self.area_code + self.agency_code + self.unit_code + self.extension_code

    def gbt_identifier(self, entry_base: datetime, k: int) -> str:
        """The identifier of the ``k``-th message (from 0) entered at ``entry_base``.

        Parameters
        ----------
        entry_base
            Entry time of the issue (timezone-aware; whole seconds are used).
        k
            Position of the message among those of the issue time.

        Returns
        -------
        str
            ``<sender code>_<yyyyMMddHHmmss>_<N>``; the time in Beijing time, pushed on
            by ``k // 10**sequence_digits`` seconds (see the module docstring).
        """
        per_second: int = 10**self.sequence_digits
        entry = entry_base.astimezone(BEIJING).replace(microsecond=0) + timedelta(
            seconds=k // per_second
        )
        return f"{self.sender_code}_{entry:%Y%m%d%H%M%S}_{k % per_second:0{self.sequence_digits}d}"

    def entry_seconds(self, n_messages: int) -> int:
        """Seconds of entry time that ``n_messages`` of one issue time take (≥ 1)."""
        per_second: int = 10**self.sequence_digits
        return max(1, -(-n_messages // per_second))

    def color_of(self, level: str, p: float, lead_s: float | None, observed: bool) -> Color:
        """The colour of an alert.

        Parameters
        ----------
        level
            ``impeded`` or ``closed``.
        p
            Forecast probability of reaching the level within the horizon [-].
        lead_s
            Lead of the forecast onset [s] (None: no onset forecast).
        observed
            Whether the water is observed above the level (then ``p = 1``, lead 0).

        Returns
        -------
        str
            The highest colour of a matching rule, else ``default_color``.
        """
        if observed:
            p, lead_s = 1.0, 0.0
        best: Color = self.default_color
        for rule in self.color_rules:
            if _RANK[rule.color] > _RANK[best] and rule.matches(level, p, lead_s):
                best = rule.color
        return best

    @staticmethod
    def color_rank(color: str | None) -> int:
        """Rank of a colour, blue 0 … red 3 (-1 for None)."""
        return -1 if color is None else _RANK[color]
