"""Fetch pacing: a short fetch wait while records arrive, a long one when idle, no record lost.

Real Tansu broker; the consumer's clock is the test's, so nothing waits on time.
"""

from __future__ import annotations

import pytest
from aiokafka import TopicPartition
from broker_io import create_topics, publish, runner_running, unique
from revline_events.consumer import ConsumerRunner
from revline_events.kafka import FetchPacing, PacedConsumer, new_consumer
from revline_events.topics import dead_letter_topic
from revline_testkit.broker import FAST_CONSUMER_SETTINGS, TansuBroker
from revline_testkit.waiting import eventually
from toy import HANDLERS, TOY_CATALOGUE, ClickRecorded, Toy, upstream

PACING = FetchPacing(busy_wait_ms=10, idle_wait_ms=250, idle_after_ms=1000)


def test_the_busy_wait_holds_until_idle_after_then_the_idle_wait() -> None:
    assert PACING.wait_ms(0.0) == 10
    assert PACING.wait_ms(0.999) == 10
    assert PACING.wait_ms(1.0) == 250
    assert PACING.wait_ms(3600.0) == 250


def test_idle_after_zero_means_always_the_idle_wait() -> None:
    assert FetchPacing(busy_wait_ms=10, idle_wait_ms=500, idle_after_ms=0).wait_ms(0.0) == 500


@pytest.mark.parametrize("field", ["busy_wait_ms", "idle_wait_ms", "idle_after_ms"])
def test_a_negative_duration_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match="negative"):
        FetchPacing(**{field: -1})


async def test_new_consumer_with_pacing_starts_with_the_busy_wait() -> None:
    consumer = new_consumer("127.0.0.1:1", None, pacing=PACING, fetch_max_wait_ms=999)
    assert isinstance(consumer, PacedConsumer)
    assert consumer.fetch_wait_ms == 10


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_idle_consumer_waits_longer_and_still_gets_the_next_record_then_hurries(
    tansu: TansuBroker,
) -> None:
    topic = unique("paced.events")
    await create_topics(tansu.bootstrap, topic, partitions=1)
    clock = Clock()
    consumer = PacedConsumer(
        pacing=PACING,
        monotonic=clock,
        bootstrap_servers=tansu.bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        assert await consumer.getmany(timeout_ms=50) == {}
        assert consumer.fetch_wait_ms == 10  # quiet for 0 s: still busy

        clock.now += 1.0
        assert await consumer.getmany(timeout_ms=50) == {}
        assert consumer.fetch_wait_ms == 250  # quiet for 1 s: idle

        await publish(tansu.bootstrap, topic, (b"k", b"after the quiet spell"))
        got: list[bytes] = []

        async def arrived() -> bool:
            batches = await consumer.getmany(timeout_ms=100)
            got.extend(r.value for records in batches.values() for r in records)
            return bool(got)

        await eventually(arrived, what="the record published while the consumer was idle")
        assert got == [b"after the quiet spell"]
        assert consumer.fetch_wait_ms == 10  # records came back: busy again
    finally:
        await consumer.stop()


async def test_a_runner_whose_consumer_is_idle_applies_the_next_event_once(
    toy: Toy, tansu: TansuBroker
) -> None:
    topic = unique("upstream.events")
    await create_topics(tansu.bootstrap, topic, dead_letter_topic(topic))
    # Idle from the start (idle_after_ms=0): every fetch waits the idle wait.
    idle = FetchPacing(busy_wait_ms=10, idle_wait_ms=400, idle_after_ms=0)
    runner = ConsumerRunner(
        service=unique("toy"),
        bootstrap=tansu.bootstrap,
        topics=[topic],
        uow_factory=toy.uow,
        handlers=HANDLERS,
        catalogue=TOY_CATALOGUE,
        group_id=unique("group"),
        consumer_settings={**FAST_CONSUMER_SETTINGS, "pacing": idle},
    )
    click = upstream(ClickRecorded(name="idle", clicks=2))
    async with runner_running(runner):
        await publish(tansu.bootstrap, topic, (click.account_id.encode(), click.to_bytes()))

        async def applied() -> bool:
            return await toy.counter("idle") == 2

        await eventually(applied, what="the event applied by the idle runner")
    assert await toy.inbox_ids() == [click.event_id]
