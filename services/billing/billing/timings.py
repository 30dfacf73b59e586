"""Billing's own Prometheus timings (the kernel's metrics are in revline_events.metrics)."""

from __future__ import annotations

from prometheus_client import Histogram

BILL_RUN_SECONDS = Histogram(
    "revline_bill_run_seconds",
    "Time a worker spent billing a bill run's batches, until the run was complete "
    "(outcome=completed) or only batches another worker holds were left (outcome=shared)",
    ["outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
