"""Reactions to billing.events: each invoice, credit note and void, a step on its book.

The step is the domain's (bookkeeping.apply_fact); the reaction loads the book
from its stream, applies the fact and records the fact with what it posted:
the journal entries and the applications billing follows.
"""

from __future__ import annotations

from collections.abc import Sequence

from revline_events.payloads.billing import CreditNoteIssued, InvoicePosted, InvoiceVoided
from revline_events.payloads.ledger import InvoiceVoidBooked
from revline_events.reactions import Reactions
from revline_events.received import Received
from revline_events.unit_of_work import UnitOfWork

from ledger.handlers.books import OpenBook, book_fact, open_book
from ledger.translation import credit_note_booked, invoice_booked

REACTIONS = Reactions()


@REACTIONS.on_batch(InvoicePosted)
async def invoices_posted(posted: Sequence[Received[InvoicePosted]], uow: UnitOfWork) -> None:
    """Post each invoice to its book (Dr 1100; Cr 2100 / 4100), apply customer credit to it,
    recognise revenue through its date. Each book is loaded once per batch."""
    books: dict[tuple[str, str], OpenBook] = {}
    for event in posted:
        key = (event.payload.account_id, event.payload.currency)
        if key not in books:
            books[key] = await open_book(uow, *key)
        await book_fact(uow, books[key], invoice_booked(event), cause=event)


@REACTIONS.on(CreditNoteIssued)
async def credit_note_issued(event: Received[CreditNoteIssued], uow: UnitOfWork) -> None:
    """Post the credit note and apply it to open invoices like cash; the rest is credit."""
    note = event.payload
    opened = await open_book(uow, note.account_id, note.currency)
    await book_fact(uow, opened, credit_note_booked(event), cause=event)


@REACTIONS.on(InvoiceVoided)
async def invoice_voided(event: Received[InvoiceVoided], uow: UnitOfWork) -> None:
    """Reverse the voided invoice's posting and every recognition posted for its lines."""
    void = event.payload
    opened = await open_book(uow, void.account_id, void.currency)
    fact = InvoiceVoidBooked(
        invoice_id=void.invoice_id,
        account_id=void.account_id,
        currency=void.currency,
        voided_on=void.voided_on,
        source_event_id=event.event_id,
    )
    await book_fact(uow, opened, fact, cause=event)
