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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from contract.main import app_factory
from contract.settings import ContractSettings
from revline_events.clock import FixedClock
from revline_testkit.broker import FAST_PRODUCER_SETTINGS, TansuBroker
from revline_testkit.fixtures import ServiceUnderTest, live_service_fixture
from revline_testkit.live import LiveService

sys.path.insert(0, str(Path(__file__).parent))

from contract_driver import ContractDriver

START = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
CONSUMER_GROUP = f"contract-tests-{uuid.uuid4().hex[:12]}"
CONTRACT = ServiceUnderTest("contract", ContractSettings, app_factory, start=START)


@pytest.fixture
def clock() -> FixedClock:
    """The service's clock: 2026-01-10 09:30 UTC until a test moves it."""
    return FixedClock(START)


# A fresh contract service on SQLite and on PostgreSQL (the test runs once on each).
contract_service = live_service_fixture(
    CONTRACT, scope="function", clock="clock", consumer_group=CONSUMER_GROUP
)
# One contract service per module on SQLite, then one on PostgreSQL. Its tests need no
# isolation from each other: each works on an account of its own (a consumer group join
# costs about a second on the dev broker, so one per module).
shared_service = live_service_fixture(CONTRACT, consumer_group=CONSUMER_GROUP)


@pytest.fixture(scope="module")
async def shared_driver(
    shared_service: LiveService, tansu: TansuBroker
) -> AsyncIterator[ContractDriver]:
    """The module's contract service (SQLite, then PostgreSQL) with a producer."""
    clock = shared_service.runtime.clock
    assert isinstance(clock, FixedClock)
    async with _producer(tansu) as producer:
        yield ContractDriver(shared_service, producer, clock)


@pytest.fixture
def contracts(shared_driver: ContractDriver) -> ContractDriver:
    """The module's contract service (SQLite, then PostgreSQL), its clock back at START."""
    shared_driver.clock.set(START)
    return shared_driver


@pytest.fixture
async def fresh_contracts(
    contract_service: LiveService, tansu: TansuBroker, clock: FixedClock
) -> AsyncIterator[ContractDriver]:
    """`contract_service` (a new one for the test, on SQLite and on PostgreSQL) with a
    producer."""
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
