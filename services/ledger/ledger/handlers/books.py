"""A book's step as every handler takes it: load the book, apply a fact, record what it posted.

**Kept books.** Folding a book replays its whole history through the domain,
so posting an invoice cost more the more the book had seen (about a
millisecond per fact). The process keeps the books it recorded a step in
(`KEPT_BOOKS` of them, least recently used dropped), each with the head of
its stream (version and last event id) right after that step. `open_book`
takes the book's lock and reads the stream's head (one indexed row): when
the kept head is that head, the stream holds exactly the history the kept
book was folded from plus that step, so the kept book is used and nothing
is read or folded; otherwise (another replica wrote, the step's transaction
rolled back, the book was never kept) the book is folded from its facts as
before. A book is taken out of the keep when opened and put back only after
a step is recorded, so a step that failed, or applied nothing it recorded,
leaves nothing behind; and a writer of the book after the keeper's commit
holds the book's lock (PostgreSQL) or the database's (SQLite), so the
keeper's transaction has ended and the kept book is no longer changed.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from revline_events.received import Received
from revline_events.unit_of_work import UnitOfWork

from ledger.bookkeeping import Fact, apply_fact, book_stream, fold
from ledger.domain.book import AccountBook, Outcome
from ledger.store.books import Books, StreamHead
from ledger.timings import POSTING_SECONDS
from ledger.translation import entry_posted, settlement_event

KEPT_BOOKS = 4096


@dataclass
class OpenBook:
    """A book loaded in this unit of work, and its stream's version as recorded so far."""

    book: AccountBook
    version: int


# (database, stream id) -> (the stream's head after the step last recorded, the book then)
_kept: OrderedDict[tuple[str, str], tuple[StreamHead, AccountBook]] = OrderedDict()


def _key(uow: UnitOfWork, account_id: str, currency: str) -> tuple[str, str]:
    return (uow.repository(Books).database(), book_stream(account_id, currency))


async def open_book(uow: UnitOfWork, account_id: str, currency: str) -> OpenBook:
    """The book of `account_id` in `currency` under its lock: the kept book when the
    stream's head is the one it was kept at, else folded from its facts."""
    books = uow.repository(Books)
    head = await books.head(account_id, currency)
    kept = _kept.pop(_key(uow, account_id, currency), None)
    if kept is not None and kept[0] == head:
        return OpenBook(kept[1], head.version)
    facts = await books.facts(account_id, currency)
    return OpenBook(fold(account_id, currency, facts), head.version)


async def book_fact(
    uow: UnitOfWork, opened: OpenBook, fact: Fact, *, cause: Received[Any] | None,
    source: str | None = None, unless_empty: bool = False,
) -> Outcome:  # fmt: skip
    """Apply `fact` to the opened book and record it, then the entries and applications
    it posted; returns the domain's outcome. `cause` is the upstream event a reaction
    handles (None for a request, whose entries name `source`, e.g. the payment id).
    With `unless_empty`, a fact that posted nothing is not recorded either.
    Raises the domain's LedgerError (nothing is recorded then). Its time is observed
    in POSTING_SECONDS."""
    started = time.perf_counter()
    book = opened.book
    # Out of the keep while it changes: put back only once the step is recorded.
    _kept.pop(_key(uow, book.account_id, book.currency), None)
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
    recorded = await uow.record(
        events,
        stream_id=book_stream(book.account_id, book.currency),
        account_id=book.account_id,
        expected_version=opened.version,
        cause=cause,
    )
    opened.version += len(events)
    _keep(uow, book, StreamHead(opened.version, recorded[-1].event_id))
    POSTING_SECONDS.labels(type(fact).__name__).observe(time.perf_counter() - started)
    return outcome


def _keep(uow: UnitOfWork, book: AccountBook, head: StreamHead) -> None:
    """Keep `book` as of `head` (the most recently used last), dropping the least
    recently used beyond KEPT_BOOKS."""
    key = _key(uow, book.account_id, book.currency)
    _kept.pop(key, None)
    _kept[key] = (head, book)
    while len(_kept) > KEPT_BOOKS:
        _kept.popitem(last=False)
