"""One async SQLAlchemy engine per service database, SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from revline_events import sqlite_inline

# How long a transaction waits for another connection's write lock on SQLite.
SQLITE_BUSY_TIMEOUT_S = 30.0


class Database:
    """An async engine and session factory for one service's own database.

    On SQLite (the single-replica embedded default) the pool holds one
    connection: transactions of the process queue for it in order instead of
    racing for SQLite's write lock, where a loser sleeps in the busy handler
    and the outbox relay starves behind request writers. Each transaction
    begins IMMEDIATE in WAL mode, so another process writing the same file
    (a rebuild, say) waits instead of failing with "database is locked".

    SQLite runs inline on the event loop's thread (`sqlite_inline`), not on
    aiosqlite's worker thread: a statement costs tens of microseconds, a thread
    hop per call costs more on a busy machine. `inline_sqlite=False` keeps
    aiosqlite's thread (a long query then does not hold up the loop). A write
    transaction waits up to `sqlite_busy_timeout_s` for another connection's lock.
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        inline_sqlite: bool = True,
        sqlite_busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S,
    ) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": sqlite_busy_timeout_s}
            kwargs["pool_size"] = 1
            kwargs["max_overflow"] = 0
            kwargs["pool_timeout"] = 120
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 10
            kwargs["pool_pre_ping"] = True
        self.inline_sqlite = inline_sqlite and self.dialect == "sqlite"
        if self.inline_sqlite:
            connect_args, connect_kwargs = parsed.get_dialect()().create_connect_args(parsed)
            kwargs["async_creator"] = sqlite_inline.connector(
                connect_args, connect_kwargs, busy_timeout_s=sqlite_busy_timeout_s
            )
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            busy_ms = 0 if self.inline_sqlite else int(sqlite_busy_timeout_s * 1000)
            _serialise_sqlite_writers(self.engine, busy_timeout_ms=busy_ms)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL (advisory locks and SKIP LOCKED are available)."""
        return self.dialect == "postgresql"

    def session(self) -> AsyncSession:
        """A new session; use it as `async with db.session() as s, s.begin(): ...`."""
        return self.sessions()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _serialise_sqlite_writers(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    # Inline (busy timeout 0), a lock is waited for on the loop (sqlite_inline), never
    # in SQLite's busy handler, which would hold up the whole loop.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event, not the driver, open transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
