"""The metrics read model's kept fold (store/metrics.py, KeptHistories): after new events it
adds only their rows, and what it answers equals a fresh load and fold of every row, as
known now and as known at a time in the past; anything that is not an append loads
everything again.

The ledger's metrics events are appended to a fresh database's event store and projected
by the ledger's projector in one transaction each, as the ledger's consumer does.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from ledger.main import SPEC
from ledger.metrics.calendar import Month, Period
from ledger.metrics.history import History, Snapshot
from ledger.metrics.movements import movements_of
from ledger.metrics.mrr import mrr_figures
from ledger.metrics.renewals import renewals_of
from ledger.metrics.retention import retention_of
from ledger.metrics.sales import sales_of
from ledger.store.metrics import KeptHistories, load_history
from ledger.store.projector import PROJECTOR
from ledger.store.tables import kernel, metrics_contract_ends
from revline_events.catalogue import CATALOGUE, make_envelope
from revline_events.clock import FixedClock
from revline_events.database import Database
from revline_events.event_store import EventStore
from revline_events.payloads.ledger import (
    ContractFactsNoted,
    NotedLine,
    NotedPrice,
    NotedQuantity,
    NotedTerm,
    QuoteFactsNoted,
)
from revline_service.migrations import upgrade
from sqlalchemy import delete

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
CURRENCIES = ("EUR", "USD")
Payload = ContractFactsNoted | QuoteFactsNoted


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    await upgrade(SPEC.alembic_dir, db_url)
    database = Database(db_url)
    try:
        yield database
    finally:
        await database.dispose()


async def record(db: Database, payloads: list[Payload]) -> None:
    """Append the events and project them, in one transaction."""
    store = EventStore(kernel, SPEC.topic, unpublished=CATALOGUE.unpublished())
    items = [
        (
            make_envelope(
                p,
                stream_id=f"metrics:{p.source_event_id}",
                stream_version=1,
                account_id=p.account_id,
                producer="ledger",
                clock=FixedClock(p.recorded_at),
            ),
            p,
        )
        for p in payloads
    ]
    async with db.session() as session, session.begin():
        await store.append_new_streams(session, [e for e, _ in items])
        await PROJECTOR.project_batch(session, items)


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def account_events(rng: random.Random, k: int) -> list[Payload]:
    """A quote and its contract of two lines; maybe an amendment, a late termination
    (recorded after the month end it is effective in) or a renewal."""
    account, contract, quote = f"a{k}", f"c{k}", f"q{k}"
    currency = rng.choice(CURRENCIES)
    start = date(2025, 1, 1) + timedelta(days=rng.randrange(0, 300))
    end = start + timedelta(days=364)
    seats, price = rng.randrange(1, 20), rng.choice((0, 999, 2500, 12000))
    plan = rng.randrange(10_000, 900_000)
    events: list[Payload] = []

    def step(kind: str, on: date, **more: Any) -> None:
        events.append(
            QuoteFactsNoted(
                quote_id=quote, account_id=account, currency=currency, kind="new", step=kind,
                step_date=on, recorded_at=noon(on), source_event_id=f"{quote}-{kind}", **more,
            )
        )  # fmt: skip

    def noted(on: date, name: str, **facts: Any) -> None:
        events.append(
            ContractFactsNoted(
                contract_id=contract, account_id=account, currency=currency,
                recorded_at=noon(on), source_event_id=f"{contract}-{name}", **facts,
            )
        )  # fmt: skip

    step("created", start - timedelta(days=20))
    step("accepted", start - timedelta(days=2), total_contract_value=plan,
         recurring=[NotedPrice(billing_period="year", unit_price=plan, quantity=1)])  # fmt: skip
    seat = NotedLine(line_id=f"{contract}-seat@{start}", subscription_id=f"{contract}-seat",
                     billing_period="month", unit_price=price, quantity=seats,
                     start_date=start, end_date=end)  # fmt: skip
    yearly = NotedLine(line_id=f"{contract}-plan@{start}", subscription_id=f"{contract}-plan",
                       billing_period="year", unit_price=plan, quantity=1,
                       start_date=start, end_date=end)  # fmt: skip
    noted(start - timedelta(days=2), "created", term=NotedTerm(start_date=start, end_date=end,
          quote_id=quote), lines=[seat, yearly])  # fmt: skip
    if rng.random() < 0.5:
        on = start + timedelta(days=rng.randrange(10, 200))
        change = NotedQuantity(line_id=seat.line_id, effective_date=on,
                               quantity=rng.randrange(0, 30))  # fmt: skip
        noted(on, "amended", quantities=[change])
    if rng.random() < 0.3:
        last = start + timedelta(days=rng.randrange(20, 300))
        noted(last + timedelta(days=rng.randrange(1, 45)), "terminated", ended_on=last)
    elif rng.random() < 0.3:
        renewed = NotedLine(line_id=f"{contract}-plan@{end + timedelta(days=1)}",
                            subscription_id=f"{contract}-plan", billing_period="year",
                            unit_price=plan * 2, quantity=1, start_date=end + timedelta(days=1),
                            end_date=end + timedelta(days=365))  # fmt: skip
        noted(end - timedelta(days=5), "renewed", lines=[renewed],
              term=NotedTerm(start_date=end + timedelta(days=1),
                             end_date=end + timedelta(days=365)))  # fmt: skip
    return events


def figures(snapshot: Snapshot, currency: str) -> object:
    return (
        snapshot,
        movements_of(snapshot, currency, Month(2025, 1), Month(2025, 12)),
        retention_of(snapshot, currency, Month(2025, 12), 6),
        mrr_figures(snapshot, currency, date(2025, 9, 30)),
        renewals_of(snapshot, currency, Period(date(2025, 1, 1), date(2026, 12, 31))),
        sales_of(snapshot, currency, Period(date(2024, 10, 1), date(2025, 12, 31))),
    )


async def fresh(db: Database, currency: str | None) -> History:
    async with db.session() as session:
        return await load_history(session, currency=currency)


@pytest.mark.parametrize("seed", range(4))
async def test_after_new_events_the_kept_fold_adds_their_rows_and_equals_a_fresh_load(
    db: Database, seed: int
) -> None:
    rng = random.Random(seed)
    # Batches in record order, then the events of one account recorded inside the others'
    # times (arriving late, from the other topic).
    late = account_events(rng, 40)
    events = sorted(
        (e for k in range(40) for e in account_events(rng, k)), key=lambda e: e.recorded_at
    )
    cuts = sorted(rng.sample(range(1, len(events)), 4))
    batches = [events[a:b] for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True)]
    batches.append(late)
    kept = KeptHistories()
    past = datetime(2025, 6, 30, 23, 59, tzinfo=UTC)
    for batch in batches:
        await record(db, batch)
        for currency in (*CURRENCIES, None):
            async with db.session() as session:
                history, snapshot = await kept.snapshot(session, NOW, currency=currency)
                _, then = await kept.snapshot(session, past, currency=currency)
            truth = await fresh(db, currency)
            assert history == truth
            for c in CURRENCIES if currency is None else (currency,):
                assert figures(snapshot, c) == figures(truth.as_known_at(NOW), c)
                assert figures(then, c) == figures(truth.as_known_at(past), c)
    # One load per currency asked (and all of them), the first time; appends since.
    assert kept.loads == 3


async def test_a_row_gone_from_the_read_model_loads_everything_again(db: Database) -> None:
    rng = random.Random(7)
    events = [e for k in range(30) for e in account_events(rng, k)]
    await record(db, events[:-3])
    kept = KeptHistories()
    async with db.session() as session:
        await kept.snapshot(session, NOW)
    async with db.session() as session, session.begin():
        gone = await session.execute(delete(metrics_contract_ends))
    assert gone.rowcount
    await record(db, events[-3:])
    async with db.session() as session:
        history, snapshot = await kept.snapshot(session, NOW)
    assert kept.loads == 2
    truth = await fresh(db, None)
    assert history == truth
    assert snapshot == truth.as_known_at(NOW)
