"""Dashboard tests: the pure modules need no fixtures; the page tests get a live ledger
fed M1 (seeded_ledger.py), one per module on SQLite. This lets them import
metrics_examples.py (M1) and seeded_ledger.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "metrics"))
sys.path.insert(0, str(Path(__file__).parent))

from fresh_ledger import LEDGER
from ledger_feed import BillingFeed
from revline_testkit.fixtures import live_service_fixture
from revline_testkit.live import LiveService
from seeded_ledger import seed

dashboard_ledger = live_service_fixture(LEDGER, backends=("sqlite",))


@pytest.fixture(scope="module")
async def seeded(dashboard_ledger: LiveService, feed: BillingFeed) -> LiveService:
    """The ledger fed M1 and EUR invoices of its accounts (seeded_ledger)."""
    return await seed(dashboard_ledger, feed)
