"""The ledger's own Prometheus timings (the kernel's metrics are in revline_events.metrics;
ledger.metrics is the RevOps metrics domain, not these)."""

from __future__ import annotations

from prometheus_client import Histogram

POSTING_SECONDS = Histogram(
    "revline_ledger_posting_seconds",
    "Time to apply one fact to its book and record it with the journal entries and "
    "applications it posted, by fact (InvoiceBooked, PaymentReceived, ...)",
    ["fact"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
