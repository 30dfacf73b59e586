"""Every service's spans, recorded in memory while a test holds them (no exporter, no network).

`RecordedSpans` attaches an in-memory exporter to the kernel's tracing
(revline_events.tracing) for the length of a `with` block: the services served
in-process in the test record their spans there, each with its service's name.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from revline_events.tracing import add_span_processor, remove_span_processor


def service_of(span: ReadableSpan) -> str:
    """The name of the service that recorded `span`."""
    return str(span.resource.attributes.get("service.name", "?"))


def step_of(span: ReadableSpan) -> tuple[str, str]:
    """(service, kind) of a span: ("quote", "SERVER"), ("contract", "CONSUMER"), ..."""
    return service_of(span), span.kind.name


class RecordedSpans:
    """The finished spans of every service while attached (`with RecordedSpans() as spans`)."""

    def __init__(self) -> None:
        self._exporter = InMemorySpanExporter()
        self._processor = SimpleSpanProcessor(self._exporter)

    def __enter__(self) -> Self:
        add_span_processor(self._processor)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        remove_span_processor(self._processor)
        self._exporter.clear()

    def all(self) -> list[ReadableSpan]:
        """Every finished span so far, in the order they ended."""
        return list(self._exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        """The finished spans called `name`, oldest first."""
        found = [s for s in self.all() if s.name == name]
        return sorted(found, key=lambda s: s.start_time or 0)

    def of_trace(self, trace_id: int) -> list[ReadableSpan]:
        """The finished spans of one trace."""
        return [s for s in self.all() if s.context is not None and s.context.trace_id == trace_id]

    def path_to_root(self, span: ReadableSpan) -> list[tuple[str, str]]:
        """(service, kind) of `span`, its parent, its parent's parent, ... up to the root
        of its trace. Raises LookupError when a parent was not recorded (a broken link)."""
        by_id = {s.context.span_id: s for s in self.all() if s.context is not None}
        path = [step_of(span)]
        while span.parent is not None:
            parent = by_id.get(span.parent.span_id)
            if parent is None:
                raise LookupError(f"the parent of {span.name} ({step_of(span)}) was not recorded")
            span = parent
            path.append(step_of(span))
        return path
