"""Folds billing's own events into its projection tables.

The only code that writes projections: the consumer, bill runs, voids and
rebuilds all go through it, so the tables are a pure function of the event
store. After anything that changes what an account has left to bill, its
next bill dates are recomputed from its book.

`PROJECTOR` takes one event or a batch: a run of consecutive invoices and
credit notes (a bill-run batch, a rebuild), or of scheduled orders (the
consumer's batches, a rebuild; store/order_batch.py), is written with one
statement per table; any other event is applied on its own, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from revline_events.catalogue import EventPayload
from revline_events.envelope import Envelope
from revline_events.payloads.billing import (
    BillRunCompleted,
    BillRunStarted,
    CreditNoteIssued,
    InvoiceMarkedUncollectible,
    InvoicePosted,
    InvoiceSettlementApplied,
    InvoiceSettlementReversed,
    InvoiceVoided,
    OrderBillingControlChanged,
    OrderScheduled,
)
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing.domain.bill_run import BillRunStatus
from billing.domain.invoice import InvoiceStatus
from billing.domain.orders import schedule_order
from billing.store.order_batch import orders_scheduled
from billing.store.schedules import load_subscriptions, refresh_next_bill_dates, save_schedule
from billing.store.tables import (
    bill_runs,
    billed_lines,
    billing_accounts,
    billing_orders,
    credit_notes,
    document_numbers,
    invoice_settlements,
    invoices,
)
from billing.translation import line_row, order_of


async def project(session: AsyncSession, envelope: Envelope, event: EventPayload) -> None:
    """Apply one billing event to the projections."""
    if isinstance(event, OrderScheduled):
        await _order_scheduled(session, envelope, event)
    elif isinstance(event, OrderBillingControlChanged):
        await session.execute(
            update(billing_orders)
            .where(billing_orders.c.order_id == event.order_id)
            .values(
                held=event.held,
                hold_reason=event.hold_reason,
                next_billing_date=event.next_billing_date,
                stream_version=envelope.stream_version,
            )
        )
        await refresh_next_bill_dates(session, [event.account_id])
    elif isinstance(event, BillRunStarted):
        await session.execute(
            insert(bill_runs).values(
                id=event.bill_run_id,
                as_of=event.as_of,
                account_id=event.account_id,
                status=BillRunStatus.RUNNING,
                invoice_count=0,
                credit_note_count=0,
                created_at=envelope.occurred_at,
                completed_at=None,
                stream_version=envelope.stream_version,
            )
        )
    elif isinstance(event, BillRunCompleted):
        await session.execute(
            update(bill_runs)
            .where(bill_runs.c.id == event.bill_run_id)
            .values(
                status=BillRunStatus.COMPLETED,
                invoice_count=event.invoice_count,
                credit_note_count=event.credit_note_count,
                completed_at=envelope.occurred_at,
                stream_version=envelope.stream_version,
            )
        )
    elif isinstance(event, InvoicePosted | CreditNoteIssued):
        await _documents_issued(session, [(envelope, event)])
    elif isinstance(event, InvoiceVoided):
        await session.execute(
            update(invoices)
            .where(invoices.c.id == event.invoice_id)
            .values(
                status=InvoiceStatus.VOID,
                amount_due=0,
                voided_on=event.voided_on,
                void_reason=event.reason,
                stream_version=envelope.stream_version,
            )
        )
        # Its days are forgiven now: an adjustment planned against them is not due.
        await refresh_next_bill_dates(session, [event.account_id])
    elif isinstance(event, InvoiceSettlementReversed):
        # Taken back: a negative settlement, dated the reversal.
        await session.execute(
            insert(invoice_settlements).values(
                invoice_id=event.invoice_id,
                source_event_id=event.source_event_id,
                amount=-event.amount,
                source=event.source,
                applied_on=event.reversed_on,
            )
        )
        await _invoice_figures(session, envelope, event.invoice_id, event.amount_paid,
                               event.amount_due, InvoiceStatus(event.status))  # fmt: skip
    elif isinstance(event, InvoiceMarkedUncollectible):
        await _invoice_figures(session, envelope, event.invoice_id, event.amount_paid, 0,
                               InvoiceStatus.UNCOLLECTIBLE)  # fmt: skip
    elif isinstance(event, InvoiceSettlementApplied):
        await session.execute(
            insert(invoice_settlements).values(
                invoice_id=event.invoice_id,
                source_event_id=event.source_event_id,
                amount=event.amount,
                source=event.source,
                applied_on=event.applied_on,
            )
        )
        await session.execute(
            update(invoices)
            .where(invoices.c.id == event.invoice_id)
            .values(
                amount_paid=event.amount_paid,
                amount_due=event.amount_due,
                status=InvoiceStatus(event.status),
                stream_version=envelope.stream_version,
            )
        )


async def _invoice_figures(
    session: AsyncSession, envelope: Envelope, invoice_id: str, amount_paid: int,
    amount_due: int, status: InvoiceStatus,
) -> None:  # fmt: skip
    await session.execute(
        update(invoices)
        .where(invoices.c.id == invoice_id)
        .values(
            amount_paid=amount_paid,
            amount_due=amount_due,
            status=status,
            stream_version=envelope.stream_version,
        )
    )


async def _order_scheduled(
    session: AsyncSession, envelope: Envelope, event: OrderScheduled
) -> None:
    account = (
        await session.execute(
            select(billing_accounts.c.orders_scheduled).where(
                billing_accounts.c.account_id == event.account_id
            )
        )
    ).scalar_one_or_none()
    if account is None:
        await session.execute(
            insert(billing_accounts).values(
                account_id=event.account_id, next_bill_date=None, orders_scheduled=0
            )
        )
        account = 0
    sequence = account + 1
    await session.execute(
        update(billing_accounts)
        .where(billing_accounts.c.account_id == event.account_id)
        .values(orders_scheduled=sequence)
    )
    await session.execute(
        insert(billing_orders).values(
            order_id=event.order_id,
            contract_id=event.contract_id,
            account_id=event.account_id,
            kind=event.kind,
            effective_date=event.effective_date,
            held=False,
            hold_reason=None,
            next_billing_date=None,
            source_event_id=event.source_event_id,
            stream_version=envelope.stream_version,
        )
    )
    order = order_of(event)
    before = await load_subscriptions(session, [i.subscription_id for i in order.items])
    after = schedule_order(before, order, sequence)
    await save_schedule(session, after, before)
    await refresh_next_bill_dates(session, [event.account_id])


async def _documents_issued(
    session: AsyncSession, documents: Sequence[tuple[Envelope, InvoicePosted | CreditNoteIssued]]
) -> None:
    """Insert invoices, credit notes and their lines (one statement per table), move
    the number counters to the last number of each kind, refresh next bill dates."""
    invoice_rows: list[dict[str, Any]] = []
    credit_note_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    last_number: dict[str, str] = {}
    for envelope, event in documents:
        if isinstance(event, InvoicePosted):
            invoice_rows.append(_invoice_row(envelope, event))
            line_rows += [line_row(event.invoice_id, "invoice", line) for line in event.lines]
            last_number["invoice"] = event.number
        else:
            credit_note_rows.append(_credit_note_row(envelope, event))
            line_rows += [
                line_row(event.credit_note_id, "credit_note", line) for line in event.lines
            ]
            last_number["credit_note"] = event.number
    for table, rows in ((invoices, invoice_rows), (credit_notes, credit_note_rows),
                        (billed_lines, line_rows)):  # fmt: skip
        if rows:
            await session.execute(insert(table), rows)
    for kind, number in last_number.items():
        await _next_number(session, kind, number)
    await refresh_next_bill_dates(session, {event.account_id for _, event in documents})


async def _next_number(session: AsyncSession, kind: str, number: str) -> None:
    value = int(number.split("-")[1])
    found = await session.execute(
        update(document_numbers).where(document_numbers.c.kind == kind).values(last_number=value)
    )
    if found.rowcount == 0:  # type: ignore[attr-defined]  # CursorResult has rowcount
        await session.execute(insert(document_numbers).values(kind=kind, last_number=value))


def _invoice_row(envelope: Envelope, event: InvoicePosted) -> dict[str, Any]:
    return {
        "id": event.invoice_id,
        "number": event.number,
        "bill_run_id": event.bill_run_id,
        "account_id": event.account_id,
        "currency": event.currency,
        "invoice_date": event.invoice_date,
        "due_date": event.due_date,
        "subtotal": event.subtotal,
        "total": event.total,
        "deferred_total": event.deferred_total,
        "one_time_total": event.one_time_total,
        "amount_paid": event.amount_paid,
        "amount_due": event.amount_due,
        "status": InvoiceStatus(event.status),
        "voided_on": None,
        "void_reason": None,
        "created_at": envelope.occurred_at,
        "stream_version": envelope.stream_version,
    }


def _credit_note_row(envelope: Envelope, event: CreditNoteIssued) -> dict[str, Any]:
    return {
        "id": event.credit_note_id,
        "number": event.number,
        "bill_run_id": event.bill_run_id,
        "account_id": event.account_id,
        "currency": event.currency,
        "issue_date": event.issue_date,
        "total": event.total,
        "deferred_total": event.deferred_total,
        "one_time_total": event.one_time_total,
        "created_at": envelope.occurred_at,
    }


class BillingProjector:
    """Billing's projector for the kernel: one event (`__call__`) or a batch."""

    async def __call__(
        self, session: AsyncSession, envelope: Envelope, event: EventPayload
    ) -> None:
        """Apply one billing event to the projections."""
        await project(session, envelope, event)

    async def project_batch(
        self, session: AsyncSession, items: Sequence[tuple[Envelope, EventPayload]]
    ) -> None:
        """Apply the events in order, each run of consecutive documents, and each run of
        consecutive scheduled orders, at once."""
        documents: list[tuple[Envelope, InvoicePosted | CreditNoteIssued]] = []
        orders: list[tuple[Envelope, OrderScheduled]] = []

        async def flush() -> None:
            if documents:
                await _documents_issued(session, documents)
                documents.clear()
            if orders:
                await orders_scheduled(session, orders)
                orders.clear()

        for envelope, event in items:
            if isinstance(event, InvoicePosted | CreditNoteIssued):
                if orders:
                    await flush()
                documents.append((envelope, event))
            elif isinstance(event, OrderScheduled):
                if documents:
                    await flush()
                orders.append((envelope, event))
            else:
                await flush()
                await project(session, envelope, event)
        await flush()


PROJECTOR = BillingProjector()
