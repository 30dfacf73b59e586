"""Fixtures of the quote API tests: a stocked price book and the F1 quote body."""

from __future__ import annotations

from typing import Any

import pytest
from revline_testkit.live import LiveService, auth

# F1: SEAT (recurring, month, 5000) and SETUP (one-time, 25000), USD.
# W5: HALF lists at 1001 (50% -> 501), ODD at 1999 (12.5% -> 1749).
PRICE_BOOK: list[dict[str, Any]] = [
    {"sku": "SEAT", "name": "Seat", "currency": "USD", "unit_price": 5000,
     "charge_type": "recurring", "billing_period": "month"},
    {"sku": "SETUP", "name": "Setup", "currency": "USD", "unit_price": 25000,
     "charge_type": "one_time"},
    {"sku": "HALF", "name": "Half-price tie", "currency": "USD", "unit_price": 1001,
     "charge_type": "recurring", "billing_period": "month"},
    {"sku": "ODD", "name": "Odd discount", "currency": "USD", "unit_price": 1999,
     "charge_type": "recurring", "billing_period": "month"},
    {"sku": "EUROSEAT", "name": "Seat (EUR)", "currency": "EUR", "unit_price": 4500,
     "charge_type": "recurring", "billing_period": "month"},
]  # fmt: skip


async def _stock(service: LiveService) -> LiveService:
    for product in PRICE_BOOK:
        response = await service.client.post("/v1/products", json=product, headers=auth("sales"))
        assert response.status_code == 201, response.text
    return service


@pytest.fixture
async def stocked_service(quote_service: LiveService) -> LiveService:
    """`quote_service` (SQLite and PostgreSQL) with PRICE_BOOK defined."""
    return await _stock(quote_service)


@pytest.fixture(scope="module")
async def stocked_sqlite_per_module(quote_sqlite_per_module: LiveService) -> LiveService:
    """`quote_sqlite_per_module` with PRICE_BOOK defined, shared by a module's tests."""
    return await _stock(quote_sqlite_per_module)


@pytest.fixture(scope="module")
async def stocked_service_per_module(quote_service_per_module: LiveService) -> LiveService:
    """`quote_service_per_module` (SQLite, then PostgreSQL) with PRICE_BOOK defined."""
    return await _stock(quote_service_per_module)


@pytest.fixture
def f1_quote() -> dict[str, Any]:
    """The F1 quote for acme: SEAT x10 at 10%, SETUP x1, 12 months from 2026-01-15, BCD 1."""
    return {
        "account_id": "acme", "currency": "USD", "start_date": "2026-01-15",
        "term_months": 12, "bill_cycle_day": 1,
        "lines": [{"sku": "SEAT", "quantity": 10, "discount_percent": "10"},
                  {"sku": "SETUP", "quantity": 1}],
    }  # fmt: skip
