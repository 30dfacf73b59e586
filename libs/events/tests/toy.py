"""A toy service on the event kernel, small enough to see every moving part.

It counts: `CounterIncremented` events (its own) fold into the `counters`
projection. As a consumer it turns upstream `ClickRecorded` events into
`CounterIncremented` events of its own, so "one effect" is one increment.
Its payloads live in their own `TOY_CATALOGUE`, never in the global one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from revline_events.catalogue import Catalogue, EventPayload, make_envelope
from revline_events.clock import FixedClock
from revline_events.consumer import BatchHandler
from revline_events.database import Database
from revline_events.envelope import Envelope
from revline_events.event_store import EventStore
from revline_events.reactions import Reactions
from revline_events.received import Received
from revline_events.tables import KernelTables
from revline_events.unit_of_work import AfterCommit, UnitOfWork
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

SERVICE = "toy"
CLOCK = FixedClock(datetime(2025, 1, 15, 9, 30, tzinfo=UTC))

metadata = MetaData()
kernel = KernelTables(metadata)
counters = Table(
    "counters",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Integer, nullable=False),
)
PROJECTIONS: tuple[Table, ...] = (counters,)

TOY_CATALOGUE = Catalogue()


@TOY_CATALOGUE.register("CounterIncremented", 1)
class CounterIncrementedV1(EventPayload):
    """A counter went up by one (the first version had no `by`)."""

    name: str


@TOY_CATALOGUE.register("CounterIncremented", 2)
class CounterIncremented(EventPayload):
    """A counter went up by `by`."""

    name: str
    by: int


@TOY_CATALOGUE.upcaster("CounterIncremented", 1)
def _increment_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "by": 1}


@TOY_CATALOGUE.register("ClickRecorded")
class ClickRecorded(EventPayload):
    """Upstream: someone clicked the counter `name`."""

    name: str
    clicks: int


@TOY_CATALOGUE.register("CounterRenamed")
class CounterRenamed(EventPayload):
    """Upstream and known, but the toy consumer has no handler for it."""

    name: str
    new_name: str


class CounterLocked(Exception):
    """A business rule refused the click: the counter is locked."""

    def __init__(self, name: str) -> None:
        super().__init__(f"counter {name} is locked")
        self.name = name


async def project(session: AsyncSession, envelope: Envelope, event: EventPayload) -> None:
    """Fold the toy's own events into `counters`."""
    if not isinstance(event, CounterIncremented):
        return
    current = await session.scalar(select(counters.c.value).where(counters.c.name == event.name))
    if current is None:
        await session.execute(insert(counters).values(name=event.name, value=event.by))
    else:
        await session.execute(
            update(counters).where(counters.c.name == event.name).values(value=current + event.by)
        )


def increment(
    name: str,
    by: int,
    *,
    version: int,
    account_id: str = "acme",
    causation_id: str | None = None,
) -> Envelope:
    """The `version`-th CounterIncremented of counter `name` (stream `counter-<name>`)."""
    return make_envelope(
        CounterIncremented(name=name, by=by),
        stream_id=f"counter-{name}",
        stream_version=version,
        account_id=account_id,
        producer=SERVICE,
        clock=CLOCK,
        causation_id=causation_id,
    )


def upstream(payload: EventPayload, *, account_id: str = "acme") -> Envelope:
    """An event as an upstream service would publish it."""
    return make_envelope(
        payload,
        stream_id=f"upstream-{uuid.uuid4().hex[:8]}",
        stream_version=1,
        account_id=account_id,
        producer="upstream",
        clock=CLOCK,
    )


REACTIONS = Reactions()
MIRROR_REACTIONS = Reactions()


@REACTIONS.on(ClickRecorded)
async def on_click(event: Received[ClickRecorded], uow: UnitOfWork) -> None:
    """Reaction to ClickRecorded: increment the counter by the clicks, as the toy's own event."""
    name = event.payload.name
    if name.startswith("locked"):
        raise CounterLocked(name)
    if name.startswith("clash"):
        # A row the service's own constraint refuses: not a race on the inbox.
        for _ in range(2):
            await uow.session.execute(insert(counters).values(name=name, value=0))
    await _increment_own(uow, event, name, event.payload.clicks)


@MIRROR_REACTIONS.on(CounterIncremented)
async def on_increment(event: Received[CounterIncremented], uow: UnitOfWork) -> None:
    """Reaction of a mirror toy to another toy's CounterIncremented: the same increment."""
    await _increment_own(uow, event, event.payload.name, event.payload.by)


async def _increment_own(uow: UnitOfWork, cause: Received[Any], name: str, by: int) -> None:
    stream = f"counter-{name}"
    version = await uow.store.version(uow.session, stream)
    await uow.record(
        [CounterIncremented(name=name, by=by)],
        stream_id=stream,
        account_id=cause.envelope.account_id,
        expected_version=version,
        cause=cause,
    )


class ClickBatches:
    """Batch reaction to ClickRecorded: the same effect as on_click applied to each in
    turn, with one `record` per counter. Remembers the size of every batch it was given."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def handlers(self) -> dict[str, BatchHandler]:
        """The runner's batch handlers: this one, for ClickRecorded."""
        reactions = Reactions()
        reactions.add_batch(ClickRecorded, self)
        return reactions.batch_handlers(TOY_CATALOGUE)

    async def __call__(self, events: Sequence[Received[ClickRecorded]], uow: UnitOfWork) -> None:
        """Refuse the batch if any click is refused; else one CounterIncremented per click."""
        self.sizes.append(len(events))
        by_counter: dict[str, list[Received[ClickRecorded]]] = {}
        versions: dict[str, int] = {}
        for event in events:
            name = event.payload.name
            if name.startswith("locked"):
                raise CounterLocked(name)
            if name.startswith("clash"):
                for _ in range(2):
                    await uow.session.execute(insert(counters).values(name=name, value=0))
            stream = f"counter-{name}"
            if stream not in versions:
                versions[stream] = await uow.store.version(uow.session, stream)
            by_counter.setdefault(stream, []).append(event)
        for stream, clicks in by_counter.items():
            # One record per click: each increment is caused by its own upstream event.
            for number, click in enumerate(clicks):
                await uow.record(
                    [CounterIncremented(name=click.payload.name, by=click.payload.clicks)],
                    stream_id=stream,
                    account_id=click.envelope.account_id,
                    expected_version=versions[stream] + number,
                    cause=click,
                )


HANDLERS = REACTIONS.handlers(TOY_CATALOGUE)
MIRROR_HANDLERS = MIRROR_REACTIONS.handlers(TOY_CATALOGUE)


class Toy:
    """The toy service's database, event store and unit-of-work factory."""

    def __init__(self, url: str, topic: str, after_commit: AfterCommit | None = None) -> None:
        self.db = Database(url)
        self.topic = topic
        self.store = EventStore(kernel, topic)
        self.after_commit = after_commit

    async def create_tables(self) -> None:
        """Create the kernel and projection tables (migrations are tested elsewhere)."""
        async with self.db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    def uow(self) -> UnitOfWork:
        """A unit of work on the toy database, parsing with the toy catalogue."""
        return UnitOfWork(
            self.db,
            kernel,
            self.store,
            project,
            producer=SERVICE,
            clock=CLOCK,
            after_commit=self.after_commit,
            catalogue=TOY_CATALOGUE,
        )

    async def record(self, events: Sequence[Envelope], *, expected_version: int) -> None:
        """Append one stream's ready-made events in a unit of work of their own and commit."""
        async with self.uow() as uow:
            await uow.append(events, expected_version=expected_version)
            await uow.commit()

    async def counter(self, name: str) -> int | None:
        """The projected value of counter `name` (None when it was never incremented)."""
        async with self.db.session() as session:
            value = await session.scalar(select(counters.c.value).where(counters.c.name == name))
            return None if value is None else int(value)

    async def count(self, table: Table) -> int:
        """Rows in `table`."""
        async with self.db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(table)) or 0)

    async def inbox_ids(self) -> list[str]:
        """Upstream event ids in the inbox."""
        async with self.db.session() as session:
            return list(await session.scalars(select(kernel.inbox.c.event_id)))

    async def unsent(self) -> int:
        """Outbox rows not yet published."""
        outbox = kernel.outbox
        async with self.db.session() as session:
            stmt = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
            return int(await session.scalar(stmt) or 0)

    async def close(self) -> None:
        """Dispose of the engine."""
        await self.db.dispose()
