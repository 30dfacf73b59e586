"""The ledger's projector: its own events folded into the journal and document tables.

Insert only: an entry, its lines and moves are written once and never changed
(the database refuses it, migration 0001); what they add up to per day is
added to the daily totals (store/totals.py). A rebuild replays the same events
into emptied tables, in batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from revline_events.catalogue import EventPayload
from revline_events.envelope import Envelope
from revline_events.payloads.ledger import (
    ContractFactsNoted,
    CreditNoteBooked,
    InvoiceAmountApplied,
    InvoiceBooked,
    InvoiceWrittenOff,
    JournalEntryPosted,
    PaymentReceived,
    PaymentReversed,
    QuoteFactsNoted,
)
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.store.tables import (
    journal_entries,
    journal_lines,
    journal_lock,
    ledger_applications,
    ledger_credit_notes,
    ledger_invoices,
    ledger_payment_reversals,
    ledger_payments,
    ledger_write_offs,
    metrics_contract_ends,
    metrics_lines,
    metrics_quantity_changes,
    metrics_quote_lines,
    metrics_quote_steps,
    metrics_terms,
    subledger_moves,
)
from ledger.store.totals import add_daily_totals


class LedgerProjector:
    """Projects the booked documents, payments, applications, reversals, write-offs and
    journal entries."""

    async def __call__(
        self, session: AsyncSession, envelope: Envelope, event: EventPayload
    ) -> None:
        """Apply one event."""
        await self.project_batch(session, [(envelope, event)])

    async def project_batch(
        self, session: AsyncSession, items: Sequence[tuple[Envelope, EventPayload]]
    ) -> None:
        """Apply `items` in order: one batched insert per table."""
        await self.write(session, self.rows(items))

    def rows(
        self, items: Sequence[tuple[Envelope, EventPayload]]
    ) -> dict[Table, list[dict[str, Any]]]:
        """The rows `items` project to, per table, parents before children."""
        rows: dict[Table, list[dict[str, Any]]] = {
            ledger_invoices: [],
            ledger_credit_notes: [],
            ledger_payments: [],
            ledger_applications: [],
            ledger_payment_reversals: [],
            ledger_write_offs: [],
            journal_entries: [],
            journal_lines: [],
            subledger_moves: [],
            metrics_lines: [],
            metrics_quantity_changes: [],
            metrics_terms: [],
            metrics_contract_ends: [],
            metrics_quote_steps: [],
            metrics_quote_lines: [],
        }
        for envelope, event in items:
            if isinstance(event, InvoiceBooked):
                rows[ledger_invoices].append(_invoice_row(envelope, event))
            elif isinstance(event, CreditNoteBooked):
                rows[ledger_credit_notes].append(_credit_note_row(envelope, event))
            elif isinstance(event, PaymentReceived):
                rows[ledger_payments].append({**event.model_dump(), "event_id": envelope.event_id})
            elif isinstance(event, InvoiceAmountApplied):
                rows[ledger_applications].append(
                    {**event.model_dump(), "event_id": envelope.event_id}
                )
            elif isinstance(event, PaymentReversed):
                rows[ledger_payment_reversals].append(
                    {"payment_id": event.payment_id, "reversed_on": event.reversed_on,
                     "reason": event.reason, "event_id": envelope.event_id}
                )  # fmt: skip
            elif isinstance(event, InvoiceWrittenOff):
                rows[ledger_write_offs].append(
                    {**event.model_dump(), "event_id": envelope.event_id}
                )
            elif isinstance(event, JournalEntryPosted):
                rows[journal_entries].append(_entry_row(envelope, event))
                rows[journal_lines] += _line_rows(event)
                rows[subledger_moves] += _move_rows(event)
            elif isinstance(event, ContractFactsNoted):
                _contract_fact_rows(rows, envelope, event)
            elif isinstance(event, QuoteFactsNoted):
                _quote_fact_rows(rows, envelope, event)
        return rows

    async def write(self, session: AsyncSession, rows: dict[Table, list[dict[str, Any]]]) -> None:
        """Insert `rows` (as `rows()` lays them out): one executemany per table."""
        for table, found in rows.items():
            if found:
                await session.execute(insert(table), found)
        if rows[journal_entries]:
            await add_daily_totals(
                session, rows[journal_entries], rows[journal_lines], rows[subledger_moves]
            )
            await _lock(session)


async def _lock(session: AsyncSession) -> None:
    """The journal holds entries: from now on the database refuses deleting them."""
    if await session.scalar(select(journal_lock.c.id)) is None:
        await session.execute(insert(journal_lock).values(id=1))


def _invoice_row(envelope: Envelope, event: InvoiceBooked) -> dict[str, Any]:
    return {
        "invoice_id": event.invoice_id,
        "number": event.number,
        "account_id": event.account_id,
        "currency": event.currency,
        "invoice_date": event.invoice_date,
        "due_date": event.due_date,
        "total": sum(line.amount for line in event.lines),
        "event_id": envelope.event_id,
    }


def _credit_note_row(envelope: Envelope, event: CreditNoteBooked) -> dict[str, Any]:
    return {
        "credit_note_id": event.credit_note_id,
        "number": event.number,
        "account_id": event.account_id,
        "currency": event.currency,
        "issue_date": event.issue_date,
        "total": -sum(line.amount for line in event.lines),
        "event_id": envelope.event_id,
    }


def _entry_row(envelope: Envelope, event: JournalEntryPosted) -> dict[str, Any]:
    return {
        "entry_id": event.entry_id,
        "entry_date": event.entry_date,
        "account_id": event.account_id,
        "currency": event.currency,
        "kind": event.kind,
        "concerns_kind": event.concerns_kind,
        "concerns_id": event.concerns_id,
        "concerns_line_no": event.concerns_line_no,
        "service_month": event.service_month,
        "event_id": envelope.event_id,
        "source_event_id": event.source_event_id,
    }


def _line_rows(event: JournalEntryPosted) -> list[dict[str, Any]]:
    return [
        {
            "entry_id": event.entry_id,
            "ledger_account": line.ledger_account,
            "entry_date": event.entry_date,
            "currency": event.currency,
            "debit": line.debit,
            "credit": line.credit,
        }
        for line in event.lines
    ]


def _move_rows(event: JournalEntryPosted) -> list[dict[str, Any]]:
    return [
        {
            "entry_id": event.entry_id,
            "position": position,
            "target": move.target,
            "ref": move.ref,
            "amount": move.amount,
            "entry_date": event.entry_date,
            "account_id": event.account_id,
            "currency": event.currency,
        }
        for position, move in enumerate(event.moves, start=1)
    ]


def _contract_fact_rows(
    rows: dict[Table, list[dict[str, Any]]], envelope: Envelope, event: ContractFactsNoted
) -> None:
    """The metrics' facts of one contract event: its term, lines, changes and end."""
    known = {"currency": event.currency, "recorded_at": event.recorded_at}
    if event.term is not None:
        rows[metrics_terms].append(
            {"contract_id": event.contract_id, "account_id": event.account_id,
             **event.term.model_dump(), **known, "event_id": envelope.event_id}
        )  # fmt: skip
    rows[metrics_lines] += [
        {**line.model_dump(), "account_id": event.account_id, "contract_id": event.contract_id,
         **known, "event_id": envelope.event_id}
        for line in event.lines
    ]  # fmt: skip
    rows[metrics_quantity_changes] += [
        {**change.model_dump(), **known, "event_id": envelope.event_id}
        for change in event.quantities
    ]
    if event.ended_on is not None:
        rows[metrics_contract_ends].append(
            {"event_id": envelope.event_id, "contract_id": event.contract_id,
             "end_date": event.ended_on, **known}
        )  # fmt: skip


def _quote_fact_rows(
    rows: dict[Table, list[dict[str, Any]]], envelope: Envelope, event: QuoteFactsNoted
) -> None:
    """The metrics' facts of one quote step (and an accepted quote's recurring lines)."""
    rows[metrics_quote_steps].append(
        {"quote_id": event.quote_id, "step": event.step, "account_id": event.account_id,
         "currency": event.currency, "kind": event.kind, "step_date": event.step_date,
         "total_contract_value": event.total_contract_value, "recorded_at": event.recorded_at,
         "event_id": envelope.event_id}
    )  # fmt: skip
    rows[metrics_quote_lines] += [
        {"quote_id": event.quote_id, "position": position, "currency": event.currency,
         **line.model_dump()}
        for position, line in enumerate(event.recurring, start=1)
    ]  # fmt: skip


PROJECTOR = LedgerProjector()
