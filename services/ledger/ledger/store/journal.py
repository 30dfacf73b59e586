"""The journal as projected: entries with their lines, and balances as of a date (SQL sums)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from revline_events.repository import Repository
from sqlalchemy import func, select, tuple_

from ledger.store.tables import (
    daily_account_totals,
    daily_revenue_totals,
    journal_entries,
    journal_lines,
)


@dataclass(frozen=True)
class AccountTotals:
    """One ledger account's debit and credit totals in one currency."""

    currency: str
    ledger_account: str
    debit: int
    credit: int


class Journal(Repository):
    """Journal entries and the ledger accounts' totals, read from the projection."""

    async def page(
        self,
        *,
        account_id: str | None,
        date_from: date | None,
        date_to: date | None,
        after: list[Any] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Entries in posting order (entry_date, entry_id), each with its `lines` in chart
        order, filtered by customer account and dates (inclusive), after the cursor key
        [entry_date ISO, entry_id], up to limit + 1 of them."""
        t = journal_entries
        stmt = select(t).order_by(t.c.entry_date, t.c.entry_id).limit(limit + 1)
        if account_id is not None:
            stmt = stmt.where(t.c.account_id == account_id)
        if date_from is not None:
            stmt = stmt.where(t.c.entry_date >= date_from)
        if date_to is not None:
            stmt = stmt.where(t.c.entry_date <= date_to)
        if after:
            key = (date.fromisoformat(str(after[0])), str(after[1]))
            stmt = stmt.where(tuple_(t.c.entry_date, t.c.entry_id) > key)
        entries = [dict(r) for r in (await self.session.execute(stmt)).mappings()]
        by_id = {entry["entry_id"]: {**entry, "lines": []} for entry in entries}
        if by_id:
            lines = (
                select(journal_lines)
                .where(journal_lines.c.entry_id.in_(list(by_id)))
                .order_by(journal_lines.c.entry_id, journal_lines.c.ledger_account)
            )
            for line in (await self.session.execute(lines)).mappings():
                by_id[line["entry_id"]]["lines"].append(dict(line))
        return list(by_id.values())

    async def totals(self, as_of: date) -> list[AccountTotals]:
        """Debit and credit totals per (currency, ledger account) over entries dated
        on or before `as_of`: one aggregate over the daily totals (a row per day)."""
        t = daily_account_totals
        stmt = (
            select(t.c.currency, t.c.ledger_account, func.sum(t.c.debit), func.sum(t.c.credit))
            .where(t.c.entry_date <= as_of)
            .group_by(t.c.currency, t.c.ledger_account)
            .order_by(t.c.currency, t.c.ledger_account)
        )
        return [
            AccountTotals(currency, account, int(debit), int(credit))
            for currency, account, debit, credit in (await self.session.execute(stmt)).all()
        ]

    async def revenue(self, date_from: date, date_to: date) -> list[tuple[str, date, str, int]]:
        """(currency, service month, ledger account, credits - debits) of the revenue
        accounts (4000, 4100) for service months from `date_from`'s on, over entries dated
        on or before `date_to`: one aggregate over the daily revenue totals."""
        t = daily_revenue_totals
        earned = func.sum(t.c.credit - t.c.debit)
        stmt = (
            select(t.c.currency, t.c.service_month, t.c.ledger_account, earned)
            .where(
                t.c.entry_date <= date_to,
                t.c.service_month >= date_from,
                t.c.service_month <= date_to,
            )
            .group_by(t.c.currency, t.c.service_month, t.c.ledger_account)
        )
        return [
            (currency, month, account, int(amount))
            for currency, month, account, amount in (await self.session.execute(stmt)).all()
        ]
