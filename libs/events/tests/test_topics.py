"""Topic names and idempotent topic creation on the real broker."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from broker_io import create_topics, describe, unique
from revline_events.topics import dead_letter_topic, ensure_topics, events_topic
from revline_testkit.broker import TansuBroker


def test_a_service_publishes_on_its_events_topic() -> None:
    assert events_topic("billing") == "billing.events"


def test_poison_events_of_a_topic_are_parked_on_its_dlq_topic() -> None:
    assert dead_letter_topic("order.events") == "order.events.dlq"


async def retention_ms(bootstrap: str, topic: str) -> str:
    """The topic's retention.ms as the broker reports it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    [(_, _, _, _, entries)] = response.resources
    return str({name: value for name, value, *_ in entries}["retention.ms"])


async def test_ensure_topics_creates_missing_topics_with_partitions_and_infinite_retention(
    tansu: TansuBroker,
) -> None:
    topics = [unique("quote.events"), unique("contract.events")]

    await ensure_topics(tansu.bootstrap, topics, partitions=5, replication_factor=1)

    assert await describe(tansu.bootstrap, topics) == {t: 5 for t in topics}
    assert [await retention_ms(tansu.bootstrap, t) for t in topics] == ["-1", "-1"]


async def test_ensure_topics_twice_changes_nothing(tansu: TansuBroker) -> None:
    topics = [unique("quote.events")]

    await ensure_topics(tansu.bootstrap, topics, partitions=2, replication_factor=1)
    await ensure_topics(tansu.bootstrap, topics, partitions=6, replication_factor=1)

    assert await describe(tansu.bootstrap, topics) == {topics[0]: 2}


async def test_ensure_topics_creates_only_the_new_ones_of_a_mix(tansu: TansuBroker) -> None:
    existing, new = unique("order.events"), unique("billing.events")
    await create_topics(tansu.bootstrap, existing, partitions=1)

    await ensure_topics(
        tansu.bootstrap, [existing, new, new, existing], partitions=4, replication_factor=1
    )

    assert await describe(tansu.bootstrap, [existing, new]) == {existing: 1, new: 4}


async def test_concurrent_callers_of_ensure_topics_both_succeed(tansu: TansuBroker) -> None:
    """Replicas starting together race between listing and creating; the loser is fine."""
    topics = [unique("ledger.events"), unique("ledger.events.dlq")]

    await asyncio.gather(
        *(
            ensure_topics(tansu.bootstrap, topics, partitions=3, replication_factor=1)
            for _ in range(4)
        )
    )

    assert await describe(tansu.bootstrap, topics) == {t: 3 for t in topics}


async def test_ensure_topics_with_no_topics_does_nothing(tansu: TansuBroker) -> None:
    await ensure_topics(tansu.bootstrap, [], partitions=3, replication_factor=1)
