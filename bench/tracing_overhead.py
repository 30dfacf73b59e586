"""The CPU that tracing adds to one hop, with no exporter and with spans recorded.

One hop's tracing work, as the kernel does it for an event: the consumer reads
the record's `traceparent`, opens its span, hands its context to what the
handler records (`handling_causes`, `trace_context_for`: the outbox row's trace
context), ends it; the relay opens a producer span from the stored context,
writes the record's headers and ends it. Measured in this process's CPU time,
first as it runs by default (no exporter: non-recording spans, ids only), then
with every span recorded by an in-memory exporter (what an attached OTLP
exporter's processor pays before its background export). A hop costs the
services about 11 to 17 ms of CPU per quote each (hop_latency's
`hot_cpu_ms_per_quote`); `share_of_11ms_hop` puts the figure against that.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from revline_events.catalogue import Catalogue, EventPayload, make_envelope
from revline_events.clock import SystemClock
from revline_events.tracing import (
    TraceContext,
    context_from_headers,
    handling_causes,
    trace_context_for,
    trace_context_of,
    tracer,
)
from revline_testkit.spans import RecordedSpans

NAME = "tracing_overhead"
FULL = {"hops": 20_000}
QUICK = {"hops": 5_000}
HOP_CPU_MS = 11.0
INCOMING = [
    ("type", b"ContractActivated"),
    ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
]


@Catalogue().register("Tick")
class Tick(EventPayload):
    """A stand-in payload: what the handler records in reaction."""

    n: int


def _hop(consumer: Any, relay: Any, caused: Any) -> None:
    span = consumer.start_span(
        "process contract.events",
        context=context_from_headers(INCOMING),
        kind=SpanKind.CONSUMER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": "contract.events",
                    "messaging.message.id": "ev-cause", "revline.event_type": "ContractActivated"},
    )  # fmt: skip
    context = trace_context_of(span)
    causes = {"ev-cause": context} if context is not None else {}
    with handling_causes(causes), trace.use_span(span):
        stored: TraceContext | None = trace_context_for(caused)
    span.end()
    published = relay.start_span(
        "publish order.events",
        context=stored.context() if stored is not None else None,
        kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": "order.events",
                    "messaging.message.id": caused.event_id, "revline.event_type": caused.type},
    )  # fmt: skip
    headers = [("type", caused.type.encode())]
    if (sent := trace_context_of(published)) is not None:
        headers.extend(sent.headers())
    published.end()


def _cpu_us_per_hop(hops: int) -> float:
    consumer, relay = tracer("bench-order"), tracer("bench-order-relay")
    caused = make_envelope(
        Tick(n=1), stream_id="tick-1", stream_version=1, account_id="acme",
        producer="bench", clock=SystemClock(), causation_id="ev-cause",
    )  # fmt: skip
    for _ in range(min(hops, 1000)):  # warm up
        _hop(consumer, relay, caused)
    started = time.process_time()
    for _ in range(hops):
        _hop(consumer, relay, caused)
    return (time.process_time() - started) / hops * 1e6


def run(quick: bool) -> dict[str, Any]:
    """CPU µs per hop without an exporter and with spans recorded."""
    hops = (QUICK if quick else FULL)["hops"]
    quiet = _cpu_us_per_hop(hops)
    with RecordedSpans():
        recorded = _cpu_us_per_hop(hops)
    return {
        "hops": hops,
        "cpu_us_per_hop_no_exporter": round(quiet, 1),
        "cpu_us_per_hop_recorded": round(recorded, 1),
        "share_of_11ms_hop_no_exporter": round(quiet / (HOP_CPU_MS * 1000), 5),
        "share_of_11ms_hop_recorded": round(recorded / (HOP_CPU_MS * 1000), 5),
    }


def summary(result: dict[str, Any]) -> list[str]:
    """Readable lines for the console."""
    return [
        f"tracing CPU per hop, no exporter: {result['cpu_us_per_hop_no_exporter']} µs "
        f"({result['share_of_11ms_hop_no_exporter']:.2%} of 11 ms)",
        f"tracing CPU per hop, spans recorded: {result['cpu_us_per_hop_recorded']} µs "
        f"({result['share_of_11ms_hop_recorded']:.2%} of 11 ms)",
    ]
