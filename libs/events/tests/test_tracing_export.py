"""The OTLP exporter runs only when the standard environment names an endpoint.

Each case is a fresh Python process (the exporter is set up once per process),
and the endpoint is a real HTTP server on loopback that records what it is sent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

# A span started, ended and flushed, as a service does it; then whether the exporter's
# module was ever imported.
SCRIPT = """
import sys
from opentelemetry.trace import SpanKind
from revline_events.tracing import force_flush, tracer
span = tracer("exporting").start_span("publish toy.events", kind=SpanKind.PRODUCER)
recording = span.is_recording()
span.end()
assert force_flush(10000)
print("otlp imported" if "opentelemetry.exporter.otlp.proto.http" in sys.modules else "no otlp")
print("recording" if recording else "not recording")
"""

Received = list[tuple[str, str, bytes]]


@pytest.fixture
def collector() -> Iterator[tuple[str, Received]]:
    """An OTLP/HTTP endpoint on loopback: its URL and the (path, content type, body) it got."""
    received: Received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append((self.path, self.headers.get("Content-Type", ""), body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def run(env: dict[str, str]) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\n")[:2]


def test_spans_go_over_otlp_http_when_an_endpoint_is_set(
    collector: tuple[str, Received],
) -> None:
    url, received = collector
    assert run({"OTEL_EXPORTER_OTLP_ENDPOINT": url}) == ["otlp imported", "recording"]
    [(path, content_type, body)] = received
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    assert b"publish toy.events" in body and b"exporting" in body  # span name, service.name


def test_without_an_endpoint_nothing_is_exported_or_even_imported(
    collector: tuple[str, Received],
) -> None:
    _, received = collector
    assert run({}) == ["no otlp", "not recording"]
    assert run({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}) == [
        "no otlp",
        "not recording",
    ]
    assert received == []
