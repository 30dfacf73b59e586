"""Reading topics from a test: raw records (the DLQ's need not be envelopes), their
headers, and whether a live service's consumer group has caught up.

One copy for every service's tests (order, billing and ledger each had their own).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from revline_testkit.broker import FAST_CONSUMER_SETTINGS
from revline_testkit.live import LiveService
from revline_testkit.waiting import eventually

Record: TypeAlias = ConsumerRecord[bytes, bytes]


def unique(prefix: str) -> str:
    """A name (account, contract, subscription) no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def header(record: Record, name: str) -> str:
    """One header of a record, decoded; fails unless it appears exactly once."""
    values = [bytes(v).decode() for k, v in record.headers if k == name]
    assert len(values) == 1, f"{name} appears {len(values)} times in {record.headers}"
    return values[0]


class RawTopicReader:
    """Reads a topic's raw records from the beginning, without a group (for the DLQ,
    whose records need not be envelopes, and whose headers carry the reason)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.records: list[Record] = []
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
            auto_offset_reset="earliest", **FAST_CONSUMER_SETTINGS,
        )  # fmt: skip

    async def __aenter__(self) -> RawTopicReader:
        await self._consumer.start()
        partitions: set[int] = set()

        async def topic_exists() -> bool:
            # All-topics metadata: naming a missing topic would make Tansu create it.
            await self._consumer.topics()
            partitions.update(self._consumer.partitions_for_topic(self.topic) or ())
            return bool(partitions)

        await eventually(topic_exists, what=f"topic {self.topic}")
        self._consumer.assign([TopicPartition(self.topic, p) for p in sorted(partitions)])
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._consumer.stop()

    async def _fetch(self) -> None:
        batches = await self._consumer.getmany(timeout_ms=20)
        for records in batches.values():
            self.records.extend(records)

    async def first(self, match: Callable[[Record], bool]) -> Record:
        """The first record `match` accepts, reading on until it arrives (15 s at most)."""

        async def probe() -> Record | None:
            await self._fetch()
            return next((r for r in self.records if match(r)), None)

        return await eventually(probe, what=f"a matching record on {self.topic}")

    async def ends(self) -> dict[int, int]:
        """Each partition's end offset, read as the fetch high watermark (the dev
        broker's ListOffsets "latest" is not to be trusted)."""

        async def at_end() -> bool:
            await self._fetch()
            for tp in self._consumer.assignment():
                high = self._consumer.highwater(tp)
                if high is None or await self._consumer.position(tp) < high:
                    return False
            return True

        await eventually(at_end, what=f"the end of {self.topic}")
        assigned = self._consumer.assignment()
        return {tp.partition: await self._consumer.position(tp) for tp in assigned}


async def topic_ends(bootstrap: str, *topics: str) -> dict[TopicPartition, int]:
    """The current end offset of every partition of `topics` (those that exist)."""
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await probe.start()
    try:
        existing = await probe.topics()
    finally:
        await probe.stop()
    ends: dict[TopicPartition, int] = {}
    for topic in topics:
        if topic not in existing:
            continue
        async with RawTopicReader(bootstrap, topic) as reader:
            ends.update({TopicPartition(topic, p): end for p, end in (await reader.ends()).items()})
    return ends


async def caught_up(service: LiveService, *topics: str) -> None:
    """Wait until the service's consumer group has committed everything now on `topics`
    (default: every topic its consumer reads): every event so far is handled and in its
    database."""
    consumer = service.runtime.consumer
    assert consumer is not None
    await group_caught_up(
        service.runtime.settings.kafka_bootstrap, consumer.group_id, *(topics or consumer.topics)
    )


async def group_caught_up(
    bootstrap: str, group_id: str, *topics: str, within: float = 30.0
) -> None:
    """Wait until consumer group `group_id` has committed everything now on `topics`."""
    ends = await topic_ends(bootstrap, *topics)
    # Assigned, not subscribed: it reads the group's committed offsets without joining
    # the group (which would take partitions from the service).
    group = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id,
                             enable_auto_commit=False)  # fmt: skip
    await group.start()
    try:
        group.assign(list(ends))

        async def committed_to_the_end() -> bool:
            for tp, end in ends.items():
                if end and (await group.committed(tp) or 0) < end:
                    return False
            return True

        await eventually(committed_to_the_end, within=within, what=f"{group_id} caught up")
    finally:
        await group.stop()
