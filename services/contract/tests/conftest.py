"""Fixtures of the contract service's tests: the service live on a real socket and broker.

The Tansu broker is shared by the whole session, and so are quote.events and
contract.events. In production one contract service (its replicas in one consumer
group) turns each accepted quote into one contract. So every contract service under
test joins the same consumer group, made once per session: a service starts where the
previous one stopped, each QuoteAccepted is handled by exactly one of them, and
contract.events never carries two ContractCreated for one quote (a service in a group
of its own would read quote.events from its start and publish every contract again).
Hence at most one contract service runs at a time: a module shares one per database,
or a test has its own, never both.
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
from contract.main import app_factory
from contract.settings import ContractSettings
from fastapi import FastAPI
from revline_events.clock import FixedClock
from revline_testkit.broker import (
    FAST_PRODUCER_SETTINGS,
    TansuBroker,
)
from revline_testkit.live import LiveService, api_keys_setting, serve_in_process
from revline_testkit.postgres import PostgresError, ThrowawayPostgres

sys.path.insert(0, str(Path(__file__).parent))

from contract_driver import ContractDriver

START = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
CONSUMER_GROUP = f"contract-tests-{uuid.uuid4().hex[:12]}"


def contract_settings(database_url: str, bootstrap: str, tmp_path: Path) -> ContractSettings:
    """Settings of a contract service under test, in the session's consumer group."""
    return ContractSettings(
        database_url=database_url,
        kafka_bootstrap=bootstrap,
        api_keys=api_keys_setting(),
        dev_keys_file=tmp_path / "dev-keys.json",
        port=0,
        consumer_group=CONSUMER_GROUP,
        consumer_session_timeout_ms=2000,  # the dev broker answers a join after half of it
    )


def contract_app(url: str, bootstrap: str, tmp_path: Path, clock: FixedClock) -> FastAPI:
    """A contract service app on the test clock."""
    return app_factory(contract_settings(url, bootstrap, tmp_path), clock)


@pytest.fixture
def clock() -> FixedClock:
    """The service's clock: 2026-01-10 09:30 UTC until a test moves it."""
    return FixedClock(START)


@pytest.fixture
async def contract_service(
    tansu: TansuBroker, db_url: str, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[LiveService]:
    """A fresh contract service on SQLite and on PostgreSQL (the test runs once on each)."""
    async with serve_in_process(contract_app(db_url, tansu.bootstrap, tmp_path, clock)) as svc:
        yield svc


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def shared_driver(
    request: pytest.FixtureRequest,
    tansu: TansuBroker,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ContractDriver]:
    """One contract service per module on SQLite, then one on PostgreSQL, with a producer.

    Its tests need no isolation from each other: each works on an account of its own
    (a consumer group join costs about a second on the dev broker, so one per module).
    """
    tmp_path = tmp_path_factory.mktemp("contract")
    server: ThrowawayPostgres | None = None
    name = f"m_{uuid.uuid4().hex}"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(name)
    clock = FixedClock(START)
    try:
        async with (
            serve_in_process(contract_app(url, tansu.bootstrap, tmp_path, clock)) as svc,
            _producer(tansu) as producer,
        ):
            yield ContractDriver(svc, producer, clock)
    finally:
        if server is not None:
            try:
                server.drop_database(name)
            except PostgresError as error:  # the cluster is thrown away at session end anyway
                warnings.warn(f"could not drop test database {name}: {error}", stacklevel=1)


@pytest.fixture
def contracts(shared_driver: ContractDriver) -> ContractDriver:
    """The module's contract service (SQLite, then PostgreSQL), its clock back at START."""
    shared_driver.clock.set(START)
    return shared_driver


@pytest.fixture
async def fresh_contracts(
    contract_service: LiveService, tansu: TansuBroker, clock: FixedClock
) -> AsyncIterator[ContractDriver]:
    """`contract_service` (a new one for the test, on `db_url`) with a producer."""
    async with _producer(tansu) as producer:
        yield ContractDriver(contract_service, producer, clock)


@asynccontextmanager
async def _producer(tansu: TansuBroker) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=tansu.bootstrap, **FAST_PRODUCER_SETTINGS)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()
