"""Fixtures of the order service's tests: the service live on a real socket, database and broker.

The helper module beside this file (order_feed.py) is imported as a top-level
module: pytest runs with --import-mode=importlib, which does not put test
folders on sys.path, so this conftest does.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from order.main import app_factory
from order.settings import OrderSettings
from revline_testkit.broker import FAST_PRODUCER_SETTINGS, TansuBroker
from revline_testkit.fixtures import ServiceUnderTest, live_service_fixture

sys.path.insert(0, str(Path(__file__).parent))

from order_feed import ContractFeed

# Each order service under test has a consumer group of its own (else two order services
# would split the partitions of contract.events), which reads the topic from its beginning.
ORDER = ServiceUnderTest("order", OrderSettings, app_factory)

# One order service per module on SQLite, then one on PostgreSQL. Its tests share it,
# each on accounts and contracts of its own.
order_service = live_service_fixture(ORDER)
# One order service on SQLite for a whole module (operations, bad input).
order_sqlite = live_service_fixture(ORDER, backends=("sqlite",))


@pytest.fixture(scope="module")
async def feed(tansu: TansuBroker) -> AsyncIterator[ContractFeed]:
    """Publishes contract events, as the contract service would."""
    producer = AIOKafkaProducer(bootstrap_servers=tansu.bootstrap, **FAST_PRODUCER_SETTINGS)
    await producer.start()
    try:
        yield ContractFeed(producer)
    finally:
        await producer.stop()
