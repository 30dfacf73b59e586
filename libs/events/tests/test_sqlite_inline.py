"""SQLite inline on the event loop: same results as aiosqlite, a lock waited for on the loop.

Real SQLite files; two engines on one file stand in for two processes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from revline_events import sqlite_inline
from revline_events.database import Database
from sqlalchemy import Column, Integer, MetaData, String, Table, event, insert, select, text
from sqlalchemy.exc import OperationalError

METADATA = MetaData()
THINGS = Table(
    "things",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False),
)


async def _with_table(url: str) -> Database:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    return db


async def test_a_sqlite_database_runs_its_statements_inline(tmp_path: Path) -> None:
    db = await _with_table(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    try:
        assert db.inline_sqlite
        async with db.session() as session, session.begin():
            await session.execute(insert(THINGS), [{"name": "a"}, {"name": "b"}])
            raw = await session.connection()
            driver = (await raw.get_raw_connection()).driver_connection
            assert isinstance(driver, sqlite_inline.InlineConnection)
        async with db.session() as session:
            names = (await session.execute(select(THINGS.c.name).order_by(THINGS.c.id))).scalars()
            assert list(names) == ["a", "b"]
            mode = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
            assert mode == "wal"
    finally:
        await db.dispose()


async def test_inline_sqlite_false_keeps_aiosqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'threaded.db'}", inline_sqlite=False)
    try:
        assert not db.inline_sqlite
        async with db.engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert not isinstance(driver, sqlite_inline.InlineConnection)
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await db.dispose()


async def test_a_writer_waits_for_another_connections_lock_without_holding_up_the_loop(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first = await _with_table(url)
    second = Database(url)
    began = asyncio.Event()

    @event.listens_for(second.engine.sync_engine, "before_cursor_execute")
    def _tried(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN"):
            began.set()

    async def second_writes() -> None:
        async with second.session() as session, session.begin():
            await session.execute(insert(THINGS).values(name="second"))

    try:
        async with first.session() as session, session.begin():
            await session.execute(insert(THINGS).values(name="first"))
            waiting = asyncio.create_task(second_writes())
            # The second engine tries BEGIN IMMEDIATE while the first holds the lock;
            # a busy handler blocking the loop would never let this line run again.
            await asyncio.wait_for(began.wait(), 10)
            assert not waiting.done()
        await asyncio.wait_for(waiting, 30)
        async with first.session() as session:
            names = (await session.execute(select(THINGS.c.name).order_by(THINGS.c.id))).scalars()
            assert list(names) == ["first", "second"]
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_lock_held_past_the_busy_timeout_fails_the_statement(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    try:
        connect = sqlite_inline.connector([str(path)], {}, busy_timeout_s=0.05)
        conn = await connect()
        try:
            cursor = await conn.cursor()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await cursor.execute("BEGIN IMMEDIATE")
            assert not conn._conn.in_transaction
        finally:
            await conn.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_the_busy_timeout_surfaces_as_sqlalchemys_operational_error(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    await (await _with_table(f"sqlite+aiosqlite:///{path}")).dispose()
    db = Database(f"sqlite+aiosqlite:///{path}", sqlite_busy_timeout_s=0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="locked"):
            async with db.session() as session, session.begin():
                await session.execute(insert(THINGS).values(name="never"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        await db.dispose()


def test_busy_and_locked_are_told_apart_from_other_errors(tmp_path: Path) -> None:
    conn = sqlite3.connect(":memory:")
    try:
        with pytest.raises(sqlite3.OperationalError) as syntax:
            conn.execute("SELEC 1")
    finally:
        conn.close()
    assert not sqlite_inline.is_busy(syntax.value)
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as busy:
            other.execute("BEGIN IMMEDIATE")
        assert sqlite_inline.is_busy(busy.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        other.close()
