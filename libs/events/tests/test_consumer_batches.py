"""Batched consumption: the records of one fetch in one transaction, each applied once.

Every test publishes its records before the runner starts, so the runner's first
fetch brings them all as one batch. Real Tansu broker, real databases (SQLite and
PostgreSQL through `db_url`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from broker_io import create_topics, fast_runner, header, publish, reading, runner_running, unique
from prometheus_client import REGISTRY
from revline_events.consumer import BatchHandler, ConsumerRunner
from revline_events.envelope import Envelope
from revline_events.topics import dead_letter_topic
from revline_events.unit_of_work import UnitOfWork
from revline_testkit.broker import TansuBroker
from revline_testkit.waiting import eventually
from toy import (
    CLOCK,
    HANDLERS,
    SERVICE,
    TOY_CATALOGUE,
    ClickBatches,
    ClickRecorded,
    CounterRenamed,
    Toy,
    kernel,
    project,
    upstream,
)


def wire(envelope: Envelope) -> tuple[bytes, bytes]:
    """(key, value) of an envelope as a producer publishes it."""
    return envelope.account_id.encode(), envelope.to_bytes()


def handled(runner: ConsumerRunner, topic: str, outcome: str) -> int:
    """How many events of `topic` the runner handled with `outcome` (its metric)."""
    value = REGISTRY.get_sample_value(
        "revline_events_handled_total",
        {"service": runner.service, "topic": topic, "outcome": outcome},
    )
    return int(value or 0)


async def fresh_topic(tansu: TansuBroker) -> str:
    """A new upstream topic and its dead-letter topic."""
    topic = unique("upstream.events")
    await create_topics(tansu.bootstrap, topic, dead_letter_topic(topic))
    return topic


@asynccontextmanager
async def consuming(
    toy: Toy,
    tansu: TansuBroker,
    topic: str,
    batch_handlers: Mapping[str, BatchHandler] | None = None,
) -> AsyncIterator[ConsumerRunner]:
    """The toy's runner on `topic` (per-event handlers, plus `batch_handlers`), running."""
    runner = fast_runner(
        service=unique("toy"),
        bootstrap=tansu.bootstrap,
        topics=[topic],
        uow_factory=toy.uow,
        handlers=HANDLERS,
        batch_handlers=batch_handlers,
        catalogue=TOY_CATALOGUE,
        group_id=unique("group"),
    )
    async with runner_running(runner):
        yield runner


async def until_handled(
    runner: ConsumerRunner, topic: str, count: int, within: float = 15.0
) -> None:
    """Wait until the runner has handled `count` records of `topic`, whatever the outcome."""

    async def probe() -> bool:
        outcomes = ("applied", "duplicate", "ignored", "dead_lettered")
        return sum(handled(runner, topic, o) for o in outcomes) >= count

    await eventually(probe, within=within, what=f"{count} records of {topic} handled")


async def test_a_fetched_batch_goes_to_the_batch_handler_in_one_piece_and_applies_once(
    toy: Toy, tansu: TansuBroker
) -> None:
    topic = await fresh_topic(tansu)
    clicks = [upstream(ClickRecorded(name=name, clicks=n)) for n, name in enumerate("abab", 1)]
    batches = ClickBatches()
    await publish(tansu.bootstrap, topic, *map(wire, clicks))

    async with consuming(toy, tansu, topic, batches.handlers()) as runner:
        await until_handled(runner, topic, 4)

    assert batches.sizes == [4]
    assert (await toy.counter("a"), await toy.counter("b")) == (1 + 3, 2 + 4)
    assert sorted(await toy.inbox_ids()) == sorted(e.event_id for e in clicks)
    async with toy.db.session() as session:
        own = await toy.store.read_stream(session, "counter-b")
    assert [(e.stream_version, e.causation_id) for e in own] == [
        (1, clicks[1].event_id),
        (2, clicks[3].event_id),
    ]
    assert handled(runner, topic, "applied") == 4


async def test_a_poison_record_in_the_middle_of_a_batch_goes_alone_to_the_dlq(
    toy: Toy, tansu: TansuBroker
) -> None:
    topic = await fresh_topic(tansu)
    before = [upstream(ClickRecorded(name="a", clicks=n)) for n in (1, 10)]
    poison = upstream(ClickRecorded(name="locked-door", clicks=1))
    after = [upstream(ClickRecorded(name="a", clicks=n)) for n in (100, 1000)]
    batches = ClickBatches()
    await publish(tansu.bootstrap, topic, *map(wire, [*before, poison, *after]))

    async with consuming(toy, tansu, topic, batches.handlers()) as runner:
        await until_handled(runner, topic, 5)
        async with reading(tansu.bootstrap, dead_letter_topic(topic)) as dlq:
            parked = await dlq.drain()

    assert batches.sizes[0] == 5  # the batch was tried whole, then one record at a time
    assert [record.value for record in parked] == [poison.to_bytes()]
    assert header(parked[0], "error") == "CounterLocked: counter locked-door is locked"
    assert int(header(parked[0], "source_offset")) == 2
    # The records before and after it applied exactly once.
    assert await toy.counter("a") == 1111
    assert await toy.counter("locked-door") is None
    assert sorted(await toy.inbox_ids()) == sorted(e.event_id for e in [*before, *after])
    assert await toy.count(kernel.event_store) == 4
    assert handled(runner, topic, "applied") == 4
    assert handled(runner, topic, "dead_lettered") == 1


class CountingUnitOfWork(UnitOfWork):
    """The toy's unit of work, counting the transactions it commits."""

    commits = 0

    def __init__(self, toy: Toy) -> None:
        super().__init__(
            toy.db, kernel, toy.store, project, producer=SERVICE, clock=CLOCK,
            catalogue=TOY_CATALOGUE,
        )  # fmt: skip

    async def commit(self) -> None:
        """Commit, and count it."""
        await super().commit()
        CountingUnitOfWork.commits += 1


async def test_the_records_around_a_refused_one_are_applied_as_batches_again(
    toy: Toy, tansu: TansuBroker
) -> None:
    # Per-event handlers: the refusal names its record, so only that one goes alone.
    topic = await fresh_topic(tansu)
    before = [upstream(ClickRecorded(name="a", clicks=n)) for n in (1, 10)]
    poison = upstream(ClickRecorded(name="locked-door", clicks=1))
    after = [upstream(ClickRecorded(name="a", clicks=n)) for n in (100, 1000)]
    await publish(tansu.bootstrap, topic, *map(wire, [*before, poison, *after]))
    CountingUnitOfWork.commits = 0
    runner = fast_runner(
        service=unique("toy"),
        bootstrap=tansu.bootstrap,
        topics=[topic],
        uow_factory=lambda: CountingUnitOfWork(toy),
        handlers=HANDLERS,
        catalogue=TOY_CATALOGUE,
        group_id=unique("group"),
    )
    async with runner_running(runner):
        await until_handled(runner, topic, 5)

    assert CountingUnitOfWork.commits == 2  # the two before, then the two after
    assert await toy.counter("a") == 1111
    assert sorted(await toy.inbox_ids()) == sorted(e.event_id for e in [*before, *after])
    assert handled(runner, topic, "dead_lettered") == 1
    assert handled(runner, topic, "applied") == 4


async def test_a_constraint_refusing_one_record_of_a_batch_dead_letters_that_record_only(
    toy: Toy, tansu: TansuBroker
) -> None:
    # Per-event handlers only: the batch is one transaction around all of them.
    topic = await fresh_topic(tansu)
    first = upstream(ClickRecorded(name="a", clicks=1))
    clash = upstream(ClickRecorded(name="clash", clicks=1))
    last = upstream(ClickRecorded(name="a", clicks=10))
    await publish(tansu.bootstrap, topic, *map(wire, [first, clash, last]))

    async with consuming(toy, tansu, topic) as runner:
        await until_handled(runner, topic, 3)
        async with reading(tansu.bootstrap, dead_letter_topic(topic)) as dlq:
            parked = await dlq.drain()

    assert [record.value for record in parked] == [clash.to_bytes()]
    assert header(parked[0], "error").startswith("IntegrityError: ")
    assert await toy.counter("a") == 11
    assert await toy.counter("clash") is None
    assert sorted(await toy.inbox_ids()) == sorted([first.event_id, last.event_id])
    assert await toy.count(kernel.event_store) == 2


async def test_a_batch_delivered_again_and_an_event_twice_in_one_batch_have_one_effect(
    toy: Toy, tansu: TansuBroker
) -> None:
    topic = await fresh_topic(tansu)
    clicks = [upstream(ClickRecorded(name="a", clicks=n)) for n in (1, 10)]
    batches = ClickBatches()
    await publish(tansu.bootstrap, topic, *map(wire, [*clicks, clicks[0]]))

    async with consuming(toy, tansu, topic, batches.handlers()) as runner:
        await until_handled(runner, topic, 3)
    assert batches.sizes == [2]
    assert handled(runner, topic, "applied") == 2
    assert handled(runner, topic, "duplicate") == 1

    # The whole batch again, as a consumer group with no committed offsets reads it.
    async with consuming(toy, tansu, topic, batches.handlers()) as again:
        await until_handled(again, topic, 3)
    assert batches.sizes == [2]  # nothing new reached the handler
    assert handled(again, topic, "duplicate") == 3
    assert await toy.counter("a") == 11
    assert await toy.count(kernel.event_store) == 2


async def test_poison_and_ignored_records_among_a_batch_leave_the_others_in_order(
    toy: Toy, tansu: TansuBroker
) -> None:
    topic = await fresh_topic(tansu)
    first = upstream(ClickRecorded(name="a", clicks=1))
    renamed = upstream(CounterRenamed(name="a", new_name="b"))  # no handler: ignored
    not_json = b"this is not json"
    last = upstream(ClickRecorded(name="a", clicks=10))
    batches = ClickBatches()
    messages = [wire(first), wire(renamed), (b"acme", not_json), wire(last)]
    await publish(tansu.bootstrap, topic, *messages)

    async with consuming(toy, tansu, topic, batches.handlers()) as runner:
        await until_handled(runner, topic, 4)
        async with reading(tansu.bootstrap, dead_letter_topic(topic)) as dlq:
            parked = await dlq.drain()

    assert batches.sizes == [2]  # the parse failure did not cost the batch its transaction
    assert [record.value for record in parked] == [not_json]
    assert await toy.counter("a") == 11
    async with toy.db.session() as session:
        own = await toy.store.read_stream(session, "counter-a")
    assert [e.causation_id for e in own] == [first.event_id, last.event_id]
    assert handled(runner, topic, "ignored") == 1
    assert handled(runner, topic, "dead_lettered") == 1
    assert handled(runner, topic, "applied") == 2


async def test_after_a_broker_restart_a_republished_log_applies_only_what_is_new(
    db_url: str,
) -> None:
    """The restarted (empty) broker gets the upstream log again, plus what is new: the
    new events apply once and nothing doubles.

    Whether the runner re-reads the log from its start (its group's offsets are gone
    with the broker: the old events come again as duplicates) or goes on from the
    position it held (the new log is as long), the effect is the same. A broker of
    its own: a restart wipes the memory storage the module's broker shares.
    """
    broker = TansuBroker()
    await asyncio.to_thread(broker.start)
    toy = Toy(db_url, unique("toy.events"))
    try:
        await toy.create_tables()
        topic = await fresh_topic(broker)
        old = [upstream(ClickRecorded(name="a", clicks=n)) for n in (1, 10)]
        new = [upstream(ClickRecorded(name="a", clicks=n)) for n in (100, 1000)]
        batches = ClickBatches()
        await publish(broker.bootstrap, topic, *map(wire, old))
        async with consuming(toy, broker, topic, batches.handlers()) as runner:
            await until_handled(runner, topic, 2)

            # Killed, not drained: on SIGTERM Tansu waits 5 s for open connections first.
            await asyncio.to_thread(broker.stop, 0.2)
            await asyncio.to_thread(broker.restart)
            await create_topics(broker.bootstrap, topic, dead_letter_topic(topic))
            # The upstream republishes its log (`python -m <service> republish`) and goes on.
            await publish(broker.bootstrap, topic, *map(wire, [*old, *new]))

            async def new_ones_applied() -> bool:
                return await toy.counter("a") == 1111

            # Reconnecting after the restart took up to ~15 s on the loaded machine.
            await eventually(new_ones_applied, within=60.0, what="the new events applied")

        assert handled(runner, topic, "applied") == 4
        assert await toy.counter("a") == 1111
        assert sorted(await toy.inbox_ids()) == sorted(e.event_id for e in [*old, *new])
        assert await toy.count(kernel.event_store) == 4
        assert sum(batches.sizes) == 4  # the republished old events never reached it
    finally:
        await toy.close()
        await asyncio.to_thread(broker.close)
