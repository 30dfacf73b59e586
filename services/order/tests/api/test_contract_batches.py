"""Contract events in batches: a fetched run leaves what one event at a time leaves, and a
contract created twice amid a batch goes alone to the DLQ."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from order.main import SPEC
from order.settings import OrderSettings
from order.store.projector import project
from order.store.tables import PROJECTIONS, kernel, orders
from order_feed import CONTRACT_CLOCK, subscription
from revline_events.catalogue import CATALOGUE, EventPayload, make_envelope
from revline_events.clock import FixedClock
from revline_events.envelope import Envelope
from revline_events.payloads.contract import (
    ContractAmended,
    ContractCreated,
    ContractTerminated,
    SubscriptionChange,
)
from revline_events.topics import dead_letter_topic, ensure_topics
from revline_service.migrations import upgrade
from revline_service.service import Runtime
from revline_testkit.broker import FAST_PRODUCER_SETTINGS, TansuBroker
from revline_testkit.fixtures import fresh_database
from revline_testkit.live import api_keys_setting
from revline_testkit.topics import RawTopicReader, header
from revline_testkit.waiting import eventually
from sqlalchemy import select

CLOCK = FixedClock(datetime(2026, 1, 10, 9, 30, tzinfo=UTC))
START, END = date(2026, 1, 1), date(2026, 12, 31)

Item = tuple[Envelope, EventPayload]


def _event(payload: EventPayload, contract_id: str, account_id: str, version: int) -> Envelope:
    """The envelope the contract service would publish `payload` in."""
    return make_envelope(
        payload, stream_id=contract_id, stream_version=version, account_id=account_id,
        producer="contract", clock=CONTRACT_CLOCK,
    )  # fmt: skip


def _created(contract_id: str, account_id: str, *seats: tuple[str, int]) -> Envelope:
    """ContractCreated of a contract with a seat subscription per (id, quantity)."""
    created = ContractCreated(
        contract_id=contract_id, account_id=account_id, quote_id=f"qt-{contract_id}",
        currency="USD", start_date=START, end_date=END, term_months=12, bill_cycle_day=1,
        billing_timing="advance", auto_renew=False,
        subscriptions=[
            subscription(sid, quantity=q, unit_price=2000, start=START, end=END)
            for sid, q in seats
        ],
    )  # fmt: skip
    return _event(created, contract_id, account_id, 1)


def _contract_events() -> list[Envelope]:
    """New contracts, an amendment and a termination of contracts created just before."""
    amended = ContractAmended(
        contract_id="ct-a", account_id="acct-a", quote_id="qt-a2",
        effective_date=date(2026, 4, 1),
        changes=[SubscriptionChange(
            subscription=subscription("a-1", quantity=9, unit_price=2000, start=START, end=END),
            quantity_before=5, quantity_after=9,
        )],
    )  # fmt: skip
    terminated = ContractTerminated(
        contract_id="ct-b", account_id="acct-b", effective_date=date(2026, 7, 1),
        end_date=date(2026, 6, 30), credit_unused=False,
    )  # fmt: skip
    return [
        _created("ct-a", "acct-a", ("a-1", 5), ("a-2", 2)),
        _created("ct-b", "acct-b", ("b-1", 1)),
        _event(amended, "ct-a", "acct-a", 2),
        _created("ct-c", "acct-c", ("c-1", 3)),
        _event(terminated, "ct-b", "acct-b", 2),
        _created("ct-d", "acct-d", ("d-1", 4)),
        _created("ct-e", "acct-e", ("e-1", 6)),
    ]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two fresh order databases of one kind."""
    with (
        fresh_database(request, request.param, tmp_path, "one") as one,
        fresh_database(request, request.param, tmp_path, "two") as two,
    ):
        yield one, two


def _runtime(url: str, *, bootstrap: str = "127.0.0.1:9", **changes: Any) -> Runtime:
    """An order runtime (nothing started) on `url`, its spec changed by `changes`; a
    consumer group of its own."""
    settings = OrderSettings(
        database_url=url, kafka_bootstrap=bootstrap, api_keys=api_keys_setting(),
        consumer_group=f"order-batch-{uuid.uuid4().hex[:12]}",
        consumer_session_timeout_ms=2000,
    )  # fmt: skip
    return Runtime(replace(SPEC, **changes), settings, CLOCK)


async def _apply(runtime: Runtime, run: Sequence[Item]) -> None:
    """Apply `run` in one transaction as the consumer does: each run of one type to its
    batch reaction, or to its reaction event by event."""
    handlers = SPEC.reactions.handlers(CATALOGUE)
    batch_handlers = SPEC.reactions.batch_handlers(CATALOGUE)
    async with runtime.uow() as uow:
        for kind, group in itertools.groupby(run, key=lambda item: item[0].type):
            same = list(group)
            if kind in batch_handlers:
                await batch_handlers[kind](uow, same)
                continue
            for envelope, event in same:
                await handlers[kind](uow, envelope, event)
        await uow.commit()


async def _state(runtime: Runtime) -> list[str]:
    """The projections and the service's own events, as sorted JSON lines, with each
    order id (random within its millisecond) named by its rank instead."""
    store = kernel.event_store
    async with runtime.db.session() as session:
        order_ids = list(await session.scalars(select(orders.c.id).order_by(orders.c.id)))
        lines = []
        for table in (*PROJECTIONS, store):
            for row in (await session.execute(select(table))).mappings():
                kept = {k: v for k, v in row.items() if k not in ("position", "event_id")}
                lines.append(f"{table.name} {json.dumps(kept, sort_keys=True, default=str)}")
    text = "\n".join(lines)
    for rank, order_id in enumerate(order_ids, start=1):
        text = text.replace(order_id, f"order-{rank}")
    return sorted(text.split("\n"))


@pytest.mark.parametrize("runs", [[7], [3, 4], [2, 1, 4]], ids=str)
async def test_runs_of_contract_events_leave_what_one_at_a_time_leaves(
    database_pair: tuple[str, str], runs: list[int]
) -> None:
    # The reference: each event in a transaction of its own, projected one at a time.
    one_by_one = _runtime(database_pair[0], projector=project)
    batched = _runtime(database_pair[1])
    items = [(e, CATALOGUE.parse(e)) for e in _contract_events()]
    try:
        for runtime in (one_by_one, batched):
            await upgrade(SPEC.alembic_dir, runtime.settings.database_url)
        for item in items:
            await _apply(one_by_one, [item])
        first = 0
        for size in runs:  # later runs amend and terminate what earlier ones created
            await _apply(batched, items[first : first + size])
            first += size
        assert first == len(items)

        expected, batch = await _state(one_by_one), await _state(batched)
    finally:
        for runtime in (one_by_one, batched):
            await runtime.db.dispose()
    assert sum(line.startswith("orders ") for line in expected) == 7
    assert batch == expected


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh order database."""
    with fresh_database(request, request.param, tmp_path, "order") as url:
        yield url


async def test_a_contract_created_twice_amid_a_batch_goes_alone_to_the_dlq(
    database: str, tansu: TansuBroker
) -> None:
    # A topic of this test's own, published in full before the consumer starts: its
    # first fetch brings the four records as one batch.
    topic = f"contract.events.batch-{uuid.uuid4().hex[:12]}"
    await ensure_topics(
        tansu.bootstrap, [topic, dead_letter_topic(topic)], partitions=1, replication_factor=1
    )
    first = _created("ct-a", "acct-a", ("a-1", 5))
    second = _created("ct-b", "acct-b", ("b-1", 1))
    again = _created("ct-a", "acct-a", ("a-1", 7))  # ct-a created a second time
    last = _created("ct-c", "acct-c", ("c-1", 3))
    published = [first, second, again, last]
    producer = AIOKafkaProducer(bootstrap_servers=tansu.bootstrap, **FAST_PRODUCER_SETTINGS)
    await producer.start()
    try:
        for envelope in published:
            await producer.send(topic, value=envelope.to_bytes(), key=b"one-partition")
        await producer.flush()
    finally:
        await producer.stop()

    runtime = _runtime(database, bootstrap=tansu.bootstrap, upstream_topics=[topic])
    await upgrade(SPEC.alembic_dir, database)
    runner = runtime.consumer
    assert runner is not None
    inbox = kernel.inbox

    async def inbox_ids() -> set[str] | None:
        async with runtime.db.session() as session:
            found = set(await session.scalars(select(inbox.c.event_id)))
        return found if len(found) >= 3 else None

    consuming = asyncio.create_task(runner.run())
    try:
        handled = await eventually(inbox_ids, what="three contracts in the inbox")
        async with RawTopicReader(tansu.bootstrap, dead_letter_topic(topic)) as dlq:
            parked = await dlq.first(lambda r: r.value == again.to_bytes())
        async with runtime.db.session() as session:
            rows = (
                await session.execute(select(orders.c.contract_id, orders.c.contract_event_id))
            ).all()
    finally:
        runner.stop()
        await consuming
        await runtime.db.dispose()

    assert handled == {first.event_id, second.event_id, last.event_id}
    assert "ContractAlreadyCreated" in header(parked, "error")
    assert sorted(rows) == sorted(
        [("ct-a", first.event_id), ("ct-b", second.event_id), ("ct-c", last.event_id)]
    )
