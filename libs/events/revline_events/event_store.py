"""Append-only event store with optimistic concurrency on stream_version."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from revline_events.catalogue import utc
from revline_events.envelope import Envelope
from revline_events.tables import KernelTables
from revline_events.tracing import TraceContext, trace_context_for


class ConcurrencyConflict(Exception):
    """Another writer appended to the stream first; reload and decide again."""

    def __init__(self, stream_id: str, expected: int, actual: int | None = None) -> None:
        found = "a concurrent write" if actual is None else f"version {actual}"
        super().__init__(f"stream {stream_id} expected at version {expected}, found {found}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True)
class Queued:
    """An event's outbox row, as its unit of work wrote it: what the relay publishes."""

    outbox_id: int
    topic: str
    envelope: Envelope
    trace: TraceContext | None = None  # of the request or handler that queued it


class EventStore:
    """The service's own event log, in the same database as its projections."""

    def __init__(
        self, tables: KernelTables, topic: str, *, unpublished: Collection[str] = ()
    ) -> None:
        self._t = tables.event_store
        self._outbox = tables.outbox
        self.topic = topic
        # Event types kept in the log but never queued for the topic (Catalogue.register).
        self._unpublished = frozenset(unpublished)
        # Built once: the hot path runs them on the session's connection, without the
        # cost of building a statement (and its cache key) per call.
        self._insert_events = insert(self._t)
        self._insert_outbox = insert(self._outbox).returning(
            self._outbox.c.id, sort_by_parameter_order=True
        )
        self._version = select(func.max(self._t.c.stream_version)).where(
            self._t.c.stream_id == bindparam("stream_id")
        )

    async def version(self, session: AsyncSession, stream_id: str) -> int:
        """The stream's current version (0 for a stream with no events)."""
        conn = await session.connection()
        return int((await conn.execute(self._version, {"stream_id": stream_id})).scalar() or 0)

    async def append(
        self, session: AsyncSession, events: Sequence[Envelope], *, expected_version: int
    ) -> list[Queued]:
        """Append events of one stream, numbered from expected_version + 1, and queue them;
        returns their outbox rows.

        Runs inside the caller's transaction together with its projection
        updates. Raises ConcurrencyConflict when the stream is not at
        `expected_version` or another writer wins the race for the same number.
        """
        if not events:
            return []
        stream_id = events[0].stream_id
        for offset, envelope in enumerate(events, start=1):
            if envelope.stream_id != stream_id:
                raise ValueError("append() takes the events of one stream")
            if envelope.stream_version != expected_version + offset:
                raise ValueError(
                    f"event {envelope.type} numbered {envelope.stream_version}, "
                    f"expected {expected_version + offset}"
                )
        if expected_version == 0:
            # A new stream: no version to read. Version 1 taken already fails the
            # unique (stream_id, stream_version), and no gap can open below it.
            await self._insert_new(session, events, stream_id)
        else:
            actual = await self.version(session, stream_id)
            if actual != expected_version:
                raise ConcurrencyConflict(stream_id, expected_version, actual)
            try:
                await self._insert(session, [self._row(e) for e in events])
            except IntegrityError as error:
                raise ConcurrencyConflict(stream_id, expected_version) from error
        return await self._queue(session, events)

    async def _insert_new(
        self, session: AsyncSession, events: Sequence[Envelope], stream_id: str
    ) -> None:
        try:
            await self._insert(session, [self._row(e) for e in events])
        except IntegrityError as error:
            # SQLite undoes the failed statement only, so the version can be read and
            # told; PostgreSQL has aborted the transaction (a concurrent writer won).
            if session.get_bind().dialect.name == "postgresql":
                raise ConcurrencyConflict(stream_id, 0) from error
            actual = await self.version(session, stream_id)
            raise ConcurrencyConflict(stream_id, 0, actual or None) from error

    async def append_new_streams(
        self, session: AsyncSession, events: Sequence[Envelope]
    ) -> list[Queued]:
        """Append the first event of each of several new streams, and queue them, with
        one insert per table (a bill run's invoices, say); returns their outbox rows.

        Each event must be version 1 of a stream named once. No version is read: the
        unique (stream_id, stream_version) turns a stream that exists, or a racing
        writer, into ConcurrencyConflict, and the caller's transaction rolls back.
        """
        if not events:
            return []
        streams = [e.stream_id for e in events]
        if len(set(streams)) != len(streams):
            raise ValueError("append_new_streams() takes one event per stream")
        for envelope in events:
            if envelope.stream_version != 1:
                raise ValueError(
                    f"event {envelope.type} of {envelope.stream_id} numbered "
                    f"{envelope.stream_version}, a new stream starts at 1"
                )
        try:
            await self._insert(session, [self._row(e) for e in events])
        except IntegrityError as error:
            raise ConcurrencyConflict(", ".join(streams[:3]), 0) from error
        return await self._queue(session, events)

    async def _insert(self, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        conn = await session.connection()
        await conn.execute(self._insert_events, rows[0] if len(rows) == 1 else rows)

    async def _queue(self, session: AsyncSession, events: Sequence[Envelope]) -> list[Queued]:
        """Outbox rows for the relay, keyed by account (per-key order on the topic), each
        with the trace context of the request or handler that decided it. Unpublished
        types get none."""
        if self._unpublished:
            events = [e for e in events if e.type not in self._unpublished]
            if not events:
                return []
        traces = [trace_context_for(e) for e in events]
        rows = [
            {
                "event_id": e.event_id,
                "topic": self.topic,
                "key": e.account_id,
                "traceparent": t.traceparent if t is not None else None,
                "tracestate": t.tracestate if t is not None else None,
            }
            for e, t in zip(events, traces, strict=True)
        ]
        conn = await session.connection()
        ids = await conn.scalars(self._insert_outbox, rows[0] if len(rows) == 1 else rows)
        return [
            Queued(id_, self.topic, e, t) for id_, e, t in zip(ids, events, traces, strict=True)
        ]

    def _row(self, envelope: Envelope) -> dict[str, Any]:
        row = envelope.model_dump(mode="python")
        # SQLite keeps a timestamp's wall time and drops its offset: store UTC only.
        row["occurred_at"] = utc(envelope.occurred_at)
        row["topic"] = self.topic
        row["payload"] = envelope.payload
        return row

    async def read_all(
        self, session: AsyncSession, *, batch_size: int = 1000
    ) -> AsyncIterator[Envelope]:
        """Every stored event in append order, in batches (for rebuild and republish)."""
        after = 0
        while True:
            stmt = (
                select(self._t).where(self._t.c.position > after)
                .order_by(self._t.c.position).limit(batch_size)
            )  # fmt: skip
            rows = (await session.execute(stmt)).mappings().all()
            if not rows:
                return
            for row in rows:
                yield envelope_from_row(row)
            after = rows[-1]["position"]

    async def read_stream(self, session: AsyncSession, stream_id: str) -> list[Envelope]:
        """One aggregate's events in version order."""
        stmt = (
            select(self._t).where(self._t.c.stream_id == stream_id)
            .order_by(self._t.c.stream_version)
        )  # fmt: skip
        return [envelope_from_row(r) for r in (await session.execute(stmt)).mappings().all()]


def envelope_from_row(row: Any) -> Envelope:
    """Rebuild an Envelope from an event_store row."""
    fields = {k: row[k] for k in Envelope.model_fields}
    # SQLite hands back naive datetimes; every stored timestamp is UTC.
    fields["occurred_at"] = utc(fields["occurred_at"])
    return Envelope.model_validate(fields)
