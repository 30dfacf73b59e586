"""A book's step as every handler takes it: load the book, apply a fact, record what it posted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from revline_events.received import Received
from revline_events.unit_of_work import UnitOfWork

from ledger.bookkeeping import Fact, apply_fact, book_stream, fold
from ledger.domain.book import AccountBook, Outcome
from ledger.store.books import Books
from ledger.translation import entry_posted, settlement_event


@dataclass
class OpenBook:
    """A book loaded in this unit of work, and its stream's version as recorded so far."""

    book: AccountBook
    version: int


async def open_book(uow: UnitOfWork, account_id: str, currency: str) -> OpenBook:
    """The book of `account_id` in `currency`, folded from its facts."""
    history = await uow.repository(Books).history(account_id, currency)
    return OpenBook(fold(account_id, currency, history.facts), history.version)


async def book_fact(
    uow: UnitOfWork, opened: OpenBook, fact: Fact, *, cause: Received[Any] | None,
    source: str | None = None, unless_empty: bool = False,
) -> Outcome:  # fmt: skip
    """Apply `fact` to the opened book and record it, then the entries and applications
    it posted; returns the domain's outcome. `cause` is the upstream event a reaction
    handles (None for a request, whose entries name `source`, e.g. the payment id).
    With `unless_empty`, a fact that posted nothing is not recorded either.
    Raises the domain's LedgerError (nothing is recorded then)."""
    book = opened.book
    outcome = apply_fact(book, fact)
    if unless_empty and not outcome.entries:
        return outcome
    caused_by = cause.event_id if cause is not None else source or ""
    posted = [entry_posted(e, uow.new_id("je"), caused_by) for e in outcome.entries]
    applied = [
        settlement_event(s, uow.new_id("ap" if s.amount > 0 else "ua"), book.account_id,
                         book.currency)
        for s in outcome.settlements
    ]  # fmt: skip
    events = [fact, *posted, *applied]
    await uow.record(
        events,
        stream_id=book_stream(book.account_id, book.currency),
        account_id=book.account_id,
        expected_version=opened.version,
        cause=cause,
    )
    opened.version += len(events)
    return outcome
