"""Talking to the real broker from tests: fresh topics, raw publishing, reading a topic back.

The module's broker is shared, so every test names its own topics and groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from revline_events.consumer import ConsumerRunner
from revline_events.envelope import Envelope
from revline_events.outbox import OutboxRelay
from revline_testkit.broker import FAST_CONSUMER_SETTINGS, FAST_PRODUCER_SETTINGS
from revline_testkit.waiting import eventually

Record = ConsumerRecord[bytes, bytes]
DEADLINE_S = 20.0


def unique(prefix: str) -> str:
    """A topic, group or stream name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def create_topics(bootstrap: str, *topics: str, partitions: int = 3) -> None:
    """Create fresh topics with the plain admin client (not the kernel code under test)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics([NewTopic(t, partitions, 1) for t in topics])
    finally:
        await admin.close()
    assert [code for _, code, *_ in response.topic_errors] == [0] * len(topics)


async def describe(bootstrap: str, topics: list[str]) -> dict[str, int]:
    """Partition count of each topic the broker lists, by name."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        listed = set(await admin.list_topics())
        present = [t for t in topics if t in listed]
        descriptions = await admin.describe_topics(present) if present else []
    finally:
        await admin.close()
    return {d["topic"]: len(d["partitions"]) for d in descriptions}


async def publish(bootstrap: str, topic: str, *messages: tuple[bytes | None, bytes]) -> None:
    """Publish raw (key, value) messages, one at a time, in order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **FAST_PRODUCER_SETTINGS)
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def publish_batch(
    bootstrap: str, topic: str, partition: int, *messages: tuple[bytes | None, bytes]
) -> None:
    """Publish raw (key, value) messages to one partition as one record batch.

    A broker hands a batch out whole, so a consumer's fetch brings all of them or none:
    nothing it does between two fetches can fall between two of these messages.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **FAST_PRODUCER_SETTINGS)
    await producer.start()
    try:
        batch = producer.create_batch()
        for key, value in messages:
            assert batch.append(key=key, value=value, timestamp=None) is not None
        await (await producer.send_batch(batch, topic, partition=partition))
    finally:
        await producer.stop()


class TopicReader:
    """Reads every partition of a topic from the beginning, without a consumer group."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.records: list[Record] = []
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **FAST_CONSUMER_SETTINGS,
        )

    async def start(self) -> None:
        """Connect and take every partition of the (existing) topic."""
        await self._consumer.start()
        # All-topics metadata: naming the topic would make Tansu auto-create it.
        await self._consumer.topics()
        partitions = self._consumer.partitions_for_topic(self.topic)
        assert partitions, f"topic {self.topic} does not exist"
        self._consumer.assign([TopicPartition(self.topic, p) for p in sorted(partitions)])

    async def stop(self) -> None:
        """Disconnect."""
        await self._consumer.stop()

    async def poll(self) -> list[Record]:
        """Fetch once; return everything read so far."""
        batches = await self._consumer.getmany(timeout_ms=20)
        for records in batches.values():
            self.records.extend(records)
        return self.records

    async def until(
        self, done: Callable[[list[Record]], bool], what: str, within: float = DEADLINE_S
    ) -> list[Record]:
        """Read until `done(records)` holds; fail after `within` seconds."""

        async def probe() -> bool:
            return done(await self.poll())

        await eventually(probe, within=within, what=what)
        return self.records

    async def until_count(self, count: int, within: float = DEADLINE_S) -> list[Record]:
        """Read until at least `count` records arrived."""
        return await self.until(
            lambda records: len(records) >= count, f"{count} records on {self.topic}", within
        )

    async def drain(self, within: float = DEADLINE_S) -> list[Record]:
        """Read up to the high watermark of every partition: everything the topic holds now."""

        async def caught_up() -> bool:
            await self.poll()
            for tp in self._consumer.assignment():
                high = self._consumer.highwater(tp)
                if high is None or await self._consumer.position(tp) < high:
                    return False
            return True

        await eventually(caught_up, within=within, what=f"the end of {self.topic}")
        return self.records

    def envelopes(self) -> list[Envelope]:
        """The records read so far, parsed as envelopes."""
        return [Envelope.from_bytes(r.value) for r in self.records]


@asynccontextmanager
async def reading(bootstrap: str, topic: str) -> AsyncIterator[TopicReader]:
    """A started TopicReader, stopped on exit."""
    reader = TopicReader(bootstrap, topic)
    await reader.start()
    try:
        yield reader
    finally:
        await reader.stop()


def event_ids_by_key(records: list[Record]) -> dict[str, list[str]]:
    """Event ids in topic order, per record key (the account id)."""
    by_key: dict[str, list[str]] = defaultdict(list)
    for record in records:
        assert record.key is not None
        by_key[record.key.decode()].append(Envelope.from_bytes(record.value).event_id)
    return dict(by_key)


def header(record: Record, name: str) -> str:
    """One header of a record, decoded."""
    values = [bytes(v).decode() for k, v in record.headers if k == name]
    assert len(values) == 1, f"{name} appears {len(values)} times in {record.headers}"
    return values[0]


@asynccontextmanager
async def relay_running(relay: OutboxRelay) -> AsyncIterator[OutboxRelay]:
    """The relay publishing in a task until the block ends."""
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, DEADLINE_S)  # a relay that ignores cancel fails here


@asynccontextmanager
async def runner_running(runner: ConsumerRunner) -> AsyncIterator[ConsumerRunner]:
    """The consumer runner consuming in a task until the block ends (then stopped cleanly)."""
    task = asyncio.create_task(runner.run())

    async def started() -> bool:
        if task.done():
            task.result()  # raises what stopped it
            raise AssertionError("the consumer runner stopped before it started")
        return runner.started.is_set()

    try:
        await eventually(started, within=DEADLINE_S, what="the consumer runner started")
        yield runner
    finally:
        runner.stop()
        await asyncio.wait_for(task, DEADLINE_S)


def fast_runner(**kwargs: Any) -> ConsumerRunner:
    """A ConsumerRunner with the dev broker's fast group settings (joins in ~1 s, not ~5 s)."""
    return ConsumerRunner(consumer_settings=FAST_CONSUMER_SETTINGS, **kwargs)
