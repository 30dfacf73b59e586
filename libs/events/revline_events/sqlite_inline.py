"""SQLite on the event loop's own thread: no worker-thread hop per statement.

aiosqlite runs each call (cursor, execute, fetchall, close, commit) on a
thread of its own and wakes the event loop with the result: two context
switches per call, about four per statement. A unit of work of a dozen
statements makes some fifty of them, each one a wait for the scheduler on a
busy machine, while the statement itself takes tens of microseconds (WAL,
synchronous=NORMAL: a commit does not wait for the disk). So the kernel's
SQLite connections run sqlite3 inline, behind the interface SQLAlchemy's
aiosqlite adapter expects of an aiosqlite connection.

A lock held by another connection (another process, or a second engine on the
same file in a test) is waited for on the event loop, never in SQLite's busy
handler: the connection's busy timeout is 0, and a statement refused with
SQLITE_BUSY is retried after an asyncio sleep (1 ms, doubling to 25 ms) for up
to `busy_timeout_s`, so the loop keeps serving everything else meanwhile. Only
statements that cannot have changed anything are retried: those outside a
transaction (BEGIN IMMEDIATE, a pragma) and COMMIT.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

SQLITE_BUSY = 5
SQLITE_LOCKED = 6
FIRST_RETRY_S = 0.001
LONGEST_RETRY_S = 0.025


def is_busy(error: sqlite3.Error) -> bool:
    """True when SQLite refused for a lock another connection holds."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:  # pragma: no cover - Python < 3.11
        return "locked" in str(error)
    return (code & 0xFF) in (SQLITE_BUSY, SQLITE_LOCKED)


class _RunNow:
    """Stands in for aiosqlite's request queue, which SQLAlchemy's adapter uses
    directly to set the isolation level: the request runs at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:
            future.set_exception(error)


class InlineCursor:
    """An aiosqlite-shaped cursor whose calls run at once on the calling thread."""

    def __init__(self, connection: InlineConnection) -> None:
        self._owner = connection
        self._cursor = connection._conn.cursor()

    @property
    def description(self) -> Any:
        """As sqlite3.Cursor.description."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """As sqlite3.Cursor.rowcount."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """As sqlite3.Cursor.lastrowid."""
        return self._cursor.lastrowid

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        """Run one statement, waiting out another connection's lock when it is safe to."""
        await self._owner.when_unlocked(lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        """Run one statement for each set of parameters."""
        rows = parameters if isinstance(parameters, Sequence) else list(parameters)
        await self._owner.when_unlocked(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        """The next row, or None."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to `size` rows."""
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        """The remaining rows."""
        return self._cursor.fetchall()

    async def close(self) -> None:
        """Release the cursor."""
        self._cursor.close()


class InlineConnection:
    """An aiosqlite-shaped connection whose calls run at once on the calling thread
    (the event loop's). Made by `connect`; SQLAlchemy wraps it like an aiosqlite one."""

    def __init__(self, conn: sqlite3.Connection, busy_timeout_s: float) -> None:
        self._conn = conn
        self._tx = _RunNow()
        self._busy_timeout_s = busy_timeout_s

    @property
    def isolation_level(self) -> str | None:
        """As sqlite3.Connection.isolation_level."""
        return self._conn.isolation_level

    async def when_unlocked(self, statement: Callable[[], object]) -> None:
        """Run `statement`; while another connection's lock refuses it and it cannot
        have changed anything, sleep on the loop and try again until the timeout."""
        retryable = not self._conn.in_transaction
        deadline = time.monotonic() + self._busy_timeout_s
        pause = FIRST_RETRY_S
        while True:
            try:
                statement()
                return
            except sqlite3.OperationalError as error:
                if not (retryable and is_busy(error)) or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_RETRY_S)

    async def cursor(self) -> InlineCursor:
        """A new cursor."""
        return InlineCursor(self)

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        """Run one statement on a new cursor."""
        cursor = InlineCursor(self)
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        """Commit; a COMMIT refused for a lock leaves the transaction open, so it is retried."""
        deadline = time.monotonic() + self._busy_timeout_s
        pause = FIRST_RETRY_S
        while True:
            try:
                self._conn.commit()
                return
            except sqlite3.OperationalError as error:
                if not is_busy(error) or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_RETRY_S)

    async def rollback(self) -> None:
        """Roll back the open transaction, if any."""
        self._conn.rollback()

    async def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """As sqlite3.Connection.create_function."""
        self._conn.create_function(*args, **kwargs)


def connector(
    args: Sequence[Any], kwargs: Mapping[str, Any], *, busy_timeout_s: float
) -> Callable[[], Awaitable[InlineConnection]]:
    """An `async_creator` for create_async_engine: opens sqlite3 with `args`/`kwargs`
    (the dialect's connect arguments for the URL) and busy timeout 0."""

    async def connect() -> InlineConnection:
        # The pool may close a connection from another thread (garbage collection).
        conn = sqlite3.connect(*args, **{**kwargs, "check_same_thread": False, "timeout": 0})
        return InlineConnection(conn, busy_timeout_s)

    return connect
