"""Recognition runs: every book recognises the line-months due by a date (finance's request,
or the service's own timer, ledger/recognition_timer.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from revline_events.payloads.ledger import RevenueRecognisedThrough
from revline_events.unit_of_work import UnitOfWork

from ledger.handlers.books import book_fact, open_book
from ledger.store.receivables import Receivables


async def recognise_through(uow: UnitOfWork, through: date) -> dict[str, Any]:
    """Post every book's recognition due by `through` (Dr 2100 / Cr 4000, one entry per
    line and month). Books with nothing due record nothing: running it again changes
    nothing. One transaction for every book."""
    run_id = uow.new_id("rr")
    books = await uow.repository(Receivables).books()
    recognised, entries = await recognise_books(uow, run_id, through, books)
    return {"id": run_id, "through": through, "books": recognised, "entries": entries}


async def recognise_books(
    uow: UnitOfWork, run_id: str, through: date, books: Iterable[tuple[str, str]]
) -> tuple[int, int]:
    """Recognise what is due by `through` in each (account, currency) book of `books`:
    a RevenueRecognisedThrough fact of run `run_id` on each book it posts entries in,
    none on the others. Returns (books that posted, entries posted). Idempotent by date:
    each book is loaded under its lock and refolded, so what a run (this one, an
    earlier one, or another replica's) recognised already is not due again."""
    posted_books = entries = 0
    for account_id, currency in books:
        fact = RevenueRecognisedThrough(
            run_id=run_id, account_id=account_id, currency=currency, through=through
        )
        opened = await open_book(uow, account_id, currency)
        outcome = await book_fact(uow, opened, fact, cause=None, source=run_id,
                                  unless_empty=True)  # fmt: skip
        if outcome.entries:
            posted_books, entries = posted_books + 1, entries + len(outcome.entries)
    return posted_books, entries
