"""Kept books (ledger/handlers/books.py): a step on a book the process recorded the last
step of takes the kept book instead of folding the book's history again, and a kept book
is always the book its stream folds to; a step rolled back leaves nothing kept.

On the ledger live (SQLite, then PostgreSQL), its own unit of work, the book of one
recurring quarter (9000 over 2026-01-01..2026-03-31): January 3100, February 2800."""

from __future__ import annotations

from datetime import date

from ledger.bookkeeping import fold
from ledger.domain.book import AccountBook
from ledger.handlers.books import OpenBook, book_fact, open_book
from ledger.store.books import Books
from ledger_feed import BillingFeed, billed, wait_for_entries, written
from revline_events.payloads.ledger import RevenueRecognisedThrough
from revline_events.unit_of_work import UnitOfWork
from revline_testkit.live import LiveService
from revline_testkit.topics import unique


async def folded(uow: UnitOfWork, account: str) -> AccountBook:
    """The book as its stored facts fold to."""
    return fold(account, "USD", await uow.repository(Books).facts(account, "USD"))


async def recognise(uow: UnitOfWork, opened: OpenBook, account: str, through: str) -> None:
    fact = RevenueRecognisedThrough(run_id=unique("rr"), account_id=account, currency="USD",
                                    through=date.fromisoformat(through))  # fmt: skip
    outcome = await book_fact(uow, opened, fact, cause=None, source=fact.run_id)
    assert outcome.entries  # a month was due: the step is recorded


async def test_a_step_takes_the_kept_book_and_a_rolled_back_one_leaves_none(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    runtime = ledger_service.runtime
    account = unique("kept")
    await feed.send(
        feed.invoice(account, "INV-000001", "2026-01-01", "2026-01-31",
                     billed("recurring", 9000, "2026-01-01", "2026-03-31"))
    )  # fmt: skip
    await wait_for_entries(ledger_service.client, account, 1)

    async with runtime.uow() as uow:
        january = await open_book(uow, account, "USD")
        await recognise(uow, january, account, "2026-01-31")
        await uow.commit()

    # Recorded and committed: the next step takes that very book, and it is the fold.
    async with runtime.uow() as uow:
        february = await open_book(uow, account, "USD")
        assert february.book is january.book
        assert february.book == await folded(uow, account)
        await recognise(uow, february, account, "2026-02-28")
        # rolled back: no commit

    # The kept book had February in it; the stream does not: folded again.
    async with runtime.uow() as uow:
        again = await open_book(uow, account, "USD")
        assert again.book is not february.book
        assert again.book == await folded(uow, account)
        assert again.version == january.version

    entries = await wait_for_entries(ledger_service.client, account, 2)
    assert [written(e) for e in entries] == [
        ("2026-01-01", "Dr 1100 9000; Cr 2100 9000"),
        ("2026-01-31", "Dr 2100 3100; Cr 4000 3100"),
    ]
