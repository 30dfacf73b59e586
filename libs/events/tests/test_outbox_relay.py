"""The outbox relay: commit order per key, woken by commits, rows marked sent, broker outages.

Real Tansu broker, real databases (SQLite and PostgreSQL through `db_url`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from broker_io import (
    create_topics,
    describe,
    event_ids_by_key,
    reading,
    relay_running,
    unique,
)
from prometheus_client import REGISTRY
from revline_events.event_store import Queued
from revline_events.outbox import OutboxRelay
from revline_testkit.broker import TansuBroker
from revline_testkit.waiting import eventually
from sqlalchemy import event, select
from toy import Toy, increment, kernel

ACCOUNTS = ("acme", "globex", "initech", "umbrella")


class Ledger:
    """Records toy events in units of work and remembers, per account, the commit order."""

    def __init__(self, toy: Toy) -> None:
        self.toy = toy
        self.by_account: dict[str, list[str]] = defaultdict(list)
        self._versions: dict[str, int] = defaultdict(int)

    async def record(self, account: str, counter: str, events: int = 1) -> None:
        """Commit `events` increments of `counter` (owned by `account`) in one unit of work."""
        version = self._versions[counter]
        envelopes = [
            increment(counter, 1, version=version + n, account_id=account)
            for n in range(1, events + 1)
        ]
        await self.toy.record(envelopes, expected_version=version)
        self._versions[counter] = version + events
        self.by_account[account].extend(e.event_id for e in envelopes)

    @property
    def total(self) -> int:
        """Events committed so far."""
        return sum(map(len, self.by_account.values()))


def new_relay(toy: Toy, bootstrap: str, *, batch_size: int = 1000) -> OutboxRelay:
    """A relay on the toy database, woken by the toy's commits."""
    relay = OutboxRelay(toy.db, kernel, bootstrap, service=unique("toy"), batch_size=batch_size)
    toy.after_commit = relay
    return relay


async def test_events_are_published_in_commit_order_per_account_key(
    toy: Toy, tansu: TansuBroker
) -> None:
    ledger = Ledger(toy)
    relay = new_relay(toy, tansu.bootstrap, batch_size=7)

    async with relay_running(relay):
        for step in range(60):
            account = ACCOUNTS[step % len(ACCOUNTS)]
            counter = f"{account}-{step % 3}"
            await ledger.record(account, counter, events=1 + step % 3)
        async with reading(tansu.bootstrap, toy.topic) as reader:
            await reader.until_count(ledger.total)
            records = await reader.drain()

    assert len(records) == ledger.total == 120
    assert event_ids_by_key(records) == ledger.by_account
    partitions_of_key = defaultdict(set)
    for record in records:
        partitions_of_key[record.key].add(record.partition)
    assert all(len(p) == 1 for p in partitions_of_key.values()), partitions_of_key


async def test_published_records_carry_the_envelope_key_and_type_header(
    toy: Toy, tansu: TansuBroker
) -> None:
    envelope = increment("a", 3, version=1, account_id="globex")
    relay = new_relay(toy, tansu.bootstrap)

    async with relay_running(relay):
        await toy.record([envelope], expected_version=0)
        async with reading(tansu.bootstrap, toy.topic) as reader:
            [record] = await reader.until_count(1)

    assert record.key == b"globex"
    assert reader.envelopes() == [envelope]
    assert dict(record.headers) == {
        "type": b"CounterIncremented",
        "correlation_id": envelope.correlation_id.encode(),
    }


async def test_a_commit_wakes_the_relay_without_waiting_for_the_idle_poll(
    toy: Toy, tansu: TansuBroker
) -> None:
    relay = OutboxRelay(toy.db, kernel, tansu.bootstrap, service=unique("toy"), idle_poll=30)
    # Recorded before the relay runs, without waking it: its first pass takes it.
    await toy.record([increment("a", 1, version=1)], expected_version=0)

    async with relay_running(relay), reading(tansu.bootstrap, toy.topic) as reader:
        await reader.until_count(1)
        await eventually(lambda: _none_unsent(toy), what="the first event marked sent")
        # The relay now waits up to 30 s for a wake-up; the commit gives it one.
        toy.after_commit = relay
        await toy.record([increment("a", 1, version=2)], expected_version=1)
        records = await reader.until_count(2, within=10)

    assert [e.stream_version for e in reader.envelopes()] == [1, 2]
    assert len(records) == 2


async def _none_unsent(toy: Toy) -> bool:
    return await toy.unsent() == 0


async def test_published_rows_are_marked_sent_and_the_backlog_drains(
    toy: Toy, tansu: TansuBroker
) -> None:
    ledger = Ledger(toy)
    for step in range(5):
        await ledger.record(ACCOUNTS[step % 2], f"c{step}", events=2)
    relay = new_relay(toy, tansu.bootstrap)
    assert await relay.backlog() == 10

    async with relay_running(relay):
        await eventually(lambda: _none_unsent(toy), what="every row marked sent")
        async with reading(tansu.bootstrap, toy.topic) as reader:
            await reader.until_count(10)
            records = await reader.drain()

    assert await relay.backlog() == 0
    async with toy.db.session() as session:
        sent_at = list(await session.scalars(select(kernel.outbox.c.sent_at)))
    assert len(sent_at) == 10 and all(at is not None for at in sent_at)
    assert len(records) == 10


async def test_events_recorded_while_the_broker_is_down_arrive_once_in_order_after_restart(
    db_url: str,
) -> None:
    """Writes never wait for the broker; the restarted (empty) broker gets every queued event.

    A broker of its own: a restart wipes the memory storage the module's broker shares.
    """
    broker = TansuBroker()
    await asyncio.to_thread(broker.start)
    toy = Toy(db_url, unique("toy.events"))
    try:
        await create_topics(broker.bootstrap, toy.topic)
        await toy.create_tables()
        ledger = Ledger(toy)
        relay = new_relay(toy, broker.bootstrap)
        async with relay_running(relay):
            await ledger.record("acme", "before")
            await eventually(lambda: _none_unsent(toy), what="the first event published")
            lost_with_the_broker = list(ledger.by_account["acme"])

            # Killed, not drained: on SIGTERM Tansu waits 5 s for open connections first.
            await asyncio.to_thread(broker.stop, 0.2)
            for step in range(6):
                await ledger.record(ACCOUNTS[step % 2], f"during-{step % 3}", events=2)
            assert await toy.unsent() == 12  # recorded, waiting for the broker

            await asyncio.to_thread(broker.restart)
            for step in range(4):
                await ledger.record(ACCOUNTS[step % 2], f"after-{step % 2}")
            await eventually(lambda: _none_unsent(toy), within=30, what="the backlog published")

            async with reading(broker.bootstrap, toy.topic) as reader:
                records = await reader.until_count(16)
                records = await reader.drain()
            partitions = await describe(broker.bootstrap, [toy.topic])
    finally:
        await toy.close()
        await asyncio.to_thread(broker.close)

    expected = {
        account: [e for e in ids if e not in lost_with_the_broker]
        for account, ids in ledger.by_account.items()
    }
    assert event_ids_by_key(records) == expected
    assert len(records) == len({r.value for r in records}) == 16
    assert partitions == {toy.topic: 3}  # re-created by the relay, not auto-created (4)


class CountingRelay(OutboxRelay):
    """A relay that counts the metadata requests it makes to check its topics."""

    metadata_requests = 0

    async def _missing_topics(self, producer: AIOKafkaProducer, topics: list[str]) -> list[str]:
        self.metadata_requests += 1
        return await super()._missing_topics(producer, topics)


async def test_a_relay_asks_for_metadata_again_only_once_its_connection_changed(
    db_url: str,
) -> None:
    """The connections that listed the topics still up: no metadata round trip per
    publish. The broker restarted empty: the relay asks again, re-creates the topic
    and publishes what came after the restart."""
    broker = TansuBroker()
    await asyncio.to_thread(broker.start)
    toy = Toy(db_url, unique("toy.events"))
    try:
        await create_topics(broker.bootstrap, toy.topic)
        await toy.create_tables()
        ledger = Ledger(toy)
        relay = CountingRelay(toy.db, kernel, broker.bootstrap, service=unique("toy"))
        toy.after_commit = relay
        async with relay_running(relay):
            await ledger.record("acme", "first")
            await eventually(lambda: _none_unsent(toy), what="the first event published")
            asked = relay.metadata_requests
            assert asked >= 1
            for step in range(5):
                await ledger.record(ACCOUNTS[step % 2], "steady")
                await eventually(lambda: _none_unsent(toy), what=f"event {step} published")
            assert relay.metadata_requests == asked  # same connections: no metadata asked

            await asyncio.to_thread(broker.stop, 0.2)
            await asyncio.to_thread(broker.restart)
            await ledger.record("globex", "after")
            await eventually(lambda: _none_unsent(toy), within=30, what="the event after restart")
            assert relay.metadata_requests > asked

            async with reading(broker.bootstrap, toy.topic) as reader:
                records = await reader.until_count(1)
                records = await reader.drain()
            partitions = await describe(broker.bootstrap, [toy.topic])
    finally:
        await toy.close()
        await asyncio.to_thread(broker.close)

    assert event_ids_by_key(records) == {"globex": ledger.by_account["globex"][-1:]}
    assert partitions == {toy.topic: 3}  # re-created by the relay, not auto-created (4)


async def test_on_sqlite_the_relay_publishes_what_was_committed_without_reading_it_back(
    toy: Toy, tansu: TansuBroker, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Once a read found nothing older unsent, what this process commits is published as
    the unit of work handed it over. On PostgreSQL, where other replicas write the same
    outbox, every commit is read back in id order."""
    reads = 0

    @event.listens_for(toy.db.engine.sync_engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal reads
        if "FROM outbox JOIN event_store" in statement:
            reads += 1

    ledger = Ledger(toy)
    # The relay reads the outbox again after idle_poll even while it is busy; an hour keeps
    # that timer out of a test a loaded machine can stretch past 30 s.
    relay = OutboxRelay(toy.db, kernel, tansu.bootstrap, service=unique("toy"), idle_poll=3600)
    toy.after_commit = relay
    async with relay_running(relay):
        await ledger.record("acme", "first")
        await eventually(lambda: _none_unsent(toy), what="the first event published")
        before = reads
        for step in range(5):
            await ledger.record(ACCOUNTS[step % 3], f"handed-{step % 2}", events=1 + step % 2)
            await eventually(lambda: _none_unsent(toy), what=f"commit {step} published")
        read_back = reads - before
        async with reading(tansu.bootstrap, toy.topic) as reader:
            records = await reader.until_count(ledger.total)
            records = await reader.drain()

    assert before >= 1  # the first pass reads the outbox
    failures = [r.getMessage() for r in caplog.records if r.name == "revline_events.outbox"]
    expected = "no read back" if db_url.startswith("sqlite") else "a read per commit"
    assert (read_back == 0) if db_url.startswith("sqlite") else (read_back >= 5), (
        f"{expected} expected, {read_back} reads; relay warnings: {failures}"
    )
    assert event_ids_by_key(records) == ledger.by_account
    assert len(records) == ledger.total == 8


class HeldHandOver:
    """An after-commit hook that keeps what a commit hands over, to hand it later."""

    def __init__(self) -> None:
        self.queued: list[Queued] = []

    def committed(self, queued: Sequence[Queued]) -> None:
        self.queued.extend(queued)

    def notify(self) -> None:
        raise AssertionError("a unit of work hands its rows over")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL hands nothing over
async def test_on_sqlite_rows_a_read_published_are_not_read_again_nor_published_twice(
    toy: Toy, tansu: TansuBroker
) -> None:
    """A commit lands just before the relay's read: the read publishes its rows, and the
    hand-over that follows (the wake-up, the rows) is then stale. Published once, no
    second read."""
    reads = 0

    @event.listens_for(toy.db.engine.sync_engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal reads
        if "FROM outbox JOIN event_store" in statement:
            reads += 1

    ledger, held = Ledger(toy), HeldHandOver()
    relay = OutboxRelay(toy.db, kernel, tansu.bootstrap, service=unique("toy"), idle_poll=3600)
    toy.after_commit = held
    await ledger.record("acme", "early")  # committed before the relay reads
    toy.after_commit = relay
    async with relay_running(relay):
        await eventually(lambda: _none_unsent(toy), what="the early event published by a read")
        assert reads == 1
        relay.committed(held.queued)  # the early commit's hand-over, late
        await ledger.record("globex", "later")  # handed over: published without a read
        await eventually(lambda: _none_unsent(toy), what="the later event published")
        async with reading(tansu.bootstrap, toy.topic) as reader:
            records = await reader.until_count(2)
            records = await reader.drain()

    assert reads == 1
    assert event_ids_by_key(records) == ledger.by_account  # the early event once


async def test_a_relay_stops_when_cancelled_even_as_a_commit_wakes_it(
    toy: Toy, tansu: TansuBroker
) -> None:
    """A commit's notify() and a shutdown's cancel() landing together must not lose the cancel."""
    service = unique("toy")
    relay = OutboxRelay(toy.db, kernel, tansu.bootstrap, service=service, idle_poll=30)
    task = asyncio.create_task(relay.run())
    try:

        async def idle() -> bool:
            # Set when a pass found nothing to publish; the relay then waits for a wake-up.
            backlog = REGISTRY.get_sample_value("revline_outbox_backlog", {"service": service})
            return backlog == 0

        await eventually(idle, what="the relay idle")
        relay.notify()
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=10)

        assert task in done and task.cancelled()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
