"""A recognition run: every book recognises the line-months due by a date (finance's request)."""

from __future__ import annotations

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
    books = entries = 0
    for account_id, currency in await uow.repository(Receivables).books():
        fact = RevenueRecognisedThrough(
            run_id=run_id, account_id=account_id, currency=currency, through=through
        )
        opened = await open_book(uow, account_id, currency)
        outcome = await book_fact(uow, opened, fact, cause=None, source=run_id,
                                  unless_empty=True)  # fmt: skip
        if outcome.entries:
            books, entries = books + 1, entries + len(outcome.entries)
    return {"id": run_id, "through": through, "books": books, "entries": entries}
