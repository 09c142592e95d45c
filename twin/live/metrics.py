"""Prometheus metrics of the live service (one registry per service, no globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["LiveMetrics"]

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


class LiveMetrics:
    """The service's counters, gauges and histograms, in their own registry.

    Names start with ``twin_live_``; times are in seconds, as Prometheus expects.
    """

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.readings = Counter(
            "twin_live_readings",
            "Rows received, by outcome (stored, duplicate, rejected).",
            ["outcome"],
            registry=r,
        )
        self.readings_valid = Counter(
            "twin_live_readings_valid",
            "Rows that passed validation, by sensor kind.",
            ["kind"],
            registry=r,
        )
        self.batches = Counter(
            "twin_live_ingest_batches", "Ingested batches by format.", ["format"], registry=r
        )
        self.batch_errors = Counter(
            "twin_live_ingest_batch_errors",
            "Batches refused as a whole, by HTTP status.",
            ["status"],
            registry=r,
        )
        self.ingest_seconds = Histogram(
            "twin_live_ingest_seconds",
            "Time to validate and store a batch.",
            registry=r,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.issues = Counter(
            "twin_live_forecast_issues", "Issue times forecast and decided.", registry=r
        )
        self.issue_errors = Counter(
            "twin_live_forecast_issue_errors", "Issue attempts that failed.", registry=r
        )
        self.issues_skipped = Counter(
            "twin_live_forecast_issues_skipped",
            "Issue times skipped because they were more than max_catchup behind.",
            registry=r,
        )
        self.issue_seconds = Histogram(
            "twin_live_forecast_issue_seconds",
            "Time to forecast, decide and record one issue time.",
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.last_issue = Gauge(
            "twin_live_last_issue_time_seconds",
            "The last issue time recorded [s since the epoch].",
            registry=r,
        )
        self.watermark = Gauge(
            "twin_live_data_watermark_seconds",
            "The newest reading time of a forecast sensor [s since the epoch].",
            registry=r,
        )
        self.alerts = Counter(
            "twin_live_alert_messages",
            "Alert messages recorded, by CAP msgType and level.",
            ["msg_type", "level"],
            registry=r,
        )
        self.deliveries = Counter(
            "twin_live_deliveries",
            "Webhook delivery attempts by subscriber and outcome (delivered, retry, failed).",
            ["subscriber", "outcome"],
            registry=r,
        )
        self.delivery_latency = Histogram(
            "twin_live_delivery_latency_seconds",
            "From the ingest that made an issue time due to the 2xx of its message.",
            registry=r,
            buckets=_LATENCY_BUCKETS,
        )
        self.outbox = Gauge(
            "twin_live_outbox_messages", "Outbox rows by state.", ["state"], registry=r
        )
        self.sse_clients = Gauge(
            "twin_live_sse_clients", "Open server-sent-event streams.", registry=r
        )
        self.auth_failures = Counter(
            "twin_live_auth_failures", "Refused requests by HTTP status.", ["status"], registry=r
        )

        self.radar_frames = Counter(
            "twin_live_radar_frames",
            "Radar frames received, by outcome (stored, duplicate, conflict, expired, rejected).",
            ["outcome"],
            registry=r,
        )
        self.radar_refused = Counter(
            "twin_live_radar_files_refused",
            "Radar or nowcast files refused as a whole, by HTTP status.",
            ["status"],
            registry=r,
        )
        self.radar_seconds = Histogram(
            "twin_live_radar_ingest_seconds",
            "Time to validate and store a radar file.",
            registry=r,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.external_nowcasts = Counter(
            "twin_live_external_nowcasts",
            "External nowcasts received, by outcome (stored, replaced, expired, rejected).",
            ["outcome"],
            registry=r,
        )
        self.rain_source = Counter(
            "twin_live_forecast_rain_source",
            "Issue times by the source of their future rain (persistence, a radar method).",
            ["source"],
            registry=r,
        )

    def render(self) -> bytes:
        """The text exposition format."""
        return bytes(generate_latest(self.registry))
