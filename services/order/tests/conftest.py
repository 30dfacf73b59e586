"""Fixtures of the order service's tests: the service live on a real socket, database and broker.

The helper module beside this file (order_feed.py) is imported as a top-level
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
from order.main import app_factory
from order.settings import OrderSettings
from revline_events.clock import FixedClock
from revline_testkit.broker import (
    FAST_PRODUCER_SETTINGS,
    TansuBroker,
)
from revline_testkit.live import LiveService, api_keys_setting, serve_in_process
from revline_testkit.postgres import PostgresError, ThrowawayPostgres

sys.path.insert(0, str(Path(__file__).parent))

from order_feed import ContractFeed


def order_settings(database_url: str, bootstrap: str, tmp_path: Path) -> OrderSettings:
    """Settings of an order service under test.

    The broker is shared by the whole session: each service gets a consumer
    group of its own (else two order services would split the partitions of
    contract.events), which reads the topic from its beginning. The short
    session timeout makes the dev broker answer the group join in about a second.
    """
    return OrderSettings(
        database_url=database_url,
        kafka_bootstrap=bootstrap,
        api_keys=api_keys_setting(),
        dev_keys_file=tmp_path / "dev-keys.json",
        port=0,
        consumer_group=f"order-test-{uuid.uuid4().hex[:12]}",
        consumer_session_timeout_ms=2000,
    )


@asynccontextmanager
async def serving_order(url: str, bootstrap: str, tmp_path: Path) -> AsyncIterator[LiveService]:
    """An order service on `url`, its clock at 2026-01-10 09:30 UTC."""
    clock = FixedClock(datetime(2026, 1, 10, 9, 30, tzinfo=UTC))
    app = app_factory(order_settings(url, bootstrap, tmp_path), clock)
    async with serve_in_process(app) as service:
        yield service


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def order_service(
    request: pytest.FixtureRequest, tansu: TansuBroker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveService]:
    """One order service per module on SQLite, then one on PostgreSQL. Its tests share it,
    each on accounts and contracts of its own."""
    tmp_path = tmp_path_factory.mktemp("order")
    server: ThrowawayPostgres | None = None
    name = f"m_{uuid.uuid4().hex}"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'order.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(name)
    try:
        async with serving_order(url, tansu.bootstrap, tmp_path) as service:
            yield service
    finally:
        if server is not None:
            try:
                server.drop_database(name)
            except PostgresError as error:  # the cluster is thrown away at session end anyway
                warnings.warn(f"could not drop test database {name}: {error}", stacklevel=1)


@pytest.fixture(scope="module")
async def order_sqlite(
    tansu: TansuBroker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveService]:
    """One order service on SQLite for a whole module (operations, bad input)."""
    tmp_path = tmp_path_factory.mktemp("order")
    url = f"sqlite+aiosqlite:///{tmp_path / 'order.db'}"
    async with serving_order(url, tansu.bootstrap, tmp_path) as service:
        yield service


@pytest.fixture(scope="session")
async def feed(tansu: TansuBroker) -> AsyncIterator[ContractFeed]:
    """Publishes contract events, as the contract service would."""
    producer = AIOKafkaProducer(bootstrap_servers=tansu.bootstrap, **FAST_PRODUCER_SETTINGS)
    await producer.start()
    try:
        yield ContractFeed(producer)
    finally:
        await producer.stop()
