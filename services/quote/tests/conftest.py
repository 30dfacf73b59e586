"""Fixtures of the quote service's tests: the service live on a real socket and broker."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from quote.main import app_factory
from quote.settings import QuoteSettings
from revline_events.clock import FixedClock
from revline_testkit.broker import TansuBroker
from revline_testkit.live import LiveService, api_keys_setting, serve_in_process
from revline_testkit.postgres import PostgresError, ThrowawayPostgres


def quote_settings(database_url: str, bootstrap: str, tmp_path: Path) -> QuoteSettings:
    """Settings of a quote service under test."""
    return QuoteSettings(
        database_url=database_url,
        kafka_bootstrap=bootstrap,
        api_keys=api_keys_setting(),
        dev_keys_file=tmp_path / "dev-keys.json",
        port=0,
        # The broker is shared by the session: each service reads contract.events alone.
        consumer_group=f"quote-{uuid.uuid4().hex[:12]}",
        consumer_session_timeout_ms=2000,
    )


@pytest.fixture
def clock() -> FixedClock:
    """The services' clock: 2026-01-10 09:30 UTC until a test moves it."""
    return FixedClock(datetime(2026, 1, 10, 9, 30, tzinfo=UTC))


@pytest.fixture
async def quote_service(
    tansu: TansuBroker, db_url: str, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[LiveService]:
    """The quote service on SQLite and on PostgreSQL (the test runs once on each)."""
    async with serve_in_process(
        app_factory(quote_settings(db_url, tansu.bootstrap, tmp_path), clock)
    ) as svc:
        yield svc


@pytest.fixture
async def quote_sqlite(
    tansu: TansuBroker, sqlite_url: str, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[LiveService]:
    """The quote service on SQLite only (for the long tables of bad input)."""
    async with serve_in_process(
        app_factory(quote_settings(sqlite_url, tansu.bootstrap, tmp_path), clock)
    ) as svc:
        yield svc


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def quote_service_per_module(
    request: pytest.FixtureRequest,
    tansu: TansuBroker,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[LiveService]:
    """One quote service per module on SQLite, then one on PostgreSQL, for tests that
    need no isolation from each other (each works on its own quotes)."""
    tmp_path = tmp_path_factory.mktemp("quote")
    server: ThrowawayPostgres | None = None
    name = f"m_{uuid.uuid4().hex}"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'quote.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(name)
    clock = FixedClock(datetime(2026, 1, 10, 9, 30, tzinfo=UTC))
    try:
        async with serve_in_process(
            app_factory(quote_settings(url, tansu.bootstrap, tmp_path), clock)
        ) as svc:
            yield svc
    finally:
        if server is not None:
            try:
                server.drop_database(name)
            except PostgresError as error:  # the cluster is thrown away at session end anyway
                warnings.warn(f"could not drop test database {name}: {error}", stacklevel=1)


@pytest.fixture(scope="module")
async def quote_sqlite_per_module(
    tansu: TansuBroker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveService]:
    """One quote service on SQLite for a whole module, for tables of requests that
    must all be refused: they share it, so each costs a request, not a service start."""
    tmp_path = tmp_path_factory.mktemp("quote")
    url = f"sqlite+aiosqlite:///{tmp_path / 'quote.db'}"
    clock = FixedClock(datetime(2026, 1, 10, 9, 30, tzinfo=UTC))
    async with serve_in_process(
        app_factory(quote_settings(url, tansu.bootstrap, tmp_path), clock)
    ) as svc:
        yield svc
