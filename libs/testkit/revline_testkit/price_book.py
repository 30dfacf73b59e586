"""The price book of BILLING_RULES.md's worked example F1, as the quote service takes it
(POST /v1/products): what the fault tests and the end-to-end benchmarks quote."""

from __future__ import annotations

from typing import Any

F1_PRODUCTS: list[dict[str, Any]] = [
    {"sku": "SEAT", "name": "Seat", "currency": "USD", "unit_price": 5000,
     "charge_type": "recurring", "billing_period": "month"},
    {"sku": "SETUP", "name": "Setup", "currency": "USD", "unit_price": 25000,
     "charge_type": "one_time"},
]  # fmt: skip
