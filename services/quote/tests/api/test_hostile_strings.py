"""A NUL or a lone surrogate in any string field of a write: a 4xx problem, never a 500.

What is left of the hand-written fuzz test once schemathesis (tests/openapi) covers
random and mutated bodies at every endpoint: those run on SQLite, and these two strings
are PostgreSQL's traps (it refuses a NUL in text, and a lone surrogate is no UTF-8), so
every string field of the three write bodies gets each, on both databases.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from revline_testkit.live import LiveService, auth

SALES = auth("sales")
PRODUCT: dict[str, Any] = {"sku": "HOSTILE", "name": "Hostile", "currency": "USD",
                           "unit_price": 5000, "charge_type": "recurring",
                           "billing_period": "month"}  # fmt: skip
LINE: dict[str, Any] = {"sku": "SEAT", "quantity": 10, "discount_percent": "10",
                        "subscription_id": "sub_1"}  # fmt: skip
QUOTE: dict[str, Any] = {
    "account_id": "acme", "currency": "USD", "kind": "new", "start_date": "2026-01-15",
    "term_months": 12, "billing_timing": "advance", "lines": [LINE],
}  # fmt: skip
PATCH: dict[str, Any] = {"start_date": "2026-01-15", "billing_timing": "advance", "lines": [LINE]}
HOSTILE = ("\x00", "\ud800", "SEAT\x00", "acme\ud800")


def _bodies(base: dict[str, Any]) -> list[dict[str, Any]]:
    """`base` with each string field, its line's too, replaced by each hostile string."""
    bodies = []
    for value in HOSTILE:
        for field, current in base.items():
            if isinstance(current, str):
                bodies.append({**base, field: value})
        for field, current in LINE.items():
            if "lines" in base and isinstance(current, str):
                bodies.append({**base, "lines": [{**LINE, field: value}]})
    return bodies


async def _refused(client: httpx.AsyncClient, method: str, path: str, body: Any) -> None:
    content = json.dumps(body).encode()  # ensure_ascii: "\ud800" travels as its escape
    headers = {**SALES, "Content-Type": "application/json"}
    response = await client.request(method, path, content=content, headers=headers)
    assert 400 <= response.status_code < 500, (body, response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json", response.text
    assert response.json()["status"] == response.status_code


async def test_hostile_strings_in_writes_are_refused_as_problems(
    stocked_service: LiveService,
) -> None:
    client = stocked_service.client
    draft = {**QUOTE, "lines": [{"sku": "SEAT", "quantity": 10}]}
    created = await client.post("/v1/quotes", json=draft, headers=SALES)
    assert created.status_code == 201, created.text
    for body in _bodies(PRODUCT):
        await _refused(client, "POST", "/v1/products", body)
    for body in _bodies(QUOTE):
        await _refused(client, "POST", "/v1/quotes", body)
    for body in _bodies(PATCH):
        await _refused(client, "PATCH", f"/v1/quotes/{created.json()['id']}", body)
