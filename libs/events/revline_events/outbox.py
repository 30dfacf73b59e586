"""The outbox relay: publishes committed events to Kafka, in commit order per key.

It wakes as soon as a unit of work commits (notify), and otherwise looks
again every `idle_poll` seconds for rows written by another process. While
the broker is down the rows wait; writes never depend on the broker.

On SQLite the unit of work hands over the rows it committed (`committed`),
and once a read of the outbox has found nothing older left unsent, the relay
publishes those as they are, without reading them back: one transaction less
on the way to the next service. It still reads the outbox after any failure
and at least every `idle_poll` seconds.

A broker that restarts empty (the dev broker keeps its log in memory) has lost
the topics too. The relay publishes only to topics the broker lists, creating
the missing ones first, and marks rows sent only when the broker still lists
them after the flush: the dev broker acknowledges records for a topic it does
not have and keeps them where no consumer sees them.

Those two metadata round trips are skipped while the producer talks to the
broker over the very connections that last listed the topics: a broker that
restarted has dropped them, so the same connections acknowledging a produce
means the same broker, which still has the topics. Any other connection (a
reconnect, a new producer) makes the relay ask again, before and after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revline_events.database import Database
from revline_events.envelope import Envelope
from revline_events.event_store import Queued, envelope_from_row
from revline_events.kafka import new_producer
from revline_events.metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG
from revline_events.replay import mark_all_unsent
from revline_events.tables import KernelTables
from revline_events.topics import ensure_topics
from revline_events.tracing import TraceContext, trace_context_of, tracer

log = logging.getLogger(__name__)

# What the relay publishes: (outbox id, topic, envelope, trace context of its write).
Outgoing = tuple[int, str, Envelope, TraceContext | None]

# One publisher per service database on PostgreSQL: replicas race for this
# advisory lock, and whoever holds it publishes, so per-key order holds.
RELAY_LOCK_KEY = 0x5245564C494E45  # "REVLINE"


class TopicsLost(RuntimeError):
    """The broker stopped listing topics while records were published to them."""

    def __init__(self, topics: list[str]) -> None:
        super().__init__(f"the broker lost topics {topics} during a publish; retrying")
        self.topics = topics


class OutboxRelay:
    """Publishes unsent outbox rows in id order, then marks them sent.

    Topics missing on the broker are created with `topic_partitions` partitions
    and `replication_factor` replicas before anything is published to them.
    """

    def __init__(
        self,
        db: Database,
        tables: KernelTables,
        bootstrap: str,
        *,
        service: str,
        batch_size: int = 1000,
        idle_poll: float = 1.0,
        topic_partitions: int = 3,
        replication_factor: int = 1,
        mark_delay: float = 0.2,
    ) -> None:
        self._db = db
        self._t = tables
        self._bootstrap = bootstrap
        self._service = service
        self._batch_size = batch_size
        self._idle_poll = idle_poll
        self._topic_partitions = topic_partitions
        self._replication_factor = replication_factor
        self._wake = asyncio.Event()
        self._stopping = False
        self._producer: AIOKafkaProducer | None = None
        self._lock_conn: AsyncConnection | None = None
        # What the last metadata answer listed, and over which broker connections.
        self._listed: frozenset[str] = frozenset()
        self._listed_over: frozenset[object] | None = None
        # SQLite is written by this one process (DESIGN.md: single replica), so what it
        # commits is handed over; on PostgreSQL other replicas write the same outbox,
        # and only a read in id order keeps their rows and ours in order per key.
        self._hands_over = not db.is_postgres
        self._mark_sent = (
            update(tables.outbox)
            .where(tables.outbox.c.id == bindparam("outbox_id"))
            .values(sent_at=bindparam("at"))
        )  # built once, run on a plain connection: no session machinery per publish
        # Rows on the broker not yet marked sent, with the time their flush returned:
        # while run() publishes on SQLite they are marked together, `mark_delay` after
        # the first of them (or before the next read of the outbox), not one
        # transaction per publish.
        self._mark_delay = mark_delay
        self._unmarked: list[dict[str, Any]] = []
        self._unmarked_since = 0.0
        self._deferring_marks = False
        self._handed: list[Queued] = []
        # The newest outbox id on the broker: a hand-over that arrives after a read
        # already published its rows (the commit landed just before the read) is stale.
        self._sent_through = 0
        self._tracer = tracer(service)
        self._caught_up = False
        self._last_read = time.monotonic()
        self.broker_available = False

    def stop(self) -> None:
        """Finish the batch in hand, then leave run() (graceful shutdown)."""
        self._stopping = True
        self._wake.set()

    def notify(self) -> None:
        """Called after a commit that queued events: publish them now."""
        self._wake.set()

    async def republish_all(self) -> int:
        """Queue the whole event store for publishing again, oldest first (the broker lost
        its log: the dev broker keeps it in memory). Returns how many rows were queued.

        The relay then reads the outbox before anything handed over, so every key's
        events go out in their order; consumers de-duplicate by event_id.
        """
        await self.mark_sent()  # before the rows are queued again, never after
        queued = await mark_all_unsent(self._db, self._t)
        self._caught_up = False
        self._wake.set()
        return queued

    def committed(self, queued: Sequence[Queued]) -> None:
        """Called after a commit with the outbox rows it queued: publish them now,
        without reading them back where this process is the outbox's only writer."""
        if self._hands_over:
            self._handed.extend(q for q in queued if q.outbox_id > self._sent_through)
        self._wake.set()

    async def run(self) -> None:
        """Publish until cancelled, backing off while the broker is unreachable."""
        backoff = 0.1
        # Where this process is the outbox's only writer (SQLite), rows it published are
        # marked sent a little later, several at once; elsewhere right after the flush.
        self._deferring_marks = self._hands_over
        try:
            while not self._stopping:
                try:
                    if await self._hold_publisher_lock():
                        while await self.publish_pending() == self._batch_size:
                            pass
                    backoff = 0.1
                    await self._sleep()
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    self.broker_available = False
                    log.warning("outbox relay: %s; retrying in %.1fs", error, backoff)
                    await self._drop_producer()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            self._deferring_marks = False
            await self.close()

    async def _sleep(self) -> None:
        """Until notified or `idle_poll` has passed; meanwhile, marks the published rows
        sent once they are due (a wake-up for that alone publishes nothing and reads
        nothing)."""
        until = time.monotonic() + self._idle_poll
        while not self._stopping:
            wait = until - time.monotonic()
            if self._unmarked:
                wait = min(wait, self._unmarked_since + self._mark_delay - time.monotonic())
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
            # cancel that lands as notify() sets the event, and the relay never stops.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait, 0.0)):
                    await self._wake.wait()
            if self._wake.is_set() or time.monotonic() >= until:
                break
            await self.mark_sent()
        self._wake.clear()

    async def mark_sent(self) -> None:
        """Mark the rows published and not yet marked as sent, in one transaction
        (each with the time its flush returned)."""
        rows, self._unmarked = self._unmarked, []
        if not rows:
            return
        try:
            async with self._db.engine.begin() as conn:
                await conn.execute(self._mark_sent, rows)
        except BaseException:
            self._unmarked = rows + self._unmarked  # still on the broker: mark them later
            raise

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows; returns how many were published.

        Rows this process committed and handed over (`committed`) are published as
        they are when nothing older can be waiting; otherwise the outbox is read.
        """
        if self._caught_up and self._read_recently():
            if not self._handed:
                return 0  # woken for rows a read already published: nothing to do
            batch = self._handed[: self._batch_size]
            del self._handed[: len(batch)]
            try:
                await self._publish([(q.outbox_id, q.topic, q.envelope, q.trace) for q in batch])
            except BaseException:
                self._caught_up = False  # the next pass reads what is still unsent
                raise
            self._sent_through = max(self._sent_through, batch[-1].outbox_id)
            return len(batch)
        self._caught_up = False
        await self.mark_sent()  # what is on the broker must not be read as unsent
        outbox, store = self._t.outbox, self._t.event_store
        async with self._db.session() as session:
            stmt = (
                select(
                    outbox.c.id, outbox.c.topic, outbox.c.traceparent, outbox.c.tracestate, store
                )
                .join(store, store.c.event_id == outbox.c.event_id)
                .where(outbox.c.sent_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self._batch_size)
            )
            rows = (await session.execute(stmt)).mappings().all()
            await session.commit()
        self._last_read = time.monotonic()
        if rows:
            # What was handed over and is in this read is published from the read.
            newest = rows[-1]["id"]
            self._handed = [q for q in self._handed if q.outbox_id > newest]
        else:
            OUTBOX_BACKLOG.labels(self._service).set(0)
        await self._publish(
            [(row["id"], row["topic"], envelope_from_row(row), _trace_of(row)) for row in rows]
        )
        if rows:
            self._sent_through = max(self._sent_through, rows[-1]["id"])
        # Everything unsent at the read is on the broker: from here on, what this
        # process commits is the oldest unsent and can go out without a read.
        self._caught_up = self._hands_over and len(rows) < self._batch_size
        return len(rows)

    def _read_recently(self) -> bool:
        # Read the outbox at least every idle_poll even while commits keep the relay
        # busy, for rows another process wrote (a republish).
        return time.monotonic() - self._last_read < self._idle_poll

    async def _publish(self, items: list[Outgoing]) -> None:
        """Send (outbox id, topic, envelope, trace) in order, then mark those rows sent.

        An event whose write was traced gets a producer span, a child of that write's
        span, whose context travels in the record's `traceparent` header.
        """
        if not items:
            return
        topics = sorted({topic for _, topic, _, _ in items})
        producer = await self._ensure_producer()
        if self._still_listed(producer, topics):
            missing = []
        else:
            missing = await self._missing_topics(producer, topics)
        if missing:
            await ensure_topics(
                self._bootstrap,
                missing,
                partitions=self._topic_partitions,
                replication_factor=self._replication_factor,
            )
            await self._drop_producer()  # its metadata still shows the lost topics
            producer = await self._ensure_producer()
        futures = []
        spans = []
        try:
            for _, topic, envelope, parent in items:
                headers = _headers(envelope.type, envelope.correlation_id)
                if parent is not None:
                    span = self._producer_span(topic, envelope, parent)
                    spans.append(span)
                    if (sent := trace_context_of(span)) is not None:
                        headers.extend(sent.headers())
                futures.append(
                    await producer.send(
                        topic,
                        value=envelope.to_bytes(),
                        key=envelope.account_id.encode(),
                        headers=headers,
                    )
                )
            await producer.flush()
            for future in futures:
                future.result()  # raises if the broker refused a record
        except BaseException as error:
            for span in spans:
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
                span.end()
            raise
        for span in spans:
            span.end()
        if not self._still_listed(producer, topics) and (
            missing := await self._missing_topics(producer, topics)
        ):
            raise TopicsLost(missing)  # it restarted empty under us: publish them again
        at = datetime.now(UTC)
        if not self._unmarked:
            self._unmarked_since = time.monotonic()
        self._unmarked.extend({"outbox_id": outbox_id, "at": at} for outbox_id, _, _, _ in items)
        if not self._deferring_marks:
            await self.mark_sent()
        self.broker_available = True
        for _, topic, _, _ in items:
            EVENTS_PUBLISHED.labels(self._service, topic).inc()

    def _producer_span(self, topic: str, envelope: Envelope, parent: TraceContext) -> Span:
        """The span of sending `envelope`, a child of the span that queued it."""
        return self._tracer.start_span(
            f"publish {topic}",
            context=parent.context(),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.destination.name": topic,
                "messaging.message.id": envelope.event_id,
                "revline.event_type": envelope.type,
            },
        )

    async def backlog(self) -> int:
        """Outbox rows not yet published."""
        await self.mark_sent()
        outbox = self._t.outbox
        async with self._db.session() as session:
            stmt = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
            count = int((await session.execute(stmt)).scalar_one())
        OUTBOX_BACKLOG.labels(self._service).set(count)
        return count

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = new_producer(self._bootstrap, f"{self._service}-relay")
            try:
                await producer.start()
            except Exception:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _missing_topics(self, producer: AIOKafkaProducer, topics: list[str]) -> list[str]:
        # Metadata for all topics: naming a topic would make the dev broker create it.
        listed = frozenset((await producer.client.fetch_all_metadata()).topics())
        self._listed, self._listed_over = listed, _connections(producer)
        return [t for t in topics if t not in listed]

    def _still_listed(self, producer: AIOKafkaProducer, topics: list[str]) -> bool:
        """True when the broker that last listed `topics` is, for sure, the one we talk to."""
        over = _connections(producer)
        return (
            over is not None
            and over == self._listed_over
            and all(topic in self._listed for topic in topics)
        )

    async def _drop_producer(self) -> None:
        self._listed, self._listed_over = frozenset(), None
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None

    async def _hold_publisher_lock(self) -> bool:
        if not self._db.is_postgres:
            return True  # SQLite is the single-replica embedded default
        if self._lock_conn is not None:
            return True
        conn = await self._db.engine.connect()
        got = (
            await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": RELAY_LOCK_KEY})
        ).scalar_one()
        await conn.commit()
        if got:
            self._lock_conn = conn
            return True
        await conn.close()
        return False

    async def close(self) -> None:
        """Mark what was published as sent, stop the producer, release the publisher lock."""
        with contextlib.suppress(Exception):
            await self.mark_sent()  # else published again after a restart (consumers de-duplicate)
        await self._drop_producer()
        if self._lock_conn is not None:
            with contextlib.suppress(Exception):
                await self._lock_conn.close()
            self._lock_conn = None


def _connections(producer: AIOKafkaProducer) -> frozenset[object] | None:
    """The producer's open broker connections (objects, compared by identity), or None
    when there are none or aiokafka no longer keeps them where this looks (then the
    relay always asks for metadata, as it did before)."""
    conns = getattr(producer.client, "_conns", None)
    if not isinstance(conns, dict):
        return None
    live = frozenset(conn for conn in conns.values() if conn.connected())
    return live or None


def _trace_of(row: Any) -> TraceContext | None:
    """The trace context stored with an outbox row, if its write was traced."""
    parent = row["traceparent"]
    return TraceContext(parent, row["tracestate"]) if parent else None


def _headers(event_type: str, correlation_id: str) -> list[tuple[str, bytes]]:
    return [("type", event_type.encode()), ("correlation_id", correlation_id.encode())]
