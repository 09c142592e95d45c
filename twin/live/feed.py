"""The alert feeds: CAP messages as JSON, as an Atom feed, and as server-sent events.

``GET /alerts`` serves the active alerts (or every message) as ``{"alerts": [<CAP
JSON>, …]}`` or, with ``format=atom``, as an Atom 1.0 feed whose entries carry the CAP
1.2 XML inline (``<content type="application/cap+xml">``), the usual shape of public
CAP feeds. ``GET /alerts/stream`` sends each new message as a server-sent event whose
``id`` is the message's sequence number, so a client that reconnects with
``Last-Event-ID`` misses nothing.

References
----------
Nottingham, M. and Sayre, R. (2005). *The Atom Syndication Format*. RFC 4287.
WHATWG. *HTML Living Standard*, §9.2 Server-sent events.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from twin.live.records import AlertRecord

__all__ = ["alert_summary", "atom_feed", "json_feed", "sse_event"]

_ATOM = "http://www.w3.org/2005/Atom"


def alert_summary(rec: AlertRecord) -> dict[str, Any]:
    """The fields a client sorts and filters by, beside the CAP message."""
    return {
        "seq": rec.seq,
        "identifier": rec.identifier,
        "point": rec.point,
        "level": rec.level,
        "msgType": rec.msg_type,
        "sent": rec.sent,
    }


def json_feed(records: Sequence[AlertRecord], *, state: str) -> dict[str, Any]:
    """``{"state", "count", "alerts": [{…summary, "cap": <CAP JSON>}]}``."""
    return {
        "state": state,
        "count": len(records),
        "alerts": [{**alert_summary(r), "cap": json.loads(r.cap_json)} for r in records],
    }


def atom_feed(
    records: Sequence[AlertRecord], *, title: str, feed_id: str, self_url: str, updated: str
) -> str:
    """An Atom 1.0 feed with one entry per message, its CAP XML inline."""
    ET.register_namespace("", _ATOM)
    feed = ET.Element(f"{{{_ATOM}}}feed")
    ET.SubElement(feed, f"{{{_ATOM}}}id").text = feed_id
    ET.SubElement(feed, f"{{{_ATOM}}}title").text = title
    ET.SubElement(feed, f"{{{_ATOM}}}updated").text = updated
    ET.SubElement(feed, f"{{{_ATOM}}}link", rel="self", href=self_url)
    author = ET.SubElement(feed, f"{{{_ATOM}}}author")
    ET.SubElement(author, f"{{{_ATOM}}}name").text = "city-twin live service"
    for rec in records:
        entry = ET.SubElement(feed, f"{{{_ATOM}}}entry")
        ET.SubElement(entry, f"{{{_ATOM}}}id").text = f"urn:twin:alert:{rec.identifier}"
        cap = json.loads(rec.cap_json)["alert"]
        info = cap["info"][0]
        ET.SubElement(entry, f"{{{_ATOM}}}title").text = f"{rec.msg_type}: {info['headline']}"
        ET.SubElement(entry, f"{{{_ATOM}}}updated").text = rec.sent
        ET.SubElement(entry, f"{{{_ATOM}}}category", term=rec.level)
        content = ET.SubElement(entry, f"{{{_ATOM}}}content", type="application/cap+xml")
        body = rec.cap_xml.split("?>", 1)[1] if rec.cap_xml.startswith("<?xml") else rec.cap_xml
        content.append(ET.fromstring(body.strip()))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


def sse_event(seq: int, event: str, data: str) -> str:
    """One server-sent event (multi-line data split into ``data:`` lines)."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"id: {seq}\nevent: {event}\n{lines}\n"
