"""The quote, contract, order and billing services together (and the ledger, for the tests
that follow the money), over real HTTP and the real broker.

The helper module beside this file (e2e_support.py) is imported as a top-level
module: pytest runs with --import-mode=importlib, which does not put test
folders on sys.path, so this conftest does.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from revline_events.clock import FixedClock
from revline_testkit.broker import TansuBroker
from revline_testkit.devstack import settings_class
from revline_testkit.fixtures import BACKENDS, ServiceUnderTest, fresh_database
from revline_testkit.live import LiveService

sys.path.insert(0, str(Path(__file__).parent))

SERVICES = ("quote", "contract", "order", "billing")
# The tests that follow invoices into the books and payments back to billing.
WITH_LEDGER = (*SERVICES, "ledger")


@dataclass
class Stack:
    """The running services by name, the broker they share and the clock they read."""

    services: dict[str, LiveService]
    bootstrap: str
    clock: FixedClock

    def __getitem__(self, name: str) -> LiveService:
        return self.services[name]


def under_test(name: str) -> ServiceUnderTest:
    """The service `name` as the test kit builds it (its settings class and app factory)."""
    main = importlib.import_module(f"{name}.main")
    return ServiceUnderTest(name, settings_class(name), main.app_factory)


@pytest.fixture(params=BACKENDS)
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    """quote, contract, order and billing, each on its own database (SQLite, then PostgreSQL).

    The stack gets a broker of its own: a deployment's topics hold only its events
    (services read their upstream topics from the beginning).
    """
    async with _running(request, tmp_path, SERVICES) as running:
        yield running


@pytest.fixture(params=BACKENDS)
async def cash_stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    """The stack with the ledger too: billing's invoices are booked, payments flow back."""
    async with _running(request, tmp_path, WITH_LEDGER) as running:
        yield running


# The RevOps metrics follow quotes and contracts: no order or billing needed.
WITH_METRICS = ("quote", "contract", "ledger")


@pytest.fixture(params=BACKENDS)
async def metrics_stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    """quote, contract and the ledger: quotes and contracts feed the ledger's metrics."""
    async with _running(request, tmp_path, WITH_METRICS) as running:
        yield running


@asynccontextmanager
async def _running(
    request: pytest.FixtureRequest, tmp_path: Path, names: tuple[str, ...]
) -> AsyncIterator[Stack]:
    clock = FixedClock(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    group = uuid.uuid4().hex[:8]
    services: dict[str, LiveService] = {}
    async with AsyncExitStack() as exits:
        tansu = exits.enter_context(TansuBroker())
        for name in names:
            url = exits.enter_context(fresh_database(request, request.param, tmp_path, name))
            services[name] = await exits.enter_async_context(
                under_test(name).serving(
                    url, tansu.bootstrap, tmp_path, clock, consumer_group=f"{name}-{group}"
                )
            )
        yield Stack(services=services, bootstrap=tansu.bootstrap, clock=clock)
