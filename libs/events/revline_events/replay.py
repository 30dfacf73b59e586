"""Rebuild projections from the event store, republish it, and digest projection state."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from revline_events.catalogue import CATALOGUE, Catalogue, EventPayload
from revline_events.collector import collector_paused
from revline_events.database import Database
from revline_events.envelope import Envelope, canonical_json
from revline_events.event_store import EventStore
from revline_events.tables import KernelTables
from revline_events.unit_of_work import Projector, project_all

REPLAY_CHUNK = 1000  # events read and projected at a time


async def rebuild_projections(
    db: Database,
    store: EventStore,
    projector: Projector,
    projections: Sequence[Table],
    *,
    catalogue: Catalogue = CATALOGUE,
) -> int:
    """Empty the projection tables and fold every stored event into them again.

    One transaction: readers see the old state or the new, never half of it.
    Tables are emptied children first (reverse of `projections`). A
    `BatchProjector` gets the events a chunk at a time. Returns the number of
    events replayed.

    The cyclic collector's automatic passes are paused meanwhile (collector.py); the
    young generations are collected after each chunk, a pass over that chunk's
    objects, so no cycle made meanwhile outlives its chunk by much.
    """
    replayed = 0
    with collector_paused():
        async with db.session() as session, session.begin():
            for table in reversed(projections):
                await session.execute(delete(table))
            chunk: list[tuple[Envelope, EventPayload]] = []
            async for envelope in store.read_all(session, batch_size=REPLAY_CHUNK):
                chunk.append((envelope, catalogue.parse(envelope)))
                if len(chunk) == REPLAY_CHUNK:
                    await project_all(projector, session, chunk)
                    replayed, chunk = replayed + len(chunk), []
                    gc.collect(1)
            await project_all(projector, session, chunk)
            replayed += len(chunk)
    return replayed


async def mark_all_unsent(db: Database, tables: KernelTables) -> int:
    """Queue every stored event for publishing again (after the broker lost its log).

    Consumers de-duplicate by event_id, so nothing doubles downstream.
    """
    async with db.session() as session, session.begin():
        result = await session.execute(update(tables.outbox).values(sent_at=None))
        return int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult has rowcount


async def state_digest(session: AsyncSession, projections: Sequence[Table]) -> str:
    """SHA-256 over the projection tables, rows in primary-key order, canonical JSON.

    Equal before and after a rebuild when the projections are a pure fold of the log.
    """
    digest = hashlib.sha256()
    for table in sorted(projections, key=lambda t: t.name):
        digest.update(f"table:{table.name}\n".encode())
        order = list(table.primary_key.columns) or list(table.columns)
        result = await session.execute(select(table).order_by(*order))
        for row in result.mappings():
            digest.update(canonical_json({k: _plain(v) for k, v in row.items()}).encode())
            digest.update(b"\n")
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
