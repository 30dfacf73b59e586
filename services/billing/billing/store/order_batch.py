"""Many OrderScheduled events projected at once, and the lookups a batch of orders needs.

`orders_scheduled` has the effect of the projector's one-event path applied to
each event in turn, with one statement per table for the whole run: the
consumer's batches and rebuilds take in thousands of orders with a few dozen
statements instead of about twenty per order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from revline_events.envelope import Envelope
from revline_events.payloads.billing import OrderScheduled
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing.domain.orders import schedule_order
from billing.domain.schedule import Subscription
from billing.store.schedules import (
    ScheduleRows,
    insert_schedule_rows,
    load_subscriptions,
    refresh_next_bill_dates,
    schedule_rows,
)
from billing.store.tables import billing_accounts, billing_orders
from billing.translation import order_of

# Ids per IN (...) lookup: well inside every database's limit on bound parameters.
CHUNK = 500
T = TypeVar("T")


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def scheduled_order_ids(session: AsyncSession, order_ids: Sequence[str]) -> set[str]:
    """The ids of `order_ids` billing has scheduled already."""
    found: set[str] = set()
    for chunk in chunked(list(dict.fromkeys(order_ids))):
        stmt = select(billing_orders.c.order_id).where(billing_orders.c.order_id.in_(chunk))
        found.update(await session.scalars(stmt))
    return found


async def orders_scheduled(
    session: AsyncSession, items: Sequence[tuple[Envelope, OrderScheduled]]
) -> None:
    """Project a run of OrderScheduled events in order, as one by one.

    Each order takes the next sequence of its account and is planned against its
    subscriptions as the orders before it (in the database or earlier in `items`)
    left them; next bill dates are refreshed once, for every account touched.
    Raises OrderDoesNotFit as the one-event path does.
    """
    if not items:
        return
    account_ids = list(dict.fromkeys(event.account_id for _, event in items))
    scheduled = await _orders_scheduled_so_far(session, account_ids)
    new_accounts = [a for a in account_ids if a not in scheduled]
    if new_accounts:
        fresh = {"next_bill_date": None, "orders_scheduled": 0}
        rows = [{"account_id": a, **fresh} for a in new_accounts]
        await session.execute(insert(billing_accounts), rows)
    sequences = {a: scheduled.get(a, 0) for a in account_ids}
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
    await session.execute(
        update(billing_accounts)
        .where(billing_accounts.c.account_id == bindparam("aid"))
        .values(orders_scheduled=bindparam("scheduled")),
        [{"aid": a, "scheduled": n} for a, n in sequences.items()],
    )
    await session.execute(insert(billing_orders), order_rows)
    await insert_schedule_rows(session, schedule)
    await refresh_next_bill_dates(session, account_ids)


async def _orders_scheduled_so_far(session: AsyncSession, account_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunked(account_ids):
        stmt = select(billing_accounts.c.account_id, billing_accounts.c.orders_scheduled).where(
            billing_accounts.c.account_id.in_(chunk)
        )
        found.update({row.account_id: row.orders_scheduled for row in await session.execute(stmt)})
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
