"""Billing schedules in the database: load an account's book, save order effects.

An account's book is everything planning needs: its subscriptions (terms and
quantity changes), every line billed for them, and its orders' controls.
`Schedules` is the repository the consumer's reactions talk to.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

from revline_events.repository import Repository
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing.domain.bill_run import subscription_next_bill_date
from billing.domain.invoice import InvoiceStatus
from billing.domain.schedule import (
    BilledCharge,
    OrderControl,
    QuantityChange,
    Subscription,
    Term,
)
from billing.store import queries
from billing.store.tables import (
    billed_lines,
    billing_accounts,
    billing_orders,
    invoices,
    quantity_changes,
    subscription_terms,
    subscriptions,
)

ONE_DAY = timedelta(days=1)
SUBSCRIPTION_COLUMNS = [c.name for c in subscriptions.columns if c.name != "next_bill_date"]
# Ids per IN (...) lookup: well inside every database's limit on bound parameters.
CHUNK = 500
T = TypeVar("T")


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Built once (the hot path of OrderActivated): no statement to build per call.
_SCHEDULED_ORDER_IDS = select(billing_orders.c.order_id).where(
    billing_orders.c.order_id.in_(bindparam("ids", expanding=True))
)
_SUBSCRIPTIONS = select(subscriptions).where(
    subscriptions.c.subscription_id.in_(bindparam("ids", expanding=True))
)


class Schedules(Repository):
    """The accounts and orders billing schedules, as the consumer's reactions need them."""

    async def hold_accounts(self, account_ids: Sequence[str]) -> None:
        """Lock the accounts' rows for the transaction where the database locks rows
        (PostgreSQL, see `lock_accounts`). On SQLite the write transaction already
        holds the one database lock, so no statement is needed."""
        if self.session.get_bind().dialect.name != "sqlite":
            await lock_accounts(self.session, account_ids)

    async def lock_accounts(self, account_ids: Sequence[str]) -> list[str]:
        """Lock the accounts' rows for the transaction (see `lock_accounts`); returns
        the ids that exist."""
        return await lock_accounts(self.session, account_ids)

    async def order_control(self, order_id: str) -> dict[str, Any] | None:
        """Billing's row of an order (controls and stream version), or None when the
        order was never scheduled."""
        return await queries.order_control(self.session, order_id)

    async def scheduled_order_ids(self, order_ids: Sequence[str]) -> set[str]:
        """The ids of `order_ids` billing has scheduled already."""
        found: set[str] = set()
        conn = await self.session.connection()
        for chunk in chunked(list(dict.fromkeys(order_ids))):
            found.update(await conn.scalars(_SCHEDULED_ORDER_IDS, {"ids": list(chunk)}))
        return found


@dataclass
class AccountBook:
    """One account's schedules as planning needs them."""

    account_id: str
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    billed: dict[str, list[BilledCharge]] = field(default_factory=dict)
    controls: dict[str, OrderControl] = field(default_factory=dict)


async def lock_accounts(session: AsyncSession, account_ids: Sequence[str]) -> list[str]:
    """Lock the accounts' rows (in id order, so two runs never deadlock) for the
    transaction; returns the ids that exist. On SQLite the write transaction is the lock."""
    if not account_ids:
        return []
    stmt = (
        select(billing_accounts.c.account_id)
        .where(billing_accounts.c.account_id.in_(sorted(account_ids)))
        .order_by(billing_accounts.c.account_id)
        .with_for_update()
    )
    return list((await session.execute(stmt)).scalars())


async def load_books(session: AsyncSession, account_ids: Sequence[str]) -> dict[str, AccountBook]:
    """The books of these accounts, loaded with one query per table."""
    books = {account_id: AccountBook(account_id) for account_id in account_ids}
    if not books:
        return books
    ids = list(books)
    subs = (
        await session.execute(select(subscriptions).where(subscriptions.c.account_id.in_(ids)))
    ).mappings()
    rows = [dict(r) for r in subs]
    sub_ids = [r["subscription_id"] for r in rows]
    terms = await _terms(session, sub_ids)
    changes = await _changes(session, sub_ids)
    for row in rows:
        sid = row["subscription_id"]
        books[row["account_id"]].subscriptions[sid] = _subscription(
            row, terms.get(sid, []), changes.get(sid, [])
        )
    owner = {r["subscription_id"]: r["account_id"] for r in rows}
    for sid, lines in (await _billed(session, sub_ids)).items():
        books[owner[sid]].billed[sid] = lines
    stmt = select(billing_orders).where(billing_orders.c.account_id.in_(ids))
    for order in (await session.execute(stmt)).mappings():
        books[order["account_id"]].controls[order["order_id"]] = OrderControl(
            held=order["held"], next_billing_date=order["next_billing_date"]
        )
    return books


async def load_subscriptions(
    session: AsyncSession, subscription_ids: Sequence[str]
) -> dict[str, Subscription]:
    """The named subscriptions billing knows (terms and changes included)."""
    if not subscription_ids:
        return {}
    conn = await session.connection()
    found = await conn.execute(_SUBSCRIPTIONS, {"ids": list(subscription_ids)})
    rows = [dict(r) for r in found.mappings()]
    ids = [r["subscription_id"] for r in rows]
    terms = await _terms(session, ids)
    changes = await _changes(session, ids)
    return {
        r["subscription_id"]: _subscription(
            r, terms.get(r["subscription_id"], []), changes.get(r["subscription_id"], [])
        )
        for r in rows
    }


async def save_schedule(
    session: AsyncSession, after: Iterable[Subscription], before: dict[str, Subscription]
) -> None:
    """Store what an order changed: new subscriptions, and new terms and changes."""
    await insert_schedule_rows(session, schedule_rows(after, before))


@dataclass
class ScheduleRows:
    """Rows an order (or several) add to the schedule tables."""

    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    terms: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: ScheduleRows) -> None:
        """Add `other`'s rows after these."""
        self.subscriptions += other.subscriptions
        self.terms += other.terms
        self.changes += other.changes


def schedule_rows(after: Iterable[Subscription], before: dict[str, Subscription]) -> ScheduleRows:
    """The rows `save_schedule` inserts: new subscriptions, and their new terms and changes
    (a term whose start, or a change whose sequence, is stored already is not stored again)."""
    rows = ScheduleRows()
    for sub in after:
        old = before.get(sub.subscription_id)
        if old is None:
            rows.subscriptions.append({name: getattr(sub, name) for name in SUBSCRIPTION_COLUMNS})
        old_terms = set() if old is None else {t.start for t in old.terms}
        old_changes = set() if old is None else {c.sequence for c in old.changes}
        rows.terms += [
            {
                "subscription_id": sub.subscription_id,
                "start_date": t.start,
                "end_date": t.end,
                "order_id": t.order_id,
            }
            for t in sub.terms
            if t.start not in old_terms
        ]
        rows.changes += [
            {
                "subscription_id": sub.subscription_id,
                "sequence": c.sequence,
                "effective_date": c.effective_date,
                "quantity": c.quantity,
                "order_id": c.order_id,
                "event_id": c.event_id,
                "termination": c.termination,
                "credit_unused": c.credit_unused,
            }
            for c in sub.changes
            if c.sequence not in old_changes
        ]
    return rows


async def insert_schedule_rows(session: AsyncSession, rows: ScheduleRows) -> None:
    """Insert the rows, one executemany per table."""
    for table, table_rows in (
        (subscriptions, rows.subscriptions),
        (subscription_terms, rows.terms),
        (quantity_changes, rows.changes),
    ):
        if table_rows:
            await session.execute(insert(table), table_rows)


DEFERRED_REFRESH = "billing.deferred_refresh"


async def refresh_next_bill_dates(session: AsyncSession, account_ids: Iterable[str]) -> None:
    """Recompute each subscription's and account's next bill date from its book.

    Inside `deferring_refresh` the accounts are only noted: the caller writes
    their dates once, from books it holds (a bill-run batch), with the same result.
    """
    deferred: set[str] | None = session.info.get(DEFERRED_REFRESH)
    if deferred is not None:
        deferred.update(account_ids)
        return
    books = await load_books(session, sorted(set(account_ids)))
    await write_next_bill_dates(session, books.values())


def deferring_refresh(session: AsyncSession) -> set[str]:
    """Note, rather than refresh, the accounts whose next bill dates change from now
    on in this session; returns the set they are noted in (end with `stop_deferring`)."""
    deferred: set[str] = set()
    session.info[DEFERRED_REFRESH] = deferred
    return deferred


def stop_deferring(session: AsyncSession) -> None:
    """Refresh next bill dates as events are projected again."""
    session.info.pop(DEFERRED_REFRESH, None)


async def write_next_bill_dates(session: AsyncSession, books: Iterable[AccountBook]) -> None:
    """Store each subscription's and account's next bill date, computed from the books
    (one executemany per table)."""
    by_subscription, by_account = next_bill_dates(books)
    if by_subscription:
        await session.execute(
            update(subscriptions)
            .where(subscriptions.c.subscription_id == bindparam("sid"))
            .values(next_bill_date=bindparam("next_date")),
            [{"sid": sid, "next_date": d} for sid, d in by_subscription.items()],
        )
    if by_account:
        await session.execute(
            update(billing_accounts)
            .where(billing_accounts.c.account_id == bindparam("aid"))
            .values(next_bill_date=bindparam("next_date")),
            [{"aid": aid, "next_date": d} for aid, d in by_account.items()],
        )


def next_bill_dates(
    books: Iterable[AccountBook],
) -> tuple[dict[str, date | None], dict[str, date | None]]:
    """Each subscription's and each account's next bill date, computed from the books
    (an account's is the earliest of its subscriptions')."""
    by_subscription: dict[str, date | None] = {}
    by_account: dict[str, date | None] = {}
    for book in books:
        account_next: date | None = None
        for sid, sub in book.subscriptions.items():
            next_date = subscription_next_bill_date(sub, book.billed.get(sid, []), book.controls)
            by_subscription[sid] = next_date
            if next_date is not None and (account_next is None or next_date < account_next):
                account_next = next_date
        by_account[book.account_id] = account_next
    return by_subscription, by_account


async def _terms(session: AsyncSession, ids: list[str]) -> dict[str, list[Term]]:
    result: dict[str, list[Term]] = {}
    if not ids:
        return result
    stmt = (
        select(subscription_terms)
        .where(subscription_terms.c.subscription_id.in_(ids))
        .order_by(subscription_terms.c.subscription_id, subscription_terms.c.start_date)
    )
    for r in (await session.execute(stmt)).mappings():
        result.setdefault(r["subscription_id"], []).append(
            Term(r["start_date"], r["end_date"], r["order_id"])
        )
    return result


async def _changes(session: AsyncSession, ids: list[str]) -> dict[str, list[QuantityChange]]:
    result: dict[str, list[QuantityChange]] = {}
    if not ids:
        return result
    stmt = (
        select(quantity_changes)
        .where(quantity_changes.c.subscription_id.in_(ids))
        .order_by(quantity_changes.c.subscription_id, quantity_changes.c.sequence)
    )
    for r in (await session.execute(stmt)).mappings():
        result.setdefault(r["subscription_id"], []).append(
            QuantityChange(
                effective_date=r["effective_date"],
                quantity=r["quantity"],
                order_id=r["order_id"],
                event_id=r["event_id"],
                sequence=r["sequence"],
                termination=r["termination"],
                credit_unused=r["credit_unused"],
            )
        )
    return result


async def _billed(session: AsyncSession, ids: list[str]) -> dict[str, list[BilledCharge]]:
    result: dict[str, list[BilledCharge]] = {}
    if not ids:
        return result
    stmt = (
        select(
            billed_lines.c.subscription_id,
            billed_lines.c.kind,
            billed_lines.c.span_start,
            billed_lines.c.period_start,
            billed_lines.c.period_end,
            billed_lines.c.nominal_start,
            billed_lines.c.nominal_end,
            billed_lines.c.quantity,
            invoices.c.status,
        )
        # Credit notes are never void: only an invoice's status can forgive its lines.
        .outerjoin(invoices, invoices.c.id == billed_lines.c.document_id)
        .where(billed_lines.c.subscription_id.in_(ids))
    )
    for r in (await session.execute(stmt)).mappings():
        result.setdefault(r["subscription_id"], []).append(
            BilledCharge(
                kind=r["kind"],
                span_start=r["span_start"],
                start=r["period_start"],
                end_exclusive=r["period_end"] + ONE_DAY,
                nominal_start=r["nominal_start"],
                nominal_end_exclusive=r["nominal_end"] + ONE_DAY,
                quantity=r["quantity"],
                void=r["status"] == InvoiceStatus.VOID,
            )
        )
    return result


def _subscription(
    row: dict[str, Any], terms: list[Term], changes: list[QuantityChange]
) -> Subscription:
    return Subscription(
        subscription_id=row["subscription_id"],
        account_id=row["account_id"],
        contract_id=row["contract_id"],
        currency=row["currency"],
        sku=row["sku"],
        name=row["name"],
        charge_type=row["charge_type"],
        billing_period=row["billing_period"],
        unit_price=row["unit_price"],
        bill_cycle_day=row["bill_cycle_day"],
        billing_timing=row["billing_timing"],
        terms=tuple(terms),
        changes=tuple(changes),
    )
