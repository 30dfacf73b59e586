"""Many OrderScheduled events projected at once.

`orders_scheduled` has the effect of the projector's one-event path applied to
each event in turn, with one statement per table for the whole run: the
consumer's batches and rebuilds take in thousands of orders with a few dozen
statements instead of about twenty per order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from revline_events.envelope import Envelope
from revline_events.payloads.billing import OrderScheduled
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing.domain.orders import schedule_order
from billing.domain.schedule import OrderControl, Subscription
from billing.store.schedules import (
    DEFERRED_REFRESH,
    AccountBook,
    ScheduleRows,
    chunked,
    insert_schedule_rows,
    load_subscriptions,
    next_bill_dates,
    refresh_next_bill_dates,
    schedule_rows,
)
from billing.store.tables import billing_accounts, billing_orders
from billing.translation import order_of


async def orders_scheduled(
    session: AsyncSession, items: Sequence[tuple[Envelope, OrderScheduled]]
) -> None:
    """Project a run of OrderScheduled events in order, as one by one.

    Each order takes the next sequence of its account and is planned against its
    subscriptions as the orders before it (in the database or earlier in `items`)
    left them. Next bill dates are refreshed once: an account billing sees for the
    first time has nothing but what `items` gave it, so its book is the one planned
    here and its rows are inserted with their dates; the others' are refreshed from
    the database. Raises OrderDoesNotFit as the one-event path does.
    """
    if not items:
        return
    account_ids = list(dict.fromkeys(event.account_id for _, event in items))
    known = await _orders_scheduled_so_far(session, account_ids)
    sequences = {a: known.get(a, 0) for a in account_ids}
    named = [i.subscription_id for _, event in items for i in event.items]
    stored: dict[str, Subscription] = {}
    for chunk in chunked(list(dict.fromkeys(named))):
        stored.update(await load_subscriptions(session, chunk))
    order_rows: list[dict[str, Any]] = []
    schedule = ScheduleRows()
    for envelope, event in items:
        sequences[event.account_id] += 1
        order_rows.append(_order_row(envelope, event))
        order = order_of(event)
        before = {i.subscription_id: stored[i.subscription_id] for i in order.items
                  if i.subscription_id in stored}  # fmt: skip
        after = schedule_order(before, order, sequences[event.account_id])
        schedule.extend(schedule_rows(after, before))
        for sub in after:
            stored[sub.subscription_id] = _as_stored(before.get(sub.subscription_id), sub)
    first_seen = [a for a in account_ids if a not in known]
    if DEFERRED_REFRESH in session.info:
        first_seen = []  # the caller refreshes the noted accounts from the database
    sub_dates, account_dates = next_bill_dates(_first_books(first_seen, stored, order_rows))
    for row in schedule.subscriptions:
        row["next_bill_date"] = sub_dates.get(row["subscription_id"])
    if first_seen:
        await session.execute(
            insert(billing_accounts),
            [
                {"account_id": a, "next_bill_date": account_dates[a],
                 "orders_scheduled": sequences[a]}
                for a in first_seen
            ],
        )  # fmt: skip
    refreshed = [a for a in account_ids if a not in account_dates]
    await _save_sequences(session, sequences, known, refreshed)
    await session.execute(insert(billing_orders), order_rows)
    await insert_schedule_rows(session, schedule)
    await refresh_next_bill_dates(session, refreshed)


async def _save_sequences(
    session: AsyncSession, sequences: dict[str, int], known: dict[str, int], accounts: list[str]
) -> None:
    """Insert the accounts billing has no row of, update the others' order counts."""
    new = [a for a in accounts if a not in known]
    if new:
        rows = [{"account_id": a, "next_bill_date": None, "orders_scheduled": sequences[a]}
                for a in new]  # fmt: skip
        await session.execute(insert(billing_accounts), rows)
    old = [a for a in accounts if a in known]
    if old:
        await session.execute(
            update(billing_accounts)
            .where(billing_accounts.c.account_id == bindparam("aid"))
            .values(orders_scheduled=bindparam("scheduled")),
            [{"aid": a, "scheduled": sequences[a]} for a in old],
        )


def _first_books(
    accounts: list[str], stored: dict[str, Subscription], order_rows: list[dict[str, Any]]
) -> list[AccountBook]:
    """The books of accounts first seen in this run: their subscriptions and orders are
    all in it, and nothing of theirs was billed."""
    books = {a: AccountBook(a) for a in accounts}
    for sid, sub in stored.items():
        if sub.account_id in books:
            books[sub.account_id].subscriptions[sid] = sub
    for row in order_rows:
        if row["account_id"] in books:
            books[row["account_id"]].controls[row["order_id"]] = OrderControl()
    return list(books.values())


# Built once: the consumer's hot path.
_ORDERS_SCHEDULED = select(
    billing_accounts.c.account_id, billing_accounts.c.orders_scheduled
).where(billing_accounts.c.account_id.in_(bindparam("ids", expanding=True)))


async def _orders_scheduled_so_far(session: AsyncSession, account_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    conn = await session.connection()
    for chunk in chunked(account_ids):
        rows = await conn.execute(_ORDERS_SCHEDULED, {"ids": list(chunk)})
        found.update({row.account_id: row.orders_scheduled for row in rows})
    return found


def _order_row(envelope: Envelope, event: OrderScheduled) -> dict[str, Any]:
    return {
        "order_id": event.order_id,
        "contract_id": event.contract_id,
        "account_id": event.account_id,
        "kind": event.kind,
        "effective_date": event.effective_date,
        "held": False,
        "hold_reason": None,
        "next_billing_date": None,
        "source_event_id": event.source_event_id,
        "stream_version": envelope.stream_version,
    }


def _as_stored(old: Subscription | None, new: Subscription) -> Subscription:
    """The subscription as `load_subscriptions` would read it back once `save_schedule`
    stored `new` over `old`: the row as first stored, terms and changes not stored
    twice, terms by start, changes by sequence."""
    if old is None:
        return replace(
            new,
            terms=tuple(sorted(new.terms, key=lambda t: t.start)),
            changes=tuple(sorted(new.changes, key=lambda c: c.sequence)),
        )
    # What is stored already stays; only new starts and sequences are added.
    terms = {t.start: t for t in new.terms} | {t.start: t for t in old.terms}
    changes = {c.sequence: c for c in new.changes} | {c.sequence: c for c in old.changes}
    return replace(
        old,
        terms=tuple(terms[k] for k in sorted(terms)),
        changes=tuple(changes[k] for k in sorted(changes)),
    )
