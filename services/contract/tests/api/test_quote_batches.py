"""QuoteAccepted in batches: a run of accepted quotes leaves what one at a time leaves,
and a quote that cannot apply amid a fetched batch goes alone to the DLQ."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from contract.handlers.ids import contract_id_for, subscription_id_for
from contract.main import SPEC
from contract.settings import ContractSettings
from contract.store.projector import project
from contract.store.tables import PROJECTIONS, contracts, kernel
from contract_driver import accepted_quote, line, read_topic
from revline_events.catalogue import CATALOGUE, make_envelope
from revline_events.clock import FixedClock
from revline_events.envelope import Envelope
from revline_events.payloads.quote import QuoteAccepted
from revline_events.received import Received
from revline_events.replay import state_digest
from revline_events.topics import dead_letter_topic, ensure_topics
from revline_service.migrations import upgrade
from revline_service.service import Runtime
from revline_testkit.broker import FAST_PRODUCER_SETTINGS, TansuBroker
from revline_testkit.fixtures import fresh_database
from revline_testkit.live import api_keys_setting
from revline_testkit.waiting import eventually
from sqlalchemy import select

CLOCK = FixedClock(datetime(2026, 1, 10, 9, 30, tzinfo=UTC))
QUOTE_CLOCK = FixedClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
START = date(2026, 2, 1)


def _envelope(quote: QuoteAccepted) -> Envelope:
    """The envelope the quote service would publish the quote in."""
    return make_envelope(
        quote, stream_id=quote.quote_id, stream_version=2, account_id=quote.account_id,
        producer="quote", clock=QUOTE_CLOCK, effective_date=quote.start_date,
    )  # fmt: skip


def _received(envelope: Envelope) -> Received[QuoteAccepted]:
    quote = CATALOGUE.parse(envelope)
    assert isinstance(quote, QuoteAccepted)
    return Received(envelope, quote)


def _contract_of(envelope: Envelope) -> str:
    """The id of the contract a new quote's QuoteAccepted opens."""
    return contract_id_for(_received(envelope))


def _subscription_of(envelope: Envelope, index: int) -> str:
    """The id of the subscription a new quote's line `index` opens."""
    return subscription_id_for(_received(envelope), index)


def _quotes() -> list[Envelope]:
    """Quotes that build on each other: new contracts, an amendment and a renewal of
    contracts opened just before, a quote accepted twice, a contract of two lines."""
    a, b, c = "acct-a", "acct-b", "acct-c"
    quote_a = accepted_quote(a, [line("SEAT", 5, 2000)], start_date=START)
    new_a = _envelope(quote_a)
    new_b = _envelope(accepted_quote(b, [line("PLAN", 1, 9000)], start_date=START))
    again_a = _envelope(quote_a)  # the same quote, accepted twice
    seats = line("SEAT", 8, 2000, subscription_id=_subscription_of(new_a, 0))
    amend_a = _envelope(
        accepted_quote(
            a, [seats, line("ADDON", 2, 500)], start_date=date(2026, 5, 1), kind="amendment",
            contract_id=_contract_of(new_a),
        )
    )  # fmt: skip
    renew_b = _envelope(
        accepted_quote(
            b, [line("PLAN", 1, 9500)], start_date=date(2027, 2, 1), kind="renewal",
            contract_id=_contract_of(new_b), bill_cycle_day=1,
        )
    )  # fmt: skip
    new_c = _envelope(
        accepted_quote(c, [line("SEAT", 3, 2000), line("SETUP", 1, 10000, one_time=True)],
                       start_date=date(2026, 3, 15))
    )  # fmt: skip
    new_d = _envelope(accepted_quote("acct-d", [line("SEAT", 1, 2000)], start_date=START))
    return [new_a, new_b, again_a, amend_a, renew_b, new_c, new_d]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two fresh contract databases of one kind."""
    with (
        fresh_database(request, request.param, tmp_path, "one") as one,
        fresh_database(request, request.param, tmp_path, "two") as two,
    ):
        yield one, two


def _runtime(url: str, *, bootstrap: str = "127.0.0.1:9", **changes: Any) -> Runtime:
    """A contract runtime (nothing started) on `url`, its spec changed by `changes`; a
    consumer group of its own."""
    settings = ContractSettings(
        database_url=url, kafka_bootstrap=bootstrap, api_keys=api_keys_setting(),
        consumer_group=f"contract-batch-{uuid.uuid4().hex[:12]}",
        consumer_session_timeout_ms=2000,
    )  # fmt: skip
    return Runtime(replace(SPEC, **changes), settings, CLOCK)


async def _state(runtime: Runtime) -> tuple[str, list[dict[str, Any]]]:
    """The state digest, and the service's own events without their fresh event ids."""
    store = kernel.event_store
    async with runtime.db.session() as session:
        digest = await state_digest(session, PROJECTIONS)
        rows = (await session.execute(select(store).order_by(store.c.position))).mappings()
        events = [
            {k: v for k, v in row.items() if k not in ("position", "event_id")} for row in rows
        ]
    return digest, events


@pytest.mark.parametrize("runs", [[7], [3, 4], [1, 5, 1]], ids=str)
async def test_runs_of_accepted_quotes_leave_what_one_at_a_time_leaves(
    database_pair: tuple[str, str], runs: list[int]
) -> None:
    # The reference: each quote in a transaction of its own, projected one event at a time.
    one_by_one = _runtime(database_pair[0], projector=project)
    batched = _runtime(database_pair[1])
    items = [(e, CATALOGUE.parse(e)) for e in _quotes()]
    handle = SPEC.reactions.batch_handlers(CATALOGUE)["QuoteAccepted"]
    try:
        for runtime in (one_by_one, batched):
            await upgrade(SPEC.alembic_dir, runtime.settings.database_url)
        for item in items:
            async with one_by_one.uow() as uow:
                await handle(uow, [item])
                await uow.commit()
        first = 0
        for size in runs:  # later runs amend and renew what earlier ones opened
            async with batched.uow() as uow:
                await handle(uow, items[first : first + size])
                await uow.commit()
            first += size
        assert first == len(items)

        expected, batch = await _state(one_by_one), await _state(batched)
    finally:
        for runtime in (one_by_one, batched):
            await runtime.db.dispose()
    # Four contracts opened (the second acceptance of a quote changes nothing), one
    # amended, one renewed.
    assert [e["type"] for e in expected[1]].count("ContractCreated") == 4
    assert len(expected[1]) == 6
    assert batch[1] == expected[1]
    assert batch[0] == expected[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh contract database."""
    with fresh_database(request, request.param, tmp_path, "contract") as url:
        yield url


async def test_a_quote_that_cannot_apply_amid_a_batch_goes_alone_to_the_dlq(
    database: str, tansu: TansuBroker
) -> None:
    # A topic of this test's own, published in full before the consumer starts: its
    # first fetch brings the five records as one batch.
    topic = f"quote.events.batch-{uuid.uuid4().hex[:12]}"
    await ensure_topics(
        tansu.bootstrap, [topic, dead_letter_topic(topic)], partitions=1, replication_factor=1
    )
    new_a = _envelope(accepted_quote("acct-a", [line("SEAT", 5, 2000)], start_date=START))
    new_b = _envelope(accepted_quote("acct-b", [line("PLAN", 1, 9000)], start_date=START))
    poison = _envelope(
        accepted_quote("acct-p", [line("SEAT", 1, 2000)], start_date=START, term_months=None)
    )
    seats = line("SEAT", 8, 2000, subscription_id=_subscription_of(new_a, 0))
    amend_a = _envelope(
        accepted_quote(
            "acct-a", [seats], start_date=date(2026, 5, 1), kind="amendment",
            contract_id=_contract_of(new_a),
        )
    )  # fmt: skip
    new_c = _envelope(accepted_quote("acct-c", [line("SEAT", 3, 2000)], start_date=START))
    published = [new_a, new_b, poison, amend_a, new_c]
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
        return found if len(found) >= 4 else None

    consuming = asyncio.create_task(runner.run())
    try:
        handled = await eventually(inbox_ids, what="four quotes in the inbox")
        parked = await read_topic(
            tansu.bootstrap,
            dead_letter_topic(topic),
            lambda records: any(r.value == poison.to_bytes() for r in records),
        )
        async with runtime.db.session() as session:
            rows = (await session.execute(select(contracts.c.id, contracts.c.quote_id))).all()
            stored = {
                contract_id: await runtime.store.read_stream(session, contract_id)
                for contract_id, _ in rows
            }
    finally:
        runner.stop()
        await consuming
        await runtime.db.dispose()

    assert handled == {e.event_id for e in published if e is not poison}
    [record] = [r for r in parked if r.value == poison.to_bytes()]
    assert "has no term_months" in dict(record.headers)["error"].decode()
    opened = {quote_id: contract_id for contract_id, quote_id in rows}
    poison_quote = CATALOGUE.parse(poison)
    assert isinstance(poison_quote, QuoteAccepted)
    assert poison_quote.quote_id not in opened
    assert len(opened) == 3
    assert [(e.type, e.causation_id) for e in stored[_contract_of(new_a)]] == [
        ("ContractCreated", new_a.event_id),
        ("ContractAmended", amend_a.event_id),
    ]
    for new in (new_b, new_c):
        assert [(e.type, e.causation_id) for e in stored[_contract_of(new)]] == [
            ("ContractCreated", new.event_id)
        ]
