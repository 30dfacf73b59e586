"""A unit of work: one database transaction holding events, projections and outbox rows.

Projections change only by applying events, through the same `Projector` a
rebuild uses, so state is always a fold over the event store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol, runtime_checkable

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from revline_events.catalogue import CATALOGUE, Catalogue, EventPayload
from revline_events.database import Database
from revline_events.envelope import Envelope
from revline_events.event_store import EventStore
from revline_events.tables import KernelTables

# Ids per inbox lookup: well inside every database's limit on bound parameters.
INBOX_CHUNK = 500


class Projector(Protocol):
    """Applies one of the service's own events to its projection tables."""

    async def __call__(
        self, session: AsyncSession, envelope: Envelope, event: EventPayload
    ) -> None:
        """Update the projections for `event`; must be deterministic (rebuild replays it)."""
        ...


@runtime_checkable
class BatchProjector(Projector, Protocol):
    """A projector that can also apply many events at once, with the same effect as
    applying them one by one in order (fewer statements: bill runs, rebuilds)."""

    async def project_batch(
        self, session: AsyncSession, items: Sequence[tuple[Envelope, EventPayload]]
    ) -> None:
        """Update the projections for every event of `items`, in their order."""
        ...


async def project_all(
    projector: Projector, session: AsyncSession, items: Sequence[tuple[Envelope, EventPayload]]
) -> None:
    """Apply `items` in order: at once when the projector batches, else one by one."""
    if isinstance(projector, BatchProjector):
        await projector.project_batch(session, items)
        return
    for envelope, event in items:
        await projector(session, envelope, event)


class AfterCommit(Protocol):
    """Told when a transaction that queued events has committed."""

    def notify(self) -> None:
        """Events were committed to the outbox."""
        ...


class UnitOfWork:
    """`async with uow:` opens a transaction; `record()` appends and projects; `commit()` ends it.

    Leaving the block without commit rolls everything back: nothing half written.
    """

    def __init__(
        self,
        db: Database,
        tables: KernelTables,
        store: EventStore,
        projector: Projector,
        *,
        after_commit: AfterCommit | None = None,
        catalogue: Catalogue = CATALOGUE,
    ) -> None:
        self.db = db
        self.tables = tables
        self.store = store
        self._projector = projector
        self._after_commit = after_commit
        self._catalogue = catalogue
        self._session: AsyncSession | None = None
        self._queued = False

    @property
    def session(self) -> AsyncSession:
        """The open session; only inside `async with`."""
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self.db.session()
        await self._session.begin()
        self._queued = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            if session.in_transaction():
                await session.rollback()
        finally:
            await session.close()

    async def record(self, events: Sequence[Envelope], *, expected_version: int) -> None:
        """Append one stream's events (optimistic concurrency) and apply them to projections."""
        await self.store.append(self.session, events, expected_version=expected_version)
        for envelope in events:
            await self._projector(self.session, envelope, self._catalogue.parse(envelope))
        self._queued = self._queued or bool(events)

    async def record_new_streams(self, events: Sequence[Envelope]) -> None:
        """Append the first event of each of several new streams and apply them to the
        projections, batched (`EventStore.append_new_streams`, `BatchProjector`)."""
        await self.store.append_new_streams(self.session, events)
        items = [(e, self._catalogue.parse(e)) for e in events]
        await project_all(self._projector, self.session, items)
        self._queued = self._queued or bool(events)

    async def commit(self) -> None:
        """Commit the transaction, then wake the outbox relay if events were queued."""
        await self.session.commit()
        if self._queued and self._after_commit is not None:
            self._after_commit.notify()
        self._queued = False

    # The inbox: upstream event ids already handled, in the same transaction.

    async def seen(self, event_id: str) -> bool:
        """True when this upstream event was handled before (a redelivery)."""
        inbox = self.tables.inbox
        stmt = select(inbox.c.event_id).where(inbox.c.event_id == event_id)
        return (await self.session.execute(stmt)).first() is not None

    async def seen_many(self, event_ids: Sequence[str]) -> set[str]:
        """The ids of `event_ids` handled before (redeliveries), in one query per chunk."""
        inbox = self.tables.inbox
        found: set[str] = set()
        unique = list(dict.fromkeys(event_ids))
        for start in range(0, len(unique), INBOX_CHUNK):
            chunk = unique[start : start + INBOX_CHUNK]
            stmt = select(inbox.c.event_id).where(inbox.c.event_id.in_(chunk))
            found.update(await self.session.scalars(stmt))
        return found

    async def mark_seen_many(
        self, envelopes: Sequence[Envelope], topic: str, outcome: str = "applied"
    ) -> None:
        """Record several upstream events of `topic` as handled, with one batched insert;
        the unique key turns a race with another replica into a rollback."""
        if not envelopes:
            return
        now = datetime.now(UTC)
        rows = [
            {
                "event_id": e.event_id,
                "topic": topic,
                "type": e.type,
                "outcome": outcome,
                "processed_at": now,
            }
            for e in envelopes
        ]
        await self.session.execute(insert(self.tables.inbox), rows)

    async def mark_seen(self, envelope: Envelope, topic: str, outcome: str = "applied") -> None:
        """Record the upstream event as handled; the unique key turns a race into a rollback."""
        await self.session.execute(
            insert(self.tables.inbox).values(
                event_id=envelope.event_id,
                topic=topic,
                type=envelope.type,
                outcome=outcome,
                processed_at=datetime.now(UTC),
            )
        )
