"""Alembic, driven from code: each service keeps its own `alembic/` folder.

`env.py` of a service calls `run_env(metadata)`; start-up (dev) and the
`migrate` command (deploy) call `upgrade()`. Alembic runs its async engine in
a thread with its own event loop, so it can be called from a running one.

A service's first migration creates the kernel's tables with
`create_kernel_tables(op)`, built from `KernelTables` itself, so no migration
types them again and the kernel's models and its DDL cannot disagree.
"""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.operations import Operations
from alembic.operations.ops import (
    AddColumnOp,
    CreateIndexOp,
    CreateTableOp,
    DropIndexOp,
    DropTableOp,
)
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from revline_events.tables import KernelTables
from sqlalchemy import Constraint, MetaData, PrimaryKeyConstraint, Table, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def alembic_config(alembic_dir: Path, url: str) -> Config:
    """An alembic Config for a service's migrations folder and database URL."""
    config = Config()
    config.set_main_option("script_location", str(alembic_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade_sync(alembic_dir: Path, url: str) -> None:
    command.upgrade(alembic_config(alembic_dir, url), "head")


async def upgrade(alembic_dir: Path, url: str) -> None:
    """Apply every migration up to head (idempotent)."""
    await asyncio.to_thread(_upgrade_sync, alembic_dir, url)


def migration_state(alembic_dir: Path, current: str | None) -> str:
    """ "ok" when the database is at this code's head, or ahead of it.

    A database ahead of the code (a newer release migrated it during a rolling
    deploy) stays ready: migrations are additive, so old pods keep serving.
    """
    head, known = _revisions(alembic_dir)
    if current == head:
        return "ok"
    if current is not None and current not in known:
        return "ok"
    return f"at {current}, head is {head}"


@cache
def _revisions(alembic_dir: Path) -> tuple[str | None, frozenset[str]]:
    """This code's head and every revision it knows, read once a process: alembic reads
    the folder by compiling each migration file, and a readiness probe asks every few
    seconds for the life of the process, whose code does not change under it."""
    script = ScriptDirectory.from_config(alembic_config(alembic_dir, "sqlite://"))
    known = frozenset(rev.revision for rev in script.walk_revisions())
    return script.get_current_head(), known


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None before the first migration)."""
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def run_env(metadata: MetaData) -> None:
    """The body of a service's alembic env.py (online mode, async engine)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run())


def kernel_tables() -> list[Table]:
    """The kernel's tables (event_store, outbox, inbox, idempotency_keys) on a fresh MetaData."""
    kernel = KernelTables(MetaData())
    return [kernel.metadata.tables[name] for name in kernel.names]


def _added_later() -> set[tuple[str, str]]:
    return {column for step in KernelTables.ADDED_COLUMNS.values() for column in step}


def create_kernel_tables(op: Operations) -> None:
    """Create the kernel's tables and their indexes, in a service's first migration.

    The DDL comes from KernelTables' own Table objects, as alembic's autogenerate
    would render them: columns, primary keys, unique constraints, then indexes;
    without the columns of `KernelTables.ADDED_COLUMNS`, which a later migration of
    each service adds (`add_kernel_columns`), so every database takes the same steps.
    A later change to KernelTables must come as such a step, with a migration of its
    own in every service (the schema test of each service fails until it does).
    """
    later = _added_later()
    for table in kernel_tables():
        columns = [c for c in table.columns if (table.name, c.name) not in later]
        # Constraints in autogenerate's order (primary key, then the others by
        # their columns): SQLite keeps the CREATE TABLE text, and names its
        # automatic unique indexes in that order.
        constraints = sorted(table.constraints, key=_constraint_order)
        op.invoke(CreateTableOp(table.name, [*columns, *constraints], _constraints_included=True))
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            op.invoke(CreateIndexOp.from_index(index))


def _constraint_order(constraint: Constraint) -> tuple[bool, str, tuple[str, ...]]:
    columns = getattr(constraint, "columns", ())
    return (
        not isinstance(constraint, PrimaryKeyConstraint),
        type(constraint).__name__,
        tuple(column.name for column in columns),
    )


def add_kernel_columns(op: Operations, step: str) -> None:
    """Add the kernel columns of `step` (a key of `KernelTables.ADDED_COLUMNS`), as
    KernelTables declares them, in a service's migration for that step."""
    tables = {table.name: table for table in kernel_tables()}
    for table_name, column_name in KernelTables.ADDED_COLUMNS[step]:
        column = tables[table_name].c[column_name]
        op.invoke(AddColumnOp(table_name, column._copy()))


def drop_kernel_columns(op: Operations, step: str) -> None:
    """Drop what add_kernel_columns(op, step) added (its migration, downgraded)."""
    for table_name, column_name in reversed(KernelTables.ADDED_COLUMNS[step]):
        with op.batch_alter_table(table_name) as batch:
            batch.drop_column(column_name)


def drop_kernel_tables(op: Operations) -> None:
    """Drop what create_kernel_tables created (a service's first migration, downgraded)."""
    for table in reversed(kernel_tables()):
        for index in table.indexes:
            op.invoke(DropIndexOp.from_index(index))
        op.invoke(DropTableOp.from_table(table))
