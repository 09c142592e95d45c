from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.alerts import AlertError, AlertManager, AlertPoints, cap_json, cap_xml, validate_cap
from twin.alerts.cap import CAP_NS, cap_schema_path

T0 = datetime(2024, 6, 15, 14, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
NS = {"cap": CAP_NS}


def _messages():
    pts = AlertPoints(
        ids=np.array(["lp-tunnel-001"]),
        names=np.array(["丽水路 underpass"]),
        lon=np.array([120.135491]),
        lat=np.array([30.3202955]),
        radius_m=np.array([30.0]),
    )
    m = AlertManager(pts)
    out = []
    seq = [
        (0.6, 0.3, 2400.0, 0.0),
        (0.9, 0.7, 600.0, 0.05),
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


def test_schema_is_shipped():
    text = cap_schema_path().read_text(encoding="utf-8")
    assert 'targetNamespace = "urn:oasis:names:tc:emergency:cap:1.2"' in text


def test_every_lifecycle_message_validates_against_cap_xsd():
    msgs = _messages()
    kinds = {m.msg_type for m in msgs}
    assert kinds == {"Alert", "Update", "Cancel"}
    for m in msgs:
        xml = cap_xml(m)
        validate_cap(xml)
        root = ET.fromstring(xml)
        assert root.tag == f"{{{CAP_NS}}}alert"
        assert root.findtext("cap:msgType", namespaces=NS) == m.msg_type
        assert (
            root.findtext("cap:sent", namespaces=NS)
            == "2024-06-15T" + m.sent.strftime("%H:%M:%S") + "+08:00"
        )
        circle = root.findtext("cap:info/cap:area/cap:circle", namespaces=NS)
        assert circle == "30.320296,120.135491 0.030"
        if m.msg_type != "Alert":
            refs = root.findtext("cap:references", namespaces=NS).split(" ")
            assert all(r.count(",") == 2 for r in refs)


def test_invalid_cap_is_rejected_with_reason():
    xml = cap_xml(_messages()[0]).replace("<status>Actual</status>", "<status>Maybe</status>")
    with pytest.raises(AlertError, match="status"):
        validate_cap(xml)
    xml = cap_xml(_messages()[0]).replace("+08:00</sent>", "Z</sent>")
    with pytest.raises(AlertError, match=r"not valid CAP 1\.2"):
        validate_cap(xml)


def test_json_mirrors_xml():
    m = _messages()[1]
    doc = json.loads(json.dumps(cap_json(m), ensure_ascii=False))["alert"]
    root = ET.fromstring(cap_xml(m))
    for key in ("identifier", "sender", "sent", "status", "msgType", "scope", "references"):
        assert doc[key] == root.findtext(f"cap:{key}", namespaces=NS)
    info = doc["info"][0]
    assert info["urgency"] == root.findtext("cap:info/cap:urgency", namespaces=NS)
    assert info["area"][0]["geocode"][0]["value"] == "lp-tunnel-001"
    assert {p["valueName"] for p in info["parameter"]} >= {"probability", "depth_threshold_m"}


def test_severity_and_urgency_mapping():
    msgs = _messages()
    first = {m.level: m for m in msgs if m.msg_type == "Alert"}
    assert first["impeded"].severity == "Moderate"
    assert first["impeded"].urgency == "Expected"  # onset 40 min ahead
    assert first["closed"].severity == "Severe"
    observed = [m for m in msgs if m.certainty == "Observed"]
    assert observed and all(m.urgency == "Immediate" for m in observed)
