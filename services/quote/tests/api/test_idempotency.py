"""Idempotency-Key on every POST: a replay returns the first answer and has no second effect."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from revline_testkit.live import LiveService, auth, stored_events

SALES = auth("sales")
PRODUCT: dict[str, Any] = {"sku": "IDEM", "name": "Idempotent", "currency": "USD",
                           "unit_price": 700, "charge_type": "one_time"}  # fmt: skip


@pytest.fixture
def service(stocked_service_per_module: LiveService) -> LiveService:
    """The module's stocked quote service (SQLite, then PostgreSQL), shared by its tests."""
    return stocked_service_per_module


@pytest.fixture
def tag() -> str:
    """A token unique to the test, so that tests sharing a service never share a key,
    an account or a sku."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def product(tag: str) -> dict[str, Any]:
    """PRODUCT under a sku of this test's own."""
    return {**PRODUCT, "sku": f"IDEM-{tag}"}


@pytest.fixture
def body(f1_quote: dict[str, Any], tag: str) -> dict[str, Any]:
    """The F1 quote for an account of this test's own."""
    return {**f1_quote, "account_id": f"acct-{tag}"}


def keyed(key: str, role: str = "sales") -> dict[str, str]:
    """Auth headers of `role` with an Idempotency-Key."""
    return {**auth(role), "Idempotency-Key": key}


async def _quote_ids(service: LiveService, account_id: str) -> list[str]:
    listed = await service.client.get("/v1/quotes", params={"account_id": account_id},
                                      headers=SALES)  # fmt: skip
    return [q["id"] for q in listed.json()["data"]]


def _same_answer(first: httpx.Response, second: httpx.Response) -> None:
    assert (second.status_code, second.json()) == (first.status_code, first.json())


async def test_repeated_product_with_the_same_key_is_created_once(
    service: LiveService, product: dict[str, Any], tag: str
) -> None:
    client = service.client
    first = await client.post("/v1/products", json=product, headers=keyed(f"{tag}-p-1"))
    second = await client.post("/v1/products", json=product, headers=keyed(f"{tag}-p-1"))
    assert first.status_code == 201, first.text
    _same_answer(first, second)
    assert second.headers["idempotent-replayed"] == "true"
    assert [e.type for e in await stored_events(service, f"product:{product['sku']}")] == [
        "ProductCreated"
    ]


async def test_repeated_quote_with_the_same_key_is_created_once(
    service: LiveService, body: dict[str, Any], tag: str
) -> None:
    client = service.client
    first = await client.post("/v1/quotes", json=body, headers=keyed(f"{tag}-q-1"))
    second = await client.post("/v1/quotes", json=body, headers=keyed(f"{tag}-q-1"))
    assert first.status_code == 201, first.text
    _same_answer(first, second)
    assert await _quote_ids(service, body["account_id"]) == [first.json()["id"]]
    stored = await stored_events(service, first.json()["id"])
    assert [e.type for e in stored] == ["QuoteCreated"]


@pytest.mark.parametrize(
    ("steps", "events"),
    [
        pytest.param(["present"], ["QuoteCreated", "QuotePresented"], id="present"),
        pytest.param(["accept"], ["QuoteCreated", "QuoteAccepted"], id="accept"),
        pytest.param(["reject"], ["QuoteCreated", "QuoteRejected"], id="reject"),
    ],
)
async def test_repeated_step_with_the_same_key_answers_the_same_and_acts_once(
    service: LiveService,
    body: dict[str, Any],
    tag: str,
    steps: list[str],
    events: list[str],
) -> None:
    client = service.client
    quote_id = (await client.post("/v1/quotes", json=body, headers=SALES)).json()["id"]
    path = f"/v1/quotes/{quote_id}/{steps[0]}"
    first = await client.post(path, headers=keyed(f"{tag}-{steps[0]}"))
    second = await client.post(path, headers=keyed(f"{tag}-{steps[0]}"))
    assert first.status_code == 200, first.text
    _same_answer(first, second)
    assert [e.type for e in await stored_events(service, quote_id)] == events


async def test_same_key_with_another_body_is_a_422_and_creates_nothing(
    service: LiveService, body: dict[str, Any], tag: str
) -> None:
    client = service.client
    first = await client.post("/v1/quotes", json=body, headers=keyed(f"{tag}-q-2"))
    assert first.status_code == 201
    other = {**body, "term_months": 24}
    reused = await client.post("/v1/quotes", json=other, headers=keyed(f"{tag}-q-2"))
    assert reused.status_code == 422, reused.text
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["type"] == "https://revline.dev/problems/idempotency-key-reused"
    assert reused.json()["errors"] == [
        {"field": "Idempotency-Key", "in": "header", "message": "reused"}
    ]
    assert await _quote_ids(service, body["account_id"]) == [first.json()["id"]]


async def test_same_key_on_another_product_body_is_a_422(
    service: LiveService, product: dict[str, Any], tag: str
) -> None:
    client = service.client
    assert (await client.post("/v1/products", json=product, headers=keyed(f"{tag}-p-2"))).is_success
    other = {**product, "sku": f"{product['sku']}-2"}
    reused = await client.post("/v1/products", json=other, headers=keyed(f"{tag}-p-2"))
    assert reused.status_code == 422
    assert (await client.get(f"/v1/products/{other['sku']}", headers=SALES)).status_code == 404


async def test_same_key_on_another_step_of_the_quote_is_a_422(
    service: LiveService, body: dict[str, Any], tag: str
) -> None:
    client = service.client
    quote_id = (await client.post("/v1/quotes", json=body, headers=SALES)).json()["id"]
    presented = await client.post(f"/v1/quotes/{quote_id}/present", headers=keyed(f"{tag}-s-1"))
    assert presented.status_code == 200
    accepted = await client.post(f"/v1/quotes/{quote_id}/accept", headers=keyed(f"{tag}-s-1"))
    assert accepted.status_code == 422, accepted.text
    assert [e.type for e in await stored_events(service, quote_id)] == [
        "QuoteCreated", "QuotePresented",
    ]  # fmt: skip


async def test_same_key_from_two_api_keys_is_two_requests(
    service: LiveService, body: dict[str, Any], tag: str
) -> None:
    client = service.client
    by_sales = await client.post("/v1/quotes", json=body, headers=keyed(f"{tag}-shared"))
    by_admin = await client.post("/v1/quotes", json=body, headers=keyed(f"{tag}-shared", "admin"))
    assert (by_sales.status_code, by_admin.status_code) == (201, 201)
    assert by_sales.json()["id"] != by_admin.json()["id"]


async def test_requests_without_a_key_each_take_effect(
    service: LiveService, body: dict[str, Any], tag: str
) -> None:
    client = service.client
    for _ in range(2):
        assert (await client.post("/v1/quotes", json=body, headers=SALES)).status_code == 201
    assert len(await _quote_ids(service, body["account_id"])) == 2


async def test_refused_step_does_not_burn_its_key(
    service: LiveService, body: dict[str, Any], tag: str
) -> None:
    client = service.client
    quote_id = (await client.post("/v1/quotes", json=body, headers=SALES)).json()["id"]
    assert (await client.post(f"/v1/quotes/{quote_id}/reject", headers=SALES)).is_success
    path = f"/v1/quotes/{quote_id}/accept"
    first = await client.post(path, headers=keyed(f"{tag}-a-9"))
    second = await client.post(path, headers=keyed(f"{tag}-a-9"))
    assert (first.status_code, second.status_code) == (409, 409)
    assert "idempotent-replayed" not in second.headers


CONCURRENT = 5


async def test_concurrent_quotes_with_one_key_create_one_quote_and_answer_alike(
    service: LiveService, body: dict[str, Any], tag: str
) -> None:
    client = service.client
    answers = await asyncio.gather(
        *(client.post("/v1/quotes", json=body, headers=keyed(f"{tag}-race-q"))
          for _ in range(CONCURRENT))
    )  # fmt: skip
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
    assert await _quote_ids(service, body["account_id"]) == [answers[0].json()["id"]]


async def test_concurrent_products_with_one_key_create_one_product_and_answer_alike(
    service: LiveService, product: dict[str, Any], tag: str
) -> None:
    client = service.client
    answers = await asyncio.gather(
        *(client.post("/v1/products", json=product, headers=keyed(f"{tag}-race-p"))
          for _ in range(CONCURRENT))
    )  # fmt: skip
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
    assert len(await stored_events(service, f"product:{product['sku']}")) == 1


@pytest.mark.parametrize(
    ("step", "event"),
    [
        pytest.param("present", "QuotePresented", id="present"),
        pytest.param("accept", "QuoteAccepted", id="accept"),
        pytest.param("reject", "QuoteRejected", id="reject"),
    ],
)
async def test_concurrent_steps_with_one_key_act_once_and_answer_alike(
    service: LiveService, body: dict[str, Any], tag: str, step: str, event: str
) -> None:
    client = service.client
    quote_id = (await client.post("/v1/quotes", json=body, headers=SALES)).json()["id"]
    answers = await asyncio.gather(
        *(client.post(f"/v1/quotes/{quote_id}/{step}", headers=keyed(f"{tag}-race-{step}"))
          for _ in range(CONCURRENT))
    )  # fmt: skip
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
    assert [e.type for e in await stored_events(service, quote_id)] == [
        "QuoteCreated", event,
    ]  # fmt: skip
