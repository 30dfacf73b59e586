"""Helpers shared by the benchmarks: statistics, backends, topics and a counting consumer."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import socket
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from revline_events.topics import ensure_topics
from revline_testkit import devstack
from revline_testkit.broker import TansuBroker
from revline_testkit.postgres import PostgresError, ThrowawayPostgres

# How long a benchmark waits for an outcome before it gives up (a failure, not a figure).
DEADLINE_S = 120.0
# A whole benchmark is abandoned (its broker and database still stopped) after this long.
BUDGET_S = 600.0

# Consumer settings of every benchmark consumer (DESIGN.md, Broker: short waiting fetches).
BENCH_CONSUMER_SETTINGS: dict[str, Any] = {
    "group_id": None,
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
    "fetch_max_wait_ms": 10,
    "max_partition_fetch_bytes": 4 * 1024 * 1024,
}


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def distribution_ms(seconds: Sequence[float]) -> dict[str, float | int]:
    """p50, p90, p99, max and mean of durations given in seconds, in milliseconds."""
    ms = [s * 1000.0 for s in seconds]
    return {
        "samples": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p90_ms": round(percentile(ms, 90), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2) if ms else math.nan,
        "mean_ms": round(sum(ms) / len(ms), 2) if ms else math.nan,
    }


def rate(count: int, seconds: float) -> float:
    """count / seconds, rounded for the report."""
    return round(count / seconds, 1) if seconds > 0 else math.inf


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator to three decimals."""
    return round(numerator / denominator, 3) if denominator > 0 else math.nan


def free_ports(count: int) -> list[int]:
    """`count` distinct ports nothing listens on now (all bound at once, then released)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set `values` in os.environ (the settings classes read it) and restore it after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


@contextlib.contextmanager
def step_timeout(seconds: float) -> Iterator[None]:
    """Let each of the dev stack's start-up steps take up to `seconds`."""
    saved = devstack.STEP_TIMEOUT_S
    devstack.STEP_TIMEOUT_S = max(saved, seconds)
    try:
        yield
    finally:
        devstack.STEP_TIMEOUT_S = saved


@dataclass
class Backend:
    """One database a benchmark runs on: `name` and a maker of fresh, empty database URLs."""

    name: str
    new_url: Callable[[str], str]


@contextlib.contextmanager
def backends(with_postgres: bool = True) -> Iterator[tuple[list[Backend], dict[str, str]]]:
    """SQLite (files in a temp dir) and, when it starts, a throwaway PostgreSQL.

    Yields the usable backends and the ones skipped with their reason.
    """
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="revline-bench-") as tmp:

        def sqlite_url(name: str) -> str:
            return f"sqlite+aiosqlite:///{Path(tmp) / name}.db"

        found = [Backend("sqlite", sqlite_url)]
        server: ThrowawayPostgres | None = None
        if with_postgres:
            try:
                server = ThrowawayPostgres().start()
                found.append(Backend("postgresql", server.create_database))
            except (PostgresError, OSError, KeyError) as error:
                skipped["postgresql"] = f"{type(error).__name__}: {str(error)[:300]}"
        try:
            yield found, skipped
        finally:
            if server is not None:
                server.stop()


async def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Create `topic` before any client names it (Tansu would auto-create it otherwise)."""
    await ensure_topics(bootstrap, [topic], partitions=partitions, replication_factor=1)


@dataclass
class TopicReader:
    """Reads every partition of one topic from the beginning, outside any group.

    `on_records(records, now)` sees each fetched batch with the time it arrived;
    `count` and `target` let a caller wait until N records have been read.
    """

    bootstrap: str
    topic: str
    partitions: int
    on_records: Callable[[list[ConsumerRecord[bytes, bytes]], float], None] | None = None
    count: int = 0
    target: int | None = None
    reached_at: float | None = None
    _consumer: AIOKafkaConsumer | None = None
    _task: asyncio.Task[None] | None = None
    _reached: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def tps(self) -> list[TopicPartition]:
        """Every partition of the topic."""
        return [TopicPartition(self.topic, p) for p in range(self.partitions)]

    async def start(self) -> None:
        """Start the consumer, assigned to every partition from the beginning, and read on."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, **BENCH_CONSUMER_SETTINGS)
        await consumer.start()
        consumer.assign(self.tps)
        await consumer.seek_to_beginning(*self.tps)
        self._consumer = consumer
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=100, max_records=10_000)
            now = time.perf_counter()
            for records in batches.values():
                self.count += len(records)
                if self.on_records is not None:
                    self.on_records(records, now)
            if self.target is not None and self.count >= self.target and self.reached_at is None:
                self.reached_at = now
                self._reached.set()

    def expect(self, target: int) -> None:
        """Wait for `target` records in total from now on (see `wait`)."""
        self.target = target
        self.reached_at = None
        self._reached.clear()
        if self.count >= target:
            self.reached_at = time.perf_counter()
            self._reached.set()

    async def wait(self, within: float = DEADLINE_S) -> float:
        """perf_counter() time when `target` records had been read; raises at the deadline."""
        waiter = asyncio.ensure_future(self._reached.wait())
        assert self._task is not None
        done, _ = await asyncio.wait(
            {waiter, self._task}, timeout=within, return_when="FIRST_COMPLETED"
        )
        if self._task in done:
            waiter.cancel()
            self._task.result()
            raise RuntimeError(f"reader of {self.topic} stopped")
        if waiter not in done:
            waiter.cancel()
            raise TimeoutError(
                f"{self.topic}: {self.count} of {self.target} records after {within}s"
            )
        assert self.reached_at is not None
        return self.reached_at

    async def caught_up(self) -> bool:
        """True when every partition's position has reached its fetch high watermark."""
        assert self._consumer is not None
        for tp in self.tps:
            high = self._consumer.highwater(tp)
            if high is None or await self._consumer.position(tp) < high:
                return False
        return True

    async def stop(self) -> None:
        """Stop reading and close the consumer."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


async def eventually(probe: Callable[[], Any], what: str, within: float = DEADLINE_S) -> None:
    """Await `probe()` every 20 ms until it is truthy; raise TimeoutError at the deadline."""
    deadline = time.monotonic() + within
    while not await probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {within}s")
        await asyncio.sleep(0.02)


# Five cold service starts at once (imports, migrations) can take over make run's 60 s per
# republish step on this two-core machine under other work: a benchmark allows more.
REPUBLISH_TIMEOUT_S = 240.0


@contextlib.contextmanager
def running_stack(
    var_dir: Path, broker_port: int, services: Sequence[str]
) -> Iterator[devstack.DevStack]:
    """`make run`'s own start (broker, republish, `services` as processes, all ready),
    with os.environ as the settings; everything it started is stopped on exit."""
    options = devstack.Options(var_dir=var_dir, broker_port=broker_port, ready_timeout=60.0)
    stack = devstack.DevStack(options, dict(os.environ))
    try:
        stack.prepare()
        stack.plans = [plan for plan in stack.plans if plan.name in services]
        stack.start_broker()
        with step_timeout(REPUBLISH_TIMEOUT_S):
            stack.republish()
        stack.start_services()
        stack.wait_ready()
        yield stack
    finally:
        stack.stop()


def backend_names(env: str, default: str = "sqlite,postgresql") -> list[str]:
    """The backends a benchmark runs on: `BENCH_<env>_BACKENDS` (e.g. sqlite), else
    `default`."""
    raw = os.environ.get(f"BENCH_{env}_BACKENDS", default)
    return [b.strip() for b in raw.split(",") if b.strip()]


@dataclass(frozen=True)
class Sizing:
    """A benchmark's sizes and backends: under `python -m bench` from the environment
    (`BENCH_<env>_SIZES`, e.g. 1000,10000; `BENCH_<env>_BACKENDS`, e.g. sqlite), else its
    full or quick sizes and its default backends; run alone, from its command line."""

    env: str
    full: tuple[int, ...]
    quick: tuple[int, ...]
    backends: str = "sqlite,postgresql"

    def sizes(self, quick: bool) -> list[int]:
        """The sizes to run, smallest first as given."""
        raw = os.environ.get(f"BENCH_{self.env}_SIZES")
        if raw:
            return [int(s.replace("_", "")) for s in raw.split(",") if s.strip()]
        return list(self.quick if quick else self.full)

    def backend_names(self) -> list[str]:
        """The backends to run on."""
        return backend_names(self.env, self.backends)

    def command_line(
        self, parser: argparse.ArgumentParser, unit: str, argv: list[str] | None = None
    ) -> argparse.Namespace:
        """`parser` with --sizes, --backends and --quick added, parsed; the sizes and
        backends given go to the environment, where `sizes` and `backend_names` read them."""
        parser.add_argument("--sizes", help=f"{unit}, comma separated, e.g. 1000,10000")
        parser.add_argument("--backends", help=f"comma separated (default {self.backends})")
        parser.add_argument("--quick", action="store_true")
        args = parser.parse_args(argv)
        if args.sizes:
            os.environ[f"BENCH_{self.env}_SIZES"] = args.sizes
        if args.backends:
            os.environ[f"BENCH_{self.env}_BACKENDS"] = args.backends
        return args


SizedRun = Callable[["Backend", TansuBroker, int], Awaitable[dict[str, Any]]]


async def per_backend_and_size(
    names: Sequence[str],
    sizes: Sequence[int],
    unit: str,
    one: SizedRun,
    growth: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`one(backend, broker, size)` for every size on each backend named, a broker of its
    own per backend, keyed `<unit>_<size>`; `growth` of them beside them when given, and
    the backends that could not run under `skipped`."""
    figures: dict[str, Any] = {}
    with backends(with_postgres="postgresql" in names) as (found, skipped):
        for backend in found:
            if backend.name not in names:
                continue
            by_size: dict[str, Any] = {}
            with TansuBroker() as broker:
                for size in sizes:
                    by_size[f"{unit}_{size}"] = await one(backend, broker, size)
            figures[backend.name] = (
                by_size if growth is None else {**by_size, "growth": growth(by_size)}
            )
        if skipped:
            figures["skipped"] = skipped
    return figures


async def timed_gets(
    what: str, get: Callable[[int], Awaitable[Any]], requests: int
) -> dict[str, Any]:
    """`get(n)` once untimed (a warm-up), then `requests` times timed, each answer a 200
    read to its end; p50, p90 and max in ms, and the largest response's size."""
    times: list[float] = []
    size = 0
    for n in range(requests + 1):
        started = time.perf_counter()
        response = await get(n)
        body = response.content
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{what}: {response.status_code} {response.text[:300]}")
        if n:
            times.append(elapsed)
            size = max(size, len(body))
    timing = distribution_ms(times)
    return {
        "samples": timing["samples"],
        "p50_ms": timing["p50_ms"],
        "p90_ms": timing["p90_ms"],
        "max_ms": timing["max_ms"],
        "response_bytes": size,
    }
