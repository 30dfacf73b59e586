"""The consumer runner: one database transaction per upstream event, exactly one effect.

Each event is handled in a unit of work that first checks and then records
its event_id in the inbox, so a redelivery is a no-op. Offsets are committed
only after the database commit: a crash in between redelivers, and the inbox
absorbs it. A poison event goes to `<topic>.dlq` with its error, and the
runner moves on; nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
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
from revline_events.metrics import CONSUMER_LAG, EVENTS_HANDLED
from revline_events.topics import dead_letter_topic
from revline_events.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# What a service registers is a Reaction by payload class (revline_events.reactions);
# the registry compiles them into these, keyed by event type.
Handler = Callable[[UnitOfWork, Envelope, EventPayload], Awaitable[None]]


# Worth retrying in place: the database or network hiccuped, the event is fine.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


class ConsumerRunner:
    """Consumes upstream topics in one consumer group and applies the registered handlers.

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
        catalogue: Catalogue = CATALOGUE,
        group_id: str | None = None,
        consumer_settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.service = service
        self.topics = topics
        self.group_id = group_id or service
        self._bootstrap = bootstrap
        self._uow_factory = uow_factory
        self._handlers = dict(handlers)
        self._catalogue = catalogue
        self._consumer_settings = dict(consumer_settings or {})
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self._stopping = False
        self._lag: dict[TopicPartition, int] = {}
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
        """Finish the event in hand, commit, and stop."""
        self._stopping = True

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
        with contextlib.suppress(Exception):
            if consumer is not None:
                await consumer.stop()
        with contextlib.suppress(Exception):
            if dlq is not None:
                await dlq.stop()

    async def _consume(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        while not self._stopping:
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            for tp, records in batches.items():
                for record in records:
                    await self.handle_record(record)
                    if self._stopping:
                        await consumer.commit({tp: record.offset + 1})
                        return
                # Committed only now that every record above is in the database.
                await consumer.commit({tp: records[-1].offset + 1})
            await self._update_lag(consumer)

    async def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        # Called once every fetched record is handled, so position == handled.
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            lag = max(high - await consumer.position(tp), 0)
            self._lag[tp] = lag
            CONSUMER_LAG.labels(self.service, tp.topic, str(tp.partition)).set(lag)

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
        topic = record.topic
        if not self._catalogue.knows(envelope.type):
            await self._dead_letter(record, f"unknown event type {envelope.type!r}")
            return
        handler = self._handlers.get(envelope.type)
        if handler is None:
            EVENTS_HANDLED.labels(self.service, topic, "ignored").inc()
            return
        try:
            event = self._catalogue.parse(envelope)
        except (UnknownEventType, InvalidPayload) as error:
            await self._dead_letter(record, str(error))
            return
        backoff = 0.1
        while True:
            try:
                outcome = await self._apply(handler, envelope, event, topic)
            except IntegrityError as error:
                if await self._seen(envelope.event_id):
                    # Another replica recorded the same event first.
                    outcome = "duplicate"
                else:
                    # A constraint of the service refused the event: it cannot apply.
                    await self._dead_letter(record, f"IntegrityError: {error.orig}")
                    return
            except TRANSIENT_ERRORS as error:
                if self._stopping:
                    raise
                log.warning("%s: transient error on %s: %s", self.service, envelope.type, error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            except Exception as error:
                log.exception("%s: handler refused %s", self.service, envelope.event_id)
                await self._dead_letter(record, f"{type(error).__name__}: {error}")
                return
            EVENTS_HANDLED.labels(self.service, topic, outcome).inc()
            return

    async def _seen(self, event_id: str) -> bool:
        async with self._uow_factory() as uow:
            return await uow.seen(event_id)

    async def _apply(
        self, handler: Handler, envelope: Envelope, event: EventPayload, topic: str
    ) -> str:
        async with self._uow_factory() as uow:
            if await uow.seen(envelope.event_id):
                return "duplicate"
            await handler(uow, envelope, event)
            await uow.mark_seen(envelope, topic)
            await uow.commit()
        return "applied"

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], reason: str) -> None:
        log.error("%s: dead-lettering %s@%s: %s", self.service, record.topic, record.offset, reason)
        assert self._dlq is not None
        headers = [
            ("error", reason.encode()[:4000]),
            ("source_topic", record.topic.encode()),
            ("source_partition", str(record.partition).encode()),
            ("source_offset", str(record.offset).encode()),
            ("consumer", self.service.encode()),
        ]
        await self._dlq.send_and_wait(
            dead_letter_topic(record.topic), value=record.value, key=record.key, headers=headers
        )
        EVENTS_HANDLED.labels(self.service, record.topic, "dead_lettered").inc()
