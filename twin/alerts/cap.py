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

Conventions (:class:`twin.alerts.AlertConventions`, carried by each message)
    One ``info`` block per language (English and/or ``zh-CN``, the same classes, times,
    parameters and area, the words in the block's language, :mod:`twin.alerts.texts`);
    with colour levels, ``severity`` follows the colour and the ``parameter``
    ``alertColor`` (and ``预警级别`` in Chinese) carries it; with GB/T 35965.1
    identifiers, the ``parameter`` ``senderCode`` and the ``geocode`` ``GB/T 2260``
    (the division code) are added.

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

from twin.alerts.conventions import COLOR_ZH, language_family
from twin.alerts.errors import AlertError
from twin.alerts.lifecycle import AlertMessage
from twin.alerts.texts import info_text

__all__ = ["CAP_NS", "cap_dict", "cap_json", "cap_schema_path", "cap_xml", "validate_cap"]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
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


def cap_dict(msg: AlertMessage, *, language: str | None = None) -> dict[str, Any]:
    """The CAP structure of a message as nested dicts/lists (element names as keys).

    Parameters
    ----------
    msg
        The message; its ``conventions`` give the languages (one ``info`` block each).
    language
        Tag of the English block instead of the one in the conventions (e.g. ``en-GB``).
    """
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
    alert["info"] = [
        _info(msg, language if language and language_family(tag) == "en" else tag)
        for tag in msg.conventions.languages
    ]
    return alert


def _info(msg: AlertMessage, tag: str) -> dict[str, Any]:
    """One ``info`` block, in the language of ``tag``."""
    conv = msg.conventions
    family = language_family(tag)
    text = info_text(msg, family)
    cancel = msg.msg_type == "Cancel"
    info: dict[str, Any] = {
        "language": tag,
        "category": ["Met", "Transport"],
        "event": text["event"],
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
    info["senderName"] = text["senderName"]
    info["headline"] = text["headline"]
    info["description"] = text["description"]
    if "instruction" in text:
        info["instruction"] = text["instruction"]
    params = [{"valueName": k, "value": v} for k, v in msg.parameters.items()]
    if msg.color is not None:
        params.append({"valueName": "alertColor", "value": msg.color})
        if family == "zh":
            params.append({"valueName": "预警级别", "value": COLOR_ZH[msg.color]})
    if conv.identifier_scheme == "gbt35965":
        params.append({"valueName": "senderCode", "value": conv.sender_code})
    info["parameter"] = params
    geocode = [{"valueName": "twin:low_point", "value": msg.point_id}]
    if conv.identifier_scheme == "gbt35965":
        geocode.append({"valueName": "GB/T 2260", "value": conv.area_code})
    info["area"] = [
        {
            "areaDesc": text["areaDesc"],
            "circle": [f"{msg.lat:.6f},{msg.lon:.6f} {msg.radius_m / 1000.0:.3f}"],
            "geocode": geocode,
        }
    ]
    return info


def cap_json(msg: AlertMessage, *, language: str | None = None) -> dict[str, Any]:
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


def cap_xml(msg: AlertMessage, *, language: str | None = None) -> str:
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
