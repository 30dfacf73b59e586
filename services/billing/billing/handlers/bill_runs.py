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

import asyncio
from collections.abc import Callable
from datetime import date

from revline_events.payloads.billing import (
    BillRunCompleted,
    BillRunStarted,
    CreditNoteIssued,
    InvoicePosted,
)
from revline_events.stamping import NewStream
from revline_events.unit_of_work import UnitOfWork

from billing.domain.bill_run import BillRun, bill_account
from billing.domain.invoice import BillingDocument, InvoiceStatus
from billing.store.accounts import AccountBooks
from billing.store.bill_runs import BillRunQueue, BillRuns
from billing.store.numbering import DocumentNumbers, NextNumbers
from billing.translation import billed_lines_of


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
    await uow.repository(BillRunQueue).enqueue_due_accounts(
        run_id, as_of, account_id, batch_size=batch_size
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
            runs, queue = uow.repository(BillRuns), uow.repository(BillRunQueue)
            run = await runs.find(run_id)
            if run is None or run.completed:
                return run is not None
            batch = await queue.claim_batch(run_id)
            if batch is None:
                if await queue.has_unbilled_batches(run_id):
                    return False
                # Lock the run's row: of two workers finishing together, one completes it.
                locked = await runs.lock(run_id)
                if locked.completed:
                    return True
                await _complete(uow, locked)
                await uow.commit()
                return True
            await _bill_batch(uow, run, batch, payment_terms_days)
            await uow.commit()


async def finish_bill_run(
    uow_factory: Callable[[], UnitOfWork],
    run_id: str,
    *,
    payment_terms_days: int,
    first_pause: float = 0.01,
    longest_pause: float = 0.25,
) -> None:
    """continue_bill_run until the run is complete, for an answer that promises a finished
    run (a 201). A batch another worker holds (a concurrent request with the same
    Idempotency-Key, another replica) is waited for, pausing `first_pause` seconds and
    doubling up to `longest_pause`; if that worker dies, its batch is rolled back and
    billed here. `run_id` must name a recorded run (else this never returns)."""
    pause = first_pause
    while not await continue_bill_run(uow_factory, run_id, payment_terms_days=payment_terms_days):
        await asyncio.sleep(pause)
        pause = min(pause * 2, longest_pause)


async def _bill_batch(
    uow: UnitOfWork,
    run: BillRun,
    batch: int,
    payment_terms_days: int,
) -> None:
    accounts = uow.repository(AccountBooks)
    queue = uow.repository(BillRunQueue)
    locked = await accounts.lock(await queue.accounts_of(run.bill_run_id, batch))
    books = await accounts.load(locked)
    numbers: NextNumbers | None = None
    # The projector would reload each account's book to move its next bill date;
    # the batch holds the books, so it writes the dates once at the end instead.
    billed_accounts = accounts.defer_next_bill_dates()
    issued: list[NewStream] = []
    for account_id in locked:
        book = books[account_id]
        documents = bill_account(
            book.subscriptions.values(), book.billed, book.controls, run.as_of, payment_terms_days
        )
        for document in documents:
            for charge in document.lines:
                sid = charge.subscription.subscription_id
                book.billed.setdefault(sid, []).append(charge.as_billed())
            if numbers is None:
                numbers = await uow.repository(DocumentNumbers).lock()
            event = _document_event(document, run.bill_run_id, numbers, uow.new_id)
            stream_id = (
                event.invoice_id if isinstance(event, InvoicePosted) else event.credit_note_id
            )
            issued.append(NewStream(stream_id, account_id, event, run.as_of))
    # Every document is a new stream: one insert per table for the whole batch.
    await uow.record_new_streams(issued, cause=None)
    await accounts.write_next_bill_dates(billed_accounts, books)
    await queue.mark_billed(run.bill_run_id, batch)


def _document_event(
    document: BillingDocument, run_id: str, numbers: NextNumbers, new_id: Callable[[str], str]
) -> InvoicePosted | CreditNoteIssued:
    lines = billed_lines_of(document)
    if document.kind == "credit_note":
        return CreditNoteIssued(
            credit_note_id=new_id("cn"),
            number=numbers.credit_note(),
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
        number=numbers.invoice(),
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
        status=InvoiceStatus.PAID if document.total == 0 else InvoiceStatus.POSTED,
    )


async def _complete(uow: UnitOfWork, run: BillRun) -> None:
    counts = await uow.repository(BillRuns).issued_counts(run.bill_run_id)
    completed = BillRunCompleted(
        bill_run_id=run.bill_run_id,
        as_of=run.as_of,
        invoice_count=counts.invoices,
        credit_note_count=counts.credit_notes,
    )
    await uow.record(
        [completed],
        stream_id=run.bill_run_id,
        account_id=run.account_id or run.bill_run_id,
        expected_version=run.stream_version,
        cause=None,
        effective_date=run.as_of,
    )


async def unfinished_runs(uow: UnitOfWork) -> list[str]:
    """Ids of runs not completed yet (a crash stopped them), oldest first."""
    return await uow.repository(BillRuns).unfinished()
