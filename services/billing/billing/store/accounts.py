"""Billing accounts: their locks, their books and their next bill dates.

A repository over store/schedules.py's functions (the SQL of the books lives
there), so that handlers reach books through their unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from revline_events.repository import Repository
from sqlalchemy import select

from billing.store.schedules import (
    AccountBook,
    deferring_refresh,
    load_books,
    lock_accounts,
    stop_deferring,
    write_next_bill_dates,
)
from billing.store.tables import billing_accounts


class AccountBooks(Repository):
    """Each account's book: its subscriptions, what is billed of them, its orders'
    controls; and the account's row, which is its lock."""

    async def lock(self, account_ids: Sequence[str]) -> list[str]:
        """Lock the accounts until commit (in id order, so two runs never deadlock);
        returns the ids that exist, sorted. On SQLite the write transaction is the lock."""
        return await lock_accounts(self.session, account_ids)

    async def load(self, account_ids: Sequence[str]) -> dict[str, AccountBook]:
        """The books of these accounts by id (an unknown account's book is empty)."""
        return await load_books(self.session, account_ids)

    async def next_bill_date(self, account_id: str) -> date | None:
        """The first date a run bills something of the account (None: nothing to bill,
        or an unknown account)."""
        stmt = select(billing_accounts.c.next_bill_date).where(
            billing_accounts.c.account_id == account_id
        )
        found: date | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return found

    def defer_next_bill_dates(self) -> set[str]:
        """From now on only note the accounts whose next bill dates the recorded events
        change, in the returned set, rather than reload their books to move the dates
        (end with `write_next_bill_dates`)."""
        return deferring_refresh(self.session)

    async def write_next_bill_dates(
        self, account_ids: Iterable[str], books: Mapping[str, AccountBook]
    ) -> None:
        """Stop deferring, and store the next bill dates of these accounts computed from
        `books`, which must hold every document recorded since (one write per table)."""
        stop_deferring(self.session)
        await write_next_bill_dates(self.session, [books[a] for a in sorted(account_ids)])
