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
class StreamHead:
    """A book's stream as it stands: its version (every event counted) and the id of its
    last event (None for a new book). Two heads equal only for the same history: an
    event id is never reused, and one rolled back is never stored."""

    version: int
    last_event_id: str | None


@dataclass(frozen=True)
class BookHistory:
    """A book's facts in stream order, and the stream's version (every event counted)."""

    facts: list[Fact]
    version: int


class Books(Repository):
    """The streams of the books, one per customer account and currency."""

    def database(self) -> str:
        """Which database these books are in (its URL): books kept in memory
        (handlers/books.py) are keyed by it, so two databases never share one."""
        return str(self.session.bind.sync_engine.url)

    async def head(self, account_id: str, currency: str) -> StreamHead:
        """Take the book's lock, then read its stream's head (one row, by the stream's
        unique (stream_id, stream_version) index)."""
        events = kernel.event_store
        stream_id = book_stream(account_id, currency)
        await self._lock(stream_id)
        stmt = (
            select(events.c.stream_version, events.c.event_id)
            .where(events.c.stream_id == stream_id)
            .order_by(events.c.stream_version.desc())
            .limit(1)
        )
        found = (await self.session.execute(stmt)).first()
        return StreamHead(0, None) if found is None else StreamHead(int(found[0]), str(found[1]))

    async def facts(self, account_id: str, currency: str) -> list[Fact]:
        """The facts of the book of `account_id` in `currency`, in stream order."""
        events = kernel.event_store
        stmt = (
            select(events)
            .where(
                events.c.stream_id == book_stream(account_id, currency),
                events.c.type.in_(_FACT_TYPES),
            )
            .order_by(events.c.stream_version)
        )
        facts: list[Fact] = []
        for row in (await self.session.execute(stmt)).mappings():
            fact = CATALOGUE.parse(envelope_from_row(row))
            if not isinstance(fact, FACTS):  # pragma: no cover - the query selects facts
                raise TypeError(f"{type(fact).__name__} is not a fact of a book")
            facts.append(fact)
        return facts

    async def history(self, account_id: str, currency: str) -> BookHistory:
        """The facts of the book of `account_id` in `currency` (none for a new book), read
        under the book's lock."""
        head = await self.head(account_id, currency)
        return BookHistory(await self.facts(account_id, currency), head.version)

    async def _lock(self, stream_id: str) -> None:
        """Writers of one book take turns until their commit (the consumer and a payment
        request, say), so neither loses a race on the stream version. SQLite serialises
        every writer already (BEGIN IMMEDIATE on one connection); on PostgreSQL a
        transaction-scoped advisory lock on the stream does it."""
        if self.session.bind.dialect.name == "postgresql":
            await self.session.execute(
                select(func.pg_advisory_xact_lock(func.hashtextextended(stream_id, 0)))
            )
