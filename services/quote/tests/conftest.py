"""Fixtures of the quote service's tests: the service live on a real socket and broker."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from quote.main import app_factory
from quote.settings import QuoteSettings
from revline_events.clock import FixedClock
from revline_testkit.fixtures import ServiceUnderTest, live_service_fixture

QUOTE = ServiceUnderTest("quote", QuoteSettings, app_factory)


@pytest.fixture
def clock() -> FixedClock:
    """The services' clock: 2026-01-10 09:30 UTC until a test moves it."""
    return FixedClock(datetime(2026, 1, 10, 9, 30, tzinfo=UTC))


# A new quote service per test, on SQLite and on PostgreSQL (the test runs once on each).
quote_service = live_service_fixture(QUOTE, scope="function", clock="clock")
# A new quote service per test on SQLite only (for the long tables of bad input).
quote_sqlite = live_service_fixture(QUOTE, scope="function", backends=("sqlite",), clock="clock")
# One quote service per module on SQLite, then one on PostgreSQL, for tests that need no
# isolation from each other (each works on its own quotes).
quote_service_per_module = live_service_fixture(QUOTE)
# One quote service on SQLite for a whole module, for tables of requests that must all be
# refused: they share it, so each costs a request, not a service start.
quote_sqlite_per_module = live_service_fixture(QUOTE, backends=("sqlite",))
