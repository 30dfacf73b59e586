"""Reactions to billing.events: each invoice, credit note and void, a step on its book.

The step is the domain's (bookkeeping.apply_fact); the reaction loads the book
from its stream, applies the fact and records the fact with what it posted:
the journal entries and the applications billing follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from revline_events.payloads.billing import CreditNoteIssued, InvoicePosted, InvoiceVoided
from revline_events.payloads.ledger import InvoiceVoidBooked
from revline_events.reactions import Reactions
from revline_events.received import Received
from revline_events.unit_of_work import UnitOfWork

from ledger.bookkeeping import Fact, apply_fact, book_stream, fold
from ledger.domain.book import AccountBook
from ledger.store.books import Books
from ledger.translation import amount_applied, credit_note_booked, entry_posted, invoice_booked

REACTIONS = Reactions()


@dataclass
class OpenBook:
    """A book loaded in this unit of work, and its stream's version as recorded so far."""

    book: AccountBook
    version: int


async def open_book(uow: UnitOfWork, account_id: str, currency: str) -> OpenBook:
    """The book of `account_id` in `currency`, folded from its facts."""
    history = await uow.repository(Books).history(account_id, currency)
    return OpenBook(fold(account_id, currency, history.facts), history.version)


async def book_fact(uow: UnitOfWork, opened: OpenBook, fact: Fact, cause: Received[Any]) -> None:
    """Apply `fact` to the opened book and record it, then the entries and applications
    it posted. Raises the domain's LedgerError (a poison event: nothing is recorded)."""
    book = opened.book
    outcome = apply_fact(book, fact)
    posted = [entry_posted(e, uow.new_id("je"), cause.event_id) for e in outcome.entries]
    applied = [
        amount_applied(s, uow.new_id("ap"), book.account_id, book.currency)
        for s in outcome.settlements
    ]
    events = [fact, *posted, *applied]
    await uow.record(
        events,
        stream_id=book_stream(book.account_id, book.currency),
        account_id=book.account_id,
        expected_version=opened.version,
        cause=cause,
    )
    opened.version += len(events)


@REACTIONS.on_batch(InvoicePosted)
async def invoices_posted(posted: Sequence[Received[InvoicePosted]], uow: UnitOfWork) -> None:
    """Post each invoice to its book (Dr 1100; Cr 2100 / 4100), apply customer credit to it,
    recognise revenue through its date. Each book is loaded once per batch."""
    books: dict[tuple[str, str], OpenBook] = {}
    for event in posted:
        key = (event.payload.account_id, event.payload.currency)
        if key not in books:
            books[key] = await open_book(uow, *key)
        await book_fact(uow, books[key], invoice_booked(event), event)


@REACTIONS.on(CreditNoteIssued)
async def credit_note_issued(event: Received[CreditNoteIssued], uow: UnitOfWork) -> None:
    """Post the credit note and apply it to open invoices like cash; the rest is credit."""
    note = event.payload
    opened = await open_book(uow, note.account_id, note.currency)
    await book_fact(uow, opened, credit_note_booked(event), event)


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
    await book_fact(uow, opened, fact, event)
