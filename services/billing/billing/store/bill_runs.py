"""Bill runs as stored, and their work queue: which accounts a run still has to bill.

`BillRuns` reads the runs' projection. `BillRunQueue` holds the work rows a run
writes when it starts (every account due by its `as_of`, numbered into batches)
and hands the batches out one transaction at a time: on PostgreSQL with SKIP
LOCKED, so two workers never bill the same batch; on SQLite the write
transaction is the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from revline_events.repository import Repository
from sqlalchemy import RowMapping, func, insert, literal, select, update

from billing.domain.bill_run import BillRun, BillRunStatus
from billing.store.tables import (
    bill_run_accounts,
    bill_run_batches,
    bill_runs,
    billing_accounts,
    credit_notes,
    invoices,
)


@dataclass(frozen=True, slots=True)
class IssuedCounts:
    """How many invoices and credit notes a run has issued."""

    invoices: int
    credit_notes: int


class BillRuns(Repository):
    """The bill runs as projected from their BillRunStarted and BillRunCompleted."""

    async def find(self, bill_run_id: str) -> BillRun | None:
        """The run, or None when none has this id."""
        stmt = select(bill_runs).where(bill_runs.c.id == bill_run_id)
        row = (await self.session.execute(stmt)).mappings().first()
        return None if row is None else _bill_run(row)

    async def lock(self, bill_run_id: str) -> BillRun:
        """The run, its row locked until commit: of two workers finishing it together,
        the second sees it completed. Raises NoResultFound for an unknown id."""
        stmt = select(bill_runs).where(bill_runs.c.id == bill_run_id).with_for_update()
        return _bill_run((await self.session.execute(stmt)).mappings().one())

    async def issued_counts(self, bill_run_id: str) -> IssuedCounts:
        """How many invoices and credit notes the run has issued so far."""
        counts = []
        for table in (invoices, credit_notes):
            stmt = select(func.count()).where(table.c.bill_run_id == bill_run_id)
            counts.append(int((await self.session.execute(stmt)).scalar_one()))
        return IssuedCounts(invoices=counts[0], credit_notes=counts[1])

    async def unfinished(self) -> list[str]:
        """Ids of the runs not completed yet (a crash stopped them), oldest first."""
        stmt = (
            select(bill_runs.c.id)
            .where(bill_runs.c.status != BillRunStatus.COMPLETED)
            .order_by(bill_runs.c.id)
        )
        return list((await self.session.execute(stmt)).scalars())


class BillRunQueue(Repository):
    """A run's accounts, in batches, each batch billed in one transaction."""

    async def enqueue_due_accounts(
        self, bill_run_id: str, as_of: date, account_id: str | None, *, batch_size: int
    ) -> None:
        """Queue every account with something due by `as_of` (only `account_id` when
        given) for the run: `batch_size` accounts per batch, in account order, the
        batches numbered 0, 1, 2, ..."""
        due = billing_accounts.c.next_bill_date <= as_of
        if account_id is not None:
            due = due & (billing_accounts.c.account_id == account_id)
        position = func.row_number().over(order_by=billing_accounts.c.account_id) - 1
        # `//` is floor division on both databases (`/` would be true division).
        batch_no = position // batch_size
        await self.session.execute(
            insert(bill_run_accounts).from_select(
                ["bill_run_id", "account_id", "batch_no"],
                select(literal(bill_run_id), billing_accounts.c.account_id, batch_no).where(due),
            )
        )
        await self.session.execute(
            insert(bill_run_batches).from_select(
                ["bill_run_id", "batch_no", "done"],
                select(literal(bill_run_id), bill_run_accounts.c.batch_no, literal(False))
                .where(bill_run_accounts.c.bill_run_id == bill_run_id)
                .distinct(),
            )
        )

    async def claim_batch(self, bill_run_id: str) -> int | None:
        """The lowest batch of the run not billed yet, locked until commit, skipping
        those other workers hold; None when no batch is free."""
        stmt = (
            select(bill_run_batches.c.batch_no)
            .where(
                bill_run_batches.c.bill_run_id == bill_run_id,
                bill_run_batches.c.done.is_(False),
            )
            .order_by(bill_run_batches.c.batch_no)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        batch: int | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return batch

    async def has_unbilled_batches(self, bill_run_id: str) -> bool:
        """True while a batch of the run is not billed (another worker may hold it)."""
        stmt = select(func.count()).where(
            bill_run_batches.c.bill_run_id == bill_run_id, bill_run_batches.c.done.is_(False)
        )
        return bool((await self.session.execute(stmt)).scalar_one())

    async def accounts_of(self, bill_run_id: str, batch_no: int) -> list[str]:
        """The ids of the accounts in one batch of the run, in id order."""
        stmt = (
            select(bill_run_accounts.c.account_id)
            .where(
                bill_run_accounts.c.bill_run_id == bill_run_id,
                bill_run_accounts.c.batch_no == batch_no,
            )
            .order_by(bill_run_accounts.c.account_id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def mark_billed(self, bill_run_id: str, batch_no: int) -> None:
        """Mark the batch billed (in the transaction that billed it)."""
        await self.session.execute(
            update(bill_run_batches)
            .where(
                bill_run_batches.c.bill_run_id == bill_run_id,
                bill_run_batches.c.batch_no == batch_no,
            )
            .values(done=True)
        )


def _bill_run(row: RowMapping | dict[str, Any]) -> BillRun:
    return BillRun(
        bill_run_id=row["id"],
        as_of=row["as_of"],
        account_id=row["account_id"],
        status=BillRunStatus(row["status"]),
        stream_version=row["stream_version"],
    )
