"""Bill runs: start one, then bill its accounts batch by batch until none is left.

Starting a run records BillRunStarted and writes its work rows: every account
with something due by `as_of`, numbered into batches of `batch_size` in
account order. Each batch is one transaction that locks its accounts (in id
order), plans each from its book, records the invoices and credit notes, and
marks the batch done. A crash rolls the batch in hand back, so a restart (or
any replica, on PostgreSQL with SKIP LOCKED) bills it again from scratch: every
account billed exactly once. Two runs over the same accounts serialise on the
account locks, and the second finds nothing left to bill.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from revline_events.payloads.billing import (
    BillRunCompleted,
    BillRunStarted,
    CreditNoteIssued,
    InvoicePosted,
)
from revline_events.stamping import NewStream
from revline_events.unit_of_work import UnitOfWork
from sqlalchemy import func, insert, literal, select, text, update

from billing.domain.bill_run import bill_account
from billing.domain.invoice import BillingDocument, credit_note_number, invoice_number
from billing.store.schedules import (
    deferring_refresh,
    load_books,
    lock_accounts,
    stop_deferring,
    write_next_bill_dates,
)
from billing.store.tables import (
    bill_run_accounts,
    bill_run_batches,
    bill_runs,
    billing_accounts,
    credit_notes,
    document_numbers,
    invoices,
)
from billing.translation import billed_lines_of

NUMBERS_LOCK = 0x42494C4C  # "BILL": the advisory lock key of document numbering


async def start_bill_run(
    uow: UnitOfWork,
    as_of: date,
    account_id: str | None,
    *,
    batch_size: int,
) -> str:
    """Record a new bill run and its work rows; returns its id (nothing billed yet)."""
    run_id = uow.new_id("br")
    started = BillRunStarted(bill_run_id=run_id, as_of=as_of, account_id=account_id)
    await uow.record(
        [started],
        stream_id=run_id,
        account_id=account_id or run_id,
        expected_version=0,
        cause=None,
        effective_date=as_of,
    )
    due = billing_accounts.c.next_bill_date <= as_of
    if account_id is not None:
        due = due & (billing_accounts.c.account_id == account_id)
    position = func.row_number().over(order_by=billing_accounts.c.account_id) - 1
    await uow.session.execute(
        insert(bill_run_accounts).from_select(
            ["bill_run_id", "account_id", "batch_no"],
            select(literal(run_id), billing_accounts.c.account_id, position // batch_size).where(
                due
            ),
        )
    )
    await uow.session.execute(
        insert(bill_run_batches).from_select(
            ["bill_run_id", "batch_no", "done"],
            select(literal(run_id), bill_run_accounts.c.batch_no, literal(False))
            .where(bill_run_accounts.c.bill_run_id == run_id)
            .distinct(),
        )
    )
    return run_id


async def continue_bill_run(
    uow_factory: Callable[[], UnitOfWork],
    run_id: str,
    *,
    payment_terms_days: int,
) -> bool:
    """Bill the run's pending batches one transaction each; complete the run when none
    is left. Returns True when the run is complete (False: another worker holds a batch)."""
    while True:
        async with uow_factory() as uow:
            run = (
                (await uow.session.execute(select(bill_runs).where(bill_runs.c.id == run_id)))
                .mappings()
                .first()
            )
            if run is None or run["status"] == "completed":
                return run is not None
            batch = await _claim_batch(uow, run_id)
            if batch is None:
                if await _batches_left(uow, run_id):
                    return False
                # Lock the run's row: of two workers finishing together, one completes it.
                locked = (
                    (
                        await uow.session.execute(
                            select(bill_runs).where(bill_runs.c.id == run_id).with_for_update()
                        )
                    )
                    .mappings()
                    .one()
                )
                if locked["status"] == "completed":
                    return True
                await _complete(uow, dict(locked))
                await uow.commit()
                return True
            await _bill_batch(uow, dict(run), batch, payment_terms_days)
            await uow.commit()


async def _claim_batch(uow: UnitOfWork, run_id: str) -> int | None:
    stmt = (
        select(bill_run_batches.c.batch_no)
        .where(bill_run_batches.c.bill_run_id == run_id, bill_run_batches.c.done.is_(False))
        .order_by(bill_run_batches.c.batch_no)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    batch: int | None = (await uow.session.execute(stmt)).scalar_one_or_none()
    return batch


async def _batches_left(uow: UnitOfWork, run_id: str) -> bool:
    stmt = select(func.count()).where(
        bill_run_batches.c.bill_run_id == run_id, bill_run_batches.c.done.is_(False)
    )
    return bool((await uow.session.execute(stmt)).scalar_one())


async def _bill_batch(
    uow: UnitOfWork,
    run: dict[str, Any],
    batch: int,
    payment_terms_days: int,
) -> None:
    run_id: str = run["id"]
    as_of: date = run["as_of"]
    stmt = (
        select(bill_run_accounts.c.account_id)
        .where(bill_run_accounts.c.bill_run_id == run_id, bill_run_accounts.c.batch_no == batch)
        .order_by(bill_run_accounts.c.account_id)
    )
    accounts = list((await uow.session.execute(stmt)).scalars())
    locked = await lock_accounts(uow.session, accounts)
    books = await load_books(uow.session, locked)
    numbers: _Numbers | None = None
    # The projector would reload each account's book to move its next bill date;
    # the batch holds the books, so it writes the dates once at the end instead.
    billed_accounts = deferring_refresh(uow.session)
    issued: list[NewStream] = []
    for account_id in locked:
        book = books[account_id]
        documents = bill_account(
            book.subscriptions.values(), book.billed, book.controls, as_of, payment_terms_days
        )
        for document in documents:
            for charge in document.lines:
                sid = charge.subscription.subscription_id
                book.billed.setdefault(sid, []).append(charge.as_billed())
            if numbers is None:
                numbers = await _Numbers.locked(uow)
            event = _document_event(document, run_id, numbers, uow.new_id)
            stream_id = (
                event.invoice_id if isinstance(event, InvoicePosted) else event.credit_note_id
            )
            issued.append(NewStream(stream_id, account_id, event, as_of))
    # Every document is a new stream: one insert per table for the whole batch.
    await uow.record_new_streams(issued, cause=None)
    stop_deferring(uow.session)
    await write_next_bill_dates(uow.session, [books[a] for a in sorted(billed_accounts)])
    await uow.session.execute(
        update(bill_run_batches)
        .where(bill_run_batches.c.bill_run_id == run_id, bill_run_batches.c.batch_no == batch)
        .values(done=True)
    )


class _Numbers:
    """The next invoice and credit-note numbers, the counter rows locked till commit."""

    def __init__(self, last: dict[str, int]) -> None:
        self._last = last

    @classmethod
    async def locked(cls, uow: UnitOfWork) -> _Numbers:
        if uow.db.is_postgres:
            # Row locks cannot cover the first number (no row yet): a transaction-scoped
            # advisory lock serialises numbering until commit.
            await uow.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": NUMBERS_LOCK})
        stmt = select(document_numbers).with_for_update()
        rows = (await uow.session.execute(stmt)).mappings()
        return cls({r["kind"]: r["last_number"] for r in rows})

    def take(self, kind: str) -> int:
        self._last[kind] = self._last.get(kind, 0) + 1
        return self._last[kind]


def _document_event(
    document: BillingDocument, run_id: str, numbers: _Numbers, new_id: Callable[[str], str]
) -> InvoicePosted | CreditNoteIssued:
    lines = billed_lines_of(document)
    if document.kind == "credit_note":
        return CreditNoteIssued(
            credit_note_id=new_id("cn"),
            number=credit_note_number(numbers.take("credit_note")),
            bill_run_id=run_id,
            account_id=document.account_id,
            currency=document.currency,
            issue_date=document.issue_date,
            lines=lines,
            total=document.total,
            deferred_total=document.deferred_total,
            one_time_total=document.one_time_total,
        )
    assert document.due_date is not None  # an invoice always has one
    return InvoicePosted(
        invoice_id=new_id("inv"),
        number=invoice_number(numbers.take("invoice")),
        bill_run_id=run_id,
        account_id=document.account_id,
        currency=document.currency,
        invoice_date=document.issue_date,
        due_date=document.due_date,
        lines=lines,
        subtotal=document.total,
        total=document.total,
        deferred_total=document.deferred_total,
        one_time_total=document.one_time_total,
        amount_paid=0,
        amount_due=document.total,
        # A zero invoice is settled by posting it (BILLING_RULES.md 3).
        status="paid" if document.total == 0 else "posted",
    )


async def _complete(uow: UnitOfWork, run: dict[str, Any]) -> None:
    run_id: str = run["id"]
    as_of: date = run["as_of"]
    counts = {}
    for key, table in (("invoices", invoices), ("credit_notes", credit_notes)):
        stmt = select(func.count()).where(table.c.bill_run_id == run_id)
        counts[key] = int((await uow.session.execute(stmt)).scalar_one())
    completed = BillRunCompleted(
        bill_run_id=run_id,
        as_of=as_of,
        invoice_count=counts["invoices"],
        credit_note_count=counts["credit_notes"],
    )
    await uow.record(
        [completed],
        stream_id=run_id,
        account_id=run["account_id"] or run_id,
        expected_version=run["stream_version"],
        cause=None,
        effective_date=as_of,
    )


async def unfinished_runs(uow: UnitOfWork) -> list[str]:
    """Ids of runs not completed yet (a crash stopped them), oldest first."""
    stmt = select(bill_runs.c.id).where(bill_runs.c.status != "completed").order_by(bill_runs.c.id)
    return list((await uow.session.execute(stmt)).scalars())
