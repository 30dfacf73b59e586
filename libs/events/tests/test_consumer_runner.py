"""The consumer runner: one effect per event, redeliveries absorbed, poison parked in the DLQ.

Real Tansu broker, real databases (SQLite and PostgreSQL through `db_url`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from broker_io import (
    create_topics,
    fast_runner,
    header,
    publish,
    reading,
    runner_running,
    unique,
)
from prometheus_client import REGISTRY
from revline_events.consumer import ConsumerRunner
from revline_events.envelope import Envelope
from revline_events.topics import dead_letter_topic
from revline_testkit.broker import TansuBroker
from revline_testkit.waiting import eventually
from toy import (
    HANDLERS,
    TOY_CATALOGUE,
    ClickRecorded,
    CounterRenamed,
    Toy,
    kernel,
    upstream,
)


@pytest.fixture
async def upstream_topic(tansu: TansuBroker) -> str:
    """A fresh upstream topic and its dead-letter topic."""
    topic = unique("upstream.events")
    await create_topics(tansu.bootstrap, topic, dead_letter_topic(topic))
    return topic


@pytest.fixture
async def runner(
    toy: Toy, tansu: TansuBroker, upstream_topic: str
) -> AsyncIterator[ConsumerRunner]:
    """The toy's consumer runner on the upstream topic, consuming in a task."""
    consumer = new_runner(toy, tansu.bootstrap, upstream_topic, unique("group"))
    async with runner_running(consumer):
        yield consumer


def new_runner(toy: Toy, bootstrap: str, topic: str, group: str) -> ConsumerRunner:
    """A consumer runner of the toy service (its own service label, for its metrics)."""
    return fast_runner(
        service=unique("toy"),
        bootstrap=bootstrap,
        topics=[topic],
        uow_factory=toy.uow,
        handlers=HANDLERS,
        catalogue=TOY_CATALOGUE,
        group_id=group,
    )


def handled(runner: ConsumerRunner, topic: str, outcome: str) -> int:
    """How many events of `topic` the runner handled with `outcome` (its metric)."""
    value = REGISTRY.get_sample_value(
        "revline_events_handled_total",
        {"service": runner.service, "topic": topic, "outcome": outcome},
    )
    return int(value or 0)


def wire(envelope: Envelope) -> tuple[bytes, bytes]:
    """(key, value) of an envelope as a producer publishes it."""
    return envelope.account_id.encode(), envelope.to_bytes()


async def counter_is(toy: Toy, name: str, value: int) -> None:
    """Wait until counter `name` holds `value`."""

    async def probe() -> bool:
        return await toy.counter(name) == value

    await eventually(probe, what=f"counter {name} at {value}")


async def test_an_upstream_event_is_applied_once_in_one_transaction(
    toy: Toy, tansu: TansuBroker, upstream_topic: str, runner: ConsumerRunner
) -> None:
    click = upstream(ClickRecorded(name="a", clicks=3))

    await publish(tansu.bootstrap, upstream_topic, wire(click))
    await counter_is(toy, "a", 3)

    assert await toy.inbox_ids() == [click.event_id]
    async with toy.db.session() as session:
        [own] = await toy.store.read_stream(session, "counter-a")
    assert own.causation_id == click.event_id
    assert own.correlation_id == click.correlation_id
    assert own.payload == {"name": "a", "by": 3}
    assert await toy.unsent() == 1  # its own event is queued for its own topic
    assert handled(runner, upstream_topic, "applied") == 1


async def test_the_same_event_delivered_twice_has_one_effect(
    toy: Toy, tansu: TansuBroker, upstream_topic: str, runner: ConsumerRunner
) -> None:
    click = upstream(ClickRecorded(name="a", clicks=3))
    later = upstream(ClickRecorded(name="b", clicks=1))  # same key: read after the duplicate

    await publish(tansu.bootstrap, upstream_topic, wire(click), wire(click), wire(later))
    await counter_is(toy, "b", 1)

    assert await toy.counter("a") == 3
    assert sorted(await toy.inbox_ids()) == sorted([click.event_id, later.event_id])
    assert await toy.count(kernel.event_store) == 2
    assert handled(runner, upstream_topic, "duplicate") == 1
    assert handled(runner, upstream_topic, "applied") == 2


async def test_poison_events_go_to_the_dlq_with_their_reason_and_the_runner_moves_on(
    toy: Toy, tansu: TansuBroker, upstream_topic: str, runner: ConsumerRunner
) -> None:
    not_json = b"this is not json"
    unknown_type = upstream(ClickRecorded(name="x", clicks=1)).model_copy(
        update={"type": "CounterDeleted"}
    )
    invalid_payload = upstream(ClickRecorded(name="x", clicks=1)).model_copy(
        update={"payload": {"name": "x", "clicks": "many"}}
    )
    refused = upstream(ClickRecorded(name="locked-door", clicks=1))
    good = upstream(ClickRecorded(name="a", clicks=2))

    await publish(
        tansu.bootstrap,
        upstream_topic,
        (b"acme", not_json),
        wire(unknown_type),
        wire(invalid_payload),
        wire(refused),
        wire(good),
    )
    await counter_is(toy, "a", 2)

    async with reading(tansu.bootstrap, dead_letter_topic(upstream_topic)) as dlq:
        await dlq.until_count(4)
        parked = await dlq.drain()
    assert [record.value for record in parked] == [
        not_json,
        unknown_type.to_bytes(),
        invalid_payload.to_bytes(),
        refused.to_bytes(),
    ]
    reasons = [header(record, "error") for record in parked]
    assert reasons[0].startswith("unparseable envelope: ")
    assert reasons[1] == "unknown event type 'CounterDeleted'"
    assert reasons[2].startswith("payload of ClickRecorded v1 is invalid: ")
    assert "clicks" in reasons[2]
    assert reasons[3] == "CounterLocked: counter locked-door is locked"
    assert {header(record, "source_topic") for record in parked} == {upstream_topic}
    assert [int(header(record, "source_offset")) for record in parked] == [0, 1, 2, 3]
    assert all(record.key == b"acme" for record in parked)
    # Only the good event had an effect; the refused one left nothing behind.
    assert await toy.inbox_ids() == [good.event_id]
    assert await toy.counter("locked-door") is None
    assert await toy.count(kernel.event_store) == 1
    assert handled(runner, upstream_topic, "dead_lettered") == 4


async def test_an_event_a_service_constraint_refuses_is_dead_lettered_not_retried_forever(
    toy: Toy, tansu: TansuBroker, upstream_topic: str, runner: ConsumerRunner
) -> None:
    clash = upstream(ClickRecorded(name="clash", clicks=1))
    good = upstream(ClickRecorded(name="after-clash", clicks=3))
    await publish(tansu.bootstrap, upstream_topic, wire(clash), wire(good))
    await counter_is(toy, "after-clash", 3)

    async with reading(tansu.bootstrap, dead_letter_topic(upstream_topic)) as dlq:
        await dlq.until_count(1)
        parked = await dlq.drain()
    assert [record.value for record in parked] == [clash.to_bytes()]
    assert header(parked[0], "error").startswith("IntegrityError: ")
    assert await toy.inbox_ids() == [good.event_id]
    assert await toy.counter("clash") is None


async def test_a_known_event_without_a_handler_is_ignored_not_dead_lettered(
    toy: Toy, tansu: TansuBroker, upstream_topic: str, runner: ConsumerRunner
) -> None:
    renamed = upstream(CounterRenamed(name="a", new_name="b"))
    good = upstream(ClickRecorded(name="a", clicks=1))

    await publish(tansu.bootstrap, upstream_topic, wire(renamed), wire(good))
    await counter_is(toy, "a", 1)

    async with reading(tansu.bootstrap, dead_letter_topic(upstream_topic)) as dlq:
        assert await dlq.drain() == []
    assert await toy.inbox_ids() == [good.event_id]
    assert handled(runner, upstream_topic, "ignored") == 1


async def test_a_newer_minor_version_with_an_extra_field_is_applied(
    toy: Toy, tansu: TansuBroker, upstream_topic: str, runner: ConsumerRunner
) -> None:
    click = upstream(ClickRecorded(name="a", clicks=2))
    wire_form = json.loads(click.to_bytes())
    wire_form["payload"]["device"] = "kiosk-7"  # added by a newer producer

    await publish(tansu.bootstrap, upstream_topic, (b"acme", json.dumps(wire_form).encode()))
    await counter_is(toy, "a", 2)

    assert await toy.inbox_ids() == [click.event_id]


async def test_offsets_are_committed_once_the_events_are_in_the_database(
    toy: Toy, tansu: TansuBroker, upstream_topic: str, runner: ConsumerRunner
) -> None:
    clicks = [upstream(ClickRecorded(name="a", clicks=1)) for _ in range(3)]

    await publish(tansu.bootstrap, upstream_topic, *map(wire, clicks))
    await counter_is(toy, "a", 3)

    async def all_three_committed() -> dict[int, int] | None:
        offsets = await committed_offsets(tansu.bootstrap, runner.group_id, upstream_topic)
        return offsets if sum(offsets.values()) == 3 else None

    offsets = await eventually(all_three_committed, what="offsets committed past three events")
    assert list(offsets.values()) == [3]  # one key, so one partition


async def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The group's committed offsets on `topic` (the next offset it reads), by partition.

    Read by a consumer of the same group id that takes partitions by hand, so it
    never joins the group (aiokafka's admin OffsetFetch does not decode Tansu's answer).
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        offsets = {tp.partition: await consumer.committed(tp) for tp in partitions}
    finally:
        await consumer.stop()
    return {partition: offset for partition, offset in offsets.items() if offset is not None}
