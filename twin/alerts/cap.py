"""OASIS CAP 1.2 renderings of alert messages (XML and JSON) and schema validation.

The XML follows the CAP 1.2 schema (namespace ``urn:oasis:names:tc:emergency:cap:1.2``),
element order included, and is validated against the official XSD shipped in
``data/standards/CAP-v1.2.xsd`` (:func:`validate_cap`, with ``xmlschema``, offline).
The JSON rendering mirrors the XML element names one to one (``info`` and ``area``
as lists, as in the XML's repeatable elements), so either can be converted to the
other.

Mapping (CAP 1.2 §3.2)
    ``identifier`` unique per message; ``sender`` from the policy; ``sent`` the issue
    time with its UTC offset (``2024-06-01T14:05:00+08:00``); ``msgType`` Alert /
    Update / Cancel with ``references`` ("sender,identifier,sent" of earlier messages);
    ``scope`` Public; ``info``: ``category`` Met and Transport, ``event`` road
    waterlogging, ``responseType`` Monitor (impeded) / Avoid (closed) / AllClear
    (cancel), ``urgency``/``severity``/``certainty`` from
    :mod:`twin.alerts.lifecycle`, ``onset`` the forecast onset, ``expires``,
    ``parameter`` (probability, threshold and forecast values) and ``area``: the low
    point's name, a ``circle`` "lat,lon radius_km" (WGS84) and a ``geocode`` with the
    low-point id.

References
----------
OASIS (2010). *Common Alerting Protocol Version 1.2*. OASIS Standard, 1 July 2010.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any

from twin.alerts.errors import AlertError
from twin.alerts.lifecycle import AlertMessage

__all__ = ["CAP_NS", "cap_dict", "cap_json", "cap_schema_path", "cap_xml", "validate_cap"]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
_EVENT = {
    "impeded": "Road waterlogging: traffic impeded",
    "closed": "Road waterlogging: road closed",
}
_RESPONSE = {"impeded": "Monitor", "closed": "Avoid"}


def cap_schema_path() -> Path:
    """The shipped CAP 1.2 XSD (``data/standards/CAP-v1.2.xsd``)."""
    from twin.network.build import data_dir

    return data_dir() / "standards" / "CAP-v1.2.xsd"


def _cap_time(t: datetime) -> str:
    """CAP date-time: seconds precision with a numeric UTC offset (never ``Z``)."""
    if t.tzinfo is None:
        raise AlertError(f"CAP times need a time zone; {t.isoformat()} has none.")
    text = t.replace(microsecond=0).isoformat()
    return text[:-6] + ("-00:00" if text.endswith("+00:00") else text[-6:])


def cap_dict(msg: AlertMessage, *, language: str = "en-US") -> dict[str, Any]:
    """The CAP structure of a message as nested dicts/lists (element names as keys)."""
    alert: dict[str, Any] = {
        "identifier": msg.identifier,
        "sender": msg.sender,
        "sent": _cap_time(msg.sent),
        "status": msg.status,
        "msgType": msg.msg_type,
        "source": "city-twin waterlogging forecaster",
        "scope": "Public",
    }
    if msg.references:
        alert["references"] = " ".join(
            f"{msg.sender},{ident},{_cap_time(sent)}" for ident, sent in msg.references
        )
    cancel = msg.msg_type == "Cancel"
    lead = msg.lead_time_s
    if cancel:
        headline = f"All clear: {msg.point_name} ({msg.level})"
        description = (
            f"The forecast probability that the water at {msg.point_name} reaches "
            f"{msg.depth_threshold:.2f} m has fallen to {msg.probability:.0%}; the alert is "
            "cancelled."
        )
    else:
        when = "now" if lead is None or lead <= 0 else f"in about {lead / 60:.0f} min"
        headline = f"{_EVENT[msg.level]} at {msg.point_name} {when}"
        description = (
            f"Water at {msg.point_name} is forecast to reach {msg.depth_threshold:.2f} m "
            f"({'road closed' if msg.level == 'closed' else 'traffic impeded'}) {when}, "
            f"probability {msg.probability:.0%}. Forecast by a simulated digital twin."
        )
    info: dict[str, Any] = {
        "language": language,
        "category": ["Met", "Transport"],
        "event": _EVENT[msg.level],
        "responseType": ["AllClear" if cancel else _RESPONSE[msg.level]],
        "urgency": msg.urgency,
        "severity": msg.severity,
        "certainty": msg.certainty,
        "eventCode": [{"valueName": "twin:alert_level", "value": msg.level}],
        "effective": _cap_time(msg.sent),
    }
    if msg.onset is not None and not cancel:
        info["onset"] = _cap_time(msg.onset)
    info["expires"] = _cap_time(msg.expires)
    info["senderName"] = msg.sender_name
    info["headline"] = headline
    info["description"] = description
    if not cancel:
        info["instruction"] = (
            "Avoid the road; use another route."
            if msg.level == "closed"
            else "Drive slowly; expect delays; crews may be sent ahead."
        )
    info["parameter"] = [{"valueName": k, "value": v} for k, v in msg.parameters.items()]
    info["area"] = [
        {
            "areaDesc": f"{msg.point_name} ({msg.point_id})",
            "circle": [f"{msg.lat:.6f},{msg.lon:.6f} {msg.radius_m / 1000.0:.3f}"],
            "geocode": [{"valueName": "twin:low_point", "value": msg.point_id}],
        }
    ]
    alert["info"] = [info]
    return alert


def cap_json(msg: AlertMessage, *, language: str = "en-US") -> dict[str, Any]:
    """The JSON rendering: ``{"alert": <cap_dict>}`` (element names as in the XML)."""
    return {"alert": cap_dict(msg, language=language)}


def _append(parent: ET.Element, name: str, value: Any) -> None:
    tag = f"{{{CAP_NS}}}{name}"
    if isinstance(value, list):
        for item in value:
            _append(parent, name, item)
    elif isinstance(value, dict):
        child = ET.SubElement(parent, tag)
        for key, sub in value.items():
            _append(child, key, sub)
    else:
        ET.SubElement(parent, tag).text = str(value)


def cap_xml(msg: AlertMessage, *, language: str = "en-US") -> str:
    """The CAP 1.2 XML document of a message (UTF-8 text with declaration)."""
    ET.register_namespace("", CAP_NS)
    root = ET.Element(f"{{{CAP_NS}}}alert")
    for key, value in cap_dict(msg, language=language).items():
        _append(root, key, value)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


@functools.lru_cache(maxsize=1)
def _schema() -> Any:
    import xmlschema

    path = cap_schema_path()
    if not path.is_file():
        raise AlertError(f"{path}: the CAP 1.2 schema is missing; restore data/standards/.")
    return xmlschema.XMLSchema(str(path))


def validate_cap(xml: str) -> None:
    """Validate a CAP XML document against the shipped CAP 1.2 schema.

    Raises
    ------
    AlertError
        With the schema's first reason and the path of the offending element.
    """
    schema = _schema()
    errors = list(schema.iter_errors(xml))
    if errors:
        first = errors[0]
        raise AlertError(
            f"CAP message is not valid CAP 1.2 ({len(errors)} error(s)); first at "
            f"{first.path}: {first.reason}"
        )
