"""Locks between the ledger's replicas (PostgreSQL advisory locks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from revline_events.database import Database
from sqlalchemy import text

# One recognition run at a time per ledger database ("LEDGREC1").
RECOGNITION_LOCK_KEY = 0x4C45444752454331


@asynccontextmanager
async def recognition_lock(db: Database) -> AsyncIterator[bool]:
    """Try to take the recognition run's lock and hold it for the block: True when held.
    A session advisory lock on PostgreSQL (it goes with the connection when its holder
    dies); always True on SQLite, the single-replica default."""
    if not db.is_postgres:
        yield True
        return
    conn = await db.engine.connect()
    try:
        lock = {"k": RECOGNITION_LOCK_KEY}
        held = bool(
            (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), lock)).scalar_one()
        )
        await conn.commit()
        try:
            yield held
        finally:
            if held:
                # A session lock outlives the transaction: release it before the
                # connection goes back to the pool.
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), lock)
                await conn.commit()
    finally:
        await conn.close()
