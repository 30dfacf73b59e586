"""Fixtures of the billing service's tests: the service live on a real socket, database
and broker.

The helper module beside this file (billing_feed.py) is imported as a top-level
module: pytest runs with --import-mode=importlib, which does not put test
folders on sys.path, so this conftest does.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from revline_testkit.broker import FAST_PRODUCER_SETTINGS, TansuBroker
from revline_testkit.fixtures import live_service_fixture
from revline_testkit.live import LiveService

sys.path.insert(0, str(Path(__file__).parent))

from billing_feed import BILLING, OrderFeed


@asynccontextmanager
async def serving_billing(
    url: str, bootstrap: str, tmp_path: Path, **overrides: Any
) -> AsyncIterator[LiveService]:
    """A billing service on `url` in a consumer group of its own (it reads order.events and
    ledger.events from their beginning), its clock at 2026-01-10 09:30 UTC."""
    async with BILLING.serving(url, bootstrap, tmp_path, **overrides) as service:
        yield service


# One billing service per module on SQLite, then one on PostgreSQL. Its tests share it,
# each on accounts of its own.
billing_service = live_service_fixture(BILLING)
# One billing service on SQLite for a whole module (operations, bad input).
billing_sqlite = live_service_fixture(BILLING, backends=("sqlite",))


@pytest.fixture(scope="module")
async def feed(tansu: TansuBroker) -> AsyncIterator[OrderFeed]:
    """Publishes order and ledger events, as those services would."""
    producer = AIOKafkaProducer(bootstrap_servers=tansu.bootstrap, **FAST_PRODUCER_SETTINGS)
    await producer.start()
    try:
        yield OrderFeed(producer)
    finally:
        await producer.stop()
