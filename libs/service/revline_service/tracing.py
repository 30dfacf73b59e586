"""A server span for each HTTP request, continuing the caller's W3C trace context.

Plain ASGI, like the latency middleware: the span is current while the app
handles the request, so the events a command records carry its trace context to
the outbox (revline_events.tracing) and its log lines carry the trace id (logs.py).
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Status, StatusCode
from revline_events.tracing import context_from_http, tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Where the request's span waits in the ASGI scope, for the 500 handler: Starlette runs it
# outside every middleware (ServerErrorMiddleware), after this one has left the span.
SCOPE_KEY = "revline.span"


def request_span(scope: Scope) -> Span:
    """The server span of the request of `scope` (an invalid span when there is none)."""
    span = scope.get(SCOPE_KEY)
    return span if isinstance(span, Span) else INVALID_SPAN


class TracingMiddleware:
    """Starts a SERVER span per request, a child of the request's `traceparent` if any,
    named `METHOD /route/{template}` once the router has matched the route."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self._tracer = tracer(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        span = self._tracer.start_span(
            method,
            context=context_from_http(scope.get("headers") or ()),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        )
        scope[SCOPE_KEY] = span
        status = 0

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with trace.use_span(span, end_on_exit=True):
            try:
                await self.app(scope, receive, noting_status)
            finally:
                # The router put the matched route into this same scope.
                route = getattr(scope.get("route"), "path", None)
                if route is not None:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                if status:
                    span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
