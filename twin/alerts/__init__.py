"""Predictive alerts: forecast quantiles → decisions → OASIS CAP 1.2 messages.

- :mod:`twin.alerts.lifecycle`: the decision rule (probability thresholds with
  hysteresis, de-duplication) and the Alert / Update / Cancel lifecycle per low point
  and water level; :class:`~twin.alerts.OpenAlert` is its state
  (:meth:`AlertManager.state`, :meth:`AlertManager.restore`), for a service that
  resumes after a restart.
- :mod:`twin.alerts.cap`: CAP 1.2 XML and JSON renderings, validated against the
  official schema shipped in ``data/standards/CAP-v1.2.xsd``.
"""

from __future__ import annotations

from twin.alerts.cap import cap_json, cap_xml, validate_cap
from twin.alerts.errors import AlertError
from twin.alerts.lifecycle import (
    AlertManager,
    AlertMessage,
    AlertPoints,
    AlertPolicy,
    OpenAlert,
)

__all__ = [
    "AlertError",
    "AlertManager",
    "AlertMessage",
    "AlertPoints",
    "AlertPolicy",
    "OpenAlert",
    "cap_json",
    "cap_xml",
    "validate_cap",
]
