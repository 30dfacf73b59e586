"""OrderActivated in batches: the batch path has the one-event path's effect, and a poison
order among a fetched run goes alone to the DLQ. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from billing.main import SPEC, app_factory
from billing.settings import BillingSettings
from billing.store.tables import PROJECTIONS, kernel
from billing.translation import scheduled_from
from billing_feed import (
    LEDGER_EVENTS,
    ORDER_DLQ,
    ORDER_EVENTS,
    billing_database,
    envelope_of,
    from_billing,
    item,
    wait_for_schedules,
)
from revline_events.catalogue import CATALOGUE, EventPayload
from revline_events.clock import FixedClock
from revline_events.envelope import Envelope
from revline_events.payloads.order import OrderActivated, OrderItem, OrderKind
from revline_events.received import Received
from revline_events.replay import state_digest
from revline_events.topics import ensure_topics
from revline_service.migrations import upgrade
from revline_service.service import Runtime
from revline_testkit.broker import FAST_PRODUCER_SETTINGS, TansuBroker
from revline_testkit.live import LiveService, api_keys_setting, serve_in_process, stored_events
from revline_testkit.topics import RawTopicReader, header, topic_ends, unique
from sqlalchemy import select

YEAR_START, YEAR_END = date(2026, 1, 1), date(2026, 12, 31)
NEXT_END = date(2027, 12, 31)
CLOCK = FixedClock(datetime(2026, 1, 10, 9, 30, tzinfo=UTC))


def _seats(sub: str, quantity: int, start: date = YEAR_START, end: date = YEAR_END) -> OrderItem:
    return item(sub, quantity=quantity, unit_price=2000, start=start, end=end)


def _activated(
    account: str, order_id: str, items: list[OrderItem], kind: OrderKind = "new"
) -> Envelope:
    event = OrderActivated(
        order_id=order_id, contract_id=f"{account}-ctr", account_id=account, kind=kind,
        currency="USD", effective_date=items[0].start_date, bill_cycle_day=1,
        billing_timing="advance", contract_end_date=max(i.end_date for i in items),
        credit_unused=False, items=items,
    )  # fmt: skip
    return envelope_of(event, stream_id=order_id, account_id=account)


def _orders() -> list[Envelope]:
    """Orders that build on each other: two accounts, a new order, an amendment, a
    renewal and a termination of subscriptions made earlier, another new account."""
    a, b, c = "acct-a", "acct-b", "acct-c"
    return [
        _activated(a, "ord-a1", [_seats("a-sub1", 5), _seats("a-sub2", 2)]),
        _activated(b, "ord-b1", [_seats("b-sub1", 1)]),
        _activated(a, "ord-a2", [_seats("a-sub1", 8, start=date(2026, 3, 15))], "amendment"),
        _activated(
            a, "ord-a3", [_seats("a-sub2", 3, start=date(2027, 1, 1), end=NEXT_END)], "renewal"
        ),
        _activated(b, "ord-b2", [_seats("b-sub1", 0, start=date(2026, 6, 1))], "termination"),
        _activated(a, "ord-a4", [_seats("a-sub3", 4, start=date(2026, 2, 1))]),
        _activated(c, "ord-c1", [_seats("c-sub1", 6, start=date(2026, 1, 20))]),
        _activated(c, "ord-c2", [_seats("c-sub1", 2, start=date(2026, 4, 1))], "amendment"),
        _activated(b, "ord-b3", [_seats("b-sub2", 1, start=date(2026, 7, 1))]),
    ]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two fresh billing databases of one kind."""
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    with billing_database(request, first) as one, billing_database(request, second) as two:
        yield one, two


def _runtime(url: str) -> Runtime:
    settings = BillingSettings(
        database_url=url, kafka_bootstrap="127.0.0.1:9", api_keys=api_keys_setting()
    )
    return Runtime(SPEC, settings, CLOCK)


def _parsed(envelopes: list[Envelope]) -> list[tuple[Envelope, EventPayload]]:
    return [(e, CATALOGUE.parse(e)) for e in envelopes]


async def _scheduled_alone(runtime: Runtime, envelope: Envelope, event: EventPayload) -> None:
    """The reference: one order scheduled in a transaction of its own, recorded and
    projected through the kernel's one-event path (`record`, the one-event projector)."""
    assert isinstance(event, OrderActivated)
    async with runtime.uow() as uow:
        await uow.record(
            [scheduled_from(event, envelope.event_id)],
            stream_id=event.order_id,
            account_id=event.account_id,
            expected_version=0,
            cause=Received(envelope, event),
            effective_date=envelope.effective_date,
        )
        await uow.commit()


async def _state(runtime: Runtime) -> tuple[str, list[dict[str, Any]]]:
    """The state digest, and billing's own events without their fresh ids."""
    store = kernel.event_store
    async with runtime.db.session() as session:
        digest = await state_digest(session, PROJECTIONS)
        rows = (await session.execute(select(store).order_by(store.c.position))).mappings()
        events = [
            {k: v for k, v in row.items() if k not in ("position", "event_id", "correlation_id")}
            for row in rows
        ]
    return digest, events


@pytest.mark.parametrize("runs", [[9], [2, 7], [4, 1, 4]], ids=str)
async def test_runs_of_orders_scheduled_at_once_leave_what_one_by_one_leaves(
    database_pair: tuple[str, str], runs: list[int]
) -> None:
    one_by_one, batched = (_runtime(url) for url in database_pair)
    items = _parsed(_orders())
    try:
        for runtime in (one_by_one, batched):
            await upgrade(SPEC.alembic_dir, runtime.settings.database_url)
        for envelope, event in items:
            await _scheduled_alone(one_by_one, envelope, event)
        handle = SPEC.reactions.batch_handlers(CATALOGUE)["OrderActivated"]
        first = 0
        for size in runs:  # later runs find the accounts and subscriptions of earlier ones
            async with batched.uow() as uow:
                await handle(uow, items[first : first + size])
                await uow.commit()
            first += size
        assert first == len(items)

        expected, batch = await _state(one_by_one), await _state(batched)
    finally:
        for runtime in (one_by_one, batched):
            await runtime.db.dispose()
    assert len(expected[1]) == len(items)
    assert batch[1] == expected[1]
    assert batch[0] == expected[0]


@asynccontextmanager
async def billing_after(
    url: str, bootstrap: str, tmp_path: Path, publish: list[Envelope]
) -> AsyncIterator[LiveService]:
    """A billing service whose consumer group starts where order.events ends now, started
    only once `publish` is on the topic: its first fetch brings them as one run."""
    group_id = f"billing-test-{uuid.uuid4().hex[:12]}"
    # As the service creates them (the first test of a session may come before any).
    topics = [ORDER_EVENTS, LEDGER_EVENTS, ORDER_DLQ, f"{LEDGER_EVENTS}.dlq", "billing.events"]
    await ensure_topics(bootstrap, topics, partitions=3, replication_factor=1)
    ends = await topic_ends(bootstrap, ORDER_EVENTS, LEDGER_EVENTS)
    group = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id)
    await group.start()
    try:
        group.assign(list(ends))
        await group.commit(ends)
    finally:
        await group.stop()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **FAST_PRODUCER_SETTINGS)
    await producer.start()
    try:
        for envelope in publish:
            await producer.send(
                ORDER_EVENTS, value=envelope.to_bytes(), key=envelope.account_id.encode()
            )
        await producer.flush()
    finally:
        await producer.stop()
    settings = BillingSettings(
        database_url=url, kafka_bootstrap=bootstrap, api_keys=api_keys_setting(),
        dev_keys_file=tmp_path / "dev-keys.json", port=0, consumer_group=group_id,
        consumer_session_timeout_ms=2000,
    )  # fmt: skip
    async with serve_in_process(app_factory(settings, CLOCK)) as service:
        yield service


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh billing database."""
    with billing_database(request, tmp_path) as url:
        yield url


async def test_an_order_that_does_not_fit_amid_a_run_goes_alone_to_the_dlq(
    database: str, tansu: TansuBroker, tmp_path: Path
) -> None:
    account = unique("acct")
    first, taken, last = unique("sub"), unique("sub"), unique("sub")
    before = _activated(account, unique("ord"), [_seats(first, 1), _seats(taken, 2)])
    # A new order for a subscription billing scheduled already: it cannot apply.
    poison = _activated(account, unique("ord"), [_seats(taken, 7)])
    after = _activated(account, unique("ord"), [_seats(last, 3)])

    async with billing_after(database, tansu.bootstrap, tmp_path, [before, poison, after]) as svc:
        found = await wait_for_schedules(svc, account, 3)
        async with RawTopicReader(tansu.bootstrap, ORDER_DLQ) as dlq:
            parked = await dlq.first(lambda r: r.value == poison.to_bytes() and from_billing(r))
        assert "scheduled already" in header(parked, "error")
        assert [e.type for e in await stored_events(svc, poison.stream_id)] == []
        for order in (before, after):
            stream = await stored_events(svc, order.stream_id)
            assert [(e.type, e.causation_id) for e in stream] == [
                ("OrderScheduled", order.event_id)
            ]
        inbox = svc.runtime.spec.kernel.inbox
        async with svc.runtime.db.session() as session:
            ids = set(await session.scalars(select(inbox.c.event_id)))
    assert ids == {before.event_id, after.event_id}
    quantities = {s["subscription_id"]: [q["quantity"] for q in s["quantities"]] for s in found}
    assert quantities == {first: [1], taken: [2], last: [3]}
