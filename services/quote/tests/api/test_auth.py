"""API keys and roles: 401 without a known key, 403 for the wrong role, operations open."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from revline_testkit.live import LiveService, auth

QUOTE: dict[str, Any] = {
    "account_id": "acme", "currency": "USD", "start_date": "2026-01-15", "term_months": 12,
    "lines": [{"sku": "SEAT", "quantity": 1}],
}  # fmt: skip
PRODUCT: dict[str, Any] = {"sku": "AUTHZ", "name": "Authz", "currency": "USD",
                           "unit_price": 100, "charge_type": "one_time"}  # fmt: skip

# Every endpoint that needs a key: (method, path, body); {id} is a draft quote.
PROTECTED = [
    pytest.param("GET", "/v1/products", None, id="list-products"),
    pytest.param("GET", "/v1/products/SEAT", None, id="get-product"),
    pytest.param("POST", "/v1/products", PRODUCT, id="create-product"),
    pytest.param("GET", "/v1/quotes", None, id="list-quotes"),
    pytest.param("GET", "/v1/quotes/{id}", None, id="get-quote"),
    pytest.param("POST", "/v1/quotes", QUOTE, id="create-quote"),
    pytest.param("PATCH", "/v1/quotes/{id}", {"term_months": 6}, id="patch-quote"),
    pytest.param("POST", "/v1/quotes/{id}/present", None, id="present-quote"),
    pytest.param("POST", "/v1/quotes/{id}/accept", None, id="accept-quote"),
    pytest.param("POST", "/v1/quotes/{id}/reject", None, id="reject-quote"),
    pytest.param("GET", "/v1/admin/state-digest", None, id="state-digest"),
    pytest.param("GET", "/v1/admin/consumer", None, id="consumer-state"),
]
WRITES = [p for p in PROTECTED if p.values[0] != "GET"]
READS = [p for p in PROTECTED if p.values[0] == "GET" and "/admin/" not in str(p.values[1])]


@pytest.fixture
async def draft_id(stocked_sqlite_per_module: LiveService) -> str:
    """A fresh draft quote on the module's service."""
    created = await stocked_sqlite_per_module.client.post(
        "/v1/quotes", json=QUOTE, headers=auth("sales")
    )
    assert created.status_code == 201, created.text
    quote_id: str = created.json()["id"]
    return quote_id


async def _call(
    service: LiveService, method: str, path: str, body: Any, headers: dict[str, str], quote: str
) -> httpx.Response:
    return await service.client.request(
        method, path.replace("{id}", quote), json=body, headers=headers
    )


def _assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Unauthorized"


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_request_without_a_key_is_a_401_with_www_authenticate(
    stocked_sqlite_per_module: LiveService, draft_id: str, method: str, path: str, body: Any
) -> None:
    _assert_401(await _call(stocked_sqlite_per_module, method, path, body, {}, draft_id))


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer k-nobody", id="unknown-key"),
        pytest.param("Bearer", id="bearer-without-a-key"),
        pytest.param("Basic azpzYWxlcw==", id="basic-scheme"),
        pytest.param("k-sales", id="key-without-scheme"),
        pytest.param("Bearer k-sales-", id="key-with-a-suffix"),
    ],
)
@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_request_with_an_unknown_key_is_a_401(
    stocked_sqlite_per_module: LiveService,
    draft_id: str,
    method: str,
    path: str,
    body: Any,
    authorization: str,
) -> None:
    headers = {"Authorization": authorization}
    _assert_401(await _call(stocked_sqlite_per_module, method, path, body, headers, draft_id))


async def test_missing_key_is_a_401_before_the_body_is_validated(
    stocked_sqlite_per_module: LiveService,
) -> None:
    _assert_401(await stocked_sqlite_per_module.client.post("/v1/quotes", json={}))


@pytest.mark.parametrize("role", ["ops", "finance"])
@pytest.mark.parametrize(("method", "path", "body"), WRITES)
async def test_write_by_a_role_other_than_sales_is_a_403_with_no_effect(
    stocked_sqlite_per_module: LiveService,
    draft_id: str,
    method: str,
    path: str,
    body: Any,
    role: str,
) -> None:
    client = stocked_sqlite_per_module.client
    quotes_before = await client.get("/v1/quotes", params={"limit": 500}, headers=auth("admin"))
    response = await _call(stocked_sqlite_per_module, method, path, body, auth(role), draft_id)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == f"role {role} may not do this (needs: admin, sales)"
    quotes_after = await client.get("/v1/quotes", params={"limit": 500}, headers=auth("admin"))
    assert quotes_after.json() == quotes_before.json()
    assert (await client.get("/v1/products/AUTHZ", headers=auth("admin"))).status_code == 404


@pytest.mark.parametrize("role", ["sales", "admin"])
@pytest.mark.parametrize(("method", "path", "body"), WRITES)
async def test_write_by_sales_or_admin_succeeds(
    stocked_sqlite_per_module: LiveService,
    draft_id: str,
    method: str,
    path: str,
    body: Any,
    role: str,
) -> None:
    if path == "/v1/products":
        body = {**PRODUCT, "sku": f"AUTHZ-{role}"}
    response = await _call(stocked_sqlite_per_module, method, path, body, auth(role), draft_id)
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize("role", ["sales", "finance", "ops", "admin"])
@pytest.mark.parametrize(("method", "path", "body"), READS)
async def test_read_is_allowed_to_every_role(
    stocked_sqlite_per_module: LiveService,
    draft_id: str,
    method: str,
    path: str,
    body: Any,
    role: str,
) -> None:
    response = await _call(stocked_sqlite_per_module, method, path, body, auth(role), draft_id)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/v1/admin/state-digest", "/v1/admin/consumer"])
@pytest.mark.parametrize("role", ["sales", "finance", "ops"])
async def test_admin_endpoint_is_a_403_for_every_other_role(
    stocked_sqlite_per_module: LiveService, path: str, role: str
) -> None:
    response = await stocked_sqlite_per_module.client.get(path, headers=auth(role))
    assert response.status_code == 403, response.text
    assert response.json()["detail"] == f"role {role} may not do this (needs: admin)"


async def test_state_digest_is_served_to_admin(stocked_sqlite_per_module: LiveService) -> None:
    response = await stocked_sqlite_per_module.client.get(
        "/v1/admin/state-digest", headers=auth("admin")
    )
    assert response.status_code == 200
    body = response.json()
    assert body["service"] == "quote"
    assert body["tables"] == ["products", "quote_lines", "quotes"]
    assert len(body["digest"]) == 64


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json"])
async def test_operations_endpoint_needs_no_key(
    stocked_sqlite_per_module: LiveService, path: str
) -> None:
    response = await stocked_sqlite_per_module.client.get(path)
    assert response.status_code == 200, response.text
