"""The consumer runner: the records of one fetch in one database transaction, exactly one effect.

The records one fetch brought for a partition are applied in order in one unit
of work, which first records their event_ids in the inbox (one statement that
skips the ids it holds already), so a redelivery is a no-op. Runs of
consecutive events of one type go to that type's batch handler when it has
one. Offsets are committed only after the database commit: a crash in between
redelivers the batch (and any handled since the last offset commit), and
the inbox absorbs it. When the batch fails, it is
rolled back and applied again one record at a time, each in its own
transaction, so a poison event goes alone to `<topic>.dlq` with its error and
the others apply once; nothing is dropped silently. Offset commits are
gathered (every `commit_interval_s` while records keep coming, when a fetch
comes back empty, and on stop), never ahead of the database.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from revline_events.catalogue import (
    CATALOGUE,
    Catalogue,
    EventPayload,
    InvalidPayload,
    UnknownEventType,
)
from revline_events.envelope import Envelope
from revline_events.kafka import new_consumer, new_producer
from revline_events.metrics import CONSUMER_LAG, DEAD_LETTERS, EVENTS_APPLIED, EVENTS_HANDLED
from revline_events.topics import dead_letter_topic
from revline_events.tracing import (
    TRACEPARENT,
    TRACESTATE,
    TraceContext,
    context_from_headers,
    handling_causes,
    trace_context_of,
    tracer,
)
from revline_events.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# How long closing a consumer or the dead-letter producer may take (a leave-group
# round trip, normally milliseconds) before the runner goes on without it.
CLOSE_TIMEOUT_S = 15.0

# What a service registers is a Reaction by payload class (revline_events.reactions);
# the registry compiles them into these, keyed by event type.
Handler = Callable[[UnitOfWork, Envelope, EventPayload], Awaitable[None]]
# Applies consecutive events of one type, in order, with the same effect as the
# type's Handler applied to each in turn (fewer statements).
BatchHandler = Callable[[UnitOfWork, Sequence[tuple[Envelope, EventPayload]]], Awaitable[None]]


# Worth retrying in place: the database or network hiccuped, the event is fine.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@dataclass(frozen=True)
class _Planned:
    """What the batch path does with one fetched record (decided before any I/O)."""

    record: ConsumerRecord[Any, Any]
    envelope: Envelope | None = None
    event: EventPayload | None = None
    poison: str | None = None  # the dead-letter reason, when it cannot apply

    @property
    def applies(self) -> bool:
        """True when a handler takes the event."""
        return self.event is not None


class ConsumerStuck(Exception):
    """The consumer stopped making progress with its group: an offset commit that did not
    return, or a group coordinator unknown, for longer than `stuck_after_s`. aiokafka's
    consumer can stay wedged after a broker restart (aio-libs/aiokafka#1154: it never
    finds its coordinator again, fetches nothing, and a commit waits for ever), which
    would leave the service serving but deaf. The runner closes it and starts a new one;
    the records since the last offset commit come again and the inbox absorbs them."""


class _Suspect(Exception):
    """A handler refused records start..end-1 of a batch (plan indices)."""

    def __init__(self, start: int, end: int) -> None:
        super().__init__(f"records {start}..{end - 1}")
        self.start, self.end = start, end


class _BatchFailed(Exception):
    """The batch transaction failed for a reason a record-by-record retry sorts out;
    the records from `start` up to `end` (exclusive) are the ones that may be at fault."""

    def __init__(self, start: int, end: int) -> None:
        super().__init__(f"records {start}..{end - 1}")
        self.start, self.end = start, end


class ConsumerRunner:
    """Consumes upstream topics in one consumer group and applies the registered handlers.

    `handlers` take one event; `batch_handlers` (optional, by type) take a run of
    consecutive events of their type from one fetch. A type with only a batch
    handler is applied alone as a batch of one. `max_records` bounds one fetch,
    so one transaction.

    Offsets are committed only after the transaction that applied their records,
    and not after every one: when a fetch comes back empty, at most
    `commit_interval_s` apart while records keep coming, and on stop(). An offset
    commit is a broker round trip the consumer waits for, as costly as a fetch; a
    crash in between redelivers the records since the last one, and the inbox
    makes them no-ops.

    The lag (`lag()`, the `revline_consumer_lag` gauge) is brought up to date after
    each fetch that brought records, and at least every `lag_interval_s` otherwise:
    an empty fetch (dozens a second while busy polling) changes neither the
    position nor, unless records are about to come back, the high watermark.

    `consumer_settings` override the shared aiokafka settings (kafka.CONSUMER_SETTINGS):
    on the dev broker a group join takes half the session timeout, so a short one helps.
    """

    def __init__(
        self,
        *,
        service: str,
        bootstrap: str,
        topics: list[str],
        uow_factory: Callable[[], UnitOfWork],
        handlers: Mapping[str, Handler],
        batch_handlers: Mapping[str, BatchHandler] | None = None,
        catalogue: Catalogue = CATALOGUE,
        group_id: str | None = None,
        consumer_settings: Mapping[str, Any] | None = None,
        max_records: int = 500,
        commit_interval_s: float = 0.5,
        lag_interval_s: float = 1.0,
        stuck_after_s: float = 30.0,
    ) -> None:
        self.service = service
        self.topics = topics
        self.group_id = group_id or service
        self._bootstrap = bootstrap
        self._uow_factory = uow_factory
        self._handlers = dict(handlers)
        self._batch_handlers = dict(batch_handlers or {})
        self._max_records = max_records
        self._commit_interval_s = commit_interval_s
        self._lag_interval_s = lag_interval_s
        self._stuck_after_s = stuck_after_s
        self._catalogue = catalogue
        self._consumer_settings = dict(consumer_settings or {})
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self._stopping = False
        self._lag: dict[TopicPartition, int] = {}
        self._lag_gauges: dict[TopicPartition, Any] = {}  # CONSUMER_LAG's child per partition
        self._tracer = tracer(service)
        self.started = asyncio.Event()

    async def run(self) -> None:
        """Consume until stop() or cancellation; reconnects while the broker is down."""
        backoff = 0.2
        while not self._stopping:
            try:
                await self._start()
                backoff = 0.2
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("%s consumer: %s; retrying in %.1fs", self.service, error, backoff)
                await self._close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                if self._stopping:
                    await self._close()
        await self._close()

    def stop(self) -> None:
        """Finish the batch in hand, commit it and its offset, and stop."""
        self._stopping = True

    def assignment(self) -> set[TopicPartition]:
        """The partitions this runner's group gave it now (empty before it joined)."""
        consumer = self._consumer
        return set(consumer.assignment()) if consumer is not None else set()

    def lag(self) -> int:
        """Records assigned to this runner and not yet handled (0 when caught up)."""
        return sum(self._lag.values())

    async def _start(self) -> None:
        if self._consumer is not None:
            return
        consumer = new_consumer(
            self._bootstrap, self.group_id, *self.topics, **self._consumer_settings
        )
        dlq = new_producer(self._bootstrap, f"{self.service}-dlq")
        try:
            await consumer.start()
            await dlq.start()
        except Exception:
            await consumer.stop()
            await dlq.stop()
            raise
        self._consumer, self._dlq = consumer, dlq
        self.started.set()

    async def _close(self) -> None:
        consumer, dlq = self._consumer, self._dlq
        self._consumer = self._dlq = None
        # Bounded: a wedged consumer (ConsumerStuck) may not stop cleanly either. Not by
        # stuck_after_s: a consumer that can still reach its group needs the time to
        # leave it, or it stays a member that holds partitions nobody reads.
        with contextlib.suppress(Exception):
            if consumer is not None:
                await asyncio.wait_for(consumer.stop(), CLOSE_TIMEOUT_S)
        with contextlib.suppress(Exception):
            if dlq is not None:
                await asyncio.wait_for(dlq.stop(), CLOSE_TIMEOUT_S)

    async def _consume(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        # Offsets of records whose transaction has committed, not yet committed to the
        # group: committed together when a fetch comes back empty, every
        # `commit_interval_s` while records keep coming, and before stopping.
        done: dict[TopicPartition, int] = {}
        last_commit = last_lag = time.monotonic()
        lag_due = True  # the first pass reports it (0 on an empty topic)
        coordinator_since = time.monotonic()  # when the group coordinator was last known
        while not self._stopping:
            batches = await consumer.getmany(timeout_ms=200, max_records=self._max_records)
            fetched = any(batches.values())
            coordinator_since = self._check_coordinator(consumer, coordinator_since)
            for tp, records in batches.items():
                await self.handle_records(records)
                done[tp] = records[-1].offset + 1  # every record above is in the database
                if self._stopping:
                    break
            now = time.monotonic()
            if done and (not fetched or now - last_commit >= self._commit_interval_s):
                await self._commit_offsets(consumer, done)
                last_commit = now
            if lag_due or fetched or now - last_lag >= self._lag_interval_s:
                await self._update_lag(consumer)
                last_lag, lag_due = now, False
        if done:  # stopping: what is in the database is committed before the group is left
            await self._commit_offsets(consumer, done)

    async def _commit_offsets(
        self, consumer: AIOKafkaConsumer, done: dict[TopicPartition, int]
    ) -> None:
        """Commit the offsets in `done` (of records already in the database) and forget
        them. A partition the group took away meanwhile is left out: its new owner
        reads those records again and the inbox makes them no-ops."""
        assigned = consumer.assignment()
        offsets = {tp: offset for tp, offset in done.items() if tp in assigned}
        done.clear()
        if offsets:
            try:
                await asyncio.wait_for(consumer.commit(offsets), self._stuck_after_s)
            except TimeoutError:
                raise ConsumerStuck(
                    f"an offset commit did not return within {self._stuck_after_s:g}s"
                ) from None

    def _check_coordinator(self, consumer: AIOKafkaConsumer, since: float) -> float:
        """When the group coordinator was last known (now, while it is); ConsumerStuck once
        it has been unknown for `stuck_after_s`. aiokafka has no public signal for it:
        this reads the coordinator's `coordinator_id` (None while unknown), as of the
        aiokafka pinned in requirements.lock (recheck it on an upgrade: the stuck-consumer
        test wedges the commit, not this)."""
        now = time.monotonic()
        coordinator = getattr(consumer, "_coordinator", None)
        if coordinator is None or getattr(coordinator, "coordinator_id", None) is not None:
            return now
        if now - since > self._stuck_after_s:
            raise ConsumerStuck(f"no group coordinator for {now - since:.0f}s")
        return since

    async def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        # Called once every fetched record is handled, so position == handled.
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            lag = max(high - await consumer.position(tp), 0)
            if self._lag.get(tp) == lag:
                continue
            self._lag[tp] = lag
            gauge = self._lag_gauges.get(tp)
            if gauge is None:
                gauge = CONSUMER_LAG.labels(self.service, tp.topic, str(tp.partition))
                self._lag_gauges[tp] = gauge
            gauge.set(lag)

    async def handle_records(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Apply the fetched records of one partition, in order, exactly once each.

        One transaction for all of them. When it fails (not transiently), it is
        rolled back and the records a handler refused (the run given to a batch
        handler, or the one event; all of them when the failure came from the
        inbox or the commit) are applied one at a time, each in a transaction of
        its own, so only a poison record is dead-lettered; the records before and
        after them are applied as batches again, in order.
        """
        if len(records) <= 1:
            for record in records:
                await self.handle_record(record)
            return
        plan = [self._plan(record) for record in records]
        try:
            outcomes = await self._apply_batch_retrying(plan)
        except _BatchFailed as failed:
            log.warning(
                "%s: batch of %d from %s[%d] failed (%s); applying %d of them one at a time",
                self.service,
                len(records),
                records[0].topic,
                records[0].partition,
                failed.__cause__ or failed,
                failed.end - failed.start,
            )
            await self.handle_records(records[: failed.start])
            for record in records[failed.start : failed.end]:
                await self.handle_record(record)
            await self.handle_records(records[failed.end :])
            return
        for planned in plan:
            if planned.poison is not None:
                await self._dead_letter(planned.record, planned.poison)
        topic = records[0].topic
        for outcome, count in outcomes.items():
            if count:
                EVENTS_HANDLED.labels(self.service, topic, outcome).inc(count)

    def _plan(self, record: ConsumerRecord[Any, Any]) -> _Planned:
        """Parse and route one record as handle_record would, without side effects."""
        try:
            envelope = Envelope.from_bytes(record.value)
        except (ValidationError, ValueError, TypeError) as error:
            return _Planned(record, poison=f"unparseable envelope: {error}")
        if not self._catalogue.knows(envelope.type):
            return _Planned(record, envelope, poison=f"unknown event type {envelope.type!r}")
        if envelope.type not in self._handlers and envelope.type not in self._batch_handlers:
            return _Planned(record, envelope)  # ignored
        try:
            event = self._catalogue.parse(envelope)
        except (UnknownEventType, InvalidPayload) as error:
            return _Planned(record, envelope, poison=str(error))
        return _Planned(record, envelope, event)

    async def _apply_batch_retrying(self, plan: Sequence[_Planned]) -> dict[str, int]:
        """_apply_batch, retried in place while the database or network hiccups."""
        backoff = 0.1
        while True:
            try:
                return await self._apply_batch(plan)
            except TRANSIENT_ERRORS as error:
                if self._stopping:
                    raise
                log.warning("%s: transient error on a batch: %s", self.service, error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except _Suspect as suspect:
                raise _BatchFailed(suspect.start, suspect.end) from suspect.__cause__
            except Exception as error:
                # Another replica's inbox row, say: the record-by-record path tells
                # a duplicate from a refusal.
                raise _BatchFailed(0, len(plan)) from error

    async def _apply_batch(self, plan: Sequence[_Planned]) -> dict[str, int]:
        """Apply every record of `plan` a handler takes, in one transaction; the outcomes."""
        applying = [p for p in plan if p.applies]
        outcomes = {
            "ignored": sum(1 for p in plan if p.poison is None and not p.applies),
            "applied": 0,
            "duplicate": 0,
        }
        if not applying:
            return outcomes
        topic = plan[0].record.topic
        # One consumer span per event, each a child of the trace its record carries.
        spans = {id(p): self._span(topic, self._envelope(p), p.record) for p in applying}
        try:
            with self._handling(applying, spans):
                fresh = await self._apply_claimed(plan, applying, topic, spans, outcomes)
        except BaseException as error:
            for span in spans.values():
                span.set_status(Status(StatusCode.ERROR, f"batch rolled back: {error!r}"[:500]))
                span.end()
            raise
        for span in spans.values():
            span.end()
        outcomes["applied"] = len(fresh)
        for kind, count in collections.Counter(envelope.type for _, envelope, _ in fresh).items():
            EVENTS_APPLIED.labels(self.service, topic, kind).inc(count)
        return outcomes

    @contextlib.contextmanager
    def _handling(self, applying: Sequence[_Planned], spans: Mapping[int, Span]) -> Iterator[None]:
        """While a batch applies: what a handler records with an event as its cause takes
        that event's span context; with one event, its span is current (for the logs)."""
        causes: dict[str, TraceContext] = {}
        for p in applying:
            if (context := trace_context_of(spans[id(p)])) is not None:
                causes.setdefault(self._envelope(p).event_id, context)
        with handling_causes(causes):
            if len(applying) == 1:
                with trace.use_span(spans[id(applying[0])]):
                    yield
            else:
                yield

    async def _apply_claimed(
        self,
        plan: Sequence[_Planned],
        applying: Sequence[_Planned],
        topic: str,
        spans: Mapping[int, Span],
        outcomes: dict[str, int],
    ) -> list[tuple[int, Envelope, EventPayload]]:
        """Claim `applying` in the inbox and apply the fresh ones, in one transaction;
        counts the duplicates in `outcomes` and returns the events applied."""
        async with self._uow_factory() as uow:
            # The inbox rows first, in one statement: what it did not claim is a redelivery.
            claimed = await uow.claim_many([self._envelope(p) for p in applying], topic)
            fresh: list[tuple[int, Envelope, EventPayload]] = []
            for index, p in enumerate(plan):
                if not p.applies:
                    continue
                envelope = self._envelope(p)
                if envelope.event_id not in claimed:
                    outcomes["duplicate"] += 1
                    spans[id(p)].set_attribute("revline.outcome", "duplicate")
                    continue
                claimed.discard(envelope.event_id)  # the same event twice in one fetch
                assert p.event is not None
                fresh.append((index, envelope, p.event))
            for run in _runs_of_one_type(fresh):
                await self._apply_run(uow, run)
            await uow.commit()
        return fresh

    def _span(
        self, topic: str, envelope: Envelope, record: ConsumerRecord[Any, Any] | None
    ) -> Span:
        """A consumer span for handling `envelope`, a child of the trace context its record
        carries (a root without a record: a DLQ replay)."""
        attributes: dict[str, str | int] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": self.group_id,
            "messaging.message.id": envelope.event_id,
            "revline.event_type": envelope.type,
        }
        if record is not None:
            attributes["messaging.destination.partition.id"] = str(record.partition)
            attributes["messaging.kafka.offset"] = record.offset
        return self._tracer.start_span(
            f"process {topic}",
            context=context_from_headers(record.headers) if record is not None else None,
            kind=SpanKind.CONSUMER,
            attributes=attributes,
        )

    async def _apply_run(
        self, uow: UnitOfWork, run: Sequence[tuple[int, Envelope, EventPayload]]
    ) -> None:
        """Apply a run of one type; a refusal names the records at fault (_Suspect)."""
        kind = run[0][1].type
        batch = self._batch_handlers.get(kind)
        if batch is not None:
            try:
                await batch(uow, [(envelope, event) for _, envelope, event in run])
            except TRANSIENT_ERRORS:
                raise
            except Exception as error:
                raise _Suspect(run[0][0], run[-1][0] + 1) from error
            return
        handler = self._handlers[kind]
        for index, envelope, event in run:
            try:
                await handler(uow, envelope, event)
            except TRANSIENT_ERRORS:
                raise
            except Exception as error:
                raise _Suspect(index, index + 1) from error

    @staticmethod
    def _envelope(planned: _Planned) -> Envelope:
        assert planned.envelope is not None
        return planned.envelope

    async def handle_record(self, record: ConsumerRecord[Any, Any]) -> None:
        """Apply one record exactly once, or dead-letter it with the reason."""
        try:
            envelope = Envelope.from_bytes(record.value)
        except (ValidationError, ValueError, TypeError) as error:
            await self._dead_letter(record, f"unparseable envelope: {error}")
            return
        await self.handle_envelope(envelope, record)

    async def handle_envelope(self, envelope: Envelope, record: ConsumerRecord[Any, Any]) -> None:
        """Route a parsed envelope: dead-letter, ignore, de-duplicate or apply it."""
        outcome, reason = await self.apply_envelope(envelope, record.topic, record)
        if reason is not None:
            await self._dead_letter(record, reason)
            return
        EVENTS_HANDLED.labels(self.service, record.topic, outcome).inc()
        if outcome == "applied":
            EVENTS_APPLIED.labels(self.service, record.topic, envelope.type).inc()

    async def apply_envelope(
        self, envelope: Envelope, topic: str, record: ConsumerRecord[Any, Any] | None = None
    ) -> tuple[str, str | None]:
        """Apply one event read from `topic` exactly once, dead-lettering nothing.

        Returns the outcome and, when it cannot apply, the dead-letter reason:
        ("applied" | "duplicate" | "ignored", None) or ("refused", reason).
        The path of handle_envelope, and of a DLQ replay (revline_events.dead_letters).
        With the `record` it came in, the handling span continues the record's trace.
        """
        if not self._catalogue.knows(envelope.type):
            return "refused", f"unknown event type {envelope.type!r}"
        handler = self._handlers.get(envelope.type) or self._one_of_batch(envelope.type)
        if handler is None:
            return "ignored", None
        try:
            event = self._catalogue.parse(envelope)
        except (UnknownEventType, InvalidPayload) as error:
            return "refused", str(error)
        backoff = 0.1
        while True:
            try:
                return await self._apply(handler, envelope, event, topic, record), None
            except IntegrityError as error:
                if await self._seen(envelope.event_id):
                    # Another replica recorded the same event first.
                    return "duplicate", None
                # A constraint of the service refused the event: it cannot apply.
                return "refused", f"IntegrityError: {error.orig}"
            except TRANSIENT_ERRORS as error:
                if self._stopping:
                    raise
                log.warning("%s: transient error on %s: %s", self.service, envelope.type, error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception as error:
                log.exception("%s: handler refused %s", self.service, envelope.event_id)
                return "refused", f"{type(error).__name__}: {error}"

    def _one_of_batch(self, kind: str) -> Handler | None:
        """The batch handler of `kind` as a handler of one event, if it has one."""
        batch = self._batch_handlers.get(kind)
        if batch is None:
            return None

        async def one(uow: UnitOfWork, envelope: Envelope, event: EventPayload) -> None:
            await batch(uow, [(envelope, event)])

        return one

    async def _seen(self, event_id: str) -> bool:
        async with self._uow_factory() as uow:
            return await uow.seen(event_id)

    async def _apply(
        self,
        handler: Handler,
        envelope: Envelope,
        event: EventPayload,
        topic: str,
        record: ConsumerRecord[Any, Any] | None,
    ) -> str:
        span = self._span(topic, envelope, record)
        with trace.use_span(span, end_on_exit=True):
            async with self._uow_factory() as uow:
                if not await uow.claim(envelope, topic):  # the inbox row, or a redelivery
                    span.set_attribute("revline.outcome", "duplicate")
                    return "duplicate"
                await handler(uow, envelope, event)
                await uow.commit()
        return "applied"

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], reason: str) -> None:
        kind = dead_letter_reason(reason)
        span = self._tracer.start_span(
            f"dead-letter {record.topic}",
            context=context_from_headers(record.headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic,
                "messaging.kafka.offset": record.offset,
                "revline.dead_letter.reason": kind,
            },
        )
        span.set_status(Status(StatusCode.ERROR, reason[:500]))
        with trace.use_span(span, end_on_exit=True):
            log.error(
                "%s: dead-lettering %s@%s: %s", self.service, record.topic, record.offset, reason
            )
            assert self._dlq is not None
            headers = [
                ("error", reason.encode()[:4000]),
                ("source_topic", record.topic.encode()),
                ("source_partition", str(record.partition).encode()),
                ("source_offset", str(record.offset).encode()),
                ("consumer", self.service.encode()),
            ]
            # The record's own trace context goes along: a replay can be followed back.
            headers += [(k, v) for k, v in record.headers or () if k in (TRACEPARENT, TRACESTATE)]
            await self._dlq.send_and_wait(
                dead_letter_topic(record.topic), value=record.value, key=record.key, headers=headers
            )
        EVENTS_HANDLED.labels(self.service, record.topic, "dead_lettered").inc()
        DEAD_LETTERS.labels(self.service, record.topic, kind).inc()


def dead_letter_reason(reason: str) -> str:
    """The kind of a dead-letter reason, for the metric: unparseable, unknown_type,
    invalid_payload or refused (a handler or a constraint refused the event)."""
    if reason.startswith("unparseable"):
        return "unparseable"
    if reason.startswith(("unknown event type", "no event ")):  # UnknownEventType
        return "unknown_type"
    if reason.startswith("payload of "):  # InvalidPayload
        return "invalid_payload"
    return "refused"


def _runs_of_one_type(
    items: Sequence[tuple[int, Envelope, EventPayload]],
) -> list[list[tuple[int, Envelope, EventPayload]]]:
    """`items` cut into runs of consecutive events of one type, in order."""
    runs: list[list[tuple[int, Envelope, EventPayload]]] = []
    for item in items:
        if runs and runs[-1][0][1].type == item[1].type:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs
