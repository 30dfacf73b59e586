"""Kernel throughput: events through UnitOfWork.append, then the OutboxRelay to Tansu.

For each backend (SQLite, PostgreSQL) and batch size (events per transaction)
a fresh database gets N events, one stream per transaction, appended through
the real UnitOfWork (event store + outbox + a trivial projection) while the
real OutboxRelay runs beside it. A reader outside any group counts the
records on the topic, so the end-to-end figure stops when all N are on the
broker and readable. Beside it, measured in the same run on the same broker
and database server: plain executemany inserts of the same rows into a table
without constraints, and aiokafka send() + flush() of records of the same
size. The kernel/raw ratios are the figures to watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from revline_events.catalogue import Catalogue, EventPayload, make_envelope
from revline_events.clock import SystemClock
from revline_events.database import Database
from revline_events.envelope import Envelope
from revline_events.event_store import EventStore
from revline_events.kafka import new_producer
from revline_events.outbox import OutboxRelay
from revline_events.tables import KernelTables
from revline_events.unit_of_work import UnitOfWork
from revline_testkit.broker import TansuBroker
from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from bench.common import (
    BUDGET_S,
    Backend,
    TopicReader,
    backends,
    create_topic,
    rate,
    ratio,
)

NAME = "kernel_append_publish"
PARTITIONS = 3  # the services' default topic_partitions
ACCOUNTS = 16  # events are keyed by account id: spread them over the partitions
RELAY_BATCH = 1000  # OutboxRelay's default batch_size

# Events per run, by batch size (events per transaction).
FULL_EVENTS = {1: 2000, 10: 5000, 100: 10000}
QUICK_EVENTS = {1: 400, 10: 1000, 100: 2000}

# A catalogue of its own, so the toy event never leaks into the services' catalogue.
BENCH_CATALOGUE = Catalogue()


@BENCH_CATALOGUE.register("BenchThingCounted", 1)
class BenchThingCounted(EventPayload):
    """A toy fact: a thing was counted."""

    thing: str
    n: int
    note: str


def _tables() -> tuple[MetaData, KernelTables, Table, Table]:
    metadata = MetaData()
    kernel = KernelTables(metadata)
    projection = Table(
        "bench_things",
        metadata,
        Column("stream_id", String(200), primary_key=True),
        Column("thing", String(64), nullable=False),
        Column("last_n", Integer, nullable=False),
        Column("version", Integer, nullable=False),
    )
    # The event store's columns without its unique constraints: the raw baseline.
    raw = Table(
        "raw_events",
        metadata,
        *[
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in kernel.event_store.columns
        ],
    )
    return metadata, kernel, projection, raw


async def _no_projection(session: AsyncSession, envelope: Envelope, event: EventPayload) -> None:
    """The breakdown run's projector: nothing but the catalogue parse the kernel does anyway."""


def _projector(projection: Table) -> Any:
    async def project(session: AsyncSession, envelope: Envelope, event: EventPayload) -> None:
        assert isinstance(event, BenchThingCounted)
        if envelope.stream_version == 1:
            await session.execute(
                insert(projection).values(
                    stream_id=envelope.stream_id, thing=event.thing, last_n=event.n, version=1
                )
            )
        else:
            await session.execute(
                projection.update()
                .where(projection.c.stream_id == envelope.stream_id)
                .values(last_n=event.n, version=envelope.stream_version)
            )

    return project


def _batches(run: str, events: int, batch: int) -> list[list[Envelope]]:
    """events / batch transactions, each the first `batch` events of a new stream."""
    clock = SystemClock()
    out: list[list[Envelope]] = []
    for tx in range(events // batch):
        stream = f"{run}-{tx:06d}"
        account = f"acct-{tx % ACCOUNTS:02d}"
        out.append(
            [
                make_envelope(
                    BenchThingCounted(thing=stream, n=v, note="x" * 64),
                    stream_id=stream,
                    stream_version=v,
                    account_id=account,
                    producer="bench",
                    clock=clock,
                )
                for v in range(1, batch + 1)
            ]
        )
    return out


def _row(envelope: Envelope, topic: str) -> dict[str, Any]:
    """The event_store row of `envelope`, built as EventStore builds it."""
    return {**envelope.model_dump(mode="python"), "topic": topic, "payload": envelope.payload}


@dataclass
class Kernel:
    """One fresh database with the kernel tables, the bench projection and the raw table."""

    db: Database
    kernel: KernelTables
    projection: Table
    raw: Table
    store: EventStore
    project: bool = True

    @classmethod
    async def create(cls, url: str, topic: str) -> Kernel:
        metadata, kernel, projection, raw = _tables()
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        return cls(db, kernel, projection, raw, EventStore(kernel, topic))

    def uow(self, relay: OutboxRelay | None) -> UnitOfWork:
        return UnitOfWork(
            self.db,
            self.kernel,
            self.store,
            _projector(self.projection) if self.project else _no_projection,
            producer="bench",
            clock=SystemClock(),
            after_commit=relay,
            catalogue=BENCH_CATALOGUE,
        )

    async def append(self, batches: list[list[Envelope]], relay: OutboxRelay | None) -> None:
        for batch in batches:
            async with self.uow(relay) as uow:
                await uow.append(batch, expected_version=0)
                await uow.commit()


async def _stop_relay(relay: OutboxRelay, task: asyncio.Task[None]) -> None:
    """Cancel the relay once it idles, so the cancel never lands inside a database call.

    (A cancel inside SQLAlchemy's connection reset loses the pooled connection:
    see bench/README.md, Findings.)
    """
    if not task.done():
        with contextlib.suppress(Exception):
            for _ in range(500):
                if await relay.backlog() == 0:
                    break
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # let it finish its empty poll and wait for a wake-up
    task.cancel()
    await asyncio.wait({task}, timeout=15)


async def _fresh_kernel(backend: Backend, bootstrap: str, label: str) -> Kernel:
    topic = f"bench.kernel.{label}"
    await create_topic(bootstrap, topic, PARTITIONS)
    url = await asyncio.to_thread(backend.new_url, label.replace(".", "_").replace("-", "_"))
    return await Kernel.create(url, topic)


async def _raw_inserts(k: Kernel, batches: list[list[Envelope]]) -> float:
    """Rows per second: the same rows, executemany into a table without constraints."""
    raw_rows = [[_row(e, k.store.topic) for e in b] for b in batches]
    started = time.perf_counter()
    for rows in raw_rows:
        async with k.db.session() as session, session.begin():
            await session.execute(insert(k.raw), rows)
    return rate(sum(len(rows) for rows in raw_rows), time.perf_counter() - started)


async def _kernel_run(
    backend: Backend,
    bootstrap: str,
    batch: int,
    events: int,
    label: str,
    *,
    project: bool = True,
    relay_during_appends: bool = True,
    with_raw: bool = False,
) -> dict[str, Any]:
    """Append `events` in transactions of `batch` through the UnitOfWork, publish them all.

    With `relay_during_appends` the relay runs (woken by every commit) while the
    appends go on; without it the relay starts after the last commit, which
    times the relay draining a full outbox on its own.
    """
    k = await _fresh_kernel(backend, bootstrap, label)
    k.project = project
    batches = _batches(label, events, batch)
    reader = TopicReader(bootstrap, k.store.topic, PARTITIONS)
    await reader.start()
    relay = OutboxRelay(k.db, k.kernel, bootstrap, service="bench", batch_size=RELAY_BATCH)
    relay_task: asyncio.Task[None] | None = None
    try:
        if relay_during_appends:
            relay_task = asyncio.create_task(relay.run())
        reader.expect(events)
        started = time.perf_counter()
        await k.append(batches, relay if relay_during_appends else None)
        committed = time.perf_counter()
        if relay_task is None:
            relay_task = asyncio.create_task(relay.run())
        published = await reader.wait()
    finally:
        if relay_task is not None:
            await _stop_relay(relay, relay_task)
        await reader.stop()
    figures: dict[str, Any] = {"append_events_per_s": rate(events, committed - started)}
    if relay_during_appends:
        figures["end_to_end_events_per_s"] = rate(events, published - started)
        figures["publish_tail_ms"] = round((published - committed) * 1000, 1)
    else:
        figures["relay_drain_events_per_s"] = rate(events, published - committed)
    if with_raw:
        figures["raw_db_rows_per_s"] = await _raw_inserts(k, batches)
    await k.db.dispose()
    return figures


async def _raw_produce(bootstrap: str, events: int, message: Envelope) -> dict[str, Any]:
    """aiokafka send() x RELAY_BATCH then flush(), repeated, with records like the relay's."""
    topic = "bench.kernel.raw-produce"
    await create_topic(bootstrap, topic, PARTITIONS)
    value = message.to_bytes()
    headers = [("type", message.type.encode()), ("correlation_id", message.correlation_id.encode())]
    keys = [f"acct-{i % ACCOUNTS:02d}".encode() for i in range(ACCOUNTS)]
    producer = new_producer(bootstrap, "bench-raw")
    await producer.start()
    try:
        await (await producer.send(topic, value=value, key=keys[0], headers=headers))  # warm up
        rates = []
        for _ in range(3):
            started = time.perf_counter()
            for first in range(0, events, RELAY_BATCH):
                futures = [
                    await producer.send(topic, value=value, key=keys[i % ACCOUNTS], headers=headers)
                    for i in range(first, min(first + RELAY_BATCH, events))
                ]
                await producer.flush()
                for future in futures:
                    future.result()
            rates.append(rate(events, time.perf_counter() - started))
    finally:
        await producer.stop()
    return {
        "raw_produce_messages": events,
        "raw_produce_msgs_per_s": sorted(rates)[1],
        "raw_produce_runs_msgs_per_s": rates,
        "message_bytes": len(value),
    }


async def _backend(
    backend: Backend, bootstrap: str, quick: bool, produce_rate: float
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for batch, events in (QUICK_EVENTS if quick else FULL_EVENTS).items():
        label = f"{backend.name}-b{batch}"
        run = await _kernel_run(backend, bootstrap, batch, events, label, with_raw=True)
        bare = await _kernel_run(backend, bootstrap, batch, events, f"{label}-np", project=False)
        paused = await _kernel_run(
            backend, bootstrap, batch, events, f"{label}-rp", relay_during_appends=False
        )
        raw_db = run["raw_db_rows_per_s"]
        figures[f"batch_{batch}"] = {
            "events": events,
            "transactions": events // batch,
            "append_events_per_s": run["append_events_per_s"],
            "append_tx_per_s": round(run["append_events_per_s"] / batch, 1),
            "raw_db_rows_per_s": raw_db,
            "append_vs_raw_db_ratio": ratio(run["append_events_per_s"], raw_db),
            "end_to_end_events_per_s": run["end_to_end_events_per_s"],
            "end_to_end_vs_raw_produce_ratio": ratio(run["end_to_end_events_per_s"], produce_rate),
            "publish_tail_ms": run["publish_tail_ms"],
            "no_projection": {
                **bare,
                "append_vs_raw_db_ratio": ratio(bare["append_events_per_s"], raw_db),
            },
            "relay_paused": {
                **paused,
                "append_vs_raw_db_ratio": ratio(paused["append_events_per_s"], raw_db),
                "relay_drain_vs_raw_produce_ratio": ratio(
                    paused["relay_drain_events_per_s"], produce_rate
                ),
            },
        }
    return figures


async def _run(found: list[Backend], bootstrap: str, quick: bool) -> dict[str, Any]:
    sizes = QUICK_EVENTS if quick else FULL_EVENTS
    sample = _batches("sample", 1, 1)[0][0]
    result: dict[str, Any] = await _raw_produce(bootstrap, max(sizes.values()), sample)
    for backend in found:
        result[backend.name] = await _backend(
            backend, bootstrap, quick, result["raw_produce_msgs_per_s"]
        )
    return result


def run(quick: bool) -> dict[str, Any]:
    """The benchmark's figures (starts and stops its own broker and PostgreSQL)."""
    with TansuBroker() as broker, backends() as (found, skipped):
        result = asyncio.run(asyncio.wait_for(_run(found, broker.bootstrap, quick), BUDGET_S))
    result["batch_sizes"] = list((QUICK_EVENTS if quick else FULL_EVENTS).keys())
    if skipped:
        result["skipped"] = skipped
    return result


def summary(result: dict[str, Any]) -> list[str]:
    """Readable lines for the console."""
    lines = [
        f"raw produce (send() x{RELAY_BATCH} then flush(), {result.get('message_bytes')} B "
        f"records): {result.get('raw_produce_msgs_per_s')} msg/s",
        f"{'backend':<11}{'batch':>6}{'events':>7}{'append ev/s':>12}{'raw db rows/s':>14}"
        f"{'kernel/raw':>11}{'e2e ev/s':>10}{'e2e/produce':>12}{'tail ms':>9}",
    ]
    breakdown = [
        "breakdown (events/s): append without projection; append with the relay paused, "
        "then its drain",
        f"{'backend':<11}{'batch':>6}{'no-proj':>9}{'/raw':>7}{'paused':>9}{'/raw':>7}"
        f"{'drain':>9}{'/produce':>9}",
    ]
    for name in ("sqlite", "postgresql"):
        figures = result.get(name)
        if not isinstance(figures, dict):
            continue
        for batch in result.get("batch_sizes", []):
            f = figures[f"batch_{batch}"]
            lines.append(
                f"{name:<11}{batch:>6}{f['events']:>7}{f['append_events_per_s']:>12}"
                f"{f['raw_db_rows_per_s']:>14}{f['append_vs_raw_db_ratio']:>11}"
                f"{f['end_to_end_events_per_s']:>10}{f['end_to_end_vs_raw_produce_ratio']:>12}"
                f"{f['publish_tail_ms']:>9}"
            )
            bare, paused = f["no_projection"], f["relay_paused"]
            breakdown.append(
                f"{name:<11}{batch:>6}{bare['append_events_per_s']:>9}"
                f"{bare['append_vs_raw_db_ratio']:>7}{paused['append_events_per_s']:>9}"
                f"{paused['append_vs_raw_db_ratio']:>7}{paused['relay_drain_events_per_s']:>9}"
                f"{paused['relay_drain_vs_raw_produce_ratio']:>9}"
            )
    lines += breakdown
    for name, why in result.get("skipped", {}).items():
        lines.append(f"{name}: skipped ({why})")
    return lines
