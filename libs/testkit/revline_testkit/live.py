"""Run a service for tests over real HTTP: in-process (uvicorn on a free port) or as a process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from revline_events.envelope import Envelope
from revline_service.cli import KEEP_ALIVE_S
from revline_service.service import Runtime


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _loopback_listener(port: int) -> socket.socket:
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on connections whose
    # socket says TCP, and without it a response's body waits for the client's delayed ACK
    # of its headers on a kept-alive connection (about 40 ms a request on Linux).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


@dataclass
class LiveService:
    """A service answering on a real socket, with a client bound to its base URL."""

    base_url: str
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def runtime(self) -> Runtime:
        """The service's live Runtime (database, relay, consumer)."""
        runtime: Runtime = self.app.state.runtime
        return runtime


async def stored_events(service: LiveService, stream_id: str) -> list[Envelope]:
    """The events of one stream in the service's own event store, in version order."""
    runtime = service.runtime
    async with runtime.db.session() as session:
        return await runtime.store.read_stream(session, stream_id)


class TopicReader:
    """Reads a topic from its beginning, for tests that check what was published.

    No consumer group: every partition is read from offset 0, and nothing is
    committed, so readers never disturb each other or the services. Records that
    are no envelope (poison other tests put on a shared topic) are passed over
    and counted in `skipped`.
    """

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.envelopes: list[Envelope] = []
        self.keys: dict[str, bytes | None] = {}  # record key by event_id
        self.skipped = 0  # records that were no envelope
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=10,
        )

    async def __aenter__(self) -> Self:
        await self._consumer.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._consumer.stop()

    async def read_until(
        self, outcome: Callable[[list[Envelope]], bool], *, within: float = 15.0
    ) -> list[Envelope]:
        """Read on until `outcome(everything read so far)` holds; fail at the deadline."""
        deadline = time.monotonic() + within
        while not outcome(self.envelopes):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.topic}: outcome not reached within {within}s "
                    f"after {len(self.envelopes)} events"
                )
            batches = await self._consumer.getmany(timeout_ms=50)
            for records in batches.values():
                for record in records:
                    try:
                        envelope = Envelope.from_bytes(record.value)
                    except ValueError:  # pydantic's ValidationError is one
                        # Another test's poison on a shared topic (the DLQ tests
                        # put such bytes there on purpose): not an event to read.
                        self.skipped += 1
                        continue
                    self.envelopes.append(envelope)
                    self.keys[envelope.event_id] = record.key
        return self.envelopes

    def of_stream(self, stream_id: str) -> list[Envelope]:
        """The events read so far of one stream, in the order they were read."""
        return [e for e in self.envelopes if e.stream_id == stream_id]


@asynccontextmanager
async def serve_in_process(
    app: FastAPI, *, ready_within: float = 30.0
) -> AsyncIterator[LiveService]:
    """Serve `app` with uvicorn on a free loopback port; yields once /readyz says ready.

    The socket is bound here and handed to uvicorn, so no other process (a parallel
    test worker, say) can take the port between choosing it and listening on it.
    """
    sock = _loopback_listener(0)
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_S,  # as `serve` runs it: the client closes idle ones
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(
            base_url=base_url, timeout=30.0, verify=client_tls()
        ) as client:
            try:
                await _wait_ready(client, task, ready_within)
                yield LiveService(base_url=base_url, app=app, client=client)
            finally:
                server.should_exit = True
                await asyncio.wait_for(task, 30)
    finally:
        sock.close()


@cache
def client_tls() -> ssl.SSLContext:
    """One TLS context for every test client. httpx builds one per client otherwise, loading
    the CA bundle each time (~20 ms of CPU, a few percent of a test worker's time); the
    services under test answer plain HTTP on loopback, so it is never used for a handshake."""
    return ssl.create_default_context()


async def _wait_ready(
    client: httpx.AsyncClient, task: asyncio.Task[None] | None, within: float
) -> None:
    deadline = time.monotonic() + within
    last = "no answer"
    while time.monotonic() < deadline:
        if task is not None and task.done():
            task.result()
            raise RuntimeError("the server stopped before it was ready")
        try:
            response = await client.get("/readyz")
            if response.status_code == 200:
                return
            last = response.text
        except httpx.TransportError as error:
            last = repr(error)
        await asyncio.sleep(0.05)
    raise TimeoutError(f"service not ready within {within}s: {last}")


class ServiceProcess:
    """`python -m <service> serve` as a child process, which a test may kill outright."""

    def __init__(self, service: str, env: Mapping[str, str], *, log_path: Path) -> None:
        self.service = service
        # The port is bound here and the bound socket handed to the child (`serve --fd`):
        # a port only chosen here could be taken by a parallel test before the child binds
        # it, and the test would then talk to somebody else's service.
        self._listener: socket.socket | None = _loopback_listener(
            int(env.get(f"{service.upper()}_PORT") or 0)
        )
        self.port: int = self._listener.getsockname()[1]
        self.env = {**os.environ, **env, f"{service.upper()}_PORT": str(self.port)}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """Where the service answers."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The child's command line, before `--fd N`."""
        return [sys.executable, "-m", self.service, "serve"]

    def start(self) -> None:
        """Spawn the process (returns at once; see wait_ready).

        The child owns the listening socket from here on: this process closes its copy, so
        once the child dies its port refuses connections, as a crashed service's would.
        """
        listener = self._listener or _loopback_listener(self.port)
        self._listener = None
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [*self.command(), "--fd", str(listener.fileno())],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(),),
            )
        finally:
            log.close()
            listener.close()

    async def wait_ready(self, within: float = 30.0) -> None:
        """Return when /readyz answers 200; raise with the log tail otherwise."""
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=5.0, verify=client_tls()
        ) as client:
            try:
                await _wait_ready(client, None, within)
            except TimeoutError as error:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise TimeoutError(f"{error}\n--- {self.service} log ---\n{tail}") from None

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no offset commits (a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait (graceful shutdown), then SIGKILL if it hangs."""
        if self._listener is not None:  # never started
            self._listener.close()
            self._listener = None
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()


# Fixed keys for tests, one per role (REVLINE_API_KEYS form via `api_keys_setting()`).
TEST_KEYS = {"admin": "k-admin", "sales": "k-sales", "ops": "k-ops", "finance": "k-finance"}


def api_keys_setting() -> str:
    """The `key:role,...` setting that admits TEST_KEYS."""
    return ",".join(f"{key}:{role}" for role, key in TEST_KEYS.items())


def auth(role: str) -> dict[str, str]:
    """The Authorization header of the test key with `role`."""
    return {"Authorization": f"Bearer {TEST_KEYS[role]}"}
