"""W3C trace context for the kernel: one tracer per service, and the trace context an
event carries from the write that queued it, through the outbox, to its consumers.

Every span is OpenTelemetry's (API and SDK). A service's tracer comes from a
TracerProvider of its own (`tracer(service)`: the resource names the service, so
five services in one test process still tell their spans apart). Spans are
recorded only while a span processor is attached (`add_span_processor`, or the
OTLP exporter when `OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set); otherwise they are non-recording
spans that still carry trace and span ids (propagated in headers, written in
logs) and cost no SDK or export work at all. `OTEL_SDK_DISABLED=true` turns
tracing off altogether.

Events are written to the outbox in the transaction of the request or handler
that decided them and published later, so the trace context of that moment is
stored with the outbox row (`trace_context_for`) and the relay's producer span
takes it as its parent. In a consumer batch, an event recorded with a cause
takes the trace context of its cause's consumer span (`handling_causes`).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes

from revline_events.envelope import Envelope

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
# What the outbox keeps of a tracestate (the column's width); a longer one is dropped.
TRACESTATE_MAX = 512
INSTRUMENTATION = "revline"

# W3C's traceparent, as OpenTelemetry's propagator matches it.
_TRACEPARENT = re.compile(
    r"^[ \t]*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?[ \t]*$"
)


@dataclass(frozen=True)
class TraceContext:
    """A span's W3C trace context as it travels: `traceparent` and `tracestate`."""

    traceparent: str
    tracestate: str | None = None

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka record headers carrying this context."""
        found = [(TRACEPARENT, self.traceparent.encode())]
        if self.tracestate:
            found.append((TRACESTATE, self.tracestate.encode()))
        return found

    def context(self) -> Context | None:
        """An OpenTelemetry context whose (remote) span is this one, a parent to start
        from; None when the traceparent is not a valid one."""
        return parent_context(self.traceparent, self.tracestate)


def parent_context(traceparent: str, tracestate: str | None = None) -> Context | None:
    """The context of a remote parent span from W3C `traceparent`/`tracestate` values, as
    OpenTelemetry's propagator reads them (the same rules, at a fifth of its cost: it ran
    twice per event); None when `traceparent` is not valid."""
    found = _TRACEPARENT.match(traceparent)
    if found is None:
        return None
    version, trace_hex, span_hex, flags_hex, rest = found.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if trace_id == 0 or span_id == 0:
        return None
    flags = int(flags_hex, 16)
    state = trace.TraceState.from_header([tracestate]) if tracestate else None
    span = trace.NonRecordingSpan(
        trace.SpanContext(
            trace_id, span_id, is_remote=True, trace_flags=trace.TraceFlags(flags),
            trace_state=state,
        )
    )  # fmt: skip
    return trace.set_span_in_context(span)


def trace_context_of(span: trace.Span) -> TraceContext | None:
    """The W3C trace context of `span`, or None when it has none (no span, tracing off)."""
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None
    parent = f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"
    state = ctx.trace_state.to_header() if ctx.trace_state else None
    if state is not None and len(state) > TRACESTATE_MAX:
        state = None
    return TraceContext(parent, state or None)


def current_trace_context() -> TraceContext | None:
    """The trace context of the current span (the request's, the handled event's)."""
    return trace_context_of(trace.get_current_span())


def context_from_headers(headers: Sequence[tuple[str, bytes]] | None) -> Context | None:
    """The trace context a Kafka record carries, as a parent context; None without one."""
    parent = state = None
    for key, value in headers or ():
        if key == TRACEPARENT:
            parent = value.decode("latin-1")
        elif key == TRACESTATE:
            state = value.decode("latin-1")
    return parent_context(parent, state) if parent else None


def context_from_http(headers: Sequence[tuple[bytes, bytes]]) -> Context | None:
    """The trace context of an HTTP request's `traceparent`/`tracestate`, if it sent one
    (several `tracestate` headers are joined, as W3C allows)."""
    parent: str | None = None
    states: list[str] = []
    for key, value in headers:
        if key == b"traceparent":
            parent = value.decode("latin-1")
        elif key == b"tracestate":
            states.append(value.decode("latin-1"))
    return parent_context(parent, ",".join(states) or None) if parent else None


# The trace context of each cause (an upstream event id) handled in this batch.
_CAUSES: contextvars.ContextVar[Mapping[str, TraceContext] | None] = contextvars.ContextVar(
    "revline_trace_causes", default=None
)


@contextlib.contextmanager
def handling_causes(causes: Mapping[str, TraceContext]) -> Iterator[None]:
    """While in the block, events recorded with one of `causes` (by event id) as their
    cause take that cause's trace context (a consumer batch: one span per event)."""
    token = _CAUSES.set(causes)
    try:
        yield
    finally:
        _CAUSES.reset(token)


def trace_context_for(envelope: Envelope) -> TraceContext | None:
    """The trace context to store with `envelope`'s outbox row: its cause's consumer span
    when a batch handles the cause, else the current span's."""
    causes = _CAUSES.get()
    if causes is not None and envelope.causation_id is not None:
        found = causes.get(envelope.causation_id)
        if found is not None:
            return found
    return current_trace_context()


class _Sinks(SpanProcessor):
    """The span processors attached now, shared by every service's provider."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.processors: tuple[SpanProcessor, ...] = ()

    def add(self, processor: SpanProcessor) -> None:
        with self._lock:
            self.processors = (*self.processors, processor)

    def remove(self, processor: SpanProcessor) -> None:
        with self._lock:
            self.processors = tuple(p for p in self.processors if p is not processor)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for processor in self.processors:
            processor.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for processor in self.processors:
            processor.on_end(span)

    def shutdown(self) -> None:
        for processor in self.processors:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(p.force_flush(timeout_millis) for p in self.processors)


class ServiceTracer:
    """Starts a service's spans: the SDK's while a span processor is attached; otherwise
    spans that record nothing but still get ids, and take their parent's trace id, flags
    and state (or start a trace, sampled, as the SDK's default sampler would), so what
    travels in headers and logs does not depend on whether this process exports spans.
    With tracing disabled, every span is the invalid one (no ids at all)."""

    def __init__(self, sdk: trace.Tracer, *, disabled: bool = False) -> None:
        self._sdk = sdk
        self._ids = RandomIdGenerator()
        self._disabled = disabled

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        """A new span, a child of the span in `context` (the current one when None)."""
        if self._disabled:
            return trace.INVALID_SPAN
        if _SINKS.processors:
            return self._sdk.start_span(
                name, context, kind, attributes, links, start_time, record_exception,
                set_status_on_exception,
            )  # fmt: skip
        parent = trace.get_current_span(context).get_span_context()
        if parent.is_valid:
            trace_id, flags, state = parent.trace_id, parent.trace_flags, parent.trace_state
        else:
            trace_id = self._ids.generate_trace_id()
            flags, state = trace.TraceFlags(trace.TraceFlags.SAMPLED), trace.TraceState()
        span_id = self._ids.generate_span_id()
        return trace.NonRecordingSpan(
            trace.SpanContext(trace_id, span_id, False, trace_flags=flags, trace_state=state)
        )


_SINKS = _Sinks()
_TRACERS: dict[str, ServiceTracer] = {}
_OTLP_CHECKED = False


def tracer(service: str) -> ServiceTracer:
    """The tracer of `service` (one provider per service name, made once)."""
    found = _TRACERS.get(service)
    if found is None:
        if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            found = _TRACERS[service] = ServiceTracer(trace.NoOpTracer(), disabled=True)
            return found
        _attach_configured_exporter()
        # The sampler is the SDK's default: OTEL_TRACES_SAMPLER, else parent-based always-on.
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(_SINKS)
        found = _TRACERS[service] = ServiceTracer(provider.get_tracer(INSTRUMENTATION))
    return found


def add_span_processor(processor: SpanProcessor) -> None:
    """Send every service's spans to `processor` too (tests: an in-memory exporter)."""
    _SINKS.add(processor)


def remove_span_processor(processor: SpanProcessor) -> None:
    """Stop sending spans to `processor` (it is not shut down)."""
    _SINKS.remove(processor)


def force_flush(timeout_millis: int = 5000) -> bool:
    """Export the spans the attached processors hold (at shutdown)."""
    return _SINKS.force_flush(timeout_millis)


def _attach_configured_exporter() -> None:
    """The OTLP (HTTP/protobuf) exporter, once per process, when the standard environment
    variables name an endpoint; nothing is imported or started otherwise."""
    global _OTLP_CHECKED
    if _OTLP_CHECKED:
        return
    _OTLP_CHECKED = True
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not endpoint or os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip() == "none":
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # The exporter reads its endpoint, headers, timeout and compression from the
    # standard OTEL_EXPORTER_OTLP_* variables itself.
    _SINKS.add(BatchSpanProcessor(OTLPSpanExporter()))
    log.info("tracing: exporting spans over OTLP/HTTP to %s", endpoint)
