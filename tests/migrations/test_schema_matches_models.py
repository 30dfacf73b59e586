"""Each service's migrations build exactly the schema its models describe.

The kernel's tables come from one helper (`create_kernel_tables`) and the
projection tables from each service's own migrations; alembic's autogenerate
comparison of the migrated database against the service's MetaData finds no
difference on SQLite and on PostgreSQL, so neither side can drift.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from revline_service.migrations import upgrade
from revline_service.service import ServiceSpec
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

SERVICES = ("quote", "contract", "order", "billing", "ledger")


def service_spec(name: str) -> ServiceSpec:
    """The service's ServiceSpec (its MetaData, kernel tables and alembic folder)."""
    spec: ServiceSpec = importlib.import_module(f"{name}.main").SPEC
    return spec


def differences(connection: Connection, spec: ServiceSpec) -> list[Any]:
    """What autogenerate would write into a new migration: nothing, when they agree."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, spec.metadata))


@pytest.mark.parametrize("service", SERVICES)
async def test_migrated_schema_equals_the_service_metadata(service: str, db_url: str) -> None:
    spec = service_spec(service)
    await upgrade(spec.alembic_dir, db_url)
    engine = create_async_engine(db_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(differences, spec)
    finally:
        await engine.dispose()
    assert found == []


@pytest.mark.parametrize("service", SERVICES)
def test_the_kernel_tables_are_in_the_service_metadata(service: str) -> None:
    spec = service_spec(service)
    assert set(spec.kernel.names) <= set(spec.metadata.tables)
