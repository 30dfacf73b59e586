"""JSON log lines written during a request carry that request's trace and span ids.

A small app with the chassis's own pieces (the tracing and correlation
middlewares, the problem handlers, the JSON formatter), served over real HTTP:
a line the route writes, and the line of an unhandled error (written by the 500
handler, which Starlette runs outside every middleware), each name the request's
trace: the caller's when it sent a `traceparent`, else the server span's own.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from revline_service.logs import CorrelationMiddleware, JsonFormatter
from revline_service.problems import install_problem_handlers
from revline_service.tracing import TracingMiddleware
from revline_testkit.live import LiveService, serve_in_process
from revline_testkit.spans import RecordedSpans

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"

noted = logging.getLogger("traced.app")


def traced_app() -> FastAPI:
    """Routes that log, wired like create_app wires a service."""
    app = FastAPI()
    install_problem_handlers(app, {})

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/note")
    async def note() -> dict[str, str]:
        noted.warning("a line written while answering")
        return {"status": "noted"}

    @app.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("a bug")

    app.add_middleware(CorrelationMiddleware)
    app.add_middleware(TracingMiddleware, service="traced")
    return app


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log line, as the service writes it (JSON), while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("traced"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


@pytest.fixture
async def served() -> AsyncIterator[LiveService]:
    async with serve_in_process(traced_app()) as service:
        yield service


def lines_saying(stream: io.StringIO, words: str) -> list[dict[str, Any]]:
    found = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    return [entry for entry in found if words in entry["msg"]]


async def test_a_line_written_during_a_request_carries_the_callers_trace_id(
    served: LiveService, log_lines: io.StringIO, recorded_spans: RecordedSpans
) -> None:
    answer = await served.client.get("/note", headers={"traceparent": TRACEPARENT})
    assert answer.status_code == 200
    [line] = lines_saying(log_lines, "a line written while answering")
    [span] = recorded_spans.named("GET /note")
    assert span.context is not None and span.parent is not None
    assert line["trace_id"] == CALLER_TRACE == f"{span.context.trace_id:032x}"
    assert line["span_id"] == f"{span.context.span_id:016x}"  # the server span, a child
    assert f"{span.parent.span_id:016x}" == CALLER_SPAN


async def test_a_request_without_traceparent_starts_a_trace_its_lines_carry(
    served: LiveService, log_lines: io.StringIO, recorded_spans: RecordedSpans
) -> None:
    assert (await served.client.get("/note")).status_code == 200
    [line] = lines_saying(log_lines, "a line written while answering")
    [span] = recorded_spans.named("GET /note")
    assert span.context is not None and span.parent is None
    assert (line["trace_id"], line["span_id"]) == (
        f"{span.context.trace_id:032x}",
        f"{span.context.span_id:016x}",
    )


async def test_the_unhandled_error_line_carries_the_trace_id_of_the_failed_request(
    served: LiveService, log_lines: io.StringIO, recorded_spans: RecordedSpans
) -> None:
    answer = await served.client.get("/boom", headers={"traceparent": TRACEPARENT})
    assert answer.status_code == 500
    [line] = lines_saying(log_lines, "unhandled error on GET /boom")
    assert line["trace_id"] == CALLER_TRACE and "RuntimeError: a bug" in line["exc"]
    [span] = recorded_spans.named("GET /boom")
    assert span.context is not None and line["span_id"] == f"{span.context.span_id:016x}"
    assert not span.status.is_ok


def test_a_line_outside_any_span_has_no_trace_id(log_lines: io.StringIO) -> None:
    noted.warning("a line written at start-up")
    [line] = lines_saying(log_lines, "a line written at start-up")
    assert "trace_id" not in line and "span_id" not in line
