"""Predictive alerts: forecast quantiles → decisions → OASIS CAP 1.2 messages.

- :mod:`twin.alerts.lifecycle`: the decision rule (probability thresholds with
  hysteresis, de-duplication) and the Alert / Update / Cancel lifecycle per low point
  and water level; :class:`~twin.alerts.OpenAlert` is its state
  (:meth:`AlertManager.state`, :meth:`AlertManager.restore`), for a service that
  resumes after a restart.
- :mod:`twin.alerts.conventions`: :class:`~twin.alerts.AlertConventions` (the policy's
  ``conventions``): identifiers (the twin's, or GB/T 35965.1 sender code + time +
  sequence number), the blue / yellow / orange / red colour levels and the languages.
- :mod:`twin.alerts.texts`: the words of a message in English and Chinese (zh-CN);
  :mod:`twin.alerts.names`: the low points' Chinese names.
- :mod:`twin.alerts.cap`: CAP 1.2 XML and JSON renderings (one ``info`` block per
  language), validated against the official schema shipped in
  ``data/standards/CAP-v1.2.xsd``.
"""

from __future__ import annotations

from twin.alerts.cap import cap_json, cap_xml, validate_cap
from twin.alerts.conventions import AlertConventions, ColorRule
from twin.alerts.errors import AlertError
from twin.alerts.lifecycle import (
    AlertManager,
    AlertMessage,
    AlertPoints,
    AlertPolicy,
    OpenAlert,
)

__all__ = [
    "AlertConventions",
    "AlertError",
    "AlertManager",
    "AlertMessage",
    "AlertPoints",
    "AlertPolicy",
    "ColorRule",
    "OpenAlert",
    "cap_json",
    "cap_xml",
    "validate_cap",
]
