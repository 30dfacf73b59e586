"""Between the wire and the domain: billing's documents in, the ledger's events out.

Plain conversions, no rules: the figures are the domain's (ledger/domain), the
payload classes the catalogue's (revline_events.payloads).
"""

from __future__ import annotations

from revline_events.payloads.billing import BilledLine, CreditNoteIssued, InvoicePosted
from revline_events.payloads.ledger import (
    BookedLine,
    CreditNoteBooked,
    EntryLine,
    EntryMove,
    InvoiceAmountApplied,
    InvoiceAmountUnapplied,
    InvoiceBooked,
    JournalEntryPosted,
)
from revline_events.received import Received

from ledger.domain.book import Settlement
from ledger.domain.documents import CreditNote, DocumentLine, Invoice, LineKind
from ledger.domain.journal import JournalEntry


def booked_lines(lines: list[BilledLine]) -> list[BookedLine]:
    """What the ledger keeps of billed lines: kind, period and amount."""
    return [
        BookedLine(
            line_no=line.line_no,
            kind=line.kind,
            period_start=line.period_start,
            period_end=line.period_end,
            amount=line.amount,
        )
        for line in lines
    ]


def invoice_booked(posted: Received[InvoicePosted]) -> InvoiceBooked:
    """The fact the ledger books for billing's InvoicePosted."""
    invoice = posted.payload
    return InvoiceBooked(
        invoice_id=invoice.invoice_id,
        number=invoice.number,
        account_id=invoice.account_id,
        currency=invoice.currency,
        invoice_date=invoice.invoice_date,
        due_date=invoice.due_date,
        lines=booked_lines(invoice.lines),
        source_event_id=posted.event_id,
    )


def credit_note_booked(issued: Received[CreditNoteIssued]) -> CreditNoteBooked:
    """The fact the ledger books for billing's CreditNoteIssued."""
    note = issued.payload
    return CreditNoteBooked(
        credit_note_id=note.credit_note_id,
        number=note.number,
        account_id=note.account_id,
        currency=note.currency,
        issue_date=note.issue_date,
        lines=booked_lines(note.lines),
        source_event_id=issued.event_id,
    )


def _document_lines(lines: list[BookedLine]) -> tuple[DocumentLine, ...]:
    return tuple(
        DocumentLine(line.line_no, LineKind(line.kind), line.period_start, line.period_end,
                     line.amount)
        for line in lines
    )  # fmt: skip


def invoice_of(fact: InvoiceBooked) -> Invoice:
    """The domain's invoice of a booked one."""
    return Invoice(
        fact.invoice_id,
        fact.number,
        fact.account_id,
        fact.currency,
        fact.invoice_date,
        fact.due_date,
        _document_lines(fact.lines),
    )


def credit_note_of(fact: CreditNoteBooked) -> CreditNote:
    """The domain's credit note of a booked one."""
    return CreditNote(
        fact.credit_note_id,
        fact.number,
        fact.account_id,
        fact.currency,
        fact.issue_date,
        _document_lines(fact.lines),
    )


def entry_posted(entry: JournalEntry, entry_id: str, source_event_id: str) -> JournalEntryPosted:
    """The event of a journal entry the domain posted."""
    return JournalEntryPosted(
        entry_id=entry_id,
        account_id=entry.account_id,
        currency=entry.currency,
        entry_date=entry.entry_date,
        kind=entry.kind.value,
        concerns_kind=entry.concerns.kind.value,
        concerns_id=entry.concerns.id,
        concerns_line_no=entry.concerns.line_no,
        service_month=entry.service_month,
        lines=[
            EntryLine(ledger_account=line.account.value, debit=line.debit, credit=line.credit)
            for line in entry.lines
        ],
        moves=[
            EntryMove(target=move.target.value, ref=move.ref, amount=move.amount)
            for move in entry.moves
        ],
        source_event_id=source_event_id,
    )


def amount_applied(
    settlement: Settlement, application_id: str, account_id: str, currency: str
) -> InvoiceAmountApplied:
    """InvoiceAmountApplied (billing follows it) of money the domain applied to an invoice."""
    return InvoiceAmountApplied(
        application_id=application_id,
        invoice_id=settlement.invoice_id,
        account_id=account_id,
        currency=currency,
        amount=settlement.amount,
        source=settlement.source.value,
        source_id=settlement.source_id,
        applied_on=settlement.applied_on,
    )


def amount_unapplied(
    settlement: Settlement, unapplication_id: str, account_id: str, currency: str
) -> InvoiceAmountUnapplied:
    """InvoiceAmountUnapplied (billing follows it) of an application the domain undid
    (a negative settlement: a reversed payment's)."""
    return InvoiceAmountUnapplied(
        unapplication_id=unapplication_id,
        invoice_id=settlement.invoice_id,
        account_id=account_id,
        currency=currency,
        amount=-settlement.amount,
        source=settlement.source.value,
        source_id=settlement.source_id,
        unapplied_on=settlement.applied_on,
    )


def settlement_event(
    settlement: Settlement, event_id: str, account_id: str, currency: str
) -> InvoiceAmountApplied | InvoiceAmountUnapplied:
    """The event billing follows for one settlement: applied (> 0) or undone (< 0)."""
    if settlement.amount < 0:
        return amount_unapplied(settlement, event_id, account_id, currency)
    return amount_applied(settlement, event_id, account_id, currency)
