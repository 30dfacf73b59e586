"""OpenAPI, health, readiness, metrics, auth and query validation of the order API."""

from __future__ import annotations

import pytest
from revline_testkit.live import LiveService, auth

# Every order-service path of API.md, with its methods, plus the operations endpoints.
API_MD_PATHS = {
    "/v1/orders": {"get"},
    "/v1/orders/{order_id}": {"get"},
    "/v1/orders/{order_id}/hold": {"post"},
    "/v1/orders/{order_id}/release": {"post"},
    "/v1/orders/{order_id}/billing-date-override": {"post"},
    "/healthz": {"get"},
    "/readyz": {"get"},
    "/metrics": {"get"},
    "/v1/admin/state-digest": {"get"},
}


async def test_openapi_lists_every_api_md_path_and_method(order_sqlite: LiveService) -> None:
    response = await order_sqlite.client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, methods in API_MD_PATHS.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    assert "swagger" in (await order_sqlite.client.get("/docs")).text.lower()


async def test_openapi_documents_the_order_fields_of_api_md(order_sqlite: LiveService) -> None:
    schemas = (await order_sqlite.client.get("/openapi.json")).json()["components"]["schemas"]
    assert {
        "id", "contract_id", "account_id", "status", "kind", "effective_date", "items",
        "billing_hold", "next_billing_date_override",
    } <= set(schemas["OrderOut"]["properties"])  # fmt: skip
    assert {
        "subscription_id", "sku", "quantity_delta", "quantity", "unit_price", "start_date",
        "end_date",
    } <= set(schemas["OrderItemOut"]["properties"])  # fmt: skip
    assert set(schemas["HoldIn"]["properties"]) == {"reason"}
    assert set(schemas["BillingDateOverrideIn"]["properties"]) == {"next_billing_date"}


async def test_health_and_readiness_report_their_checks(order_sqlite: LiveService) -> None:
    health = await order_sqlite.client.get("/healthz")
    assert health.json() == {"status": "ok", "service": "order"}
    ready = await order_sqlite.client.get("/readyz")
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "broker": "ok"},
    }


async def test_metrics_expose_request_latency_and_consumer_lag(order_sqlite: LiveService) -> None:
    client = order_sqlite.client
    assert (await client.get("/v1/orders/or_none", headers=auth("ops"))).status_code == 404
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert (
        'revline_http_request_seconds_count{method="GET",route="/v1/orders/{order_id}",'
        'service="order",status="404"}'
    ) in metrics.text
    assert "revline_outbox_backlog" in metrics.text


async def test_consumer_state_names_contract_events(order_sqlite: LiveService) -> None:
    state = await order_sqlite.client.get("/v1/admin/consumer", headers=auth("admin"))
    assert state.json()["topics"] == ["contract.events"]


@pytest.mark.parametrize("role", ["ops", "finance", "sales", "admin"])
async def test_every_role_may_read_orders(order_sqlite: LiveService, role: str) -> None:
    listed = await order_sqlite.client.get(
        "/v1/orders", params={"account_id": "nobody"}, headers=auth(role)
    )
    assert listed.status_code == 200
    assert listed.json() == {"data": [], "next_cursor": None}


async def test_reads_need_a_known_key(order_sqlite: LiveService) -> None:
    client = order_sqlite.client
    anonymous = await client.get("/v1/orders")
    unknown = await client.get("/v1/orders", headers={"Authorization": "Bearer nope"})
    for response in (anonymous, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/v1/admin/state-digest", headers=auth("ops"))).status_code == 403


@pytest.mark.parametrize("order_id", ["or_none", "x" * 41, "has space", "nul%00", "%F0%9F%98%80"])
async def test_an_unknown_order_is_a_404_problem(order_sqlite: LiveService, order_id: str) -> None:
    response = await order_sqlite.client.get(f"/v1/orders/{order_id}", headers=auth("ops"))
    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "https://revline.dev/problems/unknown-order"
    assert body["title"] == "Unknown order"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"account_id": "a b"}, "account_id"),
        ({"account_id": "x" * 65}, "account_id"),
        ({"contract_id": "a\x00b"}, "contract_id"),
    ],
)
async def test_bad_list_parameters_are_422s_naming_them(
    order_sqlite: LiveService, params: dict[str, object], field: str
) -> None:
    response = await order_sqlite.client.get("/v1/orders", params=params, headers=auth("ops"))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
