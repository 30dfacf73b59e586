"""OpenAPI, metrics, correlation ids and timestamps: what operators and integrators rely on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from revline_events.envelope import Envelope
from revline_testkit.live import LiveService, TopicReader, auth, stored_events

SALES = auth("sales")

# Every quote-service path of API.md, with its methods, plus the operations endpoints.
API_MD_PATHS = {
    "/v1/products": {"get", "post"},
    "/v1/products/{sku}": {"get"},
    "/v1/quotes": {"get", "post"},
    "/v1/quotes/{quote_id}": {"get", "patch"},
    "/v1/quotes/{quote_id}/present": {"post"},
    "/v1/quotes/{quote_id}/accept": {"post"},
    "/v1/quotes/{quote_id}/reject": {"post"},
    "/healthz": {"get"},
    "/readyz": {"get"},
    "/metrics": {"get"},
}


async def test_openapi_lists_every_api_md_path_and_method(
    stocked_sqlite_per_module: LiveService,
) -> None:
    response = await stocked_sqlite_per_module.client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, methods in API_MD_PATHS.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    docs = await stocked_sqlite_per_module.client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_openapi_documents_the_quote_fields_of_api_md(
    stocked_sqlite_per_module: LiveService,
) -> None:
    schemas = (await stocked_sqlite_per_module.client.get("/openapi.json")).json()["components"][
        "schemas"
    ]
    assert set(schemas["QuoteIn"]["properties"]) == {
        "account_id", "currency", "kind", "contract_id", "start_date", "term_months",
        "bill_cycle_day", "billing_timing", "auto_renew", "lines",
    }  # fmt: skip
    assert set(schemas["LineIn"]["properties"]) == {
        "sku", "quantity", "unit_price", "discount_percent", "subscription_id",
    }  # fmt: skip
    assert set(schemas["ProductIn"]["properties"]) == {
        "sku", "name", "currency", "unit_price", "charge_type", "billing_period",
    }  # fmt: skip
    assert {"id", "status", "version", "lines", "totals"} <= set(schemas["QuoteOut"]["properties"])
    assert {"net_unit_price", "amount_per_period"} <= set(schemas["LineOut"]["properties"])


async def test_metrics_expose_request_latency_by_route_template(
    stocked_sqlite_per_module: LiveService,
) -> None:
    client = stocked_sqlite_per_module.client
    assert (await client.get("/v1/quotes/qt_none", headers=SALES)).status_code == 404
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE revline_http_request_seconds histogram" in metrics.text
    assert (
        'revline_http_request_seconds_count{method="GET",route="/v1/quotes/{quote_id}",'
        'service="quote",status="404"}'
    ) in metrics.text


async def test_correlation_id_is_echoed_and_stamped_on_the_events(
    stocked_service: LiveService, f1_quote: dict[str, Any]
) -> None:
    client = stocked_service.client
    created = await client.post(
        "/v1/quotes", json=f1_quote, headers={**SALES, "X-Correlation-Id": "corr-create-1"}
    )
    assert created.headers["x-correlation-id"] == "corr-create-1"
    quote_id = created.json()["id"]
    accepted = await client.post(
        f"/v1/quotes/{quote_id}/accept", headers={**SALES, "X-Correlation-Id": "corr-accept-1"}
    )
    assert accepted.headers["x-correlation-id"] == "corr-accept-1"

    stored = await stored_events(stocked_service, quote_id)
    assert [(e.type, e.correlation_id) for e in stored] == [
        ("QuoteCreated", "corr-create-1"), ("QuoteAccepted", "corr-accept-1"),
    ]  # fmt: skip

    def both_published(envelopes: list[Envelope]) -> bool:
        return sum(e.stream_id == quote_id for e in envelopes) == 2

    async with TopicReader(stocked_service.runtime.settings.kafka_bootstrap,
                           "quote.events") as topic:  # fmt: skip
        await topic.read_until(both_published)
        assert [e.correlation_id for e in topic.of_stream(quote_id)] == [
            "corr-create-1", "corr-accept-1",
        ]  # fmt: skip


async def test_request_without_correlation_id_gets_a_fresh_one_on_its_events(
    stocked_sqlite_per_module: LiveService, f1_quote: dict[str, Any]
) -> None:
    created = await stocked_sqlite_per_module.client.post(
        "/v1/quotes", json=f1_quote, headers=SALES
    )
    made = created.headers["x-correlation-id"]
    assert str(uuid.UUID(made)) == made
    stored = await stored_events(stocked_sqlite_per_module, created.json()["id"])
    assert [e.correlation_id for e in stored] == [made]


async def test_correlation_id_is_echoed_on_problems_too(
    stocked_sqlite_per_module: LiveService,
) -> None:
    unauthorised = await stocked_sqlite_per_module.client.get(
        "/v1/quotes", headers={"X-Correlation-Id": "corr-401"}
    )
    assert unauthorised.status_code == 401
    assert unauthorised.headers["x-correlation-id"] == "corr-401"
    too_big = await stocked_sqlite_per_module.client.post(
        "/v1/quotes", content=b"x" * 1_000_001, headers={**SALES, "X-Correlation-Id": "corr-413"}
    )
    assert too_big.status_code == 413
    assert too_big.headers["x-correlation-id"] == "corr-413"


def _utc(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    assert parsed.utcoffset() is not None, f"{text} has no offset"
    return parsed.astimezone(UTC)


async def test_every_timestamp_in_responses_is_utc_with_an_offset(
    stocked_service: LiveService, f1_quote: dict[str, Any]
) -> None:
    client = stocked_service.client
    created = (await client.post("/v1/quotes", json=f1_quote, headers=SALES)).json()
    quotes = (await client.get("/v1/quotes", headers=SALES)).json()["data"]
    products = (await client.get("/v1/products", headers=SALES)).json()["data"]
    product = (await client.get("/v1/products/SEAT", headers=SALES)).json()
    stamps = [created["created_at"], created["updated_at"], product["created_at"]]
    stamps += [q[k] for q in quotes for k in ("created_at", "updated_at")]
    stamps += [p["created_at"] for p in products]
    assert {_utc(s) for s in stamps} == {datetime(2026, 1, 10, 9, 30, tzinfo=UTC)}
    assert all(s.endswith("Z") for s in stamps), stamps


async def test_health_and_readiness_report_their_checks(
    stocked_sqlite_per_module: LiveService,
) -> None:
    health = await stocked_sqlite_per_module.client.get("/healthz")
    assert health.json() == {"status": "ok", "service": "quote"}
    ready = await stocked_sqlite_per_module.client.get("/readyz")
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "broker": "ok"},
    }
