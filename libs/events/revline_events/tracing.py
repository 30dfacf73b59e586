"""W3C trace context for the kernel: one tracer per service, and the trace context an
event carries from the write that queued it, through the outbox, to its consumers.

Every span is OpenTelemetry's (API and SDK). A service's tracer comes from a
TracerProvider of its own (`tracer(service)`: the resource names the service, so
five services in one test process still tell their spans apart). Spans are
sampled only while a span processor is attached (`add_span_processor`, or the OTLP
exporter when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
is set); otherwise they are non-recording: they still carry trace and span ids
(propagated in headers, written in logs) and cost no export work at all.
`OTEL_SDK_DISABLED=true` turns tracing off altogether.

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
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import (
    Decision,
    Sampler,
    SamplingResult,
    _get_from_env_or_default,
)
from opentelemetry.trace import Link, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

from revline_events.envelope import Envelope

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
# What the outbox keeps of a tracestate (the column's width); a longer one is dropped.
TRACESTATE_MAX = 512
INSTRUMENTATION = "revline"

_PROPAGATOR = TraceContextTextMapPropagator()


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

    def context(self) -> Context:
        """An OpenTelemetry context whose (remote) span is this one: a parent to start from."""
        carrier = {TRACEPARENT: self.traceparent}
        if self.tracestate:
            carrier[TRACESTATE] = self.tracestate
        return _PROPAGATOR.extract(carrier)


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
    carrier: dict[str, str] = {}
    for key, value in headers or ():
        if key in (TRACEPARENT, TRACESTATE):
            carrier[key] = value.decode("latin-1")
    if TRACEPARENT not in carrier:
        return None
    return _PROPAGATOR.extract(carrier)


def context_from_http(headers: Sequence[tuple[bytes, bytes]]) -> Context | None:
    """The trace context of an HTTP request's `traceparent`/`tracestate`, if it sent one."""
    carrier: dict[str, str] = {}
    for key, value in headers:
        if key in (b"traceparent", b"tracestate"):
            carrier[key.decode()] = value.decode("latin-1")
    if TRACEPARENT not in carrier:
        return None
    return _PROPAGATOR.extract(carrier)


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


class _WhileExporting(Sampler):
    """Samples (by `OTEL_TRACES_SAMPLER`, parent-based always-on by default) while a
    span processor is attached, and records nothing otherwise: the spans still get ids."""

    def __init__(self, sinks: _Sinks) -> None:
        self._sinks = sinks
        self._configured = _get_from_env_or_default()

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        if self._sinks.processors:
            return self._configured.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )
        parent = trace.get_current_span(parent_context).get_span_context()
        return SamplingResult(Decision.DROP, None, parent.trace_state if parent.is_valid else None)

    def get_description(self) -> str:
        return f"WhileExporting{{{self._configured.get_description()}}}"


_SINKS = _Sinks()
_TRACERS: dict[str, Tracer] = {}
_OTLP_CHECKED = False


def tracer(service: str) -> Tracer:
    """The tracer of `service` (one provider per service name, made once)."""
    found = _TRACERS.get(service)
    if found is None:
        _attach_configured_exporter()
        provider = TracerProvider(
            resource=Resource.create({"service.name": service}), sampler=_WhileExporting(_SINKS)
        )
        provider.add_span_processor(_SINKS)
        found = _TRACERS[service] = provider.get_tracer(INSTRUMENTATION)
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


def exporting() -> bool:
    """True while spans are recorded and go somewhere."""
    return bool(_SINKS.processors)


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
