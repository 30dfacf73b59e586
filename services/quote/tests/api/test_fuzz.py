"""Random JSON at the write endpoints: never a 500, and every 4xx is problem+json.

Hypothesis drives a blocking httpx client from a worker thread, so the service
keeps answering on the test's event loop, over a real socket.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from revline_testkit.live import LiveService, auth

SALES = auth("sales")
PRODUCT: dict[str, Any] = {"sku": "FUZZ", "name": "Fuzz", "currency": "USD", "unit_price": 5000,
                           "charge_type": "recurring", "billing_period": "month"}  # fmt: skip
LINE: dict[str, Any] = {"sku": "SEAT", "quantity": 10, "unit_price": 5000,
                        "discount_percent": "10", "subscription_id": "sub_1"}  # fmt: skip
QUOTE: dict[str, Any] = {
    "account_id": "acme", "currency": "USD", "kind": "new", "start_date": "2026-01-15",
    "term_months": 12, "bill_cycle_day": 1, "billing_timing": "advance", "auto_renew": False,
    "lines": [{"sku": "SEAT", "quantity": 10, "discount_percent": "10"}],
}  # fmt: skip
EDITABLE = ("start_date", "term_months", "bill_cycle_day", "billing_timing", "auto_renew", "lines")
PATCH: dict[str, Any] = {k: QUOTE[k] for k in EDITABLE}

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Strings that trip careless services: NUL (PostgreSQL refuses it), a lone surrogate,
# near-miss dates, codes and ids.
NASTY = st.sampled_from(
    ["", " ", "\x00", "\ud800", "SEAT", "USD", "usd", "2026-02-30", "2026-01-15", "12.5",
     "1e400", "-0", "NaN", "a" * 65, "acme", "ct_1", "sub_1", "new", "amendment", "renewal"]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | NASTY
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)


def _mutations(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid body with one field replaced, removed or added, or known fields at random."""
    names = [*base, "extra"]
    replaced = st.tuples(st.sampled_from(names), VALUES).map(lambda kv: {**base, kv[0]: kv[1]})
    removed = st.sampled_from(list(base)).map(lambda k: {n: v for n, v in base.items() if n != k})
    known = st.dictionaries(st.sampled_from(names), VALUES, max_size=len(names))
    return replaced | removed | known


def _with_bad_line(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    return _mutations(LINE).flatmap(
        lambda bad: st.sampled_from([[bad], [LINE, bad], bad]).map(lambda ls: {**base, "lines": ls})
    )


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", response.text
        problem = response.json()
        assert {"type", "title", "status", "detail"} <= problem.keys()
        assert problem["status"] == response.status_code
    else:
        assert isinstance(response.json(), dict)


def _fuzz(base_url: str, method: str, path: str, bodies: st.SearchStrategy[Any]) -> None:
    with httpx.Client(base_url=base_url, timeout=30.0) as client:

        @SETTINGS
        @given(body=bodies)
        def post_random(body: Any) -> None:
            content = json.dumps(body).encode()
            headers = {**SALES, "Content-Type": "application/json"}
            _check(client.request(method, path, content=content, headers=headers))

        post_random()


async def test_random_products_never_cause_a_500(stocked_service: LiveService) -> None:
    bodies = VALUES | _mutations(PRODUCT)
    await asyncio.to_thread(_fuzz, stocked_service.base_url, "POST", "/v1/products", bodies)


async def test_random_quotes_never_cause_a_500(stocked_service: LiveService) -> None:
    bodies = VALUES | _mutations(QUOTE) | _with_bad_line(QUOTE)
    await asyncio.to_thread(_fuzz, stocked_service.base_url, "POST", "/v1/quotes", bodies)


async def test_random_patches_never_cause_a_500(stocked_service: LiveService) -> None:
    created = await stocked_service.client.post("/v1/quotes", json=QUOTE, headers=SALES)
    path = f"/v1/quotes/{created.json()['id']}"
    bodies = VALUES | _mutations(PATCH) | _with_bad_line(PATCH)
    await asyncio.to_thread(_fuzz, stocked_service.base_url, "PATCH", path, bodies)
