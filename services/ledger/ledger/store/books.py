"""The books' streams: the facts a book is folded from, read back from the event store."""

from __future__ import annotations

from dataclasses import dataclass

from revline_events.catalogue import CATALOGUE
from revline_events.event_store import envelope_from_row
from revline_events.repository import Repository
from sqlalchemy import func, select

from ledger.bookkeeping import FACTS, Fact, book_stream
from ledger.store.tables import kernel

_FACT_TYPES = [kind.event_type for kind in FACTS]


@dataclass(frozen=True)
class BookHistory:
    """A book's facts in stream order, and the stream's version (every event counted)."""

    facts: list[Fact]
    version: int


class Books(Repository):
    """The streams of the books, one per customer account and currency."""

    async def history(self, account_id: str, currency: str) -> BookHistory:
        """The facts of the book of `account_id` in `currency` (none for a new book)."""
        events = kernel.event_store
        stream_id = book_stream(account_id, currency)
        await self._lock(stream_id)
        version = await self.session.scalar(
            select(func.max(events.c.stream_version)).where(events.c.stream_id == stream_id)
        )
        stmt = (
            select(events)
            .where(events.c.stream_id == stream_id, events.c.type.in_(_FACT_TYPES))
            .order_by(events.c.stream_version)
        )
        facts: list[Fact] = []
        for row in (await self.session.execute(stmt)).mappings():
            fact = CATALOGUE.parse(envelope_from_row(row))
            if not isinstance(fact, FACTS):  # pragma: no cover - the query selects facts
                raise TypeError(f"{type(fact).__name__} is not a fact of a book")
            facts.append(fact)
        return BookHistory(facts, int(version or 0))

    async def _lock(self, stream_id: str) -> None:
        """Writers of one book take turns until their commit (the consumer and a payment
        request, say), so neither loses a race on the stream version. SQLite serialises
        every writer already (BEGIN IMMEDIATE on one connection); on PostgreSQL a
        transaction-scoped advisory lock on the stream does it."""
        if self.session.bind.dialect.name == "postgresql":
            await self.session.execute(
                select(func.pg_advisory_xact_lock(func.hashtextextended(stream_id, 0)))
            )
