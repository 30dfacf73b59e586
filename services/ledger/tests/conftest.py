"""Fixtures of the ledger's service tests: the service live on a real socket, database and
broker, fed billing's events.

The helper module beside this file (ledger_feed.py) is imported as a top-level
module: pytest runs with --import-mode=importlib, which does not put test
folders on sys.path, so this conftest does.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from revline_testkit.broker import FAST_PRODUCER_SETTINGS, TansuBroker
from revline_testkit.fixtures import live_service_fixture

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "metrics"))  # metrics_examples, for metrics_feed

from fresh_ledger import LEDGER
from ledger_feed import BillingFeed

# Each ledger under test has a consumer group of its own, reading billing.events from
# where the topic ended when it started (fresh_ledger.py); tests work on accounts of
# their own.

# One ledger per module on SQLite, then one on PostgreSQL.
ledger_service = live_service_fixture(LEDGER)


@pytest.fixture(scope="module")
async def feed(tansu: TansuBroker) -> AsyncIterator[BillingFeed]:
    """Publishes billing events, as billing's outbox relay would."""
    producer = AIOKafkaProducer(bootstrap_servers=tansu.bootstrap, **FAST_PRODUCER_SETTINGS)
    await producer.start()
    try:
        yield BillingFeed(producer)
    finally:
        await producer.stop()
