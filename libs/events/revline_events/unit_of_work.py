"""A unit of work: one database transaction holding events, projections and outbox rows.

Projections change only by applying events, through the same `Projector` a
rebuild uses, so state is always a fold over the event store. The unit of work
is also how a handler (an HTTP command or a reaction) reaches the service's
clock, settings and id generator, and it stamps the envelopes of what the
handler records.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Protocol, TypeVar, runtime_checkable

from sqlalchemy import Insert, Table, TextualSelect, bindparam, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from revline_events.catalogue import CATALOGUE, Catalogue, EventPayload
from revline_events.clock import Clock
from revline_events.database import Database
from revline_events.envelope import Envelope
from revline_events.event_store import EventStore, Queued
from revline_events.ids import IdGenerator
from revline_events.received import Received
from revline_events.repository import Repository
from revline_events.stamping import NewStream, Stamper
from revline_events.tables import KernelTables

# Ids per inbox lookup: well inside every database's limit on bound parameters.
INBOX_CHUNK = 500
S = TypeVar("S")
R = TypeVar("R", bound=Repository)


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
    batch = _project_batch(projector)
    if batch is not None:
        await batch(session, items)
        return
    for envelope, event in items:
        await projector(session, envelope, event)


def _project_batch(
    projector: Projector,
) -> Callable[[AsyncSession, Sequence[tuple[Envelope, EventPayload]]], Awaitable[None]] | None:
    """The projector's `project_batch`, when it is a BatchProjector. (What the runtime
    protocol check looks at, without its cost: it ran for every unit of work.)"""
    batch = getattr(projector, "project_batch", None)
    return batch if callable(batch) else None


class AfterCommit(Protocol):
    """Told when a transaction that queued events has committed."""

    def notify(self) -> None:
        """Events were committed to the outbox."""
        ...


@runtime_checkable
class HandedCommits(AfterCommit, Protocol):
    """An AfterCommit that takes the committed outbox rows themselves (the relay:
    it can publish them without reading them back)."""

    def committed(self, queued: Sequence[Queued]) -> None:
        """`queued` (in outbox order) were committed."""
        ...


class UnitOfWork:
    """`async with uow:` opens a transaction; `record()` appends and projects; `commit()` ends it.

    Leaving the block without commit rolls everything back: nothing half written.
    `producer` names the service on every envelope it stamps; `clock` stamps their
    time and drives `new_id`; `correlation` gives the ambient correlation id (the
    HTTP request's) for events recorded without a cause.
    """

    def __init__(
        self,
        db: Database,
        tables: KernelTables,
        store: EventStore,
        projector: Projector,
        *,
        producer: str,
        clock: Clock,
        ids: IdGenerator | None = None,
        settings: object = None,
        correlation: Callable[[], str | None] | None = None,
        after_commit: AfterCommit | None = None,
        catalogue: Catalogue = CATALOGUE,
    ) -> None:
        self.db = db
        self.tables = tables
        self.store = store
        self.producer = producer
        self.clock = clock
        self.ids = ids or IdGenerator(clock)
        self.settings = settings
        self._stamper = Stamper(producer, clock, correlation)
        self._projector = projector
        self._after_commit = after_commit
        self._catalogue = catalogue
        self._session: AsyncSession | None = None
        self._repositories: dict[type[Repository], Repository] = {}
        self._queued: list[Queued] = []

    def new_id(self, prefix: str) -> str:
        """A fresh time-sortable id on the service's clock (`revline_events.ids`)."""
        return self.ids.new(prefix)

    def repository(self, kind: type[R]) -> R:
        """The `kind` repository on this unit of work's session (one per transaction).

        Handlers reach the database only through repositories (store/), never
        through the session itself. Only inside `async with`.
        """
        found = self._repositories.get(kind)
        if found is None:
            found = self._repositories[kind] = kind(self.session)
        if not isinstance(found, kind):  # pragma: no cover - the dict is keyed by class
            raise TypeError(f"{type(found).__name__} is not a {kind.__name__}")
        return found

    def settings_as(self, kind: type[S]) -> S:
        """The service's settings as `kind`; raises TypeError when they are not one."""
        if not isinstance(self.settings, kind):
            raise TypeError(f"settings are {type(self.settings).__name__}, not {kind.__name__}")
        return self.settings

    @property
    def session(self) -> AsyncSession:
        """The open session; only inside `async with`."""
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self.db.session()
        await self._session.begin()
        self._repositories = {}
        self._queued = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        self._repositories = {}
        if session is None:
            return
        try:
            if session.in_transaction():
                await session.rollback()
        finally:
            await session.close()

    async def record(
        self,
        payloads: Sequence[EventPayload],
        *,
        stream_id: str,
        account_id: str,
        expected_version: int,
        cause: Received[Any] | None,
        effective_date: date | None = None,
    ) -> list[Envelope]:
        """Stamp `payloads` as the next events of one stream, append them (optimistic
        concurrency) and apply them to the projections; returns their envelopes.

        `cause` is the upstream event a reaction handles (its correlation and event id
        become theirs), None for a command. Raises ConcurrencyConflict when the stream
        is not at `expected_version`.
        """
        events = self._stamper.stamp(
            payloads,
            stream_id=stream_id,
            account_id=account_id,
            expected_version=expected_version,
            cause=cause,
            effective_date=effective_date,
        )
        await self.append(events, expected_version=expected_version)
        return events

    async def record_dated(
        self,
        steps: Sequence[tuple[EventPayload, date | None]],
        *,
        stream_id: str,
        account_id: str,
        expected_version: int,
        cause: Received[Any] | None,
    ) -> list[Envelope]:
        """As `record`, for events of one stream that each take effect on their own date
        (a contract renewed term after term): stamped one by one, appended at once."""
        events: list[Envelope] = []
        for number, (payload, effective_date) in enumerate(steps):
            events += self._stamper.stamp(
                [payload],
                stream_id=stream_id,
                account_id=account_id,
                expected_version=expected_version + number,
                cause=cause,
                effective_date=effective_date,
            )
        await self.append(events, expected_version=expected_version)
        return events

    async def record_new_streams(
        self, streams: Sequence[NewStream], *, cause: Received[Any] | None
    ) -> list[Envelope]:
        """Stamp and record the first event of each of several new streams, batched
        (`append_new_streams`); returns their envelopes."""
        events = self._stamper.stamp_new_streams(streams, cause=cause)
        await self.append_new_streams(events)
        return events

    async def append(self, events: Sequence[Envelope], *, expected_version: int) -> None:
        """Append one stream's stamped events (optimistic concurrency) and apply them to
        projections, at once when the projector batches (`BatchProjector`). The kernel's
        step under `record`; services call `record`."""
        queued = await self.store.append(self.session, events, expected_version=expected_version)
        items = [(e, self._catalogue.parse(e)) for e in events]
        await project_all(self._projector, self.session, items)
        self._queued.extend(queued)

    async def append_new_streams(self, events: Sequence[Envelope]) -> None:
        """Append the first event of each of several new streams and apply them to the
        projections, batched (`EventStore.append_new_streams`, `BatchProjector`)."""
        queued = await self.store.append_new_streams(self.session, events)
        items = [(e, self._catalogue.parse(e)) for e in events]
        await project_all(self._projector, self.session, items)
        self._queued.extend(queued)

    async def commit(self) -> None:
        """Commit the transaction, then wake the outbox relay if events were queued
        (handing it the committed rows when it takes them)."""
        await self.session.commit()
        queued, self._queued = self._queued, []
        if queued and self._after_commit is not None:
            committed = getattr(self._after_commit, "committed", None)  # HandedCommits
            if callable(committed):
                committed(queued)
            else:
                self._after_commit.notify()

    # The inbox: upstream event ids already handled, in the same transaction.

    async def claim(self, envelope: Envelope, topic: str, outcome: str = "applied") -> bool:
        """Record the upstream event as handled in this transaction, unless it was
        before: True when it is new (apply it), False for a redelivery.

        One statement (`INSERT ... ON CONFLICT DO NOTHING RETURNING`) instead of a
        lookup and an insert. On PostgreSQL a replica handling the same event at
        the same time makes it wait for that transaction, then count a duplicate.
        """
        return bool(await self.claim_many([envelope], topic, outcome))

    async def claim_many(
        self, envelopes: Sequence[Envelope], topic: str, outcome: str = "applied"
    ) -> set[str]:
        """`claim` for several upstream events at once: the ids of those that are new
        (an id twice in `envelopes` is claimed once)."""
        now = datetime.now(UTC)
        rows: dict[str, dict[str, Any]] = {}
        for e in envelopes:
            rows.setdefault(
                e.event_id,
                {"event_id": e.event_id, "topic": topic, "type": e.type, "outcome": outcome,
                 "processed_at": now},
            )  # fmt: skip
        unique = list(rows.values())
        claimed: set[str] = set()
        conn = await self.session.connection()
        if len(unique) == 1:  # one event (the hot path): a plain execute, not an executemany
            claimed.update(await conn.scalars(_claim_one(self.tables.inbox), unique[0]))
            return claimed
        stmt = _claim_statement(self.tables.inbox, self.db.is_postgres)
        for start in range(0, len(unique), INBOX_CHUNK):
            claimed.update(await conn.scalars(stmt, unique[start : start + INBOX_CHUNK]))
        return claimed

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


_CLAIMS: dict[tuple[Table, bool], Insert] = {}
_CLAIM_ONE: dict[Table, TextualSelect] = {}
_INBOX_COLUMNS = ("event_id", "topic", "type", "outcome", "processed_at")


def _claim_one(inbox: Table) -> TextualSelect:
    """The claim of one event as SQL text: the same statement on SQLite and PostgreSQL,
    and one SQLAlchemy compiles once (its dialects' ON CONFLICT inserts are left out of
    the statement cache, so built as `_claim_statement` it was compiled at every call)."""
    stmt = _CLAIM_ONE.get(inbox)
    if stmt is None:
        names = ", ".join(f'"{c}"' for c in _INBOX_COLUMNS)
        values = ", ".join(f":{c}" for c in _INBOX_COLUMNS)
        stmt = (
            text(
                f'INSERT INTO "{inbox.name}" ({names}) VALUES ({values}) '
                'ON CONFLICT DO NOTHING RETURNING "event_id"'
            )
            .bindparams(*(bindparam(c, type_=inbox.c[c].type) for c in _INBOX_COLUMNS))
            .columns(inbox.c.event_id)
        )
        _CLAIM_ONE[inbox] = stmt
    return stmt


def _claim_statement(inbox: Table, postgres: bool) -> Insert:
    """`INSERT INTO inbox ... ON CONFLICT DO NOTHING RETURNING event_id` for many rows
    (an executemany SQLAlchemy batches), built once per table and dialect (both take
    it: PostgreSQL, and SQLite from 3.35)."""
    stmt = _CLAIMS.get((inbox, postgres))
    if stmt is None:
        dialect_insert = postgresql.insert if postgres else sqlite.insert
        stmt = dialect_insert(inbox).on_conflict_do_nothing().returning(inbox.c.event_id)
        _CLAIMS[(inbox, postgres)] = stmt
    return stmt
