"""Fixtures of the billing service's tests: the service live on a real socket, database
and broker.

The helper module beside this file (billing_feed.py) is imported as a top-level
module: pytest runs with --import-mode=importlib, which does not put test
folders on sys.path, so this conftest does.
"""

from __future__ import annotations

import sys
import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from billing.main import app_factory
from billing.settings import BillingSettings
from revline_events.clock import FixedClock
from revline_testkit.broker import FAST_PRODUCER_SETTINGS, TansuBroker
from revline_testkit.live import LiveService, api_keys_setting, serve_in_process
from revline_testkit.postgres import PostgresError, ThrowawayPostgres

sys.path.insert(0, str(Path(__file__).parent))

from billing_feed import OrderFeed

BILLING_CLOCK = FixedClock(datetime(2026, 1, 10, 9, 30, tzinfo=UTC))


def billing_settings(
    database_url: str, bootstrap: str, tmp_path: Path, **overrides: object
) -> BillingSettings:
    """Settings of a billing service under test: a consumer group of its own (it reads
    order.events and ledger.events from their beginning), a short session timeout."""
    values: dict[str, object] = {
        "database_url": database_url,
        "kafka_bootstrap": bootstrap,
        "api_keys": api_keys_setting(),
        "dev_keys_file": tmp_path / "dev-keys.json",
        "port": 0,
        "consumer_group": f"billing-test-{uuid.uuid4().hex[:12]}",
        "consumer_session_timeout_ms": 2000,
    }
    values.update(overrides)
    return BillingSettings(**values)  # type: ignore[arg-type]  # test overrides by name


@asynccontextmanager
async def serving_billing(
    url: str, bootstrap: str, tmp_path: Path, **overrides: object
) -> AsyncIterator[LiveService]:
    """A billing service on `url`, its clock at 2026-01-10 09:30 UTC."""
    app = app_factory(billing_settings(url, bootstrap, tmp_path, **overrides), BILLING_CLOCK)
    async with serve_in_process(app) as service:
        yield service


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def billing_service(
    request: pytest.FixtureRequest, tansu: TansuBroker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveService]:
    """One billing service per module on SQLite, then one on PostgreSQL. Its tests share
    it, each on accounts of its own."""
    tmp_path = tmp_path_factory.mktemp("billing")
    server: ThrowawayPostgres | None = None
    name = f"m_{uuid.uuid4().hex}"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'billing.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(name)
    try:
        async with serving_billing(url, tansu.bootstrap, tmp_path) as service:
            yield service
    finally:
        if server is not None:
            try:
                server.drop_database(name)
            except PostgresError as error:  # the cluster is thrown away at session end anyway
                warnings.warn(f"could not drop test database {name}: {error}", stacklevel=1)


@pytest.fixture(scope="module")
async def billing_sqlite(
    tansu: TansuBroker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveService]:
    """One billing service on SQLite for a whole module (operations, bad input)."""
    tmp_path = tmp_path_factory.mktemp("billing")
    url = f"sqlite+aiosqlite:///{tmp_path / 'billing.db'}"
    async with serving_billing(url, tansu.bootstrap, tmp_path) as service:
        yield service


@pytest.fixture(scope="session")
async def feed(tansu: TansuBroker) -> AsyncIterator[OrderFeed]:
    """Publishes order and ledger events, as those services would."""
    producer = AIOKafkaProducer(bootstrap_servers=tansu.bootstrap, **FAST_PRODUCER_SETTINGS)
    await producer.start()
    try:
        yield OrderFeed(producer)
    finally:
        await producer.stop()
