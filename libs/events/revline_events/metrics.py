"""Prometheus metrics of the kernel, labelled by service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVENTS_HANDLED = Counter(
    "revline_events_handled_total",
    "Upstream events taken by a consumer, by outcome (applied, duplicate, ignored, dead_lettered)",
    ["service", "topic", "outcome"],
)
EVENTS_APPLIED = Counter(
    "revline_events_applied_total",
    "Upstream events a consumer applied (outcome applied), by event type",
    ["service", "topic", "type"],
)
CONSUMER_LAG = Gauge(
    "revline_consumer_lag",
    "Records on the partition not yet handled (high watermark minus position)",
    ["service", "topic", "partition"],
)
EVENTS_PUBLISHED = Counter(
    "revline_events_published_total", "Events the outbox relay published", ["service", "topic"]
)
OUTBOX_BACKLOG = Gauge(
    "revline_outbox_backlog", "Outbox rows not yet published", ["service"]
)  # fmt: skip
DEAD_LETTERS = Counter(
    "revline_dead_letters_total",
    "Records a consumer set aside on <topic>.dlq, by source topic and reason "
    "(unparseable, unknown_type, invalid_payload, refused)",
    ["service", "topic", "reason"],
)
