"""W3C trace context in the kernel: parsing it, keeping it with the outbox row, publishing it.

The relay test runs on the real broker and both databases; the rest is pure.
"""

from __future__ import annotations

import pytest
from broker_io import reading, relay_running, unique
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from revline_events.consumer import dead_letter_reason
from revline_events.outbox import OutboxRelay
from revline_events.tracing import (
    TraceContext,
    handling_causes,
    parent_context,
    trace_context_for,
    trace_context_of,
    tracer,
)
from revline_testkit.broker import TansuBroker
from revline_testkit.spans import RecordedSpans
from toy import Toy, increment, kernel

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"

TRACEPARENTS = [
    f"00-{TRACE}-{SPAN}-01",
    f"00-{TRACE}-{SPAN}-00",
    f"00-{TRACE}-{SPAN}-03",  # flags unknown today are kept
    f"  00-{TRACE}-{SPAN}-01\t",
    f"01-{TRACE}-{SPAN}-01-future",  # a later version may add fields
    f"00-{TRACE}-{SPAN}-01-extra",  # version 00 may not
    f"ff-{TRACE}-{SPAN}-01",
    f"00-{'0' * 32}-{SPAN}-01",
    f"00-{TRACE}-{'0' * 16}-01",
    f"00-{TRACE.upper()}-{SPAN}-01",
    f"00-{TRACE[:-1]}-{SPAN}-01",
    f"00-{TRACE}-{SPAN}",
    "garbage",
    "",
]


def seen_by(context: object) -> tuple[int, int, int, bool] | None:
    span = trace.get_current_span(context)  # type: ignore[arg-type]
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None
    return ctx.trace_id, ctx.span_id, int(ctx.trace_flags), ctx.is_remote


@pytest.mark.parametrize("traceparent", TRACEPARENTS)
def test_a_traceparent_is_read_as_opentelemetrys_propagator_reads_it(traceparent: str) -> None:
    expected = seen_by(TraceContextTextMapPropagator().extract({"traceparent": traceparent}))
    mine = parent_context(traceparent)
    assert (seen_by(mine) if mine is not None else None) == expected


def test_a_tracestate_travels_with_its_traceparent() -> None:
    context = TraceContext(f"00-{TRACE}-{SPAN}-01", "vendor=abc,other=1").context()
    state = trace.get_current_span(context).get_span_context().trace_state
    assert state.to_header() == "vendor=abc,other=1"


def test_a_span_writes_its_own_trace_context() -> None:
    span = tracer("traced").start_span("work", context=parent_context(f"00-{TRACE}-{SPAN}-01"))
    written = trace_context_of(span)
    assert written is not None
    _, trace_hex, span_hex, flags = written.traceparent.split("-")
    assert (trace_hex, flags) == (TRACE, "01")
    assert span_hex == f"{span.get_span_context().span_id:016x}" != SPAN
    assert trace_context_of(trace.INVALID_SPAN) is None


def test_an_event_takes_its_causes_trace_context_in_a_batch_else_the_current_spans() -> None:
    cause, other = TraceContext(f"00-{TRACE}-{SPAN}-01"), TraceContext(f"00-{TRACE}-{'1' * 16}-01")
    caused = increment("a", 1, version=1, causation_id="ev-cause")
    uncaused = increment("b", 1, version=1)
    assert trace_context_for(caused) is None  # no span, no batch
    current = tracer("traced").start_span("request")
    with trace.use_span(current, end_on_exit=True):
        assert trace_context_for(uncaused) == trace_context_of(current)
        with handling_causes({"ev-cause": cause, "ev-else": other}):
            assert trace_context_for(caused) == cause
            assert trace_context_for(uncaused) == trace_context_of(current)


def test_spans_record_only_while_a_processor_is_attached_and_always_have_ids() -> None:
    quiet = tracer("traced").start_span("unrecorded")
    assert not quiet.is_recording() and quiet.get_span_context().is_valid
    quiet.end()
    with RecordedSpans() as spans:
        loud = tracer("traced").start_span("recorded")
        assert loud.is_recording()
        loud.end()
        assert [s.name for s in spans.all()] == ["recorded"]


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("unparseable envelope: 1 validation error", "unparseable"),
        ("unknown event type 'Nope'", "unknown_type"),
        ("no event 'CounterIncremented' version 9 in the catalogue", "unknown_type"),
        ("payload of CounterIncremented v2 is invalid: by", "invalid_payload"),
        ("IntegrityError: UNIQUE constraint failed", "refused"),
        ("CounterLocked: counter a is locked", "refused"),
    ],
)
def test_a_dead_letter_reason_is_counted_by_its_kind(reason: str, kind: str) -> None:
    assert dead_letter_reason(reason) == kind


@pytest.mark.parametrize("handed_over", [False, True], ids=["read back", "handed over"])
async def test_the_relay_publishes_the_trace_context_of_the_write_that_queued_the_event(
    toy: Toy, tansu: TansuBroker, recorded_spans: RecordedSpans, handed_over: bool
) -> None:
    service = unique("toy")
    relay = OutboxRelay(toy.db, kernel, tansu.bootstrap, service=service)
    # Handed over, the relay publishes the rows its process committed as they are (SQLite);
    # otherwise it reads them back from the outbox.
    toy.after_commit = relay if handed_over else None
    request = tracer("toy-writer").start_span("POST /counters", kind=trace.SpanKind.SERVER)
    async with relay_running(relay), reading(tansu.bootstrap, toy.topic) as reader:
        with trace.use_span(request, end_on_exit=True):
            await toy.record([increment("traced", 1, version=1)], expected_version=0)
        await toy.record([increment("untraced", 1, version=1)], expected_version=0)
        relay.notify()
        records = await reader.until_count(2)
    by_stream = {
        envelope.stream_id: dict(record.headers)
        for record, envelope in zip(records, reader.envelopes(), strict=True)
    }
    assert "traceparent" not in by_stream["counter-untraced"]
    _, trace_hex, span_hex, _ = by_stream["counter-traced"]["traceparent"].decode().split("-")
    [published] = recorded_spans.named(f"publish {toy.topic}")
    assert published.context is not None
    assert trace_hex == f"{request.get_span_context().trace_id:032x}"
    assert span_hex == f"{published.context.span_id:016x}"
    assert recorded_spans.path_to_root(published) == [
        (service, "PRODUCER"),
        ("toy-writer", "SERVER"),
    ]
