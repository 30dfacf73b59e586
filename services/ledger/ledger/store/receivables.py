"""The receivables side as projected: invoices, payments, applications, amounts due as of a date.

Amounts due and unapplied cash are sums of the journal's sub-ledger moves
dated on or before a date (indexed by account, currency and date).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, timedelta
from typing import Any

from revline_events.repository import Repository
from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    case,
    func,
    literal,
    select,
    tuple_,
    union,
    union_all,
)

from ledger.domain.reports import AgingBucket, AgingRow
from ledger.store.tables import (
    daily_subledger_totals,
    journal_entries,
    ledger_applications,
    ledger_credit_notes,
    ledger_invoices,
    ledger_payment_reversals,
    ledger_payments,
    subledger_moves,
)

# The customer credit's cell in `aging_cells`, beside the buckets.
CREDIT = "credit"

# Ids are printable ASCII without spaces; anything else names nothing, unasked.
_ID = re.compile(r"[!-~]{1,200}")


class Receivables(Repository):
    """Invoices, payments and what is open, per customer account and currency."""

    async def invoice(self, invoice_id: str) -> dict[str, Any] | None:
        """A booked invoice's fixed figures, or None."""
        if not _ID.fullmatch(invoice_id):
            return None
        stmt = select(ledger_invoices).where(ledger_invoices.c.invoice_id == invoice_id)
        row = (await self.session.execute(stmt)).mappings().first()
        return None if row is None else dict(row)

    async def payment(self, payment_id: str) -> dict[str, Any] | None:
        """One payment with its `applications` (its cash, and credit from its lot) and its
        reversal (`reversed_on`, `reason`: None unless reversed), or None."""
        if not _ID.fullmatch(payment_id):
            return None
        stmt = select(ledger_payments).where(ledger_payments.c.payment_id == payment_id)
        row = (await self.session.execute(stmt)).mappings().first()
        if row is None:
            return None
        return (await self._with_applications([dict(row)]))[0]

    async def payments(
        self, *, account_id: str | None, after: list[Any] | None, limit: int
    ) -> list[dict[str, Any]]:
        """Payments in id order (ids grow with time), of one account when given, after the
        cursor key [payment_id], up to limit + 1 of them, each with its applications."""
        t = ledger_payments
        stmt = select(t).order_by(t.c.payment_id).limit(limit + 1)
        if account_id is not None:
            stmt = stmt.where(t.c.account_id == account_id)
        if after:
            stmt = stmt.where(t.c.payment_id > str(after[0]))
        rows = [dict(r) for r in (await self.session.execute(stmt)).mappings()]
        return await self._with_applications(rows)

    async def _with_applications(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        by_id = {
            row["payment_id"]: {**row, "applications": [], "reversed_on": None, "reason": None}
            for row in rows
        }
        if by_id:
            r = ledger_payment_reversals
            reversed_ = select(r.c.payment_id, r.c.reversed_on, r.c.reason).where(
                r.c.payment_id.in_(list(by_id))
            )
            for payment_id, reversed_on, reason in (await self.session.execute(reversed_)).all():
                by_id[payment_id].update(reversed_on=reversed_on, reason=reason)
            a = ledger_applications
            stmt = (
                select(a)
                .where(a.c.source_id.in_(list(by_id)), a.c.source != "credit_note")
                .order_by(a.c.application_id)
            )
            for application in (await self.session.execute(stmt)).mappings():
                by_id[application["source_id"]]["applications"].append(dict(application))
        return list(by_id.values())

    async def books(
        self, *, after: tuple[str, str] | None = None, limit: int | None = None
    ) -> list[tuple[str, str]]:
        """Every (account, currency) with a booked invoice or credit note, in order; those
        after the key `after` only, `limit` of them at most, when given."""
        i, n = ledger_invoices, ledger_credit_notes
        documents = union(
            select(i.c.account_id, i.c.currency), select(n.c.account_id, n.c.currency)
        ).subquery()
        stmt = select(documents.c.account_id, documents.c.currency).order_by(
            documents.c.account_id, documents.c.currency
        )
        if after is not None:
            stmt = stmt.where(tuple_(documents.c.account_id, documents.c.currency) > after)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [(a, c) for a, c in (await self.session.execute(stmt)).all()]

    async def currencies(self, account_id: str) -> list[str]:
        """The currencies the account has entries in."""
        m = subledger_moves
        stmt = select(m.c.currency).where(m.c.account_id == account_id).distinct()
        return sorted(await self.session.scalars(stmt))

    async def open_invoices(
        self,
        account_id: str,
        currency: str,
        as_of: date,
        *,
        after: tuple[date, str, str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Invoices with an amount due as of the date, oldest first by (due_date, number,
        invoice_id): `invoice_id`, `number`, `due_date`, `amount_due`; those after the key
        `after` only, `limit` of them at most, when given (the CSV reads them by pages)."""
        m, i = subledger_moves, ledger_invoices
        due = amounts_due(as_of, m.c.account_id == account_id, m.c.currency == currency)
        stmt = (
            select(i.c.invoice_id, i.c.number, i.c.due_date, due.c.amount_due)
            .join(due, due.c.invoice_id == i.c.invoice_id)
            .where(due.c.amount_due != 0)
            .order_by(i.c.due_date, i.c.number, i.c.invoice_id)
        )
        if after is not None:
            stmt = stmt.where(tuple_(i.c.due_date, i.c.number, i.c.invoice_id) > after)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [
            {**row, "amount_due": int(row["amount_due"])}
            for row in (await self.session.execute(stmt)).mappings()
        ]

    async def unapplied_cash(self, account_id: str, currency: str, as_of: date) -> int:
        """Customer credit left in the account's lots as of the date."""
        m = subledger_moves
        stmt = select(func.coalesce(func.sum(m.c.amount), 0)).where(
            m.c.account_id == account_id,
            m.c.currency == currency,
            m.c.entry_date <= as_of,
            m.c.target == "credit_lot",
        )
        return int(await self.session.scalar(stmt) or 0)

    async def aging(self, as_of: date) -> list[AgingRow]:
        """Every account's amounts due as of the date by bucket of days past due (W20), and
        its customer credit apart, per currency, in (currency, account) order."""
        cells = (await self.session.execute(aging_cells(as_of))).all()
        return list(aging_rows(cells))

    async def subledger_totals(self, as_of: date) -> dict[tuple[str, str], int]:
        """{(currency, target): sum of the sub-ledger moves dated on or before the date}:
        open amounts due (`invoice`) and unapplied credit (`credit_lot`) per currency, over
        the moves' daily totals (store/totals.py)."""
        t = daily_subledger_totals
        stmt = (
            select(t.c.currency, t.c.target, func.sum(t.c.amount))
            .where(t.c.entry_date <= as_of)
            .group_by(t.c.currency, t.c.target)
        )
        return {(c, t): int(amount) for c, t, amount in (await self.session.execute(stmt)).all()}

    async def statement(
        self, account_id: str, currency: str, date_from: date, date_to: date
    ) -> tuple[int, list[dict[str, Any]]]:
        """(opening balance, lines) of the account's statement: every entry that moved its
        receivables, in posting order, with its `change` to amounts due less unapplied cash.
        The opening balance is the change of the entries dated before `date_from`."""
        opening = await self.statement_opening(account_id, currency, date_from)
        lines = await self.statement_lines(account_id, currency, date_from, date_to)
        return opening, lines

    async def statement_opening(self, account_id: str, currency: str, date_from: date) -> int:
        """The account's amounts due less unapplied cash at the end of the day before
        `date_from`: the change of every entry dated before it."""
        m = subledger_moves
        change = func.sum(case((m.c.target == "invoice", m.c.amount), else_=-m.c.amount))
        opening = await self.session.scalar(
            select(func.coalesce(change, 0)).where(
                m.c.account_id == account_id, m.c.currency == currency, m.c.entry_date < date_from
            )
        )
        return int(opening or 0)

    async def statement_lines(
        self, account_id: str, currency: str, date_from: date, date_to: date,
        after: tuple[date, str] | None = None, limit: int | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """The statement's lines dated in [date_from, date_to] in posting order (entry_date,
        entry_id), after the key `after` when given, at most `limit` of them when given."""
        m, e = subledger_moves, journal_entries
        change = func.sum(case((m.c.target == "invoice", m.c.amount), else_=-m.c.amount))
        mine = (m.c.account_id == account_id, m.c.currency == currency)
        stmt = (
            select(e.c.entry_id, e.c.entry_date, e.c.kind, e.c.concerns_kind, e.c.concerns_id,
                   change.label("change"))
            .join(e, e.c.entry_id == m.c.entry_id)
            .where(*mine, m.c.entry_date >= date_from, m.c.entry_date <= date_to)
            .group_by(e.c.entry_id, e.c.entry_date, e.c.kind, e.c.concerns_kind,
                      e.c.concerns_id)
            .order_by(e.c.entry_date, e.c.entry_id)
        )  # fmt: skip
        if after is not None:
            stmt = stmt.where(tuple_(e.c.entry_date, e.c.entry_id) > after)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [
            {**row, "change": int(row["change"])}
            for row in (await self.session.execute(stmt)).mappings()
        ]


def amounts_due(as_of: date, *where: ColumnElement[bool]) -> Subquery:
    """Each invoice's amount due as of the date (`invoice_id`, `amount_due`): its moves
    dated on or before it, summed, narrowed by `where` (an account and currency, say)."""
    m = subledger_moves
    return (
        select(m.c.ref.label("invoice_id"), func.sum(m.c.amount).label("amount_due"))
        .where(m.c.entry_date <= as_of, m.c.target == "invoice", *where)
        .group_by(m.c.ref)
        .subquery()
    )


def aging_cells(as_of: date) -> Select[tuple[str, str, str, int]]:
    """AR aging as one query: (currency, account_id, cell, amount) in (currency, account)
    order, a cell a bucket of days past due (W20) or CREDIT (customer credit), zero cells
    left out. Invoices' amounts due are one pass over the moves' covering index grouped
    per invoice, the bucket a CASE on the due date; credit one grouped pass over the lots'
    moves. Ordered, so a reader pivots an account's cells as they arrive (`aging_rows`)."""
    m, i = subledger_moves, ledger_invoices
    due = amounts_due(as_of)
    invoices = (
        select(i.c.account_id, i.c.currency, i.c.due_date, due.c.amount_due)
        .join(due, due.c.invoice_id == i.c.invoice_id)
        .where(due.c.amount_due != 0)
        .subquery()
    )
    # days past due = as_of - due_date: <= 0 current, 1..30, 31..60, 61..90, > 90.
    limits = [
        (AgingBucket.CURRENT, as_of),
        (AgingBucket.DAYS_1_30, as_of - timedelta(days=30)),
        (AgingBucket.DAYS_31_60, as_of - timedelta(days=60)),
        (AgingBucket.DAYS_61_90, as_of - timedelta(days=90)),
    ]
    bucket = case(
        *[(invoices.c.due_date >= limit, name.value) for name, limit in limits],
        else_=AgingBucket.OVER_90.value,
    )
    owed = select(
        invoices.c.currency, invoices.c.account_id, bucket.label("cell"),
        func.sum(invoices.c.amount_due).label("amount"),
    ).group_by(invoices.c.currency, invoices.c.account_id, bucket)  # fmt: skip
    credit = (
        select(m.c.currency, m.c.account_id, literal(CREDIT).label("cell"),
               func.sum(m.c.amount).label("amount"))
        .where(m.c.entry_date <= as_of, m.c.target == "credit_lot")
        .group_by(m.c.currency, m.c.account_id)
        .having(func.sum(m.c.amount) != 0)
    )  # fmt: skip
    cells = union_all(owed, credit).subquery()
    return select(cells.c.currency, cells.c.account_id, cells.c.cell, cells.c.amount).order_by(
        cells.c.currency, cells.c.account_id
    )


class AgingPivot:
    """Turns `aging_cells`' rows, fed in order, into aging rows: an account's row once a
    cell of the next account (or `last`) shows its cells are all read. An account with
    nothing due and no credit has no cell, so no row."""

    def __init__(self) -> None:
        self._key: tuple[str, str] | None = None
        self._buckets: dict[AgingBucket, int] = {}
        self._credit = 0

    def add(self, cell: Sequence[Any]) -> AgingRow | None:
        """Take the next cell; the previous account's row when this one starts another."""
        code, account_id, name, amount = cell
        done = None
        if (code, account_id) != self._key:
            done = self.last()
            self._key, self._buckets, self._credit = (
                (code, account_id),
                dict.fromkeys(AgingBucket, 0),
                0,
            )
        if name == CREDIT:
            self._credit = int(amount)
        else:
            self._buckets[AgingBucket(name)] = int(amount)
        return done

    def last(self) -> AgingRow | None:
        """The row of the account in hand (after the last cell), if any."""
        if self._key is None:
            return None
        return AgingRow(self._key[1], self._key[0], self._buckets, self._credit)


def aging_rows(cells: Iterable[Sequence[Any]]) -> Iterator[AgingRow]:
    """The aging rows of `aging_cells`' rows, in their order."""
    pivot = AgingPivot()
    for cell in cells:
        if (row := pivot.add(cell)) is not None:
            yield row
    if (row := pivot.last()) is not None:
        yield row
