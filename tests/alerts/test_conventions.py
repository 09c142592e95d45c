from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.alerts import (
    AlertConventions,
    AlertManager,
    AlertPoints,
    AlertPolicy,
    ColorRule,
    cap_json,
    cap_xml,
    validate_cap,
)
from twin.alerts.cap import CAP_NS

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 6, 1, 8, 5, tzinfo=SH)
NS = {"cap": CAP_NS}
GBT = re.compile(r"^(\d{14})_(\d{14})_(\d)$")
CHINA = AlertConventions(
    identifier_scheme="gbt35965", languages=("en-US", "zh-CN"), colors=True, agency_code="416"
)


def _points(n: int) -> AlertPoints:
    return AlertPoints(
        ids=np.array([f"lp-{i:03d}" for i in range(n)]),
        names=np.array([f"point {i}" for i in range(n)]),
        lon=np.full(n, 120.15),
        lat=np.full(n, 30.3),
        radius_m=np.full(n, 30.0),
    )


def _tunnel() -> AlertPoints:
    return AlertPoints(
        ids=np.array(["lp-tunnel-001"]),
        names=np.array(["丽水路 underpass"]),
        lon=np.array([120.135491]),
        lat=np.array([30.3202955]),
        radius_m=np.array([30.0]),
    )


def _lifecycle(conv: AlertConventions) -> list[Any]:
    """Alert, Updates and Cancels of both levels at one point (as in test_cap)."""
    m = AlertManager(_tunnel(), AlertPolicy(conventions=conv))
    out = []
    seq = [
        (0.6, 0.3, 2400.0, 0.0),
        (0.9, 0.85, 600.0, 0.05),
        (0.95, 0.9, 0.0, 0.3),
        (0.0, 0.0, np.nan, 0.0),
        (0.0, 0.0, np.nan, 0.0),
    ]
    for k, (p1, p2, lead, depth) in enumerate(seq):
        out += m.step(
            T0 + timedelta(minutes=10 * k),
            np.array([[p1, p2]]),
            np.array([[lead, lead]]),
            np.array([depth]),
        )
    return out


def _random_inputs(n_pts: int, steps: int, seed: int) -> list[tuple[Any, Any, Any]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        p = np.clip(rng.normal(0.5, 0.4, (n_pts, 2)), 0.0, 1.0)
        lead = rng.choice([np.nan, 300.0, 1200.0, 2400.0, 4800.0], (n_pts, 2))
        depth = np.clip(rng.normal(0.1, 0.12, n_pts), 0.0, None)
        out.append((p, lead, depth))
    return out


def _replay(manager: AlertManager, inputs: list[Any], first: int = 0) -> list[Any]:
    msgs = []
    for k, (p, lead, depth) in enumerate(inputs):
        msgs += manager.step(T0 + timedelta(minutes=5 * (first + k)), p, lead, depth)
    return msgs


# ---------------------------------------------------------------------------- identifiers
def test_default_conventions_are_plain_cap() -> None:
    msgs = _lifecycle(AlertConventions())
    assert all(m.identifier.startswith("twin-wl-lp-tunnel-001-") for m in msgs)
    assert all(m.color is None for m in msgs)
    doc = cap_json(msgs[0])["alert"]
    assert [i["language"] for i in doc["info"]] == ["en-US"]
    assert {p["valueName"] for p in doc["info"][0]["parameter"]} == {
        "probability",
        "depth_threshold_m",
    }


def test_gbt_identifier_format() -> None:
    msgs = _lifecycle(CHINA)
    # Sender code 330105 (Gongshu) + 416 + 000 + 00; the entry time in Beijing time;
    # N from 0 among the messages of one issue time.
    assert [m.identifier for m in msgs[:3]] == [
        "33010541600000_20260601080500_0",
        "33010541600000_20260601081500_0",
        "33010541600000_20260601081500_1",
    ]
    for m in msgs:
        assert len(m.identifier) == 31 and GBT.match(m.identifier)
    assert CHINA.sender_code == "33010541600000"
    # The time is Beijing time whatever the zone of the issue time.
    m = AlertManager(_tunnel(), AlertPolicy(conventions=CHINA))
    (msg,) = m.step(
        datetime(2026, 6, 1, 0, 5, tzinfo=UTC),
        np.array([[0.9, 0.0]]),
        np.array([[600.0, np.nan]]),
        np.zeros(1),
    )
    assert msg.identifier == "33010541600000_20260601080500_0"
    assert cap_json(msg)["alert"]["sent"] == "2026-06-01T00:05:00-00:00"


def test_gbt_identifiers_unique_and_deterministic_over_a_replay() -> None:
    # 40 points × 2 levels: more than 10 messages per issue time, so one-digit
    # sequence numbers spill into the following seconds.
    conv = AlertConventions(identifier_scheme="gbt35965")
    inputs = _random_inputs(40, 60, seed=7)
    a = _replay(AlertManager(_points(40), AlertPolicy(conventions=conv)), inputs)
    b = _replay(AlertManager(_points(40), AlertPolicy(conventions=conv)), inputs)
    ids = [m.identifier for m in a]
    assert ids == [m.identifier for m in b]  # deterministic
    assert len(ids) == len(set(ids)) > 500
    per_issue: dict[datetime, list[str]] = {}
    for m in a:
        per_issue.setdefault(m.sent, []).append(m.identifier)
    assert max(len(v) for v in per_issue.values()) > 10
    for sent, idents in per_issue.items():
        base = sent.astimezone(SH)
        for k, ident in enumerate(idents):
            _, stamp, n = GBT.match(ident).groups()  # type: ignore[union-attr]
            entry = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=SH)
            assert (entry - base).total_seconds() == k // 10 and int(n) == k % 10
    # Wider sequence numbers: no spill.
    wide = AlertConventions(identifier_scheme="gbt35965", sequence_digits=4)
    c = _replay(AlertManager(_points(40), AlertPolicy(conventions=wide)), inputs)
    assert all(re.fullmatch(r"\d{14}_\d{14}_\d{4}", m.identifier) for m in c)
    assert {m.identifier.split("_")[1] for m in c} == {
        m.sent.astimezone(SH).strftime("%Y%m%d%H%M%S") for m in c
    }


def test_gbt_identifiers_unique_across_a_restart() -> None:
    # A service stores state() with every issue and restores it after a restart; the
    # restored manager issues the same identifiers as one that never stopped.
    conv = AlertConventions(identifier_scheme="gbt35965")
    pol = AlertPolicy(conventions=conv)
    inputs = _random_inputs(30, 40, seed=11)
    never_stopped = _replay(AlertManager(_points(30), pol), inputs)
    before = AlertManager(_points(30), pol)
    first = _replay(before, inputs[:17])
    after = AlertManager(_points(30), pol)
    assert after.restore(before.state()) == []
    second = _replay(after, inputs[17:], first=17)
    ids = [m.identifier for m in first + second]
    assert ids == [m.identifier for m in never_stopped]
    assert len(ids) == len(set(ids))
    # A crash before the commit: the issue time is re-issued from the stored state,
    # with the same identifiers.
    again = AlertManager(_points(30), pol)
    again.restore(before.state())
    assert [m.identifier for m in _replay(again, inputs[17:18], first=17)] == [
        m.identifier for m in second if m.sent == second[0].sent
    ]


def test_entry_time_never_goes_back_within_a_process() -> None:
    conv = AlertConventions(identifier_scheme="gbt35965")
    m = AlertManager(_points(12), AlertPolicy(conventions=conv))
    ids = []
    for k in range(2):  # issue times 0.4 s apart, 12 alerts each (2 s of entry time)
        p = np.zeros((12, 2))
        p[:, k] = 0.9
        msgs = m.step(T0 + timedelta(seconds=0.4 * k), p, np.full((12, 2), 600.0), np.zeros(12))
        ids += [x.identifier for x in msgs]
    assert len(ids) == 24 and len(set(ids)) == 24
    assert ids[12] == "33010500000000_20260601080502_0"


# ---------------------------------------------------------------------------- colours
@pytest.mark.parametrize(
    ("level", "p", "lead", "observed", "color"),
    [
        ("closed", 0.8, 1800.0, False, "red"),
        ("closed", 0.7999, 1800.0, False, "orange"),
        ("closed", 0.8, 1800.5, False, "orange"),
        ("closed", 0.5, 3600.0, False, "orange"),
        ("closed", 0.4999, 3600.0, False, "yellow"),
        ("closed", 0.5, 3600.5, False, "yellow"),
        ("closed", 0.9, None, False, "yellow"),
        ("closed", 0.0, None, True, "red"),
        ("impeded", 0.8, 1800.0, False, "orange"),
        ("impeded", 0.8, 1800.5, False, "yellow"),
        ("impeded", 0.5, 3600.0, False, "yellow"),
        ("impeded", 0.4999, 3600.0, False, "blue"),
        ("impeded", 0.9, None, False, "blue"),
        ("impeded", 0.1, None, True, "orange"),
    ],
)
def test_color_mapping_boundaries(
    level: str, p: float, lead: float | None, observed: bool, color: str
) -> None:
    assert CHINA.color_of(level, p, lead, observed) == color


def test_color_rules_are_configurable() -> None:
    conv = AlertConventions.model_validate(
        {
            "colors": True,
            "color_rules": [
                {"color": "red", "min_probability": 0.9, "max_lead_time": "2h"},
                {"color": "yellow", "level": "impeded"},
            ],
            "default_color": "yellow",
        }
    )
    assert conv.color_rules[0].max_lead_time == 7200.0
    assert conv.color_of("impeded", 0.95, 7000.0, False) == "red"
    assert conv.color_of("closed", 0.5, 60.0, False) == "yellow"
    with pytest.raises(ValueError, match="color"):
        ColorRule.model_validate({"color": "green"})
    with pytest.raises(ValueError, match="min_probability"):
        ColorRule(color="red", min_probability=1.5)


def test_color_sets_severity_and_urgency_and_updates() -> None:
    msgs = _lifecycle(CHINA)
    sev = {"blue": "Minor", "yellow": "Moderate", "orange": "Severe", "red": "Extreme"}
    for m in msgs:
        assert m.color in sev
        if m.msg_type != "Cancel":
            assert m.severity == sev[m.color]
            if m.color == "red":
                assert m.urgency == "Immediate"
    first = {m.level: m for m in msgs if m.msg_type == "Alert"}
    assert first["impeded"].color == "yellow"  # p 0.6, onset in 40 min
    assert first["closed"].color == "red"  # p 0.85, onset in 10 min
    cancels = {m.level: m for m in msgs if m.msg_type == "Cancel"}
    assert cancels["closed"].color == "red" and cancels["closed"].severity == "Minor"
    # Red is Immediate even with a longer lead (a rule allowing one).
    conv = CHINA.model_copy(update={"color_rules": (ColorRule(color="red", min_probability=0.9),)})
    m = AlertManager(_tunnel(), AlertPolicy(conventions=conv))
    (msg,) = m.step(T0, np.array([[0.95, 0.0]]), np.array([[5400.0, np.nan]]), np.zeros(1))
    assert (msg.color, msg.severity, msg.urgency) == ("red", "Extreme", "Immediate")


def test_color_change_updates_the_alert() -> None:
    pol = AlertPolicy(conventions=CHINA)
    m = AlertManager(_tunnel(), pol)

    def step(k: int, p: float, lead: float) -> list[Any]:
        return m.step(
            T0 + timedelta(minutes=5 * k),
            np.array([[0.0, p]]),
            np.array([[np.nan, lead]]),
            np.zeros(1),
        )

    assert [(x.msg_type, x.color) for x in step(0, 0.6, 1500.0)] == [("Alert", "orange")]
    # p rises to 0.85 (Likely still, Immediate still): only the colour rises → Update.
    assert [(x.msg_type, x.color) for x in step(1, 0.85, 1200.0)] == [("Update", "red")]
    # A fall waits for min_update_interval (10 min) after the last message.
    assert step(2, 0.6, 900.0) == []
    assert [(x.msg_type, x.color) for x in step(3, 0.6, 600.0)] == [("Update", "orange")]
    state = m.state()
    assert [s.color for s in state] == ["orange"]
    # Restored without a colour (a store that does not keep it): the next issue's
    # colour is taken silently, no Update.
    fresh = AlertManager(_tunnel(), pol)
    fresh.restore([s.__class__(**{**s.__dict__, "color": None}) for s in state])
    assert (
        fresh.step(
            T0 + timedelta(minutes=20),
            np.array([[0.0, 0.6]]),
            np.array([[np.nan, 300.0]]),
            np.zeros(1),
        )
        == []
    )
    assert [s.color for s in fresh.state()] == ["orange"]


# ---------------------------------------------------------------------------- languages
def test_zh_cn_info_block_is_present_and_valid() -> None:
    msgs = _lifecycle(CHINA)
    assert {m.msg_type for m in msgs} == {"Alert", "Update", "Cancel"}
    for m in msgs:
        xml = cap_xml(m)
        validate_cap(xml)
        root = ET.fromstring(xml)
        en, zh = root.findall("cap:info", NS)
        assert en.findtext("cap:language", namespaces=NS) == "en-US"
        assert zh.findtext("cap:language", namespaces=NS) == "zh-CN"
        for tag in ("urgency", "severity", "certainty", "effective", "expires"):
            assert en.findtext(f"cap:{tag}", namespaces=NS) == zh.findtext(
                f"cap:{tag}", namespaces=NS
            )
        assert zh.findtext("cap:event", namespaces=NS).startswith("道路积水")
        assert "丽水路下穿通道" in zh.findtext("cap:headline", namespaces=NS)
        assert (
            zh.findtext("cap:area/cap:areaDesc", namespaces=NS) == "丽水路下穿通道（lp-tunnel-001）"
        )
        zh_params = {
            p.findtext("cap:valueName", namespaces=NS): p.findtext("cap:value", namespaces=NS)
            for p in zh.findall("cap:parameter", NS)
        }
        color_zh = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}[m.color]
        assert zh_params["预警级别"] == color_zh and zh_params["alertColor"] == m.color
        assert zh_params["senderCode"] == "33010541600000"
        geocodes = [g.findtext("cap:value", namespaces=NS) for g in zh.iter(f"{{{CAP_NS}}}geocode")]
        assert geocodes == ["lp-tunnel-001", "330105"]
        if m.msg_type == "Cancel":
            assert zh.findtext("cap:headline", namespaces=NS).startswith("解除")
            assert zh.find("cap:instruction", NS) is None
        else:
            assert f"{color_zh}预警" in zh.findtext("cap:headline", namespaces=NS)
            assert zh.findtext("cap:instruction", namespaces=NS)
        # The English block is kept, with the colour as a parameter.
        assert "丽水路 underpass" in en.findtext("cap:headline", namespaces=NS)
    # zh-CN first when asked; the English tag can be changed at rendering.
    conv = CHINA.model_copy(update={"languages": ("zh-CN", "en")})
    doc = cap_json(_lifecycle(conv)[0], language="en-GB")["alert"]
    assert [i["language"] for i in doc["info"]] == ["zh-CN", "en-GB"]
    only_zh = CHINA.model_copy(update={"languages": ("zh-CN",)})
    validate_cap(cap_xml(_lifecycle(only_zh)[0]))


def _flat_json(name: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, list):
        for item in value:
            _flat_json(name, item, out)
    elif isinstance(value, dict):
        out.append((name, ""))
        for key, sub in value.items():
            _flat_json(f"{name}/{key}", sub, out)
    else:
        out.append((name, str(value)))


def _flat_xml(elem: ET.Element, name: str, out: list[tuple[str, str]]) -> None:
    children = list(elem)
    out.append((name, "" if children else (elem.text or "")))
    for child in children:
        _flat_xml(child, f"{name}/{child.tag.removeprefix('{' + CAP_NS + '}')}", out)


@pytest.mark.parametrize("conv", [AlertConventions(), CHINA], ids=["cap", "china"])
def test_json_mirrors_xml_element_by_element(conv: AlertConventions) -> None:
    for m in _lifecycle(conv):
        doc = json.loads(json.dumps(cap_json(m), ensure_ascii=False))
        from_json: list[tuple[str, str]] = []
        _flat_json("alert", doc["alert"], from_json)
        from_xml: list[tuple[str, str]] = []
        _flat_xml(ET.fromstring(cap_xml(m)), "alert", from_xml)
        assert from_json == from_xml


# ---------------------------------------------------------------------------- names, config
def test_chinese_names_from_the_layer_are_preferred() -> None:
    pts = _points(2)
    pts = AlertPoints(
        ids=pts.ids,
        names=np.array(["丽水路 underpass", "point 1"]),
        lon=pts.lon,
        lat=pts.lat,
        radius_m=pts.radius_m,
        names_zh=np.array(["丽水路地道", ""]),
    )
    assert pts.name_zh(0) == "丽水路地道"
    assert pts.name_zh(1) is None
    m = AlertManager(pts, AlertPolicy(conventions=CHINA))
    msgs = m.step(T0, np.array([[0.0, 0.0], [0.9, 0.0]]), np.full((2, 2), 600.0), np.zeros(2))
    zh = cap_json(msgs[0])["alert"]["info"][1]
    assert zh["area"][0]["areaDesc"] == "point 1（lp-001）"  # no Chinese name: the layer's


def test_conventions_validation_and_live_config() -> None:
    from twin.live.config import validate_live_config
    from twin.live.errors import LiveError

    conv = AlertConventions(area_code=330105, agency_code=0, extension_code=0)  # type: ignore[arg-type]
    assert conv.sender_code == "33010500000000"
    with pytest.raises(ValueError, match="quotes"):
        AlertConventions(agency_code=14)  # type: ignore[arg-type]  # YAML's octal 016
    with pytest.raises(ValueError, match="area_code: give 6 digits"):
        AlertConventions(area_code="33010")
    with pytest.raises(ValueError, match="English"):
        AlertConventions(languages=("fr-FR",))
    with pytest.raises(ValueError, match="at most one English"):
        AlertConventions(languages=("en", "en-US"))
    cfg = validate_live_config(
        {
            "alerts": {
                "conventions": {
                    "identifier_scheme": "gbt35965",
                    "area_code": 330105,
                    "languages": ["en-US", "zh-CN"],
                    "colors": True,
                    "color_rules": [{"color": "red", "level": "closed", "max_lead_time": "30min"}],
                }
            }
        }
    )
    assert cfg.alerts.conventions.identifier_scheme == "gbt35965"
    assert cfg.alerts.conventions.color_rules[0].max_lead_time == 1800.0
    with pytest.raises(LiveError, match=r"alerts\.conventions\.identifier_scheme"):
        validate_live_config({"alerts": {"conventions": {"identifier_scheme": "x"}}})
